//! The interop matrix: every pair of implementations, both roles, as separate processes, over
//! each chosen transport and secure channel ([`Layers`]).
//!
//! Peers of other implementations ([`peers`]) are built by `interop/build.sh` and linked as
//! `<peers dir>/<name>/peer`; they all take test-plans' flags (`--run-server --server-address
//! 127.0.0.1:0` prints the listen multiaddr first; `--server-address <addr> --upload-bytes N
//! --download-bytes M` prints JSON lines ending with a `final` one) plus the go peer's
//! `--transport` and `--security`. Each pair runs an upload (N bytes up, nothing back) and a
//! download (nothing up, N back) in fresh processes, as test-plans does, and goodput is N·8 /
//! the client's `final.timeSeconds` (connection setup included, as in test-plans).

pub mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use peers::{FOREIGN_PEERS, ForeignPeer, Layers, Unsupported};

use crate::netns::{LinkShape, Side, Testbed};
use crate::results::{GitRevision, Hosts, Machine, OURS, Spread};
use crate::security::Security;
use crate::sweep::process::{ADDRESS_TIMEOUT, ServerError, ServerProcess};
use crate::transport::{Addr, TransportKind};

/// The names of the implementations of other languages, in table order.
pub fn foreign_names() -> impl Iterator<Item = &'static str> {
    FOREIGN_PEERS.iter().map(|p| p.name)
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InteropError {
    /// A process could not be started.
    #[error("starting {what}: {source}")]
    Spawn {
        /// Which process.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server did not start or printed no address.
    #[error("{peer} server: {source} (stderr: {stderr_tail})")]
    Server {
        /// Which peer.
        peer: String,
        /// What went wrong.
        source: ServerError,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// The client ran past the time limit.
    #[error("client did not finish within {0:?}")]
    Timeout(Duration),
    /// The client failed or printed no usable `final` line.
    #[error("client exited with {status}: {stderr_tail}")]
    Client {
        /// Exit status.
        status: String,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// The test hosts (`--netns`) could not be made.
    #[error("making the test hosts: {0}")]
    Testbed(#[from] crate::netns::NetnsError),
    /// A peer does not speak the layers asked for.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// The byte counts in the `final` line are not what was asked for.
    #[error(
        "final line reports {upload} up / {download} down, expected {expected_up} / {expected_down}"
    )]
    Count {
        /// Reported upload bytes.
        upload: u64,
        /// Reported download bytes.
        download: u64,
        /// Requested upload bytes.
        expected_up: u64,
        /// Requested download bytes.
        expected_down: u64,
    },
}

/// One implementation: how to start its server and its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// `ours`, `go`, `rust`, `js` or `py`.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// What it is and speaks; `None` for ours, which speaks every [`Layers`].
    pub foreign: Option<&'static ForeignPeer>,
}

impl Peer {
    /// `Ok` when it speaks `layers`, else why not.
    pub fn check(&self, layers: Layers) -> Result<(), Unsupported> {
        self.foreign.map_or(Ok(()), |f| f.check(layers))
    }

    #[cfg(test)]
    fn server_command(&self, layers: Layers) -> Command {
        self.server_command_on(layers, std::net::Ipv4Addr::LOCALHOST.into())
    }

    fn server_command_on(&self, layers: Layers, ip: std::net::IpAddr) -> Command {
        let mut cmd = Command::new(&self.program);
        match self.foreign {
            None => {
                let listen = Addr::new((ip, 0).into(), layers.transport);
                cmd.args(["server", "--listen", &listen.to_multiaddr().to_string()]);
                cmd.args(["--security", layers.security.as_str()]);
            }
            Some(foreign) => {
                cmd.args(["--run-server", "--server-address", &format!("{ip}:0")]);
                cmd.args(foreign.args(layers));
            }
        }
        cmd
    }

    fn client_command(&self, server: &str, upload: u64, download: u64, layers: Layers) -> Command {
        let mut cmd = Command::new(&self.program);
        let (up, down) = (upload.to_string(), download.to_string());
        match self.foreign {
            None => {
                cmd.args([
                    "client",
                    "--no-progress",
                    "--server",
                    server,
                    "--upload",
                    &up,
                    "--download",
                    &down,
                ]);
                // The address names the transport.
                if !layers.security.is_noise() {
                    cmd.args(["--security", layers.security.as_str()]);
                }
            }
            Some(foreign) => {
                cmd.args([
                    "--server-address",
                    server,
                    "--upload-bytes",
                    &up,
                    "--download-bytes",
                    &down,
                ]);
                cmd.args(foreign.args(layers));
            }
        }
        cmd
    }
}

/// The peers present under `peers_dir` (built by `interop/build.sh`), plus ours.
pub fn discover(ours: PathBuf, peers_dir: &Path, wanted: &[String]) -> (Vec<Peer>, Vec<String>) {
    let mut peers = vec![Peer {
        name: OURS.to_string(),
        program: ours,
        foreign: None,
    }];
    let mut missing = Vec::new();
    for foreign in FOREIGN_PEERS
        .iter()
        .filter(|p| wanted.is_empty() || wanted.iter().any(|w| w == p.name))
    {
        let program = peers_dir.join(foreign.name).join("peer");
        if program.exists() {
            peers.push(Peer {
                name: foreign.name.to_string(),
                program,
                foreign: Some(foreign),
            });
        } else {
            missing.push(foreign.name.to_string());
        }
    }
    (peers, missing)
}

/// Which way the payload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to server.
    Upload,
    /// Server to client.
    Download,
}

