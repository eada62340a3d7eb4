//! Addresses, in two steps. [`AddrSpec`] is an address as a user types it: a multiaddr
//! `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/ws][/p2p/<peer id>]`, `HOST:PORT` or
//! `[IPV6]:PORT`; [`Addr`] is what we dial or listen on, an IP and a port, after the name (if any)
//! is resolved. Addressing: libp2p/specs `addressing`; `/dns*` and `/ws`: multiformats/multiaddr
//! `protocols.csv`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use libp2p_identity::PeerId;
use multiaddr::{Multiaddr, Protocol};

use super::TransportKind;

/// The address forms [`AddrSpec`] reads, with examples; every address error ends with it.
pub const ACCEPTED_FORMS: &str = "accepted: a multiaddr such as /ip4/127.0.0.1/tcp/4001, \
/ip6/::1/tcp/4001/ws or /dns4/example.com/tcp/4001/p2p/<peer id> (/ip4, /ip6, /dns, /dns4 or \
/dns6, then /tcp/<port>, optionally /ws, optionally /p2p/<peer id>); HOST:PORT such as \
127.0.0.1:4001 or localhost:4001; or [IPV6]:PORT such as [::1]:4001";

/// How long a name lookup may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// An address we cannot read, dial or listen on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddrError {
    /// Text that is none of the accepted forms.
    #[error("{input:?} is not an address: {reason}; {ACCEPTED_FORMS}")]
    Unrecognized {
        /// The text as given.
        input: String,
        /// Why it is not one of the forms.
        reason: String,
    },
    /// A multiaddr that is not of the form `/<host>/tcp/<port>[/ws][/p2p/<id>]`; `reason` says
    /// which part.
    #[error("unsupported address {addr}: {reason}; {ACCEPTED_FORMS}")]
    Unsupported {
        /// The address as given.
        addr: String,
        /// What is not supported in it.
        reason: &'static str,
    },
    /// A name where only an IP address will do (an address a peer printed or published).
    #[error("{addr}: a DNS name must be resolved to /ip4 or /ip6 first")]
    Unresolved {
        /// The address as given.
        addr: String,
    },
    /// The name lookup failed.
    #[error("resolving {name}: {source}")]
    Lookup {
        /// The name looked up.
        name: String,
        /// What the resolver said.
        #[source]
        source: std::io::Error,
    },
    /// The name resolved, but to no address of the family asked for.
    #[error("{name} resolves to no {family} address")]
    NoAddress {
        /// The name looked up.
        name: String,
        /// `IPv4`, `IPv6` or `IP`.
        family: &'static str,
    },
}

/// Which addresses a name may resolve to: `/dns` (and `HOST:PORT`) any, `/dns4` IPv4 only,
/// `/dns6` IPv6 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `/dns`: IPv4 first, else IPv6.
    Any,
    /// `/dns4`.
    V4,
    /// `/dns6`.
    V6,
}

/// The host part of an [`AddrSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IP address, used as it is.
    Ip(IpAddr),
    /// A DNS name, looked up by [`AddrSpec::resolve`].
    Name {
        /// The name.
        name: String,
        /// The addresses it may resolve to.
        family: Family,
    },
}

/// An address as given on a command line, before name resolution: a host (IP or DNS name), a
/// TCP port, the transport over that port, and the peer id the address claims. Parsed by
/// [`FromStr`] from any of [`ACCEPTED_FORMS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSpec {
    /// IP or name.
    pub host: Host,
    /// TCP port.
    pub port: u16,
    /// Bare TCP, or WebSocket over it (`/ws`, multiaddr form only).
    pub transport: TransportKind,
    /// The `/p2p/` part (multiaddr form only).
    pub peer: Option<PeerId>,
}

