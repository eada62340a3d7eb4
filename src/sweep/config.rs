//! `bench-configs/*.toml`: a sweep's matrix, expanded into [`Case`]s with content-derived ids.
//!
//! ```toml
//! name = "example"          # optional; default: the file's stem
//! description = "…"         # optional
//! repetitions = 3           # measured runs per case (default 3)
//! warmup = 1                # discarded runs before them (default 0)
//! timeout = "120s"          # limit of one client run (default 300s)
//! interval = "100ms"        # the client's --interval, for the per-interval histogram
//!
//! [matrix]                  # a list multiplies the cases; a single value applies to all
//! peer = ["ours", "go"]     # ours | rust | go | js | py | a name from [peers]
//! rtt = ["0ms", "50ms"]     # added by the in-process relay (half each way)
//! rate = "1Gbit"            # relay rate each way; "none" (default) for no limit
//! queue = "4MiB"            # relay queue
//! stack = ["yamux", "tcp"]  # tcp: bare TCP, the baseline (ours only; yamux keys and
//!                           # security do not apply to it, so they do not multiply its cases)
//! security = ["noise", "plaintext"] # plaintext: /plaintext/2.0.0 (ours, go)
//! send_buffer = "4MiB"      # SO_SNDBUF of our ends; "auto" (default): kernel autotuning
//! recv_buffer = "auto"      # SO_RCVBUF of our ends
//! initial_window = "256KiB" # or "max_window": a window fixed at the case's max_window
//! max_window = ["1MiB", "16MiB"]
//! autotune = [true, false]
//! window_accounting = ["full", "go"]
//! max_frame = "64KiB"
//! streams = 1
//! connections = 1
//! upload = "64MiB"
//! download = "64MiB"
//! latency_rounds = 50       # adds a latency run (1-byte round trips) per case
//! latency_mode = "perf"     # perf: a fresh stream per round (test-plans); ping: /ipfs/ping/1.0.0
//!                           # on one stream (bare TCP: 32-byte ping-pong), like for like
//!
//! [[override]]              # in order; `when` lists values per key, every key must match
//! when = { rtt = ["50ms", "100ms"], max_window = "256KiB" }
//! set = { upload = "8MiB", download = "8MiB" }
//!
//! [[exclude]]               # cases matching every key are dropped (after the overrides)
//! autotune = false
//! window_accounting = "go"
//!
//! [peers.go]                # replaces or adds a foreign server; {interop} = --interop-dir
//! command = ["{interop}/go/go-libp2p-perf", "--run-server", "--server-address", "127.0.0.1:0"]
//! latency_client_args = []  # extra client flags for the latency run (js: ["--no-lazy"])
//! plaintext_args = ["--security", "plaintext"] # server flags for security = "plaintext"
//! ```
//!
//! A case the peer cannot run (stack tcp against a foreign peer, plaintext against a peer
//! without `plaintext_args`) is dropped from the sweep with a reason in [`Sweep::skipped`],
//! which `yamux-perf sweep` prints; a sweep left with no case is a [`ConfigError::Unsupported`].
//!
//! The matrix expands in a fixed key order, the first key outermost ([`Key::ALL`]). Cases that
//! end up identical (after overrides) are merged. A case's id is the first 12 hex digits of the
//! SHA-256 of its [`CaseConfig`] as canonical JSON (keys sorted, no spaces); the run plan
//! (repetitions, warm-up, timeout, interval) is not part of it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::results::{CaseConfig, LatencyMode, PeerInfo, RunPlan, Stack};
use crate::security::Security;
use crate::units::{ByteSize, Rate, parse_duration};
use crate::yamux::WindowAccounting;

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
    /// A peer that is neither built in nor in `[peers]`.
    #[error("unknown peer {name:?} (known: {known})")]
    UnknownPeer {
        /// The name.
        name: String,
        /// The known names.
        known: String,
    },
}

/// A scalar as written in TOML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true`/`false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// One value or a list of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Values {
    /// A list: every element is swept.
    Many(Vec<Scalar>),
    /// A single value.
    One(Scalar),
}

impl Values {
    fn as_slice(&self) -> &[Scalar] {
        match self {
            Values::Many(v) => v,
            Values::One(s) => std::slice::from_ref(s),
        }
    }
}

macro_rules! matrix_keys {
    ($($field:ident => $key:ident),* $(,)?) => {
        /// The matrix keys; in `[matrix]`, `when`, `set` and `[[exclude]]`.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Matrix {
            $(
                #[allow(missing_docs)]
                pub $field: Option<Values>,
            )*
        }

        /// A matrix key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Key {
            $(
                #[allow(missing_docs)]
                $key,
            )*
        }

        impl Key {
            /// Every key, in expansion order (first outermost).
            pub const ALL: &'static [Key] = &[$(Key::$key),*];

            /// The TOML name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Key::$key => stringify!($field),)*
                }
            }
        }

        impl Matrix {
            /// The keys that are set, in expansion order.
            pub fn entries(&self) -> Vec<(Key, &Values)> {
                let mut entries = Vec::new();
                $(
                    if let Some(v) = &self.$field {
                        entries.push((Key::$key, v));
                    }
                )*
                entries
            }
        }
    };
}

matrix_keys! {
    peer => Peer,
    rtt => Rtt,
    rate => Rate,
    queue => Queue,
    stack => Stack,
    security => Security,
    send_buffer => SendBuffer,
    recv_buffer => RecvBuffer,
    max_window => MaxWindow,
    initial_window => InitialWindow,
    autotune => Autotune,
    window_accounting => WindowAccounting,
    max_frame => MaxFrame,
    streams => Streams,
    connections => Connections,
    upload => Upload,
    download => Download,
    latency_rounds => LatencyRounds,
    latency_mode => LatencyMode,
}

