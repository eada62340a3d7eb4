//! Output: test-plans JSON lines on stdout and a human summary.
//!
//! The JSON shape is test-plans' (`perf/README.md`): one object per line, `intermediary` lines
//! once per second with the bytes of that interval, and a `final` line with the totals and the
//! time from before the dial to the end.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Progress;
use super::client::ClientReport;
use crate::units::{ByteSize, bits_per_second};
use crate::yamux::TraceEvent;

/// One stdout line in test-plans format.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// `intermediary` or `final`.
    #[serde(rename = "type")]
    pub kind: LineKind,
    /// Interval length (intermediary) or total time (final), in seconds.
    pub time_seconds: f64,
    /// Bytes uploaded in the interval, or in total.
    pub upload_bytes: u64,
    /// Bytes downloaded in the interval, or in total.
    pub download_bytes: u64,
}

/// The two kinds of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// Once per second, per-interval counts.
    Intermediary,
    /// At the end, totals.
    Final,
}

impl Line {
    /// The line as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain struct serializes")
    }
}

/// The `final` line of a run.
pub fn final_line(report: &ClientReport) -> Line {
    Line {
        kind: LineKind::Final,
        time_seconds: report.total_duration.as_secs_f64(),
        upload_bytes: report.stream.upload_bytes,
        download_bytes: report.stream.download_bytes,
    }
}

/// Prints an `intermediary` line to `out` every `interval` with the bytes moved since the last
/// one, until the returned guard is dropped. `on_tick` sees the cumulative counts (for a
/// progress bar).
pub fn spawn_intervals(
    progress: Arc<Progress>,
    interval: Duration,
    mut out: impl Write + Send + 'static,
    mut on_tick: impl FnMut(u64, u64) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        let (mut last, mut up, mut down) = (Instant::now(), 0u64, 0u64);
        loop {
            ticker.tick().await;
            let now = Instant::now();
            let (u, d) = (
                progress.uploaded.load(Ordering::Relaxed),
                progress.downloaded.load(Ordering::Relaxed),
            );
            let line = Line {
                kind: LineKind::Intermediary,
                time_seconds: (now - last).as_secs_f64(),
                upload_bytes: u - up,
                download_bytes: d - down,
            };
            let _ = writeln!(out, "{}", line.to_json());
            let _ = out.flush();
            on_tick(u, d);
            (last, up, down) = (now, u, d);
        }
    })
}

fn rate(bytes: u64, duration: Duration) -> String {
    let bps = bits_per_second(bytes, duration.as_secs_f64());
    format!(
        "{:.2} Gbit/s ({:.0} MiB/s)",
        bps / 1e9,
        bps / 8.0 / (1 << 20) as f64
    )
}

/// A few lines for a human: goodput each way, durations, RTT.
pub fn summary(report: &ClientReport) -> String {
    let s = &report.stream;
    let mut text = format!(
        "peer      {}\nconnect   {:.2} ms\nupload    {} in {:.3} s: {}\ndownload  {} in {:.3} s: {}\ntotal     {:.3} s\n",
        report.remote_peer,
        report.connect_duration.as_secs_f64() * 1e3,
        ByteSize(s.upload_bytes),
        s.upload_duration.as_secs_f64(),
        rate(s.upload_bytes, s.upload_duration),
        ByteSize(s.download_bytes),
        s.download_duration.as_secs_f64(),
        rate(s.download_bytes, s.download_duration),
        report.total_duration.as_secs_f64(),
    );
    let samples = &report.rtt_samples;
    match report.rtt {
        Some(rtt) => {
            text += &format!(
                "yamux rtt {:.3} ms smoothed, {} samples (min {:.3} ms, max {:.3} ms)\n",
                rtt.as_secs_f64() * 1e3,
                samples.len(),
                samples.iter().min().map_or(0.0, |d| d.as_secs_f64() * 1e3),
                samples.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            )
        }
        None => text += "yamux rtt not measured (no pong)\n",
    }
    let st = &report.stats;
    text += &format!(
        "yamux     max receive window {}, max send credit {}, {} data frames sent, {} received, {} peer pings answered\n",
        ByteSize(u64::from(st.max_recv_window)),
        ByteSize(u64::from(st.max_send_credit)),
        st.frames_sent[0],
        st.frames_received[0],
        st.pings_answered,
    );
    text
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One line of the window-growth trace (`.jsonl`): receive-side epoch decisions as
/// `{"t_ms","stream","rtt_ms","recv_window","delta","since_last_update_ms","doubled"}`, sender-side
/// credit as `{"t_ms","stream","send_window","blocked_ms"}`. Times are from the session start.
pub fn trace_line(event: &TraceEvent) -> serde_json::Value {
    match *event {
        TraceEvent::RecvWindow {
            t,
            stream,
            rtt,
            window,
            delta,
            since_last_update,
            doubled,
        } => serde_json::json!({
            "t_ms": millis(t),
            "stream": stream,
            "rtt_ms": rtt.map(millis),
            "recv_window": window,
            "delta": delta,
            "since_last_update_ms": millis(since_last_update),
            "doubled": doubled,
        }),
        TraceEvent::SendCredit {
            t,
            stream,
            credit,
            blocked,
        } => serde_json::json!({
            "t_ms": millis(t),
            "stream": stream,
            "send_window": credit,
            "blocked_ms": blocked.map(millis),
        }),
    }
}

/// Writes a window trace as JSON lines.
pub fn write_trace(events: &[TraceEvent], mut out: impl Write) -> std::io::Result<()> {
    for event in events {
        writeln!(out, "{}", trace_line(event))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_test_plans_keys() {
        let line = Line {
            kind: LineKind::Intermediary,
            time_seconds: 1.5,
            upload_bytes: 3,
            download_bytes: 4,
        };
        assert_eq!(
            line.to_json(),
            r#"{"type":"intermediary","timeSeconds":1.5,"uploadBytes":3,"downloadBytes":4}"#
        );
        let parsed: Line = serde_json::from_str(
            r#"{"type":"final","timeSeconds":0.19,"uploadBytes":1,"downloadBytes":1}"#,
        )
        .unwrap();
        assert_eq!(parsed.kind, LineKind::Final);
    }

    #[test]
    fn trace_lines_carry_the_documented_fields() {
        let recv = TraceEvent::RecvWindow {
            t: Duration::from_millis(1500),
            stream: 1,
            rtt: Some(Duration::from_millis(50)),
            window: 524_288,
            delta: 393_216,
            since_last_update: Duration::from_millis(120),
            doubled: true,
        };
        let line = trace_line(&recv);
        assert_eq!(line["t_ms"], 1500.0);
        assert_eq!(line["rtt_ms"], 50.0);
        assert_eq!(line["recv_window"], 524_288);
        assert_eq!(line["since_last_update_ms"], 120.0);
        assert_eq!(line["doubled"], true);
        let send = TraceEvent::SendCredit {
            t: Duration::ZERO,
            stream: 3,
            credit: 7,
            blocked: None,
        };
        let line = trace_line(&send);
        assert_eq!(
            (line["send_window"].as_u64(), line["blocked_ms"].is_null()),
            (Some(7), true)
        );
    }
}
