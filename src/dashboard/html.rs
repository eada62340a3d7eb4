//! The dashboard page: one HTML document with its style sheet and every plot inline (hand-written
//! SVG), nothing loaded from elsewhere. The same dashboard gives the same bytes (no time stamp,
//! no version), so a committed page can be checked against its history.
//!
//! Stable hooks for tests and scripts: each plot is an `<svg class="metric-plot">` with
//! `data-series`, `data-metric` and `data-case`; each point is a `<circle class="mark K">` with
//! K one of `regression`, `improvement`, `unchanged`, `new`, `first` ([`Mark::class`]) and
//! `data-commit`; the commit table is `#commits`, the list of changes `#changes`.

use std::fmt::Write;

use super::{Dashboard, Mark, Plot, Point, Series};
use crate::compare::{Better, Metric};
use crate::plot::style::{bytes, number};
use crate::units::UtcTime;

/// `&`, `<`, `>`, `"` and `'` as entities.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id fragment: letters, digits, `-` and `_` kept, anything else as `_`.
fn ident(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The element id of a plot.
pub fn plot_id(series: &Series, plot: &Plot) -> String {
    format!(
        "plot-{}-{}-{}",
        ident(&series.name),
        plot.metric.key(),
        ident(&plot.case)
    )
}

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.25em; margin: 1.5em 0 .2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin: 1em 0 .3em; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { padding: .15em .6em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.subject { max-width: 48em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
details { margin: .5em 0; }
summary { cursor: pointer; font-weight: bold; }
nav a { margin-right: 1em; }
code { font-size: .95em; }
.about { color: #555; max-width: 60em; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
figure.case { margin: 0; width: 290px; }
figcaption { font-size: 11px; color: #333; height: 2.8em; overflow: hidden; }
svg.metric-plot { background: #fafafa; border: 1px solid #ddd; }
svg .axis { stroke: #999; stroke-width: 1; }
svg .grid-line { stroke: #e4e4e4; stroke-width: 1; }
svg text { font: 9px system-ui, sans-serif; fill: #555; }
svg text.commit { font-size: 8px; }
svg .trend { fill: none; stroke: #4a6fa5; stroke-width: 1.5; }
svg .spread { stroke: #4a6fa5; stroke-width: 1; opacity: .5; }
.mark { stroke: #fff; stroke-width: 1; }
.mark.regression { fill: #d62728; }
.mark.improvement { fill: #2ca02c; }
.mark.unchanged { fill: #7f7f7f; }
.mark.new, .mark.first { fill: #fff; stroke: #4a6fa5; stroke-width: 1.5; }
.legend span { margin-right: 1.2em; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 50%; vertical-align: -.05em; }
.swatch.regression { background: #d62728; }
.swatch.improvement { background: #2ca02c; }
.swatch.unchanged { background: #7f7f7f; }
.swatch.new { border: 1.5px solid #4a6fa5; }
tr.regression td.verdict { color: #d62728; font-weight: bold; }
tr.improvement td.verdict { color: #2ca02c; font-weight: bold; }
";

/// A value of `metric` for a label: byte counts in binary units, others with 3 digits.
fn value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::ClientPeakRssBytes | Metric::ServerPeakRssBytes => bytes(v),
        _ => number(v),
    }
}

const WIDTH: f64 = 290.0;
const HEIGHT: f64 = 140.0;
const LEFT: f64 = 50.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

/// The y range of a plot: its points' spreads, padded; a flat line gets ±5% of its value.
fn y_range(points: &[Point]) -> (f64, f64) {
    let lo = points
        .iter()
        .map(|p| p.value.min)
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.value.max)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 1e-12 * hi.abs().max(lo.abs()) {
        let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.05 };
        (lo - pad, hi + pad)
    } else {
        (lo - span * 0.08, hi + span * 0.08)
    }
}

fn tooltip(d: &Dashboard, plot: &Plot, p: &Point) -> String {
    let c = &d.history.commits[p.commit];
    let t = UtcTime::from_unix(c.commit.committed_unix_s.max(0) as u64);
    let (date, time) = (t.date(), t.time());
    let m = plot.metric;
    let mut text = format!(
        "{} ({date} {time} UTC): {} {}",
        c.commit.revision,
        value(m, p.value.median),
        m.unit()
    );
    if p.value.n > 1 {
        let _ = write!(
            text,
            " (median of {}, {} to {})",
            p.value.n,
            value(m, p.value.min),
            value(m, p.value.max)
        );
    }
    match p.mark {
        Mark::First => text.push_str("; first commit of the series"),
        Mark::New => text.push_str("; not in the previous commit"),
        mark => {
            let _ = write!(text, "; {}", mark.class());
            if let Some(r) = p.ratio {
                let _ = write!(text, ", ×{} of the previous", number(r));
            }
        }
    }
    if let Some(note) = &p.note {
        let _ = write!(text, " ({note})");
    }
    text
}

fn svg(d: &Dashboard, series: &Series, plot: &Plot) -> String {
    let n = d.history.commits.len().max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |commit: usize| LEFT + (commit as f64 + 0.5) * plot_w / n;
    let (lo, hi) = y_range(&plot.points);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * plot_h;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"metric-plot\" id=\"{id}\" data-series=\"{series}\" data-metric=\"{metric}\" \
         data-case=\"{case}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" \
         height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">",
        id = plot_id(series, plot),
        series = esc(&series.name),
        metric = plot.metric.key(),
        case = esc(&plot.case),
    );
    let _ = write!(
        s,
        "<title>{} of {}</title>",
        esc(plot.metric.title()),
        esc(&plot.label)
    );
    // Three horizontal grid lines with their values, then the axes.
    for k in 0..3 {
        let v = lo + (hi - lo) * (0.1 + 0.4 * k as f64);
        let yy = y(v);
        let _ = write!(
            s,
            "<line class=\"grid-line\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = WIDTH - RIGHT,
            tx = LEFT - 3.0,
            ty = yy + 3.0,
            label = esc(&value(plot.metric, v)),
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{yb}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" x2=\"{xr}\" y1=\"{yb}\" y2=\"{yb}\"/>",
        yb = TOP + plot_h,
        xr = WIDTH - RIGHT,
    );
    // Commit labels, at least 36 px apart (a short revision in 8 px type).
    let every = (36.0 / (plot_w / n)).ceil().max(1.0) as usize;
    for (i, c) in d.history.commits.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                s,
                "<text class=\"commit\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x(i),
                HEIGHT - 8.0,
                esc(&c.commit.revision)
            );
        }
    }
    let line: Vec<String> = plot
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.commit), y(p.value.median)))
        .collect();
    if line.len() > 1 {
        let _ = write!(
            s,
            "<polyline class=\"trend\" points=\"{}\"/>",
            line.join(" ")
        );
    }
    for p in &plot.points {
        if p.value.max > p.value.min {
            let _ = write!(
                s,
                "<line class=\"spread\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
                y(p.value.min),
                y(p.value.max),
                xx = x(p.commit),
            );
        }
    }
    for p in &plot.points {
        let circle = format!(
            "<circle class=\"mark {class}\" data-commit=\"{rev}\" cx=\"{:.1}\" cy=\"{:.1}\" \
             r=\"{r}\"><title>{}</title></circle>",
            x(p.commit),
            y(p.value.median),
            esc(&tooltip(d, plot, p)),
            class = p.mark.class(),
            rev = esc(&d.history.commits[p.commit].commit.revision),
            r = if matches!(p.mark, Mark::Regression | Mark::Improvement) {
                5.0
            } else {
                3.5
            },
        );
        match &p.detail {
            Some(href) => {
                let _ = write!(s, "<a href=\"{}\">{circle}</a>", esc(href));
            }
            None => s.push_str(&circle),
        }
    }
    s.push_str("</svg>");
    s
}

fn commits_table(d: &Dashboard, out: &mut String) {
    out.push_str(
        "<table id=\"commits\"><tr><th>#</th><th>commit (UTC)</th><th>revision</th>\
         <th>subject</th><th>series</th></tr>\n",
    );
    for (i, c) in d.history.commits.iter().enumerate() {
        let t = UtcTime::from_unix(c.commit.committed_unix_s.max(0) as u64);
        let (date, time) = (t.date(), t.time());
        let series: Vec<&str> = c.series.keys().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "<tr class=\"commit\" data-commit=\"{rev}\"><td>{n}</td><td>{date} {time}</td>\
             <td><code>{rev}</code>{dirty}</td><td class=\"subject\" title=\"{subject}\">{subject}</td>\
             <td>{series}</td></tr>",
            n = i + 1,
            rev = esc(&c.commit.revision),
            dirty = if c.dirty { " (dirty tree)" } else { "" },
            subject = esc(c.commit.subject.as_deref().unwrap_or("")),
            series = esc(&series.join(", ")),
        );
    }
    out.push_str("</table>\n");
}

fn changes_table(d: &Dashboard, out: &mut String) {
    let changed: Vec<(&Series, &Plot, &Point)> = d
        .plots()
        .flat_map(|(s, p)| p.points.iter().map(move |pt| (s, p, pt)))
        .filter(|(_, _, pt)| matches!(pt.mark, Mark::Regression | Mark::Improvement))
        .collect();
    if changed.is_empty() {
        out.push_str(
            "<p id=\"changes\" class=\"none\">No regression or improvement between consecutive \
             commits.</p>\n",
        );
        return;
    }
    let _ = write!(
        out,
        "<details id=\"changes\"><summary>{} regression(s) and {} improvement(s) between \
         consecutive commits</summary>\n<table><tr><th>commit</th><th>series</th><th>metric</th>\
         <th>case</th><th>verdict</th><th>current / previous</th></tr>\n",
        d.count(Mark::Regression),
        d.count(Mark::Improvement),
    );
    for (s, p, pt) in changed {
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td><code>{rev}</code></td><td>{series}</td><td>{metric}</td>\
             <td><a href=\"#{id}\">{label}</a></td><td class=\"verdict\">{class}</td>\
             <td>{ratio}</td></tr>",
            class = pt.mark.class(),
            rev = esc(&d.history.commits[pt.commit].commit.revision),
            series = esc(&s.name),
            metric = esc(p.metric.title()),
            id = plot_id(s, p),
            label = esc(&p.label),
            ratio = pt
                .ratio
                .map(|r| format!("×{}", number(r)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</table></details>\n");
}

/// The whole page.
pub fn render(d: &Dashboard) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>yamux-perf dashboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>yamux-perf dashboard</h1>\n"
    );
    let commits = &d.history.commits;
    let (first, last) = (&commits[0], &commits[commits.len() - 1]);
    let _ = writeln!(
        out,
        "<p class=\"about\">{n} commits, <code>{a}</code> to <code>{b}</code>; {plots} plots. \
         Each point is a commit's median (the bar: its repetitions' range), marked by \
         <code>yamux-perf compare</code>'s verdict against the previous commit that has the \
         series, at threshold {t}: past the threshold <em>and</em> outside the spread of both \
         sides' repetitions. A point links to its case's result file.</p>",
        n = commits.len(),
        a = esc(&first.commit.revision),
        b = esc(&last.commit.revision),
        plots = d.plots().count(),
        t = d.threshold,
    );
    let _ = writeln!(
        out,
        "<p class=\"legend\"><span><span class=\"swatch regression\"></span> regression ({})\
         </span><span><span class=\"swatch improvement\"></span> improvement ({})</span>\
         <span><span class=\"swatch unchanged\"></span> unchanged ({})</span>\
         <span><span class=\"swatch new\"></span> first or new ({})</span></p>",
        d.count(Mark::Regression),
        d.count(Mark::Improvement),
        d.count(Mark::Unchanged),
        d.count(Mark::First) + d.count(Mark::New),
    );
    commits_table(d, &mut out);
    changes_table(d, &mut out);
    out.push_str("<nav id=\"series-index\">Series:");
    for s in &d.series {
        let _ = write!(
            out,
            " <a href=\"#series-{}\">{}</a> ({} plots)",
            ident(&s.name),
            esc(&s.name),
            s.plots.len()
        );
    }
    out.push_str("</nav>\n");
    for s in &d.series {
        let _ = writeln!(
            out,
            "<section class=\"series\" id=\"series-{id}\" data-series=\"{name}\">\n\
             <h2>{name}</h2>\n<p class=\"about\">{about}</p>",
            id = ident(&s.name),
            name = esc(&s.name),
            about = esc(&s.about),
        );
        let mut metric = None;
        for p in &s.plots {
            if metric != Some(p.metric) {
                if metric.is_some() {
                    out.push_str("</div>\n");
                }
                metric = Some(p.metric);
                let _ = writeln!(
                    out,
                    "<h3 id=\"series-{id}-{key}\">{title} ({unit}, {better} is better)</h3>\n\
                     <div class=\"grid\">",
                    id = ident(&s.name),
                    key = p.metric.key(),
                    title = esc(p.metric.title()),
                    unit = esc(p.metric.unit()),
                    better = match p.metric.better() {
                        Better::Bigger => "bigger",
                        Better::Smaller => "smaller",
                    },
                );
            }
            let _ = writeln!(
                out,
                "<figure class=\"case\">{}<figcaption>{} <code>{}</code></figcaption></figure>",
                svg(d, s, p),
                esc(&p.label),
                esc(&p.case),
            );
        }
        if metric.is_some() {
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_ids() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
        assert_eq!(ident("go->rust@ws+tls"), "go-_rust_ws_tls");
    }

    #[test]
    fn a_flat_line_gets_a_range_around_it() {
        let point = |v: f64| Point {
            commit: 0,
            case: "c".into(),
            value: crate::results::Spread::of([v]).unwrap(),
            mark: Mark::First,
            ratio: None,
            note: None,
            detail: None,
        };
        assert_eq!(y_range(&[point(2.0), point(2.0)]), (1.9, 2.1));
        assert_eq!(y_range(&[point(0.0)]), (-1.0, 1.0));
        let (lo, hi) = y_range(&[point(1.0), point(2.0)]);
        assert!(lo < 1.0 && hi > 2.0);
    }
}
