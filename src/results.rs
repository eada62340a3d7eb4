//! The files a sweep writes, as serde types: these types ARE the schema.
//!
//! Under a sweep's output directory:
//!
//! - `cases/<id>.json`: a [`CaseResult`], everything about one case (its config, the run plan,
//!   the machine, the git revision, the command lines, and every run);
//! - `cases/<id>.<metric>.hgrm`: HDR histograms in HdrHistogram's percentile-distribution text
//!   format, see [`crate::sweep::hgrm`] (metrics: [`METRIC_LATENCY`], [`METRIC_INTERVAL`],
//!   [`METRIC_TTFB`], [`METRIC_FCT`]);
//! - `cases/<id>.rep<k>.window.jsonl`: the client's window trace, one [`WindowTraceLine`] a line;
//! - `summary.json`: a [`Summary`], one [`SummaryRow`] per case with medians and spread.
//!
//! Every document carries `schema_version`; [`SCHEMA_VERSION`] is bumped on any change that an
//! older reader could misread. `tests/results_schema.rs` parses every committed result with these
//! types, so a change that breaks old files fails the tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::perf::report::RunReport;
use crate::probe::ProbeKind;
use crate::procstat::ProcessUsage;
use crate::security::Security;
use crate::transport::TransportKind;
use crate::yamux::{AutotuneRule, WindowAccounting};

/// The peer name of this binary's own `server` subcommand, in case configs, the sweep's peer
/// table and the interop matrix.
pub const OURS: &str = "ours";

/// Version of every document in this module.
pub const SCHEMA_VERSION: u32 = 1;

/// Histogram of 1-byte round trips of the latency run, in ms.
pub const METRIC_LATENCY: &str = "latency_ms";
/// Histogram of per-interval goodput (upload plus download) of the measured runs, in Mbit/s
/// (intervals shorter than half the plan's interval, catch-up ticks after a stall, are left out).
pub const METRIC_INTERVAL: &str = "interval_mbit_s";
/// Histogram of every stream's time to first byte (stream open to first download byte, so it
/// includes the upload) of the measured runs, in ms.
pub const METRIC_TTFB: &str = "ttfb_ms";

/// Histogram metric: flow completion times of the short flows (`short_flows`), ms.
pub const METRIC_FCT: &str = "fct_ms";

/// Which layers carry a case's perf workload, as `--stack` takes it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum Stack {
    /// TCP + multistream-select + security + yamux (libp2p).
    #[default]
    Yamux,
    /// Bare TCP: the baseline without multistream-select, security and yamux.
    Tcp,
}

impl Stack {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Stack::Yamux => "yamux",
            Stack::Tcp => "tcp",
        }
    }

    /// The default (left out of a case's JSON, so older case ids stay).
    pub fn is_yamux(&self) -> bool {
        *self == Stack::Yamux
    }
}

/// What a case's latency run measures.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum LatencyMode {
    /// `client --latency`: a perf exchange of 1 byte each way on a fresh stream per round, as
    /// test-plans measures latency (bare TCP: a 1-byte ping-pong on one connection).
    #[default]
    Perf,
    /// `client --ping`: libp2p ping (32 bytes) on one established stream (bare TCP: a 32-byte
    /// ping-pong on one connection), the like-for-like round trip of the stack.
    Ping,
}

impl LatencyMode {
    /// The matrix value.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyMode::Perf => "perf",
            LatencyMode::Ping => "ping",
        }
    }

    /// The client flag that runs it.
    pub fn client_flag(self) -> &'static str {
        match self {
            LatencyMode::Perf => "--latency",
            LatencyMode::Ping => "--ping",
        }
    }

    /// The default (left out of a case's JSON, so older case ids stay).
    pub fn is_perf(&self) -> bool {
        *self == LatencyMode::Perf
    }
}

