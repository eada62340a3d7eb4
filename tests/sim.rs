//! `engine = "sim"`: the simulated sweep is deterministic, refuses what it cannot model, and
//! its goodput and RTT are what the link and the windows allow.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use yamux_perf::results::{CaseResult, Engine, Summary};
use yamux_perf::sim::{self, SimSpec, link::LinkConfig};
use yamux_perf::sweep::config::{ConfigError, load};
use yamux_perf::sweep::host::HostFacts;
use yamux_perf::yamux::Config;

const MIB: u64 = 1 << 20;

/// A small sim matrix: both accountings and both rules, a fixed window, a rate-limited case.
const CONFIG: &str = r#"
engine = "sim"
repetitions = 3
[matrix]
rtt = ["20ms", "50ms"]
max_window = ["1MiB", "4MiB"]
autotune = [true, false]
window_accounting = ["full", "go"]
autotune_rule = ["go", "ramp"]
upload = "8MiB"
download = "8MiB"
streams = [1, 2]
[[override]]
when = { autotune = false }
set = { initial_window = "max_window" }
[[override]]
when = { rtt = "20ms", streams = 2 }
set = { rate = "200Mbit" }
[[exclude]]
autotune = false
window_accounting = "go"
[[exclude]]
autotune = false
autotune_rule = "ramp"
"#;

