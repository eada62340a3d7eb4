//! What a reader of a case's results must know: options that apply to one side only, the
//! baseline's defaults, and socket buffers this host caps.

use super::super::host::HostFacts;
use crate::results::{CaseConfig, OURS, PeerInfo, Stack};
use crate::security::Security;
use crate::units::ByteSize;

/// The notes of a case run against `peer` on a host with `host`'s limits.
pub(super) fn notes(c: &CaseConfig, peer: &PeerInfo, host: &HostFacts) -> Vec<String> {
    let mut notes = Vec::new();
    if c.stack == Stack::Tcp {
        notes.push(
            "stack tcp: bare TCP, one connection per stream, without multistream-select, \
             security and yamux; the yamux settings and security are recorded at their defaults \
             and do not apply"
                .into(),
        );
    }
    if c.security == Security::Plaintext && peer.name != OURS {
        notes.push(format!(
            "plaintext: the {} server runs with {:?}",
            peer.name,
            peer.plaintext_args.join(" ")
        ));
    }
    for (what, bytes, cap, max) in [
        (
            "send_buffer",
            c.send_buffer_bytes,
            "wmem_max",
            host.wmem_max,
        ),
        (
            "recv_buffer",
            c.recv_buffer_bytes,
            "rmem_max",
            host.rmem_max,
        ),
    ] {
        let Some(bytes) = bytes else { continue };
        if peer.name != OURS {
            notes.push(format!(
                "{what} applies to our client only; the {} server keeps its own",
                peer.name
            ));
        }
        if let Some(max) = max.filter(|max| bytes > *max) {
            notes.push(format!(
                "{what} {} is above net.core.{cap} ({}) of this host: Linux caps it there",
                ByteSize(bytes),
                ByteSize(max)
            ));
        }
    }
    if !peer.server_takes_yamux_options && c.stack == Stack::Yamux {
        notes.push(format!(
            "the {} server runs with its own yamux settings: initial_window, max_window, \
             autotune, window_accounting, autotune_rule and max_frame apply to our client only",
            peer.name
        ));
    }
    if c.latency_rounds.is_some() && !peer.latency_client_args.is_empty() {
        notes.push(format!(
            "the latency run against {} adds client flags {:?}",
            peer.name,
            peer.latency_client_args.join(" ")
        ));
    }
    if !c.autotune {
        notes.push(format!(
            "auto-tuning off: the receive window stays at {}",
            ByteSize(c.initial_window_bytes)
        ));
    }
    if !c.needs_relay() {
        notes.push("no relay: the client dials the server directly on loopback".into());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse_on;
    use super::*;

    #[test]
    fn buffers_above_the_host_cap_are_noted_from_the_facts_given() {
        let text = "[matrix]\nupload = 1\nsend_buffer = \"8MiB\"\nrecv_buffer = \"8MiB\"";
        let capped = HostFacts {
            wmem_max: Some(4 << 20),
            rmem_max: Some(16 << 20),
        };
        let notes = &parse_on(text, &capped).unwrap().cases[0].notes;
        assert!(
            notes
                .iter()
                .any(|n| n == "send_buffer 8MiB is above net.core.wmem_max (4MiB) of this host: Linux caps it there"),
            "{notes:?}"
        );
        assert!(!notes.iter().any(|n| n.contains("rmem_max")), "{notes:?}");
        let unknown = parse_on(text, &HostFacts::default()).unwrap();
        assert!(!unknown.cases[0].notes.iter().any(|n| n.contains("mem_max")));
    }
}
