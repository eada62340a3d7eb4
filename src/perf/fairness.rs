//! Fairness between the perf streams of one run: per-stream bytes per interval, Jain's
//! fairness index, staggered starts and short flows during a bulk transfer.
//!
//! Jain's index (R. Jain, D. Chiu, W. Hawe, "A Quantitative Measure of Fairness and
//! Discrimination for Resource Allocation in Shared Computer Systems", DEC-TR-301, 1984) of
//! shares x₁…xₙ is (Σx)² / (n·Σx²): 1 when every share is equal, 1/n when one share has
//! everything.
//!
//! Which streams an interval counts: a stream takes part in an interval's index only if it was
//! open for the whole interval (opened before the interval began, not finished before it
//! ended). A stream that starts late (`--stagger`) is not counted against in the intervals
//! before it opened, nor is one that finished early in the interval it finished in. An interval
//! with fewer than two such streams has no index.

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Progress, StreamReport};
use crate::probe::Percentiles;
use crate::units::ByteSize;

/// Jain's fairness index of `shares`: (Σx)² / (n·Σx²); `None` for no shares or all zero.
pub fn jain(shares: &[f64]) -> Option<f64> {
    let sum: f64 = shares.iter().sum();
    let squares: f64 = shares.iter().map(|x| x * x).sum();
    (!shares.is_empty() && squares > 0.0).then(|| sum * sum / (shares.len() as f64 * squares))
}

/// One bulk stream's counters and its open and finish times, read by the interval ticker.
#[derive(Debug)]
pub struct StreamSlot {
    /// The stream's own byte counts (they also add to the run's total).
    pub progress: Arc<Progress>,
    started: OnceLock<Instant>,
    finished: OnceLock<Instant>,
}

impl StreamSlot {
    /// A slot whose counts also add to `total`.
    pub fn new(total: &Arc<Progress>) -> Self {
        Self {
            progress: Arc::new(Progress::for_stream(total)),
            started: OnceLock::new(),
            finished: OnceLock::new(),
        }
    }

    /// The stream is being opened now.
    pub fn start(&self) {
        let _ = self.started.set(Instant::now());
    }

    /// The stream's last byte arrived now (or it failed).
    pub fn finish(&self) {
        let _ = self.finished.set(Instant::now());
    }

    fn bytes(&self) -> u64 {
        self.progress.uploaded.load(Ordering::Relaxed)
            + self.progress.downloaded.load(Ordering::Relaxed)
    }

    /// Open for the whole of an interval that began at `since` and ends now.
    fn open_throughout(&self, since: Instant) -> bool {
        self.started.get().is_some_and(|s| *s <= since) && self.finished.get().is_none()
    }
}

/// The bytes each bulk stream moved in one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareInterval {
    /// Interval length, seconds.
    pub seconds: f64,
    /// Bytes (both directions) per stream, in the order of the report's `streams`.
    pub stream_bytes: Vec<u64>,
    /// Whether each stream counts in this interval's index (open for the whole interval).
    pub counted: Vec<bool>,
    /// Jain's index over the counted streams; `None` with fewer than two.
    pub jain: Option<f64>,
}

/// The per-stream bytes of every interval so far (the ticker records one per tick, the client
/// one more for the tail after the last stream finished).
#[derive(Debug, Default)]
pub struct ShareLog {
    last: Option<Instant>,
    last_bytes: Vec<u64>,
    intervals: Vec<ShareInterval>,
}

impl ShareLog {
    /// Closes the interval that ends now; the first call only starts the first interval.
    pub fn record(&mut self, slots: &[Arc<StreamSlot>]) {
        let now = Instant::now();
        let Some(since) = self.last.replace(now) else {
            self.last_bytes = slots.iter().map(|s| s.bytes()).collect();
            return;
        };
        self.last_bytes.resize(slots.len(), 0);
        let mut stream_bytes = Vec::with_capacity(slots.len());
        let mut counted = Vec::with_capacity(slots.len());
        for (slot, last) in slots.iter().zip(&mut self.last_bytes) {
            let bytes = slot.bytes();
            stream_bytes.push(bytes - *last);
            counted.push(slot.open_throughout(since));
            *last = bytes;
        }
        let shares: Vec<f64> = stream_bytes
            .iter()
            .zip(&counted)
            .filter(|(_, c)| **c)
            .map(|(b, _)| *b as f64)
            .collect();
        self.intervals.push(ShareInterval {
            seconds: (now - since).as_secs_f64(),
            stream_bytes,
            counted,
            jain: if shares.len() >= 2 {
                jain(&shares)
            } else {
                None
            },
        });
    }

