//! `--security plaintext` (libp2p `/plaintext/2.0.0`): ours↔ours with every byte verified, a
//! wrong peer id and a security mismatch rejected with clear errors, and interop with
//! go-libp2p's `insecure` transport in both directions (built by interop/build.sh).

mod common;

use std::time::Duration;

use common::*;

/// Runs our client for 1 byte each way, expects it to fail, returns its stderr.
fn our_client_fails(server: &str, extra: &[&str]) -> String {
    let out = our_client(server, 1, 1, extra);
    assert!(!out.status.success(), "{}", stderr_of(&out));
    stderr_of(&out)
}

const GO_PEER: &str = "target/interop/go/go-libp2p-perf";
const BUILD: &str = "interop/build.sh go";
const SIZE: u64 = 64 << 20;
const LOG_WAIT: Duration = Duration::from_secs(10);

#[test]
fn ours_to_ours_plaintext_verified_both_ways() {
    let server = our_server(&["--security", "plaintext", "--verify"], "info");
    our_client_succeeds(
        &server.addr,
        SIZE,
        SIZE,
        &["--security", "plaintext", "--verify"],
    );
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    assert!(field_u64(&line, "received") >= SIZE, "{line}");
    assert!(field_u64(&line, "sent") >= SIZE, "{line}");
}

#[test]
fn plaintext_client_checks_the_peer_id() {
    let server = our_server(&["--security", "plaintext"], "info");
    let wrong = with_peer_id(&server.addr, SEED0_ID);
    let stderr = our_client_fails(&wrong, &["--security", "plaintext"]);
    assert!(
        stderr.contains("plaintext exchange failed") && stderr.contains("does not match"),
        "{stderr}"
    );
}

#[test]
fn security_mismatch_is_a_negotiation_error() {
    let server = our_server(&["--security", "plaintext"], "info");
    let stderr = our_client_fails(&server.addr, &[]);
    assert!(stderr.contains("connection setup failed"), "{stderr}");
    let server = our_server(&[], "info");
    let stderr = our_client_fails(&server.addr, &["--security", "plaintext"]);
    assert!(
        stderr.contains("multistream-select") && stderr.contains("/plaintext/2.0.0"),
        "{stderr}"
    );
}

#[test]
fn ours_client_to_go_plaintext_server() {
    let Some(peer) = interop_peer(GO_PEER, BUILD) else {
        return;
    };
    let server = peer_server("go", &peer, &["--security", "plaintext"]);
    our_client_succeeds(&server.addr, SIZE, SIZE, &["--security", "plaintext"]);
    let line = server.wait_for_line("perf stream done:", LOG_WAIT);
    assert_eq!(field_u64(&line, "uploadBytes"), SIZE, "{line}");
    assert_eq!(field_u64(&line, "downloadBytes"), SIZE, "{line}");
    // A Noise client is refused by the plaintext go server.
    let out = our_client(&server.addr, 1, 1, &[]);
    assert!(!out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn go_plaintext_client_to_ours_server() {
    let Some(peer) = interop_peer(GO_PEER, BUILD) else {
        return;
    };
    let server = our_server(&["--key-seed", "0", "--security", "plaintext"], "info");
    let out = peer_client(
        &peer,
        &server.host_port(),
        SIZE,
        SIZE,
        &["--security", "plaintext"],
    );
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "go client failed: {stderr}");
    assert_final(&out.stdout, SIZE, SIZE);
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    assert_served_counters(&line, SIZE);
}
