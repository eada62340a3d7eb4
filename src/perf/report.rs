//! Output: test-plans JSON lines on stdout and a human summary.
//!
//! The JSON shape is test-plans' (`perf/README.md`): one object per line, `intermediary` lines
//! once per second with the bytes of that interval, and a `final` line with the totals and the
//! time from before the dial to the end.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::churn::ChurnReport;
use super::client::{ClientReport, LatencyReport};
use super::fairness::{Fairness, ShareLog, ShortFlowsReport};
use super::tcp::{TcpLatencyReport, TcpReport};
use super::{Progress, StreamReport};
use crate::probe::LatencyUnderLoad;
use crate::procstat::ProcessUsage;
use crate::results::GitRevision;
use crate::results::WindowTraceLine;
use crate::units::{ByteSize, bits_per_second};
use crate::yamux::TraceEvent;
use crate::yamux::frame::HEADER_LEN;
use crate::yamux::{FrameType, Stats};

/// One stdout line in test-plans format.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// `intermediary` or `final`.
    #[serde(rename = "type")]
    pub kind: LineKind,
    /// Interval length (intermediary) or total time (final), in seconds.
    pub time_seconds: f64,
    /// Bytes uploaded in the interval, or in total.
    pub upload_bytes: u64,
    /// Bytes downloaded in the interval, or in total.
    pub download_bytes: u64,
}

/// The two kinds of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// Once per second, per-interval counts.
    Intermediary,
    /// At the end, totals.
    Final,
}

impl Line {
    /// The line as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain struct serializes")
    }
}

/// The `final` line of a run.
pub fn final_line(report: &ClientReport) -> Line {
    Line {
        kind: LineKind::Final,
        time_seconds: report.total_duration.as_secs_f64(),
        upload_bytes: report.stream.upload_bytes,
        download_bytes: report.stream.download_bytes,
    }
}

/// Prints an `intermediary` line to `out` every `interval` with the bytes moved since the last
/// one (also kept in `lines`), until the returned task is aborted; each tick also records the
/// bytes of every bulk stream of `progress` in `shares`. `on_tick` sees the cumulative counts
/// (for a progress bar).
pub fn spawn_intervals(
    progress: Arc<Progress>,
    interval: Duration,
    mut out: impl Write + Send + 'static,
    lines: Arc<Mutex<Vec<Line>>>,
    shares: Arc<Mutex<ShareLog>>,
    mut on_tick: impl FnMut(u64, u64) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let record_shares = move |progress: &Progress| {
        shares
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(&progress.streams());
    };
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        // After a stall (a busy machine), tick once late and go on from there: the default
        // (Burst) fires the missed ticks back to back, printing intervals of a few microseconds
        // and no bytes that read as zero-rate samples.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        record_shares(&progress);
        let (mut last, mut up, mut down) = (Instant::now(), 0u64, 0u64);
        loop {
            ticker.tick().await;
            record_shares(&progress);
            let now = Instant::now();
            let (u, d) = (
                progress.uploaded.load(Ordering::Relaxed),
                progress.downloaded.load(Ordering::Relaxed),
            );
            let line = Line {
                kind: LineKind::Intermediary,
                time_seconds: (now - last).as_secs_f64(),
                upload_bytes: u - up,
                download_bytes: d - down,
            };
            let _ = writeln!(out, "{}", line.to_json());
            let _ = out.flush();
            lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            on_tick(u, d);
            (last, up, down) = (now, u, d);
        }
    })
}

fn rate(bytes: u64, duration: Duration) -> String {
    let bps = bits_per_second(bytes, duration.as_secs_f64());
    format!(
        "{:.2} Gbit/s ({:.0} MiB/s)",
        bps / 1e9,
        bps / 8.0 / (1 << 20) as f64
    )
}

