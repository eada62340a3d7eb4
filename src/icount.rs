//! Instruction counts of fixed in-memory workloads, counted under Valgrind (callgrind) by the
//! gungraun benches in `benches/icount.rs`, and the result file `compare` reads.
//!
//! The workloads ([`WORKLOADS`]) are defined once here, with the unit their count is divided by
//! (bytes moved or operations done), so that the bench and the converter agree on it. The bench
//! runs each workload once under callgrind (single thread, fixed keys and seeds: the count
//! repeats to the instruction); `yamux-perf icount --from target/gungraun --out FILE` reads
//! gungraun's `summary.json` files (`--save-summary=json`) into an [`IcountFile`]: per workload
//! the instructions of each repetition, and the revision and machine like every other result.
//! `yamux-perf compare OLD.json NEW.json --threshold 1%` then compares `instructions_per_byte` /
//! `instructions_per_op` (see `docs/icount.md`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::results::{GitRevision, Machine};

/// Schema version of [`IcountFile`].
pub const SCHEMA_VERSION: u32 = 1;

/// What a workload's count is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Payload bytes moved from one application to the other.
    Byte,
    /// Operations (a frame header coded, a stream opened and closed, a handshake).
    Op,
}

/// One fixed workload of the instruction-count bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Its name: the bench function's name in `benches/icount.rs` and the case id in `compare`.
    pub id: &'static str,
    /// What it does.
    pub label: &'static str,
    /// What the count is divided by.
    pub unit: Unit,
    /// How many units one run does.
    pub units: u64,
}

/// Bytes each session workload moves.
pub const SESSION_BYTES: u64 = 64 << 20;

/// The workloads, in report order.
pub const WORKLOADS: [Workload; 7] = [
    Workload {
        id: "frame_codec",
        label: "yamux frame header encode + decode, 100000 headers",
        unit: Unit::Op,
        units: 100_000,
    },
    Workload {
        id: "session_plain",
        label: "session pair, 64 MiB one way, no security layer",
        unit: Unit::Byte,
        units: SESSION_BYTES,
    },
    Workload {
        id: "session_noise",
        label: "session pair, 64 MiB one way through Noise's transport cipher",
        unit: Unit::Byte,
        units: SESSION_BYTES,
    },
    Workload {
        id: "session_tls",
        label: "session pair, 64 MiB one way through the TLS 1.3 record layer (AES-128-GCM)",
        unit: Unit::Byte,
        units: SESSION_BYTES,
    },
    Workload {
        id: "streams_open_close",
        label: "10000 streams opened and closed both ways",
        unit: Unit::Op,
        units: 10_000,
    },
    Workload {
        id: "multistream_select",
        label: "multistream-select negotiation (proposal, echo, echo check), 1000 times",
        unit: Unit::Op,
        units: 1_000,
    },
    Workload {
        id: "noise_handshake",
        label: "Noise XX handshake with libp2p payloads, both sides, 10 times",
        unit: Unit::Op,
        units: 10,
    },
];

/// The workload named `id`.
pub fn workload(id: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.id == id)
}

/// What made the counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcountMeta {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The counting harness and tool, e.g. `gungraun (callgrind)`.
    pub tool: String,
    /// The summary files read, each once.
    pub sources: Vec<String>,
}

/// One workload's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadCount {
    /// [`Workload::id`].
    pub id: String,
    /// [`Workload::label`].
    pub label: String,
    /// [`Workload::unit`].
    pub unit: Unit,
    /// [`Workload::units`].
    pub units: u64,
    /// Instructions executed (callgrind's `Ir`) of each repetition.
    pub instructions: Vec<u64>,
}

impl WorkloadCount {
    /// Instructions per unit of each repetition.
    pub fn per_unit(&self) -> impl Iterator<Item = f64> + '_ {
        let units = self.units.max(1) as f64;
        self.instructions.iter().map(move |&i| i as f64 / units)
    }
}

/// The result file of `yamux-perf icount`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcountFile {
    /// How the counts were made.
    pub icount: IcountMeta,
    /// Revision of yamux-perf that converted them (built from the same tree as the bench).
    pub git: Option<GitRevision>,
    /// The machine.
    pub machine: Machine,
    /// The `yamux-perf icount` command line that wrote the file.
    pub command: Vec<String>,
    /// Per workload, in [`WORKLOADS`] order.
    pub workloads: Vec<WorkloadCount>,
}

