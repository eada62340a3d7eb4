//! The address of a peer at the transport level, parsed once from a multiaddr:
//! `/ip4|ip6/<ip>/tcp/<port>[/ws][/p2p/<peer id>]`. Addressing: libp2p/specs `addressing`; the
//! `/ws` component: multiformats/multiaddr `protocols.csv`.

use std::net::{IpAddr, SocketAddr};

use libp2p_identity::PeerId;
use multiaddr::{Multiaddr, Protocol};

use super::TransportKind;

/// A multiaddr that is not an address we can dial or listen on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddrError {
    /// Not of the form `/ip4|ip6/<ip>/tcp/<port>[/ws][/p2p/<id>]`; `reason` says which part.
    #[error(
        "unsupported address {addr}: {reason} (expected /ip4|ip6/<ip>/tcp/<port>[/ws][/p2p/<peer id>])"
    )]
    Unsupported {
        /// The address as given.
        addr: String,
        /// What is not supported in it.
        reason: &'static str,
    },
}

/// An IP, a port, the transport over that TCP port, and the peer id the address claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    /// IP and TCP port.
    pub socket: SocketAddr,
    /// Bare TCP, or WebSocket over it.
    pub transport: TransportKind,
    /// The `/p2p/` part, which the security handshake must confirm.
    pub peer: Option<PeerId>,
}

impl Addr {
    /// `socket` over `transport`, with no peer id.
    pub fn new(socket: SocketAddr, transport: TransportKind) -> Self {
        Self {
            socket,
            transport,
            peer: None,
        }
    }

    /// The same address claiming `peer`.
    pub fn with_peer(self, peer: PeerId) -> Self {
        Self {
            peer: Some(peer),
            ..self
        }
    }

