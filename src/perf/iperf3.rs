//! iperf3's JSON document (`iperf3 --json`, the shape `iperf_api.c` of `esnet/iperf` builds) made
//! from a client's [`RunReport`], so that scripts written for iperf3 read our runs
//! (`client --json-format iperf3`).
//!
//! An iperf3 test moves bytes one way (or, with `--bidir`, both ways on separate streams); a
//! perf stream uploads and then downloads. The mapping, from what the client measured:
//!
//! - `end.sum_sent` is the upload (`sender: true`) and `end.sum_received` the download
//!   (`sender: false`), each with its own `seconds` and `bits_per_second = bytes × 8 / seconds`;
//!   `start` and `end` count from the first stream's opening (the upload phase ends when the
//!   server had all of it, the download phase runs from the first to the last download byte).
//!   A direction the run did not use has 0 bytes, 0 seconds and 0 bit/s.
//! - `end.streams[k]` is stream k: `sender` its upload, `receiver` its download (no `start` or
//!   `end`: the report keeps a stream's durations, not when it opened).
//! - `intervals[i].sum` is the upload of interval i (`sender: true`) or, in a run that only
//!   downloads, its download (`sender: false`, as in an `iperf3 -R` document); a run that does
//!   both has the download in `sum_bidir_reverse`, as `iperf3 --bidir` does. Interval times count
//!   from the interval clock, which starts just before the dial. The report has no per-stream
//!   intervals, so `intervals[i].streams` is left out.
//! - `end.cpu_utilization_percent` has `host_total`, `host_user` and `host_system`: the CPU
//!   seconds this process used from the start of the test (before the dial) to the document,
//!   over the wall-clock seconds between (with the in-process server, both sides run in this
//!   process). The remote side's CPU is not measured and left out.
//! - `start.test_start`: `protocol` is `TCP` (every stack runs over TCP), `num_streams` the perf
//!   streams of all connections, `bytes` the bytes uploaded.
//!
//! iperf3 fields that nothing here measures (sockets and local addresses, retransmits, cwnd,
//! TCP RTT, `omitted`, congestion control, the cookie) are left out rather than filled in.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::report::{Direction, Line, RunReport};
use crate::procstat::ProcessUsage;
use crate::units::{UtcTime, bits_per_second, unix_seconds};

/// An iperf3 `-J` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The test's setup.
    pub start: Start,
    /// Per-interval totals.
    pub intervals: Vec<Interval>,
    /// Totals of the test.
    pub end: End,
}

/// `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// `yamux-perf <version>`.
    pub version: String,
    /// When the test started.
    pub timestamp: Timestamp,
    /// The server's address.
    pub connecting_to: ConnectingTo,
    /// What the test did.
    pub test_start: TestStart,
}

/// `start.timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// `Mon, 07 Dec 2026 15:03:09 UTC`.
    pub time: String,
    /// Seconds since the Unix epoch.
    pub timesecs: u64,
}

/// `start.connecting_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectingTo {
    /// The server's IP address.
    pub host: String,
    /// Its port.
    pub port: u16,
}

/// `start.test_start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStart {
    /// `TCP`.
    pub protocol: String,
    /// Perf streams over all connections.
    pub num_streams: usize,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// Bytes moved one way over a span of time: an interval's `sum`, `end.sum_sent` or
/// `end.sum_received`, and (without `start` and `end`) one stream's side in `end.streams`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sum {
    /// Seconds from the time origin to the start of the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    /// Seconds from the time origin to the end of the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// The span's length.
    pub seconds: f64,
    /// Payload bytes.
    pub bytes: u64,
    /// `bytes × 8 / seconds` (0 for no time).
    pub bits_per_second: f64,
    /// Whether this client sent these bytes (upload) rather than received them (download).
    pub sender: bool,
}

impl Sum {
    fn new(start: Option<f64>, seconds: f64, bytes: u64, sender: bool) -> Self {
        Sum {
            start,
            end: start.map(|s| s + seconds),
            seconds,
            bytes,
            bits_per_second: bits_per_second(bytes, seconds),
            sender,
        }
    }

    fn of(d: &Direction, start: Option<f64>, sender: bool) -> Self {
        Sum::new(start, d.seconds, d.bytes, sender)
    }
}

/// One entry of `intervals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The upload of the interval, or the download in a download-only run.
    pub sum: Sum,
    /// The download of the interval, in a run that uploads and downloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_bidir_reverse: Option<Sum>,
}

/// One stream in `end.streams`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EndStream {
    /// Its upload.
    pub sender: Sum,
    /// Its download.
    pub receiver: Sum,
}

