//! Interop with a real js-libp2p perf peer (libp2p 3.3.11 + @chainsafe/libp2p-noise 17 +
//! @chainsafe/libp2p-yamux 8 on Node 22, see interop/js-peer/README.md), built by
//! `interop/build.sh js`.
//!
//! - 256 MiB each way in both pairings, byte counts checked on the client's `final` line and on
//!   the server's own per-stream (js) or per-connection (ours) log line;
//! - what our yamux must absorb from js: DATA frames as large as the send window (up to 16 MiB),
//!   and the yamux ping js sends as soon as a connection is up;
//! - js-libp2p's listener loses a stream whose FIN arrives before its multistream-select answer,
//!   so our client must not half-close a lazily negotiated stream before the echo;
//! - js-libp2p's connection monitor opens `/ipfs/ping/1.0.0` from either end and aborts the
//!   connection when nobody answers, so our client must answer the server's streams (`na`);
//! - a `/p2p/` id that does not match is rejected, by our client and by the js client;
//! - every transport and secure channel js speaks (TCP or WebSocket, Noise, TLS or plaintext),
//!   both ways, 2 MiB each way.
//!
//! `ours_client_tiny_upload_to_js_server_lazy` and `ours_client_answers_js_connection_monitor`
//! fail until the client fixes described in interop/js-peer/README.md are in src/.

mod common;

use std::process::Output;
use std::time::Duration;

use common::*;

const PEER: &str = "target/interop/js/js-libp2p-perf";
const BUILD: &str = "interop/build.sh js";
const SIZE: u64 = 256 << 20;
/// The peer id of the Ed25519 test vector in the libp2p peer-id spec: nobody here has its key.
const OTHER_ID: &str = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
/// What 256 MiB would take in 64 KiB frames; js sends fewer, larger ones.
const FRAMES_AT_64K: u64 = SIZE / (64 << 10);

/// How long a server's log line may take after the client has finished.
const LOG_WAIT: Duration = Duration::from_secs(30);

/// The js server, or `None` when the peer is not built.
fn js_server(extra: &[&str]) -> Option<LoggedServer> {
    let peer = interop_peer(PEER, BUILD)?;
    let server = peer_server("js", &peer, extra);
    assert!(
        server.addr.starts_with("/ip4/127.0.0.1/tcp/") && server.addr.contains("/p2p/"),
        "the js server prints its full address first: {}",
        server.addr
    );
    Some(server)
}

/// Runs the js client, or `None` when the peer is not built.
fn js_client(server: &str, upload: u64, download: u64, extra: &[&str]) -> Option<Output> {
    let peer = interop_peer(PEER, BUILD)?;
    Some(peer_client(&peer, server, upload, download, extra))
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}); stderr:\n{}",
        out.status,
        stderr_of(out)
    );
}

#[test]
fn ours_client_to_js_server_256mib_each_way() {
    let Some(server) = js_server(&[]) else {
        return;
    };
    let (_, stderr) = our_client_succeeds(&server.addr, SIZE, SIZE, &[]);

    // The js server's own count: the u64 it read, the upload it drained, what it sent.
    let line = server.wait_for_line("served ", LOG_WAIT);
    assert_eq!(field_u64(&line, "requested"), SIZE, "{line}");
    assert_eq!(field_u64(&line, "received"), SIZE, "{line}");
    assert_eq!(field_u64(&line, "sent"), SIZE, "{line}");

    // js yamux cuts its write buffer by the send window, not by its 64 KiB maxMessageSize, so
    // our receiver must take frames far above 64 KiB (rust-yamux rejects anything over 1 MiB).
    let frames = summary_count(&stderr, "received, ");
    assert!(
        frames > 0 && frames < FRAMES_AT_64K,
        "256 MiB arrived in {frames} DATA frames: js should have sent frames over 64 KiB\n{stderr}"
    );
}