/// What one case measures: the link, the yamux settings, the transfer and the peer.
///
/// The case id is a hash of this (see [`crate::sweep::config::case_id`]), so optional fields are
/// left out when unset: adding one later keeps existing ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseConfig {
    /// Server: `ours` or a foreign peer (`rust`, `go`, `js`, `py`, or one from `[peers]`).
    pub peer: String,
    /// Round-trip time added by the relay (0: no delay).
    pub rtt_ms: f64,
    /// Relay rate each way; absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_bits_per_second: Option<u64>,
    /// Relay queue (bytes waiting for the link before it stops reading).
    pub queue_bytes: u64,
    /// yamux receive window each stream starts with.
    pub initial_window_bytes: u64,
    /// Cap of the auto-tuned receive window.
    pub max_window_bytes: u64,
    /// Window auto-tuning on (`false` passes `--no-autotune`).
    pub autotune: bool,
    /// Window-update arithmetic.
    pub window_accounting: WindowAccounting,
    /// When the receive window grows: `go` (absent) or `ramp`.
    #[serde(default, skip_serializing_if = "AutotuneRule::is_go")]
    pub autotune_rule: AutotuneRule,
    /// Largest DATA frame sent, header included.
    pub max_frame_bytes: u64,
    /// Parallel perf streams per connection.
    pub streams: u32,
    /// Parallel connections.
    pub connections: u32,
    /// Bytes each stream uploads.
    pub upload_bytes: u64,
    /// Bytes each stream downloads.
    pub download_bytes: u64,
    /// Round trips of the extra latency run; absent: no latency run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_rounds: Option<u32>,
    /// What the latency run measures: `perf` (absent) or `ping`.
    #[serde(default, skip_serializing_if = "LatencyMode::is_perf")]
    pub latency_mode: LatencyMode,
    /// `yamux` (absent) or `tcp` (bare TCP: the yamux settings and `security` do not apply and
    /// stay at their defaults).
    #[serde(default, skip_serializing_if = "Stack::is_yamux")]
    pub stack: Stack,
    /// `noise` (absent), `tls` or `plaintext`.
    #[serde(default, skip_serializing_if = "Security::is_noise")]
    pub security: Security,
    /// `tcp` (absent) or `ws` (WebSocket over TCP); the yamux stack only.
    #[serde(default, skip_serializing_if = "TransportKind::is_tcp")]
    pub transport: TransportKind,
    /// Muxers offered inside the security handshake (inlined muxer negotiation; absent:
    /// `true`); `false` passes `--no-early-muxer`, so yamux is negotiated with
    /// multistream-select inside the channel, one round trip more.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub early_muxer: bool,
    /// `SO_SNDBUF` of our ends (`--send-buffer`); absent: the kernel's autotuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_buffer_bytes: Option<u64>,
    /// `SO_RCVBUF` of our ends (`--recv-buffer`); absent: the kernel's autotuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_buffer_bytes: Option<u64>,
    /// Latency-under-load probe of the measured runs (`client --probe`); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeKind>,
    /// Stream k of the measured runs opens k times this after the first (`client --stagger`),
    /// ms; absent: all at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stagger_ms: Option<f64>,
    /// Short flows during the measured runs (`client --short-flows COUNT:SIZE`); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_flows: Option<crate::perf::fairness::ShortFlows>,
    /// Where client and server run: `loopback` (absent) or `netns`, two network namespaces
    /// joined by a veth pair ([`crate::netns`]; the rate is then `tbf` on the veth).
    #[serde(default, skip_serializing_if = "Hosts::is_loopback")]
    pub hosts: Hosts,
}

/// Where a case's client and server run.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum Hosts {
    /// Both on this host's loopback (the relay, when the case has one, in the sweep's process).
    #[default]
    Loopback,
    /// Each in its own network namespace, joined by a veth pair with a `tbf` rate limit when
    /// the case has a rate ([`crate::netns`]; needs root).
    Netns,
}

impl Hosts {
    /// The matrix and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Hosts::Loopback => "loopback",
            Hosts::Netns => "netns",
        }
    }

    /// The default (left out of a case's JSON, so older case ids stay).
    pub fn is_loopback(&self) -> bool {
        *self == Hosts::Loopback
    }
}

/// The test hosts of a run with `hosts = "netns"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestbedInfo {
    /// The server's host.
    pub server: TestbedHost,
    /// The client's host.
    pub client: TestbedHost,
    /// The veth pair's MTU.
    pub mtu: u32,
    /// The rate limit on each end, when the case has a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tbf: Option<TbfInfo>,
}

/// One test host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestbedHost {
    /// The network namespace.
    pub namespace: String,
    /// Its address on the veth pair.
    pub address: String,
    /// Its end of the veth pair.
    pub interface: String,
}

