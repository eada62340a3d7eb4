//! Whether a case can run: its values (the yamux bounds are [`crate::yamux::Config::with_sizes`]'s)
//! and whether its peer speaks what it needs.

use super::keys::MAX_RTT_MS;
use crate::results::{CaseConfig, Hosts, OURS, PeerInfo, Stack};
use crate::security::Security;
use crate::transport::TransportKind;
use crate::units::ByteSize;
use crate::yamux;

/// Smallest relay queue: the relay reads 64 KiB at a time.
const MIN_QUEUE: u64 = 64 << 10;

/// Why `c` cannot run at all, if it cannot.
pub(super) fn validate(c: &CaseConfig) -> Result<(), String> {
    yamux::Config::default()
        .with_sizes(
            c.initial_window_bytes,
            c.max_window_bytes,
            c.max_frame_bytes,
        )
        .map_err(|e| e.to_string())?;
    if c.upload_bytes == 0 && c.download_bytes == 0 {
        return Err("upload and download are both 0: nothing to measure".into());
    }
    if c.queue_bytes < MIN_QUEUE {
        return Err(format!(
            "queue must be at least {} (the relay reads 64 KiB at a time), got {}",
            ByteSize(MIN_QUEUE),
            ByteSize(c.queue_bytes)
        ));
    }
    if c.rtt_ms.is_nan() || c.rtt_ms < 0.0 || c.rtt_ms > MAX_RTT_MS {
        return Err(format!("rtt must be from 0 to {MAX_RTT_MS} ms"));
    }
    if c.streams == 0 || c.connections == 0 {
        return Err("streams and connections must be at least 1".into());
    }
    if c.hosts == Hosts::Netns && c.rtt_ms > 0.0 {
        return Err(format!(
            "hosts = \"netns\" with rtt = {} ms: between test hosts the link is a veth pair with \
             tbf for the rate, and no delay can be added there (netem is not used); use rtt = 0 \
             with hosts = \"netns\", or hosts = \"loopback\" for the relay's delay",
            c.rtt_ms
        ));
    }
    Ok(())
}

