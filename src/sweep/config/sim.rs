//! What `engine = "sim"` can run: the keys of the link and of yamux, on `ours` at both ends.
//! A key the simulation does not model is refused by name, never silently ignored.

use super::keys::Key;
use super::schema::SweepFile;
use super::{ConfigError, Sweep};
use crate::results::OURS;

/// Keys the simulation has no model for, with the reason: refused wherever a config sets them.
const NOT_MODELLED: &[(Key, &str)] = &[
    (
        Key::Stack,
        "it runs yamux sessions only; bare TCP is a kernel baseline",
    ),
    (
        Key::Transport,
        "no transport is modelled, only the link below yamux",
    ),
    (
        Key::Security,
        "no security layer is modelled: the sessions exchange plaintext frames",
    ),
    (
        Key::EarlyMuxer,
        "no connection setup is modelled: the sessions start established",
    ),
    (Key::SendBuffer, "no socket is modelled"),
    (Key::RecvBuffer, "no socket is modelled"),
    (Key::LatencyMode, "it runs no latency rounds"),
    (Key::Stagger, "it opens every stream at once"),
    (Key::ShortFlows, "it runs no short flows"),
    (
        Key::Probe,
        "it runs no ping probe (the probe times pings on real connections)",
    ),
];

fn refused(key: String, reason: impl Into<String>) -> ConfigError {
    ConfigError::NotSimulated {
        key,
        reason: reason.into(),
    }
}

/// Refuses what the simulation cannot run: a key it does not model anywhere in the file, and
/// cases with another peer, several connections, latency rounds, or neither an RTT nor a rate.
pub(super) fn check(file: &SweepFile, sweep: &Sweep) -> Result<(), ConfigError> {
    let tables = std::iter::once(("matrix".to_string(), &file.matrix)).chain(
        file.overrides
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("override[{i}].set"), &o.set)),
    );
    for (table, matrix) in tables {
        for (key, _) in matrix.entries() {
            if let Some((_, reason)) = NOT_MODELLED.iter().find(|(k, _)| *k == key) {
                return Err(refused(format!("{table}.{}", key.name()), *reason));
            }
        }
    }
    if !file.peers.is_empty() {
        return Err(refused(
            "peers".into(),
            "it runs our yamux at both ends, no foreign server",
        ));
    }
    for case in &sweep.cases {
        check_case(&case.config)
            .map_err(|(key, reason)| refused(format!("{key} (case {})", case.label), reason))?;
    }
    Ok(())
}

/// Why one case cannot be simulated: the key and the reason.
pub(super) fn check_case(
    c: &crate::results::CaseConfig,
) -> Result<(), (&'static str, &'static str)> {
    if c.peer != OURS {
        return Err(("peer", "it runs our yamux at both ends, no foreign server"));
    }
    if c.connections != 1 {
        return Err((
            "connections",
            "it simulates one connection (the relay gives every connection its own link, so \
             more would be identical copies)",
        ));
    }
    if c.latency_rounds.is_some() {
        return Err(("latency_rounds", "it runs no latency rounds"));
    }
    if c.rtt_ms == 0.0 && c.rate_bits_per_second.is_none() {
        return Err((
            "rtt",
            "rtt 0 without a rate moves every byte in zero simulated time: nothing to \
             measure (give the case a rate)",
        ));
    }
    Ok(())
}
