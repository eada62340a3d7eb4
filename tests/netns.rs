//! `hosts = "netns"` end to end: a sweep through the binary puts server and client in two real
//! network namespaces joined by a veth pair, with tbf for the rate; the results name the hosts,
//! the rate holds, and the namespaces are gone afterwards. Needs root (namespaces and qdiscs):
//! skipped, with a line saying so, where the tests do not run as root.

mod common;

use std::time::Duration;

use common::*;
use yamux_perf::results::CaseResult;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn namespaces() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const RATE: f64 = 100e6;

#[test]
fn a_sweep_between_two_namespaces_is_rate_limited_by_tbf_and_names_its_hosts() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let dir = std::env::temp_dir().join(format!("yamux-perf-netns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("netns.toml");
    std::fs::write(
        &config,
        "repetitions = 1\n[matrix]\nrate = [\"none\", \"100Mbit\"]\nupload = \"4MiB\"\ndownload = \"4MiB\"\n",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let mut cmd = yamux_perf();
    cmd.arg("sweep")
        .arg(&config)
        .arg("--netns")
        .arg("--out")
        .arg(&out_dir)
        .arg("--no-progress");
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(out.status.success(), "sweep failed: {}", stderr_of(&out));

    let mut seen = 0;
    for entry in std::fs::read_dir(out_dir.join("cases")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let case: CaseResult =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(case.label.contains("hosts=netns"), "{}", case.label);
        let run = &case.runs[0];
        assert!(run.ok, "{:?} {:?}", run.error, run.stderr_tail);
        let testbed = run.testbed.as_ref().expect("the run names its test hosts");
        assert_eq!(testbed.server.address, "10.77.0.1");
        assert!(
            run.server_addr
                .as_deref()
                .unwrap()
                .starts_with("/ip4/10.77.0.1/tcp/"),
            "the client dialled the server host: {:?}",
            run.server_addr
        );
        assert_eq!(
            run.server_command[..4],
            ["ip", "netns", "exec", &testbed.server.namespace]
        );
        assert_eq!(
            run.client_command[..4],
            ["ip", "netns", "exec", &testbed.client.namespace]
        );
        assert!(run.relay.is_none(), "tbf, not the relay, sets the rate");
        assert!(
            run.server_usage
                .as_ref()
                .is_some_and(|u| u.peak_rss_bytes > 0),
            "the server's usage is read through ip netns exec: {:?}",
            run.server_usage
        );
        let list = namespaces();
        for ns in [&testbed.server.namespace, &testbed.client.namespace] {
            assert!(!list.contains(ns.as_str()), "{ns} was deleted: {list}");
        }
        let down = run.download_gbit_s().unwrap() * 1e9;
        match (case.config.rate_bits_per_second, &testbed.tbf) {
            (Some(rate), Some(tbf)) => {
                assert_eq!(tbf.rate_bits_per_second, rate);
                // Goodput below the link rate (headers), and not far below it.
                assert!(
                    down < RATE && down > 0.8 * RATE,
                    "download {down} bit/s through tbf at {RATE}"
                );
            }
            (None, None) => assert!(down > 10.0 * RATE, "no limit: {down} bit/s"),
            other => panic!("rate and tbf disagree: {other:?}"),
        }
        seen += 1;
    }
    assert_eq!(seen, 2);
    let _ = std::fs::remove_dir_all(&dir);
}