/// Whether `name` can be a DNS host name (letters, digits, `-`, `_` and dots; RFC 1123 with the
/// underscore some resolvers allow).
fn is_host_name(name: &str) -> bool {
    // A fully qualified name may end with a dot.
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

impl FromStr for AddrSpec {
    type Err = AddrError;

    fn from_str(text: &str) -> Result<Self, AddrError> {
        let unrecognized = |reason: String| AddrError::Unrecognized {
            input: text.to_string(),
            reason,
        };
        let text = text.trim();
        if text.starts_with('/') {
            let multiaddr: Multiaddr = text
                .parse()
                .map_err(|e| unrecognized(format!("not a valid multiaddr ({e})")))?;
            return Self::from_multiaddr(&multiaddr);
        }
        let tcp = |host, port| Self {
            host,
            port,
            transport: TransportKind::Tcp,
            peer: None,
        };
        if let Ok(socket) = text.parse::<SocketAddr>() {
            return Ok(tcp(Host::Ip(socket.ip()), socket.port()));
        }
        if text.contains("://") {
            return Err(unrecognized(
                "URLs are not addresses (for WebSocket, end a multiaddr with /ws)".into(),
            ));
        }
        if text.starts_with('[') {
            return Err(unrecognized(
                "expected [IPV6]:PORT with an IPv6 address in the brackets".into(),
            ));
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(unrecognized(if text.is_empty() {
                "it is empty".into()
            } else if text.bytes().all(|b| b.is_ascii_digit()) {
                "a port alone is not an address: give HOST:PORT".into()
            } else if text.parse::<IpAddr>().is_ok() || is_host_name(text) {
                "no port".into()
            } else {
                "neither a multiaddr (which starts with /) nor HOST:PORT".into()
            }));
        };
        if host.contains(':') {
            return Err(unrecognized(
                "an IPv6 address with a port needs brackets, as in [::1]:4001".into(),
            ));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| unrecognized(format!("{port:?} is not a port (0 to 65535)")))?;
        if !is_host_name(host) {
            return Err(unrecognized(format!(
                "{host:?} is neither an IP address nor a host name"
            )));
        }
        Ok(tcp(
            Host::Name {
                name: host.to_string(),
                family: Family::Any,
            },
            port,
        ))
    }
}

impl AddrSpec {
    /// Reads `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/ws][/p2p/<id>]`.
    pub fn from_multiaddr(addr: &Multiaddr) -> Result<Self, AddrError> {
        let refuse = |reason| AddrError::Unsupported {
            addr: addr.to_string(),
            reason,
        };
        let name = |name: &str, family| Host::Name {
            name: name.to_string(),
            family,
        };
        let mut parts = addr.iter().peekable();
        let host = match parts.next() {
            Some(Protocol::Ip4(ip)) => Host::Ip(ip.into()),
            Some(Protocol::Ip6(ip)) => Host::Ip(ip.into()),
            Some(Protocol::Dns(n)) => name(&n, Family::Any),
            Some(Protocol::Dns4(n)) => name(&n, Family::V4),
            Some(Protocol::Dns6(n)) => name(&n, Family::V6),
            Some(Protocol::Dnsaddr(_)) => {
                return Err(refuse(
                    "/dnsaddr (addresses in DNS TXT records) is not supported: use /dns",
                ));
            }
            Some(_) => {
                return Err(refuse(
                    "it must start with /ip4, /ip6, /dns, /dns4 or /dns6",
                ));
            }
            None => return Err(refuse("it is empty")),
        };
        let port = match parts.next() {
            Some(Protocol::Tcp(port)) => port,
            Some(Protocol::Udp(_)) => {
                return Err(refuse(
                    "UDP transports (QUIC, WebTransport, WebRTC) are not supported, only TCP",
                ));
            }
            _ => return Err(refuse("a /tcp/<port> must follow the host")),
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
            host,
            port,
            transport,
            peer,
        })
    }

    /// The address with its IP, without a lookup: refuses a name.
    pub fn to_addr(&self) -> Result<Addr, AddrError> {
        match &self.host {
            Host::Ip(ip) => Ok(self.with_ip(*ip)),
            Host::Name { .. } => Err(AddrError::Unresolved {
                addr: self.to_string(),
            }),
        }
    }

    fn with_ip(&self, ip: IpAddr) -> Addr {
        Addr {
            socket: SocketAddr::new(ip, self.port),
            transport: self.transport,
            peer: self.peer,
        }
    }

    /// The address with its IP, looking a name up (at most [`RESOLVE_TIMEOUT`]): `/dns4` takes
    /// the first IPv4 address, `/dns6` the first IPv6 one, `/dns` and `HOST:PORT` the first
    /// IPv4 address or, if there is none, the first IPv6 one (so `localhost:4001` means the
    /// same on both ends whatever order the resolver gives).
    pub async fn resolve(&self) -> Result<Addr, AddrError> {
        let Host::Name { name, family } = &self.host else {
            return self.to_addr();
        };
        let lookup = |source| AddrError::Lookup {
            name: name.clone(),
            source,
        };
        let found: Vec<IpAddr> =
            tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name.as_str(), 0)))
                .await
                .map_err(|_| {
                    lookup(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer within {RESOLVE_TIMEOUT:?}"),
                    ))
                })?
                .map_err(lookup)?
                .map(|s| s.ip())
                .collect();
        let v4 = found.iter().find(|ip| ip.is_ipv4());
        let v6 = found.iter().find(|ip| ip.is_ipv6());
        let (ip, wanted) = match family {
            Family::Any => (v4.or(v6), "IP"),
            Family::V4 => (v4, "IPv4"),
            Family::V6 => (v6, "IPv6"),
        };
        let ip = ip.ok_or_else(|| AddrError::NoAddress {
            name: name.clone(),
            family: wanted,
        })?;
        Ok(self.with_ip(*ip))
    }
}

