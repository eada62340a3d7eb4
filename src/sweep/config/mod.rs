//! `bench-configs/*.toml`: a sweep's matrix, expanded into [`Case`]s with content-derived ids.
//!
//! ```toml
//! name = "example"          # optional; default: the file's stem
//! description = "…"         # optional
//! engine = "relay"          # relay (default): real processes, the relay for RTT and rate;
//!                           # sim: simulated sessions and link (crate::sim), deterministic
//! repetitions = 3           # measured runs per case (default 3)
//! warmup = 1                # discarded runs before them (default 0)
//! timeout = "120s"          # limit of one client run (default 300s)
//! interval = "100ms"        # the client's --interval, for the per-interval histogram
//!
//! [matrix]                  # a list multiplies the cases; a single value applies to all
//! peer = ["ours", "go"]     # ours | rust | go | js | py | a name from [peers]
//! hosts = "loopback"        # netns: server and client in two network namespaces joined by a
//!                           # veth pair, the rate as tbf on it (root; rtt must be 0); sweep --netns
//! rtt = ["0ms", "50ms"]     # added by the in-process relay (half each way)
//! rate = "1Gbit"            # relay rate each way; "none" (default) for no limit
//! queue = "4MiB"            # relay queue
//! stack = ["yamux", "tcp"]  # tcp: bare TCP, the baseline (ours only; yamux keys and
//!                           # security do not apply to it, so they do not multiply its cases)
//! transport = ["tcp", "ws"] # ws: WebSocket (/tcp/N/ws; every built-in peer); through the relay too
//! security = ["noise", "tls", "plaintext"] # tls: /tls/1.0.0, plaintext: /plaintext/2.0.0
//! early_muxer = [true, false] # false: client and server --no-early-muxer (yamux negotiated
//!                           # by multistream-select inside the channel: one round trip more)
//! send_buffer = "4MiB"      # SO_SNDBUF of our ends; "auto" (default): kernel autotuning
//! recv_buffer = "auto"      # SO_RCVBUF of our ends
//! initial_window = "256KiB" # or "max_window": a window fixed at the case's max_window
//! max_window = ["1MiB", "16MiB"]
//! autotune = [true, false]
//! window_accounting = ["full", "go"]
//! autotune_rule = ["go", "ramp"] # when the window grows (client --autotune-rule; or "shared")
//! max_frame = "64KiB"
//! streams = 1
//! connections = 1
//! upload = "64MiB"
//! download = "64MiB"
//! latency_rounds = 50       # adds a latency run (1-byte round trips) per case
//! latency_mode = "perf"     # perf: a fresh stream per round (test-plans); ping: /ipfs/ping/1.0.0
//!                           # on one stream (bare TCP: 32-byte ping-pong), like for like
//! probe = ["none", "ping"]  # latency under load: client --probe on the measured runs (yamux
//!                           # stack; the summary gets muxer_added_p50_ms/p99_ms)
//! stagger = ["0ms", "200ms"] # stream k opens k x stagger after the first (client --stagger)
//! short_flows = "20:64KiB"  # COUNT:SIZE short streams during the bulk transfer (flow
//!                           # completion times: short_fct_p50_ms/p99_ms, <id>.fct_ms.hgrm)
//!
//! [[override]]              # in order; `when` lists values per key, every key must match
//! when = { rtt = ["50ms", "100ms"], max_window = "256KiB" }
//! set = { upload = "8MiB", download = "8MiB" }
//!
//! [[exclude]]               # cases matching every key are dropped (after the overrides)
//! autotune = false
//! window_accounting = "go"
//!
//! [peers.go]                # replaces or adds a foreign server; {interop} = --interop-dir,
//!                           # {host} = the address to listen on (127.0.0.1, or the server
//!                           # host's with hosts = "netns")
//! command = ["{interop}/go/go-libp2p-perf", "--run-server", "--server-address", "{host}:0"]
//! latency_client_args = []  # extra client flags for the latency run (js: ["--no-lazy"])
//! plaintext_args = ["--security", "plaintext"] # server flags for security = "plaintext"
//! tls_args = ["--security", "tls"]             # server flags for security = "tls"
//! ws_args = ["--transport", "ws"]              # server flags for transport = "ws"
//! ```
//!
//! A case the peer cannot run (stack tcp against a foreign peer, plaintext, TLS or WebSocket
//! against a peer without `plaintext_args`, `tls_args` or `ws_args`) is dropped from the sweep with a reason in [`Sweep::skipped`],
//! which `yamux-perf sweep` prints; a sweep left with no case is a [`ConfigError::Unsupported`].
//!
//! Modules, by concern: [`schema`] (the file as written), [`keys`] (one line per matrix key: its
//! field, parser and default), [`peers`], [`mod@expand`] (the matrix multiplied out; a pure function
//! of the file and the [`HostFacts`]), `validate`, `notes`, `label` and `id`.
//!
//! The matrix expands in a fixed key order, the first key outermost ([`Key::ALL`]). Cases that
//! end up identical (after overrides) are merged. A case's id is the first 12 hex digits of the
//! SHA-256 of its [`CaseConfig`] as canonical JSON (keys sorted, no spaces); the run plan
//! (repetitions, warm-up, timeout, interval) is not part of it.