/// A `tbf` qdisc (each end of the veth pair has one: one per direction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TbfInfo {
    /// `rate`.
    pub rate_bits_per_second: u64,
    /// `burst`: the token bucket.
    pub burst_bytes: u64,
    /// `limit`: bytes queued waiting for tokens (the case's queue).
    pub limit_bytes: u64,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl CaseConfig {
    /// Whether the relay must sit between client and server.
    pub fn needs_relay(&self) -> bool {
        // Between test hosts the rate is tbf's on the veth pair.
        self.rtt_ms > 0.0 || (self.rate_bits_per_second.is_some() && self.hosts.is_loopback())
    }

    /// The stack a case ran over, as [`stack_name`] spells it.
    pub fn stack_name(&self) -> String {
        stack_name(self.stack, self.transport, self.security)
    }
}

/// The layers under the perf streams, `transport/security/muxer` as libp2p's unified-testing
/// names them (`tcp/noise/yamux`, `ws/tls/yamux`, `tcp/plaintext/yamux`), or `tcp` for our
/// bare-TCP baseline (no libp2p layers; the transport and security do not apply).
pub fn stack_name(stack: Stack, transport: TransportKind, security: Security) -> String {
    match stack {
        Stack::Tcp => "tcp".into(),
        Stack::Yamux => format!("{transport}/{security}/yamux"),
    }
}

/// What runs a case (the config's top-level `engine`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Real processes over loopback, through the in-process relay when the case has an RTT or
    /// a rate.
    #[default]
    Relay,
    /// Both yamux sessions in this process on a virtual clock over a modelled link
    /// ([`crate::sim`]): deterministic, no CPU time, no TCP congestion control.
    Sim,
}

impl Engine {
    /// The config and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Relay => "relay",
            Engine::Sim => "sim",
        }
    }

    /// The default (left out of the JSON, so older files read the same).
    pub fn is_relay(&self) -> bool {
        *self == Engine::Relay
    }
}

/// How a case is run: not part of its id, so a case run 3 or 5 times, or simulated, keeps its
/// id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunPlan {
    /// What runs the cases: `relay` (absent) or `sim`.
    #[serde(default, skip_serializing_if = "Engine::is_relay")]
    pub engine: Engine,
    /// Measured runs.
    pub repetitions: u32,
    /// Runs before them whose results are discarded.
    pub warmup: u32,
    /// Limit of one client run, seconds (the client's `--timeout`; the process is killed a bit
    /// later).
    pub timeout_s: f64,
    /// The client's `--interval`, seconds.
    pub interval_s: f64,
}

/// The server side of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerInfo {
    /// Peer name.
    pub name: String,
    /// Command template of a foreign server (`{interop}` stands for the interop directory);
    /// empty for `ours`, which is this binary's `server` subcommand.
    pub command: Vec<String>,
    /// Whether the server takes our yamux options; when false (a foreign peer) they apply to our
    /// client only.
    pub server_takes_yamux_options: bool,
    /// Extra client flags for the latency run against this peer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_client_args: Vec<String>,
    /// Extra server flags that make a foreign server speak `/plaintext/2.0.0` (go:
    /// `--security plaintext`); empty: it speaks Noise only (`ours` takes `--security`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plaintext_args: Vec<String>,
    /// Extra server flags that make a foreign server speak TLS 1.3 (`/tls/1.0.0`; go:
    /// `--security tls`); empty: it cannot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_args: Vec<String>,
    /// Extra server flags that make a foreign server listen on WebSocket (go: `--transport
    /// ws`, printing a `/ws` multiaddr); empty: it cannot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ws_args: Vec<String>,
}

/// The machine a result comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu: Option<String>,
    /// Cores available to the process.
    pub cores: usize,
    /// /proc/sys/kernel/osrelease.
    pub kernel: Option<String>,
    /// /proc/sys/kernel/hostname.
    pub hostname: Option<String>,
    /// MemTotal from /proc/meminfo.
    pub memory_bytes: Option<u64>,
    /// The 1-minute load average when the case started (other work on the machine).
    pub load_average: Option<f64>,
}

/// The source the binary was run from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitRevision {
    /// `git rev-parse --short HEAD`.
    pub revision: String,
    /// Uncommitted changes in the work tree.
    pub dirty: bool,
}

/// Warm-up, measured or latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// Discarded.
    Warmup,
    /// A throughput repetition.
    Measured,
    /// The 1-byte round-trip run.
    Latency,
}

