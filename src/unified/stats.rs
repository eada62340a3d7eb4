//! The dialer's summary of one measurement, in the YAML that libp2p/unified-testing's perf
//! harness keeps (perf/lib/run-single-test.sh keeps only the lines matching
//! `(upload:|download:|latency:|  (iterations|min|q1|median|q3|max|outliers|samples|unit):)`).
//!
//! Quartiles interpolate linearly between the two nearest ranks (position `p · (n − 1)` of the
//! sorted values), as the harness's reference images compute them; outliers lie beyond
//! 1.5 · IQR from the quartiles, and `min`/`max` are those of the other values.

use std::fmt::Write;

/// The fields of each block that the harness keeps, in order.
pub const FIELDS: [&str; 9] = [
    "iterations",
    "min",
    "q1",
    "median",
    "q3",
    "max",
    "outliers",
    "samples",
    "unit",
];

/// One block of the YAML: what was measured, in which unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Iterations asked for (all of them succeeded).
    pub iterations: usize,
    /// Smallest value that is not an outlier.
    pub min: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Largest value that is not an outlier.
    pub max: f64,
    /// Values beyond 1.5 · IQR from the quartiles, in measurement order.
    pub outliers: Vec<f64>,
    /// Every value, in measurement order.
    pub samples: Vec<f64>,
}

/// The value at fraction `p` of `sorted` (non-empty), interpolated between ranks.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let at = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

impl Stats {
    /// The summary of `samples`; `None` when there are none (or one is not a number).
    pub fn of(samples: Vec<f64>) -> Option<Self> {
        if samples.is_empty() || samples.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let (q1, median, q3) = (
            quantile(&sorted, 0.25),
            quantile(&sorted, 0.5),
            quantile(&sorted, 0.75),
        );
        let (low, high) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
        let outlier = |v: f64| v < low || v > high;
        let inside: Vec<f64> = sorted.iter().copied().filter(|&v| !outlier(v)).collect();
        // Quartiles lie inside the fences, so some value always does.
        let (min, max) = (inside[0], inside[inside.len() - 1]);
        Some(Self {
            iterations: samples.len(),
            min,
            q1,
            median,
            q3,
            max,
            outliers: samples.iter().copied().filter(|&v| outlier(v)).collect(),
            samples,
        })
    }

    /// The block `name:` with its two-space-indented fields, values with `decimals` decimals.
    pub fn yaml(&self, name: &str, unit: &str, decimals: usize) -> String {
        let list = |values: &[f64]| {
            let items: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
            format!("[{}]", items.join(", "))
        };
        let mut out = format!("{name}:\n  iterations: {}\n", self.iterations);
        for (field, value) in [
            ("min", self.min),
            ("q1", self.q1),
            ("median", self.median),
            ("q3", self.q3),
            ("max", self.max),
        ] {
            let _ = writeln!(out, "  {field}: {value:.decimals$}");
        }
        let _ = writeln!(out, "  outliers: {}", list(&self.outliers));
        let _ = writeln!(out, "  samples: {}", list(&self.samples));
        let _ = writeln!(out, "  unit: {unit}");
        out
    }
}

/// The dialer's whole stdout: upload and download in Gbit/s, latency in ms.
pub fn report(upload: &Stats, download: &Stats, latency: &Stats) -> String {
    format!(
        "# Upload measurement\n{}\n# Download measurement\n{}\n# Latency measurement\n{}",
        upload.yaml("upload", "Gbps", 2),
        download.yaml("download", "Gbps", 2),
        latency.yaml("latency", "ms", 3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_between_ranks() {
        let s = Stats::of(vec![4.0, 1.0, 3.0, 2.0]).unwrap();
        // Positions 0.75, 1.5 and 2.25 of [1, 2, 3, 4].
        assert_eq!((s.q1, s.median, s.q3), (1.75, 2.5, 3.25));
        assert_eq!((s.min, s.max, s.iterations), (1.0, 4.0, 4));
        assert!(s.outliers.is_empty());
        assert_eq!(s.samples, [4.0, 1.0, 3.0, 2.0], "samples keep their order");
    }

    #[test]
    fn outliers_leave_min_and_max() {
        let s = Stats::of(vec![10.0, 10.5, 11.0, 10.2, 0.5, 10.8, 30.0]).unwrap();
        assert_eq!(s.outliers, [0.5, 30.0]);
        assert_eq!((s.min, s.max), (10.0, 11.0));
        let one = Stats::of(vec![7.0]).unwrap();
        assert_eq!(
            (one.min, one.q1, one.median, one.q3, one.max),
            (7.0, 7.0, 7.0, 7.0, 7.0)
        );
        assert_eq!(Stats::of(Vec::new()), None);
        assert_eq!(Stats::of(vec![1.0, f64::NAN]), None);
    }

    #[test]
    fn every_line_passes_the_harness_filter() {
        let s = Stats::of(vec![1.0, 2.0, 3.0]).unwrap();
        let text = report(&s, &s, &s);
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                ["upload:", "download:", "latency:"].contains(l)
                    || FIELDS.iter().any(|f| l.starts_with(&format!("  {f}:")))
            })
            .collect();
        assert_eq!(kept.len(), 3 * 10, "{text}");
        assert!(
            text.contains("upload:\n  iterations: 3\n  min: 1.00\n"),
            "{text}"
        );
        assert!(
            text.contains("  samples: [1.000, 2.000, 3.000]\n  unit: ms\n"),
            "{text}"
        );
    }
}
