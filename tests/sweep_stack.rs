//! The sweep's `stack`, `security` and socket-buffer axes end to end: a tiny sweep with bare
//! TCP and yamux over /plaintext/2.0.0 runs through the binary, and the result JSON records the
//! new case fields, the commands carry the flags and both goodputs are above 0.

mod common;

use std::time::Duration;

use common::*;
use yamux_perf::results::{CaseResult, METRIC_LATENCY, Stack, Summary};
use yamux_perf::security::Security;
use yamux_perf::sweep::config::case_id;

fn read<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> (T, serde_json::Value) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} should exist: {e}", path.display()));
    (
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        serde_json::from_str(&text).unwrap(),
    )
}

/// Writes `toml` as a sweep config in `dir`, runs `yamux-perf sweep` on it (must succeed) and
/// returns the output directory.
/// A summary row whose one repetition succeeded, or the errors it recorded.
fn assert_ran_once(row: &yamux_perf::results::SummaryRow) {
    assert_eq!(
        (row.ok, row.failed),
        (1, 0),
        "{}: {:?}",
        row.label,
        row.errors
    );
}

fn run_sweep(dir: &ScratchDir, toml: &str) -> std::path::PathBuf {
    let config = dir.0.join("sweep.toml");
    std::fs::write(&config, toml).unwrap();
    let out_dir = dir.0.join("out");
    let mut cmd = yamux_perf();
    cmd.arg("sweep")
        .arg(&config)
        .arg("--out")
        .arg(&out_dir)
        .arg("--no-progress")
        .current_dir(repo_root());
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(out.status.success(), "{}", stderr_of(&out));
    out_dir
}

#[test]
fn a_sweep_over_bare_tcp_and_plaintext_records_them() {
    let dir = ScratchDir::new("sweep-stack");
    let out_dir = run_sweep(
        &dir,
        r#"
        repetitions = 1
        timeout = "60s"
        [matrix]
        stack = ["tcp", "yamux"]
        security = "plaintext"
        max_window = ["1MiB", "4MiB"]
        recv_buffer = "1MiB"
        upload = "4MiB"
        download = "4MiB"
        latency_rounds = 10
        "#,
    );

    let (summary, _) = read::<Summary>(&out_dir.join("summary.json"));
    // tcp ignores security and the windows: 1 case; yamux: one per window.
    assert_eq!(summary.cases.len(), 3, "{:#?}", summary.cases);
    let mut stacks = Vec::new();
    for row in &summary.cases {
        assert_ran_once(row);
        assert!(
            row.upload_gbit_s.as_ref().unwrap().median > 0.0,
            "{}",
            row.label
        );
        assert!(
            row.download_gbit_s.as_ref().unwrap().median > 0.0,
            "{}",
            row.label
        );
        assert!(row.latency_ms.as_ref().is_some_and(|l| l.count == 10));
        let path = out_dir.join("cases").join(format!("{}.json", row.id));
        let (case, raw) = read::<CaseResult>(&path);
        assert_eq!(case_id(&case.config), case.id);
        assert_eq!(case.config.recv_buffer_bytes, Some(1 << 20));
        assert_eq!(raw["config"]["recv_buffer_bytes"], 1 << 20);
        assert!(case.histograms.contains_key(METRIC_LATENCY));
        let run = case.measured().next().unwrap();
        let client = run.client_command.join(" ");
        let server = run.server_command.join(" ");
        assert!(client.contains("--recv-buffer 1048576"), "{client}");
        assert!(server.contains("--recv-buffer 1048576"), "{server}");
        match case.config.stack {
            Stack::Tcp => {
                assert_eq!(raw["config"]["stack"], "tcp");
                assert!(raw["config"].get("security").is_none());
                assert!(case.label.contains("stack=tcp"), "{}", case.label);
                for cmd in [&client, &server] {
                    assert!(cmd.contains("--stack tcp"), "{cmd}");
                    assert!(!cmd.contains("--max-window"), "{cmd}");
                }
                assert!(run.window_trace.is_none());
                let report = run.client.as_ref().unwrap();
                assert_eq!(report.total.download.bytes, 4 << 20);
                assert!(!report.intervals.is_empty() || report.total_seconds < 0.1);
            }
            Stack::Yamux => {
                assert_eq!(case.config.security, Security::Plaintext);
                assert_eq!(raw["config"]["security"], "plaintext");
                assert!(raw["config"].get("stack").is_none());
                assert!(case.label.contains("sec=plaintext"), "{}", case.label);
                for cmd in [&client, &server] {
                    assert!(cmd.contains("--security plaintext"), "{cmd}");
                }
            }
        }
        stacks.push(case.config.stack);
    }
    assert_eq!(stacks, [Stack::Tcp, Stack::Yamux, Stack::Yamux]);
}