impl fmt::Display for AddrSpec {
    /// The multiaddr form (a name as `/dns`, `/dns4` or `/dns6`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(ip) => self.with_ip(*ip).fmt(f),
            Host::Name { name, family } => {
                let prefix = match family {
                    Family::Any => "dns",
                    Family::V4 => "dns4",
                    Family::V6 => "dns6",
                };
                write!(f, "/{prefix}/{name}/tcp/{}", self.port)?;
                if self.transport == TransportKind::Ws {
                    f.write_str("/ws")?;
                }
                match self.peer {
                    Some(peer) => write!(f, "/p2p/{peer}"),
                    None => Ok(()),
                }
            }
        }
    }
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

    /// Parses `/ip4|ip6/<ip>/tcp/<port>[/ws][/p2p/<id>]` (a DNS name is refused: see
    /// [`AddrSpec`] for addresses with names).
    pub fn from_multiaddr(addr: &Multiaddr) -> Result<Self, AddrError> {
        AddrSpec::from_multiaddr(addr)?.to_addr()
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

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            ("/dnsaddr/example.com", "/dnsaddr"),
            ("/ip4/1.2.3.4/tcp/1/wss", "/wss"),
            ("/ip4/1.2.3.4/tcp/1/tls/ws", "/tls"),
            ("/ip4/1.2.3.4/tcp/1/x-parity-ws/%2Fchat", "WebSocket path"),
            ("/ip4/1.2.3.4/tcp/1/ws/ws", "only /ws and /p2p"),
            ("/ip4/1.2.3.4/tcp/1/http", "only /ws and /p2p"),
            ("/unix/tmp%2Fsock", "start with /ip4, /ip6, /dns"),
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

    fn spec(text: &str) -> AddrSpec {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn reads_addresses_as_people_type_them() {
        let name = |n: &str, family| Host::Name {
            name: n.into(),
            family,
        };
        let ip = |text: &str| Host::Ip(text.parse().unwrap());
        let table = [
            ("127.0.0.1:4001", ip("127.0.0.1"), 4001, TransportKind::Tcp),
            ("[::1]:4001", ip("::1"), 4001, TransportKind::Tcp),
            (" 10.0.0.1:80 ", ip("10.0.0.1"), 80, TransportKind::Tcp),
            (
                "localhost:4001",
                name("localhost", Family::Any),
                4001,
                TransportKind::Tcp,
            ),
            (
                "perf.example.com.:1",
                name("perf.example.com.", Family::Any),
                1,
                TransportKind::Tcp,
            ),
            (
                "/ip4/127.0.0.1/tcp/4001",
                ip("127.0.0.1"),
                4001,
                TransportKind::Tcp,
            ),
            (
                "/dns/example.com/tcp/4001",
                name("example.com", Family::Any),
                4001,
                TransportKind::Tcp,
            ),
            (
                "/dns4/example.com/tcp/4001/ws",
                name("example.com", Family::V4),
                4001,
                TransportKind::Ws,
            ),
            (
                "/dns6/example.com/tcp/0",
                name("example.com", Family::V6),
                0,
                TransportKind::Tcp,
            ),
        ];
        for (text, host, port, transport) in table {
            let spec = spec(text);
            assert_eq!(spec.host, host, "{text}");
            assert_eq!(spec.port, port, "{text}");
            assert_eq!(spec.transport, transport, "{text}");
            assert_eq!(spec.peer, None, "{text}");
            // The printed form reads back the same.
            assert_eq!(
                spec.to_string().parse::<AddrSpec>().unwrap(),
                spec,
                "{text}"
            );
        }
        let with_peer = spec(&format!("/dns4/example.com/tcp/4001/p2p/{GO_PEER}"));
        assert_eq!(with_peer.peer.unwrap().to_string(), GO_PEER);
        assert_eq!(
            with_peer.to_string(),
            format!("/dns4/example.com/tcp/4001/p2p/{GO_PEER}")
        );
        assert_eq!(
            spec("[::1]:9").to_addr().unwrap().to_string(),
            "/ip6/::1/tcp/9"
        );
        let unresolved = spec("localhost:1").to_addr().unwrap_err().to_string();
        assert!(unresolved.contains("must be resolved"), "{unresolved}");
    }

    #[test]
    fn refuses_what_is_no_address_and_shows_the_accepted_forms() {
        let table = [
            ("", "empty"),
            ("4001", "a port alone"),
            ("localhost", "no port"),
            ("127.0.0.1", "no port"),
            ("::1:4001", "needs brackets"),
            ("[::1]", "[IPV6]:PORT"),
            ("[nope]:1", "[IPV6]:PORT"),
            ("localhost:http", "not a port"),
            ("localhost:70000", "not a port"),
            ("ws://localhost:1", "URLs"),
            ("bad_-host-:1", "neither an IP address nor a host name"),
            ("a b:1", "neither an IP address nor a host name"),
            ("/ip4/1.2.3.4/tcp/x", "not a valid multiaddr"),
            ("/ip4/1.2.3.4/udp/1/quic-v1", "UDP transports"),
            ("/dns4/example.com/tcp/1/wss", "/wss"),
            ("hello world", "neither a multiaddr"),
        ];
        for (text, reason) in table {
            let error = text.parse::<AddrSpec>().unwrap_err().to_string();
            assert!(error.contains(reason), "{text:?}: {error}");
            assert!(error.contains(ACCEPTED_FORMS), "{text:?}: {error}");
            assert!(error.contains("127.0.0.1:4001"), "an example: {error}");
        }
    }

    #[tokio::test]
    async fn resolves_names_by_family() {
        let v4 = spec("/dns4/localhost/tcp/4001/ws").resolve().await.unwrap();
        assert!(v4.socket.ip().is_loopback() && v4.socket.is_ipv4(), "{v4}");
        assert_eq!((v4.socket.port(), v4.transport), (4001, TransportKind::Ws));
        let any = spec("localhost:7").resolve().await.unwrap();
        assert!(any.socket.ip().is_loopback(), "{any}");
        // An IP needs no lookup.
        assert_eq!(
            spec("127.0.0.1:5").resolve().await.unwrap(),
            spec("127.0.0.1:5").to_addr().unwrap()
        );
        // /dns6 takes an IPv6 address only: none for a name that has only an IPv4 one (an IP
        // literal resolves to itself), ::1 for localhost where the resolver gives it.
        let error = spec("/dns6/127.0.0.1/tcp/1").resolve().await.unwrap_err();
        assert!(
            matches!(error, AddrError::NoAddress { family: "IPv6", .. }),
            "{error}"
        );
        let v4 = spec("/dns4/127.0.0.1/tcp/1").resolve().await.unwrap();
        assert_eq!(v4.to_string(), "/ip4/127.0.0.1/tcp/1");
        let localhost_v6 = std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 0))
            .unwrap()
            .any(|s| s.is_ipv6());
        match spec("/dns6/localhost/tcp/2").resolve().await {
            Ok(v6) if localhost_v6 => {
                assert!(v6.socket.is_ipv6() && v6.socket.ip().is_loopback(), "{v6}")
            }
            Err(AddrError::NoAddress { family: "IPv6", .. }) if !localhost_v6 => {}
            other => panic!("/dns6/localhost (IPv6 in the resolver: {localhost_v6}): {other:?}"),
        }
        // `.invalid` never resolves (RFC 6761).
        let error = spec("/dns/nothing.invalid/tcp/1")
            .resolve()
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                AddrError::Lookup { .. } | AddrError::NoAddress { .. }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("nothing.invalid"), "{error}");
    }
}