pub mod expand;
pub mod id;
pub mod keys;
pub mod label;
mod notes;
pub mod peers;
pub mod schema;
mod sim;
mod validate;

use std::path::{Path, PathBuf};

pub use expand::expand;
pub use id::{canonical_json, case_id};
pub use keys::{Flag, Key, Kind, Scope, Show, case_fields, value_text};
pub use label::{format_ms, label};
pub use peers::PeerTable;
pub use schema::{Matrix, OverrideFile, PeerFile, Scalar, SweepFile, Values};

use crate::results::{CaseConfig, OURS, PeerInfo, RunPlan};
use crate::sweep::host::HostFacts;

/// Why a sweep config was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong kind.
    #[error("parsing {path}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The cause (with line and column).
        #[source]
        source: toml::de::Error,
    },
    /// A case JSON given instead of a TOML config did not parse.
    #[error("parsing case {path}")]
    CaseJson {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A value that does not parse or is out of range.
    #[error("{key} = {value}: {reason}")]
    Value {
        /// The key, with its table (`matrix.rtt`, `override[1].set.upload`).
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A matrix key with an empty list.
    #[error("{key}: an empty list leaves nothing to run")]
    EmptyList {
        /// The key.
        key: String,
    },
    /// A combination that cannot run.
    #[error("case {label}: {reason}")]
    Case {
        /// The case.
        label: String,
        /// What is wrong.
        reason: String,
    },
    /// A combination the peer cannot run (only ours speaks bare TCP; plaintext needs a peer that
    /// speaks it).
    #[error("case {label}: {reason}")]
    Unsupported {
        /// The case.
        label: String,
        /// Why it cannot run.
        reason: String,
    },
    /// A key or value `engine = "sim"` has no model for.
    #[error("engine = \"sim\" cannot run {key}: {reason}")]
    NotSimulated {
        /// The key, with its table (`matrix.security`), or the case's key and label.
        key: String,
        /// Why.
        reason: String,
    },
    /// A peer that is neither built in nor in `[peers]`.
    #[error("unknown peer {name:?} (known: {known})")]
    UnknownPeer {
        /// The name.
        name: String,
        /// The known names.
        known: String,
    },
}

/// One point of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Content-derived id ([`case_id`]).
    pub id: String,
    /// Human-readable config ([`label()`]).
    pub label: String,
    /// What is measured.
    pub config: CaseConfig,
    /// The server.
    pub peer: PeerInfo,
    /// Things a reader of the results must know.
    pub notes: Vec<String>,
}

/// A parsed and expanded sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Name (output directory `results/<name>` by default).
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// How each case is run.
    pub plan: RunPlan,
    /// The cases, in matrix order.
    pub cases: Vec<Case>,
    /// Combinations of the matrix that the peer cannot run, with the reason, in matrix order.
    pub skipped: Vec<Skipped>,
}

