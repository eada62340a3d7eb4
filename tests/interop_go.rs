//! Interop with a real go-libp2p perf peer (go-libp2p v0.51.0, go-yamux v5.1.0, TCP + Noise +
//! yamux, identify on), built by interop/build.sh: transfers both ways with the byte counts
//! checked on both sides, go's identify answered without a stall (both directions), go's yamux
//! pings answered, our ping mode against go's `/ipfs/ping/1.0.0` handler, peer-id mismatches
//! rejected, and window auto-tuning across the two implementations.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const PEER: &str = "target/interop/go/go-libp2p-perf";
const BUILD: &str = "interop/build.sh go";
const SIZE: u64 = 256 << 20;
/// The yamux initial window; anything above it was granted by auto-tuning.
const INITIAL_WINDOW: u64 = 256 << 10;

/// How long a server's log line may take after the client has finished.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// go-yamux's smoothed RTT in ms from the go peer's output (`yamux_rtt_ms=` on the server's
/// stream line, `yamux rtt X ms` in the client's summary); 0 means go never got a pong.
fn go_rtt_ms(text: &str) -> f64 {
    if let Some(line) = text.lines().find(|l| l.starts_with("yamux rtt ")) {
        let value = line.split_whitespace().nth(2).unwrap();
        return value.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"));
    }
    field_f64(text, "yamux_rtt_ms")
}

fn go_server(peer: &std::path::Path, key_seed: u64) -> LoggedServer {
    let server = peer_server("go", peer, &["--key-seed", &key_seed.to_string()]);
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
        return format!("/p2p/{SEED0_ID}");
    }
    let dir = std::env::temp_dir().join(format!("interop-go-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut keygen = yamux_perf();
    keygen
        .arg("keygen")
        .arg(dir.join(format!("seed{key_seed}.key")));
    keygen.args(["--key-seed", &key_seed.to_string()]);
    let out = run_with_timeout(keygen, Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    format!("/p2p/{}", String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs our client (`size` each way, killed after 120 s) with `rust_log` as its RUST_LOG; returns
/// its stderr after checking the exit code.
fn our_client_logging(server: &str, size: u64, rust_log: &str) -> String {
    let mut client = our_client_command(server, size, size, &[]);
    client.env("RUST_LOG", rust_log);
    let out = run_with_timeout(client, Duration::from_secs(120));
    let stderr = strip_ansi(&stderr_of(&out));
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[test]
fn ours_client_to_go_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = go_server(&peer, 0);
    our_client_succeeds(&server.addr, SIZE, SIZE, &[]);
    let line = server.wait_for_line("perf stream done:", LOG_WAIT);
    assert_eq!(field_u64(&line, "uploadBytes"), SIZE, "{line}");
    assert_eq!(field_u64(&line, "downloadBytes"), SIZE, "{line}");
}

#[test]
fn our_ping_mode_against_go_servers_ping_handler() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = go_server(&peer, 0);
    let mut client = yamux_perf();
    client.env("NO_COLOR", "1");
    client.args(["client", "--server", &server.addr, "--ping", "100"]);
    let out = run_with_timeout(client, Duration::from_secs(60));
    let stderr = strip_ansi(&stderr_of(&out));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ping      100 round trips of 32 bytes on one stream: p50 "),
        "{stderr}"
    );
}

#[test]
fn go_client_to_ours_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    // test-plans style: IP:PORT, and the go client expects the zero-seed id.
    let server = our_server(&["--key-seed", "0"], "info");
    peer_client_succeeds("go", &peer, &server.host_port(), SIZE, SIZE);
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    assert_served_counters(&line, SIZE);
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
        let (last, _) = peer_client_succeeds("go", &peer, &server.addr, 1, 1);
        let seconds = last["timeSeconds"].as_f64().unwrap();
        assert!(
            seconds < 1.0,
            "go needed {seconds:.3} s for connect + 1 byte each way"
        );
    }
    let na = server.wait_for_line("answering na proposal=/ipfs/id/1.0.0", LOG_WAIT);
    let served = server.wait_for_line("perf stream served", LOG_WAIT);
    assert!(served.contains("uploaded: 1, downloaded: 1"), "{served}");
    let log = server.text();
    assert!(
        log.find(&na) < log.find(&served),
        "identify refused before the perf stream finished:\n{log}"
    );
}