/// Two lines for a human: goodput and duration each way.
pub fn transfer_summary(s: &StreamReport) -> String {
    format!(
        "upload    {} in {:.3} s: {}\ndownload  {} in {:.3} s: {}\n",
        ByteSize(s.upload_bytes),
        s.upload_duration.as_secs_f64(),
        rate(s.upload_bytes, s.upload_duration),
        ByteSize(s.download_bytes),
        s.download_duration.as_secs_f64(),
        rate(s.download_bytes, s.download_duration),
    )
}

/// A few lines for a human: goodput each way, durations, RTT.
pub fn summary(report: &ClientReport) -> String {
    let mut text = format!(
        "peer      {}\ncipher    {}\nconnect   {:.2} ms\n{}total     {:.3} s\n",
        report.remote_peer,
        report.cipher.unwrap_or("none"),
        report.connect_duration.as_secs_f64() * 1e3,
        transfer_summary(&report.stream),
        report.total_duration.as_secs_f64(),
    );
    let samples = &report.rtt_samples;
    match report.rtt {
        Some(rtt) => {
            text += &format!(
                "yamux rtt {:.3} ms smoothed, {} samples (min {:.3} ms, max {:.3} ms)\n",
                rtt.as_secs_f64() * 1e3,
                samples.len(),
                samples.iter().min().map_or(0.0, |d| d.as_secs_f64() * 1e3),
                samples.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            )
        }
        None => text += "yamux rtt not measured (no pong)\n",
    }
    let st = &report.stats;
    text += &format!(
        "yamux     max receive window {}, max send credit {}, {} data frames sent, {} received, {} peer pings answered\n",
        ByteSize(u64::from(st.max_recv_window)),
        ByteSize(u64::from(st.max_send_credit)),
        st.frames_sent[0],
        st.frames_received[0],
        st.pings_answered,
    );
    text
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One line of the window-growth trace (`.jsonl`): a receive-side epoch decision or the
/// sender-side credit, tagged with the index of its `connection`. Times are from the session
/// start.
pub fn trace_line(connection: usize, event: &TraceEvent) -> WindowTraceLine {
    let connection = u32::try_from(connection).unwrap_or(u32::MAX);
    match *event {
        TraceEvent::RecvWindow {
            t,
            stream,
            rtt,
            window,
            delta,
            since_last_update,
            doubled,
        } => WindowTraceLine::Recv {
            t_ms: millis(t),
            stream,
            rtt_ms: rtt.map(millis),
            recv_window: window.into(),
            delta: delta.into(),
            since_last_update_ms: millis(since_last_update),
            doubled,
            connection,
        },
        TraceEvent::SendCredit {
            t,
            stream,
            credit,
            blocked,
        } => WindowTraceLine::Send {
            t_ms: millis(t),
            stream,
            send_window: credit.into(),
            blocked_ms: blocked.map(millis),
            connection,
        },
    }
}

/// Writes a window trace as JSON lines ([`WindowTraceLine`]).
pub fn write_trace(events: &[(usize, TraceEvent)], mut out: impl Write) -> std::io::Result<()> {
    for (connection, event) in events {
        let line = serde_json::to_string(&trace_line(*connection, event))?;
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// The shape of the JSON the client writes to `--report` and, with `--json-only`, to stdout.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum JsonFormat {
    /// Our [`RunReport`] (what `sweep` reads).
    #[default]
    Ours,
    /// iperf3's `-J` document ([`super::iperf3`]): throughput runs only.
    Iperf3,
}

impl JsonFormat {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonFormat::Ours => "ours",
            JsonFormat::Iperf3 => "iperf3",
        }
    }
}

/// Bytes and time of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Direction {
    /// Payload bytes.
    pub bytes: u64,
    /// Seconds the phase took.
    pub seconds: f64,
    /// Goodput.
    pub bits_per_second: f64,
}

impl Direction {
    fn new(bytes: u64, duration: Duration) -> Self {
        Self {
            bytes,
            seconds: duration.as_secs_f64(),
            bits_per_second: bits_per_second(bytes, duration.as_secs_f64()),
        }
    }
}

/// One stream in a [`RunReport`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StreamSummary {
    /// Upload phase.
    pub upload: Direction,
    /// Download phase.
    pub download: Direction,
    /// Stream open to first download byte, in ms.
    pub time_to_first_byte_ms: f64,
}