    /// Parses `/ip4|ip6/<ip>/tcp/<port>[/ws][/p2p/<id>]`.
    pub fn from_multiaddr(addr: &Multiaddr) -> Result<Self, AddrError> {
        let refuse = |reason| AddrError::Unsupported {
            addr: addr.to_string(),
            reason,
        };
        let mut parts = addr.iter().peekable();
        let ip: IpAddr = match parts.next() {
            Some(Protocol::Ip4(ip)) => ip.into(),
            Some(Protocol::Ip6(ip)) => ip.into(),
            Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)) => {
                return Err(refuse("a DNS name must be resolved to /ip4 or /ip6 first"));
            }
            Some(_) => return Err(refuse("it must start with /ip4 or /ip6")),
            None => return Err(refuse("it is empty")),
        };
        let port = match parts.next() {
            Some(Protocol::Tcp(port)) => port,
            Some(Protocol::Udp(_)) => {
                return Err(refuse(
                    "UDP transports (QUIC, WebTransport, WebRTC) are not supported, only TCP",
                ));
            }
            _ => return Err(refuse("a /tcp/<port> must follow the IP")),
        };
        let transport = match parts.peek() {
            Some(Protocol::Ws(path)) if path == "/" => TransportKind::Ws,
            Some(Protocol::Ws(_)) => {
                return Err(refuse("a WebSocket path other than / is not supported"));
            }
            Some(Protocol::Wss(_)) => {
                return Err(refuse(
                    "/wss (WebSocket over TLS) is not supported: this tool dials /ws only",
                ));
            }
            Some(Protocol::Tls) => {
                return Err(refuse(
                    "/tls (TLS under the libp2p handshake, as in /tls/ws) is not supported",
                ));
            }
            _ => TransportKind::Tcp,
        };
        if transport == TransportKind::Ws {
            parts.next();
        }
        let peer = match parts.next() {
            None => None,
            Some(Protocol::P2p(peer)) => Some(peer),
            Some(Protocol::P2pCircuit) => {
                return Err(refuse("relayed addresses (/p2p-circuit) are not supported"));
            }
            Some(_) => return Err(refuse("only /ws and /p2p/<peer id> may follow /tcp")),
        };
        if parts.next().is_some() {
            return Err(refuse("nothing may follow /p2p/<peer id>"));
        }
        Ok(Self {
            socket: SocketAddr::new(ip, port),
            transport,
            peer,
        })
    }

    /// The multiaddr form, with `/ws` for WebSocket and `/p2p/` when a peer id is known.
    pub fn to_multiaddr(&self) -> Multiaddr {
        let ip = match self.socket.ip() {
            IpAddr::V4(ip) => Protocol::Ip4(ip),
            IpAddr::V6(ip) => Protocol::Ip6(ip),
        };
        let mut addr = Multiaddr::empty()
            .with(ip)
            .with(Protocol::Tcp(self.socket.port()));
        if self.transport == TransportKind::Ws {
            addr = addr.with(Protocol::Ws("/".into()));
        }
        match self.peer {
            Some(peer) => addr.with(Protocol::P2p(peer)),
            None => addr,
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_multiaddr().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_PEER: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    #[test]
    fn parses_and_prints_back_tcp_and_ws_addresses() {
        let table = [
            (
                "/ip4/127.0.0.1/tcp/4001",
                "127.0.0.1:4001",
                TransportKind::Tcp,
                false,
            ),
            ("/ip6/::1/tcp/80", "[::1]:80", TransportKind::Tcp, false),
            (
                "/ip4/127.0.0.1/tcp/4002/ws",
                "127.0.0.1:4002",
                TransportKind::Ws,
                false,
            ),
            (
                "/ip6/::1/tcp/4002/ws",
                "[::1]:4002",
                TransportKind::Ws,
                false,
            ),
            (
                &format!("/ip4/10.0.0.1/tcp/4001/p2p/{GO_PEER}"),
                "10.0.0.1:4001",
                TransportKind::Tcp,
                true,
            ),
            (
                &format!("/ip4/127.0.0.1/tcp/4002/ws/p2p/{GO_PEER}"),
                "127.0.0.1:4002",
                TransportKind::Ws,
                true,
            ),
        ];
        for (text, socket, transport, has_peer) in table {
            let multiaddr: Multiaddr = text.parse().unwrap();
            let addr = Addr::from_multiaddr(&multiaddr).unwrap();
            assert_eq!(addr.socket, socket.parse().unwrap(), "{text}");
            assert_eq!(addr.transport, transport, "{text}");
            assert_eq!(
                addr.peer.map(|p| p.to_string()),
                has_peer.then(|| GO_PEER.to_string()),
                "{text}"
            );
            assert_eq!(addr.to_multiaddr(), multiaddr, "{text}");
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn refuses_other_addresses_with_the_reason() {
        let table = [
            ("/ip4/1.2.3.4/udp/1/quic-v1", "UDP transports"),
            ("/ip4/1.2.3.4/udp/1", "UDP transports"),
            ("/dns4/example.com/tcp/1", "DNS name"),
            ("/ip4/1.2.3.4", "a /tcp/<port> must follow"),
            ("/ip4/1.2.3.4/tcp/1/wss", "/wss"),
            ("/ip4/1.2.3.4/tcp/1/tls/ws", "/tls"),
            ("/ip4/1.2.3.4/tcp/1/x-parity-ws/%2Fchat", "WebSocket path"),
            ("/ip4/1.2.3.4/tcp/1/ws/ws", "only /ws and /p2p"),
            ("/ip4/1.2.3.4/tcp/1/http", "only /ws and /p2p"),
            ("/unix/tmp%2Fsock", "start with /ip4 or /ip6"),
            (
                &format!("/ip4/1.2.3.4/tcp/1/p2p/{GO_PEER}/p2p-circuit"),
                "nothing may follow",
            ),
            (
                &format!("/ip4/1.2.3.4/tcp/1/p2p-circuit/p2p/{GO_PEER}"),
                "/p2p-circuit",
            ),
        ];
        for (text, reason) in table {
            let multiaddr: Multiaddr = text.parse().unwrap();
            let error = Addr::from_multiaddr(&multiaddr).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(error.contains(text), "{text}: {error}");
        }
    }
}
