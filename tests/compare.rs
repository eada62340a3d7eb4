//! `yamux-perf compare` and `yamux-perf report` through the binary: synthetic results built from
//! the committed go-vs-ours summary (a regression is caught, an improvement and noise inside the
//! spread are not, missing cases are reported), exit codes, every output format parsed back, and
//! reports rendered from the committed results.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;
use yamux_perf::compare::render::{BenchmarkEntry, Bmf};
use yamux_perf::compare::{Comparison, MatchedBy, Metric, Verdict};
use yamux_perf::interop::InteropFile;
use yamux_perf::report::BenchmarkResults;
use yamux_perf::results::{Spread, Summary};

fn run(args: &[&str]) -> Output {
    let mut cmd = yamux_perf();
    cmd.args(args).current_dir(repo_root());
    run_with_timeout(cmd, Duration::from_secs(60))
}

fn committed_summary() -> Summary {
    let text = std::fs::read_to_string(repo_root().join("results/go-vs-ours/summary.json"))
        .expect("committed go-vs-ours summary");
    serde_json::from_str(&text).expect("it parses")
}

fn spread(values: &[f64]) -> Option<Spread> {
    Spread::of(values.iter().copied())
}

fn write_summary(dir: &Path, summary: &Summary) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(summary).unwrap(),
    )
    .unwrap();
    dir.to_path_buf()
}

/// Baseline: the first four committed cases with known spreads. Current: case 0 uploads at half
/// the rate (regression), case 1 downloads 50% faster (improvement), case 2 is 10% slower but
/// inside the spread (noise), case 3 is gone, and a new case appears.
fn synthetic(scratch: &Path) -> (PathBuf, PathBuf, Summary) {
    let mut base = committed_summary();
    base.cases.truncate(5);
    for row in &mut base.cases {
        row.upload_gbit_s = spread(&[2.0, 2.1, 1.9]);
        row.download_gbit_s = spread(&[3.0, 3.1, 2.9]);
    }
    let mut cur = base.clone();
    cur.cases[0].upload_gbit_s = spread(&[1.0, 1.05, 0.95]);
    cur.cases[1].download_gbit_s = spread(&[4.5, 4.6, 4.4]);
    cur.cases[2].upload_gbit_s = spread(&[1.8, 2.05, 1.6]);
    cur.cases.remove(3);
    // Case 4 is only in the current results.
    base.cases.remove(4);
    let base_dir = write_summary(&scratch.join("base"), &base);
    let cur_dir = write_summary(&scratch.join("cur"), &cur);
    (base_dir, cur_dir, base)
}

fn comparison_json(out: &Output) -> Comparison {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "compare --format json prints a Comparison: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn row<'a>(c: &'a Comparison, case: &str, metric: Metric) -> &'a yamux_perf::compare::Row {
    c.rows
        .iter()
        .find(|r| r.case == case && r.metric == metric)
        .unwrap_or_else(|| panic!("row {case} {metric}"))
}

