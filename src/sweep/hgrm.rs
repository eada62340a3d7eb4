//! HDR histograms as `.hgrm` text: HdrHistogram's percentile-distribution format.
//!
//! The layout is Java HdrHistogram's `outputPercentileDistribution` (what wrk2 and the
//! HdrHistogram plotter read), with 5 percentile ticks per half distance:
//!
//! ```text
//!        Value     Percentile TotalCount 1/(1-Percentile)
//!
//!       50.175 0.000000000000          1           1.00
//!       …
//!       52.031 1.000000000000         50
//! #[Mean    =       50.612, StdDeviation   =        0.402]
//! #[Max     =       52.031, Total count    =           50]
//! #[Buckets =           20, SubBuckets     =         2048]
//! ```
//!
//! Values are recorded as integers in a fine unit (µs, kbit/s) and printed divided by a scaling
//! ratio (1000: ms, Mbit/s), as `outputValueUnitScalingRatio` does; the unit is in the file name
//! (`latency_ms.hgrm`). The crate has no text writer, so this module writes and parses the
//! format itself.

use std::io::{self, Write};

use hdrhistogram::Histogram;

/// Significant digits kept, and decimals printed.
const SIGFIG: u8 = 3;

/// Percentile ticks per half distance (Java's default for this output).
const TICKS_PER_HALF: u32 = 5;

/// Why a `.hgrm` text did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HgrmError {
    /// The first line is not the column header.
    #[error("missing the header line `Value Percentile TotalCount 1/(1-Percentile)`")]
    Header,
    /// A line that is neither a value row nor a `#[…]` footer.
    #[error("line {line}: {text:?} is not a percentile row")]
    Row {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The footer lines are missing or malformed.
    #[error("missing or malformed footer ({0})")]
    Footer(&'static str),
}

/// An empty histogram that grows as needed, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant digits is a valid configuration")
}

/// Records `value` (in the printed unit) as an integer in units of `1/scale`.
pub fn record_scaled(h: &mut Histogram<u64>, value: f64, scale: f64) {
    if value.is_finite() && value >= 0.0 {
        let v = (value * scale).round() as u64;
        // `record` grows the histogram (`saturating_record` would clamp to its current top);
        // it fails only past what 64-bit counts can track, which then saturates.
        if h.record(v).is_err() {
            h.saturating_record(v);
        }
    }
}

/// Java's sub-bucket count for a number of significant digits.
fn sub_bucket_count(sigfig: u8) -> u64 {
    let single_unit = 2.0 * 10f64.powi(i32::from(sigfig));
    1u64 << (single_unit.log2().ceil() as u32)
}

/// Writes `h` in the percentile-distribution format, values divided by `scale`.
pub fn write(h: &Histogram<u64>, scale: f64, mut out: impl Write) -> io::Result<()> {
    let d = usize::from(SIGFIG);
    writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(TICKS_PER_HALF) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / scale;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                writeln!(
                    out,
                    "{value:12.d$} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                )?;
            } else {
                writeln!(out, "{value:12.d$} {q:2.12} {total:10}")?;
            }
        }
    }
    let (mean, stdev) = if h.is_empty() {
        (0.0, 0.0)
    } else {
        (h.mean() / scale, h.stdev() / scale)
    };
    writeln!(
        out,
        "#[Mean    = {mean:12.d$}, StdDeviation   = {stdev:12.d$}]"
    )?;
    writeln!(
        out,
        "#[Max     = {:12.d$}, Total count    = {:12}]",
        h.max() as f64 / scale,
        h.len()
    )?;
    writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_bucket_count(SIGFIG)
    )?;
    out.flush()
}

/// One row of a `.hgrm` file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Value, in the printed unit.
    pub value: f64,
    /// Fraction of samples at or below it (0 to 1).
    pub percentile: f64,
    /// Samples at or below it.
    pub total_count: u64,
}

/// A parsed `.hgrm` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The rows, by rising percentile.
    pub rows: Vec<Row>,
    /// From the footer.
    pub mean: f64,
    /// From the footer.
    pub stdev: f64,
    /// From the footer.
    pub max: f64,
    /// From the footer.
    pub total_count: u64,
}

impl Parsed {
    /// The smallest value at or above `percentile` (0 to 1), as the file resolves it.
    pub fn value_at(&self, percentile: f64) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.percentile >= percentile)
            .or(self.rows.last())
            .map(|r| r.value)
    }
}

