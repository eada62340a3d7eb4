//! `yamux-perf dashboard`: the verdict marks follow `compare` (an injected regression is marked on
//! its point and nowhere else), bad input exits 2, the committed page regenerates byte for byte
//! from results/history/, and the page loads in a real headless browser (Debian's `chromium`)
//! with every plot and mark in its DOM.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::yamux_perf;
use yamux_perf::compare::{Input, Metric, Threshold, case_metrics};
use yamux_perf::dashboard::{self, COMMIT_FILE, History, Mark};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "yamux-perf-dashboard-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_commit(dir: &Path, revision: &str, committed_unix_s: i64) {
    std::fs::create_dir_all(dir).unwrap();
    let info = dashboard::CommitInfo {
        revision: revision.into(),
        committed_unix_s,
        subject: Some(format!("commit at {committed_unix_s}")),
    };
    std::fs::write(dir.join(COMMIT_FILE), serde_json::to_string(&info).unwrap()).unwrap();
}

/// Copies the case JSONs (not the summary) of a sweep output directory into `to/cases/`.
fn copy_cases(from: &Path, to: &Path) -> Vec<PathBuf> {
    let cases = to.join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(from.join("cases")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") && name.matches('.').count() == 1 {
            std::fs::copy(&path, cases.join(&name)).unwrap();
            copied.push(cases.join(&name));
        }
    }
    copied.sort();
    copied
}

fn recorded_revision(set: &Path) -> String {
    Input::load(set).unwrap().git().unwrap().revision.clone()
}

/// Two commits with the same simulated results, except that one case's download goodput is cut
/// by 20% in the second commit's case file: that point, and only that one, is a regression.
#[test]
fn an_injected_regression_is_marked_on_its_point_and_nowhere_else() {
    let source = root().join("results/window-autotune-sim");
    let revision = recorded_revision(&source);
    let history = scratch("inject");
    let (a, b) = (history.join("a"), history.join("b"));
    write_commit(&a, &revision, 1_000);
    write_commit(&b, &revision, 2_000);
    copy_cases(&source, &a.join("sim"));
    let files = copy_cases(&source, &b.join("sim"));
    // A case with an RTT (its goodput is limited by the window, not by the 10 Gbit/s rate).
    let victim = files
        .iter()
        .find(|f| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            v["config"]["rtt_ms"].as_f64().is_some_and(|r| r > 0.0)
        })
        .expect("a case with an RTT");
    let mut case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(victim).unwrap()).unwrap();
    let id = case["id"].as_str().unwrap().to_string();
    let mut scaled = 0;
    for run in case["runs"].as_array_mut().unwrap() {
        let bps = &mut run["client"]["total"]["download"]["bits_per_second"];
        if let Some(v) = bps.as_f64() {
            *bps = serde_json::json!(v * 0.8);
            scaled += 1;
        }
    }
    assert!(scaled > 0, "{id}: no download goodput to scale");
    std::fs::write(victim, serde_json::to_string_pretty(&case).unwrap()).unwrap();

    let board = dashboard::build(History::load(&history).unwrap(), Threshold(0.05)).unwrap();
    let mut marked = Vec::new();
    for (series, plot) in board.plots() {
        for point in &plot.points {
            let expected = match point.commit {
                0 => Mark::First,
                _ if plot.case == id && plot.metric == Metric::DownloadGbitS => Mark::Regression,
                _ => Mark::Unchanged,
            };
            assert_eq!(
                point.mark, expected,
                "{} {} {} commit {}",
                series.name, plot.metric, plot.case, point.commit
            );
            if point.mark == Mark::Regression {
                marked.push((plot.case.clone(), point.ratio));
                assert!((point.ratio.unwrap() - 0.8).abs() < 1e-9);
            }
        }
    }
    assert_eq!(marked.len(), 1, "{marked:?}");
    let html = dashboard::html::render(&board);
    assert_eq!(html.matches("class=\"mark regression\"").count(), 1);
    assert_eq!(html.matches("class=\"mark improvement\"").count(), 0);
    // The same at a threshold above the cut: no verdict.
    let board = dashboard::build(History::load(&history).unwrap(), Threshold(0.3)).unwrap();
    assert_eq!(board.count(Mark::Regression), 0);
    let _ = std::fs::remove_dir_all(history);
}

