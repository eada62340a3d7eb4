//! TCP: dial and listen with the socket options a benchmark needs, and multiaddr conversion.
//! [`TcpConfig`] is the [`Transport`] of the pipeline.
//!
//! Sockets are created with socket2 so that buffer sizes are set before `connect`/`listen`
//! (the kernel fixes the TCP window scale at the handshake, so a later `setsockopt` cannot raise
//! it), then handed to tokio. This layer knows nothing about libp2p beyond `/ip4|ip6/../tcp/..`
//! addresses with an optional `/p2p/<peer id>`.

use std::io;
use std::net::{IpAddr, SocketAddr};

use libp2p_identity::PeerId;
use multiaddr::{Multiaddr, Protocol};
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

/// A multiaddr that is not a TCP address we can dial or listen on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddrError {
    /// Not of the form `/ip4|ip6/<addr>/tcp/<port>[/p2p/<id>]`.
    #[error("unsupported address {0} (expected /ip4/<addr>/tcp/<port>[/p2p/<peer id>])")]
    Unsupported(String),
}

/// A TCP address with the peer id it claims, parsed from a multiaddr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpAddr {
    /// IP and port.
    pub socket: SocketAddr,
    /// The `/p2p/` part, which the Noise handshake must confirm.
    pub peer: Option<PeerId>,
}

impl TcpAddr {
    /// Parses `/ip4|ip6/<addr>/tcp/<port>[/p2p/<id>]`.
    pub fn from_multiaddr(addr: &Multiaddr) -> Result<Self, AddrError> {
        let unsupported = || AddrError::Unsupported(addr.to_string());
        let mut parts = addr.iter();
        let ip: IpAddr = match parts.next() {
            Some(Protocol::Ip4(ip)) => ip.into(),
            Some(Protocol::Ip6(ip)) => ip.into(),
            _ => return Err(unsupported()),
        };
        let port = match parts.next() {
            Some(Protocol::Tcp(port)) => port,
            _ => return Err(unsupported()),
        };
        let peer = match parts.next() {
            None => None,
            Some(Protocol::P2p(peer)) => Some(peer),
            Some(_) => return Err(unsupported()),
        };
        if parts.next().is_some() {
            return Err(unsupported());
        }
        Ok(Self {
            socket: SocketAddr::new(ip, port),
            peer,
        })
    }

    /// The multiaddr form, with `/p2p/` when a peer id is known.
    pub fn to_multiaddr(&self) -> Multiaddr {
        let ip = match self.socket.ip() {
            IpAddr::V4(ip) => Protocol::Ip4(ip),
            IpAddr::V6(ip) => Protocol::Ip6(ip),
        };
        let addr = Multiaddr::empty()
            .with(ip)
            .with(Protocol::Tcp(self.socket.port()));
        match self.peer {
            Some(peer) => addr.with(Protocol::P2p(peer)),
            None => addr,
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

    const GO_PEER: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    #[test]
    fn parses_tcp_multiaddrs() {
        let a: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/p2p/{GO_PEER}")
            .parse()
            .unwrap();
        let t = TcpAddr::from_multiaddr(&a).unwrap();
        assert_eq!(t.socket, "127.0.0.1:4001".parse().unwrap());
        assert_eq!(t.peer.unwrap().to_string(), GO_PEER);
        assert_eq!(t.to_multiaddr(), a);
        let b: Multiaddr = "/ip6/::1/tcp/80".parse().unwrap();
        assert_eq!(TcpAddr::from_multiaddr(&b).unwrap().peer, None);
    }

    #[test]
    fn rejects_non_tcp_multiaddrs() {
        for text in [
            "/ip4/1.2.3.4/udp/1",
            "/dns4/example.com/tcp/1",
            "/ip4/1.2.3.4",
            "/ip4/1.2.3.4/tcp/1/ws",
        ] {
            let a: Multiaddr = text.parse().unwrap();
            assert!(TcpAddr::from_multiaddr(&a).is_err(), "{text}");
        }
    }

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
