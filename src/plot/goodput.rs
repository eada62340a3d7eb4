//! Goodput against the RTT or the frame cap: median of the measured runs with a min–max bar,
//! one line per combination of the other settings, upload and download side by side, log y.
//! Against the RTT, the W/RTT ceiling of each window is drawn dotted for reference.

use plotters::coord::combinators::LogCoord;
use plotters::prelude::*;

use super::style::{self, Dim, LegendEntry, Line, Marker, SeriesStyle};
use super::{PlotError, ResultSet, Svg};
use crate::results::Spread;

/// The x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// The relay's RTT, ms (linear).
    Rtt,
    /// The largest DATA frame, bytes (log 2).
    FrameCap,
}

impl Axis {
    fn dim(self) -> Dim {
        match self {
            Axis::Rtt => Dim::Rtt,
            Axis::FrameCap => Dim::Frame,
        }
    }

    /// The output file name.
    pub fn file(self) -> &'static str {
        match self {
            Axis::Rtt => "goodput-vs-rtt.svg",
            Axis::FrameCap => "goodput-vs-frame-cap.svg",
        }
    }
}

/// One line: its style and its points `(x, median, min, max)`.
struct Curve {
    style: SeriesStyle,
    points: Vec<(f64, Spread)>,
}

/// The W/RTT line of window `bytes`, in Gbit/s over RTT ms, inside `y` (and x up to `x_max`).
pub(crate) fn ceiling(bytes: u64, x_max: f64, y: (f64, f64)) -> Vec<(f64, f64)> {
    let gbit = |rtt_ms: f64| bytes as f64 * 8.0 / (rtt_ms / 1e3) / 1e9;
    // Where the ceiling enters the plot from the top.
    let start = (bytes as f64 * 8.0 / (y.1 * 1e9) * 1e3).max(x_max / 1000.0);
    if start >= x_max {
        return Vec::new();
    }
    (0..=100)
        .map(|i| start * (x_max / start).powf(f64::from(i) / 100.0))
        .map(|x| (x, gbit(x)))
        .filter(|&(_, g)| g >= y.0 && g <= y.1)
        .collect()
}