fn dashboard_exit(history: &Path, out: &Path) -> (i32, String) {
    let output = yamux_perf()
        .arg("dashboard")
        .arg(history)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_input_exits_2_with_a_clear_error() {
    let dir = scratch("bad");
    let out = dir.join("out");
    let source = root().join("results/window-autotune-sim");
    let revision = recorded_revision(&source);

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, err) = dashboard_exit(&empty, &out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no commit directories"), "{err}");

    let missing = dir.join("missing");
    let (code, err) = dashboard_exit(&missing, &out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing"), "{err}");

    let no_commit = dir.join("no-commit");
    copy_cases(&source, &no_commit.join("c1/sim"));
    let (code, err) = dashboard_exit(&no_commit, &out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(COMMIT_FILE), "{err}");

    let unreadable = dir.join("unreadable");
    write_commit(&unreadable.join("c1"), &revision, 1);
    std::fs::create_dir_all(unreadable.join("c1/sim")).unwrap();
    std::fs::write(unreadable.join("c1/sim/summary.json"), "{not json").unwrap();
    let (code, err) = dashboard_exit(&unreadable, &out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("summary.json"), "{err}");

    // The same series is a sweep in one commit and instruction counts in the next.
    let kinds = dir.join("kinds");
    write_commit(&kinds.join("c1"), &revision, 1);
    copy_cases(&source, &kinds.join("c1/set.json"));
    let icount = root().join("results/icount-2026-12-07/icount.json");
    write_commit(&kinds.join("c2"), &recorded_revision(&icount), 2);
    std::fs::copy(&icount, kinds.join("c2/set.json")).unwrap();
    let (code, err) = dashboard_exit(&kinds, &out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("different kinds"), "{err}");

    // A result made by another revision than its commit.json names.
    // (A relay sweep: its case files record the revision, simulated ones leave it to the
    // summary.)
    let wrong = dir.join("wrong-rev");
    let baseline = root().join("results/baseline");
    write_commit(&wrong.join("c1"), "0000000", 1);
    copy_cases(&baseline, &wrong.join("c1/smoke"));
    let (code, err) = dashboard_exit(&wrong, &out);
    assert_eq!(code, 2, "{err}");
    let recorded = recorded_revision(&baseline);
    assert!(err.contains("0000000") && err.contains(&recorded), "{err}");

    // --out is checked before the work: a file there is a usage error.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let (code, err) = dashboard_exit(&root().join("results/history"), &file);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a directory"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// plots/dashboard/ is what `yamux-perf dashboard results/history --out plots/dashboard` writes
/// today, byte for byte, and links only files it holds.
#[test]
fn the_committed_dashboard_regenerates_byte_for_byte() {
    let history = History::load(&root().join("results/history")).unwrap();
    assert!(
        history.commits.len() >= 5,
        "{} commits",
        history.commits.len()
    );
    let board = dashboard::build(history, "5%".parse().unwrap()).unwrap();
    let dir = root().join("plots/dashboard");
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        page == dashboard::html::render(&board),
        "plots/dashboard/index.html no longer regenerates from results/history (re-run the \
         command in results/history/README.md)"
    );
    let mut linked = BTreeSet::new();
    for d in &board.details {
        let copy = dir.join(&d.href);
        assert_eq!(
            std::fs::read(&copy).unwrap_or_default(),
            std::fs::read(&d.source).unwrap(),
            "{}",
            copy.display()
        );
        linked.insert(copy);
    }
    let mut on_disk = BTreeSet::new();
    let mut stack = vec![dir.join("cases")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                on_disk.insert(p);
            }
        }
    }
    assert_eq!(linked, on_disk, "files under plots/dashboard/cases");
}

/// The plots and marks the history holds, counted from the result files with compare's readers:
/// (series, case id, metric) triples and points.
fn expected_counts(history: &Path) -> (usize, usize) {
    let mut plots = BTreeSet::new();
    let mut points = 0;
    for commit in std::fs::read_dir(history).unwrap() {
        let commit = commit.unwrap().path();
        if !commit.is_dir() {
            continue;
        }
        for set in std::fs::read_dir(&commit).unwrap() {
            let set = set.unwrap().path();
            if !set.is_dir() {
                continue;
            }
            let series = set.file_name().unwrap().to_string_lossy().into_owned();
            for case in case_metrics(&Input::load(&set).unwrap()) {
                for metric in case.metrics.keys() {
                    plots.insert((series.clone(), case.id.clone(), *metric));
                    points += 1;
                }
            }
        }
    }
    (plots.len(), points)
}

fn chromium() -> Option<PathBuf> {
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium is missing (apt-get install chromium; .ci/run installs it)"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium); CI is unset");
    }
    found
}

fn headless(browser: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(args)
        .output()
        .unwrap()
}

/// The page of results/history, loaded by chromium: one svg.metric-plot per series, case and
/// metric, one mark per point, the changes table's rows as the marks; and a 1280×2000
/// screenshot.
#[test]
fn the_page_loads_in_headless_chromium_with_every_plot_and_mark() {
    let Some(browser) = chromium() else {
        return;
    };
    let history = root().join("results/history");
    let out = scratch("browser");
    let (code, err) = dashboard_exit(&history, &out);
    assert_eq!(code, 0, "{err}");
    let url = format!("file://{}", out.join("index.html").display());
    let dom = headless(&browser, &["--dump-dom", &url]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // Parsed by the browser: it serialises what it built, closing tags included.
    assert!(dom.contains("</html>"), "{dom:.300}");
    let (plots, points) = expected_counts(&history);
    assert!(plots > 0 && points > plots);
    assert_eq!(dom.matches("<svg class=\"metric-plot\"").count(), plots);
    assert_eq!(dom.matches("class=\"mark ").count(), points);
    let regressions = dom.matches("class=\"mark regression\"").count();
    let improvements = dom.matches("class=\"mark improvement\"").count();
    assert_eq!(dom.matches("<tr class=\"regression\"").count(), regressions);
    assert_eq!(
        dom.matches("<tr class=\"improvement\"").count(),
        improvements
    );
    // Every commit directory is a row of the commit table.
    let commits = std::fs::read_dir(&history)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(dom.matches("<tr class=\"commit\"").count(), commits);
    // Nothing that would load from anywhere: no scripts, style sheets, images or fonts.
    for load in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!dom.contains(load), "{load} in the page");
    }
    // Every link of the page is a file beside it.
    for href in dom.split("href=\"").skip(1) {
        let href = &href[..href.find('"').unwrap()];
        if !href.starts_with('#') {
            assert!(out.join(href).is_file(), "{href}");
        }
    }

    let png = out.join("shot.png");
    let shot = headless(
        &browser,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            &url,
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((be(16), be(20)), (1280, 2000), "IHDR width and height");
    assert!(
        bytes.len() > 50_000,
        "{} bytes: an empty page?",
        bytes.len()
    );
    let _ = std::fs::remove_dir_all(out);
}
