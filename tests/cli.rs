//! The binary as a user runs it: JSON lines on stdout, exit codes, clear errors.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn client_without_server_runs_against_an_embedded_one() {
    let mut cmd = yamux_perf();
    cmd.args([
        "client",
        "--upload",
        "32MiB",
        "--download",
        "16MiB",
        "--verify",
    ]);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = assert_final(&out.stdout, 32 << 20, 16 << 20);
    assert!(last["timeSeconds"].as_f64().unwrap() > 0.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Gbit/s"),
        "human summary on stderr: {stderr}"
    );
}

#[test]
fn server_prints_its_address_and_serves_a_client() {
    let server = our_server(&["--key-seed", "0"], "info");
    let addr = &server.addr;
    assert!(addr.starts_with("/ip4/127.0.0.1/tcp/"), "{addr}");
    assert!(
        addr.ends_with(&format!("/p2p/{SEED0_ID}")),
        "seed 0 is go's test-plans key: {addr}"
    );
    assert!(
        !addr.contains("/tcp/0/"),
        "the real port is printed: {addr}"
    );
    our_client_succeeds(addr, 64 << 20, 64 << 20, &[]);
}

#[test]
fn wrong_peer_id_exits_non_zero_with_a_clear_message() {
    let server = our_server(&["--key-seed", "1"], "info");
    let wrong = with_peer_id(&server.addr, SEED0_ID);
    let mut client = yamux_perf();
    client.args(["client", "--server", &wrong, "--upload", "1MiB"]);
    let out = run_with_timeout(client, Duration::from_secs(30));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("peer id"), "{stderr}");
}

#[test]
fn bad_input_is_rejected_without_a_panic() {
    for args in [
        vec!["client", "--upload", "1parsec"],
        vec!["client", "--max-window", "8GiB"],
        vec![
            "client",
            "--initial-window",
            "1MiB",
            "--max-window",
            "512KiB",
        ],
        vec!["client", "--max-frame", "100"],
        vec!["client", "--server", "/dns4/example.com/udp/1"],
        vec!["server", "--listen", "/ip4/127.0.0.1/udp/1"],
    ] {
        let mut cmd = yamux_perf();
        cmd.args(&args);
        let out = run_with_timeout(cmd, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.trim().is_empty(),
            "{args:?}: an error message is printed"
        );
    }
}

#[test]
fn unreachable_server_fails_fast() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut cmd = yamux_perf();
    cmd.args([
        "client",
        "--server",
        &format!("/ip4/127.0.0.1/tcp/{port}"),
        "--upload",
        "1MiB",
    ]);
    let out = run_with_timeout(cmd, Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn keygen_writes_a_key_the_server_uses() {
    let dir = std::env::temp_dir().join(format!("yamux-perf-keygen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("server.key");
    let mut cmd = yamux_perf();
    cmd.args(["keygen", key.to_str().unwrap(), "--key-seed", "0"]);
    let out = run_with_timeout(cmd, Duration::from_secs(30));
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), SEED0_ID);
    let server = our_server(&["--key", key.to_str().unwrap()], "info");
    assert!(server.addr.ends_with(SEED0_ID), "{}", server.addr);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn interop_matrix_runs_every_built_pair_and_writes_json() {
    let dir = std::env::temp_dir().join(format!("yamux-perf-interop-{}", std::process::id()));
    let out = dir.join("interop.json");
    let peers_dir = repo_root().join("target/interop");
    let mut cmd = yamux_perf();
    cmd.args([
        "interop",
        "--size",
        "2MiB",
        "--peers",
        "rust",
        "--peers-dir",
    ]);
    cmd.arg(&peers_dir).arg("--out").arg(&out);
    let result = run_with_timeout(cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "stderr: {stderr}");
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let table = file["table"].as_array().unwrap();
    // ours->ours alone, or with a built rust peer also rust->rust, ours->rust and rust->ours;
    // each pair both ways.
    let expected = if peers_dir.join("rust/peer").exists() {
        8
    } else {
        2
    };
    assert_eq!(table.len(), expected, "{table:?}");
    assert!(table.iter().all(|r| r["ok"] == 1
        && r["failed"] == 0
        && r["median_bits_per_second"].as_f64().unwrap() > 0.0));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("ours -> ours"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}