#[test]
fn js_client_to_ours_server_256mib_each_way() {
    let server = our_server(&[], "info");
    let Some(out) = js_client(&server.addr, SIZE, SIZE, &["--ping-interval", "200"]) else {
        return;
    };
    assert_success(&out, "the js client");
    assert_final(&out.stdout, SIZE, SIZE);
    // One intermediary line a second, in the test-plans shape.
    for line in json_lines(&out.stdout) {
        assert!(
            line["timeSeconds"].as_f64().is_some_and(|t| t > 0.0),
            "{line}"
        );
    }

    // Our server counts yamux DATA payload of the whole connection.
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    let received = field_u64(&line, "received");
    let sent = field_u64(&line, "sent");
    let (pings_in, pings_out) = js_overhead(received, sent, SIZE, SIZE)
        .unwrap_or_else(|| panic!("our server's counts are not 256 MiB + perf overhead: {line}"));
    // The js client ran its connection monitor every 200 ms: our server must have answered it
    // (an unanswered ping makes js abort the connection).
    assert!(
        pings_in >= 1 && pings_out >= 1,
        "expected /ipfs/ping/1.0.0 rounds from the js client, answered by our server: {line}"
    );
}

/// Splits the DATA payload our server counted on a js connection into the perf stream and the
/// js connection monitor's pings, or `None` if it does not add up.
///
/// - perf stream in: multistream header (20) + `/perf/1.0.0` line (13) + the u64 (8) + upload;
///   out: the same 33 bytes of echo + download (js always negotiates fully);
/// - js-libp2p's connection monitor opens `/ipfs/ping/1.0.0` (header 20 + line 18), which our
///   server serves: it answers header + echo (38) and echoes the one 32-byte ping js sends
///   before closing the stream, 70 bytes each way per round. A round that races the end of the
///   run may be cut short: only the proposal in (38), and out nothing, the header (20) or the
///   echo (38).
///
/// Returns (rounds started by js, rounds answered in full).
fn js_overhead(received: u64, sent: u64, upload: u64, download: u64) -> Option<(u64, u64)> {
    const ROUND: u64 = 20 + 18 + 32;
    let ping_in = received.checked_sub(upload + 20 + 13 + 8)?;
    let ping_out = sent.checked_sub(download + 20 + 13)?;
    let (full_in, partial_in) = (ping_in / ROUND, ping_in % ROUND);
    let (full_out, partial_out) = (ping_out / ROUND, ping_out % ROUND);
    let started = full_in + u64::from(partial_in > 0);
    let fits = matches!(partial_in, 0 | 38)
        && matches!(partial_out, 0 | 20 | 38)
        && full_out <= full_in
        && full_out + 1 >= full_in;
    fits.then_some((started, full_out))
}

#[test]
fn js_ping_is_answered_by_our_server() {
    let server = our_server(&[], "info");
    // Plain IP:PORT, as test-plans gives it: the js client learns the peer id from Noise.
    let Some(out) = js_client(&server.host_port(), 1 << 20, 1 << 20, &[]) else {
        return;
    };
    assert_success(&out, "the js client");
    assert_final(&out.stdout, 1 << 20, 1 << 20);
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    let received = field_u64(&line, "received");
    let sent = field_u64(&line, "sent");
    assert!(
        js_overhead(received, sent, 1 << 20, 1 << 20).is_some(),
        "our server's counts are not 1 MiB + perf overhead: {line}"
    );
    let pings = field_u64(&line, "pings_answered");
    assert!(
        pings >= 1,
        "js yamux pings as soon as the connection is up; our server answered {pings}: {line}"
    );
}

#[test]
fn js_ping_is_answered_by_our_client() {
    let Some(server) = js_server(&[]) else {
        return;
    };
    let out = our_client(&server.addr, 1 << 20, 1 << 20, &[]);
    assert_success(&out, "our client");
    let stderr = stderr_of(&out);
    let pings = pings_answered(&stderr);
    assert!(
        pings >= 1,
        "js yamux pings as soon as the connection is up; our client answered {pings}:\n{stderr}"
    );
}