/// A typed matrix value.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// A peer name.
    Peer(String),
    /// A duration in ms.
    Ms(f64),
    /// A rate, `None` for no limit.
    Rate(Option<u64>),
    /// Bytes.
    Bytes(u64),
    /// `initial_window = "max_window"`.
    SameAsMaxWindow,
    /// A flag.
    Bool(bool),
    /// Window accounting.
    Accounting(WindowAccounting),
    /// A count.
    Count(u32),
    /// Latency rounds, `None` for no latency run.
    Rounds(Option<u32>),
    /// What the latency run measures.
    LatencyMode(LatencyMode),
    /// The layers under perf.
    Stack(Stack),
    /// The security protocol.
    Security(Security),
    /// A socket buffer size, `None` for the kernel's autotuning.
    Buffer(Option<u64>),
}

/// Largest RTT the relay is asked for (it buffers RTT × rate).
const MAX_RTT_MS: f64 = 10_000.0;
/// Most streams or connections per case.
const MAX_PARALLEL: i64 = 1024;
/// Smallest socket buffer asked for (Linux rounds smaller requests up anyway).
const MIN_BUFFER: u64 = 4 << 10;
/// Largest socket buffer asked for (`setsockopt` takes an int; Linux caps requests at
/// `net.core.wmem_max`/`rmem_max`).
const MAX_BUFFER: u64 = 1 << 30;

fn size(value: &Scalar) -> Result<u64, String> {
    match value {
        Scalar::Int(n) => u64::try_from(*n).map_err(|_| "a size cannot be negative".into()),
        Scalar::Text(s) => s
            .parse::<ByteSize>()
            .map(ByteSize::bytes)
            .map_err(|e| e.to_string()),
        _ => Err("expected a size such as \"64MiB\" or a byte count".into()),
    }
}

fn count(value: &Scalar, min: i64, max: i64) -> Result<u32, String> {
    match value {
        Scalar::Int(n) if (min..=max).contains(n) => Ok(*n as u32),
        Scalar::Int(_) => Err(format!("expected a count from {min} to {max}")),
        _ => Err("expected an integer".into()),
    }
}

impl Key {
    /// The value used when the key is absent.
    pub fn default_value(self) -> Typed {
        match self {
            Key::Peer => Typed::Peer("ours".into()),
            Key::Rtt => Typed::Ms(0.0),
            Key::Rate => Typed::Rate(None),
            Key::Queue => Typed::Bytes(4 << 20),
            Key::MaxWindow => Typed::Bytes(16 << 20),
            Key::InitialWindow => Typed::Bytes(256 << 10),
            Key::Autotune => Typed::Bool(true),
            Key::WindowAccounting => Typed::Accounting(WindowAccounting::Full),
            Key::MaxFrame => Typed::Bytes(64 << 10),
            Key::Streams | Key::Connections => Typed::Count(1),
            Key::Upload | Key::Download => Typed::Bytes(0),
            Key::LatencyRounds => Typed::Rounds(None),
            Key::LatencyMode => Typed::LatencyMode(LatencyMode::Perf),
            Key::Stack => Typed::Stack(Stack::Yamux),
            Key::Security => Typed::Security(Security::Noise),
            Key::SendBuffer | Key::RecvBuffer => Typed::Buffer(None),
        }
    }

    /// Parses one value of this key; the error says why it is invalid.
    pub fn parse(self, value: &Scalar) -> Result<Typed, String> {
        match self {
            Key::Peer => match value {
                Scalar::Text(s) if !s.trim().is_empty() => Ok(Typed::Peer(s.trim().to_string())),
                _ => Err("expected a peer name such as \"ours\" or \"go\"".into()),
            },
            Key::Rtt => {
                let ms = match value {
                    Scalar::Int(0) => 0.0,
                    Scalar::Text(s) => {
                        parse_duration(s).map_err(|e| e.to_string())?.as_secs_f64() * 1e3
                    }
                    _ => return Err("expected a duration such as \"50ms\"".into()),
                };
                if ms > MAX_RTT_MS {
                    return Err(format!("at most {MAX_RTT_MS} ms"));
                }
                Ok(Typed::Ms(ms))
            }
            Key::Rate => match value {
                Scalar::Text(s) if matches!(s.trim(), "none" | "unlimited") => {
                    Ok(Typed::Rate(None))
                }
                Scalar::Text(s) => s
                    .parse::<Rate>()
                    .map(|r| Typed::Rate(Some(r.0)))
                    .map_err(|e| e.to_string()),
                Scalar::Int(n) if *n > 0 => Ok(Typed::Rate(Some(*n as u64))),
                _ => Err("expected a rate such as \"1Gbit\" or \"none\"".into()),
            },
            Key::InitialWindow => match value {
                Scalar::Text(s) if s.trim() == "max_window" => Ok(Typed::SameAsMaxWindow),
                _ => size(value).map(Typed::Bytes),
            },
            Key::Queue | Key::MaxWindow | Key::MaxFrame | Key::Upload | Key::Download => {
                size(value).map(Typed::Bytes)
            }
            Key::Autotune => match value {
                Scalar::Bool(b) => Ok(Typed::Bool(*b)),
                _ => Err("expected true or false".into()),
            },
            Key::WindowAccounting => match value {
                Scalar::Text(s) if s == "full" => Ok(Typed::Accounting(WindowAccounting::Full)),
                Scalar::Text(s) if s == "go" => Ok(Typed::Accounting(WindowAccounting::Go)),
                _ => Err("expected \"full\" or \"go\"".into()),
            },
            Key::Streams | Key::Connections => count(value, 1, MAX_PARALLEL).map(Typed::Count),
            Key::LatencyRounds => match value {
                Scalar::Int(0) => Ok(Typed::Rounds(None)),
                _ => count(value, 0, 1_000_000).map(|n| Typed::Rounds(Some(n))),
            },
            Key::LatencyMode => match value {
                Scalar::Text(s) if s == "perf" => Ok(Typed::LatencyMode(LatencyMode::Perf)),
                Scalar::Text(s) if s == "ping" => Ok(Typed::LatencyMode(LatencyMode::Ping)),
                _ => Err("expected \"perf\" or \"ping\"".into()),
            },
            Key::Stack => match value {
                Scalar::Text(s) if s == "yamux" => Ok(Typed::Stack(Stack::Yamux)),
                Scalar::Text(s) if s == "tcp" => Ok(Typed::Stack(Stack::Tcp)),
                _ => Err("expected \"yamux\" or \"tcp\"".into()),
            },
            Key::Security => match value {
                Scalar::Text(s) if s == "noise" => Ok(Typed::Security(Security::Noise)),
                Scalar::Text(s) if s == "plaintext" => Ok(Typed::Security(Security::Plaintext)),
                _ => Err("expected \"noise\" or \"plaintext\"".into()),
            },
            Key::SendBuffer | Key::RecvBuffer => match value {
                Scalar::Text(s) if s.trim() == "auto" => Ok(Typed::Buffer(None)),
                _ => {
                    let bytes = size(value)?;
                    if !(MIN_BUFFER..=MAX_BUFFER).contains(&bytes) {
                        return Err(format!(
                            "a socket buffer must be from {} to {}, or \"auto\"",
                            ByteSize(MIN_BUFFER),
                            ByteSize(MAX_BUFFER)
                        ));
                    }
                    Ok(Typed::Buffer(Some(bytes)))
                }
            },
        }
    }
}

