//! Comparison of two result sets (`yamux-perf compare BASELINE CURRENT`): per case and metric,
//! the baseline median, the current median, their ratio and a verdict. Reads result files only;
//! it never runs a benchmark.
//!
//! # Inputs and matching
//!
//! Both sides are sweep results (a directory, a `summary.json` or a case JSON) or both are
//! interop JSONs, see [`input`]. Cases are matched by id first. A case id is a hash of its
//! config, so it changes whenever the hash recipe or the config schema does even though the
//! case measures the same thing; cases left over are then matched by equal parameters (the whole
//! config as JSON), and last by equal label. Each row says how it was matched ([`MatchedBy`]).
//! Interop cases are the (client, server) pairs, with id `client->server`.
//!
//! # Metrics
//!
//! [`Metric`]: upload and download goodput (bigger is better); CPU seconds per byte moved, client
//! and server (the run's CPU over `(upload + download) · streams · connections`), peak RSS of
//! client and server, and the latency run's p50 and p99 (smaller is better). Interop results
//! carry goodput only.
//!
//! # The verdict rule
//!
//! Let `worse` be how many times worse the current median is than the baseline median
//! (`baseline / current` for bigger-is-better metrics, `current / baseline` for
//! smaller-is-better ones) and `t` the threshold (`--threshold 5%` is `t = 0.05`).
//!
//! - **regressed**: `worse > 1 + t` **and** the repetitions do not overlap: every current
//!   repetition is worse than every baseline repetition (for goodput, current max < baseline
//!   min).
//! - **improved**: `worse < 1 / (1 + t)` and every current repetition is better than every
//!   baseline repetition.
//! - **unchanged**: anything else; a change past the threshold whose ranges overlap is noted as
//!   "inside the spread".
//! - **missing**: the metric (or the whole case) is on one side only.
//!
//! The rule is symmetric in ratio: `--threshold 100%` flags a halving of goodput and a doubling of
//! CPU alike. With one repetition per side the ranges are single points, so only the threshold
//! decides; the latency percentiles come from one latency run and are single points too.

pub mod input;
pub mod render;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::icount::{IcountFile, Unit};
use crate::interop::{Direction as Way, InteropFile, Layers};
use crate::results::{GitRevision, Machine, Spread, SummaryRow};
pub use input::{Input, InputError, SweepInput};

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A side could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// One side is a sweep, the other interop results.
    #[error("cannot compare {baseline} results with {current} results")]
    KindMismatch {
        /// Kind of the baseline.
        baseline: &'static str,
        /// Kind of the current side.
        current: &'static str,
    },
    /// No case of one side matches a case of the other.
    #[error("no case of the current results matches a baseline case (different sweeps?)")]
    NothingInCommon,
}

/// A `--threshold` that is not a percentage or fraction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad threshold {0:?}: expected a percentage such as 5% or a fraction such as 0.05, >= 0")]
pub struct ThresholdError(pub String);

/// The `--threshold` of `compare` and `dashboard` when none is given.
pub const DEFAULT_THRESHOLD: &str = "5%";

/// The relative change a verdict needs, as a fraction (`5%` is `0.05`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold(pub f64);

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ThresholdError(s.to_string());
        let t = s.trim();
        let value = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
            None => t.parse::<f64>().map_err(|_| bad())?,
        };
        if value.is_finite() && value >= 0.0 {
            Ok(Threshold(value))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Goodput.
    Bigger,
    /// CPU, memory, latency.
    Smaller,
}