#[test]
fn regression_is_caught_improvement_and_noise_are_not() {
    let scratch = ScratchDir::new("compare-synthetic");
    let (base, cur, summary) = synthetic(&scratch.0);
    let out = run(&[
        "compare",
        base.to_str().unwrap(),
        cur.to_str().unwrap(),
        "--threshold",
        "5%",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("regression"));
    let c = comparison_json(&out);
    let ids: Vec<&str> = summary.cases.iter().map(|r| r.id.as_str()).collect();
    let regressed = row(&c, ids[0], Metric::UploadGbitS);
    assert_eq!(regressed.verdict, Verdict::Regressed);
    assert!((regressed.ratio.unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(
        row(&c, ids[1], Metric::DownloadGbitS).verdict,
        Verdict::Improved
    );
    let noise = row(&c, ids[2], Metric::UploadGbitS);
    assert_eq!(noise.verdict, Verdict::Unchanged);
    assert!(noise.note.as_deref().unwrap().contains("inside the spread"));
    // Unchanged metrics of the same case stay unchanged.
    assert_eq!(
        row(&c, ids[1], Metric::UploadGbitS).verdict,
        Verdict::Unchanged
    );
    // Case 3 of the baseline is gone: every metric it had is missing.
    let gone = row(&c, ids[3], Metric::UploadGbitS);
    assert_eq!(
        (gone.verdict, gone.matched_by),
        (Verdict::Missing, MatchedBy::Unmatched)
    );
    assert_eq!(c.count(Verdict::Regressed), 1);
    assert_eq!(c.count(Verdict::Improved), 1);
    assert!(c.missing_in_current() > 0);

    // Without the regressed metric: exit 0, or 3 when missing cases must fail.
    let without = [
        "compare",
        base.to_str().unwrap(),
        cur.to_str().unwrap(),
        "--metrics",
        "download_gbit_s,latency_p50_ms",
    ];
    let out = run(&without);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = run(&[&without[..], &["--fail-on-missing"]].concat());
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));

    // A threshold above the change hides the regression.
    let out = run(&[
        "compare",
        base.to_str().unwrap(),
        cur.to_str().unwrap(),
        "--threshold",
        "150%",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn results_against_themselves_are_unchanged() {
    let out = run(&[
        "compare",
        "results/go-vs-ours",
        "results/go-vs-ours/summary.json",
        "--threshold",
        "0%",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let c = comparison_json(&out);
    assert!(!c.rows.is_empty());
    for r in &c.rows {
        assert_eq!(r.verdict, Verdict::Unchanged, "{r:?}");
        assert_eq!(r.matched_by, MatchedBy::Id);
        assert_eq!(r.ratio, Some(1.0));
    }
    // Every metric of a sweep with latency runs is compared (the muxer-added latency needs
    // `probe = "ping"` cases, Jain's index reports with a `fairness` object and the flow
    // completion times `short_flows` cases, which this committed sweep has none of; instruction
    // counts come from `yamux-perf icount` files, not sweeps).
    let probe_only = [
        Metric::MuxerAddedP50Ms,
        Metric::MuxerAddedP99Ms,
        Metric::JainOverall,
        Metric::JainMinAfterFirst,
        Metric::ShortFctP50Ms,
        Metric::ShortFctP99Ms,
        Metric::InstructionsPerByte,
        Metric::InstructionsPerOp,
    ];
    for m in Metric::ALL.into_iter().filter(|m| !probe_only.contains(m)) {
        assert!(c.rows.iter().any(|r| r.metric == m), "{m}");
    }
}

#[test]
fn cases_with_new_ids_match_by_parameters() {
    let scratch = ScratchDir::new("compare-ids");
    let base = committed_summary();
    let mut cur = base.clone();
    for r in &mut cur.cases {
        r.id = format!("new-{}", r.id);
    }
    let cur_dir = write_summary(&scratch.0.join("cur"), &cur);
    let out = run(&[
        "compare",
        "results/go-vs-ours",
        cur_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let c = comparison_json(&out);
    for r in &c.rows {
        assert_eq!(r.matched_by, MatchedBy::Params, "{r:?}");
        assert_eq!(r.baseline_case.as_deref(), r.case.strip_prefix("new-"));
    }
}

#[test]
fn bad_input_exits_2() {
    let scratch = ScratchDir::new("compare-bad");
    let not_json = scratch.0.join("x.json");
    std::fs::write(&not_json, "{ not json").unwrap();
    let other = scratch.0.join("other.json");
    std::fs::write(&other, r#"{"hello": 1}"#).unwrap();
    for (args, needle) in [
        (
            vec!["results/go-vs-ours", "/nonexistent/results"],
            "nonexistent",
        ),
        (
            vec!["results/go-vs-ours", not_json.to_str().unwrap()],
            "x.json",
        ),
        (
            vec!["results/go-vs-ours", other.to_str().unwrap()],
            "not a result",
        ),
        (
            vec!["results/go-vs-ours", "results/interop-2026-11-25.json"],
            "cannot compare sweep results with interop results",
        ),
        (
            vec!["results/go-vs-ours", "results/window-autotune"],
            "no case",
        ),
        (
            vec![
                "results/go-vs-ours",
                "results/go-vs-ours",
                "--threshold",
                "lots",
            ],
            "threshold",
        ),
        (
            vec![
                "results/go-vs-ours",
                "results/go-vs-ours",
                "--format",
                "github-action-benchmark",
            ],
            "--out",
        ),
    ] {
        let out = run(&[&["compare"][..], &args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains(needle),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
}

#[test]
fn interop_files_compare_by_pair() {
    let scratch = ScratchDir::new("compare-interop");
    let path = repo_root().join("results/interop-2026-11-25.json");
    let mut file: InteropFile =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // go->go uploads three times slower in every run.
    for r in file
        .runs
        .iter_mut()
        .filter(|r| r.client == "go" && r.server == "go")
    {
        if r.direction == yamux_perf::interop::Direction::Upload {
            r.bits_per_second = r.bits_per_second.map(|b| b / 3.0);
        }
    }
    let cur = scratch.0.join("cur.json");
    std::fs::write(&cur, serde_json::to_string(&file).unwrap()).unwrap();
    let out = run(&[
        "compare",
        path.to_str().unwrap(),
        cur.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let c = comparison_json(&out);
    let regressed: Vec<(&str, Metric)> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .map(|r| (r.case.as_str(), r.metric))
        .collect();
    assert_eq!(regressed, [("go->go", Metric::UploadGbitS)]);
}

/// Cells of a Markdown table line, `\|` not splitting.
fn md_cells(line: &str) -> usize {
    line.replace("\\|", "").matches('|').count() - 1
}

fn assert_markdown_tables(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let mut tables = 0;
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('|') {
            let cols = md_cells(lines[i]);
            assert!(cols >= 2, "{}", lines[i]);
            assert!(
                lines[i + 1].starts_with("|---") && md_cells(lines[i + 1]) == cols,
                "separator after {}",
                lines[i]
            );
            let mut j = i + 2;
            while j < lines.len() && lines[j].starts_with('|') {
                assert_eq!(md_cells(lines[j]), cols, "{}", lines[j]);
                assert!(lines[j].ends_with('|'), "{}", lines[j]);
                j += 1;
            }
            assert!(j > i + 2, "a table without rows at {}", lines[i]);
            tables += 1;
            i = j;
        } else {
            i += 1;
        }
    }
    assert!(tables > 0, "no table in:\n{text}");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn every_output_format_parses_back() {
    let scratch = ScratchDir::new("compare-formats");
    let (base, cur, _) = synthetic(&scratch.0);
    let args = |format: &str| {
        vec![
            "compare".to_string(),
            base.display().to_string(),
            cur.display().to_string(),
            "--format".into(),
            format.into(),
        ]
    };

    let table = run(&strs(&args("table")));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("REGRESSED") && text.contains("improved"),
        "{text}"
    );

    let md = run(&strs(&args("markdown")));
    let text = String::from_utf8_lossy(&md.stdout).into_owned();
    assert_markdown_tables(&text);
    assert!(text.contains("**REGRESSED**"), "{text}");

    let json = run(&strs(&args("json")));
    let c = comparison_json(&json);

    let dir = scratch.0.join("gab");
    let mut gab = args("github-action-benchmark");
    gab.extend(["--out".into(), dir.display().to_string()]);
    let out = run(&strs(&gab));
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let read = |name: &str| -> Vec<BenchmarkEntry> {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let bigger = read("customBiggerIsBetter.json");
    let smaller = read("customSmallerIsBetter.json");
    let with_current = c.rows.iter().filter(|r| r.current.is_some()).count();
    assert_eq!(bigger.len() + smaller.len(), with_current);
    assert!(bigger.iter().all(|e| e.unit == "Gbit/s"));
    assert!(smaller.iter().all(|e| e.unit != "Gbit/s") && !smaller.is_empty());
    let first = c
        .rows
        .iter()
        .find(|r| r.metric == Metric::UploadGbitS)
        .unwrap();
    let entry = bigger
        .iter()
        .find(|e| e.name.contains(&first.case) && e.name.ends_with("upload_gbit_s"))
        .unwrap();
    assert_eq!(entry.value, first.current.as_ref().unwrap().median);
    assert!(entry.range.as_deref().unwrap().starts_with("± "));
}

/// Bencher's metric format of the committed baseline against itself (how one result set is
/// exported): every case and metric the table shows, its current median as `value` and the
/// min and max of its repetitions as `lower_value` and `upper_value`; `--out FILE` writes the
/// same document instead of printing it and is checked before anything is read.
#[test]
fn bmf_exports_the_medians_of_the_committed_baseline() {
    let bmf_args = [
        "compare",
        "results/baseline",
        "results/baseline",
        "--format",
    ];
    let out = run(&[&bmf_args[..], &["bmf"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The BMF schema: an object of benchmarks, each an object of measures, each with a numeric
    // `value` and optional numeric `lower_value` and `upper_value`, nothing else.
    let benchmarks = doc.as_object().expect("an object of benchmarks");
    assert!(!benchmarks.is_empty());
    for (name, measures) in benchmarks {
        let measures = measures.as_object().expect("an object of measures");
        assert!(!measures.is_empty(), "{name}");
        for (slug, m) in measures {
            assert!(
                slug.len() <= 64,
                "a BMF slug is at most 64 characters: {slug}"
            );
            let m = m.as_object().unwrap();
            assert!(m["value"].is_number(), "{name} {slug}");
            for key in m.keys() {
                assert!(
                    ["value", "lower_value", "upper_value"].contains(&key.as_str()),
                    "{name} {slug}: {key}"
                );
                assert!(m[key].is_number(), "{name} {slug}: {key}");
            }
        }
    }
    let bmf: Bmf = serde_json::from_str(&text).unwrap();

    let json = run(&[&bmf_args[..], &["json"]].concat());
    let c = comparison_json(&json);
    let mut rows = 0;
    for r in c.rows.iter().filter(|r| r.current.is_some()) {
        let cur = r.current.as_ref().unwrap();
        let name = format!("{} [{}]", r.label, r.case);
        let m = &bmf[&name][r.metric.key()];
        assert_eq!(m.value, cur.median, "{name} {}", r.metric);
        if cur.n > 1 {
            assert_eq!(
                (m.lower_value, m.upper_value),
                (Some(cur.min), Some(cur.max))
            );
        } else {
            assert_eq!((m.lower_value, m.upper_value), (None, None));
        }
        rows += 1;
    }
    let measures: usize = bmf.values().map(|m| m.len()).sum();
    assert_eq!(measures, rows, "one measure per row with a current value");

    // The table prints the same medians: the first case's upload, to its 3 decimals.
    let table = run(&["compare", "results/baseline", "results/baseline"]);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let up = c
        .rows
        .iter()
        .find(|r| r.metric == Metric::UploadGbitS)
        .unwrap();
    let shown = format!(
        "{:.3} Gbit/s",
        bmf[&format!("{} [{}]", up.label, up.case)]["upload_gbit_s"].value
    );
    let line = table
        .lines()
        .find(|l| l.starts_with(&up.case) && l.contains("upload "))
        .expect("the table's upload row");
    assert!(line.contains(&shown), "{line} vs {shown}");

    let scratch = ScratchDir::new("compare-bmf");
    let file = scratch.0.join("bmf.json");
    let out = run(&[&bmf_args[..], &["bmf", "--out", file.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty(), "--out: nothing on stdout");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    let out = run(&[&bmf_args[..], &["bmf", "--out", "/nonexistent/bmf.json"]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("/nonexistent/bmf.json"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn report_renders_the_committed_results() {
    let out = run(&[
        "report",
        "results/go-vs-ours",
        "results/interop-2026-11-25.json",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_markdown_tables(&text);
    let summary = committed_summary();
    assert!(text.contains("Revision: `3d5391a`"), "{text}");
    assert!(text.contains("Machine: 2 cores of AMD EPYC"));
    assert!(text.contains("sweep bench-configs/go-vs-ours.toml"));
    for row in &summary.cases {
        assert!(text.contains(&row.id), "{}", row.id);
    }
    // The ours-vs-go table pairs equal configs: at 50 ms, full accounting, our server uploads
    // 0.894 Gbit/s vs go's 0.698: 1.28×.
    assert!(text.contains("**Our server vs go's**"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("| rtt=50ms") && l.contains("acct=full"))
        .expect("the 50 ms full-accounting pair");
    assert!(
        line.contains("| 0.894 (0.869–0.902) | 0.698 (0.687–0.714) | 1.28× |"),
        "{line}"
    );
    // The interop table: ours↔ours vs go↔go.
    let go_up = text
        .lines()
        .find(|l| l.starts_with("| go | tcp + noise | upload |"))
        .expect("go upload row");
    assert!(
        go_up.contains("6.445") && go_up.contains("3.995") && go_up.ends_with("1.61× |"),
        "{go_up}"
    );
}

#[test]
fn test_plans_format_matches_the_benchmark_results_shape() {
    let scratch = ScratchDir::new("report-test-plans");
    let path = scratch.0.join("benchmark-results.json");
    let out = run(&[
        "report",
        "results/go-vs-ours",
        "results/interop-2026-11-25.json",
        "--format",
        "test-plans",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed: BenchmarkResults = serde_json::from_str(&text).expect("the test-plans shape");
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw.as_object().unwrap().len(), 1, "only `benchmarks`");
    assert!(raw["benchmarks"][0]["results"][0]["transportStack"].is_string());
    for b in &parsed.benchmarks {
        assert!(b.unit == "bit/s" || b.unit == "s", "{}", b.unit);
        assert!(!b.results.is_empty(), "{}", b.name);
        for r in &b.results {
            assert!(!r.result.is_empty() && r.result.iter().all(|v| *v > 0.0));
            assert_eq!(r.transport_stack, "tcp/noise/yamux");
        }
    }
    let upload = parsed
        .benchmarks
        .iter()
        .find(|b| b.name == "Single Connection throughput – Upload 1GiB")
        .expect("interop upload benchmark");
    let go = upload
        .results
        .iter()
        .find(|r| r.implementation == "go-libp2p")
        .unwrap();
    assert_eq!(go.result.len(), 3);
    assert_eq!(go.version, "v0.51.0");
    assert!(
        upload
            .results
            .iter()
            .any(|r| r.implementation == "yamux-perf → go-libp2p")
    );
    // Sweep cases: ours and go side by side, one value per repetition; latency in seconds.
    let sweep_up = parsed
        .benchmarks
        .iter()
        .find(|b| {
            b.name.starts_with("rtt=50ms")
                && b.name.contains("acct=full")
                && b.name.ends_with("Upload")
        })
        .unwrap();
    let names: Vec<&str> = sweep_up
        .results
        .iter()
        .map(|r| r.implementation.as_str())
        .collect();
    assert_eq!(names, ["yamux-perf", "go-libp2p"]);
    assert!(sweep_up.results.iter().all(|r| r.result.len() == 3));
    let latency = parsed
        .benchmarks
        .iter()
        .find(|b| b.unit == "s" && b.name.starts_with("rtt=50ms"))
        .unwrap();
    let samples = &latency.results[0].result;
    assert_eq!(samples.len(), 100);
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(sorted[50] > 0.05 && sorted[50] < 0.2, "{}", sorted[50]);
}

#[test]
fn single_case_and_summaryless_directories_load() {
    let scratch = ScratchDir::new("compare-case");
    let summary = committed_summary();
    let id = &summary.cases[0].id;
    let case = format!("results/go-vs-ours/cases/{id}.json");
    let dir = scratch.0.join("partial");
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    std::fs::copy(
        repo_root().join(&case),
        dir.join("cases").join(format!("{id}.json")),
    )
    .unwrap();
    let out = run(&["compare", &case, dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let c = comparison_json(&out);
    assert!(
        c.rows
            .iter()
            .all(|r| r.case == *id && r.verdict == Verdict::Unchanged)
    );
    let out = run(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(id.as_str()));
}
