//! Per-interval goodput over time (the client's intermediary lines, every `interval` of the
//! plan) of repetition 1, one file per RTT: upload and download side by side, each drawn from
//! the first to the last interval that moved bytes in that direction, and starting at 0 there so
//! that the cases' ramps line up.

use plotters::prelude::*;

use super::style::{self, LegendEntry};
use super::{Case, PlotError, ResultSet, Svg};
use crate::perf::report::LineKind;

/// Step points `(s, Mbit/s)` of one direction.
pub type Steps = Vec<(f64, f64)>;

/// `(upload, download)` step points `(s, Mbit/s)` of a case's first passing measured run, each
/// direction from the start of its first interval with bytes.
pub fn interval_steps(case: &Case) -> Option<(Steps, Steps)> {
    let report = case.result.measured().find(|r| r.ok)?.client.as_ref()?;
    let mut t = 0.0;
    let mut up = Vec::new();
    let mut down = Vec::new();
    for line in &report.intervals {
        if line.kind != LineKind::Intermediary || line.time_seconds <= 0.0 {
            continue;
        }
        let end = t + line.time_seconds;
        for (points, bytes) in [
            (&mut up, line.upload_bytes),
            (&mut down, line.download_bytes),
        ] {
            let mbit = bytes as f64 * 8.0 / line.time_seconds / 1e6;
            points.push((t, mbit));
            points.push((end, mbit));
        }
        t = end;
    }
    // From the first to the last interval with bytes in that direction.
    let trim = |points: Vec<(f64, f64)>| {
        let first = points.iter().position(|p| p.1 > 0.0);
        let last = points.iter().rposition(|p| p.1 > 0.0);
        match (first, last) {
            (Some(a), Some(b)) => {
                let t0 = points[a].0;
                points[a..=b].iter().map(|&(t, v)| (t - t0, v)).collect()
            }
            _ => Vec::new(),
        }
    };
    Some((trim(up), trim(down)))
}

/// The series of a group of cases at one RTT (one per case) and the legend of a per-interval
/// step plot of repetition 1, with `extra` notes.
pub(crate) fn step_legend(
    group: &[&Case],
    extra: &[&str],
) -> (Vec<style::Series>, Vec<LegendEntry>) {
    let configs: Vec<_> = group.iter().map(|c| &c.result.config).collect();
    let series = style::assign(&configs, &[style::Dim::Rtt]);
    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|s| (s.label.clone(), Some(style::without_marker(s.style))))
        .collect();
    let interval_ms = group[0].result.plan.interval_s * 1e3;
    for note in [
        String::new(),
        "repetition 1 of each case".into(),
        format!("one step per {} ms interval", style::number(interval_ms)),
    ]
    .into_iter()
    .chain(extra.iter().map(|e| e.to_string()))
    {
        legend.push((note, None));
    }
    legend.extend(style::notes(&configs));
    (series, legend)
}

/// One plot per RTT of the cases with interval lines.
pub fn render(set: &ResultSet) -> Result<Vec<Svg>, PlotError> {
    let cases = set.cases.iter().filter(|c| interval_steps(c).is_some());
    let mut out = Vec::new();
    for (rtt, group) in super::by_rtt(cases) {
        let steps: Vec<_> = group.iter().filter_map(|c| interval_steps(c)).collect();
        let all = steps.iter().flat_map(|(u, d)| u.iter().chain(d));
        let Some((_, hi)) = style::bounds(all.clone().map(|p| p.1), false) else {
            continue;
        };
        let t_max = style::bounds(all.map(|p| p.0), false).map_or(1.0, |b| b.1.max(0.1));
        if hi <= 0.0 {
            continue;
        }
        let (series, legend) = step_legend(&group, &[]);
        let file = format!("throughput-rtt{}ms.svg", style::number(rtt));
        let title = format!(
            "{}: goodput per interval at RTT {} ms",
            set.name,
            style::number(rtt)
        );
        let svg = style::figure(file, &title, (1500, 680), 2, &legend, |panels| {
            for (panel, upload) in panels.iter().zip([true, false]) {
                let mut chart = ChartBuilder::on(panel)
                    .caption(
                        if upload { "upload" } else { "download" },
                        (style::FONT, style::CAPTION_SIZE),
                    )
                    .margin(12)
                    .x_label_area_size(55)
                    .y_label_area_size(80)
                    .build_cartesian_2d(0.0..t_max * 1.02, 0.0..hi * 1.08)
                    .map_err(|e| e.to_string())?;
                style::draw_mesh(
                    &mut chart,
                    (
                        "time since the direction's first interval with bytes (s)",
                        "goodput in the interval (Mbit/s)",
                    ),
                    &|v| style::number(*v),
                    &|v| style::number(*v),
                )?;
                for ((u, d), s) in steps.iter().zip(&series) {
                    let points = if upload { u } else { d };
                    if !points.is_empty() {
                        style::draw_series(&mut chart, points, &s.style, false)?;
                    }
                }
            }
            Ok(())
        })?;
        out.push(svg);
    }
    Ok(out)
}
