//! Jain's fairness index over time (`client --streams N`, the report's `fairness`) of
//! repetition 1, one file per RTT: one step per interval that has an index (see
//! docs/fairness.md for which streams an interval counts).

use plotters::prelude::*;

use super::style;
use super::{Case, PlotError, ResultSet, Svg};

/// Step points `(s, index)` of a case's first passing measured run: the intervals with an
/// index, at their place in time from the first interval's start.
pub fn jain_steps(case: &Case) -> Option<Vec<(f64, f64)>> {
    let report = case.result.measured().find(|r| r.ok)?.client.as_ref()?;
    let mut t = 0.0;
    let mut points = Vec::new();
    for interval in &report.fairness.as_ref()?.intervals {
        let end = t + interval.seconds;
        if let Some(j) = interval.jain {
            points.extend([(t, j), (end, j)]);
        }
        t = end;
    }
    (!points.is_empty()).then_some(points)
}

/// One plot per RTT of the cases with a per-interval index.
pub fn render(set: &ResultSet) -> Result<Vec<Svg>, PlotError> {
    let cases = set.cases.iter().filter(|c| jain_steps(c).is_some());
    let mut out = Vec::new();
    for (rtt, group) in super::by_rtt(cases) {
        let steps: Vec<_> = group.iter().filter_map(|c| jain_steps(c)).collect();
        let t_max =
            style::bounds(steps.iter().flatten().map(|p| p.0), false).map_or(1.0, |b| b.1.max(0.1));
        let lo = steps
            .iter()
            .flatten()
            .map(|p| p.1)
            .fold(1.0, f64::min)
            .min(0.9);
        let (series, legend) =
            super::intervals::step_legend(&group, &["streams open for the whole interval only"]);
        let file = format!("fairness-rtt{}ms.svg", style::number(rtt));
        let title = format!(
            "{}: Jain's fairness index per interval at RTT {} ms",
            set.name,
            style::number(rtt)
        );
        let svg = style::figure(file, &title, (1100, 680), 1, &legend, |panels| {
            let mut chart = ChartBuilder::on(&panels[0])
                .margin(12)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..t_max * 1.02, (lo - 0.02).max(0.0)..1.01)
                .map_err(|e| e.to_string())?;
            style::draw_mesh(
                &mut chart,
                (
                    "time since the first interval (s)",
                    "Jain's index of the streams' bytes in the interval",
                ),
                &|v| style::number(*v),
                &|v| format!("{v:.2}"),
            )?;
            for (points, s) in steps.iter().zip(&series) {
                style::draw_series(&mut chart, points, &s.style, false)?;
            }
            Ok(())
        })?;
        out.push(svg);
    }
    Ok(out)
}