/// A foreign server in `[peers]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerFile {
    /// Program and arguments; `{interop}` is replaced by the interop directory. It must print
    /// its `/p2p/` multiaddr as the first stdout line and serve `/perf/1.0.0`.
    pub command: Vec<String>,
    /// Extra client flags for the latency run against this peer.
    #[serde(default)]
    pub latency_client_args: Vec<String>,
    /// Extra server flags for `security = "plaintext"`; empty: the peer speaks Noise only.
    #[serde(default)]
    pub plaintext_args: Vec<String>,
}

/// A `[[override]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideFile {
    /// Which cases: every key listed must have one of its values.
    #[serde(default)]
    pub when: Matrix,
    /// What to set (single values).
    pub set: Matrix,
}

/// A `bench-configs/*.toml` file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Name of the sweep; default: the file's stem.
    pub name: Option<String>,
    /// What the sweep is for.
    pub description: Option<String>,
    /// Measured runs per case (default 3).
    pub repetitions: Option<u32>,
    /// Discarded runs before them (default 0).
    pub warmup: Option<u32>,
    /// Limit of one client run (default "300s").
    pub timeout: Option<String>,
    /// The client's interval (default "100ms").
    pub interval: Option<String>,
    /// The matrix.
    #[serde(default)]
    pub matrix: Matrix,
    /// Per-case changes.
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideFile>,
    /// Cases to drop.
    #[serde(default)]
    pub exclude: Vec<Matrix>,
    /// Foreign servers, replacing or adding to the built-in ones.
    #[serde(default)]
    pub peers: BTreeMap<String, PeerFile>,
}

/// Foreign servers by name: the command templates the sweep starts.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerTable(BTreeMap<String, PeerInfo>);

/// Built-in peers: where `interop/build.sh` puts each launcher, with test-plans server flags.
const BUILTIN_PEERS: &[(&str, &str)] = &[
    ("rust", "{interop}/rust/release/rust-libp2p-perf"),
    ("go", "{interop}/go/go-libp2p-perf"),
    ("js", "{interop}/js/js-libp2p-perf"),
    ("py", "{interop}/py/py-libp2p-perf"),
];

/// The peer that is this binary's own `server` subcommand.
pub const OURS: &str = "ours";

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
            },
        );
        for (name, program) in BUILTIN_PEERS {
            peers.insert(
                name.to_string(),
                PeerInfo {
                    name: name.to_string(),
                    command: [program, "--run-server", "--server-address", "127.0.0.1:0"]
                        .map(String::from)
                        .to_vec(),
                    server_takes_yamux_options: false,
                    // js-libp2p's perf server resets a stream whose request arrives together
                    // with the protocol proposal when the upload is tiny (1 byte).
                    latency_client_args: if *name == "js" {
                        vec!["--no-lazy".into()]
                    } else {
                        Vec::new()
                    },
                    // interop/go-peer takes go-libp2p's insecure transport by this flag; the
                    // other peers speak Noise only.
                    plaintext_args: if *name == "go" {
                        vec!["--security".into(), "plaintext".into()]
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
            },
        );
        Ok(())
    }
}