/// A quantity compared per case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Upload goodput, Gbit/s.
    UploadGbitS,
    /// Download goodput, Gbit/s.
    DownloadGbitS,
    /// Client CPU per byte moved, ns/B.
    ClientCpuNsPerByte,
    /// Server CPU per byte moved, ns/B.
    ServerCpuNsPerByte,
    /// Client peak RSS, bytes.
    ClientPeakRssBytes,
    /// Server peak RSS, bytes.
    ServerPeakRssBytes,
    /// Median 1-byte round trip of the latency run, ms.
    LatencyP50Ms,
    /// 99th percentile of the same, ms.
    LatencyP99Ms,
    /// Muxer-added latency under load (`probe`), loaded p50 of the same-connection probe minus
    /// the control's, ms.
    MuxerAddedP50Ms,
    /// The same at p99, ms.
    MuxerAddedP99Ms,
    /// Jain's fairness index over the streams' goodput (`--streams N`, N ≥ 2).
    JainOverall,
    /// The lowest per-interval Jain's index after the first interval.
    JainMinAfterFirst,
    /// Short-flow completion time p50 (`short_flows`), ms.
    ShortFctP50Ms,
    /// The same at p99, ms.
    ShortFctP99Ms,
    /// Instructions per payload byte of an instruction-count workload ([`crate::icount`]).
    InstructionsPerByte,
    /// Instructions per operation of an instruction-count workload.
    InstructionsPerOp,
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 16] = [
        Metric::UploadGbitS,
        Metric::DownloadGbitS,
        Metric::ClientCpuNsPerByte,
        Metric::ServerCpuNsPerByte,
        Metric::ClientPeakRssBytes,
        Metric::ServerPeakRssBytes,
        Metric::LatencyP50Ms,
        Metric::LatencyP99Ms,
        Metric::MuxerAddedP50Ms,
        Metric::MuxerAddedP99Ms,
        Metric::JainOverall,
        Metric::JainMinAfterFirst,
        Metric::ShortFctP50Ms,
        Metric::ShortFctP99Ms,
        Metric::InstructionsPerByte,
        Metric::InstructionsPerOp,
    ];

    /// The name used on the command line and in JSON.
    pub fn key(self) -> &'static str {
        match self {
            Metric::UploadGbitS => "upload_gbit_s",
            Metric::DownloadGbitS => "download_gbit_s",
            Metric::ClientCpuNsPerByte => "client_cpu_ns_per_byte",
            Metric::ServerCpuNsPerByte => "server_cpu_ns_per_byte",
            Metric::ClientPeakRssBytes => "client_peak_rss_bytes",
            Metric::ServerPeakRssBytes => "server_peak_rss_bytes",
            Metric::LatencyP50Ms => "latency_p50_ms",
            Metric::LatencyP99Ms => "latency_p99_ms",
            Metric::MuxerAddedP50Ms => "muxer_added_p50_ms",
            Metric::MuxerAddedP99Ms => "muxer_added_p99_ms",
            Metric::JainOverall => "jain_overall",
            Metric::JainMinAfterFirst => "jain_min_after_first",
            Metric::ShortFctP50Ms => "short_fct_p50_ms",
            Metric::ShortFctP99Ms => "short_fct_p99_ms",
            Metric::InstructionsPerByte => "instructions_per_byte",
            Metric::InstructionsPerOp => "instructions_per_op",
        }
    }

    /// A short human name.
    pub fn title(self) -> &'static str {
        match self {
            Metric::UploadGbitS => "upload",
            Metric::DownloadGbitS => "download",
            Metric::ClientCpuNsPerByte => "client CPU/byte",
            Metric::ServerCpuNsPerByte => "server CPU/byte",
            Metric::ClientPeakRssBytes => "client peak RSS",
            Metric::ServerPeakRssBytes => "server peak RSS",
            Metric::LatencyP50Ms => "latency p50",
            Metric::LatencyP99Ms => "latency p99",
            Metric::MuxerAddedP50Ms => "muxer-added p50",
            Metric::MuxerAddedP99Ms => "muxer-added p99",
            Metric::JainOverall => "Jain's index",
            Metric::JainMinAfterFirst => "Jain's index, min interval",
            Metric::ShortFctP50Ms => "short-flow FCT p50",
            Metric::ShortFctP99Ms => "short-flow FCT p99",
            Metric::InstructionsPerByte => "instructions/byte",
            Metric::InstructionsPerOp => "instructions/op",
        }
    }

    /// Unit of the values.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::UploadGbitS | Metric::DownloadGbitS => "Gbit/s",
            Metric::ClientCpuNsPerByte | Metric::ServerCpuNsPerByte => "ns/B",
            Metric::ClientPeakRssBytes | Metric::ServerPeakRssBytes => "bytes",
            Metric::LatencyP50Ms
            | Metric::LatencyP99Ms
            | Metric::MuxerAddedP50Ms
            | Metric::MuxerAddedP99Ms
            | Metric::ShortFctP50Ms
            | Metric::ShortFctP99Ms => "ms",
            Metric::JainOverall | Metric::JainMinAfterFirst => "index",
            Metric::InstructionsPerByte => "instr/B",
            Metric::InstructionsPerOp => "instr/op",
        }
    }

    /// Which way is better.
    pub fn better(self) -> Better {
        match self {
            Metric::UploadGbitS
            | Metric::DownloadGbitS
            | Metric::JainOverall
            | Metric::JainMinAfterFirst => Better::Bigger,
            _ => Better::Smaller,
        }
    }
}

