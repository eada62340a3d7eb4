//! Instruction counts through the binary: `yamux-perf icount` reads gungraun summaries (in the
//! shape gungraun 0.20 writes), and `compare --threshold 1%` on the committed reference counts
//! catches an injected 3% regression of one workload and lets a 0.5% change pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;
use yamux_perf::compare::{Comparison, Metric, Verdict};
use yamux_perf::icount::{IcountFile, Unit, WORKLOADS};

const REFERENCE: &str = "results/icount-2026-12-07/icount.json";

fn run(args: &[&str]) -> Output {
    let mut cmd = yamux_perf();
    cmd.args(args).current_dir(repo_root());
    run_with_timeout(cmd, Duration::from_secs(60))
}

fn reference() -> IcountFile {
    let text = std::fs::read_to_string(repo_root().join(REFERENCE)).expect("committed counts");
    serde_json::from_str(&text).expect("it parses")
}

fn write(path: &Path, file: &IcountFile) -> String {
    std::fs::write(path, serde_json::to_string_pretty(file).unwrap()).unwrap();
    path.display().to_string()
}

fn compare_json(baseline: &str, current: &str) -> (Option<i32>, Comparison) {
    let out = run(&[
        "compare",
        baseline,
        current,
        "--threshold",
        "1%",
        "--format",
        "json",
    ]);
    let c =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr_of(&out)));
    (out.status.code(), c)
}

/// `file` with `id`'s every count scaled by `factor`.
fn scaled(file: &IcountFile, id: &str, factor: f64) -> IcountFile {
    let mut out = file.clone();
    let w = out.workloads.iter_mut().find(|w| w.id == id).expect(id);
    for i in &mut w.instructions {
        *i = (*i as f64 * factor).round() as u64;
    }
    out
}

#[test]
fn reference_counts_cover_every_workload_and_repeat() {
    let file = reference();
    let ids: Vec<&str> = file.workloads.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, WORKLOADS.map(|w| w.id));
    assert!(file.git.is_some(), "the revision is recorded");
    for w in &file.workloads {
        assert!(w.instructions.len() >= 3, "{}: {:?}", w.id, w.instructions);
        // Repetitions agree to 0.01% (the README gives the measured spread).
        let (min, max) = (
            *w.instructions.iter().min().unwrap() as f64,
            *w.instructions.iter().max().unwrap() as f64,
        );
        assert!(max / min - 1.0 < 1e-4, "{}: {:?}", w.id, w.instructions);
        // At least one instruction per unit: a workload that did nothing would count less.
        assert!(w.per_unit().all(|v| v >= 1.0), "{}", w.id);
    }
}

#[test]
fn a_three_percent_regression_fails_at_one_percent() {
    let scratch = ScratchDir::new("icount-regression");
    let base = reference();
    let baseline = write(&scratch.0.join("base.json"), &base);
    let current = write(
        &scratch.0.join("cur.json"),
        &scaled(&base, "session_noise", 1.03),
    );
    let (code, c) = compare_json(&baseline, &current);
    assert_eq!(code, Some(1), "a regression past 1% exits 1");
    let regressed: Vec<&str> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .map(|r| r.case.as_str())
        .collect();
    assert_eq!(regressed, ["session_noise"]);
    let row = c.rows.iter().find(|r| r.case == "session_noise").unwrap();
    assert_eq!(row.metric, Metric::InstructionsPerByte);
    assert!((row.ratio.unwrap() - 1.03).abs() < 1e-6, "{:?}", row.ratio);
    // Per-operation workloads carry instructions_per_op.
    let op = c.rows.iter().find(|r| r.case == "noise_handshake").unwrap();
    assert_eq!(op.metric, Metric::InstructionsPerOp);
}

#[test]
fn half_a_percent_passes_at_one_percent_and_identical_counts_are_unchanged() {
    let scratch = ScratchDir::new("icount-noise");
    let base = reference();
    let baseline = write(&scratch.0.join("base.json"), &base);
    let (code, c) = compare_json(&baseline, &baseline);
    assert_eq!(code, Some(0));
    assert_eq!(c.rows.len(), WORKLOADS.len());
    assert!(c.rows.iter().all(|r| r.verdict == Verdict::Unchanged));
    let current = write(
        &scratch.0.join("cur.json"),
        &scaled(&base, "streams_open_close", 1.005),
    );
    let (code, c) = compare_json(&baseline, &current);
    assert_eq!(code, Some(0), "{:?}", c.rows);
}

/// A gungraun 0.20 `summary.json` (only the fields the reader uses, nested as gungraun writes
/// them).
fn summary(function: &str, ir: u64) -> String {
    serde_json::json!({
        "version": "7",
        "function_name": function,
        "module_path": format!("icount::group::{function}"),
        "profiles": [{
            "tool": "Callgrind",
            "data": {"total": {"metrics": {"Ir": {"values": {"new": ir}}}, "regressions": []}}
        }]
    })
    .to_string()
}

fn gungraun_dir(root: &Path, run: &str, counts: &[(&str, u64)]) -> PathBuf {
    let dir = root.join(run);
    for (function, ir) in counts {
        let bench = dir.join("yamux-perf/icount/group").join(function);
        std::fs::create_dir_all(&bench).unwrap();
        std::fs::write(bench.join("summary.json"), summary(function, *ir)).unwrap();
    }
    dir
}

#[test]
fn icount_converts_gungraun_summaries_and_refuses_strangers() {
    let scratch = ScratchDir::new("icount-convert");
    let a = gungraun_dir(
        &scratch.0,
        "a",
        &[("session_plain", 210_000_000), ("frame_codec", 5_900_000)],
    );
    let b = gungraun_dir(&scratch.0, "b", &[("session_plain", 210_000_001)]);
    let out_path = scratch.0.join("icount.json");
    let out = run(&[
        "icount",
        "--from",
        a.to_str().unwrap(),
        "--from",
        b.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let file: IcountFile =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    // Table order, repetitions merged per workload, units from the one table.
    assert_eq!(file.workloads[0].id, "frame_codec");
    assert_eq!(file.workloads[0].unit, Unit::Op);
    assert_eq!(file.workloads[1].instructions, [210_000_000, 210_000_001]);
    assert_eq!(file.workloads[1].units, 64 << 20);
    assert!(file.git.is_some());

    let strange = gungraun_dir(&scratch.0, "c", &[("bubble_sort", 1)]);
    let out = run(&[
        "icount",
        "--from",
        strange.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("not an instruction-count workload"));
    let empty = scratch.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&[
        "icount",
        "--from",
        empty.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--save-summary=json"));
}