#[test]
fn a_ping_latency_sweep_runs_ping_on_both_stacks() {
    let dir = ScratchDir::new("sweep-ping");
    let out_dir = run_sweep(
        &dir,
        r#"
        repetitions = 1
        timeout = "60s"
        [matrix]
        stack = ["tcp", "yamux"]
        upload = "1MiB"
        latency_rounds = 20
        latency_mode = "ping"
        "#,
    );
    let (summary, _) = read::<Summary>(&out_dir.join("summary.json"));
    assert_eq!(summary.cases.len(), 2, "{:#?}", summary.cases);
    for row in &summary.cases {
        assert!(row.label.ends_with(" lat=20 ping"), "{}", row.label);
        assert!(
            row.latency_ms.as_ref().is_some_and(|l| l.count == 20),
            "{}: {:?}",
            row.label,
            row.errors
        );
        let path = out_dir.join("cases").join(format!("{}.json", row.id));
        let (_, raw) = read::<CaseResult>(&path);
        assert_eq!(raw["config"]["latency_mode"], "ping");
        let text = raw.to_string();
        assert!(
            text.contains("\"--ping\""),
            "the latency run used --ping: {text}"
        );
        assert!(!text.contains("\"--latency\""), "{text}");
    }
}

#[test]
fn a_sweep_over_websocket_and_tls_runs_ours_and_go_through_the_relay() {
    // The go peer serves TLS and WebSocket by its flags ([peers] tls_args, ws_args).
    if interop_peer("target/interop/go/go-libp2p-perf", "interop/build.sh go").is_none() {
        return;
    }
    let dir = ScratchDir::new("sweep-ws-tls");
    let out_dir = run_sweep(
        &dir,
        r#"
        repetitions = 1
        timeout = "60s"
        [matrix]
        peer = ["ours", "go"]
        rtt = ["0ms", "2ms"]
        transport = ["tcp", "ws"]
        security = ["noise", "tls"]
        upload = "4MiB"
        download = "4MiB"
        [[exclude]]
        rtt = "2ms"
        transport = "tcp"
        "#,
    );
    let (summary, _) = read::<Summary>(&out_dir.join("summary.json"));
    // Per peer: rtt 0 × {tcp, ws} × {noise, tls}, and rtt 2ms (through the relay) × ws × both.
    assert_eq!(summary.cases.len(), 2 * (4 + 2), "{:#?}", summary.cases);
    let mut seen = Vec::new();
    for row in &summary.cases {
        assert_ran_once(row);
        let path = out_dir.join("cases").join(format!("{}.json", row.id));
        let (case, raw) = read::<CaseResult>(&path);
        let run = case.measured().next().unwrap();
        let client = run.client.as_ref().unwrap();
        assert_eq!(client.total.upload.bytes, 4 << 20, "{}", row.label);
        assert_eq!(client.total.download.bytes, 4 << 20, "{}", row.label);
        let server = run.server_command.join(" ");
        let client_cmd = run.client_command.join(" ");
        let ws = case.config.transport == yamux_perf::transport::TransportKind::Ws;
        let tls = case.config.security == Security::Tls;
        // The address the client dialled names the transport (the relay keeps /ws).
        assert_eq!(client_cmd.contains("/ws/p2p/"), ws, "{client_cmd}");
        assert_eq!(raw["config"].get("transport").is_some(), ws);
        assert_eq!(row.label.contains("transport=ws"), ws, "{}", row.label);
        assert_eq!(row.label.contains("sec=tls"), tls, "{}", row.label);
        if case.config.peer == "go" {
            assert_eq!(server.contains("--transport ws"), ws, "{server}");
            assert_eq!(server.contains("--security tls"), tls, "{server}");
        } else {
            assert_eq!(server.contains("/tcp/0/ws"), ws, "{server}");
            assert_eq!(server.contains("--security tls"), tls, "{server}");
        }
        // The negotiated cipher suite is in the report: AES-GCM or ChaCha20 for TLS, Noise's
        // ChaChaPoly otherwise.
        if tls {
            let cipher = client.cipher.as_deref().unwrap_or_default();
            assert!(cipher.starts_with("TLS13_"), "{}: {cipher}", row.label);
        }
        seen.push((case.config.peer.clone(), case.config.stack_name()));
    }
    for peer in ["ours", "go"] {
        for stack in [
            "tcp/noise/yamux",
            "tcp/tls/yamux",
            "ws/noise/yamux",
            "ws/tls/yamux",
        ] {
            assert!(
                seen.contains(&(peer.to_string(), stack.to_string())),
                "{peer} {stack}: {seen:?}"
            );
        }
    }
}