/// A `--metrics` entry that names no metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric {0:?} (known: {known})", known = Metric::ALL.map(Metric::key).join(", "))]
pub struct MetricError(pub String);

impl FromStr for Metric {
    type Err = MetricError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.key() == s.trim())
            .ok_or_else(|| MetricError(s.to_string()))
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One case's metrics, from either kind of input.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMetrics {
    /// Case id (`client->server` for interop pairs).
    pub id: String,
    /// Human-readable description.
    pub label: String,
    /// The parameters the case is matched by when ids differ.
    pub params: serde_json::Value,
    /// Median and spread per metric.
    pub metrics: BTreeMap<Metric, Spread>,
}

/// `s` with every value multiplied by `k > 0`.
pub fn scale(s: &Spread, k: f64) -> Spread {
    Spread {
        n: s.n,
        median: s.median * k,
        min: s.min * k,
        max: s.max * k,
        p25: s.p25 * k,
        p75: s.p75 * k,
    }
}

/// The metrics of a sweep's summary row.
pub fn sweep_case_metrics(row: &SummaryRow) -> CaseMetrics {
    let c = &row.config;
    let mut metrics = BTreeMap::new();
    let mut put = |m: Metric, s: Option<Spread>| {
        if let Some(s) = s {
            metrics.insert(m, s);
        }
    };
    put(Metric::UploadGbitS, row.upload_gbit_s.clone());
    put(Metric::DownloadGbitS, row.download_gbit_s.clone());
    let bytes = (c.upload_bytes + c.download_bytes) as f64
        * f64::from(c.streams)
        * f64::from(c.connections);
    if bytes > 0.0 {
        let per_byte = |s: &Option<Spread>| s.as_ref().map(|s| scale(s, 1e9 / bytes));
        put(Metric::ClientCpuNsPerByte, per_byte(&row.client_cpu_s));
        put(Metric::ServerCpuNsPerByte, per_byte(&row.server_cpu_s));
    }
    put(
        Metric::ClientPeakRssBytes,
        row.client_peak_rss_bytes.clone(),
    );
    put(
        Metric::ServerPeakRssBytes,
        row.server_peak_rss_bytes.clone(),
    );
    if let Some(h) = row.latency_ms.as_ref().filter(|h| h.count > 0) {
        put(Metric::LatencyP50Ms, Spread::of([h.p50]));
        put(Metric::LatencyP99Ms, Spread::of([h.p99]));
    }
    put(Metric::MuxerAddedP50Ms, row.muxer_added_p50_ms.clone());
    put(Metric::MuxerAddedP99Ms, row.muxer_added_p99_ms.clone());
    put(Metric::JainOverall, row.jain_overall.clone());
    put(Metric::JainMinAfterFirst, row.jain_min_after_first.clone());
    put(Metric::ShortFctP50Ms, row.short_fct_p50_ms.clone());
    put(Metric::ShortFctP99Ms, row.short_fct_p99_ms.clone());
    CaseMetrics {
        id: row.id.clone(),
        label: row.label.clone(),
        params: serde_json::to_value(c).unwrap_or(serde_json::Value::Null),
        metrics,
    }
}

