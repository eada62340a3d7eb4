//! The interop matrix: every pair of implementations, both roles, as separate processes.
//!
//! Peers of other implementations are built by `interop/build.sh` and linked as
//! `<peers dir>/<name>/peer`; they all take test-plans' flags (`--run-server --server-address
//! 127.0.0.1:0` prints the listen multiaddr first; `--server-address <addr> --upload-bytes N
//! --download-bytes M` prints JSON lines ending with a `final` one). Each pair runs an upload
//! (N bytes up, nothing back) and a download (nothing up, N back) in fresh processes, as
//! test-plans does, and goodput is N·8 / the client's `final.timeSeconds` (connection setup
//! included, as in test-plans).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::results::{GitRevision, Machine, OURS, Spread};
use crate::sweep::process::{ADDRESS_TIMEOUT, ServerError, ServerProcess};

/// Implementations of other languages, in table order.
pub const FOREIGN: [&str; 4] = ["go", "rust", "js", "py"];

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
}

impl Peer {
    fn is_ours(&self) -> bool {
        self.name == OURS
    }

    fn server_command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        if self.is_ours() {
            cmd.args(["server", "--listen", "/ip4/127.0.0.1/tcp/0"]);
        } else {
            cmd.args(["--run-server", "--server-address", "127.0.0.1:0"]);
        }
        cmd
    }

    fn client_command(&self, server: &str, upload: u64, download: u64) -> Command {
        let mut cmd = Command::new(&self.program);
        let (up, down) = (upload.to_string(), download.to_string());
        if self.is_ours() {
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
        } else {
            cmd.args([
                "--server-address",
                server,
                "--upload-bytes",
                &up,
                "--download-bytes",
                &down,
            ]);
        }
        cmd
    }
}

/// The peers present under `peers_dir` (built by `interop/build.sh`), plus ours.
pub fn discover(ours: PathBuf, peers_dir: &Path, wanted: &[String]) -> (Vec<Peer>, Vec<String>) {
    let mut peers = vec![Peer {
        name: OURS.to_string(),
        program: ours,
    }];
    let mut missing = Vec::new();
    for name in FOREIGN
        .iter()
        .filter(|n| wanted.is_empty() || wanted.iter().any(|w| w == *n))
    {
        let program = peers_dir.join(name).join("peer");
        if program.exists() {
            peers.push(Peer {
                name: name.to_string(),
                program,
            });
        } else {
            missing.push(name.to_string());
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

fn start_server(peer: &Peer) -> Result<ServerProcess, InteropError> {
    ServerProcess::start(peer.server_command(), ADDRESS_TIMEOUT, None).map_err(|failure| {
        InteropError::Server {
            peer: peer.name.clone(),
            stderr_tail: tail(&failure.stderr_tail, 300),
            source: failure.error,
        }
    })
}

/// Runs `client` against `server` once and returns the client's final time in seconds.
pub fn run_once(
    client: &Peer,
    server: &Peer,
    upload: u64,
    download: u64,
    limit: Duration,
) -> Result<f64, InteropError> {
    let server_process = start_server(server)?;
    let mut cmd = client.client_command(&server_process.printed, upload, download);
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
    /// Peers that were not built.
    pub missing_peers: Vec<String>,
    /// One row per pair and direction, with the median.
    pub table: Vec<Row>,
    /// Every run.
    pub runs: Vec<Run>,
}

/// One pair and direction of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// Client implementation.
    pub client: String,
    /// Server implementation.
    pub server: String,
    /// Which way the bytes went.
    pub direction: Direction,
    /// Median goodput of the successful runs.
    pub median_bits_per_second: Option<f64>,
    /// Successful runs.
    pub ok: usize,
    /// Failed runs.
    pub failed: usize,
}

/// Median of the successful runs' goodput for one (client, server, direction).
pub fn median_bits_per_second(
    runs: &[Run],
    client: &str,
    server: &str,
    direction: Direction,
) -> Option<f64> {
    let values = runs
        .iter()
        .filter(|r| r.client == client && r.server == server && r.direction == direction)
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
        }
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
        let ours = peer(OURS).client_command("/ip4/1.2.3.4/tcp/5", 10, 0);
        let args: Vec<_> = ours
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
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
        let go = peer("go").server_command();
        let args: Vec<_> = go
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["--run-server", "--server-address", "127.0.0.1:0"]);
    }

    #[test]
    fn median_ignores_failures_and_averages_even_counts() {
        let run = |bps: Option<f64>| Run {
            client: "a".into(),
            server: "b".into(),
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
        assert_eq!(
            median_bits_per_second(&runs, "a", "b", Direction::Upload),
            Some(2.5)
        );
        assert_eq!(
            median_bits_per_second(&runs, "a", "b", Direction::Download),
            None
        );
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("line one\nline two", 8), "line two");
        assert_eq!(tail("é".repeat(10).as_str(), 3), "é");
    }
}
