//! Interop with a real go-libp2p perf peer (go-libp2p v0.51.0, go-yamux v5.1.0, TCP + Noise +
//! yamux, identify on), built by interop/build.sh: transfers both ways with the byte counts
//! checked on both sides, go's identify answered without a stall, go's yamux pings answered,
//! peer-id mismatches rejected, and window auto-tuning across the two implementations.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const PEER: &str = "target/interop/go/go-libp2p-perf";
const BUILD: &str = "interop/build.sh go";
const SIZE: u64 = 256 << 20;
/// go test-plans' server id: the Ed25519 key from 32 zero bytes (`--key-seed 0` on both sides).
const ZERO_SEED_ID: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
/// The yamux initial window; anything above it was granted by auto-tuning.
const INITIAL_WINDOW: u64 = 256 << 10;
/// Multistream bytes on top of the perf payload in our server's DATA counters: go's header,
/// `/perf/1.0.0` and `/ipfs/id/1.0.0` proposals and our answers come to well under this.
const MULTISTREAM_SLACK: u64 = 1024;

/// A server whose stderr is collected line by line (and echoed, so a failing test shows it).
struct LoggedServer {
    _child: ChildGuard,
    addr: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl LoggedServer {
    fn start(mut command: Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = ChildGuard(command.spawn().expect("server starts"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.0.stderr.take().expect("piped stderr");
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                eprintln!("server: {line}");
                lines.lock().unwrap().push(line);
            }
        });
        let stdout = child.0.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its address within 60 s")
            .trim()
            .to_string();
        Self {
            _child: child,
            addr,
            stderr,
        }
    }

    /// The first stderr line containing `needle`, waiting up to 10 s for it.
    fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no server stderr line with {needle:?} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// `IP:PORT` of the listen address, the form test-plans clients take.
    fn host_port(&self) -> String {
        let parts: Vec<&str> = self.addr.split('/').collect();
        assert!(
            parts.len() >= 5 && parts[1] == "ip4" && parts[3] == "tcp",
            "{}",
            self.addr
        );
        format!("{}:{}", parts[2], parts[4])
    }
}

/// Removes ANSI colour sequences (our logs carry them even into a pipe).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The number after `key=` in a log line.
fn field(line: &str, key: &str) -> u64 {
    let pattern = format!("{key}=");
    let start = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&pattern))
        .unwrap_or_else(|| panic!("no {pattern} in {line:?}"));
    start
        .parse()
        .unwrap_or_else(|e| panic!("{pattern}{start:?} in {line:?}: {e}"))
}

fn go_server(peer: &std::path::Path, key_seed: u64) -> LoggedServer {
    let mut server = Command::new(peer);
    server.args(["--run-server", "--server-address", "127.0.0.1:0"]);
    server.args(["--key-seed", &key_seed.to_string()]);
    let server = LoggedServer::start(server);
    let id = go_seed_id(key_seed);
    assert!(
        server.addr.starts_with("/ip4/127.0.0.1/tcp/") && server.addr.ends_with(&id),
        "go server prints its full address: {}",
        server.addr
    );
    server
}