/// The metrics of an interop file: one case per (client, server, layers), goodput in Gbit/s
/// over its successful runs. TCP + Noise cases keep the ids they had before the layers were
/// recorded (`client->server`); others add them (`client->server@ws+tls`).
pub fn interop_case_metrics(file: &InteropFile) -> Vec<CaseMetrics> {
    let mut cases: Vec<(String, String, Layers)> = Vec::new();
    for row in &file.table {
        let case = (row.client.clone(), row.server.clone(), row.layers());
        if !cases.contains(&case) {
            cases.push(case);
        }
    }
    cases
        .into_iter()
        .map(|(client, server, layers)| {
            let spread = |way: Way| {
                Spread::of(
                    file.runs
                        .iter()
                        .filter(|r| r.is_of(&client, &server, layers, way))
                        .filter_map(|r| r.bits_per_second.map(|b| b / 1e9)),
                )
            };
            let mut metrics = BTreeMap::new();
            for (metric, way) in [
                (Metric::UploadGbitS, Way::Upload),
                (Metric::DownloadGbitS, Way::Download),
            ] {
                if let Some(s) = spread(way) {
                    metrics.insert(metric, s);
                }
            }
            let size = crate::units::ByteSize(file.bytes);
            let (id, label, params) = if layers.is_default() {
                (
                    format!("{client}->{server}"),
                    format!("{client} client -> {server} server, {size}"),
                    serde_json::json!({"client": client, "server": server, "bytes": file.bytes}),
                )
            } else {
                (
                    format!(
                        "{client}->{server}@{}+{}",
                        layers.transport, layers.security
                    ),
                    format!("{client} client -> {server} server, {layers}, {size}"),
                    serde_json::json!({
                        "client": client,
                        "server": server,
                        "transport": layers.transport,
                        "security": layers.security,
                        "bytes": file.bytes,
                    }),
                )
            };
            CaseMetrics {
                id,
                label,
                params,
                metrics,
            }
        })
        .collect()
}

/// The metrics of an instruction-count file: one case per workload (its id), instructions per
/// byte or per operation, one value per repetition.
pub fn icount_case_metrics(file: &IcountFile) -> Vec<CaseMetrics> {
    file.workloads
        .iter()
        .map(|w| {
            let metric = match w.unit {
                Unit::Byte => Metric::InstructionsPerByte,
                Unit::Op => Metric::InstructionsPerOp,
            };
            let mut metrics = BTreeMap::new();
            if let Some(s) = Spread::of(w.per_unit()) {
                metrics.insert(metric, s);
            }
            CaseMetrics {
                id: w.id.clone(),
                label: w.label.clone(),
                params: serde_json::json!({"workload": w.id, "unit": w.unit, "units": w.units}),
                metrics,
            }
        })
        .collect()
}

/// The cases of an input.
pub fn case_metrics(input: &Input) -> Vec<CaseMetrics> {
    match input {
        Input::Sweep(s) => s.summary.cases.iter().map(sweep_case_metrics).collect(),
        Input::Interop(_, f) => interop_case_metrics(f),
        Input::Icount(_, f) => icount_case_metrics(f),
    }
}

/// The outcome for one case and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Better past the threshold and outside the spread.
    Improved,
    /// Within the threshold or inside the spread.
    Unchanged,
    /// Worse past the threshold and outside the spread.
    Regressed,
    /// On one side only.
    Missing,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "regressed",
            Verdict::Missing => "missing",
        }
    }
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// current median / baseline median.
    pub ratio: Option<f64>,
    /// How many times worse the current median is (below 1: better).
    pub worse_factor: Option<f64>,
    /// A note for the reader (e.g. "inside the spread").
    pub note: Option<String>,
}

