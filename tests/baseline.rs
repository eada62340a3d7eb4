//! `--stack tcp`: the perf workload and a 1-byte ping-pong over bare TCP, the baseline the
//! libp2p stack is compared with.

mod common;

use std::time::Duration;

use common::*;

fn client(args: &[&str]) -> std::process::Output {
    let mut client = yamux_perf();
    client.env("NO_COLOR", "1");
    client.args(["client", "--no-progress", "--stack", "tcp"]);
    client.args(args);
    run_with_timeout(client, Duration::from_secs(60))
}

/// Our server process with `--stack tcp` and `extra`.
fn tcp_server(extra: &[&str]) -> LoggedServer {
    let mut server = yamux_perf();
    server.args(["server", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    server.args(["--stack", "tcp"]);
    server.args(extra);
    LoggedServer::start("tcp", server)
}

#[test]
fn bare_tcp_perf_against_a_tcp_server_process() {
    let server = tcp_server(&["--verify"]);
    let size = (32u64 << 20).to_string();
    let out = client(&[
        "--server",
        &server.addr,
        "--upload",
        &size,
        "--download",
        &size,
        "--streams",
        "2",
        "--verify",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_final(&out.stdout, 64 << 20, 64 << 20);
    assert!(stderr_of(&out).contains("bare TCP, 2 connection(s)"));
}

#[test]
fn bare_tcp_ping_pong_reports_percentiles() {
    let out = client(&["--latency", "50"]);
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("latency   50 tcp ping-pongs of 1 byte: p50 "),
        "{stderr}"
    );
}

#[test]
fn libp2p_client_against_a_tcp_server_fails_cleanly() {
    let server = tcp_server(&[]);
    let out = our_client(&server.addr, 1, 1, &["--handshake-timeout", "5"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("connection setup failed"));
    let out = client(&["--window-trace", "/dev/null", "--upload", "1"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("--window-trace needs --stack yamux"));
}

#[test]
fn bare_tcp_runs_write_a_report() {
    let dir = ScratchDir::new("baseline-report");
    let path = dir.0.join("report.json");
    let out = client(&[
        "--report",
        path.to_str().unwrap(),
        "--upload",
        "1048576",
        "--download",
        "2097152",
        "--interval",
        "0.01",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: yamux_perf::perf::report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        (report.total.upload.bytes, report.total.download.bytes),
        (1 << 20, 2 << 20)
    );
    assert!(report.total.download.bits_per_second > 0.0);
    assert_eq!(report.streams.len(), 1);
    assert!(report.latency_ms.is_empty() && report.rtt_ms.is_none());
    let out = client(&["--report", path.to_str().unwrap(), "--latency", "20"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: yamux_perf::perf::report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report.latency_ms.len(), 20);
    assert!(report.latency_ms.iter().all(|ms| *ms > 0.0));
}
