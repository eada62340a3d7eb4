//! Window growth over time, from the client's window trace of repetition 1 (one file per RTT):
//!
//! - upload: the send credit the **server** granted our client, as our client counts it after
//!   each window update it received (so it shows the server's receive window: ours with full or
//!   go accounting, or go-yamux's);
//! - download: **our client's** receive window after each update it sent. With go accounting
//!   this is the target window our client believes in; the credit it sends is smaller (the lost
//!   delta), which the upload panel of the same accounting shows from the sender's side.
//!
//! Every perf stream (odd ids: opened by our client) is drawn, each from its first update in
//! that direction; streams the server opened (go's identify) are left out. Auto-tuned cases
//! only: a fixed window is a flat line.

use std::path::PathBuf;

use plotters::coord::combinators::LogCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::style::{self, LegendEntry};
use super::{Case, PlotError, ResultSet, Svg};
use crate::results::WindowTraceLine;

/// Step points of one stream in both directions, ms since its first update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamTrace {
    /// Stream id.
    pub stream: u32,
    /// `(ms, send credit bytes)` after each credit update received.
    pub upload: Vec<(f64, f64)>,
    /// `(ms, receive window bytes)` after each update sent with credit.
    pub download: Vec<(f64, f64)>,
}

/// Reads a window trace and splits it into the perf streams of connection 0.
pub fn read_trace(path: &std::path::Path) -> Result<Vec<StreamTrace>, PlotError> {
    let text = super::read(path)?;
    let mut streams: Vec<StreamTrace> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: WindowTraceLine =
            serde_json::from_str(line).map_err(|source| PlotError::Trace {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?;
        let (stream, connection) = match &parsed {
            WindowTraceLine::Recv {
                stream, connection, ..
            }
            | WindowTraceLine::Send {
                stream, connection, ..
            } => (*stream, *connection),
        };
        if stream % 2 == 0 || connection != 0 {
            continue;
        }
        let entry = match streams.iter().position(|s| s.stream == stream) {
            Some(i) => &mut streams[i],
            None => {
                streams.push(StreamTrace {
                    stream,
                    ..StreamTrace::default()
                });
                streams.last_mut().expect("just pushed")
            }
        };
        match parsed {
            WindowTraceLine::Send {
                t_ms, send_window, ..
            } if send_window > 0 => entry.upload.push((t_ms, send_window as f64)),
            WindowTraceLine::Recv {
                t_ms,
                recv_window,
                delta,
                ..
            } if delta > 0 => entry.download.push((t_ms, recv_window as f64)),
            _ => {}
        }
    }
    for s in &mut streams {
        // The upload ends where the download starts: later credit (the server's updates while
        // it sends, or at close) is not part of the upload's window growth.
        if let Some(&(start, _)) = s.download.first() {
            s.upload.retain(|p| p.0 < start);
        }
        for points in [&mut s.upload, &mut s.download] {
            if let Some(&(t0, _)) = points.first() {
                points.iter_mut().for_each(|p| p.0 -= t0);
            }
        }
    }
    streams.retain(|s| !s.upload.is_empty() || !s.download.is_empty());
    Ok(streams)
}

/// The trace file of the first measured run that has one.
fn trace_path(case: &Case) -> Option<PathBuf> {
    case.result
        .measured()
        .find_map(|r| r.window_trace.as_ref())
        .map(|f| case.dir.join(f))
}

/// One window-growth plot per RTT with auto-tuned cases that have traces.
pub fn render(set: &ResultSet) -> Result<Vec<Svg>, PlotError> {
    let cases = set
        .cases
        .iter()
        .filter(|c| c.result.config.autotune && trace_path(c).is_some());
    let mut out = Vec::new();
    for (rtt, group) in super::by_rtt(cases) {
        let traces = group
            .iter()
            .map(|c| read_trace(&trace_path(c).expect("filtered on it")))
            .collect::<Result<Vec<_>, _>>()?;
        let configs: Vec<_> = group.iter().map(|c| &c.result.config).collect();
        let series = style::assign(&configs, &[style::Dim::Rtt]);
        let values = traces
            .iter()
            .flatten()
            .flat_map(|s| s.upload.iter().chain(&s.download));
        let Some((lo, hi)) = style::bounds(values.clone().map(|p| p.1), true) else {
            continue;
        };
        let t_max = style::bounds(values.map(|p| p.0), false).map_or(1.0, |b| b.1.max(1.0));
        let mut legend: Vec<LegendEntry> = series
            .iter()
            .map(|s| (s.label.clone(), Some(style::without_marker(s.style))))
            .collect();
        for note in [
            "",
            "repetition 1, every perf stream",
            "upload: send credit the server",
            "  granted our client, after each",
            "  window update it sent",
            "download: our client's receive",
            "  window after each update",
        ] {
            legend.push((note.into(), None));
        }
        if configs
            .iter()
            .any(|c| c.window_accounting == crate::yamux::WindowAccounting::Go)
        {
            for note in [
                "  (with go acct: the target; the",
                "  credit actually sent is less)",
            ] {
                legend.push((note.into(), None));
            }
        }
        legend.extend(style::notes(&configs));
        let file = format!("window-growth-rtt{}ms.svg", style::number(rtt));
        let title = format!(
            "{}: window growth per stream at RTT {} ms",
            set.name,
            style::number(rtt)
        );
        let y = (lo / 1.5, hi * 1.5);
        let svg = style::figure(file, &title, (1500, 680), 2, &legend, |panels| {
            for (panel, upload) in panels.iter().zip([true, false]) {
                let caption = if upload {
                    "upload: credit granted by the server"
                } else {
                    "download: our client's receive window"
                };
                let mut chart = ChartBuilder::on(panel)
                    .caption(caption, (style::FONT, style::CAPTION_SIZE))
                    .margin(12)
                    .x_label_area_size(55)
                    .y_label_area_size(90)
                    .build_cartesian_2d(0.0..t_max * 1.03, (y.0..y.1).log_scale().base(2.0))
                    .map_err(|e| e.to_string())?;
                draw_panel(&mut chart, &traces, &series, upload)?;
            }
            Ok(())
        })?;
        out.push(svg);
    }
    Ok(out)
}

fn draw_panel<'a>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, LogCoord<f64>>>,
    traces: &[Vec<StreamTrace>],
    series: &[style::Series],
    upload: bool,
) -> Result<(), String> {
    style::draw_mesh(
        chart,
        (
            "time since the stream's first update (ms)",
            "window (bytes, log scale)",
        ),
        &|v| style::number(*v),
        &|v| style::bytes(*v),
    )?;
    for (streams, s) in traces.iter().zip(series) {
        for stream in streams {
            let points = if upload {
                &stream.upload
            } else {
                &stream.download
            };
            if points.is_empty() {
                continue;
            }
            style::draw_series(chart, &style::steps(points), &s.style, false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_splits_by_stream_and_direction_and_drops_server_streams() {
        let dir = std::env::temp_dir().join(format!("yp-plot-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.window.jsonl");
        std::fs::write(
            &path,
            [
                r#"{"connection":0,"delta":0,"doubled":false,"recv_window":262144,"rtt_ms":null,"since_last_update_ms":0.0,"stream":1,"t_ms":0.05}"#,
                r#"{"blocked_ms":null,"connection":0,"send_window":262144,"stream":2,"t_ms":11.0}"#,
                r#"{"blocked_ms":null,"connection":0,"send_window":0,"stream":1,"t_ms":11.6}"#,
                r#"{"blocked_ms":11.3,"connection":0,"send_window":131089,"stream":1,"t_ms":15.0}"#,
                r#"{"blocked_ms":5.0,"connection":0,"send_window":524288,"stream":1,"t_ms":25.0}"#,
                r#"{"connection":0,"delta":131081,"doubled":false,"recv_window":262144,"rtt_ms":10.0,"since_last_update_ms":1.0,"stream":1,"t_ms":100.0}"#,
                r#"{"connection":0,"delta":458731,"doubled":true,"recv_window":524288,"rtt_ms":10.0,"since_last_update_ms":10.0,"stream":1,"t_ms":110.0}"#,
                // Credit after the download started is not the upload's: dropped.
                r#"{"blocked_ms":null,"connection":0,"send_window":9999,"stream":1,"t_ms":120.0}"#,
                // Another connection's stream is left out.
                r#"{"blocked_ms":null,"connection":1,"send_window":7777,"stream":1,"t_ms":5.0}"#,
            ]
            .join("\n"),
        )
        .unwrap();
        let streams = read_trace(&path).unwrap();
        assert_eq!(
            streams,
            [StreamTrace {
                stream: 1,
                upload: vec![(0.0, 131089.0), (10.0, 524288.0)],
                download: vec![(0.0, 262144.0), (10.0, 524288.0)],
            }]
        );
        std::fs::write(&path, "{\"t_ms\": 1}\n").unwrap();
        let err = read_trace(&path).unwrap_err();
        assert!(matches!(err, PlotError::Trace { line: 1, .. }), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
