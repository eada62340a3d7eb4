//! Latency CDF: the `latency_ms.hgrm` histogram of every case that has one (1-byte round trips
//! on fresh streams, or libp2p ping on one stream with `latency_mode = "ping"`), fraction of
//! round trips at or below each latency, log x.

use plotters::prelude::*;

use super::style::{self, LegendEntry};
use super::{PlotError, ResultSet, Svg};
use crate::results::{LatencyMode, METRIC_LATENCY};
use crate::sweep::hgrm;

/// The output file name.
pub const FILE: &str = "latency-cdf.svg";

/// The CDF points `(ms, fraction)` of one `.hgrm` file.
pub fn read_cdf(path: &std::path::Path) -> Result<Vec<(f64, f64)>, PlotError> {
    let parsed = hgrm::parse(&super::read(path)?).map_err(|source| PlotError::Hgrm {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parsed
        .rows
        .iter()
        .filter(|r| r.value > 0.0)
        .map(|r| (r.value, r.percentile))
        .collect())
}

/// The latency CDF of the cases with a latency histogram, if any.
pub fn render(set: &ResultSet) -> Result<Option<Svg>, PlotError> {
    let mut cdfs = Vec::new();
    let mut configs = Vec::new();
    for case in &set.cases {
        if let Some(h) = case.result.histograms.get(METRIC_LATENCY) {
            let cdf = read_cdf(&case.dir.join(&h.file))?;
            if !cdf.is_empty() {
                cdfs.push(cdf);
                configs.push(&case.result.config);
            }
        }
    }
    let Some((lo, hi)) = style::bounds(cdfs.iter().flatten().map(|p| p.0), true) else {
        return Ok(None);
    };
    let series = style::assign(&configs, &[]);
    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|s| (s.label.clone(), Some(style::without_marker(s.style))))
        .collect();
    // What the latency runs measured, for each mode present.
    let mut notes = vec![""];
    if configs.iter().any(|c| c.latency_mode == LatencyMode::Perf) {
        notes.extend([
            "1-byte round trips, each on a",
            "fresh stream (latency run)",
        ]);
    }
    if configs.iter().any(|c| c.latency_mode == LatencyMode::Ping) {
        notes.extend([
            "libp2p ping (32 B) on one stream",
            "(bare TCP: 32-byte ping-pong)",
        ]);
    }
    legend.extend(notes.into_iter().map(|note| (note.into(), None)));
    legend.extend(style::notes(&configs));
    let title = format!("{}: latency CDF", set.name);
    let svg = style::figure(FILE.into(), &title, (1300, 700), 1, &legend, |panels| {
        let mut chart = ChartBuilder::on(&panels[0])
            .margin(16)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d((lo / 1.3..hi * 1.3).log_scale(), 0.0..1.0)
            .map_err(|e| e.to_string())?;
        style::draw_mesh(
            &mut chart,
            (
                "round-trip latency (ms, log scale)",
                "fraction of round trips at or below",
            ),
            &|v| style::number(*v),
            &|v| style::number(*v),
        )?;
        for (cdf, s) in cdfs.iter().zip(&series) {
            style::draw_series(&mut chart, cdf, &s.style, false)?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}
