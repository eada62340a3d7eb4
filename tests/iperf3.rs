//! `client --json-format iperf3`: real runs against the in-process server whose `--report` and
//! `--json-only` documents have iperf3's `-J` shape, with the bytes and rates the run moved, and
//! a Python reader written the way iperf3 scripts read it.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::*;
use serde_json::Value;
use yamux_perf::perf::iperf3::Document;

const MIB: u64 = 1 << 20;

fn client(args: &[&str]) -> Output {
    let mut cmd = yamux_perf();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd.args(["client", "--no-progress", "--timeout", "100"]);
    cmd.args(args);
    run_with_timeout(cmd, Duration::from_secs(120))
}

fn unix_now() -> u64 {
    yamux_perf::units::unix_seconds(SystemTime::now())
}

/// `bits_per_second` is `bytes × 8 / seconds` (0 for no time).
fn assert_rate(sum: &Value) {
    let (bytes, seconds) = (
        sum["bytes"].as_u64().unwrap(),
        sum["seconds"].as_f64().unwrap(),
    );
    let bps = sum["bits_per_second"].as_f64().unwrap();
    if seconds > 0.0 {
        let want = bytes as f64 * 8.0 / seconds;
        assert!((bps - want).abs() <= want * 1e-12, "{sum}: {bps} vs {want}");
    } else {
        assert_eq!(bps, 0.0, "{sum}");
    }
}