/// `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct End {
    /// Each stream.
    pub streams: Vec<EndStream>,
    /// The upload of all streams.
    pub sum_sent: Sum,
    /// The download of all streams.
    pub sum_received: Sum,
    /// This process's CPU over the run; absent where it is not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_utilization_percent: Option<CpuUtilization>,
}

/// `end.cpu_utilization_percent`: CPU seconds over wall-clock seconds, in percent (one busy core
/// is 100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuUtilization {
    /// User plus system.
    pub host_total: f64,
    /// User.
    pub host_user: f64,
    /// System.
    pub host_system: f64,
}

impl CpuUtilization {
    /// The CPU `usage` of `wall` seconds of run time; `None` for no time.
    pub fn of(usage: &ProcessUsage, wall: Duration) -> Option<Self> {
        let wall = wall.as_secs_f64();
        let percent = |s: f64| s / wall * 100.0;
        (wall > 0.0).then(|| CpuUtilization {
            host_total: percent(usage.cpu_user_s + usage.cpu_sys_s),
            host_user: percent(usage.cpu_user_s),
            host_system: percent(usage.cpu_sys_s),
        })
    }
}

impl Document {
    /// The document of a throughput run that started at `started` against `server`, with this
    /// process's CPU over the run where measured.
    pub fn new(
        report: &RunReport,
        started: SystemTime,
        server: SocketAddr,
        cpu: Option<CpuUtilization>,
    ) -> Self {
        let total = &report.total;
        let timesecs = unix_seconds(started);
        Document {
            start: Start {
                version: format!("yamux-perf {}", env!("CARGO_PKG_VERSION")),
                timestamp: Timestamp {
                    time: UtcTime::from_unix(timesecs).rfc2822(),
                    timesecs,
                },
                connecting_to: ConnectingTo {
                    host: server.ip().to_string(),
                    port: server.port(),
                },
                test_start: TestStart {
                    protocol: "TCP".into(),
                    num_streams: report.streams.len(),
                    bytes: total.upload.bytes,
                },
            },
            intervals: intervals(
                &report.intervals,
                total.upload.bytes > 0,
                total.download.bytes > 0,
            ),
            end: End {
                streams: report
                    .streams
                    .iter()
                    .map(|s| EndStream {
                        sender: Sum::of(&s.upload, None, true),
                        receiver: Sum::of(&s.download, None, false),
                    })
                    .collect(),
                sum_sent: Sum::of(&total.upload, Some(0.0), true),
                sum_received: Sum::of(
                    &total.download,
                    Some(total.time_to_first_byte_ms / 1e3),
                    false,
                ),
                cpu_utilization_percent: cpu,
            },
        }
    }
}

/// The intermediary lines as iperf3 intervals, for a run that `uploads` and/or `downloads`.
fn intervals(lines: &[Line], uploads: bool, downloads: bool) -> Vec<Interval> {
    let mut t = 0.0;
    lines
        .iter()
        .map(|l| {
            let start = Some(t);
            t += l.time_seconds;
            let up = Sum::new(start, l.time_seconds, l.upload_bytes, true);
            let down = Sum::new(start, l.time_seconds, l.download_bytes, false);
            if uploads {
                Interval {
                    sum: up,
                    sum_bidir_reverse: downloads.then_some(down),
                }
            } else {
                Interval {
                    sum: down,
                    sum_bidir_reverse: None,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::report::LineKind;

    fn line(seconds: f64, up: u64, down: u64) -> Line {
        Line {
            kind: LineKind::Intermediary,
            time_seconds: seconds,
            upload_bytes: up,
            download_bytes: down,
        }
    }

    #[test]
    fn intervals_follow_iperf3s_one_way_and_bidir_shapes() {
        let lines = [line(1.0, 1_000, 0), line(0.5, 500, 250)];
        let both = intervals(&lines, true, true);
        assert_eq!(both[1].sum.start, Some(1.0));
        assert_eq!(both[1].sum.end, Some(1.5));
        assert_eq!((both[1].sum.bytes, both[1].sum.sender), (500, true));
        assert_eq!(both[1].sum.bits_per_second, 8_000.0);
        let reverse = both[1].sum_bidir_reverse.unwrap();
        assert_eq!((reverse.bytes, reverse.sender), (250, false));
        assert_eq!(reverse.bits_per_second, 4_000.0);

        let up_only = intervals(&lines[..1], true, false);
        assert_eq!(up_only[0].sum_bidir_reverse, None);
        let down_only = intervals(&[line(2.0, 0, 4_000)], false, true);
        assert_eq!(
            (down_only[0].sum.bytes, down_only[0].sum.sender),
            (4_000, false)
        );
        assert_eq!(down_only[0].sum_bidir_reverse, None);
        let zero = Sum::new(Some(0.0), 0.0, 0, true);
        assert_eq!(zero.bits_per_second, 0.0, "no time, no rate");
    }
}