impl From<&StreamReport> for StreamSummary {
    fn from(s: &StreamReport) -> Self {
        Self {
            upload: Direction::new(s.upload_bytes, s.upload_duration),
            download: Direction::new(s.download_bytes, s.download_duration),
            time_to_first_byte_ms: millis(s.time_to_first_byte),
        }
    }
}

/// yamux counters in a [`RunReport`], frames keyed by type name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YamuxSummary {
    /// Frames sent per type (`data`, `window_update`, `ping`, `go_away`).
    pub frames_sent: BTreeMap<String, u64>,
    /// Frames received per type.
    pub frames_received: BTreeMap<String, u64>,
    /// Bytes sent per type: DATA payload plus 12 header bytes per frame.
    pub bytes_sent: BTreeMap<String, u64>,
    /// Bytes received per type.
    pub bytes_received: BTreeMap<String, u64>,
    /// Window updates carrying credit that we sent.
    pub window_updates_sent: u64,
    /// Window updates carrying credit that we received.
    pub window_updates_received: u64,
    /// Largest receive window of any stream.
    pub max_recv_window: u32,
    /// Largest send credit of any stream.
    pub max_send_credit: u32,
    /// Pings from the peer that we answered.
    pub pings_answered: u64,
}

impl From<&Stats> for YamuxSummary {
    fn from(s: &Stats) -> Self {
        let per_type =
            |counts: &[u64; 4], payload: u64| -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
                let frames = FrameType::ALL
                    .iter()
                    .map(|t| (t.name().to_string(), counts[*t as usize]))
                    .collect();
                let bytes = FrameType::ALL
                    .iter()
                    .map(|t| {
                        let body = if *t == FrameType::Data { payload } else { 0 };
                        (
                            t.name().to_string(),
                            counts[*t as usize] * HEADER_LEN as u64 + body,
                        )
                    })
                    .collect();
                (frames, bytes)
            };
        let (frames_sent, bytes_sent) = per_type(&s.frames_sent, s.data_bytes_sent);
        let (frames_received, bytes_received) = per_type(&s.frames_received, s.data_bytes_received);
        Self {
            frames_sent,
            frames_received,
            bytes_sent,
            bytes_received,
            window_updates_sent: s.credit_updates_sent,
            window_updates_received: s.credit_updates_received,
            max_recv_window: s.max_recv_window,
            max_send_credit: s.max_send_credit,
            pings_answered: s.pings_answered,
        }
    }
}

/// The client's full report (`--report FILE`): what the sweep engine reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Version of this shape.
    pub schema_version: u32,
    /// The server's peer id (empty for bare TCP).
    pub remote_peer: String,
    /// The negotiated cipher suite (a TLS suite name or the Noise protocol name); absent with
    /// plaintext, bare TCP, and in reports written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// TCP connect plus handshakes, ms; null in a simulated run (no connection setup is
    /// modelled).
    #[serde(default)]
    pub connect_ms: Option<f64>,
    /// From before the dial to the end, seconds.
    pub total_seconds: f64,
    /// All streams together.
    pub total: StreamSummary,
    /// Each stream.
    pub streams: Vec<StreamSummary>,
    /// Smoothed yamux RTT at the end, ms.
    pub rtt_ms: Option<f64>,
    /// Every yamux RTT sample, ms.
    pub rtt_samples_ms: Vec<f64>,
    /// Per-interval counts (the intermediary lines).
    pub intervals: Vec<Line>,
    /// yamux counters of the client.
    pub yamux: YamuxSummary,
    /// 1-byte round trips of the latency mode, ms (empty otherwise).
    pub latency_ms: Vec<f64>,
    /// Latency under load (`client --probe`): both probes' idle and loaded round trips; absent
    /// without a probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_under_load: Option<LatencyUnderLoad>,
    /// Fairness between the bulk streams (yamux stack, at least two streams): per-stream bytes
    /// per interval and Jain's index; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<Fairness>,
    /// The flow completion times of `client --short-flows`; absent without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_flows: Option<ShortFlowsReport>,
    /// Stream churn (`client --churn`): streams per second, open-to-close times and resident
    /// memory; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<ChurnReport>,
    /// The client process's CPU and memory.
    pub process: Option<ProcessUsage>,
    /// The git revision and dirty flag of the client binary (absent in reports written before
    /// it was recorded, and for binaries built outside a git checkout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitRevision>,
}