fn go_seed_id(key_seed: u64) -> String {
    if key_seed == 0 {
        return format!("/p2p/{ZERO_SEED_ID}");
    }
    let dir = std::env::temp_dir().join(format!("interop-go-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut keygen = yamux_perf();
    keygen
        .arg("keygen")
        .arg(dir.join(format!("seed{key_seed}.key")));
    keygen.args(["--key-seed", &key_seed.to_string()]);
    let out = run_with_timeout(keygen, Duration::from_secs(30));
    assert!(out.status.success());
    format!("/p2p/{}", String::from_utf8_lossy(&out.stdout).trim())
}

/// Our server; `rust_log` is its RUST_LOG (INFO at least, for the connection lines).
fn our_server(extra: &[&str], rust_log: &str) -> LoggedServer {
    let mut server = yamux_perf();
    server.args(["server", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    server.args(extra);
    server.env("RUST_LOG", rust_log);
    LoggedServer::start(server)
}

/// Runs the go client; returns its output after checking the exit code and the final line.
fn go_client(peer: &std::path::Path, address: &str, upload: u64, download: u64) -> Value {
    let mut client = Command::new(peer);
    client.args(["--server-address", address]);
    client.args(["--upload-bytes", &upload.to_string()]);
    client.args(["--download-bytes", &download.to_string()]);
    client.args(["--timeout", "150"]);
    let out = run_with_timeout(client, Duration::from_secs(180));
    assert!(
        out.status.success(),
        "go client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_final(&out.stdout, upload, download)
}

/// Runs our client with extra arguments; returns its stderr after checking exit code and counts.
fn our_client(server: &str, upload: u64, download: u64, extra: &[&str]) -> String {
    let mut client = yamux_perf();
    client.args(["client", "--server", server, "--no-progress"]);
    client.args(["--upload", &upload.to_string()]);
    client.args(["--download", &download.to_string()]);
    client.args(["--timeout", "150"]);
    client.args(extra);
    let out = run_with_timeout(client, Duration::from_secs(180));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "our client failed: {stderr}");
    assert_final(&out.stdout, upload, download);
    stderr
}

/// "… 3 peer pings answered" in our client's summary.
fn peer_pings_answered(summary: &str) -> u64 {
    let line = summary
        .lines()
        .find(|l| l.contains("peer pings answered"))
        .unwrap_or_else(|| panic!("no ping count in the summary: {summary}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "peer").unwrap();
    words[at - 1]
        .parse()
        .unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn ours_client_to_go_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = go_server(&peer, 0);
    our_client(&server.addr, SIZE, SIZE, &[]);
    let line = server.wait_for_line("perf stream done:");
    assert_eq!(field(&line, "uploadBytes"), SIZE, "{line}");
    assert_eq!(field(&line, "downloadBytes"), SIZE, "{line}");
}

#[test]
fn go_client_to_ours_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    // test-plans style: IP:PORT, and the go client expects the zero-seed id.
    let server = our_server(&["--key-seed", "0"], "info");
    go_client(&peer, &server.host_port(), SIZE, SIZE);
    let line = server.wait_for_line("connection closed");
    // DATA payload counters: the perf bytes plus the multistream bytes of two streams.
    let received = field(&line, "received");
    let sent = field(&line, "sent");
    assert!(
        (SIZE + 8..SIZE + MULTISTREAM_SLACK).contains(&received),
        "{line}"
    );
    assert!((SIZE..SIZE + MULTISTREAM_SLACK).contains(&sent), "{line}");
}

#[test]
fn go_identify_is_answered_without_stalling_the_perf_stream() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = our_server(
        &[],
        "info,yamux_perf::multistream=debug,yamux_perf::perf=debug",
    );
    // go waits for identify to finish before it negotiates /perf/1.0.0; an unanswered identify
    // stream costs its 5 s timeout. Connection setup plus a 1-byte round trip is milliseconds on
    // loopback.
    for _ in 0..3 {
        let last = go_client(&peer, &server.addr, 1, 1);
        let seconds = last["timeSeconds"].as_f64().unwrap();
        assert!(
            seconds < 1.0,
            "go needed {seconds:.3} s for connect + 1 byte each way"
        );
    }
    let na = server.wait_for_line("answering na proposal=/ipfs/id/1.0.0");
    let served = server.wait_for_line("perf stream served");
    assert!(served.contains("uploaded: 1, downloaded: 1"), "{served}");
    let log = server.stderr_text();
    assert!(
        log.find(&na) < log.find(&served),
        "identify refused before the perf stream finished:\n{log}"
    );
}

#[test]
fn go_yamux_pings_are_answered_both_ways() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    const PING_RUN: u64 = 16 << 20;
    // go server -> our client: go-yamux pings at session start (MeasureRTT). The trace shows the
    // pong leave; the summary counts it.
    let server = go_server(&peer, 0);
    let mut client = yamux_perf();
    client.args(["client", "--server", &server.addr, "--no-progress"]);
    client.args(["--upload", &PING_RUN.to_string()]);
    client.args(["--download", &PING_RUN.to_string()]);
    client.env("RUST_LOG", "yamux_perf::yamux::session=trace");
    let out = run_with_timeout(client, Duration::from_secs(120));
    let stderr = strip_ansi(&String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("yamux send header=ping") && l.ends_with("ACK")),
        "no pong sent to go's ping"
    );
    let answered = peer_pings_answered(&stderr);
    assert!(
        answered >= 1,
        "our client counted {answered} pings from the go server"
    );

    // go client -> our server.
    let server = our_server(&[], "info");
    go_client(&peer, &server.addr, PING_RUN, PING_RUN);
    let line = server.wait_for_line("connection closed");
    assert!(
        field(&line, "pings_answered") >= 1,
        "our server counted no ping from the go client: {line}"
    );
}

#[test]
fn peer_id_mismatch_is_rejected_both_ways() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    // Our client expects the zero-seed id; the go server has the seed-1 key.
    let server = go_server(&peer, 1);
    let wrong = format!(
        "{}/p2p/{ZERO_SEED_ID}",
        server.addr.split("/p2p/").next().unwrap()
    );
    let mut client = yamux_perf();
    client.args([
        "client",
        "--server",
        &wrong,
        "--upload",
        "1",
        "--download",
        "1",
    ]);
    let out = run_with_timeout(client, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "dial with a wrong id succeeded");
    assert!(stderr.contains("peer id"), "{stderr}");
    // The go server is still fine with the right id.
    assert_our_client_succeeds(&server.addr, 1);

    // The go client dials IP:PORT and so expects the zero-seed id; our server has seed 1.
    let server = our_server(&["--key-seed", "1"], "info");
    let mut client = Command::new(&peer);
    client.args(["--server-address", &server.host_port()]);
    client.args([
        "--upload-bytes",
        "1",
        "--download-bytes",
        "1",
        "--timeout",
        "30",
    ]);
    let out = run_with_timeout(client, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "go accepted the wrong peer id");
    assert!(stderr.contains("peer id mismatch"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no JSON line on failure: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn window_auto_tuning_across_implementations() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = go_server(&peer, 0);
    let trace = std::env::temp_dir().join(format!("interop-go-trace-{}.jsonl", std::process::id()));
    let summary = our_client(
        &server.addr,
        SIZE,
        SIZE,
        &["--window-trace", trace.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&trace).expect("trace written");
    let _ = std::fs::remove_file(&trace);
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let max_of = |key: &str| {
        events
            .iter()
            .filter_map(|e| e.get(key).and_then(Value::as_u64))
            .max()
            .unwrap_or(0)
    };
    // Our receive window grows only with an RTT, i.e. after go answered our ping.
    let recv = max_of("recv_window");
    let doubled_with_rtt = events
        .iter()
        .filter(|e| e["doubled"] == true)
        .all(|e| e["rtt_ms"].as_f64().is_some_and(|r| r > 0.0));
    // Our send credit grows only when go-yamux doubles its receive window (it needs the RTT of
    // its own ping, which we answered).
    let send = max_of("send_window");
    eprintln!("max receive window {recv}, max send credit from go {send}\n{summary}");
    assert!(
        recv > INITIAL_WINDOW,
        "our receive window never grew: {recv}"
    );
    assert!(doubled_with_rtt, "a doubling without an RTT:\n{text}");
    assert!(
        send > INITIAL_WINDOW,
        "go never granted more than its initial window: {send}"
    );
}
