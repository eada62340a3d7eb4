//! Fairness between the streams of one connection (`client --streams N`): per-stream bytes per
//! interval and Jain's index in the report, `--stagger` and `--short-flows` (flow completion
//! times), and their bad input refused with exit 2.

mod common;

use common::*;
use serde_json::Value;

fn report_of(name: &str, server: &str, download: u64, extra: &[&str]) -> Value {
    let dir = ScratchDir::new(name);
    let path = dir.0.join("report.json");
    let mut args = vec!["--report", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = our_client(server, 0, download, &args);
    assert!(out.status.success(), "{}", stderr_of(&out));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Fixed, equal receive windows (`--no-autotune`): the sender's round robin alone decides the
/// shares, so the index holds even on a loaded 2-core machine. With auto-tuning each stream's
/// window grows on its own reader's timing, and under CPU contention one stream can reach a far
/// larger window than its siblings (Jain 0.85 seen on a loaded CI machine, 1.0 on the same
/// machine with fixed windows); that is measured in the sweep (docs/fairness.md), not asserted.
#[test]
fn sixteen_equal_streams_share_fairly_and_their_bytes_add_up() {
    const EACH: u64 = 32 << 20;
    let server = our_server(&[], "info");
    let report = report_of(
        "equal",
        &server.addr,
        EACH,
        &["--streams", "16", "--interval", "0.1", "--no-autotune"],
    );
    let fairness = &report["fairness"];
    assert_eq!(fairness["streams"], 16);
    let overall = fairness["jain_overall"].as_f64().unwrap();
    assert!(
        overall >= 0.95,
        "Jain's index over 16 equal streams with equal windows: {overall}"
    );
    let intervals = fairness["intervals"].as_array().unwrap();
    let mut sum = 0;
    for interval in intervals {
        let bytes = interval["stream_bytes"].as_array().unwrap();
        assert_eq!(bytes.len(), 16, "{interval}");
        sum += bytes.iter().map(|b| b.as_u64().unwrap()).sum::<u64>();
        if let Some(j) = interval["jain"].as_f64() {
            assert!(j > 0.0 && j <= 1.0 + 1e-9, "{interval}");
        }
    }
    assert_eq!(
        sum,
        16 * EACH,
        "the per-stream bytes add up to the transfer"
    );
    assert_eq!(
        report["total"]["download"]["bytes"].as_u64(),
        Some(16 * EACH)
    );
    assert_eq!(
        fairness["jain_per_interval"].as_array().unwrap().len(),
        intervals.len()
    );
}

#[test]
fn a_staggered_stream_is_not_counted_before_it_opens() {
    let server = our_server(&[], "info");
    let report = report_of(
        "stagger",
        &server.addr,
        64 << 20,
        &["--streams", "2", "--stagger", "300ms", "--interval", "0.05"],
    );
    let mut elapsed = 0.0;
    let mut first_alone = 0;
    for interval in report["fairness"]["intervals"].as_array().unwrap() {
        elapsed += interval["seconds"].as_f64().unwrap();
        // The ticker starts before the dial, so these end before the second stream opens.
        if elapsed < 0.28 {
            assert_eq!(interval["stream_bytes"][1], 0, "{interval}");
            assert_eq!(interval["counted"][1], false, "{interval}");
            assert!(
                interval["jain"].is_null(),
                "one stream has no index: {interval}"
            );
            first_alone += interval["stream_bytes"][0].as_u64().unwrap();
        }
    }
    assert!(first_alone > 0, "the first stream ran alone: {report}");
}

#[test]
fn short_flows_all_complete_during_a_bulk_download() {
    let server = our_server(&[], "info");
    let report = report_of(
        "short",
        &server.addr,
        2 << 30,
        &["--short-flows", "5:64KiB"],
    );
    let flows = &report["short_flows"];
    assert_eq!(flows["count"], 5);
    assert_eq!(flows["size_bytes"], 65536);
    assert_eq!(flows["fct_ms"]["n"], 5, "{flows}");
    assert_eq!(flows["samples_ms"].as_array().unwrap().len(), 5);
    let (p50, max) = (
        flows["fct_ms"]["p50"].as_f64().unwrap(),
        flows["fct_ms"]["max"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= max, "{flows}");
    assert_eq!(
        report["total"]["download"]["bytes"].as_u64(),
        Some(2 << 30),
        "short flows are not part of the bulk total"
    );
}

#[test]
fn bad_fairness_input_is_refused_with_exit_2() {
    for (args, says) in [
        (["--short-flows", "0:1KiB"], "at least 1"),
        (["--short-flows", "x"], "COUNT:SIZE"),
        (["--stagger", "-1s"], "invalid duration"),
    ] {
        let mut client = yamux_perf();
        client.args(["client", "--download", "1MiB"]).args(args);
        let out = run_with_timeout(client, std::time::Duration::from_secs(30));
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
