//! `yamux-perf sweep` end to end: the committed smoke config and a tiny inline one run through
//! the binary into a temporary directory, and every output file exists and parses with the
//! schema types.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use yamux_perf::procstat::ProcessUsage;
use yamux_perf::results::{
    CaseResult, METRIC_LATENCY, METRIC_TTFB, RunKind, SCHEMA_VERSION, Spread, Summary,
    WindowTraceLine,
};
use yamux_perf::sweep::config::case_id;
use yamux_perf::sweep::hgrm;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("yamux-perf-sweep-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sweep(args: &[&str]) -> std::process::Output {
    let mut cmd = yamux_perf();
    cmd.arg("sweep").args(args).arg("--no-progress");
    cmd.current_dir(repo_root());
    run_with_timeout(cmd, Duration::from_secs(300))
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} should exist: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} should parse: {e}", path.display()))
}

/// One clock tick of `/proc/<pid>/stat` (`USER_HZ` = 100): the resolution of CPU readings.
const TICK_S: f64 = 0.01;

/// A run that moves this much through Noise reads at least a tick of CPU: the smoke sweep's
/// 16 MiB each way took 0.02–0.04 s per side in each of results/baseline's runs (1.2–2.1 ns per
/// byte for both sides together). Smaller runs may round to zero ticks.
const MIN_BYTES_FOR_CPU: u64 = 32 << 20;

/// Client and server CPU per byte moved, together, cannot be below this: each end seals or
/// opens every byte with ChaCha20-Poly1305, about 1 ns per byte on one core here
/// (results/perf-2026-11-26: 0.67–0.83 CPU-s per GiB each side), so 0.1 would be 20× faster.
const MIN_NS_PER_BYTE: f64 = 0.1;

/// A process can use at most every core for as long as it ran; a libp2p binary with a tokio
/// runtime that moved data needs a few MiB resident and cannot hold more than the machine has.
fn check_usage(what: &str, usage: &ProcessUsage, case: &CaseResult, wall_seconds: f64) -> f64 {
    let cpu = usage.cpu_user_s + usage.cpu_sys_s;
    let machine = case
        .machine
        .as_ref()
        .expect("a relay case records its machine");
    let cores = machine.cores as f64;
    assert!(
        usage.cpu_user_s >= 0.0 && usage.cpu_sys_s >= 0.0,
        "{what}: {usage:?}"
    );
    assert!(
        cpu <= cores * wall_seconds + 2.0 * TICK_S,
        "{what}: {cpu} s of CPU in {wall_seconds} s on {cores} cores"
    );
    let memory = machine.memory_bytes.unwrap_or(u64::MAX);
    assert!(
        usage.peak_rss_bytes >= 4 << 20 && usage.peak_rss_bytes < memory,
        "{what}: peak RSS {} bytes",
        usage.peak_rss_bytes
    );
    cpu
}

/// Equal up to JSON's float rounding (serde_json may parse a number one ulp off).
fn assert_same_spread(row: &Option<Spread>, runs: &Option<Spread>, label: &str) {
    let (Some(row), Some(runs)) = (row, runs) else {
        panic!("{label}: summary {row:?}, runs {runs:?}");
    };
    let close = |a: f64, b: f64| (a - b).abs() <= a.abs().max(b.abs()) * 1e-12;
    assert!(
        row.n == runs.n
            && close(row.median, runs.median)
            && close(row.min, runs.min)
            && close(row.max, runs.max),
        "{label}: summary {row:?}, runs {runs:?}"
    );
}

