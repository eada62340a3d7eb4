//! The first stage of the pipeline: a byte stream to the peer.
//!
//! [`Transport`] dials and accepts; [`Socket`] is what it yields, a byte stream that the muxer
//! driver splits into owned halves. Two transports: TCP ([`tcp`], with [`TcpConfig`] as the
//! [`Transport`]) and WebSocket over TCP ([`ws`], [`ws::Ws`]). The address decides which
//! ([`Addr`], resolved from an [`AddrSpec`]: a multiaddr `/ip4|ip6|dns*/<host>/tcp/<port>[/ws][/p2p/<id>]`,
//! `HOST:PORT` or `[IPV6]:PORT`); [`TransportKind`] names
//! the choice for the CLI, the sweep and the reports. This layer knows nothing about libp2p
//! beyond addresses.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

pub mod addr;
pub mod tcp;
pub mod ws;

pub use addr::{Addr, AddrError, AddrSpec};
pub use tcp::{TcpConfig, configure_accepted, dial, listen};

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

/// Which transport runs over the TCP port: one definition for the addresses (`/ws` or not),
/// the CLI (`--transport`), the sweep matrix (`transport = …`), the case JSON and the reports.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum TransportKind {
    /// Bare TCP (`/tcp/<port>`).
    #[default]
    Tcp,
    /// WebSocket over TCP (`/tcp/<port>/ws`, RFC 6455, binary messages).
    Ws,
}

impl TransportKind {
    /// The flag, matrix and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Tcp => "tcp",
            TransportKind::Ws => "ws",
        }
    }

    /// The default (left out of a case's JSON, so older case ids stay).
    pub fn is_tcp(&self) -> bool {
        *self == TransportKind::Tcp
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TCP listener and the transport its connections speak.
#[derive(Debug)]
pub struct Listener {
    /// The socket.
    pub tcp: TcpListener,
    /// What runs over its connections.
    pub transport: TransportKind,
}

impl Listener {
    /// Listens on `addr` (its peer id, if any, is ignored) with `config`'s buffer sizes.
    pub fn bind(addr: &Addr, config: &TcpConfig) -> io::Result<Self> {
        Ok(Self {
            tcp: listen(addr.socket, config)?,
            transport: addr.transport,
        })
    }

    /// The address it listens on, without a peer id.
    pub fn local_addr(&self) -> io::Result<Addr> {
        Ok(Addr::new(self.tcp.local_addr()?, self.transport))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn flag_and_json_spellings_agree() {
        for t in TransportKind::value_variants() {
            let flag = t.to_possible_value().unwrap();
            assert_eq!(flag.get_name(), t.as_str());
            assert_eq!(
                serde_json::to_string(t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            assert_eq!(TransportKind::from_str(t.as_str(), false), Ok(*t));
        }
        assert!(TransportKind::from_str("wss", false).is_err());
        assert!(TransportKind::default().is_tcp());
    }
}