/// Why `peer` cannot run `config`, if it cannot.
pub(super) fn unsupported(config: &CaseConfig, peer: &PeerInfo) -> Option<String> {
    if peer.name == OURS {
        return None;
    }
    if config.stack == Stack::Tcp {
        return Some(format!(
            "stack tcp is our bare-TCP baseline, which only ours serves, not the {} peer",
            peer.name
        ));
    }
    let security_args = match config.security {
        Security::Noise => None,
        Security::Tls => Some(("tls", &peer.tls_args)),
        Security::Plaintext => Some(("plaintext", &peer.plaintext_args)),
    };
    if let Some((choice, args)) = security_args
        && args.is_empty()
    {
        return Some(format!(
            "the {} peer has no {choice} server (needs {choice}_args in [peers.{}])",
            peer.name, peer.name
        ));
    }
    if config.transport == TransportKind::Ws && peer.ws_args.is_empty() {
        return Some(format!(
            "the {} peer has no WebSocket server (needs ws_args in [peers.{}])",
            peer.name, peer.name
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::super::{ConfigError, case_from_config};
    use crate::results::{OURS, Stack};
    use crate::security::Security;

    #[test]
    fn combinations_a_peer_cannot_run_are_skipped_with_a_reason() {
        let sweep = parse(
            r#"
            [matrix]
            peer = ["ours", "go", "lab"]
            stack = ["tcp", "yamux"]
            security = ["noise", "plaintext"]
            upload = "1MiB"
            [peers.lab]
            command = ["lab"]
            "#,
        )
        .unwrap();
        let labels: Vec<&str> = sweep.cases.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels.len(), 3 + 2 + 1, "{labels:#?}");
        assert!(
            sweep
                .cases
                .iter()
                .all(|c| c.config.peer == OURS || c.config.stack == Stack::Yamux)
        );
        let go_plain = sweep
            .cases
            .iter()
            .find(|c| c.config.peer == "go" && c.config.security == Security::Plaintext)
            .expect("go speaks plaintext");
        assert_eq!(go_plain.peer.plaintext_args, ["--security", "plaintext"]);
        let lab = &sweep.cases.iter().find(|c| c.config.peer == "lab").unwrap();
        assert_eq!(lab.config.security, Security::Noise);
        let reasons: Vec<&str> = sweep.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            sweep.skipped.len(),
            3,
            "go tcp, lab tcp, lab plaintext: {reasons:?}"
        );
        assert!(sweep.skipped[0].reason.contains("only ours serves"));
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("lab peer has no plaintext server"))
        );
        // Every built-in peer takes the go peer's flags, for what the interop peer table says
        // it speaks.
        for foreign in &crate::interop::FOREIGN_PEERS {
            let parsed = parse(&format!(
                "[matrix]\npeer = \"{}\"\ntransport = \"ws\"\nsecurity = \"plaintext\"\nupload = 1",
                foreign.name
            ));
            let speaks = foreign.speaks_transport(crate::transport::TransportKind::Ws)
                && foreign.speaks_security(Security::Plaintext);
            let Ok(sweep) = parsed else {
                assert!(!speaks, "{}: {parsed:?}", foreign.name);
                continue;
            };
            assert!(speaks, "{}", foreign.name);
            let peer = &sweep.cases[0].peer;
            assert_eq!(peer.plaintext_args, ["--security", "plaintext"]);
            assert_eq!(peer.tls_args, ["--security", "tls"]);
            assert_eq!(peer.ws_args, ["--transport", "ws"]);
        }
        // Nothing left to run: a typed error, not an empty sweep.
        let e = parse(
            "[matrix]\npeer = \"lab\"\nsecurity = \"plaintext\"\nupload = 1\n[peers.lab]\ncommand = [\"lab\"]",
        )
        .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Unsupported { reason, .. } if reason.contains("no plaintext server")),
            "{e:?}"
        );
        // A hand-written peer opts in with its flags.
        let sweep = parse(
            "[matrix]\npeer = \"lab\"\nsecurity = \"plaintext\"\nupload = 1\n[peers.lab]\ncommand = [\"lab\"]\nplaintext_args = [\"--insecure\"]",
        )
        .unwrap();
        assert_eq!(sweep.cases[0].peer.plaintext_args, ["--insecure"]);
        // A re-run from a case JSON is checked too.
        let mut config = sweep.cases[0].config.clone();
        config.stack = Stack::Tcp;
        let e = case_from_config(
            config,
            sweep.cases[0].peer.clone(),
            &super::super::tests::host(),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::Unsupported { .. }), "{e:?}");
    }

    #[test]
    fn tls_and_websocket_run_against_peers_that_name_their_flags() {
        let sweep = parse(
            r#"
            [matrix]
            peer = ["ours", "go", "lab"]
            transport = ["tcp", "ws"]
            security = ["noise", "tls"]
            upload = "1MiB"
            [peers.lab]
            command = ["lab"]
            tls_args = ["--tls"]
            "#,
        )
        .unwrap();
        let ids: Vec<String> = sweep
            .cases
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.config.peer, c.config.transport, c.config.security
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                "ours tcp noise",
                "ours tcp tls",
                "ours ws noise",
                "ours ws tls",
                "go tcp noise",
                "go tcp tls",
                "go ws noise",
                "go ws tls",
                "lab tcp noise",
                "lab tcp tls",
            ],
            "peer outermost, then the listed keys in table order"
        );
        let go_ws_tls = &sweep.cases[7];
        assert_eq!(go_ws_tls.peer.ws_args, ["--transport", "ws"]);
        assert_eq!(go_ws_tls.peer.tls_args, ["--security", "tls"]);
        assert!(go_ws_tls.label.contains("sec=tls"), "{}", go_ws_tls.label);
        assert!(
            go_ws_tls.label.contains("transport=ws"),
            "{}",
            go_ws_tls.label
        );
        let reasons: Vec<&str> = sweep.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons
                .iter()
                .all(|r| r.contains("lab peer has no WebSocket server"))
        );
    }
}