/// Checks every file of a finished sweep; returns the summary and the cases.
fn check_outputs(out: &Path, repetitions: u32) -> (Summary, Vec<CaseResult>) {
    let summary: Summary = read(&out.join("summary.json"));
    assert_eq!(summary.schema_version, SCHEMA_VERSION);
    assert!(summary.machine.is_some() && !summary.cases.is_empty());
    assert_eq!(summary.git, yamux_perf::build_info::git_revision());
    let mut cases = Vec::new();
    for row in &summary.cases {
        assert_eq!(
            (row.ok, row.failed),
            (repetitions, 0),
            "{}: {:?}",
            row.label,
            row.errors
        );
        assert!(row.download_gbit_s.as_ref().unwrap().median > 0.0);
        let case: CaseResult = read(&out.join("cases").join(format!("{}.json", row.id)));
        assert_eq!(
            case.git,
            yamux_perf::build_info::git_revision(),
            "the revision of the binary that ran"
        );
        assert_eq!(case.id, row.id);
        assert_eq!(
            case_id(&case.config),
            case.id,
            "the id is the config's hash"
        );
        let machine = case
            .machine
            .as_ref()
            .expect("a relay case records its machine");
        assert!(!machine.cpu.clone().unwrap_or_default().is_empty() || machine.cores > 0);
        assert!(!case.sweep_command.is_empty());
        let measured: Vec<_> = case.measured().collect();
        assert_eq!(measured.len(), repetitions as usize);
        let mut usages = Vec::new();
        let mut connects = Vec::new();
        for (k, run) in measured.iter().enumerate() {
            assert!(run.ok, "{:?}", run.error);
            let wall_seconds = run
                .wall_seconds
                .expect("a relay run records its wall clock");
            assert_eq!(run.repetition, k as u32 + 1);
            assert!(run.client_command.iter().any(|a| a == "--report"));
            let report = run.client.as_ref().unwrap();
            assert_eq!(report.total.download.bytes, case.config.download_bytes);
            assert_eq!(report.git, case.git, "the client binary's revision");
            assert!(!report.yamux.frames_sent.is_empty());
            // Goodput is bytes over the phase's time, and each phase fits in the process's life.
            let total = &report.total;
            for d in [&total.upload, &total.download] {
                let rate = d.bytes as f64 * 8.0 / d.seconds;
                assert!(d.bytes > 0 && d.seconds > 0.0, "{d:?}");
                assert!((d.bits_per_second - rate).abs() <= rate * 1e-9, "{d:?}");
                assert!(d.seconds <= wall_seconds, "{d:?} in {wall_seconds}");
            }
            let client = report.process.as_ref().expect("client usage");
            let client_cpu = check_usage("client", client, &case, wall_seconds);
            let server = run.server_usage.as_ref().expect("server usage");
            let server_cpu = check_usage("server", server, &case, wall_seconds);
            // Both ends seal or open every byte through Noise, each at about 1 ns per byte:
            // together at least MIN_NS_PER_BYTE once the run is long enough to be counted.
            let bytes = total.upload.bytes + total.download.bytes;
            let ns_per_byte = (client_cpu + server_cpu) * 1e9 / bytes as f64;
            assert!(
                bytes < MIN_BYTES_FOR_CPU || ns_per_byte >= MIN_NS_PER_BYTE,
                "{ns_per_byte} ns of CPU per byte for {bytes} bytes: client {client:?}, server \
                 {server:?}"
            );
            usages.push((client_cpu, server_cpu, client.peak_rss_bytes));
            // Setup takes at least the TCP handshake's round trip, and fits in the run.
            let connect_ms = report.connect_ms.expect("a relay run times its setup");
            assert!(
                connect_ms >= case.config.rtt_ms
                    && connect_ms > 0.0
                    && connect_ms < wall_seconds * 1e3,
                "connect_ms {connect_ms} at {} ms RTT in a {wall_seconds} s run",
                case.config.rtt_ms,
            );
            connects.push(connect_ms);
            assert_eq!(run.relay.is_some(), case.config.rtt_ms > 0.0);
            let trace = run
                .window_trace
                .as_ref()
                .expect("a window trace per repetition");
            assert_eq!(trace, &format!("{}.rep{}.window.jsonl", case.id, k + 1));
            let text = std::fs::read_to_string(out.join("cases").join(trace)).unwrap();
            assert!(text.lines().count() > 0, "{trace} is empty");
            for line in text.lines() {
                serde_json::from_str::<WindowTraceLine>(line)
                    .unwrap_or_else(|e| panic!("{trace}: {line}: {e}"));
            }
            let growth = run.window_growth.as_ref().expect("window growth");
            assert_eq!(growth.cap_bytes, case.config.max_window_bytes);
        }
        // The summary row is the spread of the runs' readings.
        let spread = |f: fn(&(f64, f64, u64)) -> f64| Spread::of(usages.iter().map(f));
        assert_same_spread(&row.client_cpu_s, &spread(|u| u.0), &row.label);
        assert_same_spread(
            &row.connect_ms,
            &Spread::of(connects.iter().copied()),
            &row.label,
        );
        assert_same_spread(&row.server_cpu_s, &spread(|u| u.1), &row.label);
        assert_same_spread(
            &row.client_peak_rss_bytes,
            &spread(|u| u.2 as f64),
            &row.label,
        );
        let latency = case.latency.as_ref().expect("a latency run");
        assert_eq!(latency.kind, RunKind::Latency);
        assert!(latency.ok, "{:?}", latency.error);
        for metric in [METRIC_LATENCY, METRIC_TTFB] {
            assert!(
                case.histograms.contains_key(metric),
                "{metric} in {:?}",
                case.histograms.keys()
            );
        }
        for (metric, h) in &case.histograms {
            let text = std::fs::read_to_string(out.join("cases").join(&h.file)).unwrap();
            let parsed = hgrm::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", h.file));
            assert_eq!(parsed.total_count, h.count, "{metric}");
            let median = parsed.value_at(0.5).unwrap();
            assert!(
                (median - h.p50).abs() <= h.p50 * 0.01 + 0.002,
                "{metric}: {median} vs {}",
                h.p50
            );
        }
        if case.config.rtt_ms > 0.0 {
            let p50 = case.histograms[METRIC_LATENCY].p50;
            assert!(
                p50 >= case.config.rtt_ms,
                "a 1-byte round trip takes at least the RTT: {p50}"
            );
        }
        cases.push(case);
    }
    assert!(!out.join(".scratch").exists(), "scratch files are removed");
    (summary, cases)
}