/// js-libp2p's connection monitor opens `/ipfs/ping/1.0.0` on every connection (every 10 s by
/// default; 100 ms here) and aborts the connection when the negotiation times out (5 s; 1 s
/// here). So our client must answer streams the server opens, with `na`, or every run against a
/// js server that outlives one monitor tick is killed with a reset. (The ping proposal queues
/// behind up to 16 MiB of perf data, so a much shorter timeout fails on a busy machine too.)
#[test]
fn ours_client_answers_js_connection_monitor() {
    let Some(server) = js_server(&["--ping-interval", "100", "--ping-timeout", "1000"]) else {
        return;
    };
    let size = 1 << 30;
    let out = our_client(&server.addr, 0, size, &["--no-lazy"]);
    assert_success(&out, "our client (while js pinged every 100 ms)");
    let last = assert_final(&out.stdout, 0, size);
    let seconds = last["timeSeconds"].as_f64().unwrap_or_default();
    assert!(
        seconds > 1.2,
        "the run took {seconds} s: too short to have met a monitor ping and its timeout"
    );
    let line = server.wait_for_line("served ", LOG_WAIT);
    assert_eq!(field_u64(&line, "sent"), size, "{line}");
}

/// Tiny uploads make our client's whole request (multistream header, `/perf/1.0.0`, the u64,
/// 0 or 1 byte) and its FIN reach the js listener before it has answered the protocol. js-libp2p
/// then either resets the stream ("Cannot push data onto a stream that is closed") or never
/// ends its read loop, so our client must wait for the echo before it half-closes.
fn tiny_uploads_against_js(extra: &[&str]) {
    let Some(server) = js_server(&[]) else {
        return;
    };
    let mut failures = Vec::new();
    for round in 0..3 {
        for upload in [0, 1] {
            let mut client = our_client_command(&server.addr, upload, 1 << 20, &["--timeout", "5"]);
            client.args(extra);
            let out = run_with_timeout(client, Duration::from_secs(30));
            if out.status.success() {
                assert_final(&out.stdout, upload, 1 << 20);
            } else {
                let last = stderr_of(&out).lines().last().unwrap_or("").to_string();
                failures.push(format!("round {round}, upload {upload}: {last}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 6 tiny-upload runs {extra:?} failed:\n{}\njs server log:\n{}",
        failures.len(),
        failures.join("\n"),
        server.text()
    );
}

#[test]
fn ours_client_tiny_upload_to_js_server_lazy() {
    tiny_uploads_against_js(&[]);
}

#[test]
fn ours_client_tiny_upload_to_js_server_no_lazy() {
    tiny_uploads_against_js(&["--no-lazy"]);
}

#[test]
fn ours_client_rejects_a_js_server_with_another_peer_id() {
    let Some(server) = js_server(&["--key-seed", "0"]) else {
        return;
    };
    assert!(
        server.addr.ends_with(&format!("/p2p/{SEED0_ID}")),
        "--key-seed 0 gives the go test-plans key: {}",
        server.addr
    );
    let wrong = server.addr.replace(SEED0_ID, OTHER_ID);
    let out = our_client(&wrong, 1 << 20, 1 << 20, &[]);
    assert!(!out.status.success(), "a wrong /p2p/ id must fail the run");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("peer id"), "{stderr}");
    assert!(
        stderr.contains(SEED0_ID) && stderr.contains(OTHER_ID),
        "{stderr}"
    );
}

#[test]
fn js_client_rejects_our_server_with_another_peer_id() {
    let server = our_server(&[], "info");
    let id = server.addr.rsplit("/p2p/").next().unwrap().to_string();
    let wrong = server.addr.replace(&id, OTHER_ID);
    let Some(out) = js_client(&wrong, 1 << 20, 1 << 20, &[]) else {
        return;
    };
    assert!(
        !out.status.success(),
        "a wrong /p2p/ id must fail the js client"
    );
    assert!(json_lines(&out.stdout).iter().all(|l| l["type"] != "final"));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("does not match expected remote identity key") && stderr.contains(&id),
        "{stderr}"
    );
}

/// Every transport and secure channel js-libp2p speaks here (@libp2p/tcp or @libp2p/websockets,
/// with @chainsafe/libp2p-noise, @libp2p/tls or @libp2p/plaintext), in both roles, 2 MiB each way.
#[test]
fn every_stack_both_ways_with_js() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let served = ServedLine {
        needle: "served peer=",
        counts: |line| (field_u64(line, "received"), field_u64(line, "sent")),
    };
    let stacks = both_ways_over_every_stack("js", &peer, 2 << 20, &served);
    assert_eq!(stacks.len(), 6, "js speaks tcp/ws x noise/tls/plaintext");
}