/// Current version of [`RunReport`].
pub const REPORT_SCHEMA_VERSION: u32 = 1;

impl RunReport {
    /// The report of a throughput run; `fairness` is computed from `report`'s streams and their
    /// per-interval bytes `shares`.
    pub fn from_client(report: &ClientReport, intervals: Vec<Line>, shares: ShareLog) -> Self {
        let fairness = (report.streams.len() >= 2)
            .then(|| Fairness::new(&report.streams, shares.into_intervals()));
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            remote_peer: report.remote_peer.to_string(),
            cipher: report.cipher.map(String::from),
            connect_ms: Some(millis(report.connect_duration)),
            total_seconds: report.total_duration.as_secs_f64(),
            total: (&report.stream).into(),
            streams: report.streams.iter().map(Into::into).collect(),
            rtt_ms: report.rtt.map(millis),
            rtt_samples_ms: report.rtt_samples.iter().copied().map(millis).collect(),
            intervals,
            yamux: (&report.stats).into(),
            latency_ms: Vec::new(),
            latency_under_load: None,
            fairness,
            short_flows: report.short_flows.clone(),
            churn: None,
            process: crate::procstat::read(None),
            git: crate::build_info::git_revision(),
        }
    }

    /// The report of a latency run.
    pub fn from_latency(report: &LatencyReport) -> Self {
        Self {
            remote_peer: report.remote_peer.to_string(),
            cipher: report.cipher.map(String::from),
            rtt_ms: report.rtt_samples.last().copied().map(millis),
            rtt_samples_ms: report.rtt_samples.iter().copied().map(millis).collect(),
            ..Self::latency_only(report.connect_duration, &report.samples)
        }
    }

    /// The report of a churn run: the connection of `report`, which holds no samples (the
    /// streams' times are summarised in `churn`, not listed in `latency_ms`).
    pub fn from_churn(report: &LatencyReport, churn: ChurnReport) -> Self {
        Self {
            total_seconds: churn.seconds,
            churn: Some(churn),
            ..Self::from_latency(report)
        }
    }

    /// A report of 1-byte round trips alone, without a peer or yamux RTT.
    fn latency_only(connect: Duration, samples: &[Duration]) -> Self {
        let zero = Direction {
            bytes: 0,
            seconds: 0.0,
            bits_per_second: 0.0,
        };
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            remote_peer: String::new(),
            cipher: None,
            connect_ms: Some(millis(connect)),
            total_seconds: samples.iter().sum::<Duration>().as_secs_f64(),
            total: StreamSummary {
                upload: zero,
                download: zero,
                time_to_first_byte_ms: 0.0,
            },
            streams: Vec::new(),
            rtt_ms: None,
            rtt_samples_ms: Vec::new(),
            intervals: Vec::new(),
            yamux: (&Stats::default()).into(),
            latency_ms: samples.iter().copied().map(millis).collect(),
            latency_under_load: None,
            fairness: None,
            short_flows: None,
            churn: None,
            process: crate::procstat::read(None),
            git: crate::build_info::git_revision(),
        }
    }

    /// The report of a bare-TCP (`--stack tcp`) throughput run: one "stream" per connection, no
    /// peer id, yamux RTT or yamux counters (all zero).
    pub fn from_tcp(report: &TcpReport, intervals: Vec<Line>) -> Self {
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            remote_peer: String::new(),
            cipher: None,
            connect_ms: Some(millis(report.connect_duration)),
            total_seconds: report.total_duration.as_secs_f64(),
            total: (&report.stream).into(),
            streams: report.streams.iter().map(Into::into).collect(),
            rtt_ms: None,
            rtt_samples_ms: Vec::new(),
            intervals,
            yamux: (&Stats::default()).into(),
            latency_ms: Vec::new(),
            latency_under_load: None,
            fairness: None,
            short_flows: None,
            churn: None,
            process: crate::procstat::read(None),
            git: crate::build_info::git_revision(),
        }
    }

    /// The report of a bare-TCP ping-pong run.
    pub fn from_tcp_latency(report: &TcpLatencyReport) -> Self {
        Self::latency_only(report.connect_duration, &report.samples)
    }
}