/// One process run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Client implementation.
    pub client: String,
    /// Server implementation.
    pub server: String,
    /// The transport (files from before it was recorded: tcp).
    #[serde(default)]
    pub transport: TransportKind,
    /// The secure channel (files from before it was recorded: noise).
    #[serde(default)]
    pub security: Security,
    /// Which way the bytes went.
    pub direction: Direction,
    /// Payload bytes.
    pub bytes: u64,
    /// Repetition, from 1.
    pub repetition: u32,
    /// The client's `final.timeSeconds`, if it succeeded.
    pub seconds: Option<f64>,
    /// Goodput, if it succeeded.
    pub bits_per_second: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// `command` inside a test host when there is one.
fn placed(command: Command, testbed: Option<&Testbed>, side: Side) -> Command {
    let Some(testbed) = testbed else {
        return command;
    };
    let mut parts = vec![command.get_program().to_string_lossy().into_owned()];
    parts.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    let parts = testbed.wrap(side, &parts);
    let mut wrapped = Command::new(&parts[0]);
    wrapped.args(&parts[1..]);
    wrapped
}

fn start_server(
    peer: &Peer,
    layers: Layers,
    testbed: Option<&Testbed>,
) -> Result<ServerProcess, InteropError> {
    let ip = testbed.map_or(std::net::Ipv4Addr::LOCALHOST.into(), |t| t.ip(Side::Server));
    let command = placed(peer.server_command_on(layers, ip), testbed, Side::Server);
    ServerProcess::start(command, ADDRESS_TIMEOUT, None).map_err(|failure| InteropError::Server {
        peer: peer.name.clone(),
        stderr_tail: tail(&failure.stderr_tail, 300),
        source: failure.error,
    })
}

/// Runs `client` against `server` once over `layers` and returns the client's final time in
/// seconds; with `hosts = Netns`, each in its own test host ([`crate::netns`], made for this
/// run and deleted after it).
pub fn run_once(
    client: &Peer,
    server: &Peer,
    layers: Layers,
    upload: u64,
    download: u64,
    limit: Duration,
    hosts: Hosts,
) -> Result<f64, InteropError> {
    for peer in [client, server] {
        peer.check(layers)?;
    }
    let testbed = match hosts {
        Hosts::Loopback => None,
        Hosts::Netns => Some(Testbed::create(&LinkShape {
            rate_bits_per_second: None,
            queue_bytes: 4 << 20,
        })?),
    };
    let server_process = start_server(server, layers, testbed.as_ref())?;
    let cmd = client.client_command(&server_process.printed, upload, download, layers);
    let mut cmd = placed(cmd, testbed.as_ref(), Side::Client);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let child = cmd.spawn().map_err(|source| InteropError::Spawn {
        what: format!("{} client", client.name),
        source,
    })?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(limit) {
        Ok(output) => output.map_err(|source| InteropError::Spawn {
            what: "client".into(),
            source,
        })?,
        Err(_) => {
            // The waiting thread owns the child; kill it by pid.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return Err(InteropError::Timeout(limit));
        }
    };
    drop(server_process);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    let failure = || InteropError::Client {
        status: output.status.to_string(),
        stderr_tail: tail(&String::from_utf8_lossy(&output.stderr), 300),
    };
    let last = match last {
        Some(v) if output.status.success() && v["type"] == "final" => v,
        _ => return Err(failure()),
    };
    // py-libp2p prints snake_case keys; everyone else camelCase.
    let number = |camel: &str, snake: &str| last.get(camel).or_else(|| last.get(snake)).cloned();
    let up = number("uploadBytes", "upload_bytes")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let down = number("downloadBytes", "download_bytes")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if (up, down) != (upload, download) {
        return Err(InteropError::Count {
            upload: up,
            download: down,
            expected_up: upload,
            expected_down: download,
        });
    }
    number("timeSeconds", "time_seconds")
        .and_then(|v| v.as_f64())
        .ok_or_else(failure)
}

fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].replace('\n', " | ")
}

/// The (client, server) pairs of the matrix: ours↔ours, every peer with itself, and every peer
/// with ours in both roles.
pub fn pairs(peers: &[Peer]) -> Vec<(Peer, Peer)> {
    let ours = &peers[0];
    let mut pairs = vec![(ours.clone(), ours.clone())];
    for p in &peers[1..] {
        pairs.push((p.clone(), p.clone()));
        pairs.push((ours.clone(), p.clone()));
        pairs.push((p.clone(), ours.clone()));
    }
    pairs
}

/// Version of [`InteropFile`].
pub const SCHEMA_VERSION: u32 = 1;

/// What `yamux-perf interop` writes (`results/interop-<date>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteropFile {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The command line that made it.
    pub command: Vec<String>,
    /// Where it ran.
    pub machine: Machine,
    /// The revision of yamux-perf.
    pub git: Option<GitRevision>,
    /// Bytes per run.
    pub bytes: u64,
    /// Runs per pair and direction.
    pub repetitions: u32,
    /// Where client and server ran (`--netns`: each run between two fresh test hosts,
    /// server 10.77.0.1 and client 10.77.0.2 on a veth pair with a 1500-byte MTU).
    #[serde(default, skip_serializing_if = "Hosts::is_loopback")]
    pub hosts: Hosts,
    /// Peers that were not built.
    pub missing_peers: Vec<String>,
    /// Pairs and layers left out because a peer does not speak them, each with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// One row per pair and direction, with the median.
    pub table: Vec<Row>,
    /// Every run.
    pub runs: Vec<Run>,
}

/// One pair, layers and direction of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// Client implementation.
    pub client: String,
    /// Server implementation.
    pub server: String,
    /// The transport (files from before it was recorded: tcp).
    #[serde(default)]
    pub transport: TransportKind,
    /// The secure channel (files from before it was recorded: noise).
    #[serde(default)]
    pub security: Security,
    /// Which way the bytes went.
    pub direction: Direction,
    /// Median goodput of the successful runs.
    pub median_bits_per_second: Option<f64>,
    /// Successful runs.
    pub ok: usize,
    /// Failed runs.
    pub failed: usize,
}

impl Run {
    /// Its transport and secure channel.
    pub fn layers(&self) -> Layers {
        Layers {
            transport: self.transport,
            security: self.security,
        }
    }

    /// Whether it is a run of `client` against `server` over `layers` in `direction`.
    pub fn is_of(&self, client: &str, server: &str, layers: Layers, direction: Direction) -> bool {
        self.client == client
            && self.server == server
            && self.layers() == layers
            && self.direction == direction
    }
}

impl Row {
    /// Its transport and secure channel.
    pub fn layers(&self) -> Layers {
        Layers {
            transport: self.transport,
            security: self.security,
        }
    }
}

impl InteropFile {
    /// The layers its table covers, in table order, each once.
    pub fn layers(&self) -> Vec<Layers> {
        let mut layers = Vec::new();
        for row in &self.table {
            if !layers.contains(&row.layers()) {
                layers.push(row.layers());
            }
        }
        layers
    }
}