/// A combination of the matrix left out because its peer cannot run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The case's label.
    pub label: String,
    /// Why.
    pub reason: String,
}

/// Default measured runs per case.
pub const DEFAULT_REPETITIONS: u32 = 3;
/// Default limit of one client run.
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;
/// Default client interval: short, so that runs of a second still give a histogram.
pub const DEFAULT_INTERVAL_S: f64 = 0.1;

/// Reads and expands a sweep config, or reads a case JSON (`cases/<id>.json`, to re-run that
/// case with its recorded plan and peer); `host` gives the limits the notes compare with.
pub fn load(path: &Path, host: &HostFacts) -> Result<Sweep, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "json") {
        let result: crate::results::CaseResult =
            serde_json::from_str(&text).map_err(|source| ConfigError::CaseJson {
                path: path.to_path_buf(),
                source,
            })?;
        let case = case_from_config(result.config, result.peer, host)?;
        if result.plan.engine == crate::results::Engine::Sim {
            sim::check_case(&case.config).map_err(|(key, reason)| ConfigError::NotSimulated {
                key: key.into(),
                reason: reason.into(),
            })?;
        }
        return Ok(Sweep {
            name: result.sweep,
            description: Some(format!("re-run of case {}", result.id)),
            plan: result.plan,
            cases: vec![case],
            skipped: Vec::new(),
        });
    }
    let file: SweepFile = toml::from_str(&text).map_err(|source| ConfigError::Toml {
        path: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    expand(&file, &stem, host)
}

impl Sweep {
    /// Every case moved to `hosts` (`sweep --netns`): ids, labels and notes derived again.
    pub fn on_hosts(
        mut self,
        hosts: crate::results::Hosts,
        host: &HostFacts,
    ) -> Result<Self, ConfigError> {
        let cases = std::mem::take(&mut self.cases);
        for case in cases {
            let mut config = case.config;
            config.hosts = hosts;
            let case = case_from_config(config, case.peer, host)?;
            if !self.cases.iter().any(|c| c.id == case.id) {
                self.cases.push(case);
            }
        }
        Ok(self)
    }
}

/// A case from its config and peer (also used to re-run a case from its JSON): validates the
/// config and derives the id, label and notes.
pub fn case_from_config(
    config: CaseConfig,
    peer: PeerInfo,
    host: &HostFacts,
) -> Result<Case, ConfigError> {
    let label = label(&config);
    validate::validate(&config).map_err(|reason| ConfigError::Case {
        label: label.clone(),
        reason,
    })?;
    if peer.name != OURS && peer.command.is_empty() {
        return Err(ConfigError::Case {
            label,
            reason: format!("peer {} has no server command", peer.name),
        });
    }
    if let Some(reason) = validate::unsupported(&config, &peer) {
        return Err(ConfigError::Unsupported { label, reason });
    }
    let notes = notes::notes(&config, &peer, host);
    Ok(Case {
        id: case_id(&config),
        label,
        config,
        peer,
        notes,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Facts of a host without caps, so that no test depends on the machine it runs on.
    pub(crate) fn host() -> HostFacts {
        HostFacts::default()
    }

    pub(crate) fn parse_on(text: &str, host: &HostFacts) -> Result<Sweep, ConfigError> {
        let file: SweepFile = toml::from_str(text).map_err(|source| ConfigError::Toml {
            path: "inline.toml".into(),
            source,
        })?;
        expand(&file, "inline", host)
    }

    pub(crate) fn parse(text: &str) -> Result<Sweep, ConfigError> {
        parse_on(text, &host())
    }

    pub(crate) fn error(text: &str) -> String {
        crate::error_chain(&parse(text).expect_err("should be rejected"))
    }

    #[test]
    fn committed_bench_configs_expand() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("bench-configs/ exists") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let sweep = load(&path, &host())
                    .unwrap_or_else(|e| panic!("{}: {}", path.display(), crate::error_chain(&e)));
                assert!(!sweep.cases.is_empty(), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 4, "smoke, window-autotune, frame-caps, go-vs-ours");
    }
}