/// The two numbers of a footer line `#[A = x, B = y]`.
fn footer(line: Option<&str>, first: &'static str) -> Result<(f64, f64), HgrmError> {
    let line = line.ok_or(HgrmError::Footer(first))?;
    let inner = line
        .strip_prefix("#[")
        .and_then(|l| l.strip_suffix(']'))
        .filter(|l| l.starts_with(first))
        .ok_or(HgrmError::Footer(first))?;
    let mut numbers = inner
        .split(',')
        .map(|part| part.split_once('=').map(|(_, v)| v.trim().parse::<f64>()));
    match (numbers.next(), numbers.next()) {
        (Some(Some(Ok(a))), Some(Some(Ok(b)))) => Ok((a, b)),
        _ => Err(HgrmError::Footer(first)),
    }
}

/// Parses the percentile-distribution format.
pub fn parse(text: &str) -> Result<Parsed, HgrmError> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| l.split_whitespace().collect::<Vec<_>>());
    if header.as_deref() != Some(&["Value", "Percentile", "TotalCount", "1/(1-Percentile)"][..]) {
        return Err(HgrmError::Header);
    }
    let mut rows = Vec::new();
    let mut footers = Vec::new();
    for (i, line) in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with("#[") {
            footers.push(trimmed);
            continue;
        }
        let bad = || HgrmError::Row {
            line: i + 1,
            text: line.to_string(),
        };
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(bad());
        }
        rows.push(Row {
            value: fields[0].parse().map_err(|_| bad())?,
            percentile: fields[1].parse().map_err(|_| bad())?,
            total_count: fields[2].parse().map_err(|_| bad())?,
        });
    }
    let mut footers = footers.into_iter();
    let (mean, stdev) = footer(footers.next(), "Mean")?;
    let (max, total) = footer(footers.next(), "Max")?;
    footer(footers.next(), "Buckets")?;
    Ok(Parsed {
        rows,
        mean,
        stdev,
        max,
        total_count: total as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(h: &Histogram<u64>, scale: f64) -> String {
        let mut out = Vec::new();
        write(h, scale, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn written_values_read_back() {
        let mut h = new_histogram();
        // A first large value must grow the histogram, not be clamped.
        record_scaled(&mut h, 20.8, 1000.0);
        assert_eq!(h.max(), h.highest_equivalent(20_800));
        let mut h = new_histogram();
        let samples: Vec<f64> = (1..=100).map(|ms| ms as f64 + 0.25).collect();
        for ms in &samples {
            record_scaled(&mut h, *ms, 1000.0);
        }
        let written = text(&h, 1000.0);
        assert!(
            written.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"),
            "{written}"
        );
        let parsed = parse(&written).unwrap();
        assert_eq!(parsed.total_count, 100);
        let last = parsed.rows.last().unwrap();
        assert_eq!((last.total_count, last.percentile), (100, 1.0));
        // Every row's count is the number of samples at or below its value.
        for row in &parsed.rows {
            let below = samples.iter().filter(|s| **s <= row.value).count() as u64;
            assert_eq!(row.total_count, below, "{row:?}");
        }
        let median = parsed.value_at(0.5).unwrap();
        assert!((median - 50.25).abs() < 0.1, "{median}");
        assert!((parsed.max - 100.25).abs() < 0.1, "{}", parsed.max);
        assert!((parsed.mean - 50.75).abs() < 0.1, "{}", parsed.mean);
        assert!(
            written.contains("SubBuckets     =         2048]"),
            "{written}"
        );
    }

    #[test]
    fn empty_histograms_still_have_a_footer() {
        let parsed = parse(&text(&new_histogram(), 1.0)).unwrap();
        assert!(parsed.rows.is_empty());
        assert_eq!(parsed.total_count, 0);
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(parse(""), Err(HgrmError::Header));
        assert_eq!(parse("Value Percentile\n"), Err(HgrmError::Header));
        let header = "Value Percentile TotalCount 1/(1-Percentile)\n\n";
        assert!(matches!(
            parse(&format!("{header}1.0 x 3 4\n")),
            Err(HgrmError::Row { line: 3, .. })
        ));
        assert!(matches!(
            parse(&format!("{header}1.0 0.5 3 2.0\n")),
            Err(HgrmError::Footer("Mean"))
        ));
    }
}
