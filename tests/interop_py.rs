//! Interop with a real py-libp2p perf peer (PyPI `libp2p` 0.8.1, its own `libp2p.perf`, TCP +
//! Noise + yamux), built by `interop/build.sh py`: our client against its server and its client
//! against our server with 256 MiB each way, byte counts checked on both sides; py's identify
//! gets `na` without stalling the run; py's yamux pings get pongs; a wrong `/p2p/` id is rejected
//! by either client; and every transport and secure channel py speaks (TCP or WebSocket, Noise,
//! TLS or plaintext), both ways, 2 MiB each way.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::Value;

const PEER: &str = "target/interop/py/py-libp2p-perf";
const BUILD: &str = "interop/build.sh py";
const SIZE: u64 = 256 << 20;
/// Data bytes our server counts beyond the perf payload: the multistream-select messages of the
/// perf stream and of py's identify streams (about 110 bytes in practice).
const NEGOTIATION_SLACK: u64 = 4096;
/// Peer id of `--key-seed 2`; nobody in these tests has it.
const SEED2_ID: &str = "12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3";
/// py-libp2p's yamux sends its first RTT ping 0.5 s after the connection starts; a run that lasts
/// this long has certainly seen it.
const PY_PINGS_AFTER: f64 = 1.0;

/// debug adds the multistream `na` answers (py's identify) to the INFO connection line.
const OUR_LOG: &str = "yamux_perf=debug";

fn py_peer() -> Option<PathBuf> {
    interop_peer(PEER, BUILD)
}

/// `timeSeconds` of a client's final line.
fn final_seconds(last: &Value) -> f64 {
    last["timeSeconds"]
        .as_f64()
        .or_else(|| last["time_seconds"].as_f64())
        .expect("final line has timeSeconds")
}

fn py_server(extra: &[&str]) -> Option<LoggedServer> {
    Some(peer_server("py", &py_peer()?, extra))
}

#[test]
fn ours_client_to_py_server_256mib_each_way() {
    let Some(server) = py_server(&[]) else {
        return;
    };
    let (last, stderr) = our_client_succeeds(&server.addr, SIZE, SIZE, &[]);

    // py's side: PerfService read the 8-byte request plus our upload and sent the download.
    let served = server.wait_for_line("perf stream served:", Duration::from_secs(30));
    assert_eq!(field(&served, "status"), Some("ok"), "{served}");
    assert_eq!(field_u64(&served, "received"), SIZE + 8, "{served}");
    assert_eq!(field_u64(&served, "upload"), SIZE, "{served}");
    assert_eq!(field_u64(&served, "sent"), SIZE, "{served}");

    // py pings 0.5 s into the connection; its RTT is non-zero only if our client sent the pong.
    let seconds = final_seconds(&last);
    let py_rtt = field_f64(&served, "yamux_rtt_ms");
    if seconds > PY_PINGS_AFTER {
        assert!(
            py_rtt > 0.0,
            "py's yamux ping got no pong from our client: {served}"
        );
    }
    let counted = pings_answered(&stderr);
    if py_rtt > 0.0 && counted == 0 {
        eprintln!(
            "NOTE: py got our pong (rtt {py_rtt} ms) but our summary says 0 peer pings answered: \
             pings_answered is never incremented (see our_server_counts_py_pings)"
        );
    }
}

#[test]
fn py_client_to_ours_server_256mib_each_way() {
    let Some(peer) = py_peer() else {
        return;
    };
    let server = our_server(&[], OUR_LOG);
    let (last, stderr) = peer_client_succeeds("py", &peer, &server.addr, SIZE, SIZE);
    assert!(
        last.get("timeSeconds").is_some(),
        "py peer prints camelCase: {last}"
    );

    // Our side: the connection's yamux DATA payload = request + upload (+ multistream bytes of
    // the perf and identify streams) in, download (+ multistream bytes) out.
    let closed = server.wait_for_line("connection closed remote=", Duration::from_secs(30));
    let received = field_u64(&closed, "received");
    let sent = field_u64(&closed, "sent");
    assert!(
        (SIZE + 8..=SIZE + 8 + NEGOTIATION_SLACK).contains(&received),
        "{closed}"
    );
    assert!(
        (SIZE..=SIZE + NEGOTIATION_SLACK).contains(&sent),
        "{closed}"
    );

    // py always opens identify; we answered na and the run went on.
    assert!(
        server
            .find("answering na proposal=/ipfs/id/1.0.0")
            .is_some(),
        "py's identify was not answered with na:\n{}",
        server.text()
    );

    // py's RTT (its own ping, our pong).
    let rtt_line = stderr
        .lines()
        .find(|l| l.contains("yamux_rtt_ms="))
        .unwrap_or_else(|| panic!("py client reports its yamux rtt: {stderr}"));
    let py_rtt = field_f64(rtt_line, "yamux_rtt_ms");
    if final_seconds(&last) > PY_PINGS_AFTER {
        assert!(
            py_rtt > 0.0,
            "py's yamux ping got no pong from our server: {rtt_line}"
        );
    }
    if py_rtt > 0.0 && field_u64(&closed, "pings_answered") == 0 {
        eprintln!(
            "NOTE: py got our pong (rtt {py_rtt} ms) but our server logged pings_answered=0: \
             the counter is never incremented (see our_server_counts_py_pings)"
        );
    }
}

