//! What `engine = "sim"` can run: the keys of the link and of yamux, on `ours` at both ends.
//! A key the simulation does not model ([`Sim::Refused`] in the key table) is refused by name,
//! never silently ignored.

use super::keys::Sim;
use super::schema::SweepFile;
use super::{ConfigError, Sweep};
use crate::results::OURS;

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
            if let Sim::Refused(reason) = key.sim() {
                return Err(refused(format!("{table}.{}", key.name()), reason));
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

#[cfg(test)]
mod tests {
    use super::super::keys::Key;
    use super::super::schema::Scalar;
    use super::super::tests::error;
    use super::*;

    fn toml(value: Scalar) -> String {
        match value {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => format!("{s:?}"),
        }
    }

    /// Every key the table marks `Refused` is refused by name with its reason, at its default
    /// value too (a key is refused for being set, not for its value), and no other key is.
    #[test]
    fn every_key_the_table_refuses_is_refused_by_name() {
        let base = "engine = \"sim\"\n[matrix]\nrtt = \"10ms\"\nupload = \"1MiB\"\n";
        let mut refused = 0;
        for &key in Key::ALL {
            let Sim::Refused(reason) = key.sim() else {
                continue;
            };
            let value = toml(key.default_scalar());
            let e = error(&format!("{base}{} = {value}\n", key.name()));
            assert!(
                e.contains(&format!("matrix.{}", key.name())) && e.contains(reason),
                "{}: {e}",
                key.name()
            );
            refused += 1;
        }
        assert_eq!(refused, 11, "the table refuses eleven keys today");
    }
}
