//! The servers a sweep can run against: ours, the built-in interop peers, and `[peers]`.

use std::collections::BTreeMap;

use super::ConfigError;
use super::schema::PeerFile;
use crate::interop::peers::{self, FOREIGN_PEERS};
use crate::results::{OURS, PeerInfo};
use crate::security::Security;
use crate::transport::TransportKind;

/// Foreign servers by name: the command templates the sweep starts.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerTable(BTreeMap<String, PeerInfo>);

impl Default for PeerTable {
    fn default() -> Self {
        let mut peers = BTreeMap::new();
        peers.insert(
            OURS.to_string(),
            PeerInfo {
                name: OURS.into(),
                command: Vec::new(),
                server_takes_yamux_options: true,
                latency_client_args: Vec::new(),
                plaintext_args: Vec::new(),
                tls_args: Vec::new(),
                ws_args: Vec::new(),
            },
        );
        // The built-in peers: where `interop/build.sh` puts each launcher, with test-plans
        // server flags, and the flags of the choices each speaks (none: it cannot run them).
        for peer in &FOREIGN_PEERS {
            let security = |s: Security| {
                if peer.speaks_security(s) {
                    peers::security_args(s)
                } else {
                    Vec::new()
                }
            };
            let name = peer.name;
            peers.insert(
                name.to_string(),
                PeerInfo {
                    name: name.to_string(),
                    command: [
                        format!("{{interop}}/{}", peer.launcher).as_str(),
                        "--run-server",
                        "--server-address",
                        "{host}:0",
                    ]
                    .map(String::from)
                    .to_vec(),
                    server_takes_yamux_options: false,
                    // js-libp2p's perf server resets a stream whose request arrives together
                    // with the protocol proposal when the upload is tiny (1 byte).
                    latency_client_args: if name == "js" {
                        vec!["--no-lazy".into()]
                    } else {
                        Vec::new()
                    },
                    plaintext_args: security(Security::Plaintext),
                    tls_args: security(Security::Tls),
                    ws_args: if peer.speaks_transport(TransportKind::Ws) {
                        peers::transport_args(TransportKind::Ws)
                    } else {
                        Vec::new()
                    },
                },
            );
        }
        Self(peers)
    }
}

impl PeerTable {
    /// The built-in peers and those of a file's `[peers]`.
    pub fn with_file(peers: &BTreeMap<String, PeerFile>) -> Result<Self, ConfigError> {
        let mut table = Self::default();
        for (name, peer) in peers {
            table.add(name, peer)?;
        }
        Ok(table)
    }

    /// The peer called `name`.
    pub fn get(&self, name: &str) -> Result<&PeerInfo, ConfigError> {
        self.0.get(name).ok_or_else(|| ConfigError::UnknownPeer {
            name: name.to_string(),
            known: self.0.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    fn add(&mut self, name: &str, file: &PeerFile) -> Result<(), ConfigError> {
        if name == OURS || file.command.is_empty() {
            return Err(ConfigError::Value {
                key: format!("peers.{name}.command"),
                value: format!("{:?}", file.command),
                reason: if name == OURS {
                    "\"ours\" is this binary and cannot be replaced".into()
                } else {
                    "needs at least a program".into()
                },
            });
        }
        self.0.insert(
            name.to_string(),
            PeerInfo {
                name: name.to_string(),
                command: file.command.clone(),
                server_takes_yamux_options: false,
                latency_client_args: file.latency_client_args.clone(),
                plaintext_args: file.plaintext_args.clone(),
                tls_args: file.tls_args.clone(),
                ws_args: file.ws_args.clone(),
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::case_from_config;
    use super::super::tests::{error, host, parse};

    #[test]
    fn foreign_peers_note_that_yamux_options_apply_to_the_client_only() {
        let sweep = parse(
            r#"
            [matrix]
            peer = ["ours", "go", "lab"]
            upload = "1MiB"
            [peers.lab]
            command = ["/opt/lab-peer", "--serve"]
            "#,
        )
        .unwrap();
        let ours = &sweep.cases[0];
        assert!(ours.peer.server_takes_yamux_options);
        let go = &sweep.cases[1];
        assert!(!go.peer.server_takes_yamux_options);
        assert!(go.notes.iter().any(|n| n.contains("our client only")));
        assert_eq!(go.peer.command[0], "{interop}/go/go-libp2p-perf");
        assert_eq!(sweep.cases[2].peer.command, ["/opt/lab-peer", "--serve"]);
        assert!(error("[matrix]\nupload = 1\n[peers.ours]\ncommand = [\"x\"]").contains("ours"));
        // A hand-edited case JSON may carry a peer without a command.
        let mut peer = go.peer.clone();
        peer.command.clear();
        let e = case_from_config(go.config.clone(), peer, &host()).unwrap_err();
        assert!(crate::error_chain(&e).contains("no server command"), "{e}");
    }
}
