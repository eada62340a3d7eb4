//! What the plots share: series labels from the dimensions that vary, colours and line styles,
//! the figure layout with a legend column, and axis number formats.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PlotError, Svg};
use crate::results::{CaseConfig, OURS, Stack};
use crate::sweep::config::{Key, case_fields};
use crate::units::ByteSize;
use crate::yamux::WindowAccounting;

/// Font of every text.
pub(crate) const FONT: &str = "sans-serif";
/// Plot title size (plotters divides sizes by 1.24 when writing SVG).
pub(crate) const TITLE_SIZE: u32 = 30;
/// Panel caption size.
pub(crate) const CAPTION_SIZE: u32 = 22;
/// Axis description size.
pub(crate) const AXIS_SIZE: u32 = 20;
/// Tick label size.
pub(crate) const TICK_SIZE: u32 = 17;
/// Legend text size.
pub(crate) const LEGEND_SIZE: u32 = 18;
/// Width of the legend column, pixels.
const LEGEND_WIDTH: u32 = 400;
/// Height of one legend line, pixels.
const LEGEND_LINE: u32 = 27;

/// A property of a case that can tell series apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    /// The server peer.
    Peer,
    /// Relay RTT.
    Rtt,
    /// Relay rate.
    Rate,
    /// The largest window the case allows (`max_window`, or the fixed window).
    Window,
    /// Auto-tuned or fixed, and where auto-tuning starts.
    WindowMode,
    /// Window-update accounting.
    Accounting,
    /// A matrix key the table shows by name ([`crate::sweep::config::Show::Named`]): its value and name.
    Named(Key),
    /// Largest DATA frame.
    Frame,
    /// Streams per connection.
    Streams,
    /// Connections.
    Connections,
    /// Bare TCP, or yamux with its security protocol.
    Stack,
    /// Socket buffer sizes.
    Buffers,
}

impl Dim {
    /// Label order: the dimensions written by hand, with the named matrix keys after the
    /// window mode.
    fn label_order() -> Vec<Dim> {
        let mut order = vec![
            Dim::Peer,
            Dim::Stack,
            Dim::Rtt,
            Dim::Rate,
            Dim::Buffers,
            Dim::Window,
            Dim::WindowMode,
        ];
        order.extend(Dim::named());
        order.extend([Dim::Accounting, Dim::Frame, Dim::Streams, Dim::Connections]);
        order
    }

    /// Which varying dimension picks the colour: the first of these.
    fn colour_order() -> Vec<Dim> {
        let mut order = vec![
            Dim::Window,
            Dim::Peer,
            Dim::Stack,
            Dim::Frame,
            Dim::Rtt,
            Dim::Streams,
            Dim::Connections,
            Dim::Rate,
            Dim::WindowMode,
        ];
        order.extend(Dim::named());
        order.extend([Dim::Accounting, Dim::Buffers]);
        order
    }

    /// The matrix keys shown by name, in table order.
    fn named() -> impl Iterator<Item = Dim> {
        Key::ALL
            .iter()
            .filter(|key| key.shown_as().is_some())
            .map(|&key| Dim::Named(key))
    }