/// One point of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Content-derived id ([`case_id`]).
    pub id: String,
    /// Human-readable config ([`label`]).
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
/// case with its recorded plan and peer).
pub fn load(path: &Path) -> Result<Sweep, ConfigError> {
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
        return Ok(Sweep {
            name: result.sweep,
            description: Some(format!("re-run of case {}", result.id)),
            plan: result.plan,
            cases: vec![case_from_config(result.config, result.peer)?],
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
    expand(&file, &stem)
}

fn plan_value(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Value {
        key: key.into(),
        value: format!("{value:?}"),
        reason: reason.into(),
    }
}

fn seconds(key: &str, text: Option<&str>, default: f64, min: f64) -> Result<f64, ConfigError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let d = parse_duration(text).map_err(|e| plan_value(key, text, &e.to_string()))?;
    let s = d.as_secs_f64();
    if s < min {
        return Err(plan_value(key, text, &format!("at least {min} s")));
    }
    Ok(s)
}

/// The run plan of a file.
fn plan(file: &SweepFile) -> Result<RunPlan, ConfigError> {
    let repetitions = file.repetitions.unwrap_or(DEFAULT_REPETITIONS);
    if !(1..=1000).contains(&repetitions) {
        return Err(plan_value(
            "repetitions",
            &repetitions.to_string(),
            "from 1 to 1000",
        ));
    }
    let warmup = file.warmup.unwrap_or(0);
    if warmup > 100 {
        return Err(plan_value("warmup", &warmup.to_string(), "at most 100"));
    }
    Ok(RunPlan {
        repetitions,
        warmup,
        timeout_s: seconds("timeout", file.timeout.as_deref(), DEFAULT_TIMEOUT_S, 1.0)?,
        interval_s: seconds(
            "interval",
            file.interval.as_deref(),
            DEFAULT_INTERVAL_S,
            0.01,
        )?,
    })
}

/// Parses every value of a table (`[matrix]`, a `when`, a `set`, an `[[exclude]]`).
fn parse_table(matrix: &Matrix, table: &str) -> Result<Vec<(Key, Vec<Typed>)>, ConfigError> {
    matrix
        .entries()
        .into_iter()
        .map(|(key, values)| {
            let name = format!("{table}.{}", key.name());
            let values = values.as_slice();
            if values.is_empty() {
                return Err(ConfigError::EmptyList { key: name });
            }
            let typed = values
                .iter()
                .map(|v| {
                    key.parse(v).map_err(|reason| ConfigError::Value {
                        key: name.clone(),
                        value: v.to_string(),
                        reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((key, typed))
        })
        .collect()
}

type Assignment = BTreeMap<Key, Typed>;

fn matches(assignment: &Assignment, condition: &[(Key, Vec<Typed>)]) -> bool {
    condition
        .iter()
        .all(|(key, values)| assignment.get(key).is_some_and(|v| values.contains(v)))
}

/// Expands a parsed file; `stem` names the sweep when the file does not.
pub fn expand(file: &SweepFile, stem: &str) -> Result<Sweep, ConfigError> {
    let plan = plan(file)?;
    let mut peers = PeerTable::default();
    for (name, peer) in &file.peers {
        peers.add(name, peer)?;
    }
    let axes = parse_table(&file.matrix, "matrix")?;
    let overrides = file
        .overrides
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let when = parse_table(&o.when, &format!("override[{i}].when"))?;
            let set = parse_table(&o.set, &format!("override[{i}].set"))?
                .into_iter()
                .map(|(key, mut values)| {
                    if values.len() != 1 {
                        return Err(ConfigError::Value {
                            key: format!("override[{i}].set.{}", key.name()),
                            value: format!("a list of {}", values.len()),
                            reason: "an override sets one value".into(),
                        });
                    }
                    Ok((key, values.remove(0)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((when, set))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let excludes = file
        .exclude
        .iter()
        .enumerate()
        .map(|(i, m)| parse_table(m, &format!("exclude[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;

    let mut assignments: Vec<Assignment> = vec![Assignment::new()];
    for &key in Key::ALL {
        let values = axes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| vec![key.default_value()]);
        assignments = assignments
            .into_iter()
            .flat_map(|a| {
                values.iter().map(move |v| {
                    let mut a = a.clone();
                    a.insert(key, v.clone());
                    a
                })
            })
            .collect();
    }

    let mut cases = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut seen = HashSet::new();
    for mut assignment in assignments {
        for (when, set) in &overrides {
            if matches(&assignment, when) {
                for (key, value) in set {
                    assignment.insert(*key, value.clone());
                }
            }
        }
        if excludes.iter().any(|e| matches(&assignment, e)) {
            continue;
        }
        let case = match build_case(&assignment, &peers) {
            Ok(case) => case,
            Err(ConfigError::Unsupported { label, reason }) => {
                let skip = Skipped { label, reason };
                if !skipped.contains(&skip) {
                    skipped.push(skip);
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if seen.insert(case.id.clone()) {
            cases.push(case);
        }
    }
    if cases.is_empty()
        && let Some(first) = skipped.first().cloned()
    {
        return Err(ConfigError::Unsupported {
            label: first.label,
            reason: format!("{} (and no other case is left to run)", first.reason),
        });
    }
    Ok(Sweep {
        name: file.name.clone().unwrap_or_else(|| stem.to_string()),
        description: file.description.clone(),
        plan,
        cases,
        skipped,
    })
}

/// Keys that only the libp2p stack has: a bare-TCP case keeps their defaults, so that they do
/// not multiply its cases (the copies merge as identical cases).
pub const YAMUX_ONLY: &[Key] = &[
    Key::Security,
    Key::MaxWindow,
    Key::InitialWindow,
    Key::Autotune,
    Key::WindowAccounting,
    Key::MaxFrame,
];

fn build_case(a: &Assignment, peers: &PeerTable) -> Result<Case, ConfigError> {
    let mut a = a.clone();
    if a.get(&Key::Stack) == Some(&Typed::Stack(Stack::Tcp)) {
        for &key in YAMUX_ONLY {
            a.insert(key, key.default_value());
        }
    }
    let a = &a;
    let buffer = |key| match a.get(&key) {
        Some(Typed::Buffer(b)) => *b,
        _ => None,
    };
    let bytes = |key| match a.get(&key) {
        Some(Typed::Bytes(b)) => *b,
        _ => 0,
    };
    let count = |key| match a.get(&key) {
        Some(Typed::Count(n)) => *n,
        _ => 1,
    };
    let max_window = bytes(Key::MaxWindow);
    let config = CaseConfig {
        peer: match a.get(&Key::Peer) {
            Some(Typed::Peer(p)) => p.clone(),
            _ => OURS.into(),
        },
        rtt_ms: match a.get(&Key::Rtt) {
            Some(Typed::Ms(ms)) => *ms,
            _ => 0.0,
        },
        rate_bits_per_second: match a.get(&Key::Rate) {
            Some(Typed::Rate(r)) => *r,
            _ => None,
        },
        queue_bytes: bytes(Key::Queue),
        initial_window_bytes: match a.get(&Key::InitialWindow) {
            Some(Typed::SameAsMaxWindow) => max_window,
            _ => bytes(Key::InitialWindow),
        },
        max_window_bytes: max_window,
        autotune: !matches!(a.get(&Key::Autotune), Some(Typed::Bool(false))),
        window_accounting: match a.get(&Key::WindowAccounting) {
            Some(Typed::Accounting(acc)) => *acc,
            _ => WindowAccounting::Full,
        },
        max_frame_bytes: bytes(Key::MaxFrame),
        streams: count(Key::Streams),
        connections: count(Key::Connections),
        upload_bytes: bytes(Key::Upload),
        download_bytes: bytes(Key::Download),
        latency_rounds: match a.get(&Key::LatencyRounds) {
            Some(Typed::Rounds(r)) => *r,
            _ => None,
        },
        latency_mode: match a.get(&Key::LatencyMode) {
            Some(Typed::LatencyMode(m)) => *m,
            _ => LatencyMode::Perf,
        },
        stack: match a.get(&Key::Stack) {
            Some(Typed::Stack(s)) => *s,
            _ => Stack::Yamux,
        },
        security: match a.get(&Key::Security) {
            Some(Typed::Security(s)) => *s,
            _ => Security::Noise,
        },
        send_buffer_bytes: buffer(Key::SendBuffer),
        recv_buffer_bytes: buffer(Key::RecvBuffer),
    };
    let peer = peers.get(&config.peer)?.clone();
    case_from_config(config, peer)
}

/// A case from its config and peer (also used to re-run a case from its JSON): validates the
/// config and derives the id, label and notes.
pub fn case_from_config(config: CaseConfig, peer: PeerInfo) -> Result<Case, ConfigError> {
    let label = label(&config);
    validate(&config).map_err(|reason| ConfigError::Case {
        label: label.clone(),
        reason,
    })?;
    if peer.name != OURS && peer.command.is_empty() {
        return Err(ConfigError::Case {
            label,
            reason: format!("peer {} has no server command", peer.name),
        });
    }
    if let Some(reason) = unsupported(&config, &peer) {
        return Err(ConfigError::Unsupported { label, reason });
    }
    let mut notes = stack_notes(&config, &peer);
    if !peer.server_takes_yamux_options && config.stack == Stack::Yamux {
        notes.push(format!(
            "the {} server runs with its own yamux settings: initial_window, max_window, \
             autotune, window_accounting and max_frame apply to our client only",
            peer.name
        ));
    }
    if config.latency_rounds.is_some() && !peer.latency_client_args.is_empty() {
        notes.push(format!(
            "the latency run against {} adds client flags {:?}",
            peer.name,
            peer.latency_client_args.join(" ")
        ));
    }
    if !config.autotune {
        notes.push(format!(
            "auto-tuning off: the receive window stays at {}",
            ByteSize(config.initial_window_bytes)
        ));
    }
    if !config.needs_relay() {
        notes.push("no relay: the client dials the server directly on loopback".into());
    }
    Ok(Case {
        id: case_id(&config),
        label,
        config,
        peer,
        notes,
    })
}

/// Why `peer` cannot run `config`, if it cannot.
fn unsupported(config: &CaseConfig, peer: &PeerInfo) -> Option<String> {
    if peer.name == OURS {
        return None;
    }
    if config.stack == Stack::Tcp {
        return Some(format!(
            "stack tcp is our bare-TCP baseline, which only ours serves, not the {} peer",
            peer.name
        ));
    }
    if config.security == Security::Plaintext && peer.plaintext_args.is_empty() {
        return Some(format!(
            "the {} peer speaks Noise only (plaintext needs plaintext_args in [peers.{}])",
            peer.name, peer.name
        ));
    }
    None
}

/// `net.core.wmem_max` or `rmem_max` of this host: Linux caps SO_SNDBUF/SO_RCVBUF requests there.
fn buffer_cap(name: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Notes on the stack, security and socket buffers of a case.
fn stack_notes(c: &CaseConfig, peer: &PeerInfo) -> Vec<String> {
    let mut notes = Vec::new();
    if c.stack == Stack::Tcp {
        notes.push(
            "stack tcp: bare TCP, one connection per stream, without multistream-select, \
             security and yamux; the yamux settings and security are recorded at their defaults \
             and do not apply"
                .into(),
        );
    }
    if c.security == Security::Plaintext && peer.name != OURS {
        notes.push(format!(
            "plaintext: the {} server runs with {:?}",
            peer.name,
            peer.plaintext_args.join(" ")
        ));
    }
    for (what, bytes, cap) in [
        ("send_buffer", c.send_buffer_bytes, "wmem_max"),
        ("recv_buffer", c.recv_buffer_bytes, "rmem_max"),
    ] {
        let Some(bytes) = bytes else { continue };
        if peer.name != OURS {
            notes.push(format!(
                "{what} applies to our client only; the {} server keeps its own",
                peer.name
            ));
        }
        if let Some(max) = buffer_cap(cap).filter(|max| bytes > *max) {
            notes.push(format!(
                "{what} {} is above net.core.{cap} ({}) of this host: Linux caps it there",
                ByteSize(bytes),
                ByteSize(max)
            ));
        }
    }
    notes
}

/// Smallest yamux window (the spec's initial window).
const MIN_WINDOW: u64 = 256 << 10;

fn validate(c: &CaseConfig) -> Result<(), String> {
    let window = |what: &str, v: u64| {
        if !(MIN_WINDOW..=u64::from(u32::MAX)).contains(&v) {
            Err(format!(
                "{what} must be from 256KiB to 4GiB - 1 (yamux windows are 32-bit), got {}",
                ByteSize(v)
            ))
        } else {
            Ok(())
        }
    };
    window("initial_window", c.initial_window_bytes)?;
    window("max_window", c.max_window_bytes)?;
    if c.max_window_bytes < c.initial_window_bytes {
        return Err(format!(
            "max_window {} is below initial_window {}",
            ByteSize(c.max_window_bytes),
            ByteSize(c.initial_window_bytes)
        ));
    }
    if !(1 << 10..=16 << 20).contains(&c.max_frame_bytes) {
        return Err(format!(
            "max_frame must be from 1KiB to 16MiB, got {}",
            ByteSize(c.max_frame_bytes)
        ));
    }
    if c.upload_bytes == 0 && c.download_bytes == 0 {
        return Err("upload and download are both 0: nothing to measure".into());
    }
    if c.queue_bytes < 64 << 10 {
        return Err(format!(
            "queue must be at least 64KiB (the relay reads 64 KiB at a time), got {}",
            ByteSize(c.queue_bytes)
        ));
    }
    if c.rtt_ms.is_nan() || c.rtt_ms < 0.0 || c.rtt_ms > MAX_RTT_MS {
        return Err(format!("rtt must be from 0 to {MAX_RTT_MS} ms"));
    }
    if c.streams == 0 || c.connections == 0 {
        return Err("streams and connections must be at least 1".into());
    }
    Ok(())
}

/// `50ms`, `0.5ms`.
pub fn format_ms(ms: f64) -> String {
    if ms.fract() == 0.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{ms}ms")
    }
}

/// A case in one line: `ours rtt=50ms win=256KiB..16MiB auto acct=full frame=64KiB 1x1
/// up=64MiB down=64MiB`.
pub fn label(c: &CaseConfig) -> String {
    let mut text = format!("{} rtt={}", c.peer, format_ms(c.rtt_ms));
    if let Some(rate) = c.rate_bits_per_second {
        text += &format!(" rate={}", Rate(rate));
    }
    if c.queue_bytes != 4 << 20 {
        text += &format!(" queue={}", ByteSize(c.queue_bytes));
    }
    if c.stack == Stack::Tcp {
        text += " stack=tcp";
    } else if c.security == Security::Plaintext {
        text += " sec=plaintext";
    }
    if let Some(b) = c.send_buffer_bytes {
        text += &format!(" sndbuf={}", ByteSize(b));
    }
    if let Some(b) = c.recv_buffer_bytes {
        text += &format!(" rcvbuf={}", ByteSize(b));
    }
    if c.stack == Stack::Yamux {
        if c.autotune {
            text += &format!(
                " win={}..{} auto",
                ByteSize(c.initial_window_bytes),
                ByteSize(c.max_window_bytes)
            );
        } else {
            text += &format!(" win={} fixed", ByteSize(c.initial_window_bytes));
        }
        text += &format!(
            " acct={} frame={}",
            c.window_accounting.as_str(),
            ByteSize(c.max_frame_bytes)
        );
    }
    text += &format!(
        " {}sx{}c up={} down={}",
        c.streams,
        c.connections,
        ByteSize(c.upload_bytes),
        ByteSize(c.download_bytes)
    );
    if let Some(rounds) = c.latency_rounds {
        text += &format!(" lat={rounds}");
        if c.latency_mode == LatencyMode::Ping {
            text += " ping";
        }
    }
    text
}

/// JSON with object keys sorted at every level and no whitespace: the same config always gives
/// the same text, whatever the field order of the struct or serde_json's map features.
pub fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String(k.clone()),
                        canonical_json(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The case id: the first 12 hex digits (48 bits) of the SHA-256 of the config's canonical JSON.
pub fn case_id(config: &CaseConfig) -> String {
    let value = serde_json::to_value(config).expect("a plain struct serializes");
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical_json(&value).as_bytes());
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sweep, ConfigError> {
        let file: SweepFile = toml::from_str(text).map_err(|source| ConfigError::Toml {
            path: "inline.toml".into(),
            source,
        })?;
        expand(&file, "inline")
    }

    fn error(text: &str) -> String {
        crate::error_chain(&parse(text).expect_err("should be rejected"))
    }

    #[test]
    fn every_list_multiplies_and_scalars_apply_to_all() {
        let sweep = parse(
            r#"
            [matrix]
            rtt = ["0ms", "10ms", "50ms"]
            max_window = ["1MiB", "16MiB"]
            autotune = [true, false]
            upload = "1MiB"
            download = 1048576
            "#,
        )
        .unwrap();
        assert_eq!(sweep.cases.len(), 12);
        assert_eq!(sweep.name, "inline");
        assert!(sweep.cases.iter().all(|c| c.config.upload_bytes == 1 << 20
            && c.config.download_bytes == 1 << 20
            && c.config.peer == "ours"));
        // First key outermost: rtt changes slowest, autotune fastest.
        let first: Vec<_> = sweep.cases[..4]
            .iter()
            .map(|c| {
                (
                    c.config.rtt_ms,
                    c.config.max_window_bytes,
                    c.config.autotune,
                )
            })
            .collect();
        assert_eq!(
            first,
            [
                (0.0, 1 << 20, true),
                (0.0, 1 << 20, false),
                (0.0, 16 << 20, true),
                (0.0, 16 << 20, false)
            ]
        );
        assert_eq!(sweep.plan.repetitions, DEFAULT_REPETITIONS);
    }

    #[test]
    fn case_ids_are_stable_and_depend_only_on_the_config() {
        let a = parse("[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"").unwrap();
        let b = parse(
            "repetitions = 7\nwarmup = 2\n[matrix]\nrtt = \"50ms\"\nupload = \"1024KiB\"\npeer = \"ours\"",
        )
        .unwrap();
        assert_eq!(a.cases[0].id, b.cases[0].id, "same config, same id");
        assert_eq!(a.cases[0].id.len(), 12);
        assert!(a.cases[0].id.chars().all(|c| c.is_ascii_hexdigit()));
        // Pinned: changing the hash or the canonical form would orphan every committed result.
        assert_eq!(
            canonical_json(&serde_json::to_value(&a.cases[0].config).unwrap()),
            r#"{"autotune":true,"connections":1,"download_bytes":0,"initial_window_bytes":262144,"max_frame_bytes":65536,"max_window_bytes":16777216,"peer":"ours","queue_bytes":4194304,"rtt_ms":50.0,"streams":1,"upload_bytes":1048576,"window_accounting":"full"}"#
        );
        assert_eq!(a.cases[0].id, "740d21ba93b2");
        let c = parse("[matrix]\nupload = \"1MiB\"\nrtt = \"51ms\"").unwrap();
        assert_ne!(a.cases[0].id, c.cases[0].id);
    }

    #[test]
    fn overrides_excludes_and_max_window_initial() {
        let sweep = parse(
            r#"
            [matrix]
            rtt = ["0ms", "100ms"]
            max_window = ["256KiB", "4MiB"]
            autotune = [true, false]
            window_accounting = ["full", "go"]
            upload = "64MiB"

            [[override]]
            when = { rtt = "100ms", max_window = ["256KiB"] }
            set = { upload = "4MiB" }

            [[override]]
            when = { autotune = false }
            set = { initial_window = "max_window" }

            [[exclude]]
            autotune = false
            window_accounting = "go"
            "#,
        )
        .unwrap();
        assert_eq!(sweep.cases.len(), 2 * 2 * 3);
        for c in &sweep.cases {
            let slow = c.config.rtt_ms == 100.0 && c.config.max_window_bytes == 256 << 10;
            assert_eq!(c.config.upload_bytes, if slow { 4 << 20 } else { 64 << 20 });
            if !c.config.autotune {
                assert_eq!(c.config.initial_window_bytes, c.config.max_window_bytes);
                assert_eq!(c.config.window_accounting, WindowAccounting::Full);
                assert!(c.label.contains("fixed"), "{}", c.label);
            }
        }
    }

    #[test]
    fn identical_cases_are_merged() {
        let sweep = parse("[matrix]\nupload = [\"1MiB\", \"1024KiB\"]").unwrap();
        assert_eq!(sweep.cases.len(), 1);
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_key_named() {
        let e = error("[matrix]\nrtts = [\"0ms\"]\nupload = \"1MiB\"");
        assert!(e.contains("unknown field `rtts`"), "{e}");
        assert!(e.contains("`rtt`"), "lists the valid keys: {e}");
        let e = error("repetition = 3\n[matrix]\nupload = \"1MiB\"");
        assert!(e.contains("unknown field `repetition`"), "{e}");
        let e = error(
            "[matrix]\nupload = \"1MiB\"\n[[override]]\nwhen = {}\nset = { uplaod = \"1MiB\" }",
        );
        assert!(e.contains("unknown field `uplaod`"), "{e}");
        let e = error("[matrix]\nupload = \"1MiB\"\n[peers.go]\ncmd = [\"x\"]");
        assert!(e.contains("unknown field `cmd`"), "{e}");
    }

    #[test]
    fn bad_values_are_rejected_with_a_reason() {
        for (text, expected) in [
            ("rtt = \"50 parsecs\"", "matrix.rtt"),
            ("rtt = 50", "expected a duration"),
            ("rate = \"fast\"", "matrix.rate"),
            ("max_window = \"8GiB\"", "32-bit"),
            ("max_window = \"128KiB\"", "from 256KiB"),
            (
                "initial_window = \"1MiB\"\nmax_window = \"512KiB\"",
                "below initial_window",
            ),
            ("max_frame = \"100\"", "max_frame must be"),
            ("streams = 0", "from 1 to 1024"),
            ("autotune = \"yes\"", "true or false"),
            ("window_accounting = \"rust\"", "\"full\" or \"go\""),
            ("peer = \"nim\"", "unknown peer \"nim\""),
            ("rtt = []", "empty list"),
            ("upload = -1", "negative"),
            ("queue = \"1KiB\"", "at least 64KiB"),
        ] {
            let body = if text.contains("upload") {
                format!("[matrix]\n{text}")
            } else {
                format!("[matrix]\nupload = \"1MiB\"\n{text}")
            };
            let e = error(&body);
            assert!(e.contains(expected), "{text}: {e}");
        }
        assert!(error("[matrix]\nrtt = \"0ms\"").contains("nothing to measure"));
        assert!(error("repetitions = 0\n[matrix]\nupload = 1").contains("repetitions"));
        assert!(error("timeout = \"soon\"\n[matrix]\nupload = 1").contains("timeout"));
        let e = error(
            "[matrix]\nupload = 1\n[[override]]\nwhen = {}\nset = { rtt = [\"0ms\", \"1ms\"] }",
        );
        assert!(e.contains("one value"), "{e}");
    }

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
        let e = case_from_config(go.config.clone(), peer).unwrap_err();
        assert!(crate::error_chain(&e).contains("no server command"), "{e}");
    }

    #[test]
    fn tcp_cases_do_not_multiply_yamux_axes() {
        let sweep = parse(
            r#"
            [matrix]
            stack = ["tcp", "yamux"]
            security = ["noise", "plaintext"]
            max_window = ["1MiB", "16MiB"]
            autotune = [true, false]
            max_frame = ["16KiB", "64KiB"]
            upload = "1MiB"
            "#,
        )
        .unwrap();
        let (tcp, yamux): (Vec<_>, Vec<_>) = sweep
            .cases
            .iter()
            .partition(|c| c.config.stack == Stack::Tcp);
        assert_eq!(
            tcp.len(),
            1,
            "security and the yamux keys merge into one tcp case"
        );
        assert_eq!(yamux.len(), 2 * 2 * 2 * 2);
        let t = &tcp[0].config;
        assert_eq!(
            (
                t.security,
                t.max_window_bytes,
                t.autotune,
                t.max_frame_bytes
            ),
            (Security::Noise, 16 << 20, true, 64 << 10),
            "kept at their defaults"
        );
        assert_eq!(tcp[0].label, "ours rtt=0ms stack=tcp 1sx1c up=1MiB down=0B");
        assert!(tcp[0].notes.iter().any(|n| n.contains("do not apply")));
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(json["stack"], "tcp");
        assert!(json.get("security").is_none());
        let plain = yamux
            .iter()
            .find(|c| c.config.security == Security::Plaintext)
            .unwrap();
        assert!(plain.label.contains(" sec=plaintext "), "{}", plain.label);
        let json = serde_json::to_value(&plain.config).unwrap();
        assert_eq!(json["security"], "plaintext");
        assert!(json.get("stack").is_none());
        // The defaults, written out, give the ids of configs without the keys.
        let explicit = parse(
            "[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nstack = \"yamux\"\nsecurity = \"noise\"\nsend_buffer = \"auto\"",
        )
        .unwrap();
        assert_eq!(explicit.cases[0].id, "740d21ba93b2");
    }

    #[test]
    fn latency_mode_picks_the_latency_run_and_keeps_old_ids() {
        let sweep = parse(
            "[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nlatency_rounds = 10\nlatency_mode = [\"perf\", \"ping\"]",
        )
        .unwrap();
        let (perf, ping) = (&sweep.cases[0], &sweep.cases[1]);
        assert_eq!(perf.config.latency_mode, LatencyMode::Perf);
        assert_eq!(ping.config.latency_mode, LatencyMode::Ping);
        assert!(perf.label.ends_with(" lat=10"), "{}", perf.label);
        assert!(ping.label.ends_with(" lat=10 ping"), "{}", ping.label);
        assert!(
            serde_json::to_value(&perf.config)
                .unwrap()
                .get("latency_mode")
                .is_none()
        );
        assert_eq!(
            serde_json::to_value(&ping.config).unwrap()["latency_mode"],
            "ping"
        );
        let without =
            parse("[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nlatency_rounds = 10").unwrap();
        assert_eq!(
            without.cases[0].id, perf.id,
            "perf is the default and leaves the id alone"
        );
        assert_ne!(ping.id, perf.id);
        assert!(error("[matrix]\nlatency_mode = \"echo\"").contains("\"perf\" or \"ping\""));
    }

    #[test]
    fn socket_buffers_are_sizes_or_auto() {
        let sweep = parse(
            "[matrix]\nupload = 1\nsend_buffer = [\"auto\", \"256KiB\"]\nrecv_buffer = 65536",
        )
        .unwrap();
        let buffers: Vec<_> = sweep
            .cases
            .iter()
            .map(|c| (c.config.send_buffer_bytes, c.config.recv_buffer_bytes))
            .collect();
        assert_eq!(
            buffers,
            [(None, Some(65536)), (Some(256 << 10), Some(65536))]
        );
        assert!(
            sweep.cases[1]
                .label
                .contains(" sndbuf=256KiB rcvbuf=64KiB ")
        );
        let json = serde_json::to_value(&sweep.cases[1].config).unwrap();
        assert_eq!(json["send_buffer_bytes"], 256 << 10);
    }

    #[test]
    fn bad_stack_security_and_buffer_values_are_typed_errors() {
        for (text, key, expected) in [
            ("stack = \"quic\"", "matrix.stack", "\"yamux\" or \"tcp\""),
            (
                "security = \"tls\"",
                "matrix.security",
                "\"noise\" or \"plaintext\"",
            ),
            (
                "security = true",
                "matrix.security",
                "\"noise\" or \"plaintext\"",
            ),
            (
                "send_buffer = \"1KiB\"",
                "matrix.send_buffer",
                "from 4KiB to 1GiB",
            ),
            (
                "recv_buffer = \"2GiB\"",
                "matrix.recv_buffer",
                "from 4KiB to 1GiB",
            ),
            ("recv_buffer = \"lots\"", "matrix.recv_buffer", ""),
        ] {
            let e = parse(&format!("[matrix]\nupload = 1\n{text}")).unwrap_err();
            match &e {
                ConfigError::Value { key: k, reason, .. } => {
                    assert_eq!(k, key, "{text}");
                    assert!(reason.contains(expected), "{text}: {reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn combinations_a_peer_cannot_run_are_skipped_with_a_reason() {
        let sweep = parse(
            r#"
            [matrix]
            peer = ["ours", "go", "rust"]
            stack = ["tcp", "yamux"]
            security = ["noise", "plaintext"]
            upload = "1MiB"
            "#,
        )
        .unwrap();
        let labels: Vec<&str> = sweep.cases.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels.len(), 3 + 2 + 1, "{labels:#?}");
        assert!(
            sweep
                .cases
                .iter()
                .all(|c| c.config.peer == OURS || c.config.stack == Stack::Yamux)
        );
        let go_plain = sweep
            .cases
            .iter()
            .find(|c| c.config.peer == "go" && c.config.security == Security::Plaintext)
            .expect("go speaks plaintext");
        assert_eq!(go_plain.peer.plaintext_args, ["--security", "plaintext"]);
        let rust = &sweep
            .cases
            .iter()
            .find(|c| c.config.peer == "rust")
            .unwrap();
        assert_eq!(rust.config.security, Security::Noise);
        let reasons: Vec<&str> = sweep.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            sweep.skipped.len(),
            3,
            "go tcp, rust tcp, rust plaintext: {reasons:?}"
        );
        assert!(sweep.skipped[0].reason.contains("only ours serves"));
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("rust peer speaks Noise only"))
        );
        // Nothing left to run: a typed error, not an empty sweep.
        let e =
            parse("[matrix]\npeer = \"rust\"\nsecurity = \"plaintext\"\nupload = 1").unwrap_err();
        assert!(
            matches!(&e, ConfigError::Unsupported { reason, .. } if reason.contains("Noise only")),
            "{e:?}"
        );
        // A hand-written peer opts in with its flags.
        let sweep = parse(
            "[matrix]\npeer = \"lab\"\nsecurity = \"plaintext\"\nupload = 1\n[peers.lab]\ncommand = [\"lab\"]\nplaintext_args = [\"--insecure\"]",
        )
        .unwrap();
        assert_eq!(sweep.cases[0].peer.plaintext_args, ["--insecure"]);
        // A re-run from a case JSON is checked too.
        let mut config = sweep.cases[0].config.clone();
        config.stack = Stack::Tcp;
        let e = case_from_config(config, sweep.cases[0].peer.clone()).unwrap_err();
        assert!(matches!(e, ConfigError::Unsupported { .. }), "{e:?}");
    }

    #[test]
    fn committed_bench_configs_expand() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("bench-configs/ exists") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let sweep = load(&path)
                    .unwrap_or_else(|e| panic!("{}: {}", path.display(), crate::error_chain(&e)));
                assert!(!sweep.cases.is_empty(), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 4, "smoke, window-autotune, frame-caps, go-vs-ours");
    }
}
