//! Latency under load (`client --probe ping`), against our server and go-libp2p's.
//!
//! Each run goes through the relay with a rate limit and a 1 MiB queue per connection, so a
//! download fills the bulk connection's queue (up to 1 MiB at 100 Mbit/s, about 84 ms; how full
//! it gets depends on the sender's window and on how busy the machine is: seen 21 ms to 84 ms)
//! while the control connection's queue stays empty. The assertions follow from that and hold on
//! a busy 2-core machine: the same-connection probe's loaded median is at least 8 ms (four idle
//! round trips) above both its own idle median and the control's loaded median. A probe that
//! measured nothing (n = 0), or measured the control's connection twice, or the wrong phase,
//! fails them.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::Value;
use yamux_perf::bufio::BufferedIo;
use yamux_perf::identity;
use yamux_perf::multistream;
use yamux_perf::perf::client::{self, ClientConfig};
use yamux_perf::perf::{Payload, Request};
use yamux_perf::ping;
use yamux_perf::probe::{ProbeConfig, ProbeKind};
use yamux_perf::transport::{Addr, Listener, TcpConfig, TransportKind};
use yamux_perf::upgrade::{self, ConnectionConfig};

const GO_PEER: &str = "target/interop/go/go-libp2p-perf";
const GO_BUILD: &str = "interop/build.sh go";

/// The download: about 1.3 s at the relay's rate, long enough for some 100 loaded pings.
const DOWNLOAD: u64 = 16 << 20;

/// How far the queue behind the bulk stream must lift the same-connection median, ms: four of
/// the relay's idle 2 ms round trips (the queue lifted it by 18.6 ms on a loaded CI run and by
/// about 84 ms on a quiet one; the control stays within a ms of its idle median).
const QUEUE_LIFT_MS: f64 = 8.0;

/// A relay in front of `to`: 2 ms RTT, 100 Mbit/s and a 1 MiB queue each way, per connection.
fn relay(to: &str) -> LoggedServer {
    let mut relay = yamux_perf();
    relay.args(["relay", "--to", to, "--rtt", "2ms", "--rate", "100Mbit"]);
    relay.args(["--queue", "1MiB"]);
    LoggedServer::start("relay", relay)
}

/// Runs our client with `--probe ping` against `server` (`name` names its scratch directory), downloading [`DOWNLOAD`]; returns the
/// report's `latency_under_load` and the client's stderr.
fn probed_download(name: &str, server: &str) -> (Value, String) {
    let dir = ScratchDir::new(&format!("probe-{name}"));
    let report = dir.0.join("report.json");
    let mut args = vec!["--probe", "ping", "--probe-interval", "10ms", "--report"];
    let report_arg = report.to_str().unwrap().to_string();
    args.push(&report_arg);
    let (_, stderr) = our_client_succeeds(server, 0, DOWNLOAD, &args);
    let text = std::fs::read_to_string(&report).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    (report["latency_under_load"].clone(), stderr)
}

