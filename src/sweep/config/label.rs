//! A case in one human-readable line; only the settings that differ from the defaults, except
//! for the link and the yamux windows, which are always shown. A key the table shows by name
//! ([`super::Show::Named`]) needs no line here.

use super::keys::{Key, case_fields};
use crate::results::{CaseConfig, LatencyMode, Stack};
use crate::security::Security;
use crate::units::{ByteSize, Rate};

/// `50ms`, `0.5ms`.
pub fn format_ms(ms: f64) -> String {
    if ms.fract() == 0.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{ms}ms")
    }
}

/// A case in one line: `ours rtt=50ms win=256KiB..16MiB auto acct=full frame=64KiB 1sx1c
/// up=64MiB down=64MiB`.
pub fn label(c: &CaseConfig) -> String {
    let mut text = format!("{} rtt={}", c.peer, format_ms(c.rtt_ms));
    if let Some(rate) = c.rate_bits_per_second {
        text += &format!(" rate={}", Rate(rate));
    }
    if c.queue_bytes != 4 << 20 {
        text += &format!(" queue={}", ByteSize(c.queue_bytes));
    }
    if c.stack == Stack::Tcp {
        text += " stack=tcp";
    } else if c.security != Security::Noise {
        text += &format!(" sec={}", c.security);
    }
    if let Some(b) = c.send_buffer_bytes {
        text += &format!(" sndbuf={}", ByteSize(b));
    }
    if let Some(b) = c.recv_buffer_bytes {
        text += &format!(" rcvbuf={}", ByteSize(b));
    }
    if c.stack == Stack::Yamux {
        if c.autotune {
            text += &format!(
                " win={}..{} auto",
                ByteSize(c.initial_window_bytes),
                ByteSize(c.max_window_bytes)
            );
        } else {
            text += &format!(" win={} fixed", ByteSize(c.initial_window_bytes));
        }
        text += &format!(
            " acct={} frame={}",
            c.window_accounting.as_str(),
            ByteSize(c.max_frame_bytes)
        );
    }
    let fields = case_fields(c);
    for (key, name) in Key::ALL.iter().filter_map(|k| Some((k, k.shown_as()?))) {
        let value = key.value_in(&fields);
        if key.applies_to(c.stack) && value != key.default_value() {
            text += &format!(" {name}={}", key.text(&value));
        }
    }
    text += &format!(
        " {}sx{}c up={} down={}",
        c.streams,
        c.connections,
        ByteSize(c.upload_bytes),
        ByteSize(c.download_bytes)
    );
    if let Some(rounds) = c.latency_rounds {
        text += &format!(" lat={rounds}");
        if c.latency_mode == LatencyMode::Ping {
            text += " ping";
        }
    }
    text
}