#[test]
fn report_is_an_iperf3_document_of_the_run() {
    let scratch = ScratchDir::new("iperf3-report");
    let path = scratch.0.join("iperf3.json");
    let (upload, download, streams) = (16 * MIB, 4 * MIB, 2u64);
    let before = unix_now();
    let out = client(&[
        "--upload",
        "16MiB",
        "--download",
        "4MiB",
        "--streams",
        "2",
        "--interval",
        "0.002",
        "--json-format",
        "iperf3",
        "--report",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    // stdout keeps its test-plans lines; the format changes the report only.
    assert_final(&out.stdout, upload * streams, download * streams);
    let text = std::fs::read_to_string(&path).unwrap();
    let typed: Document = serde_json::from_str(&text).expect("our iperf3 type reads it back");
    let doc: Value = serde_json::from_str(&text).unwrap();

    let start = &doc["start"];
    let t = start["timestamp"]["timesecs"].as_u64().unwrap();
    assert!(before <= t && t <= unix_now(), "{t}");
    assert!(
        start["timestamp"]["time"]
            .as_str()
            .unwrap()
            .ends_with(" UTC"),
        "{start}"
    );
    assert_eq!(start["connecting_to"]["host"], "127.0.0.1");
    assert!(start["connecting_to"]["port"].as_u64().unwrap() > 0);
    assert_eq!(start["test_start"]["protocol"], "TCP");
    assert_eq!(start["test_start"]["num_streams"], streams);
    assert_eq!(start["test_start"]["bytes"], upload * streams);

    let end = &doc["end"];
    let (sent, received) = (&end["sum_sent"], &end["sum_received"]);
    assert_eq!(sent["bytes"], upload * streams, "{sent}");
    assert_eq!(sent["sender"], true);
    assert_eq!(received["bytes"], download * streams, "{received}");
    assert_eq!(received["sender"], false);
    for sum in [sent, received] {
        assert!(sum["seconds"].as_f64().unwrap() > 0.0, "{sum}");
        assert_rate(sum);
        let (s, e) = (sum["start"].as_f64().unwrap(), sum["end"].as_f64().unwrap());
        assert!(
            (e - s - sum["seconds"].as_f64().unwrap()).abs() < 1e-9,
            "{sum}"
        );
    }
    // The download starts with the first stream's first download byte, by when that stream's
    // upload was in; the last stream's upload may end later.
    let down_start = received["start"].as_f64().unwrap();
    assert!(
        down_start > 0.0 && down_start <= sent["end"].as_f64().unwrap(),
        "{end}"
    );
    let end_streams = end["streams"].as_array().unwrap();
    assert_eq!(end_streams.len() as u64, streams);
    for s in end_streams {
        assert_eq!(s["sender"]["bytes"], upload);
        assert_eq!(s["receiver"]["bytes"], download);
        assert_rate(&s["sender"]);
        assert_rate(&s["receiver"]);
    }
    let cpu = &end["cpu_utilization_percent"];
    let (total, user, system) = (
        cpu["host_total"].as_f64().unwrap(),
        cpu["host_user"].as_f64().unwrap(),
        cpu["host_system"].as_f64().unwrap(),
    );
    // CPU time comes in clock ticks: a short run may see none, never a negative count.
    assert!(user >= 0.0 && system >= 0.0, "{cpu}");
    assert!((total - user - system).abs() < 1e-9, "{cpu}");
    assert!(
        cpu.get("remote_total").is_none(),
        "the server's CPU is not measured"
    );

    // Intervals: contiguous, upload in `sum`, download in `sum_bidir_reverse`, never more than
    // the run moved (the tail after the last tick is in no interval).
    let intervals = doc["intervals"].as_array().unwrap();
    assert!(!intervals.is_empty(), "a 40 MiB run spans 2 ms intervals");
    let (mut t, mut up, mut down) = (0.0, 0, 0);
    for i in intervals {
        let (sum, reverse) = (&i["sum"], &i["sum_bidir_reverse"]);
        assert_eq!(sum["start"].as_f64().unwrap(), t, "{i}");
        t = sum["end"].as_f64().unwrap();
        assert_eq!(
            (sum["sender"].as_bool(), reverse["sender"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(reverse["seconds"], sum["seconds"]);
        assert_rate(sum);
        assert_rate(reverse);
        up += sum["bytes"].as_u64().unwrap();
        down += reverse["bytes"].as_u64().unwrap();
    }
    assert!(up <= upload * streams && down <= download * streams);
    assert!(up + down > 0, "the intervals saw the transfer");
    assert_eq!(typed.intervals.len(), intervals.len());

    // What an iperf3 script does with it.
    let python = Command::new("python3").arg("--version").output();
    if python.map(|o| o.status.success()).unwrap_or(false) {
        let script = r#"
import json, sys
with open(sys.argv[1]) as f:
    data = json.load(f)
end = data["end"]
print(end["sum_sent"]["bits_per_second"])
print(end["sum_received"]["bits_per_second"])
print(end["cpu_utilization_percent"]["host_total"])
print(sum(i["sum"]["bytes"] for i in data["intervals"]))
print(data["start"]["test_start"]["num_streams"])
"#;
        let out = Command::new("python3")
            .args(["-c", script, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        let got: Vec<f64> = text.lines().map(|l| l.parse().unwrap()).collect();
        let want = [
            sent["bits_per_second"].as_f64().unwrap(),
            received["bits_per_second"].as_f64().unwrap(),
            total,
            up as f64,
            streams as f64,
        ];
        // serde_json's default float parser may land one ulp from the correctly rounded value
        // that Python (and `str::parse`) give for the same digits: compare to 1e-12 relative.
        assert_eq!(got.len(), want.len(), "python3 printed {text}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "python3 reads what we wrote: {got:?} vs {want:?}"
            );
        }
    } else {
        eprintln!("python3 not found: the Python reader is not run");
    }
}

#[test]
fn json_only_prints_the_iperf3_document_of_one_way_runs() {
    // Download only: the intervals carry the download in `sum`, as `iperf3 -R` does.
    let out = client(&[
        "--download",
        "8MiB",
        "--interval",
        "0.002",
        "--json-format",
        "iperf3",
        "--json-only",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "--json-only: nothing on stderr");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["end"]["sum_received"]["bytes"], 8 * MIB);
    assert_rate(&doc["end"]["sum_received"]);
    assert_eq!(doc["end"]["sum_sent"]["bytes"], 0);
    assert_eq!(doc["end"]["sum_sent"]["bits_per_second"], 0.0);
    for i in doc["intervals"].as_array().unwrap() {
        assert_eq!(i["sum"]["sender"], false, "{i}");
        assert!(i.get("sum_bidir_reverse").is_none(), "{i}");
    }

    // Upload only over bare TCP.
    let out = client(&[
        "--stack",
        "tcp",
        "--upload",
        "4MiB",
        "--json-format",
        "iperf3",
        "--json-only",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["end"]["sum_sent"]["bytes"], 4 * MIB);
    assert_rate(&doc["end"]["sum_sent"]);
    assert_eq!(doc["start"]["test_start"]["num_streams"], 1);
}

#[test]
fn iperf3_format_refuses_runs_it_cannot_describe() {
    for mode in [
        &["--latency", "5"][..],
        &["--ping", "5"],
        &["--churn", "10"],
    ] {
        let out = client(&[mode, &["--json-format", "iperf3"]].concat());
        assert_eq!(out.status.code(), Some(2), "{mode:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("--json-format iperf3 describes a throughput run"),
            "{mode:?}: {}",
            stderr_of(&out)
        );
    }
    let out = client(&["--upload", "1MiB", "--json-format", "iperf2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("ours, iperf3"),
        "{}",
        stderr_of(&out)
    );
}
