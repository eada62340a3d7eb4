//! `--security tls` (libp2p TLS 1.3, `/tls/1.0.0`): ours↔ours with every byte verified and the
//! cipher suite in the summary and the report, a wrong peer id rejected, the server's accepted
//! set (`--security` restricts it), `--no-early-muxer`, and interop with go-libp2p's TLS in both
//! directions (interop/go-peer, built by interop/build.sh).

mod common;

use std::time::Duration;

use common::*;

const GO_PEER: &str = "target/interop/go/go-libp2p-perf";
const BUILD: &str = "interop/build.sh go";
const SIZE: u64 = 64 << 20;
const LOG_WAIT: Duration = Duration::from_secs(10);

#[test]
fn ours_to_ours_tls_verified_both_ways_with_the_suite_reported() {
    let server = our_server(&["--security", "tls", "--verify"], "info");
    let report = std::env::temp_dir().join(format!("tls-report-{}.json", std::process::id()));
    let report_arg = report.display().to_string();
    let (_, stderr) = our_client_succeeds(
        &server.addr,
        SIZE,
        SIZE,
        &["--security", "tls", "--verify", "--report", &report_arg],
    );
    assert!(
        stderr.contains("cipher    TLS13_AES_128_GCM_SHA256"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    std::fs::remove_file(&report).ok();
    assert_eq!(json["cipher"], "TLS13_AES_128_GCM_SHA256");
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    assert!(field_u64(&line, "received") >= SIZE, "{line}");
    assert!(field_u64(&line, "sent") >= SIZE, "{line}");
}

#[test]
fn tls_client_checks_the_peer_id() {
    let server = our_server(&[], "info");
    let wrong = with_peer_id(&server.addr, SEED0_ID);
    let out = our_client(&wrong, 1, 1, &["--security", "tls"]);
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("tls handshake failed") && stderr.contains("peer id mismatch"),
        "{stderr}"
    );
}

#[test]
fn the_server_accepts_noise_and_tls_by_default_and_security_restricts_it() {
    let server = our_server(&[], "info");
    for security in ["tls", "noise"] {
        let (_, stderr) = our_client_succeeds(&server.addr, 1, 1, &["--security", security]);
        assert!(stderr.contains("cipher"), "{stderr}");
    }
    let out = our_client(&server.addr, 1, 1, &["--security", "plaintext"]);
    assert!(!out.status.success(), "{}", stderr_of(&out));
    let server = our_server(&["--security", "tls,plaintext"], "info");
    our_client_succeeds(&server.addr, 1, 1, &["--security", "plaintext"]);
    our_client_succeeds(&server.addr, 1, 1, &["--security", "tls"]);
    let out = our_client(&server.addr, 1, 1, &[]);
    assert!(!out.status.success(), "{}", stderr_of(&out));
    // A client proposes one protocol.
    let out = our_client(&server.addr, 1, 1, &["--security", "tls,noise"]);
    assert!(
        stderr_of(&out).contains("proposes one --security protocol"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn no_early_muxer_on_either_side_still_connects() {
    let server = our_server(&["--no-early-muxer"], "info");
    for extra in [
        &["--security", "tls"][..],
        &["--security", "tls", "--no-early-muxer"],
        &[],
    ] {
        our_client_succeeds(&server.addr, SIZE, 1, extra);
    }
    let server = our_server(&[], "info");
    our_client_succeeds(
        &server.addr,
        1,
        SIZE,
        &["--security", "tls", "--no-early-muxer"],
    );
}

#[test]
fn ours_client_to_go_tls_server() {
    let Some(peer) = interop_peer(GO_PEER, BUILD) else {
        return;
    };
    let server = peer_server("go", &peer, &["--security", "tls"]);
    let (_, stderr) = our_client_succeeds(&server.addr, SIZE, SIZE, &["--security", "tls"]);
    assert!(stderr.contains("cipher    TLS13_"), "{stderr}");
    let line = server.wait_for_line("perf stream done:", LOG_WAIT);
    assert_eq!(field_u64(&line, "uploadBytes"), SIZE, "{line}");
    assert_eq!(field_u64(&line, "downloadBytes"), SIZE, "{line}");
    // Without the early muxer: yamux by multistream-select inside TLS.
    our_client_succeeds(
        &server.addr,
        SIZE,
        SIZE,
        &["--security", "tls", "--no-early-muxer"],
    );
}

#[test]
fn go_tls_client_to_ours_server() {
    let Some(peer) = interop_peer(GO_PEER, BUILD) else {
        return;
    };
    for extra in [&[][..], &["--no-early-muxer"]] {
        let mut args = vec!["--key-seed", "0"];
        args.extend_from_slice(extra);
        let server = our_server(&args, "info");
        let out = peer_client(
            &peer,
            &server.host_port(),
            SIZE,
            SIZE,
            &["--security", "tls"],
        );
        let stderr = stderr_of(&out);
        assert!(out.status.success(), "go client failed: {stderr}");
        assert_final(&out.stdout, SIZE, SIZE);
        // go-libp2p's own account of the connection: TLS, yamux, and whether the muxer came
        // from ALPN (our server offers `/yamux/1.0.0` there unless --no-early-muxer).
        let early = extra.is_empty();
        assert!(
            stderr.contains(&format!(
                "(tcp, /tls/1.0.0, /yamux/1.0.0, early muxer {early}, identify)"
            )),
            "{stderr}"
        );
        let line = server.wait_for_line("connection closed", LOG_WAIT);
        assert_served_counters(&line, SIZE);
    }
}