/// Median of the successful runs' goodput for one (client, server, layers, direction).
pub fn median_bits_per_second(
    runs: &[Run],
    client: &str,
    server: &str,
    layers: Layers,
    direction: Direction,
) -> Option<f64> {
    let values = runs
        .iter()
        .filter(|r| r.is_of(client, server, layers, direction))
        .filter_map(|r| r.bits_per_second);
    Spread::of(values).map(|s| s.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> Peer {
        Peer {
            name: name.into(),
            program: PathBuf::from(name),
            foreign: ForeignPeer::named(name),
        }
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn matrix_has_self_pairs_and_both_roles_with_ours() {
        let peers = vec![peer(OURS), peer("go"), peer("js")];
        let names: Vec<(String, String)> = pairs(&peers)
            .into_iter()
            .map(|(c, s)| (c.name, s.name))
            .collect();
        let expect = [
            ("ours", "ours"),
            ("go", "go"),
            ("ours", "go"),
            ("go", "ours"),
            ("js", "js"),
            ("ours", "js"),
            ("js", "ours"),
        ];
        assert_eq!(names, expect.map(|(c, s)| (c.to_string(), s.to_string())));
    }

    #[test]
    fn commands_use_each_side_s_flags() {
        let tcp_noise = Layers::default();
        let ours = peer(OURS).client_command("/ip4/1.2.3.4/tcp/5", 10, 0, tcp_noise);
        assert_eq!(
            args(&ours),
            [
                "client",
                "--no-progress",
                "--server",
                "/ip4/1.2.3.4/tcp/5",
                "--upload",
                "10",
                "--download",
                "0"
            ]
        );
        let go = peer("go").server_command(tcp_noise);
        assert_eq!(
            args(&go),
            ["--run-server", "--server-address", "127.0.0.1:0"]
        );
    }

    #[test]
    fn commands_name_the_layers_on_both_sides() {
        let ws_tls = Layers {
            transport: TransportKind::Ws,
            security: Security::Tls,
        };
        let ours = args(&peer(OURS).server_command(ws_tls));
        assert_eq!(
            ours,
            [
                "server",
                "--listen",
                "/ip4/127.0.0.1/tcp/0/ws",
                "--security",
                "tls"
            ]
        );
        let ours = args(&peer(OURS).client_command("/ip4/1.2.3.4/tcp/5/ws", 1, 2, ws_tls));
        assert!(
            ours.ends_with(&["--security".into(), "tls".into()]),
            "{ours:?}"
        );
        for name in ["go", "rust", "js", "py"] {
            let client = args(&peer(name).client_command("/ip4/1.2.3.4/tcp/5/ws", 1, 2, ws_tls));
            assert!(
                client.ends_with(&["--transport", "ws", "--security", "tls"].map(String::from)),
                "{name}: {client:?}"
            );
            let server = args(&peer(name).server_command(ws_tls));
            assert_eq!(server[3..], ["--transport", "ws", "--security", "tls"]);
        }
    }

    #[test]
    fn a_peer_that_lacks_the_layers_is_refused_before_anything_starts() {
        static TCP_ONLY: ForeignPeer = ForeignPeer {
            name: "lab",
            launcher: "lab/peer",
            implementation: "lab-libp2p 0.1",
            transports: &[TransportKind::Tcp],
            security: &[Security::Noise],
        };
        let lab = Peer {
            name: "lab".into(),
            program: PathBuf::from("/nonexistent/lab"),
            foreign: Some(&TCP_ONLY),
        };
        let ws = Layers {
            transport: TransportKind::Ws,
            security: Security::Noise,
        };
        let e = run_once(
            &peer(OURS),
            &lab,
            ws,
            1,
            0,
            Duration::from_secs(1),
            Hosts::Loopback,
        )
        .unwrap_err();
        assert!(matches!(e, InteropError::Unsupported(_)), "{e}");
        assert!(
            e.to_string()
                .contains("the lab peer (lab-libp2p 0.1) cannot run ws + noise"),
            "{e}"
        );
    }

    #[test]
    fn median_ignores_failures_and_averages_even_counts() {
        let run = |bps: Option<f64>| Run {
            client: "a".into(),
            server: "b".into(),
            transport: TransportKind::Tcp,
            security: Security::Noise,
            direction: Direction::Upload,
            bytes: 1,
            repetition: 1,
            seconds: None,
            bits_per_second: bps,
            error: None,
        };
        let runs = [
            run(Some(3.0)),
            run(None),
            run(Some(1.0)),
            run(Some(2.0)),
            run(Some(10.0)),
        ];
        let tcp = Layers::default();
        assert_eq!(
            median_bits_per_second(&runs, "a", "b", tcp, Direction::Upload),
            Some(2.5)
        );
        assert_eq!(
            median_bits_per_second(&runs, "a", "b", tcp, Direction::Download),
            None
        );
        let ws = Layers {
            transport: TransportKind::Ws,
            ..tcp
        };
        assert_eq!(
            median_bits_per_second(&runs, "a", "b", ws, Direction::Upload),
            None
        );
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("line one\nline two", 8), "line two");
        assert_eq!(tail("é".repeat(10).as_str(), 3), "é");
    }
}