/// Why gungraun's output could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IcountError {
    /// A directory or file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// What was read.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A `summary.json` is not JSON.
    #[error("{path}: not JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's message.
        source: serde_json::Error,
    },
    /// A `summary.json` lacks a field this reader needs.
    #[error("{path}: not a gungraun summary with a callgrind Ir total ({what} missing)")]
    Schema {
        /// The file.
        path: PathBuf,
        /// The missing field.
        what: &'static str,
    },
    /// A benchmark that is no workload of [`WORKLOADS`].
    #[error("{path}: benchmark {name:?} is not an instruction-count workload (known: {known})",
        known = WORKLOADS.map(|w| w.id).join(", "))]
    UnknownWorkload {
        /// The file.
        path: PathBuf,
        /// The benchmark's function name.
        name: String,
    },
    /// No `summary.json` under the directories given.
    #[error(
        "no gungraun summary.json under {0} (run the bench with --save-summary=json, or \
         GUNGRAUN_SAVE_SUMMARY=json)"
    )]
    NoSummaries(String),
}

/// Every `summary.json` below `dir`, sorted by path.
fn summaries(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IcountError> {
    let io = |source| IcountError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            summaries(&path, out)?;
        } else if path.file_name().is_some_and(|n| n == "summary.json") {
            out.push(path);
        }
    }
    Ok(())
}

/// The benchmark's function name and its callgrind `Ir` total from one gungraun summary
/// (summary schema version 7, gungraun 0.20: `profiles[tool = "Callgrind"].data.total.metrics
/// .Ir.values.new`, this run's count; `old` would be the previous run's).
pub fn read_summary(path: &Path) -> Result<(String, u64), IcountError> {
    let text = std::fs::read_to_string(path).map_err(|source| IcountError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| IcountError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let missing = |what| IcountError::Schema {
        path: path.to_path_buf(),
        what,
    };
    let name = value
        .get("function_name")
        .and_then(|v| v.as_str())
        .ok_or(missing("function_name"))?
        .to_string();
    let ir = value
        .get("profiles")
        .and_then(|p| p.as_array())
        .and_then(|p| {
            p.iter()
                .find(|p| p.get("tool").and_then(|t| t.as_str()) == Some("Callgrind"))
        })
        .ok_or(missing("profiles[tool = Callgrind]"))?
        .pointer("/data/total/metrics/Ir/values/new")
        .and_then(|v| v.as_u64())
        .ok_or(missing("data.total.metrics.Ir.values.new"))?;
    Ok((name, ir))
}

/// Reads every gungraun `summary.json` under each of `dirs` (one directory per repetition of
/// the bench: a copy of `target/gungraun` after each run) into an [`IcountFile`].
/// `command` is the command line to record.
pub fn from_gungraun(dirs: &[PathBuf], command: Vec<String>) -> Result<IcountFile, IcountError> {
    let mut workloads: Vec<WorkloadCount> = Vec::new();
    let mut sources = Vec::new();
    for dir in dirs {
        let mut files = Vec::new();
        summaries(dir, &mut files)?;
        for path in files {
            let (name, ir) = read_summary(&path)?;
            let w = workload(&name).ok_or_else(|| IcountError::UnknownWorkload {
                path: path.clone(),
                name: name.clone(),
            })?;
            match workloads.iter_mut().find(|c| c.id == w.id) {
                Some(c) => c.instructions.push(ir),
                None => workloads.push(WorkloadCount {
                    id: w.id.into(),
                    label: w.label.into(),
                    unit: w.unit,
                    units: w.units,
                    instructions: vec![ir],
                }),
            }
            sources.push(path.display().to_string());
        }
    }
    if workloads.is_empty() {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(IcountError::NoSummaries(names.join(", ")));
    }
    workloads.sort_by_key(|c| WORKLOADS.iter().position(|w| w.id == c.id));
    Ok(IcountFile {
        icount: IcountMeta {
            schema_version: SCHEMA_VERSION,
            tool: "gungraun (callgrind)".into(),
            sources,
        },
        git: crate::build_info::git_revision(),
        machine: crate::sweep::host::machine(),
        command,
        workloads,
    })
}