    /// The intervals recorded.
    pub fn into_intervals(self) -> Vec<ShareInterval> {
        self.intervals
    }
}

/// The `fairness` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    /// Bulk streams (all connections).
    pub streams: usize,
    /// Jain's index over each stream's goodput (its bytes over its own open-to-last-byte time).
    pub jain_overall: Option<f64>,
    /// Each interval's index (`None`: fewer than two streams open for the whole interval).
    pub jain_per_interval: Vec<Option<f64>>,
    /// The lowest per-interval index after the first interval (`None`: no such interval).
    pub min_jain_after_first: Option<f64>,
    /// Every interval's per-stream bytes.
    pub intervals: Vec<ShareInterval>,
}

impl Fairness {
    /// The fairness of `streams`, whose per-interval bytes are `intervals`.
    pub fn new(streams: &[StreamReport], intervals: Vec<ShareInterval>) -> Self {
        let goodputs: Vec<f64> = streams
            .iter()
            .map(|s| {
                let bytes = (s.upload_bytes + s.download_bytes) as f64;
                bytes / (s.finished - s.started).as_secs_f64().max(1e-9)
            })
            .collect();
        let jain_per_interval: Vec<Option<f64>> = intervals.iter().map(|i| i.jain).collect();
        let min_jain_after_first = jain_per_interval
            .iter()
            .skip(1)
            .flatten()
            .copied()
            .reduce(f64::min);
        Self {
            streams: streams.len(),
            jain_overall: jain(&goodputs),
            jain_per_interval,
            min_jain_after_first,
            intervals,
        }
    }

    /// One line for stderr.
    pub fn summary(&self) -> String {
        let index = |j: Option<f64>| j.map_or("n/a".to_string(), |j| format!("{j:.4}"));
        let measured = self.jain_per_interval.iter().flatten().count();
        format!(
            "fairness  {} streams: Jain's index {} overall (per-stream goodput), min {} per interval after the first ({measured} of {} intervals with an index)",
            self.streams,
            index(self.jain_overall),
            index(self.min_jain_after_first),
            self.intervals.len(),
        )
    }
}

/// `--short-flows COUNT:SIZE`: COUNT short perf streams of SIZE download each during the bulk
/// transfer (in JSON: the `COUNT:SIZE` text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShortFlows {
    /// How many (at least 1).
    pub count: usize,
    /// Bytes each one downloads (at least 1).
    pub size: u64,
}

/// How far apart the short flows are opened: one every this long from the start of the bulk
/// streams, each whether or not the one before it has finished (an open loop).
pub const SHORT_FLOW_SPACING: Duration = Duration::from_millis(100);

/// A `--short-flows` value that is not `COUNT:SIZE` with both above 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid short flows {text:?}: {why} (expected COUNT:SIZE, e.g. 20:64KiB)")]
pub struct ShortFlowsError {
    text: String,
    why: String,
}

impl FromStr for ShortFlows {
    type Err = ShortFlowsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |why: String| ShortFlowsError {
            text: text.to_string(),
            why,
        };
        let (count, size) = text
            .split_once(':')
            .ok_or_else(|| error("no ':' between the count and the size".into()))?;
        let count: usize = count
            .trim()
            .parse()
            .map_err(|_| error(format!("the count {count:?} is not a whole number")))?;
        let size: ByteSize = size.trim().parse().map_err(|e| error(format!("{e}")))?;
        if count == 0 || size.bytes() == 0 {
            return Err(error("the count and the size must be at least 1".into()));
        }
        Ok(Self {
            count,
            size: size.bytes(),
        })
    }
}

impl TryFrom<String> for ShortFlows {
    type Error = ShortFlowsError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<ShortFlows> for String {
    fn from(flows: ShortFlows) -> Self {
        flows.to_string()
    }
}

impl std::fmt::Display for ShortFlows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.count, ByteSize(self.size))
    }
}

