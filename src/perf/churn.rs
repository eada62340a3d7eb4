//! Stream churn (`client --churn N[:CONCURRENCY]`): N perf streams of 1 byte each way, opened
//! and closed on one connection, at most CONCURRENCY at a time; streams per second, the
//! open-to-close time of each, and the process's resident memory after the first
//! [`RSS_CHECKPOINT`] streams and at the end (a per-stream leak shows as growth between the two).

use std::str::FromStr;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::probe::Percentiles;

/// The resident memory is read once this many streams have completed, and again at the end.
pub const RSS_CHECKPOINT: usize = 1000;

/// Concurrency when `--churn N` gives none.
pub const DEFAULT_CONCURRENCY: usize = 1;

/// A `--churn` value: how many streams, how many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Churn {
    /// Streams opened and closed in all (at least 1).
    pub count: usize,
    /// Streams open at the same time (1 to `count`).
    pub concurrency: usize,
}

/// A `--churn` value that is not `N` or `N:CONCURRENCY` with both at least 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid churn {text:?}: {why} (expected N or N:CONCURRENCY, e.g. 100000:16)")]
pub struct ChurnError {
    text: String,
    why: String,
}

impl FromStr for Churn {
    type Err = ChurnError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |why: String| ChurnError {
            text: text.to_string(),
            why,
        };
        let number = |part: &str, what: &str| {
            let n: usize = part
                .trim()
                .parse()
                .map_err(|_| error(format!("the {what} {part:?} is not a whole number")))?;
            if n == 0 {
                return Err(error(format!("the {what} must be at least 1")));
            }
            Ok(n)
        };
        let (count, concurrency) = match text.split_once(':') {
            Some((count, concurrency)) => {
                (number(count, "count")?, number(concurrency, "concurrency")?)
            }
            None => (number(text, "count")?, DEFAULT_CONCURRENCY),
        };
        if concurrency > count {
            return Err(error(format!(
                "the concurrency {concurrency} is above the count {count}"
            )));
        }
        Ok(Self { count, concurrency })
    }
}

impl TryFrom<String> for Churn {
    type Error = ChurnError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Churn> for String {
    fn from(churn: Churn) -> Self {
        churn.to_string()
    }
}

impl std::fmt::Display for Churn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.count, self.concurrency)
    }
}

/// The `churn` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnReport {
    /// Streams opened and closed.
    pub count: usize,
    /// At most this many at once.
    pub concurrency: usize,
    /// From the first open to the last close, seconds.
    pub seconds: f64,
    /// `count` over `seconds`.
    pub streams_per_second: f64,
    /// Each stream's time from before its open to its close (the 1-byte answer and both FINs),
    /// ms.
    pub open_to_close_ms: Percentiles,
    /// The process's resident memory (`VmRSS`) once [`RSS_CHECKPOINT`] streams had completed,
    /// bytes (`None`: fewer streams, or not Linux).
    pub rss_after_checkpoint_bytes: Option<u64>,
    /// The process's resident memory after the last stream, bytes (`None` elsewhere than Linux).
    pub rss_at_end_bytes: Option<u64>,
}

impl ChurnReport {
    /// The report of `churn`, whose streams' open-to-close times (µs) are in `h`, all within
    /// `elapsed`.
    pub fn new(
        churn: Churn,
        h: &Histogram<u64>,
        elapsed: Duration,
        rss_after_checkpoint_bytes: Option<u64>,
        rss_at_end_bytes: Option<u64>,
    ) -> Self {
        let seconds = elapsed.as_secs_f64();
        let count = h.len() as usize;
        Self {
            count,
            concurrency: churn.concurrency,
            seconds,
            streams_per_second: count as f64 / seconds.max(1e-9),
            open_to_close_ms: Percentiles::of(h),
            rss_after_checkpoint_bytes,
            rss_at_end_bytes,
        }
    }

    /// One line for stderr.
    pub fn summary(&self) -> String {
        let p = &self.open_to_close_ms;
        let mib =
            |b: Option<u64>| b.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0));
        format!(
            "churn     {} streams, {} at a time: {:.0} streams/s, open to close p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; RSS {} after {RSS_CHECKPOINT}, {} at the end",
            self.count,
            self.concurrency,
            self.streams_per_second,
            p.p50,
            p.p99,
            p.max,
            mib(self.rss_after_checkpoint_bytes),
            mib(self.rss_at_end_bytes),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_values_parse_and_bad_ones_say_why() {
        assert_eq!(
            "100000:16".parse::<Churn>().unwrap(),
            Churn {
                count: 100_000,
                concurrency: 16
            }
        );
        assert_eq!("50".parse::<Churn>().unwrap().concurrency, 1);
        assert_eq!("7:7".parse::<Churn>().unwrap().to_string(), "7:7");
        for (bad, why) in [
            ("0", "at least 1"),
            ("10:0", "at least 1"),
            ("x", "not a whole number"),
            ("10:y", "not a whole number"),
            ("4:8", "above the count"),
            ("-3", "not a whole number"),
        ] {
            let e = bad.parse::<Churn>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("N:CONCURRENCY"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_report_counts_streams_per_second() {
        let churn = Churn {
            count: 4,
            concurrency: 2,
        };
        let mut h = crate::probe::histogram();
        for _ in 0..4 {
            h.record(1000).unwrap();
        }
        let r = ChurnReport::new(churn, &h, Duration::from_millis(2), Some(1), Some(2));
        assert_eq!(r.count, 4);
        assert!((r.streams_per_second - 2000.0).abs() < 1e-6);
        assert_eq!(r.open_to_close_ms.n, 4);
        assert!((r.open_to_close_ms.p50 - 1.0).abs() < 0.01);
    }
}
