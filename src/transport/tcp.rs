//! TCP: dial and listen with the socket options a benchmark needs.
//! [`TcpConfig`] is the [`Transport`] of the pipeline.
//!
//! Sockets are created with socket2 so that buffer sizes are set before `connect`/`listen`
//! (the kernel fixes the TCP window scale at the handshake, so a later `setsockopt` cannot raise
//! it), then handed to tokio.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::Transport;

/// Socket options for every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// Disable Nagle's algorithm (go sets it by default, rust-libp2p perf and nim explicitly).
    /// Default on: yamux writes whole batches, and small control frames must not wait.
    pub nodelay: bool,
    /// `SO_SNDBUF` in bytes; `None` keeps the kernel's autotuning.
    pub send_buffer: Option<usize>,
    /// `SO_RCVBUF` in bytes; `None` keeps the kernel's autotuning.
    pub recv_buffer: Option<usize>,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            nodelay: true,
            send_buffer: None,
            recv_buffer: None,
        }
    }
}

fn new_socket(addr: &SocketAddr, config: &TcpConfig) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    if let Some(size) = config.send_buffer {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = config.recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(socket)
}

/// Connects to `addr` with `config` applied before the handshake.
pub async fn dial(addr: SocketAddr, config: &TcpConfig) -> io::Result<TcpStream> {
    let socket = TcpSocket::from_std_stream(new_socket(&addr, config)?.into());
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(config.nodelay)?;
    Ok(stream)
}

/// Listens on `addr`. Buffer sizes set here are inherited by accepted sockets.
pub fn listen(addr: SocketAddr, config: &TcpConfig) -> io::Result<TcpListener> {
    let socket = new_socket(&addr, config)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Applies per-connection options to an accepted socket.
pub fn configure_accepted(stream: &TcpStream, config: &TcpConfig) -> io::Result<()> {
    SockRef::from(stream).set_tcp_nodelay(config.nodelay)
}

impl Transport for TcpConfig {
    type Socket = TcpStream;

    async fn dial(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        dial(addr, self).await
    }

    async fn accept(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        configure_accepted(&tcp, self)?;
        Ok(tcp)
    }
}

impl super::Socket for TcpStream {
    type ReadHalf = tokio::net::tcp::OwnedReadHalf;
    type WriteHalf = tokio::net::tcp::OwnedWriteHalf;

    fn into_halves(self) -> (Self::ReadHalf, Self::WriteHalf) {
        self.into_split()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dials_a_listener_with_buffer_sizes() {
        let config = TcpConfig {
            send_buffer: Some(1 << 20),
            recv_buffer: Some(1 << 20),
            ..Default::default()
        };
        let listener = listen("127.0.0.1:0".parse().unwrap(), &config).unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(dial(addr, &config), listener.accept());
        let client = client.unwrap();
        assert!(client.nodelay().unwrap());
        configure_accepted(&server.unwrap().0, &config).unwrap();
        // Linux doubles the requested size for bookkeeping.
        assert!(SockRef::from(&client).send_buffer_size().unwrap() >= 1 << 20);
    }
}
