//! The first stage of the pipeline: a byte stream to the peer.
//!
//! [`Transport`] dials and accepts; [`Socket`] is what it yields, a byte stream that the muxer
//! driver splits into owned halves. Today's transport is TCP ([`tcp`], with [`TcpConfig`] as the
//! [`Transport`]); a transport over TCP with its own handshake (WebSocket) is another module
//! here that implements both traits. This layer knows nothing about libp2p beyond addresses.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub mod tcp;

pub use tcp::{AddrError, TcpAddr, TcpConfig, configure_accepted, dial, listen};

/// A connection's byte stream, which the muxer driver takes apart into a read and a write half.
pub trait Socket: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The read half.
    type ReadHalf: AsyncRead + Unpin + Send + 'static;
    /// The write half.
    type WriteHalf: AsyncWrite + Unpin + Send + 'static;

    /// Splits the stream (without a lock between the halves where the stream allows it).
    fn into_halves(self) -> (Self::ReadHalf, Self::WriteHalf);
}

/// How a connection's byte stream is made: dialing an address, or on a TCP connection a
/// listener accepted.
pub trait Transport: Sync {
    /// The stream it yields.
    type Socket: Socket;

    /// Connects to `addr`.
    fn dial(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Socket>> + Send;

    /// Sets up the stream of a TCP connection a listener accepted (socket options, and the
    /// transport's own handshake if it has one).
    fn accept(&self, tcp: TcpStream) -> impl Future<Output = io::Result<Self::Socket>> + Send;
}