/// The goodput-vs-`axis` plot, when the set has more than one value on that axis.
pub fn render(set: &ResultSet, axis: Axis) -> Result<Option<Svg>, PlotError> {
    let cases: Vec<_> = set
        .cases
        .iter()
        .filter(|c| c.upload_gbit_s().is_some() || c.download_gbit_s().is_some())
        .collect();
    let configs: Vec<_> = cases.iter().map(|c| &c.result.config).collect();
    if !style::varying(&configs).contains(&axis.dim()) {
        return Ok(None);
    }
    let series = style::assign(&configs, &[axis.dim()]);
    let x_of = |c: &crate::results::CaseConfig| match axis {
        Axis::Rtt => c.rtt_ms,
        Axis::FrameCap => c.max_frame_bytes as f64,
    };
    // Group the cases into lines by label, in order of first appearance.
    let mut lines: Vec<(String, Curve, Curve)> = Vec::new();
    for (case, s) in cases.iter().zip(&series) {
        let x = x_of(&case.result.config);
        let i = match lines.iter().position(|(l, ..)| *l == s.label) {
            Some(i) => i,
            None => {
                let new = || Curve {
                    style: s.style,
                    points: Vec::new(),
                };
                lines.push((s.label.clone(), new(), new()));
                lines.len() - 1
            }
        };
        if let Some(up) = case.upload_gbit_s() {
            lines[i].1.points.push((x, up));
        }
        if let Some(down) = case.download_gbit_s() {
            lines[i].2.points.push((x, down));
        }
    }
    for (_, up, down) in &mut lines {
        up.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        down.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let all = lines
        .iter()
        .flat_map(|(_, u, d)| u.points.iter().chain(&d.points))
        .flat_map(|(_, s)| [s.min, s.max]);
    let Some((lo, hi)) = style::bounds(all, true) else {
        return Ok(None);
    };
    let y = (lo / 1.6, hi * 1.6);
    let xs = style::bounds(configs.iter().map(|c| x_of(c)), false).unwrap_or((0.0, 1.0));

    // Ceilings: one per window cap, coloured like its series when colour follows the window.
    let mut ceilings: Vec<(u64, SeriesStyle)> = Vec::new();
    if axis == Axis::Rtt {
        for (c, s) in configs.iter().zip(&series) {
            let w = style::window_cap(c);
            if ceilings.iter().all(|(cw, _)| *cw != w) {
                let colour = if s.colour_key.starts_with("win ") {
                    s.style.color
                } else {
                    style::REFERENCE
                };
                let st = SeriesStyle {
                    color: colour,
                    line: Line::Dotted,
                    marker: Marker::None,
                    width: 2,
                };
                ceilings.push((w, st));
            }
        }
    }

    let mut legend: Vec<LegendEntry> = lines
        .iter()
        .map(|(label, up, _)| (label.clone(), Some(up.style)))
        .collect();
    if !ceilings.is_empty() {
        legend.push((String::new(), None));
        legend.push(("W/RTT ceiling of window W:".into(), None));
        for (w, st) in &ceilings {
            legend.push((format!("W = {}", style::bytes(*w as f64)), Some(*st)));
        }
    }
    legend.push((String::new(), None));
    legend.push(("median of the runs,".into(), None));
    legend.push(("bars: min to max".into(), None));
    legend.push(("upload: into the server's window".into(), None));
    legend.push(("download: into our client's".into(), None));
    legend.extend(style::notes(&configs));

    let title = match axis {
        Axis::Rtt => "goodput vs RTT",
        Axis::FrameCap => "goodput vs frame cap",
    };
    let title = format!("{}: {title}", set.name);
    let file = axis.file().to_string();
    let svg = style::figure(file, &title, (1500, 680), 2, &legend, |panels| {
        for (panel, upload) in panels.iter().zip([true, false]) {
            let caption = if upload { "upload" } else { "download" };
            match axis {
                Axis::Rtt => {
                    let pad = (xs.1 - xs.0).max(1.0) * 0.05;
                    let mut chart = ChartBuilder::on(panel)
                        .caption(caption, (style::FONT, style::CAPTION_SIZE))
                        .margin(12)
                        .x_label_area_size(55)
                        .y_label_area_size(80)
                        .build_cartesian_2d(xs.0 - pad..xs.1 + pad, (y.0..y.1).log_scale())
                        .map_err(|e| e.to_string())?;
                    draw_panel(&mut chart, axis, &lines, upload, &ceilings, xs, y)?;
                }
                Axis::FrameCap => {
                    let mut chart = ChartBuilder::on(panel)
                        .caption(caption, (style::FONT, style::CAPTION_SIZE))
                        .margin(12)
                        .x_label_area_size(55)
                        .y_label_area_size(80)
                        .build_cartesian_2d(
                            (xs.0 / 1.4..xs.1 * 1.4).log_scale().base(2.0),
                            (y.0..y.1).log_scale(),
                        )
                        .map_err(|e| e.to_string())?;
                    draw_panel(&mut chart, axis, &lines, upload, &ceilings, xs, y)?;
                }
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

fn draw_panel<'a, X>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, LogCoord<f64>>>,
    axis: Axis,
    lines: &[(String, Curve, Curve)],
    upload: bool,
    ceilings: &[(u64, SeriesStyle)],
    xs: (f64, f64),
    y: (f64, f64),
) -> Result<(), String>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let x_fmt = |v: &f64| match axis {
        Axis::Rtt => style::number(*v),
        Axis::FrameCap => style::bytes(*v),
    };
    let x_desc = match axis {
        Axis::Rtt => "RTT added by the relay (ms)",
        Axis::FrameCap => "largest DATA frame (log scale)",
    };
    style::draw_mesh(
        chart,
        (x_desc, "goodput (Gbit/s, log scale)"),
        &x_fmt,
        &|v| style::number(*v),
    )?;
    for (w, st) in ceilings {
        let points = ceiling(*w, xs.1 * 1.05, y);
        if points.len() > 1 {
            style::draw_series(chart, &points, st, false)?;
        }
    }
    for (_, up, down) in lines {
        let line = if upload { up } else { down };
        let medians: Vec<(f64, f64)> = line.points.iter().map(|(x, s)| (*x, s.median)).collect();
        style::draw_series(chart, &medians, &line.style, true)?;
        chart
            .draw_series(line.points.iter().map(|(x, s)| {
                PathElement::new(
                    vec![(*x, s.min), (*x, s.max)],
                    line.style.color.stroke_width(2),
                )
            }))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_is_window_over_rtt_and_stays_inside_the_plot() {
        // 16 MiB per 50 ms = 2.68 Gbit/s.
        let points = ceiling(16 << 20, 100.0, (0.01, 10.0));
        assert!(points.len() > 10);
        let at_50 = points
            .iter()
            .min_by(|a, b| (a.0 - 50.0).abs().total_cmp(&(b.0 - 50.0).abs()))
            .unwrap();
        let expected = (16u64 << 20) as f64 * 8.0 / 0.05 / 1e9 * 50.0 / at_50.0;
        assert!((at_50.1 - expected).abs() < 1e-9, "{at_50:?}");
        assert!(points.iter().all(|&(_, g)| (0.01..=10.0).contains(&g)));
        // Rising RTT, falling goodput.
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 > w[1].1)
        );
        // A ceiling above the whole plot is not drawn.
        assert!(ceiling(1 << 40, 100.0, (0.01, 10.0)).is_empty());
    }
}