/// The verdict rule of the module documentation, for one metric of one case.
pub fn judge(
    better: Better,
    baseline: Option<&Spread>,
    current: Option<&Spread>,
    threshold: Threshold,
) -> Judgement {
    let (b, c) = match (baseline, current) {
        (Some(b), Some(c)) => (b, c),
        (b, _) => {
            let note = if b.is_some() {
                "not in the current results"
            } else {
                "not in the baseline"
            };
            return Judgement {
                verdict: Verdict::Missing,
                ratio: None,
                worse_factor: None,
                note: Some(note.into()),
            };
        }
    };
    let quotient = |num: f64, den: f64| match (num, den) {
        (n, d) if d > 0.0 => n / d,
        (n, _) if n > 0.0 => f64::INFINITY,
        _ => 1.0,
    };
    let ratio = quotient(c.median, b.median);
    let (worse, separated_worse, separated_better) = match better {
        Better::Bigger => (quotient(b.median, c.median), c.max < b.min, c.min > b.max),
        Better::Smaller => (ratio, c.min > b.max, c.max < b.min),
    };
    let limit = 1.0 + threshold.0;
    let (verdict, note) = if worse > limit {
        if separated_worse {
            (Verdict::Regressed, None)
        } else {
            (
                Verdict::Unchanged,
                Some("worse past the threshold, inside the spread"),
            )
        }
    } else if worse * limit < 1.0 {
        if separated_better {
            (Verdict::Improved, None)
        } else {
            (
                Verdict::Unchanged,
                Some("better past the threshold, inside the spread"),
            )
        }
    } else {
        (Verdict::Unchanged, None)
    };
    Judgement {
        verdict,
        ratio: ratio.is_finite().then_some(ratio),
        worse_factor: Some(worse),
        note: note.map(String::from),
    }
}

/// How a current case was paired with a baseline case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// Same case id.
    Id,
    /// Different ids, equal parameters.
    Params,
    /// Different ids and parameters, equal label.
    Label,
    /// On one side only.
    Unmatched,
}

/// One case and metric of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Case id (the current one when both exist).
    pub case: String,
    /// The baseline's case id when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_case: Option<String>,
    /// Human-readable case.
    pub label: String,
    /// How the two sides were paired.
    pub matched_by: MatchedBy,
    /// The metric.
    pub metric: Metric,
    /// Its unit.
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// Baseline median and spread.
    pub baseline: Option<Spread>,
    /// Current median and spread.
    pub current: Option<Spread>,
    /// current median / baseline median.
    pub ratio: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, when not obvious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where one side comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// The path given.
    pub path: String,
    /// `sweep`, `interop` or `icount`.
    pub kind: String,
    /// Revision of yamux-perf.
    pub git: Option<GitRevision>,
    /// The machine.
    pub machine: Option<Machine>,
}

impl Side {
    fn of(input: &Input) -> Side {
        Side {
            path: input.path().display().to_string(),
            kind: input.kind().into(),
            git: input.git().cloned(),
            machine: input.machine().cloned(),
        }
    }
}

/// A finished comparison (what `--format json` prints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The threshold used, as a fraction.
    pub threshold: f64,
    /// The baseline.
    pub baseline: Side,
    /// The current results.
    pub current: Side,
    /// Rows with each verdict.
    pub counts: BTreeMap<String, usize>,
    /// One row per case and metric, baseline order, then cases new in the current results.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// Rows with a given verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// Rows whose metric (or case) the current results lack but the baseline has.
    pub fn missing_in_current(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Missing && r.baseline.is_some())
            .count()
    }
}

/// Options of [`compare`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The relative change a verdict needs.
    pub threshold: Threshold,
    /// Compare only these metrics (empty: all).
    pub metrics: Vec<Metric>,
}

/// A baseline case index, the current case paired with it, and how.
type Pairing = (usize, Option<usize>, MatchedBy);

/// Pairs the cases of two sides: by id, then by equal params, then by equal label. Also returns
/// the current cases left over.
fn pair_cases(baseline: &[CaseMetrics], current: &[CaseMetrics]) -> (Vec<Pairing>, Vec<usize>) {
    let mut taken = vec![false; current.len()];
    let mut pairs: Vec<Pairing> = (0..baseline.len())
        .map(|i| (i, None, MatchedBy::Unmatched))
        .collect();
    type Same = fn(&CaseMetrics, &CaseMetrics) -> bool;
    let passes: [(MatchedBy, Same); 3] = [
        (MatchedBy::Id, |a, b| a.id == b.id),
        (MatchedBy::Params, |a, b| {
            !a.params.is_null() && a.params == b.params
        }),
        (MatchedBy::Label, |a, b| a.label == b.label),
    ];
    for (how, same) in passes {
        for pair in pairs.iter_mut().filter(|p| p.1.is_none()) {
            let found =
                (0..current.len()).find(|&j| !taken[j] && same(&baseline[pair.0], &current[j]));
            if let Some(j) = found {
                taken[j] = true;
                *pair = (pair.0, Some(j), how);
            }
        }
    }
    let new = (0..current.len()).filter(|&j| !taken[j]).collect();
    (pairs, new)
}