    /// This dimension's part of a series label.
    pub(crate) fn fragment(self, c: &CaseConfig) -> String {
        match self {
            Dim::Peer => format!("{} server", c.peer),
            Dim::Rtt => format!("RTT {}ms", c.rtt_ms),
            Dim::Rate => match c.rate_bits_per_second {
                Some(r) => format!("rate {}", crate::units::Rate(r)),
                None => "no rate limit".into(),
            },
            Dim::Window => format!("win {}", ByteSize(window_cap(c))),
            Dim::WindowMode if c.autotune => {
                format!("auto from {}", ByteSize(c.initial_window_bytes))
            }
            Dim::WindowMode => "fixed".into(),
            Dim::Accounting => match c.window_accounting {
                WindowAccounting::Full => "full acct".into(),
                WindowAccounting::Go => "go acct".into(),
            },
            Dim::Named(key) => format!(
                "{} {}",
                key.text(&key.value_in(&case_fields(c))),
                key.shown_as().unwrap_or(key.name())
            ),
            Dim::Frame => format!("frame {}", ByteSize(c.max_frame_bytes)),
            Dim::Streams if c.streams == 1 => "1 stream".into(),
            Dim::Streams => format!("{} streams", c.streams),
            Dim::Connections if c.connections == 1 => "1 conn".into(),
            Dim::Connections => format!("{} conns", c.connections),
            Dim::Stack => match (c.stack, c.security) {
                (Stack::Tcp, _) => "bare TCP".into(),
                (Stack::Yamux, security) => format!("yamux+{}", security.as_str()),
            },
            Dim::Buffers => {
                let size = |b: Option<u64>| b.map_or("auto".into(), |b| ByteSize(b).to_string());
                format!(
                    "sndbuf {} rcvbuf {}",
                    size(c.send_buffer_bytes),
                    size(c.recv_buffer_bytes)
                )
            }
        }
    }
}

/// The largest receive window a case's configuration allows.
pub(crate) fn window_cap(c: &CaseConfig) -> u64 {
    if c.autotune {
        c.max_window_bytes
    } else {
        c.initial_window_bytes
    }
}

/// The dimensions with more than one value among `configs`, in label order.
pub(crate) fn varying(configs: &[&CaseConfig]) -> Vec<Dim> {
    Dim::label_order()
        .into_iter()
        .filter(|d| {
            let mut values: Vec<String> = configs.iter().map(|c| d.fragment(c)).collect();
            values.sort();
            values.dedup();
            values.len() > 1
        })
        .collect()
}

/// A line's look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SeriesStyle {
    /// Colour.
    pub(crate) color: RGBColor,
    /// Dash pattern.
    pub(crate) line: Line,
    /// Point marker.
    pub(crate) marker: Marker,
    /// Stroke width.
    pub(crate) width: u32,
}

/// Dash patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// Solid.
    Solid,
    /// Short dashes.
    Dashed,
    /// Long dashes.
    LongDash,
    /// Short dots.
    Dotted,
}

/// Point markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// Filled circle.
    Circle,
    /// Filled triangle.
    Triangle,
    /// Filled square.
    Square,
    /// Cross.
    Cross,
    /// No marker (also in the legend).
    None,
}

/// Tableau 10: distinguishable, and still readable for the common colour blindnesses.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Grey of reference lines.
pub(crate) const REFERENCE: RGBColor = RGBColor(110, 110, 110);

const LINES: [(Line, Marker); 4] = [
    (Line::Solid, Marker::Circle),
    (Line::Dashed, Marker::Triangle),
    (Line::LongDash, Marker::Square),
    (Line::Dotted, Marker::Cross),
];

/// Labels and styles of a plot's series (one per case key).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Label of each series.
    pub(crate) label: String,
    /// Its look.
    pub(crate) style: SeriesStyle,
    /// The colour's fragment (e.g. `win 16MiB`), to match reference lines to it.
    pub(crate) colour_key: String,
}

