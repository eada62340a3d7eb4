//! `yamux-perf unified` against a real `redis-server`: a listener and a dialer process with the
//! environment of libp2p/unified-testing's perf/lib/run-single-test.sh, the dialer's stdout put
//! through the harness's own line filter and a YAML parser; the cells we refuse, and a dialer
//! whose listener never comes.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `redis-server` on PATH, or `None` (with a message) locally; under CI=true it must be there
/// (.ci/run installs it).
fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|p| p.exists())
    });
    if found.is_none() {
        let message = "redis-server is not installed (apt-get install redis-server)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message} (CI=true: the unified tests must not be skipped)");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real Redis on a free loopback port, killed when dropped.
struct Redis {
    _child: ChildGuard,
    addr: String,
}

impl Redis {
    fn start(program: &PathBuf) -> Self {
        let port = free_port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        let addr = format!("127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            _child: ChildGuard(child),
            addr,
        }
    }
}

fn unified(env: &[(&str, &str)]) -> Command {
    let mut command = yamux_perf();
    command.arg("unified").env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(env.iter().copied());
    command
}

/// Runs a listener and a dialer over `transport` and `security`; returns the dialer's output.
fn run_pair(redis: &Redis, key: &str, transport: &str, security: &str) -> Output {
    let common = [
        ("REDIS_ADDR", redis.addr.as_str()),
        ("TEST_KEY", key),
        ("TRANSPORT", transport),
        ("SECURE_CHANNEL", security),
        ("MUXER", "yamux"),
        ("DEBUG", "false"),
    ];
    let mut listener_env = common.to_vec();
    listener_env.extend([("IS_DIALER", "false"), ("LISTENER_IP", "127.0.0.1")]);
    let _listener = ChildGuard(
        unified(&listener_env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut dialer_env = common.to_vec();
    dialer_env.extend([
        ("IS_DIALER", "true"),
        ("UPLOAD_BYTES", "16777216"),
        ("DOWNLOAD_BYTES", "16777216"),
        ("UPLOAD_ITERATIONS", "4"),
        ("DOWNLOAD_ITERATIONS", "3"),
        ("LATENCY_ITERATIONS", "25"),
        ("DURATION", "20"),
    ]);
    unified(&dialer_env)
        .args(["--redis-wait", "20"])
        .output()
        .unwrap()
}

#[test]
fn listener_and_dialer_follow_the_harness_contract() {
    let Some(program) = redis_server() else {
        return;
    };
    let redis = Redis::start(&program);
    for (i, (transport, security)) in [("tcp", "noise"), ("ws", "tls"), ("tcp", "tls")]
        .into_iter()
        .enumerate()
    {
        let key = format!("0000aa0{i}");
        let out = run_pair(&redis, &key, transport, security);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{transport}/{security}: dialer failed: {stderr}"
        );
        let kept: String = stdout
            .lines()
            .filter(|line| harness_keeps(line))
            .map(|line| format!("{line}\n"))
            .collect();
        // Loopback on a shared 2-core machine: at least 0.05 Gbit/s, a round trip under 100 ms.
        check_harness_yaml(&kept, [4, 3, 25], 0.05);
        assert!(
            stderr.contains(&format!("published under {key}_listener_multiaddr"))
                || stderr.contains("connected"),
            "{stderr}"
        );
    }
}

#[test]
fn cells_we_do_not_serve_are_refused_with_the_reason() {
    for (var, value, expect) in [
        (
            "TRANSPORT",
            "quic-v1",
            "TRANSPORT=quic-v1: not supported, this image serves tcp and ws",
        ),
        (
            "MUXER",
            "mplex",
            "MUXER=mplex: not supported, this image serves yamux",
        ),
        (
            "SECURE_CHANNEL",
            "null",
            "SECURE_CHANNEL=null: not supported",
        ),
        (
            "TEST_KEY",
            "nothex!!",
            "TEST_KEY=\"nothex!!\": expected 8 hex digits",
        ),
    ] {
        let mut env = vec![
            ("IS_DIALER", "true"),
            ("REDIS_ADDR", "127.0.0.1:1"),
            ("TEST_KEY", "a1b2c3d4"),
            ("TRANSPORT", "tcp"),
            ("SECURE_CHANNEL", "noise"),
            ("MUXER", "yamux"),
        ];
        env.retain(|(k, _)| *k != var);
        env.push((var, value));
        let start = Instant::now();
        let out = unified(&env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value} accepted");
        assert!(stderr.contains(expect), "{var}={value}: {stderr}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "refused before any wait"
        );
    }
    let out = unified(&[("REDIS_ADDR", "127.0.0.1:1")]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("IS_DIALER is not set"));
}

#[test]
fn a_dialer_without_a_listener_gives_up_after_its_wait() {
    let Some(program) = redis_server() else {
        return;
    };
    let redis = Redis::start(&program);
    let start = Instant::now();
    let out = unified(&[
        ("IS_DIALER", "true"),
        ("REDIS_ADDR", &redis.addr),
        ("TEST_KEY", "deadbeef"),
        ("TRANSPORT", "tcp"),
        ("SECURE_CHANNEL", "noise"),
        ("MUXER", "yamux"),
    ])
    .args(["--redis-wait", "1"])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no listener address under deadbeef_listener_multiaddr"),
        "{stderr}"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
}