/// Percentiles of latency samples in ms: (p50, p90, p99, max), from an HDR histogram in µs.
pub fn latency_percentiles(samples_ms: &[f64]) -> Option<(f64, f64, f64, f64)> {
    let mut h = hdrhistogram::Histogram::<u64>::new(3).ok()?;
    for ms in samples_ms {
        h.record((ms * 1e3).round().max(1.0) as u64).ok()?;
    }
    if h.is_empty() {
        return None;
    }
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1e3;
    Some((q(0.5), q(0.9), q(0.99), h.max() as f64 / 1e3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_test_plans_keys() {
        let line = Line {
            kind: LineKind::Intermediary,
            time_seconds: 1.5,
            upload_bytes: 3,
            download_bytes: 4,
        };
        assert_eq!(
            line.to_json(),
            r#"{"type":"intermediary","timeSeconds":1.5,"uploadBytes":3,"downloadBytes":4}"#
        );
        let parsed: Line = serde_json::from_str(
            r#"{"type":"final","timeSeconds":0.19,"uploadBytes":1,"downloadBytes":1}"#,
        )
        .unwrap();
        assert_eq!(parsed.kind, LineKind::Final);
    }

    #[test]
    fn trace_lines_carry_the_documented_fields() {
        let recv = TraceEvent::RecvWindow {
            t: Duration::from_millis(1500),
            stream: 1,
            rtt: Some(Duration::from_millis(50)),
            window: 524_288,
            delta: 393_216,
            since_last_update: Duration::from_millis(120),
            doubled: true,
        };
        let line = serde_json::to_value(trace_line(2, &recv)).unwrap();
        assert_eq!(line["t_ms"], 1500.0);
        assert_eq!(line["connection"], 2);
        assert_eq!(line["rtt_ms"], 50.0);
        assert_eq!(line["recv_window"], 524_288);
        assert_eq!(line["since_last_update_ms"], 120.0);
        assert_eq!(line["doubled"], true);
        let mut text = Vec::new();
        write_trace(&[(1, recv)], &mut text).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "{\"connection\":1,\"delta\":393216,\"doubled\":true,\"recv_window\":524288,\"rtt_ms\":50.0,\"since_last_update_ms\":120.0,\"stream\":1,\"t_ms\":1500.0}\n",
            "the fields in the order of every committed trace"
        );
        let send = TraceEvent::SendCredit {
            t: Duration::ZERO,
            stream: 3,
            credit: 7,
            blocked: None,
        };
        let line = serde_json::to_value(trace_line(0, &send)).unwrap();
        assert_eq!(
            (line["send_window"].as_u64(), line["blocked_ms"].is_null()),
            (Some(7), true)
        );
    }

    #[test]
    fn reports_record_the_binary_revision_and_older_ones_still_parse() {
        let report = RunReport::latency_only(Duration::from_millis(2), &[Duration::from_millis(1)]);
        assert_eq!(report.git, crate::build_info::git_revision());
        let mut json = serde_json::to_value(&report).unwrap();
        if let Some(git) = &report.git {
            assert_eq!(json["git"]["revision"], git.revision.as_str());
            assert_eq!(json["git"]["dirty"], git.dirty);
        }
        json.as_object_mut().unwrap().remove("git");
        let old: RunReport = serde_json::from_value(json).unwrap();
        assert_eq!(old.git, None, "a report from before the field parses");
        assert_eq!(old.latency_ms, report.latency_ms);
    }
}