/// The other direction: the go server opens `/ipfs/id/1.0.0` to our client on every connection
/// and gives up only after 5 s (then resets the stream). Our client must answer `na` at once, as
/// our server does.
#[test]
fn go_servers_identify_is_answered_by_our_client() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    const RUN: u64 = 16 << 20;
    let server = go_server(&peer, 0);
    let stderr = our_client_logging(&server.addr, RUN, "yamux_perf::multistream=debug");
    assert!(
        stderr.contains("answering na proposal=/ipfs/id/1.0.0"),
        "our client left go's identify stream unanswered:\n{stderr}"
    );
}

#[test]
fn go_yamux_pings_are_answered_both_ways() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    const PING_RUN: u64 = 16 << 20;
    // go server -> our client: go-yamux pings at session start (MeasureRTT). Our trace shows the
    // pong leave, our summary counts it, and go's session has an RTT (it got the pong).
    let server = go_server(&peer, 0);
    let stderr = our_client_logging(&server.addr, PING_RUN, "yamux_perf::yamux::session=trace");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("yamux send header=ping") && l.ends_with("ACK")),
        "no pong sent to go's ping"
    );
    let line = server.wait_for_line("perf stream done:", LOG_WAIT);
    assert!(
        go_rtt_ms(&line) > 0.0,
        "the go server never got a pong: {line}"
    );
    let answered = pings_answered(&stderr);
    assert!(
        answered >= 1,
        "our client counted {answered} pings from the go server"
    );

    // go client -> our server.
    let server = our_server(&[], "info");
    let (_, go_stderr) = peer_client_succeeds("go", &peer, &server.addr, PING_RUN, PING_RUN);
    assert!(
        go_rtt_ms(&go_stderr) > 0.0,
        "the go client never got a pong: {go_stderr}"
    );
    let line = server.wait_for_line("connection closed", LOG_WAIT);
    assert!(
        field_u64(&line, "pings_answered") >= 1,
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
    let out = our_client(&with_peer_id(&server.addr, SEED0_ID), 1, 1, &[]);
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "dial with a wrong id succeeded");
    assert!(stderr.contains("peer id"), "{stderr}");
    // The go server is still fine with the right id.
    our_client_succeeds(&server.addr, 1, 1, &[]);

    // The go client dials IP:PORT and so expects the zero-seed id; our server has seed 1.
    let server = our_server(&["--key-seed", "1"], "info");
    let out = peer_client(&peer, &server.host_port(), 1, 1, &[]);
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "go accepted the wrong peer id");
    assert!(stderr.contains("peer id mismatch"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no JSON line on failure: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A TCP proxy on 127.0.0.1 that holds every chunk for `delay` in each direction before passing
/// it on: a loopback path with a real RTT of 2 × `delay` (this sandbox has no netem). Returns the
/// proxy's port; it serves until the test process exits.
fn delay_proxy(target: SocketAddr, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(inbound) = inbound else { return };
            let Ok(outbound) = TcpStream::connect(target) else {
                continue;
            };
            for s in [&inbound, &outbound] {
                s.set_nodelay(true).unwrap();
            }
            delayed_pipe(
                inbound.try_clone().unwrap(),
                outbound.try_clone().unwrap(),
                delay,
            );
            delayed_pipe(outbound, inbound, delay);
        }
    });
    port
}

fn delayed_pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0; 256 << 10];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                return;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// One run of our client against the go server with a window trace, as numbers.
struct TuneRun {
    /// Largest receive window we advertised.
    recv_window: u64,
    /// Whether every doubling of ours had an RTT (ours comes from go's pongs).
    doubled_with_rtt: bool,
    /// Largest send credit go granted us.
    send_credit: u64,
    /// Median time between two of go's window updates as we received them.
    median_update_gap_ms: f64,
    /// go-yamux's RTT on the server's session.
    go_rtt_ms: f64,
}

impl TuneRun {
    fn report(&self, path: &str, attempt: usize) {
        eprintln!(
            "{path}, attempt {attempt}: our max receive window {}, max send credit from go {}, go rtt {:.4} ms, median gap between go's window updates {:.3} ms",
            self.recv_window, self.send_credit, self.go_rtt_ms, self.median_update_gap_ms
        );
    }

    /// What holds in every run: our window grew with an RTT (go answered our ping), and go has
    /// an RTT (it got our pong; without one go-yamux never auto-tunes).
    fn assert_basics(&self) {
        assert!(
            self.recv_window > INITIAL_WINDOW,
            "our receive window never grew: {}",
            self.recv_window
        );
        assert!(self.doubled_with_rtt, "a doubling of ours without an RTT");
        assert!(
            self.go_rtt_ms > 0.0,
            "go's session has no RTT: no pong arrived"
        );
    }