/// Assigns a label and a style to each config: the label joins the fragments of the dimensions
/// that vary among `configs` (without `exclude`, the plot's x axis); the colour follows the first
/// varying dimension in colour order, the dash and marker the rest.
pub(crate) fn assign(configs: &[&CaseConfig], exclude: &[Dim]) -> Vec<Series> {
    let dims: Vec<Dim> = varying(configs)
        .into_iter()
        .filter(|d| !exclude.contains(d))
        .collect();
    let colour_dim = Dim::colour_order().into_iter().find(|d| dims.contains(d));
    let mut colours: Vec<String> = Vec::new();
    let mut rests: Vec<String> = Vec::new();
    let index = |list: &mut Vec<String>, key: String| match list.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            list.push(key);
            list.len() - 1
        }
    };
    configs
        .iter()
        .map(|c| {
            let colour_key = colour_dim.map(|d| d.fragment(c)).unwrap_or_default();
            let rest: Vec<String> = dims
                .iter()
                .filter(|d| Some(**d) != colour_dim)
                .map(|d| d.fragment(c))
                .collect();
            let ci = index(&mut colours, colour_key.clone());
            let ri = index(&mut rests, rest.join(", "));
            let (line, marker) = LINES[ri % LINES.len()];
            let label = dims
                .iter()
                .map(|d| d.fragment(c))
                .collect::<Vec<_>>()
                .join(", ");
            Series {
                label: if label.is_empty() {
                    "all cases".into()
                } else {
                    label
                },
                style: SeriesStyle {
                    color: PALETTE[ci % PALETTE.len()],
                    line,
                    marker,
                    width: if ri == 0 { 3 } else { 2 },
                },
                colour_key,
            }
        })
        .collect()
}

/// Notes every plot of these cases needs: foreign servers take our yamux options on our client
/// only; bare TCP has no streams.
pub(crate) fn notes(configs: &[&CaseConfig]) -> Vec<LegendEntry> {
    let mut out = Vec::new();
    if configs.iter().any(|c| c.peer != OURS) {
        out.push((String::new(), None));
        out.push(("A foreign server keeps its own".into(), None));
        out.push(("yamux settings: window and acct".into(), None));
        out.push(("apply to our client only".into(), None));
    }
    if configs.iter().any(|c| c.stack == Stack::Tcp) {
        out.push((String::new(), None));
        out.push(("bare TCP: one connection per".into(), None));
        out.push(("stream; its latency run is a".into(), None));
        out.push(("ping-pong on one connection".into(), None));
    }
    out
}

/// The style without point markers (for step lines).
pub(crate) fn without_marker(style: SeriesStyle) -> SeriesStyle {
    SeriesStyle {
        marker: Marker::None,
        ..style
    }
}

/// One legend line: a sample of the style and its label; `None` style is a text-only line.
pub(crate) type LegendEntry = (String, Option<SeriesStyle>);

/// The drawing area type of every panel.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws a figure: a title, `panels` side by side, and the legend (then notes) in a column on
/// the right. `draw` fills the panels.
pub(crate) fn figure(
    file: String,
    title: &str,
    size: (u32, u32),
    panels: usize,
    legend: &[LegendEntry],
    draw: impl FnOnce(&[Area<'_>]) -> Result<(), String>,
) -> Result<Svg, PlotError> {
    // Grow the figure when the legend needs more room.
    let legend_height = 100 + LEGEND_LINE * legend.len() as u32;
    let size = (size.0, size.1.max(legend_height));
    let mut text = String::new();
    let result = (|| -> Result<(), String> {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let body = root
            .titled(title, (FONT, TITLE_SIZE))
            .map_err(|e| e.to_string())?;
        let (plots, legend_area) = body.split_horizontally(size.0 - LEGEND_WIDTH);
        let panels = plots.split_evenly((1, panels));
        draw(&panels)?;
        draw_legend(&legend_area, legend)?;
        root.present().map_err(|e| e.to_string())
    })();
    result.map_err(|message| PlotError::Draw {
        plot: file.clone(),
        message,
    })?;
    Ok(Svg { file, text })
}

fn draw_legend(area: &Area<'_>, entries: &[LegendEntry]) -> Result<(), String> {
    let mut y = 60;
    for (label, style) in entries {
        let text_x = match style {
            Some(style) => {
                let points = vec![(12, y), (60, y)];
                draw_path(area, points, style)?;
                draw_marker(area, (36, y), style)?;
                70
            }
            None => 12,
        };
        let font = (FONT, LEGEND_SIZE)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.clone(), (text_x, y), font))
            .map_err(|e| e.to_string())?;
        y += LEGEND_LINE as i32;
    }
    Ok(())
}