fn sweep(config: &Path, cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yamux-perf"))
        .current_dir(cwd)
        .args(["sweep", &config.display().to_string(), "--out", "out"])
        .arg("--no-progress")
        .output()
        .expect("running yamux-perf sweep")
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Two runs of the same sweep write byte-identical case files; the summaries differ at most in
/// the machine and the revision.
#[test]
fn two_runs_write_byte_identical_case_files() {
    let tmp = std::env::temp_dir().join(format!("yamux-perf-sim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let config = tmp.join("sim-small.toml");
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    for dir in [&a, &b] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&config, CONFIG).unwrap();
    for dir in [&a, &b] {
        let out = sweep(&config, dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (fa, fb) = (files(&a.join("out/cases")), files(&b.join("out/cases")));
    let cases: Vec<&(String, Vec<u8>)> = fa
        .iter()
        .filter(|(n, _)| n.matches('.').count() == 1)
        .collect();
    assert!(cases.len() >= 20, "{} case files", cases.len());
    assert!(fa.iter().any(|(n, _)| n.ends_with(".rep1.window.jsonl")));
    assert!(fa.iter().any(|(n, _)| n.ends_with(".interval_mbit_s.hgrm")));
    assert_eq!(
        fa.iter().map(|f| &f.0).collect::<Vec<_>>(),
        fb.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs between two runs");
    }
    // The case files say what made them and leave out what would differ.
    for (_, bytes) in cases {
        let case: CaseResult = serde_json::from_slice(bytes).unwrap();
        assert_eq!(case.plan.engine, Engine::Sim);
        assert_eq!((case.plan.repetitions, case.runs.len()), (1, 1));
        assert!(
            case.notes
                .iter()
                .any(|n| n.contains("one run stands for the 3"))
        );
        assert!(
            case.model
                .as_deref()
                .unwrap()
                .contains("congestion control")
        );
        assert!(case.machine.is_none() && case.git.is_none() && case.started_unix_s.is_none());
        let run = &case.runs[0];
        assert!(run.ok, "{:?}", run.error);
        assert!(run.wall_seconds.is_none() && run.server_usage.is_none());
        let report = run.client.as_ref().unwrap();
        assert!(report.process.is_none() && report.connect_ms.is_none());
        assert_eq!(
            report.total.download.bytes,
            case.config.download_bytes * u64::from(case.config.streams)
        );
    }
    let summary = |dir: &Path| -> Summary {
        serde_json::from_slice(&std::fs::read(dir.join("out/summary.json")).unwrap()).unwrap()
    };
    let (mut sa, mut sb) = (summary(&a), summary(&b));
    assert_eq!(sa.engine, Engine::Sim);
    assert!(
        sa.machine.is_some(),
        "the summary names the machine it ran on"
    );
    assert!(
        sa.cases
            .iter()
            .all(|r| r.client_cpu_s.is_none() && r.ok == 1)
    );
    for s in [&mut sa, &mut sb] {
        s.machine = None;
        s.git = None;
    }
    assert_eq!(sa, sb);
    let _ = std::fs::remove_dir_all(&tmp);
}

fn refusal(text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("yamux-perf-sim-refuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("refused.toml");
    std::fs::write(&path, text).unwrap();
    let result = load(&path, &HostFacts::default());
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(e @ ConfigError::NotSimulated { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn keys_the_sim_cannot_model_are_refused_by_name() {
    let base = "engine = \"sim\"\n[matrix]\nrtt = \"10ms\"\nupload = \"1MiB\"\n";
    let e = refusal(&format!("{base}security = [\"noise\", \"tls\"]\n"));
    assert!(
        e.contains("matrix.security") && e.contains("no security layer"),
        "{e}"
    );
    let e = refusal(&format!(
        "{base}[[override]]\nwhen = {{ rtt = \"10ms\" }}\nset = {{ send_buffer = \"1MiB\" }}\n"
    ));
    assert!(e.contains("override[0].set.send_buffer"), "{e}");
    let e = refusal(&format!("{base}peer = \"go\"\n"));
    assert!(
        e.contains("peer (case") && e.contains("no foreign server"),
        "{e}"
    );
    let e = refusal("engine = \"sim\"\n[matrix]\nupload = \"1MiB\"\n");
    assert!(
        e.contains("rtt") && e.contains("zero simulated time"),
        "{e}"
    );
    let e = refusal(&format!("{base}connections = 2\n"));
    assert!(e.contains("connections"), "{e}");
    // The relay engine takes all of them.
    let dir = std::env::temp_dir().join(format!("yamux-perf-sim-relay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("relay.toml");
    std::fs::write(
        &path,
        base.replace("engine = \"sim\"", "engine = \"relay\"") + "security = \"tls\"\n",
    )
    .unwrap();
    let sweep = load(&path, &HostFacts::default()).unwrap();
    assert_eq!(sweep.plan.engine, Engine::Relay);
    let _ = std::fs::remove_dir_all(&dir);
}

fn spec(rtt_ms: u64, rate: Option<u64>, window: u64, autotune: bool, bytes: u64) -> SimSpec {
    let config = Config {
        autotune,
        ..Config::default()
    }
    .with_sizes(if autotune { 256 << 10 } else { window }, window, 64 << 10)
    .unwrap();
    SimSpec {
        link: LinkConfig {
            rtt: Duration::from_millis(rtt_ms),
            rate_bits_per_second: rate,
            queue: 4 << 20,
        },
        client: config.clone(),
        server: config,
        streams: 1,
        upload: 0,
        download: bytes,
        interval: Duration::from_millis(100),
        time_limit: Duration::from_secs(600),
    }
}

/// A fixed window W on a link without a rate moves between W/(2 RTT) (an update brings back at
/// least half a window per round trip) and W/RTT (never more than a window per round trip);
/// the yamux ping measures the link's RTT exactly. A clock or link off by a factor of two
/// fails one of the bounds.
#[test]
fn window_limited_goodput_is_between_half_and_one_window_per_rtt() {
    for (rtt_ms, window) in [(10, MIB), (50, MIB), (100, 4 * MIB), (50, 16 * MIB)] {
        let run = sim::run(&spec(rtt_ms, None, window, false, 64 * MIB)).unwrap();
        let rtt = rtt_ms as f64 / 1e3;
        let goodput = run.report.total.download.bits_per_second;
        let (low, high) = (window as f64 * 8.0 / (2.0 * rtt), window as f64 * 8.0 / rtt);
        assert!(
            (low..=high).contains(&goodput),
            "{rtt_ms} ms, window {window}: {goodput} bit/s outside {low}..{high}"
        );
        assert_eq!(
            run.report.rtt_ms,
            Some(rtt_ms as f64),
            "the ping sees the RTT"
        );
        // Time to first byte with nothing to upload: the proposal's round trip (our client
        // half-closes once the listener's echo is back), the FIN's way there and the first
        // byte's way back: 2 RTT.
        let ttfb = run.report.total.time_to_first_byte_ms;
        assert!((ttfb - 2.0 * rtt_ms as f64).abs() < 1e-6, "{ttfb} ms");
    }
}

/// A rate below what the window allows is the limit: goodput is the rate less yamux's header
/// bytes (12 per 65 524-byte frame) and the window updates, counted (as the perf client does)
/// from the first byte's arrival, i.e. after the first batch's serialization: at most one
/// batch (64 KiB) more than the rate allows.
#[test]
fn a_rate_limited_link_delivers_its_rate() {
    let (rate, bytes) = (100_000_000, 32 * MIB);
    let run = sim::run(&spec(10, Some(rate), 16 * MIB, false, bytes)).unwrap();
    let goodput = run.report.total.download.bits_per_second;
    let ratio = goodput / rate as f64;
    let first_batch = 1.0 + sim::link::CHUNK as f64 / bytes as f64;
    assert!(
        (0.995..=first_batch).contains(&ratio),
        "{goodput} bit/s at {rate}"
    );
    // Half the rate halves it: the link, not something else, is the limit.
    let half = sim::run(&spec(10, Some(rate / 2), 16 * MIB, false, bytes)).unwrap();
    let ratio = half.report.total.download.bits_per_second / goodput;
    assert!((0.499..=0.501).contains(&ratio), "{ratio}");
}

/// go's rule doubles once per RTT while the sender is window-limited: from 256 KiB to 16 MiB
/// is six doublings one RTT apart, the first at the first download byte (2 RTT in: the
/// proposal's round trip, then the FIN's way there and the data's way back). The ramp rule
/// quadruples when the previous update is younger than 2 RTT (not yet at the first update, 2 RTT
/// after the stream's opening): ×2, ×4, ×4, then ×2 to the cap, two RTTs sooner.
#[test]
fn window_ramps_go_and_ours_in_rtts() {
    for (rule, windows) in [
        (
            yamux_perf::yamux::AutotuneRule::Go,
            vec![1, 2, 4, 8, 16, 32, 64],
        ),
        (yamux_perf::yamux::AutotuneRule::Ramp, vec![1, 2, 8, 32, 64]),
    ] {
        let mut spec = spec(50, None, 16 * MIB, true, 256 * MIB);
        spec.client.autotune_rule = rule;
        spec.server.autotune_rule = rule;
        let run = sim::run(&spec).unwrap();
        let growth: Vec<(f64, u64)> = run
            .trace
            .iter()
            .filter_map(|(_, e)| match e {
                yamux_perf::yamux::TraceEvent::RecvWindow {
                    t,
                    window,
                    doubled: true,
                    ..
                } => Some((t.as_secs_f64() * 1e3, u64::from(*window))),
                _ => None,
            })
            .collect();
        let expected: Vec<(f64, u64)> = windows[1..]
            .iter()
            .enumerate()
            .map(|(i, w)| (100.0 + 50.0 * i as f64, w * 256 * 1024))
            .collect();
        assert_eq!(growth, expected, "{rule:?}");
    }
}

/// A case that cannot finish within the plan's timeout fails with a clear error, in simulated
/// time (no wall-clock wait, no hang).
#[test]
fn a_run_past_its_time_limit_fails_with_what_it_moved() {
    let mut slow = spec(100, None, 256 << 10, false, 64 * MIB);
    slow.time_limit = Duration::from_secs(1);
    let error = sim::run(&slow).unwrap_err();
    match &error {
        sim::SimError::TimeLimit { downloaded, .. } => {
            assert!(*downloaded > 0 && *downloaded < 64 * MIB, "{error}")
        }
        other => panic!("expected a time limit, got {other:?}"),
    }
    assert!(error.to_string().contains("simulated time"), "{error}");
}