/// The relay of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayInfo {
    /// Where the client connected.
    pub listen: String,
    /// The server's address.
    pub to: String,
    /// As configured.
    pub rtt_ms: f64,
    /// As configured.
    pub rate_bits_per_second: Option<u64>,
    /// As configured.
    pub queue_bytes: u64,
}

/// How fast the client's receive window reached its cap, from the window trace. The download
/// phase is where the client receives, so this describes the download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowGrowth {
    /// The largest window the configuration allows (`max_window`, or `initial_window` without
    /// auto-tuning).
    pub cap_bytes: u64,
    /// Largest receive window any stream reached.
    pub max_window_bytes: u64,
    /// Streams that reached the cap, of all streams.
    pub streams_at_cap: u32,
    /// Streams in the trace.
    pub streams: u32,
    /// Slowest stream: ms from its first download byte to the update that reached the cap.
    pub ms_to_cap: Option<f64>,
    /// The same in round trips of the configured RTT (absent at RTT 0).
    pub rtts_to_cap: Option<f64>,
    /// Window doublings of that stream.
    pub doublings: u32,
    /// Window updates the client sent, all streams.
    pub window_updates: u64,
    /// Longest time a stream was blocked on send credit (upload), ms.
    pub max_send_blocked_ms: Option<f64>,
}

/// A server this sweep did not start (`sweep --server ADDR`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteServer {
    /// The multiaddr given.
    pub address: String,
    /// The flags the case would have passed to `yamux-perf server`; whoever started the remote
    /// server decides them, so the results say they were not applied.
    pub flags_not_applied: Vec<String>,
}

/// One run: a server, maybe a relay, one client process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Warm-up, measured or latency.
    pub kind: RunKind,
    /// 1-based within its kind.
    pub repetition: u32,
    /// The client exited 0 and its report was read.
    pub ok: bool,
    /// Why not, when not.
    #[serde(default)]
    pub error: Option<String>,
    /// The last lines of the client's stderr (and the server's, on failure).
    #[serde(default)]
    pub stderr_tail: Option<String>,
    /// The server command as run (`{interop}` resolved).
    pub server_command: Vec<String>,
    /// The client command as run.
    pub client_command: Vec<String>,
    /// The relay, when the case has one.
    #[serde(default)]
    pub relay: Option<RelayInfo>,
    /// The test hosts, when the case runs in network namespaces (`hosts = "netns"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testbed: Option<TestbedInfo>,
    /// The server was started elsewhere (`sweep --server`): its address, and the server-side
    /// flags this case would have passed to a server it started, which were not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_server: Option<RemoteServer>,
    /// The address the server printed (or, with a remote server, the one dialled).
    #[serde(default)]
    pub server_addr: Option<String>,
    /// Wall-clock seconds of the client process; absent for a simulated run (its result does
    /// not depend on the wall clock, and its file does not record it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    /// The client's report (`--report`): goodput and durations per stream and in total, time to
    /// first byte, yamux frames and bytes by type, window updates, RTT samples, intervals,
    /// latency samples, and the client process's CPU and peak RSS.
    #[serde(default)]
    pub client: Option<RunReport>,
    /// The server process's CPU while the client ran, and its peak RSS.
    #[serde(default)]
    pub server_usage: Option<ProcessUsage>,
    /// The window trace, relative to the case JSON's directory.
    #[serde(default)]
    pub window_trace: Option<String>,
    /// Window growth, from the trace.
    #[serde(default)]
    pub window_growth: Option<WindowGrowth>,
}

impl RunResult {
    /// A run that has not produced anything yet (not ok, nothing recorded).
    pub fn new(kind: RunKind, repetition: u32, server_command: Vec<String>) -> Self {
        Self {
            kind,
            repetition,
            ok: false,
            error: None,
            stderr_tail: None,
            server_command,
            client_command: Vec::new(),
            relay: None,
            testbed: None,
            remote_server: None,
            server_addr: None,
            wall_seconds: None,
            client: None,
            server_usage: None,
            window_trace: None,
            window_growth: None,
        }
    }

    /// Upload goodput of all streams, Gbit/s.
    pub fn upload_gbit_s(&self) -> Option<f64> {
        let c = self.client.as_ref().filter(|_| self.ok)?;
        (c.total.upload.bytes > 0).then(|| c.total.upload.bits_per_second / 1e9)
    }

    /// Download goodput of all streams, Gbit/s.
    pub fn download_gbit_s(&self) -> Option<f64> {
        let c = self.client.as_ref().filter(|_| self.ok)?;
        (c.total.download.bytes > 0).then(|| c.total.download.bits_per_second / 1e9)
    }
}