/// py's identify (always opened, twice per connection in 0.8.1) gets `na` at once, so a 1-byte
/// run finishes in well under py's 10 s identify timeouts.
#[test]
fn py_identify_gets_na_without_stalling_the_run() {
    let Some(peer) = py_peer() else {
        return;
    };
    let server = our_server(&[], OUR_LOG);
    let (last, stderr) = peer_client_succeeds("py", &peer, &server.addr, 1, 1);
    let seconds = final_seconds(&last);
    assert!(
        seconds < 5.0,
        "1-byte run took {seconds} s: identify stalled it?"
    );
    assert!(
        stderr.contains("response='na'"),
        "py saw our na for identify: {stderr}"
    );
    server.wait_for_line("connection closed remote=", Duration::from_secs(10));
    assert!(
        server
            .find("answering na proposal=/ipfs/id/1.0.0")
            .is_some(),
        "{}",
        server.text()
    );
}

/// py's client authenticates the `/p2p/` id through Noise: a wrong one fails the dial and no perf
/// stream reaches our server.
#[test]
fn py_client_rejects_a_wrong_peer_id() {
    let Some(peer) = py_peer() else {
        return;
    };
    let server = our_server(&["--key-seed", "0"], OUR_LOG);
    assert!(server.addr.ends_with(SEED0_ID), "{}", server.addr);
    let out = peer_client(
        &peer,
        &with_peer_id(&server.addr, SEED2_ID),
        1024,
        1024,
        &[],
    );
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "py client accepted a wrong peer id");
    assert!(
        json_lines(&out.stdout).iter().all(|l| l["type"] != "final"),
        "no final line on failure"
    );
    assert!(stderr.contains("handshake failed"), "{stderr}");
    assert!(
        server
            .wait_for("connection setup failed", Duration::from_secs(10))
            .is_some(),
        "our server saw the aborted handshake:\n{}",
        server.text()
    );
    assert!(
        server.find("connection closed remote=").is_none(),
        "no connection was established:\n{}",
        server.text()
    );
}

/// Our client checks py's id; py's `--key-seed` derives the same ids as ours (seed 0 = go's key).
#[test]
fn our_client_rejects_a_wrong_peer_id_of_py_server() {
    let Some(server) = py_server(&["--key-seed", "0"]) else {
        return;
    };
    assert!(
        server.addr.ends_with(SEED0_ID),
        "py --key-seed 0 gives go's key: {}",
        server.addr
    );
    let out = our_client(&with_peer_id(&server.addr, SEED2_ID), 1024, 1024, &[]);
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "our client accepted a wrong peer id");
    assert!(
        stderr.contains(&format!(
            "remote peer id {SEED0_ID} does not match the expected {SEED2_ID}"
        )),
        "{stderr}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.find("perf stream served").is_none(),
        "{}",
        server.text()
    );
}

/// Fails today: `Stats::pings_answered` is declared and logged but never incremented, so our
/// server logs `pings_answered=0` although py's RTT proves the pong went out.
#[test]
fn our_server_counts_py_pings() {
    let Some(peer) = py_peer() else {
        return;
    };
    let server = our_server(&[], OUR_LOG);
    let out = peer_client(&peer, &server.addr, SIZE, SIZE, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        final_seconds(json_lines(&out.stdout).last().expect("a final line")) > PY_PINGS_AFTER,
        "run too short for py to ping"
    );
    let closed = server.wait_for_line("connection closed remote=", Duration::from_secs(30));
    assert!(field_u64(&closed, "pings_answered") >= 1, "{closed}");
}

/// Fails today: our client never accepts inbound streams, so py's server-side identify waits
/// (10 s, or until we disconnect) instead of getting `na`.
#[test]
fn our_client_answers_py_identify_with_na() {
    let Some(server) = py_server(&[]) else {
        return;
    };
    let out = our_client(&server.addr, 64 << 20, 0, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let line = server.wait_for_line("/ipfs/id/1.0.0", Duration::from_secs(15));
    let log = server.text();
    assert!(
        log.contains("response='na'"),
        "py's identify was not answered with na: {line}\n{log}"
    );
}

/// Every transport and secure channel py-libp2p 0.8.1 speaks here (its TCP and WebSocket
/// transports, with its Noise, TLS and `/plaintext/2.0.0`), in both roles, 2 MiB each way.
#[test]
fn every_stack_both_ways_with_py() {
    let Some(peer) = py_peer() else {
        return;
    };
    let served = ServedLine {
        needle: "perf stream served:",
        counts: |line| (field_u64(line, "upload"), field_u64(line, "sent")),
    };
    let stacks = both_ways_over_every_stack("py", &peer, 2 << 20, &served);
    assert_eq!(stacks.len(), 6, "py speaks tcp/ws x noise/tls/plaintext");
}