fn shape(style: &SeriesStyle) -> ShapeStyle {
    style.color.stroke_width(style.width)
}

fn draw_path(area: &Area<'_>, points: Vec<(i32, i32)>, style: &SeriesStyle) -> Result<(), String> {
    let s = shape(style);
    match style.line {
        Line::Solid => area.draw(&PathElement::new(points, s)),
        Line::Dashed => area.draw(&DashedPathElement::new(points, 8, 5, s)),
        Line::LongDash => area.draw(&DashedPathElement::new(points, 18, 5, s)),
        Line::Dotted => area.draw(&DashedPathElement::new(points, 3, 4, s)),
    }
    .map_err(|e| e.to_string())
}

fn draw_marker(area: &Area<'_>, at: (i32, i32), style: &SeriesStyle) -> Result<(), String> {
    let fill = style.color.filled();
    match style.marker {
        Marker::Circle => area.draw(&Circle::new(at, 5, fill)),
        Marker::Triangle => area.draw(&TriangleMarker::new(at, 6, fill)),
        Marker::Square => area.draw(&Rectangle::new(
            [(at.0 - 4, at.1 - 4), (at.0 + 4, at.1 + 4)],
            fill,
        )),
        Marker::Cross => area.draw(&Cross::new(at, 5, style.color.stroke_width(2))),
        Marker::None => Ok(()),
    }
    .map_err(|e| e.to_string())
}

/// Draws a line through `points` in `style`, with markers when `markers`.
/// Draws the axes and grid every plot shares: described axes, our fonts, no minor grid lines.
pub(crate) fn draw_mesh<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    (x_desc, y_desc): (&str, &str),
    x_format: &dyn Fn(&f64) -> String,
    y_format: &dyn Fn(&f64) -> String,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(x_format)
        .y_label_formatter(y_format)
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, AXIS_SIZE))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())
}

pub(crate) fn draw_series<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    points: &[(f64, f64)],
    style: &SeriesStyle,
    markers: bool,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let s = shape(style);
    let pts = points.to_vec();
    match style.line {
        Line::Solid => chart.draw_series(LineSeries::new(pts, s)).map(|_| ()),
        Line::Dashed => chart
            .draw_series(DashedLineSeries::new(pts, 8, 5, s))
            .map(|_| ()),
        Line::LongDash => chart
            .draw_series(DashedLineSeries::new(pts, 18, 5, s))
            .map(|_| ()),
        Line::Dotted => chart
            .draw_series(DashedLineSeries::new(pts, 3, 4, s))
            .map(|_| ()),
    }
    .map_err(|e| e.to_string())?;
    if !markers {
        return Ok(());
    }
    let fill = style.color.filled();
    let at = points.iter().copied();
    match style.marker {
        Marker::Circle => chart
            .draw_series(at.map(|p| Circle::new(p, 5, fill)))
            .map(|_| ()),
        Marker::Triangle => chart
            .draw_series(at.map(|p| TriangleMarker::new(p, 6, fill)))
            .map(|_| ()),
        Marker::Square => chart
            .draw_series(at.map(|p| EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], fill)))
            .map(|_| ()),
        Marker::Cross => chart
            .draw_series(at.map(|p| Cross::new(p, 5, style.color.stroke_width(2))))
            .map(|_| ()),
        Marker::None => Ok(()),
    }
    .map_err(|e| e.to_string())
}

/// A compact number for tick labels: at most 3 significant digits, no trailing zeros.
pub(crate) fn number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A byte count for tick labels (`256KiB`, `1.5MiB`).
pub(crate) fn bytes(v: f64) -> String {
    ByteSize(v.max(0.0).round() as u64).to_string()
}