/// A histogram file and its headline numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramSummary {
    /// The `.hgrm` file, relative to the case JSON's directory.
    pub file: String,
    /// Unit of the values (`ms`, `Mbit/s`).
    pub unit: String,
    /// Samples.
    pub count: u64,
    /// Percentiles and extremes, in `unit`.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// `cases/<id>.json`: one case, everything needed to re-run it
/// (`yamux-perf sweep cases/<id>.json` does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseResult {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// 12 hex digits of the SHA-256 of the canonical JSON of `config`.
    pub id: String,
    /// Human-readable summary of `config`.
    pub label: String,
    /// The sweep's name (config file stem).
    pub sweep: String,
    /// The case.
    pub config: CaseConfig,
    /// How it was run.
    pub plan: RunPlan,
    /// The server side.
    pub peer: PeerInfo,
    /// Things a reader must know (e.g. options that applied to the client only).
    pub notes: Vec<String>,
    /// What a simulated result leaves out ([`crate::sim::MODEL`]); absent for the relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Where it ran; absent for a simulated case, whose result is the same on every machine
    /// (the summary records where it ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Machine>,
    /// What it ran; absent for a simulated case (the summary records it), so that the case
    /// file of an unchanged model stays byte for byte the same.
    pub git: Option<GitRevision>,
    /// The `yamux-perf sweep` command line.
    pub sweep_command: Vec<String>,
    /// Seconds since the Unix epoch when the case started; absent for a simulated case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_s: Option<u64>,
    /// Warm-up and measured runs, in order.
    pub runs: Vec<RunResult>,
    /// The latency run, when `latency_rounds` is set.
    #[serde(default)]
    pub latency: Option<RunResult>,
    /// Histograms by metric ([`METRIC_LATENCY`], [`METRIC_INTERVAL`], [`METRIC_TTFB`],
    /// [`METRIC_FCT`]).
    pub histograms: BTreeMap<String, HistogramSummary>,
}

impl CaseResult {
    /// The measured runs.
    pub fn measured(&self) -> impl Iterator<Item = &RunResult> {
        self.runs.iter().filter(|r| r.kind == RunKind::Measured)
    }
}

/// Median and spread of one quantity over the measured runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    /// Values.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// 25th percentile (linear interpolation).
    pub p25: f64,
    /// 75th percentile.
    pub p75: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none (NaN values are ignored).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (v.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        };
        Some(Spread {
            n: v.len(),
            median: q(0.5),
            min: v[0],
            max: v[v.len() - 1],
            p25: q(0.25),
            p75: q(0.75),
        })
    }
}

/// One case in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryRow {
    /// Case id (its JSON is `cases/<id>.json`).
    pub id: String,
    /// Human-readable config.
    pub label: String,
    /// The case.
    pub config: CaseConfig,
    /// Measured runs that passed.
    pub ok: u32,
    /// Measured runs (and the latency run) that failed.
    pub failed: u32,
    /// First error of each distinct kind.
    pub errors: Vec<String>,
    /// Upload goodput, Gbit/s.
    pub upload_gbit_s: Option<Spread>,
    /// Download goodput, Gbit/s.
    pub download_gbit_s: Option<Spread>,
    /// Client CPU (user + system) over its whole run, seconds.
    pub client_cpu_s: Option<Spread>,
    /// Server CPU (user + system) while the client ran, seconds.
    pub server_cpu_s: Option<Spread>,
    /// Client peak RSS, bytes.
    pub client_peak_rss_bytes: Option<Spread>,
    /// Server peak RSS, bytes.
    pub server_peak_rss_bytes: Option<Spread>,
    /// The client's smoothed yamux RTT at the end of each run, ms.
    pub rtt_ms: Option<Spread>,
    /// RTTs until the client's receive window reached its cap (slowest stream).
    pub rtts_to_cap: Option<Spread>,
    /// Largest receive window reached, bytes.
    pub max_window_bytes: Option<Spread>,
    /// The client's connection setup (TCP connect through the muxer), ms; absent in summaries
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<Spread>,
    /// 1-byte round trips of the latency run, ms.
    #[serde(default)]
    pub latency_ms: Option<HistogramSummary>,
    /// Muxer-added latency under load (`probe`): the same-connection probe's loaded p50 minus
    /// the control connection's, per measured run, ms
    /// ([`crate::probe::LatencyUnderLoad::muxer_added`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muxer_added_p50_ms: Option<Spread>,
    /// The same for the loaded p99, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muxer_added_p99_ms: Option<Spread>,
    /// Jain's index over the streams' goodput (`fairness.jain_overall`), per measured run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jain_overall: Option<Spread>,
    /// The lowest per-interval Jain's index after the first interval
    /// (`fairness.min_jain_after_first`), per measured run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jain_min_after_first: Option<Spread>,
    /// Short-flow completion time p50 (`short_flows`), per measured run, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_fct_p50_ms: Option<Spread>,
    /// The same at p99, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_fct_p99_ms: Option<Spread>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The sweep's name.
    pub sweep: String,
    /// What ran the cases: `relay` (absent) or `sim`.
    #[serde(default, skip_serializing_if = "Engine::is_relay")]
    pub engine: Engine,
    /// What a simulated result leaves out ([`crate::sim::MODEL`]); absent for the relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Where the machine and revision of the last case run came from.
    pub machine: Option<Machine>,
    /// Revision of the last case run.
    pub git: Option<GitRevision>,
    /// Cases of the sweep's config that have results, in matrix order.
    pub cases: Vec<SummaryRow>,
}