/// Compares `current` against `baseline`.
pub fn compare(
    baseline: &Input,
    current: &Input,
    options: &Options,
) -> Result<Comparison, CompareError> {
    if baseline.kind() != current.kind() {
        return Err(CompareError::KindMismatch {
            baseline: baseline.kind(),
            current: current.kind(),
        });
    }
    let base_cases = case_metrics(baseline);
    let cur_cases = case_metrics(current);
    let (pairs, new) = pair_cases(&base_cases, &cur_cases);
    if pairs.iter().all(|p| p.1.is_none()) {
        return Err(CompareError::NothingInCommon);
    }
    let wanted = |m: &Metric| options.metrics.is_empty() || options.metrics.contains(m);
    let mut rows = Vec::new();
    let mut push = |b: Option<&CaseMetrics>, c: Option<&CaseMetrics>, how: MatchedBy| {
        let either = c.or(b).expect("one side");
        for metric in Metric::ALL.into_iter().filter(wanted) {
            let bs = b.and_then(|b| b.metrics.get(&metric));
            let cs = c.and_then(|c| c.metrics.get(&metric));
            if bs.is_none() && cs.is_none() {
                continue;
            }
            let j = judge(metric.better(), bs, cs, options.threshold);
            let baseline_case = b.map(|b| b.id.clone()).filter(|id| *id != either.id);
            rows.push(Row {
                case: either.id.clone(),
                baseline_case,
                label: either.label.clone(),
                matched_by: how,
                metric,
                unit: metric.unit().into(),
                better: metric.better(),
                baseline: bs.cloned(),
                current: cs.cloned(),
                ratio: j.ratio,
                verdict: j.verdict,
                note: j.note,
            });
        }
    };
    for (i, j, how) in pairs {
        push(Some(&base_cases[i]), j.map(|j| &cur_cases[j]), how);
    }
    for j in new {
        push(None, Some(&cur_cases[j]), MatchedBy::Unmatched);
    }
    let mut counts = BTreeMap::new();
    for v in [
        Verdict::Improved,
        Verdict::Unchanged,
        Verdict::Regressed,
        Verdict::Missing,
    ] {
        counts.insert(
            v.as_str().to_string(),
            rows.iter().filter(|r| r.verdict == v).count(),
        );
    }
    Ok(Comparison {
        threshold: options.threshold.0,
        baseline: Side::of(baseline),
        current: Side::of(current),
        counts,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(values: &[f64]) -> Spread {
        Spread::of(values.iter().copied()).unwrap()
    }

    const T5: Threshold = Threshold(0.05);

    #[test]
    fn threshold_parses_percent_and_fraction() {
        assert_eq!("5%".parse::<Threshold>().unwrap(), Threshold(0.05));
        assert_eq!(" 150 % ".parse::<Threshold>().unwrap(), Threshold(1.5));
        assert_eq!("0.2".parse::<Threshold>().unwrap(), Threshold(0.2));
        for bad in ["", "five", "-5%", "inf", "NaN%"] {
            assert!(bad.parse::<Threshold>().is_err(), "{bad}");
        }
    }

    #[test]
    fn goodput_drop_outside_the_spread_is_a_regression() {
        let j = judge(
            Better::Bigger,
            Some(&spread(&[10.0, 10.2, 9.9])),
            Some(&spread(&[8.0, 8.1, 7.9])),
            T5,
        );
        assert_eq!(j.verdict, Verdict::Regressed);
        assert!((j.ratio.unwrap() - 0.8 / 1.0).abs() < 1e-9);
    }

    #[test]
    fn change_past_the_threshold_inside_the_spread_is_unchanged() {
        // Medians 10 -> 8, but one current run (10.5) beats the baseline's slowest (9).
        let j = judge(
            Better::Bigger,
            Some(&spread(&[9.0, 10.0, 11.0])),
            Some(&spread(&[7.0, 8.0, 10.5])),
            T5,
        );
        assert_eq!(j.verdict, Verdict::Unchanged);
        assert!(j.note.unwrap().contains("inside the spread"));
    }

    #[test]
    fn change_within_the_threshold_is_unchanged_even_when_separated() {
        let j = judge(
            Better::Bigger,
            Some(&spread(&[10.0, 10.0])),
            Some(&spread(&[9.7, 9.7])),
            T5,
        );
        assert_eq!((j.verdict, j.note), (Verdict::Unchanged, None));
    }

    #[test]
    fn direction_decides_which_way_is_worse() {
        let low = spread(&[1.0, 1.1]);
        let high = spread(&[2.0, 2.1]);
        let judge_smaller = |b, c| judge(Better::Smaller, Some(b), Some(c), T5).verdict;
        assert_eq!(judge_smaller(&low, &high), Verdict::Regressed);
        assert_eq!(judge_smaller(&high, &low), Verdict::Improved);
        let judge_bigger = |b, c| judge(Better::Bigger, Some(b), Some(c), T5).verdict;
        assert_eq!(judge_bigger(&low, &high), Verdict::Improved);
        assert_eq!(judge_bigger(&high, &low), Verdict::Regressed);
    }

    #[test]
    fn threshold_is_symmetric_in_ratio() {
        // 100%: a halving of goodput is exactly at the limit (not past it), a bit more is past.
        let t = Threshold(1.0);
        let b = spread(&[2.0]);
        assert_eq!(
            judge(Better::Bigger, Some(&b), Some(&spread(&[1.0])), t).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(Better::Bigger, Some(&b), Some(&spread(&[0.99])), t).verdict,
            Verdict::Regressed
        );
        assert_eq!(
            judge(
                Better::Smaller,
                Some(&spread(&[1.0])),
                Some(&spread(&[2.01])),
                t
            )
            .verdict,
            Verdict::Regressed
        );
    }

    #[test]
    fn zero_medians_do_not_divide_by_zero() {
        let zero = spread(&[0.0]);
        let j = judge(Better::Smaller, Some(&zero), Some(&zero), T5);
        assert_eq!((j.verdict, j.ratio), (Verdict::Unchanged, Some(1.0)));
        let j = judge(Better::Smaller, Some(&zero), Some(&spread(&[0.01])), T5);
        assert_eq!((j.verdict, j.ratio), (Verdict::Regressed, None));
    }

    #[test]
    fn one_sided_metrics_are_missing() {
        let s = spread(&[1.0]);
        let j = judge(Better::Bigger, Some(&s), None, T5);
        assert_eq!(j.verdict, Verdict::Missing);
        assert_eq!(j.note.as_deref(), Some("not in the current results"));
        let j = judge(Better::Bigger, None, Some(&s), T5);
        assert_eq!(j.note.as_deref(), Some("not in the baseline"));
    }

    fn case(id: &str, label: &str, params: serde_json::Value) -> CaseMetrics {
        CaseMetrics {
            id: id.into(),
            label: label.into(),
            params,
            metrics: BTreeMap::new(),
        }
    }

    #[test]
    fn cases_pair_by_id_then_params_then_label() {
        let p = |x: u32| serde_json::json!({ "x": x });
        let base = [
            case("a", "A", p(1)),
            case("b", "B", p(2)),
            case("c", "C", p(3)),
            case("d", "D", p(4)),
        ];
        let cur = [
            case("c2", "C", p(30)),
            case("b2", "B2", p(2)),
            case("a", "A", p(1)),
            case("e", "E", p(5)),
        ];
        let (pairs, new) = pair_cases(&base, &cur);
        assert_eq!(
            pairs,
            vec![
                (0, Some(2), MatchedBy::Id),
                (1, Some(1), MatchedBy::Params),
                (2, Some(0), MatchedBy::Label),
                (3, None, MatchedBy::Unmatched),
            ]
        );
        assert_eq!(new, vec![3]);
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(m.key().parse::<Metric>().unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), m.key());
        }
        assert!("goodput".parse::<Metric>().is_err());
    }
}