/// The smallest and largest of `values` (finite, and positive when `positive`).
pub(crate) fn bounds(values: impl IntoIterator<Item = f64>, positive: bool) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite() && (!positive || *v > 0.0))
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// Turns `(t, v)` points into a step line: each value holds until the next point.
pub(crate) fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &(t, v)) in points.iter().enumerate() {
        if i > 0 {
            out.push((t, points[i - 1].1));
        }
        out.push((t, v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::Security;

    fn config(peer: &str, rtt_ms: f64, accounting: WindowAccounting) -> CaseConfig {
        CaseConfig {
            peer: peer.into(),
            rtt_ms,
            queue_bytes: 0,
            window_accounting: accounting,
            upload_bytes: 1 << 20,
            download_bytes: 1 << 20,
            ..Default::default()
        }
    }

    #[test]
    fn labels_name_only_what_varies_and_styles_follow_the_colour_dimension() {
        let a = config("ours", 10.0, WindowAccounting::Full);
        let b = config("ours", 10.0, WindowAccounting::Go);
        let c = config("go", 10.0, WindowAccounting::Full);
        let d = config("go", 50.0, WindowAccounting::Go);
        let series = assign(&[&a, &b, &c, &d], &[Dim::Rtt]);
        let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "ours server, full acct",
                "ours server, go acct",
                "go server, full acct",
                "go server, go acct"
            ]
        );
        // Colour by peer, line by accounting.
        assert_eq!(series[0].style.color, series[1].style.color);
        assert_ne!(series[0].style.color, series[2].style.color);
        assert_eq!(series[0].style.line, series[2].style.line);
        assert_ne!(series[0].style.line, series[1].style.line);
        let same = assign(&[&a, &a], &[]);
        assert_eq!(same[0].label, "all cases");
    }

    #[test]
    fn the_stack_dimension_names_bare_tcp_and_the_security() {
        let noise = config("ours", 10.0, WindowAccounting::Full);
        let mut plain = noise.clone();
        plain.security = Security::Plaintext;
        let mut tcp = noise.clone();
        tcp.stack = Stack::Tcp;
        let mut tcp_far = tcp.clone();
        tcp_far.rtt_ms = 50.0;
        let series = assign(&[&tcp, &plain, &noise, &tcp_far], &[Dim::Rtt]);
        let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["bare TCP", "yamux+plaintext", "yamux+noise", "bare TCP"]
        );
        assert_eq!(series[0].style.color, series[3].style.color);
        assert_ne!(series[0].style.color, series[1].style.color);
        let mut buffered = noise.clone();
        buffered.send_buffer_bytes = Some(1 << 20);
        let series = assign(&[&noise, &buffered], &[]);
        assert_eq!(series[1].label, "sndbuf 1MiB rcvbuf auto");
    }

    #[test]
    fn a_key_shown_by_name_labels_its_series_without_code_of_its_own() {
        let go = config("ours", 10.0, WindowAccounting::Full);
        let mut ramp = go.clone();
        ramp.autotune_rule = crate::yamux::AutotuneRule::Ramp;
        let mut ramp_go_acct = ramp.clone();
        ramp_go_acct.window_accounting = WindowAccounting::Go;
        let series = assign(&[&go, &ramp, &ramp_go_acct], &[]);
        let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "go rule, full acct",
                "ramp rule, full acct",
                "ramp rule, go acct"
            ]
        );
        // The named key comes before accounting in colour order too.
        assert_ne!(series[0].style.color, series[1].style.color);
        assert_eq!(series[1].style.color, series[2].style.color);
    }

    #[test]
    fn number_and_step_formats() {
        assert_eq!(number(0.0125), "0.0125");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(1.25), "1.25");
        assert_eq!(number(150.0), "150");
        assert_eq!(bytes(262_144.0), "256KiB");
        assert_eq!(
            steps(&[(0.0, 1.0), (2.0, 3.0), (5.0, 4.0)]),
            [(0.0, 1.0), (2.0, 1.0), (2.0, 3.0), (5.0, 3.0), (5.0, 4.0)]
        );
        assert_eq!(bounds([3.0, 0.0, -1.0, 7.0], true), Some((3.0, 7.0)));
        assert_eq!(bounds([f64::NAN], false), None);
    }
}
