//! The output formats of `compare`: a plain table, Markdown, JSON (the [`Comparison`] itself),
//! github-action-benchmark's custom-tool input and Bencher's metric format (BMF).
//!
//! github-action-benchmark (`benchmark-action/github-action-benchmark`, tools
//! `customBiggerIsBetter` and `customSmallerIsBetter`) reads a JSON array of
//! `{"name", "unit", "value", "range"?, "extra"?}`, where `range` and `extra` are strings, and one
//! action step takes one tool. [`github_action_benchmark`] therefore splits the rows into two
//! arrays, one per direction, which the CLI writes as two files.
//!
//! Bencher (`bencher.dev`, "Bencher Metric Format") reads one JSON object
//! `{"<benchmark>": {"<measure>": {"value", "lower_value"?, "upper_value"?}}}`; [`bmf`] names a
//! benchmark the way github-action-benchmark's entries name it, without the metric, and uses the
//! metric key as the measure slug. Both exports carry the same rows: those with a current value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Better, Comparison, Metric, Row, Verdict};
use crate::results::Spread;

/// A value of `metric` for people: Gbit/s and ms with 3 decimals, ns/B with 3 significant
/// digits, bytes in MiB.
pub fn value(metric: Metric, v: f64) -> String {
    match metric.unit() {
        "bytes" => format!("{:.1} MiB", v / (1u64 << 20) as f64),
        "ns/B" => {
            if v >= 100.0 {
                format!("{v:.0} ns/B")
            } else if v >= 10.0 {
                format!("{v:.1} ns/B")
            } else {
                format!("{v:.2} ns/B")
            }
        }
        unit => format!("{v:.3} {unit}"),
    }
}

/// `median (min–max)`, or the median alone for one value.
pub fn spread(metric: Metric, s: Option<&Spread>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.n <= 1 || s.min == s.max => value(metric, s.median),
        Some(s) => {
            let bare = |v: f64| {
                let text = value(metric, v);
                text.split(' ').next().unwrap_or_default().to_string()
            };
            format!(
                "{} ({}–{})",
                value(metric, s.median),
                bare(s.min),
                bare(s.max)
            )
        }
    }
}

fn ratio(r: &Row) -> String {
    r.ratio
        .map(|x| format!("{x:.3}"))
        .unwrap_or_else(|| "-".into())
}

fn verdict(r: &Row) -> String {
    let mark = match r.verdict {
        Verdict::Regressed => "REGRESSED",
        v => v.as_str(),
    };
    match &r.note {
        Some(note) => format!("{mark} ({note})"),
        None => mark.to_string(),
    }
}

fn headline(c: &Comparison) -> String {
    let rev = |s: &super::Side| {
        s.git
            .as_ref()
            .map(|g| format!("{}{}", g.revision, if g.dirty { "+dirty" } else { "" }))
            .unwrap_or_else(|| "unknown revision".into())
    };
    format!(
        "baseline {} ({}) vs current {} ({}), threshold {}%: {} regressed, {} improved, {} unchanged, {} missing",
        c.baseline.path,
        rev(&c.baseline),
        c.current.path,
        rev(&c.current),
        c.threshold * 100.0,
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
        c.count(Verdict::Missing),
    )
}

fn cells(r: &Row) -> [String; 6] {
    [
        r.case.clone(),
        r.metric.title().to_string(),
        spread(r.metric, r.baseline.as_ref()),
        spread(r.metric, r.current.as_ref()),
        ratio(r),
        verdict(r),
    ]
}

const HEADER: [&str; 6] = ["case", "metric", "baseline", "current", "ratio", "verdict"];