#[test]
fn smoke_config_runs_end_to_end() {
    let tmp = TempDir::new("smoke");
    let out = tmp.0.join("out");
    let result = sweep(&["bench-configs/smoke.toml", "--out", out.to_str().unwrap()]);
    assert!(
        result.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let (summary, cases) = check_outputs(&out, 1);
    assert_eq!(summary.sweep, "smoke");
    assert_eq!(cases.len(), 2);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.starts_with("| case |"),
        "a table on stdout: {stdout}"
    );
}

#[test]
fn repetitions_warmups_filter_and_rerun_from_a_case_json() {
    let tmp = TempDir::new("inline");
    let config = tmp.0.join("tiny.toml");
    std::fs::write(
        &config,
        r#"
        repetitions = 2
        warmup = 1
        interval = "50ms"
        timeout = "60s"
        [matrix]
        rtt = ["0ms", "10ms"]
        max_window = "1MiB"
        upload = "2MiB"
        download = "4MiB"
        latency_rounds = 10
        "#,
    )
    .unwrap();
    let out = tmp.0.join("out");
    let result = sweep(&[config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(
        result.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let (_, cases) = check_outputs(&out, 2);
    assert_eq!(cases.len(), 2);
    for case in &cases {
        assert_eq!(case.runs[0].kind, RunKind::Warmup, "warm-up first");
        assert!(
            case.runs[0].window_trace.is_none(),
            "warm-up traces are not kept"
        );
    }

    // Re-running a case from its JSON: same id, the recorded plan, one repetition on request.
    let id = &cases[1].id;
    let json = out.join("cases").join(format!("{id}.json"));
    let rerun = tmp.0.join("rerun");
    let result = sweep(&[
        json.to_str().unwrap(),
        "--out",
        rerun.to_str().unwrap(),
        "--repetitions",
        "1",
    ]);
    assert!(
        result.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let again: CaseResult = read(&rerun.join("cases").join(format!("{id}.json")));
    assert_eq!(again.config, cases[1].config);
    assert_eq!(again.measured().count(), 1);

    // --filter runs a subset and keeps the other rows of the summary.
    let result = sweep(&[
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--filter",
        "rtt=0ms",
        "--repetitions",
        "1",
    ]);
    assert!(result.status.success());
    let summary: Summary = read(&out.join("summary.json"));
    assert_eq!(summary.cases.len(), 2, "both rows are still there");
    assert_eq!((summary.cases[0].ok, summary.cases[1].ok), (1, 2));
}

#[test]
fn a_missing_peer_fails_its_cases_with_a_clear_message() {
    let tmp = TempDir::new("missing-peer");
    let config = tmp.0.join("peer.toml");
    std::fs::write(
        &config,
        "repetitions = 1\n[matrix]\npeer = [\"rust\", \"ours\"]\nupload = \"1MiB\"\n",
    )
    .unwrap();
    let out = tmp.0.join("out");
    let empty = tmp.0.join("no-peers-here");
    let result = sweep(&[
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--interop-dir",
        empty.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        !result.status.success(),
        "failed runs make the exit code non-zero"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary: Summary = read(&out.join("summary.json"));
    let rust = summary
        .cases
        .iter()
        .find(|r| r.config.peer == "rust")
        .unwrap();
    assert_eq!((rust.ok, rust.failed), (0, 1));
    assert!(
        rust.errors[0].contains("is not built; run `interop/build.sh rust`"),
        "{:?}",
        rust.errors
    );
    let ours = summary
        .cases
        .iter()
        .find(|r| r.config.peer == "ours")
        .unwrap();
    assert_eq!((ours.ok, ours.failed), (1, 0), "the sweep went on");
}

#[test]
fn bad_configs_are_rejected_before_anything_runs() {
    let tmp = TempDir::new("bad");
    for (name, text, expected) in [
        (
            "unknown.toml",
            "[matrix]\nrtts = \"1ms\"\n",
            "unknown field `rtts`",
        ),
        (
            "value.toml",
            "[matrix]\nupload = \"lots\"\n",
            "matrix.upload",
        ),
        (
            "nothing.toml",
            "[matrix]\nrtt = \"1ms\"\n",
            "nothing to measure",
        ),
    ] {
        let path = tmp.0.join(name);
        std::fs::write(&path, text).unwrap();
        let out = tmp.0.join("out");
        let result = sweep(&[path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{name}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: nothing written");
    }
    let result = sweep(&["bench-configs/smoke.toml", "--filter", "no-such-case"]);
    assert!(String::from_utf8_lossy(&result.stderr).contains("no case"));
}

/// Pids whose parent is `pid` (from /proc/<pid>/task/*/children).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether `pid` still runs (a zombie waiting for a reaper does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim().to_string()))
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

#[test]
fn sigterm_stops_the_sweep_and_kills_its_server_and_client() {
    let tmp = TempDir::new("sigterm");
    let config = tmp.0.join("slow.toml");
    // 256 KiB at 50 ms moves about 3 MB/s: this would take half a minute.
    std::fs::write(
        &config,
        "repetitions = 1\n[matrix]\nrtt = \"50ms\"\nmax_window = \"256KiB\"\ndownload = \"96MiB\"\n",
    )
    .unwrap();
    let mut cmd = yamux_perf();
    cmd.args(["sweep", config.to_str().unwrap(), "--no-progress", "--out"])
        .arg(tmp.0.join("out"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut sweep = ChildGuard(cmd.spawn().unwrap());
    let pid = sweep.0.id();
    // Wait for both the server and the client.
    let start = std::time::Instant::now();
    let mut kids = Vec::new();
    while start.elapsed() < Duration::from_secs(30) {
        kids = children(pid);
        if kids.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(kids.len() >= 2, "server and client started: {kids:?}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = start.elapsed();
    let status = loop {
        if let Some(status) = sweep.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() - exited < Duration::from_secs(10),
            "the sweep ends promptly on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut sweep.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    std::thread::sleep(Duration::from_millis(500));
    for kid in kids {
        assert!(!running(kid), "child {kid} of the sweep outlived it");
    }
}

/// `sweep --server`: the runs dial a server this sweep did not start (directly, and through the
/// relay for a rate), record it and the server-side flags they could not apply, and leave it
/// serving; a case the remote server cannot serve is refused before any run.
#[test]
fn a_sweep_against_a_remote_server_dials_it_and_records_what_it_did_not_apply() {
    let dir = TempDir::new("remote");
    let mut server = our_server(&[], "info");
    let config = dir.0.join("remote.toml");
    std::fs::write(
        &config,
        "repetitions = 1\n[matrix]\nrate = [\"none\", \"200Mbit\"]\nmax_window = \"4MiB\"\nupload = \"2MiB\"\ndownload = \"2MiB\"\n",
    )
    .unwrap();
    let out_dir = dir.0.join("out");
    let out = sweep(&[
        config.to_str().unwrap(),
        "--server",
        &server.addr,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "sweep failed: {}", stderr_of(&out));
    let mut seen = 0;
    for entry in std::fs::read_dir(out_dir.join("cases")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let case: CaseResult = read(&path);
        let run = &case.runs[0];
        assert!(run.ok, "{:?} {:?}", run.error, run.stderr_tail);
        assert!(run.server_command.is_empty(), "{:?}", run.server_command);
        assert!(
            run.server_usage.is_none(),
            "no server process of ours to read"
        );
        let remote = run
            .remote_server
            .as_ref()
            .expect("the remote server is named");
        assert_eq!(remote.address, server.addr);
        assert_eq!(run.server_addr.as_deref(), Some(server.addr.as_str()));
        assert!(
            remote.flags_not_applied.iter().any(|f| f == "--max-window"),
            "{:?}",
            remote.flags_not_applied
        );
        let dialled = run
            .client_command
            .iter()
            .skip_while(|a| *a != "--server")
            .nth(1)
            .unwrap();
        match case.config.rate_bits_per_second {
            Some(_) => {
                let relay = run.relay.as_ref().expect("a rate runs through the relay");
                assert_ne!(dialled, &server.addr, "the client dials the relay");
                assert!(relay.rate_bits_per_second.is_some(), "{relay:?}");
            }
            None => assert_eq!(dialled, &server.addr),
        }
        seen += 1;
    }
    assert_eq!(seen, 2);
    assert!(server.is_running(), "the remote server serves on");

    // A case over WebSocket against a TCP address, and a case naming another server: refused
    // with the reason, before any run.
    for (matrix, needle) in [
        ("transport = \"ws\"", "runs over ws"),
        ("peer = \"go\"", "names peer \"go\""),
    ] {
        std::fs::write(&config, format!("[matrix]\nupload = \"1MiB\"\n{matrix}\n")).unwrap();
        let out = sweep(&[config.to_str().unwrap(), "--server", &server.addr]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains(needle), "{}", stderr_of(&out));
    }
}
