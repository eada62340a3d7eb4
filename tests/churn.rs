//! Stream churn (`client --churn N[:CONCURRENCY]`): N perf streams of 1 byte each way opened
//! and closed on one connection, the report's `churn` object, no memory growth from 1,000 to
//! 20,000 streams, the go peer's server as the other side, and bad input refused with exit 2.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn churn_report(name: &str, server: Option<&str>, churn: &str) -> Value {
    let dir = ScratchDir::new(name);
    let path = dir.0.join("report.json");
    let mut client = yamux_perf();
    client.args([
        "client",
        "--no-progress",
        "--churn",
        churn,
        "--timeout",
        "120",
    ]);
    client.args(["--report", path.to_str().unwrap()]);
    if let Some(server) = server {
        client.args(["--server", server]);
    }
    let out = run_with_timeout(client, Duration::from_secs(180));
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("streams/s"), "{stderr}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn assert_churned(report: &Value, count: u64, concurrency: u64) -> &Value {
    let churn = &report["churn"];
    assert_eq!(churn["count"], count, "{churn}");
    assert_eq!(churn["concurrency"], concurrency, "{churn}");
    assert_eq!(churn["open_to_close_ms"]["n"], count, "{churn}");
    let p = &churn["open_to_close_ms"];
    let (p50, p99, max) = (
        p["p50"].as_f64().unwrap(),
        p["p99"].as_f64().unwrap(),
        p["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{churn}");
    let rate = churn["streams_per_second"].as_f64().unwrap();
    let seconds = churn["seconds"].as_f64().unwrap();
    assert!(
        (rate * seconds - count as f64).abs() < 1.0,
        "streams per second is the count over the time: {churn}"
    );
    assert!(
        report["latency_ms"].as_array().unwrap().is_empty(),
        "the streams are summarised, not listed"
    );
    churn
}

/// With the in-process server the resident memory covers both sides: 19,000 more streams after
/// the checkpoint at 1,000 must not grow it by more than 4 MiB (a leak of 256 bytes per stream
/// on either side would be 4.6 MiB).
#[test]
fn twenty_thousand_streams_churn_without_growing_memory() {
    let report = churn_report("embedded", None, "20000:8");
    let churn = assert_churned(&report, 20_000, 8);
    let (Some(after), Some(end)) = (
        churn["rss_after_checkpoint_bytes"].as_u64(),
        churn["rss_at_end_bytes"].as_u64(),
    ) else {
        panic!("Linux reports the resident memory: {churn}");
    };
    assert!(
        end <= after + (4 << 20),
        "RSS after 1000 streams {after}, after 20000 {end}: {churn}"
    );
}

#[test]
fn churn_against_our_server_one_at_a_time() {
    let server = our_server(&[], "info");
    let report = churn_report("ours", Some(&server.addr), "2000");
    assert_churned(&report, 2000, 1);
    assert!(
        report["remote_peer"]
            .as_str()
            .unwrap()
            .starts_with("12D3KooW")
    );
}

#[test]
fn churn_against_the_go_peers_server() {
    let Some(peer) = interop_peer("target/interop/go/go-libp2p-perf", "interop/build.sh go") else {
        return;
    };
    let server = peer_server("go", &peer, &[]);
    let report = churn_report("go", Some(&server.addr), "2000:4");
    assert_churned(&report, 2000, 4);
}

#[test]
fn bad_churn_input_is_refused_with_exit_2() {
    for (args, says) in [
        (&["--churn", "0"][..], "at least 1"),
        (&["--churn", "4:8"][..], "above the count"),
        (&["--churn", "x"][..], "N:CONCURRENCY"),
        (
            &["--churn", "10", "--download", "1MiB"][..],
            "cannot be used with",
        ),
        (
            &["--churn", "10", "--stack", "tcp"][..],
            "--churn needs --stack yamux",
        ),
    ] {
        let mut client = yamux_perf();
        client.args(["client"]).args(args);
        let out = run_with_timeout(client, Duration::from_secs(30));
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