/// A plain-text table with the case labels listed below it.
pub fn table(c: &Comparison) -> String {
    let rows: Vec<[String; 6]> = c.rows.iter().map(cells).collect();
    let mut width = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            let pad = w - cell.chars().count();
            if i == cells.len() - 1 {
                text += cell;
            } else {
                text += &format!("{cell}{}  ", " ".repeat(pad));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = headline(c) + "\n\n";
    out += &line(&HEADER.map(String::from));
    for row in &rows {
        out += &line(row);
    }
    out += "\n";
    for (id, label, how, base) in cases(c) {
        out += &format!("{id}  {label}{}\n", matched_note(how, base));
    }
    out
}

fn matched_note(how: super::MatchedBy, baseline_id: Option<&str>) -> String {
    match (how, baseline_id) {
        (super::MatchedBy::Params, Some(b)) => format!(" (baseline case {b}, same parameters)"),
        (super::MatchedBy::Label, Some(b)) => format!(" (baseline case {b}, same label)"),
        (super::MatchedBy::Unmatched, _) => " (on one side only)".into(),
        _ => String::new(),
    }
}

/// Distinct cases of the rows: id, label, how matched, baseline id.
fn cases(c: &Comparison) -> Vec<(&str, &str, super::MatchedBy, Option<&str>)> {
    let mut seen: Vec<(&str, &str, super::MatchedBy, Option<&str>)> = Vec::new();
    for r in &c.rows {
        if !seen.iter().any(|s| s.0 == r.case && s.2 == r.matched_by) {
            seen.push((&r.case, &r.label, r.matched_by, r.baseline_case.as_deref()));
        }
    }
    seen
}

/// Escapes a Markdown table cell.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table for a PR comment, the label in the case column.
pub fn markdown(c: &Comparison) -> String {
    let mut out = format!("**yamux-perf compare**: {}\n\n", md_cell(&headline(c)));
    out += &format!("| {} |\n", HEADER.join(" | "));
    out += &format!("|{}\n", "---|".repeat(HEADER.len()));
    for r in &c.rows {
        let mut cells = cells(r).map(|s| md_cell(&s));
        cells[0] = format!(
            "`{}` {}{}",
            r.case,
            md_cell(&r.label),
            md_cell(&matched_note(r.matched_by, r.baseline_case.as_deref()))
        );
        if r.verdict == Verdict::Regressed {
            cells[5] = format!("**{}**", cells[5]);
        }
        out += &format!("| {} |\n", cells.join(" | "));
    }
    out
}

/// The comparison as pretty JSON.
pub fn json(c: &Comparison) -> String {
    serde_json::to_string_pretty(c).expect("a comparison serializes") + "\n"
}

/// The rows a benchmark export carries: those with a current value (a metric or case that only
/// the baseline has is left out), with that value.
fn exported(c: &Comparison) -> impl Iterator<Item = (&Row, &Spread)> {
    c.rows
        .iter()
        .filter_map(|r| r.current.as_ref().map(|cur| (r, cur)))
}

/// The benchmark a row belongs to in an export: `label [case id]`.
pub fn benchmark_name(r: &Row) -> String {
    format!("{} [{}]", r.label, r.case)
}

/// One entry of github-action-benchmark's custom-tool JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkEntry {
    /// Case label and metric.
    pub name: String,
    /// Unit of `value`.
    pub unit: String,
    /// The current median.
    pub value: f64,
    /// `± half the range` of the current repetitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Repetitions, baseline median, ratio and verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

/// The rows with a current value as github-action-benchmark entries: `(customBiggerIsBetter,
/// customSmallerIsBetter)`.
pub fn github_action_benchmark(c: &Comparison) -> (Vec<BenchmarkEntry>, Vec<BenchmarkEntry>) {
    let mut bigger = Vec::new();
    let mut smaller = Vec::new();
    for (r, cur) in exported(c) {
        let mut extra = format!("n={} min={} max={}", cur.n, cur.min, cur.max);
        if let Some(b) = &r.baseline {
            extra += &format!("\nbaseline median {} (n={})", b.median, b.n);
        }
        extra += &format!("\nratio {}, {}", ratio(r), verdict(r));
        let entry = BenchmarkEntry {
            name: format!("{} {}", benchmark_name(r), r.metric.key()),
            unit: r.unit.clone(),
            value: cur.median,
            range: (cur.n > 1).then(|| format!("± {}", (cur.max - cur.min) / 2.0)),
            extra: Some(extra),
        };
        match r.better {
            Better::Bigger => bigger.push(entry),
            Better::Smaller => smaller.push(entry),
        }
    }
    (bigger, smaller)
}

/// One measure of a benchmark in Bencher's metric format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmfMetric {
    /// The current median.
    pub value: f64,
    /// The smallest current repetition (with more than one repetition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    /// The largest current repetition (with more than one repetition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

/// A BMF document: benchmark name, then measure slug (the metric key), then the metric.
pub type Bmf = BTreeMap<String, BTreeMap<String, BmfMetric>>;

/// The rows with a current value in Bencher's metric format.
pub fn bmf(c: &Comparison) -> Bmf {
    let mut doc = Bmf::new();
    for (r, cur) in exported(c) {
        let spread = cur.n > 1;
        doc.entry(benchmark_name(r)).or_default().insert(
            r.metric.key().to_string(),
            BmfMetric {
                value: cur.median,
                lower_value: spread.then_some(cur.min),
                upper_value: spread.then_some(cur.max),
            },
        );
    }
    doc
}

/// [`bmf`] as pretty JSON.
pub fn bmf_json(c: &Comparison) -> String {
    serde_json::to_string_pretty(&bmf(c)).expect("a BMF document serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_use_readable_units() {
        assert_eq!(value(Metric::UploadGbitS, 1.23456), "1.235 Gbit/s");
        assert_eq!(
            value(Metric::ClientPeakRssBytes, 17.5 * 1048576.0),
            "17.5 MiB"
        );
        assert_eq!(value(Metric::ClientCpuNsPerByte, 1.234), "1.23 ns/B");
        let s = Spread::of([1.0, 2.0, 3.0]).unwrap();
        assert_eq!(
            spread(Metric::LatencyP50Ms, Some(&s)),
            "2.000 ms (1.000–3.000)"
        );
        assert_eq!(spread(Metric::LatencyP50Ms, None), "-");
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}