/// The `short_flows` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShortFlowsReport {
    /// Flows opened.
    pub count: usize,
    /// Bytes each downloaded.
    pub size_bytes: u64,
    /// One opened every this long, ms ([`SHORT_FLOW_SPACING`]).
    pub spacing_ms: f64,
    /// Flow completion time (before the stream was opened to its last byte), ms.
    pub fct_ms: Percentiles,
    /// Flows that finished before the last bulk stream did.
    pub completed_during_bulk: usize,
    /// Every flow's completion time, ms, in the order they were opened.
    pub samples_ms: Vec<f64>,
}

impl ShortFlowsReport {
    /// The report of flows that completed in `fct`, the ones before `bulk_end` counted as
    /// during the bulk transfer.
    pub fn new(flows: ShortFlows, fct: &[(Duration, Instant)], bulk_end: Instant) -> Self {
        let mut h = crate::probe::histogram();
        for (d, _) in fct {
            let _ = h.record((d.as_micros() as u64).max(1));
        }
        Self {
            count: flows.count,
            size_bytes: flows.size,
            spacing_ms: SHORT_FLOW_SPACING.as_secs_f64() * 1e3,
            fct_ms: Percentiles::of(&h),
            completed_during_bulk: fct.iter().filter(|(_, end)| *end <= bulk_end).count(),
            samples_ms: fct.iter().map(|(d, _)| d.as_secs_f64() * 1e3).collect(),
        }
    }

    /// One line for stderr.
    pub fn summary(&self) -> String {
        let p = &self.fct_ms;
        format!(
            "short flows {} x {}: completion p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, n {} ({} during the bulk transfer)",
            self.count,
            ByteSize(self.size_bytes),
            p.p50,
            p.p90,
            p.p99,
            p.max,
            p.n,
            self.completed_during_bulk
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_of_the_textbook_cases() {
        assert_eq!(jain(&[5.0; 16]), Some(1.0), "equal shares");
        let mut one = vec![0.0; 8];
        one[3] = 100.0;
        assert!(
            (jain(&one).unwrap() - 1.0 / 8.0).abs() < 1e-12,
            "one has all"
        );
        // Two streams at 1 and 3: 16 / (2 * 10) = 0.8.
        assert!((jain(&[1.0, 3.0]).unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(jain(&[]), None);
        assert_eq!(jain(&[0.0, 0.0]), None);
        // Scale-free.
        assert_eq!(jain(&[2.0, 6.0]), jain(&[1.0, 3.0]));
    }

    #[test]
    fn short_flows_parse_and_refuse_bad_input() {
        assert_eq!(
            "20:64KiB".parse::<ShortFlows>().unwrap(),
            ShortFlows {
                count: 20,
                size: 65536
            }
        );
        assert_eq!(
            "20:64KiB".parse::<ShortFlows>().unwrap().to_string(),
            "20:64KiB"
        );
        for bad in ["0:1KiB", "x", "3:0", "-1:1KiB", "3:lots", ":1KiB"] {
            let e = bad.parse::<ShortFlows>().unwrap_err().to_string();
            assert!(e.contains("COUNT:SIZE"), "{bad}: {e}");
        }
    }

    #[test]
    fn late_and_finished_streams_are_not_counted() {
        let total = Arc::new(Progress::default());
        let slots: Vec<Arc<StreamSlot>> =
            (0..3).map(|_| Arc::new(StreamSlot::new(&total))).collect();
        let mut log = ShareLog::default();
        slots[0].start();
        slots[1].start();
        log.record(&slots);
        slots[0].progress.add_downloaded(100);
        slots[1].progress.add_downloaded(100);
        slots[2].start();
        slots[2].progress.add_downloaded(1);
        log.record(&slots);
        slots[0].progress.add_downloaded(10);
        slots[1].progress.add_downloaded(30);
        slots[2].progress.add_downloaded(500);
        slots[2].finish();
        log.record(&slots);
        let intervals = log.into_intervals();
        assert_eq!(intervals[0].stream_bytes, [100, 100, 1]);
        assert_eq!(intervals[0].counted, [true, true, false]);
        assert_eq!(intervals[0].jain, Some(1.0), "the late stream is left out");
        assert_eq!(intervals[1].counted, [true, true, false]);
        assert!((intervals[1].jain.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(total.downloaded.load(Ordering::Relaxed), 741);
    }
}
