//! The interop peers of other implementations (`interop/<name>-peer/`, built by
//! `interop/build.sh`): where each launcher is, which transports and secure channels each one
//! speaks, and the flags that select them. The one table behind `yamux-perf interop` and the
//! sweep's built-in `[peers]`.
//!
//! Every peer takes the go peer's flags in both roles: `--transport tcp|ws` (an `IP:PORT`
//! address gets `/ws`) and `--security noise|tls|plaintext`, one choice each; the defaults
//! (`tcp`, `noise`) need no flag.

use serde::{Deserialize, Serialize};

use crate::security::Security;
use crate::transport::TransportKind;

/// The layers under yamux: the transport and the secure channel on it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Layers {
    /// TCP or WebSocket.
    pub transport: TransportKind,
    /// Noise, TLS or plaintext.
    pub security: Security,
}

impl Layers {
    /// Every combination, TCP first, in flag order.
    pub fn all() -> Vec<Layers> {
        let mut all = Vec::new();
        for transport in [TransportKind::Tcp, TransportKind::Ws] {
            for security in [Security::Noise, Security::Tls, Security::Plaintext] {
                all.push(Layers {
                    transport,
                    security,
                });
            }
        }
        all
    }

    /// Whether this is TCP + Noise, what every peer speaks without flags.
    pub fn is_default(&self) -> bool {
        *self == Layers::default()
    }
}

impl std::fmt::Display for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} + {}", self.transport, self.security)
    }
}

/// An implementation of another language that `interop/build.sh` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignPeer {
    /// `go`, `rust`, `js` or `py`: the name in tables, `--peers` and the sweep's `peer = …`.
    pub name: &'static str,
    /// The launcher, relative to the interop directory (`target/interop`).
    pub launcher: &'static str,
    /// The libp2p implementation and version it runs.
    pub implementation: &'static str,
    /// The transports it speaks.
    pub transports: &'static [TransportKind],
    /// The secure channels it speaks, on each of its transports.
    pub security: &'static [Security],
}

const ALL_TRANSPORTS: &[TransportKind] = &[TransportKind::Tcp, TransportKind::Ws];
const ALL_SECURITY: &[Security] = &[Security::Noise, Security::Tls, Security::Plaintext];

/// The foreign peers, in table order.
pub const FOREIGN_PEERS: [ForeignPeer; 4] = [
    ForeignPeer {
        name: "go",
        launcher: "go/go-libp2p-perf",
        implementation: "go-libp2p v0.51.0",
        transports: ALL_TRANSPORTS,
        security: ALL_SECURITY,
    },
    ForeignPeer {
        name: "rust",
        launcher: "rust/release/rust-libp2p-perf",
        implementation: "rust-libp2p 0.53",
        transports: ALL_TRANSPORTS,
        security: ALL_SECURITY,
    },
    ForeignPeer {
        name: "js",
        launcher: "js/js-libp2p-perf",
        implementation: "js-libp2p 3.3.11",
        transports: ALL_TRANSPORTS,
        security: ALL_SECURITY,
    },
    ForeignPeer {
        name: "py",
        launcher: "py/py-libp2p-perf",
        implementation: "py-libp2p 0.8.1",
        transports: ALL_TRANSPORTS,
        security: ALL_SECURITY,
    },
];

/// A combination a peer does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {peer} peer ({implementation}) cannot run {layers}: it speaks {transports} with {security}"
)]
pub struct Unsupported {
    /// The peer.
    pub peer: &'static str,
    /// Its implementation.
    pub implementation: &'static str,
    /// What was asked for.
    pub layers: Layers,
    /// What it speaks: its transports.
    pub transports: String,
    /// What it speaks: its secure channels.
    pub security: String,
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ForeignPeer {
    /// The peer called `name`.
    pub fn named(name: &str) -> Option<&'static ForeignPeer> {
        FOREIGN_PEERS.iter().find(|p| p.name == name)
    }

    /// Whether it speaks `transport`.
    pub fn speaks_transport(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }

    /// Whether it speaks `security`.
    pub fn speaks_security(&self, security: Security) -> bool {
        self.security.contains(&security)
    }

    /// `Ok` when it speaks `layers`, else why not.
    pub fn check(&self, layers: Layers) -> Result<(), Unsupported> {
        if self.speaks_transport(layers.transport) && self.speaks_security(layers.security) {
            return Ok(());
        }
        Err(Unsupported {
            peer: self.name,
            implementation: self.implementation,
            layers,
            transports: join(self.transports),
            security: join(self.security),
        })
    }

    /// Its flags for `layers`, in either role (nothing for TCP + Noise); call [`Self::check`]
    /// first.
    pub fn args(&self, layers: Layers) -> Vec<String> {
        let mut args = transport_args(layers.transport);
        args.extend(security_args(layers.security));
        args
    }
}

/// A foreign peer's flags for `transport`: `--transport ws`, or none for TCP.
pub fn transport_args(transport: TransportKind) -> Vec<String> {
    match transport {
        TransportKind::Tcp => Vec::new(),
        TransportKind::Ws => vec!["--transport".into(), transport.to_string()],
    }
}

/// A foreign peer's flags for `security`: `--security tls|plaintext`, or none for Noise.
pub fn security_args(security: Security) -> Vec<String> {
    match security {
        Security::Noise => Vec::new(),
        Security::Tls | Security::Plaintext => vec!["--security".into(), security.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_the_go_peers_and_defaults_need_none() {
        let go = ForeignPeer::named("go").unwrap();
        assert!(go.args(Layers::default()).is_empty());
        let ws_tls = Layers {
            transport: TransportKind::Ws,
            security: Security::Tls,
        };
        assert_eq!(go.args(ws_tls), ["--transport", "ws", "--security", "tls"]);
        assert_eq!(ws_tls.to_string(), "ws + tls");
        assert_eq!(Layers::all().len(), 6);
        assert!(Layers::all()[0].is_default());
    }

    #[test]
    fn a_combination_a_peer_lacks_is_refused_by_name() {
        let peer = ForeignPeer {
            name: "lab",
            launcher: "lab/peer",
            implementation: "lab-libp2p 0.1",
            transports: &[TransportKind::Tcp],
            security: &[Security::Noise, Security::Plaintext],
        };
        let e = peer
            .check(Layers {
                transport: TransportKind::Ws,
                security: Security::Noise,
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the lab peer (lab-libp2p 0.1) cannot run ws + noise: it speaks tcp with noise, plaintext"
        );
        assert!(peer.check(Layers::default()).is_ok());
    }

    #[test]
    fn names_are_unique_and_launchers_sit_under_their_name() {
        for (i, p) in FOREIGN_PEERS.iter().enumerate() {
            assert!(p.launcher.starts_with(&format!("{}/", p.name)), "{p:?}");
            assert!(FOREIGN_PEERS[..i].iter().all(|q| q.name != p.name));
            assert_eq!(ForeignPeer::named(p.name), Some(p));
        }
    }
}