    /// go-yamux doubles only when its previous window update was less than 4 of its RTTs ago. A
    /// run where go granted nothing beyond its initial window must have update gaps of at least
    /// that (25 % slack: the gaps are measured on our side).
    fn assert_growth_or_go_rule(&self) {
        if self.send_credit <= INITIAL_WINDOW {
            assert!(
                4.0 * self.go_rtt_ms < 1.25 * self.median_update_gap_ms,
                "go granted no more than its initial window although its updates came within 4 of its RTTs ({:.4} ms)",
                self.go_rtt_ms
            );
        }
    }
}

/// Runs our client (256 MiB each way, window trace) against `addr`; `server` is the go server
/// behind it and `attempt` the number of its perf stream.
fn auto_tune_run(addr: &str, server: &LoggedServer, attempt: usize) -> TuneRun {
    let trace = std::env::temp_dir().join(format!(
        "interop-go-trace-{}-{}.jsonl",
        std::process::id(),
        server.host_port().replace([':', '.'], "-")
    ));
    our_client_succeeds(
        addr,
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
    let credit_times: Vec<f64> = events
        .iter()
        .filter(|e| e.get("send_window").is_some())
        .filter_map(|e| e["t_ms"].as_f64())
        .collect();
    let mut gaps: Vec<f64> = credit_times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let line = server.wait_for_nth_line("perf stream done:", attempt, LOG_WAIT);
    TuneRun {
        recv_window: max_of("recv_window"),
        doubled_with_rtt: events
            .iter()
            .filter(|e| e["doubled"] == true)
            .all(|e| e["rtt_ms"].as_f64().is_some_and(|r| r > 0.0)),
        send_credit: max_of("send_window"),
        median_update_gap_ms: gaps.get(gaps.len() / 2).copied().unwrap_or(0.0),
        go_rtt_ms: go_rtt_ms(&line),
    }
}

/// Auto-tuning both ways across implementations on a path with a real RTT: 1 ms each way
/// through a delaying proxy. Our receive window must grow (we have an RTT from go's pongs) and go
/// must grant us more than its initial 256 KiB (its auto-tuning, driven by its RTT from our
/// pongs).
#[test]
fn window_auto_tuning_across_implementations() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = go_server(&peer, 0);
    let target: SocketAddr = server.host_port().parse().unwrap();
    let port = delay_proxy(target, Duration::from_millis(1));
    let id = server.addr.split("/p2p/").nth(1).unwrap();
    let addr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{id}");
    // go's RTT sample can still come out far too small (see the bare-loopback test below); a
    // fresh connection takes a new one, and a run without growth must be explained by it.
    let mut best = 0;
    for attempt in 1..=3 {
        let run = auto_tune_run(&addr, &server, attempt);
        run.report("1 ms delay proxy", attempt);
        run.assert_basics();
        assert!(run.go_rtt_ms >= 1.0, "go's RTT misses the proxy's 2 ms");
        run.assert_growth_or_go_rule();
        best = best.max(run.send_credit);
        if best > INITIAL_WINDOW {
            break;
        }
    }
    assert!(
        best > INITIAL_WINDOW,
        "go's auto-tuning granted no credit beyond {INITIAL_WINDOW} in 3 connections"
    );
}

/// The same on bare loopback, where go's growth depends on its one RTT sample from session
/// start: go-yamux doubles a window only when its previous update was less than 4 RTTs ago, and
/// on loopback half a 256 KiB window (what go waits for before an update) takes about as long to
/// arrive as 4 loopback RTTs (0.2 to 0.3 ms). go also starts its ping clock only after handing
/// the ping to its send loop, so a goroutine that resumes late reads a pong that is already
/// buffered and records a few µs. Either way go then never doubles and keeps us at 256 KiB for
/// the whole connection (a few runs in 30 here, with go RTTs of 0.007 and 0.039 ms). So: our
/// side always grows, and go's either grows or its own numbers say why not.
#[test]
fn window_auto_tuning_on_bare_loopback_follows_go_rtt_rule() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = go_server(&peer, 0);
    let run = auto_tune_run(&server.addr, &server, 1);
    run.report("bare loopback", 1);
    run.assert_basics();
    run.assert_growth_or_go_rule();
}