/// The percentiles object at `side`.`phase`, checked for its shape and n > 0.
fn phase(l: &Value, side: &str, phase: &str) -> (f64, u64) {
    let p = &l[side][phase];
    for key in ["p50", "p90", "p99", "max"] {
        assert!(p[key].as_f64().is_some(), "{side}.{phase}.{key} in {l}");
    }
    let (p50, p99, max) = (
        p["p50"].as_f64().unwrap(),
        p["p99"].as_f64().unwrap(),
        p["max"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{side}.{phase}: {p}");
    let n = p["n"]
        .as_u64()
        .unwrap_or_else(|| panic!("{side}.{phase}.n in {l}"));
    assert!(n > 0, "{side}.{phase} has no sample: {l}");
    (p50, n)
}

/// The assertions of the module documentation.
fn assert_loaded_behind_the_queue(l: &Value, stderr: &str) {
    assert_eq!(l["probe"], "ping", "{l}");
    assert_eq!(l["interval_ms"], 10.0, "{l}");
    let (same_idle, idle_n) = phase(l, "same_connection", "idle_ms");
    let (same_loaded, _) = phase(l, "same_connection", "loaded_ms");
    let (separate_idle, _) = phase(l, "separate_connection", "idle_ms");
    let (separate_loaded, loaded_n) = phase(l, "separate_connection", "loaded_ms");
    // 1 s of idle phase at 10 ms: about 100 pings, fewer on a stalled machine.
    assert!(idle_n >= 20, "idle pings: {l}");
    assert!(loaded_n >= 20, "control pings during the transfer: {l}");
    assert!(
        same_loaded > same_idle + QUEUE_LIFT_MS,
        "same connection: loaded p50 {same_loaded} ms not above idle p50 {same_idle} ms + {QUEUE_LIFT_MS} ms: {l}"
    );
    assert!(
        same_loaded > separate_loaded + QUEUE_LIFT_MS,
        "same connection loaded p50 {same_loaded} ms not above the control's {separate_loaded} ms + {QUEUE_LIFT_MS} ms: {l}"
    );
    // Both probes see the relay's 2 ms when idle.
    assert!(same_idle >= 1.5 && separate_idle >= 1.5, "{l}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("muxer-added latency (loaded"))
        .unwrap_or_else(|| panic!("no muxer-added line:\n{stderr}"));
    let p50: f64 = line
        .split("p50 ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no p50 in {line:?}"));
    assert!(
        (p50 - (same_loaded - separate_loaded)).abs() < 0.01,
        "{line} vs {l}"
    );
}

#[test]
fn probe_against_our_server_sees_the_download_queue() {
    let server = our_server(&[], "info,yamux_perf::perf::server=debug");
    let relay = relay(&server.addr);
    let (l, stderr) = probed_download("ours", &relay.addr);
    assert_loaded_behind_the_queue(&l, &stderr);
    // Our server answered both probe streams.
    let served = server.wait_for_nth_line("ping stream served", 2, Duration::from_secs(10));
    assert!(served.contains("answered="), "{served}");
}

#[test]
fn probe_against_the_go_server_sees_the_download_queue() {
    let Some(peer) = interop_peer(GO_PEER, GO_BUILD) else {
        return;
    };
    let server = peer_server("go", &peer, &[]);
    let relay = relay(&server.addr);
    let (l, stderr) = probed_download("go", &relay.addr);
    assert_loaded_behind_the_queue(&l, &stderr);
}

#[test]
fn probe_settings_out_of_bounds_are_refused() {
    let run = |args: &[&str]| {
        let mut client = yamux_perf();
        client.args(["client", "--no-progress", "--download", "1MiB"]);
        client.args(args);
        let out = run_with_timeout(client, Duration::from_secs(30));
        assert!(!out.status.success(), "{args:?} succeeded");
        stderr_of(&out)
    };
    let short = run(&["--probe", "ping", "--probe-idle", "5ms"]);
    assert!(
        short.contains("must be at least one --probe-interval"),
        "{short}"
    );
    let zero = run(&["--probe", "ping", "--probe-interval", "0"]);
    assert!(zero.contains("--probe-interval must be above 0"), "{zero}");
    let tcp = run(&["--probe", "ping", "--stack", "tcp"]);
    assert!(tcp.contains("--probe needs --stack yamux"), "{tcp}");
    let alone = run(&["--probe-interval", "5ms"]);
    assert!(alone.contains("--probe"), "{alone}");
    let unknown = run(&["--probe", "echo"]);
    assert!(unknown.contains("possible values: ping"), "{unknown}");
}

/// A libp2p server (Noise, yamux) that answers every stream with `silent`: `false` refuses
/// every protocol (`na`, as a peer without a ping handler does), `true` agrees to ping and then
/// never answers. Returns its address.
async fn odd_server(silent: bool) -> Addr {
    let config = ConnectionConfig::new(identity::generate());
    let local = Addr::new("127.0.0.1:0".parse().unwrap(), TransportKind::Tcp);
    let listener = Listener::bind(&local, &TcpConfig::default()).unwrap();
    let addr = listener
        .local_addr()
        .unwrap()
        .with_peer(config.identity.public().to_peer_id());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.tcp.accept().await {
            let config = config.clone();
            tokio::spawn(async move {
                let established = upgrade::accept(tcp, TransportKind::Tcp, &config)
                    .await
                    .unwrap();
                while let Some(stream) = established.connection.accept_stream().await {
                    tokio::spawn(async move {
                        let mut io = BufferedIo::new(stream);
                        let known: &[&str] = if silent { &[ping::PROTOCOL_ID] } else { &[] };
                        let _ = multistream::listener_select(&mut io, known).await;
                        std::future::pending::<()>().await;
                    });
                }
                drop(established);
            });
        }
    });
    addr
}

fn probed_config(server: Addr) -> ClientConfig {
    ClientConfig {
        server,
        request: Request {
            upload: 0,
            download: 1 << 20,
            payload: Payload::Pattern,
            lazy: true,
            early_fin: false,
        },
        streams: 1,
        connections: 1,
        stagger: Duration::ZERO,
        short_flows: None,
        connection: ConnectionConfig::new(identity::generate()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_a_ping_handler_is_named_in_the_error() {
    let addr = odd_server(false).await;
    let peer = addr.peer.unwrap();
    let probe = ProbeConfig::new(ProbeKind::Ping, ms(10), ms(500)).unwrap();
    let err = client::run_probed(&probed_config(addr), Arc::default(), Some(probe))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("{peer} refused /ipfs/ping/1.0.0")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_without_an_answer_is_an_error_within_the_bound() {
    let addr = odd_server(true).await;
    let peer = addr.peer.unwrap();
    let mut probe = ProbeConfig::new(ProbeKind::Ping, ms(10), ms(2000)).unwrap();
    probe.answer_timeout = ms(300);
    let started = std::time::Instant::now();
    let err = client::run_probed(&probed_config(addr), Arc::default(), Some(probe))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("{peer} did not answer within 300ms")),
        "{text}"
    );
    // It failed during the idle phase, at the bound, not after the 2 s idle phase.
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