/// One line of a `.window.jsonl` trace (written by `yamux-perf client --window-trace`, through
/// [`crate::perf::report::write_trace`]). The fields are in alphabetical order, the order the
/// traces were first written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WindowTraceLine {
    /// A receive-window update the client sent.
    Recv {
        /// Connection index.
        connection: u32,
        /// Credit sent.
        delta: u64,
        /// Whether the window doubled.
        doubled: bool,
        /// Target window after the decision.
        recv_window: u64,
        /// Smoothed RTT at the decision.
        rtt_ms: Option<f64>,
        /// ms since this stream's previous update.
        since_last_update_ms: f64,
        /// Stream id.
        stream: u32,
        /// ms since the connection's session started.
        t_ms: f64,
    },
    /// Send credit the server granted.
    Send {
        /// How long the stream had been blocked on credit, ms.
        blocked_ms: Option<f64>,
        /// Connection index.
        connection: u32,
        /// Credit after the update.
        send_window: u64,
        /// Stream id.
        stream: u32,
        /// ms since the connection's session started.
        t_ms: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_interpolates_quartiles() {
        let s = Spread::of([4.0, 1.0, 3.0, 2.0, 5.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (5, 3.0, 1.0, 5.0));
        assert_eq!((s.p25, s.p75), (2.0, 4.0));
        let two = Spread::of([1.0, 2.0]).unwrap();
        assert_eq!(two.median, 1.5);
        assert!(Spread::of([]).is_none());
        assert!(Spread::of([f64::NAN]).is_none());
    }

    #[test]
    fn trace_lines_parse_both_kinds() {
        let recv: WindowTraceLine = serde_json::from_str(
            r#"{"t_ms":1.5,"stream":1,"rtt_ms":50.0,"recv_window":524288,"delta":393216,"since_last_update_ms":12.0,"doubled":true,"connection":0}"#,
        )
        .unwrap();
        assert!(matches!(recv, WindowTraceLine::Recv { doubled: true, .. }));
        let send: WindowTraceLine = serde_json::from_str(
            r#"{"t_ms":1.5,"stream":1,"send_window":7,"blocked_ms":null,"connection":0}"#,
        )
        .unwrap();
        assert!(matches!(send, WindowTraceLine::Send { send_window: 7, .. }));
    }

    #[test]
    fn trace_lines_are_written_as_committed_traces_read() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/results/baseline/cases/01002422b49b.rep1.window.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        // The keys in order (serde_json's float parsing is not exact, so values are not
        // compared as text).
        let keys = |line: &str| -> Vec<String> {
            line.split('"')
                .collect::<Vec<_>>()
                .windows(2)
                .filter(|w| w[1].starts_with(':'))
                .map(|w| w[0].to_string())
                .collect()
        };
        let mut lines = 0;
        for line in text.lines() {
            let parsed: WindowTraceLine = serde_json::from_str(line).unwrap();
            let written = serde_json::to_string(&parsed).unwrap();
            assert_eq!(keys(&written), keys(line), "{line}");
            lines += 1;
        }
        assert!(lines > 10, "{lines} lines");
    }
}
