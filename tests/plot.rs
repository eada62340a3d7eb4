//! `yamux-perf plot`: every plot kind renders from the committed results into a valid SVG with
//! the expected titles, axes and series; bad input gives a clear error and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::Command;

use yamux_perf::plot::{self, PlotError, ResultSet, Svg};

fn results(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(name)
}

fn render(name: &str) -> Vec<Svg> {
    let set = ResultSet::load(&results(name)).expect("committed results load");
    plot::render_set(&set).expect("committed results plot")
}

/// The document's text elements, after parsing it as XML.
fn texts(svg: &Svg) -> Vec<String> {
    let doc = roxmltree::Document::parse(&svg.text)
        .unwrap_or_else(|e| panic!("{} is not valid XML: {e}", svg.file));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{}", svg.file);
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::to_string)
        .collect()
}

/// Drawn lines (polylines and paths) in the document.
fn lines(svg: &Svg) -> usize {
    let doc = roxmltree::Document::parse(&svg.text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path"))
        .count()
}

fn find<'a>(svgs: &'a [Svg], file: &str) -> &'a Svg {
    svgs.iter().find(|s| s.file == file).unwrap_or_else(|| {
        let names: Vec<_> = svgs.iter().map(|s| &s.file).collect();
        panic!("no {file} among {names:?}")
    })
}

fn assert_has(texts: &[String], wanted: &[&str], file: &str) {
    for w in wanted {
        assert!(
            texts.iter().any(|t| t.contains(w)),
            "{file}: no text containing {w:?} in {texts:?}"
        );
    }
}

#[test]
fn goodput_vs_rtt_has_a_line_per_window_and_mode_and_the_ceilings() {
    let svgs = render("window-autotune");
    let svg = find(&svgs, "goodput-vs-rtt.svg");
    let t = texts(svg);
    assert_has(
        &t,
        &[
            "window-autotune: goodput vs RTT",
            "upload",
            "download",
            "RTT added by the relay (ms)",
            "goodput (Gbit/s, log scale)",
            "win 16MiB, auto from 256KiB, full acct",
            "win 16MiB, auto from 256KiB, go acct",
            "win 64MiB, fixed, full acct",
            "W/RTT ceiling of window W:",
            "W = 256KiB",
            "W = 64MiB",
        ],
        &svg.file,
    );
    // 15 series and 5 ceilings in each of the two panels.
    assert!(lines(svg) >= 2 * (15 + 5), "{} lines", lines(svg));
    // No frame-cap plot: the sweep has one frame cap.
    assert!(svgs.iter().all(|s| s.file != "goodput-vs-frame-cap.svg"));
}

#[test]
fn window_growth_compares_ours_go_mode_and_the_go_peer() {
    let svgs = render("go-vs-ours");
    let svg = find(&svgs, "window-growth-rtt50ms.svg");
    let t = texts(svg);
    assert_has(
        &t,
        &[
            "go-vs-ours: window growth per stream at RTT 50 ms",
            "upload: credit granted by the server",
            "download: our client's receive window",
            "window (bytes, log scale)",
            "time since the stream's first update (ms)",
            "ours server, full acct",
            "ours server, go acct",
            "go server, full acct",
            "16MiB",
        ],
        &svg.file,
    );
    assert!(lines(svg) >= 8, "{} lines", lines(svg));
    for file in [
        "goodput-vs-rtt.svg",
        "latency-cdf.svg",
        "throughput-rtt10ms.svg",
    ] {
        assert!(!texts(find(&svgs, file)).is_empty());
    }
}

#[test]
fn frame_cap_latency_and_interval_plots_render() {
    let svgs = render("frame-caps");
    let frame = find(&svgs, "goodput-vs-frame-cap.svg");
    assert_has(
        &texts(frame),
        &[
            "frame-caps: goodput vs frame cap",
            "largest DATA frame (log scale)",
            "16KiB",
            "1MiB",
            "RTT 50ms, 4 streams",
        ],
        &frame.file,
    );
    let cdf = find(&svgs, "latency-cdf.svg");
    assert_has(
        &texts(cdf),
        &[
            "frame-caps: latency CDF",
            "round-trip latency (ms, log scale)",
            "fraction of round trips at or below",
            "RTT 0ms, frame 16KiB, 1 stream",
        ],
        &cdf.file,
    );
    assert!(lines(cdf) >= 16);
    let intervals = find(&svgs, "throughput-rtt50ms.svg");
    assert_has(
        &texts(intervals),
        &[
            "goodput per interval at RTT 50 ms",
            "goodput in the interval (Mbit/s)",
            "time since the direction's first interval with bytes (s)",
            "one step per 100 ms interval",
        ],
        &intervals.file,
    );
}

#[test]
fn the_latency_cdf_says_which_round_trip_was_measured() {
    // stack-vs-go ran `latency_mode = "ping"`: the legend must not claim fresh-stream rounds.
    let svgs = render("stack-vs-go-2026-11-26");
    let ping = texts(find(&svgs, "latency-cdf.svg"));
    assert_has(&ping, &["libp2p ping (32 B) on one stream"], "stack-vs-go");
    assert!(!ping.iter().any(|t| t.contains("fresh stream")), "{ping:?}");
    let perf = texts(find(&render("frame-caps"), "latency-cdf.svg"));
    assert_has(&perf, &["fresh stream (latency run)"], "frame-caps");
    assert!(!perf.iter().any(|t| t.contains("libp2p ping")), "{perf:?}");
}

#[test]
fn a_single_case_json_plots_its_traces() {
    let set = ResultSet::load(&results("go-vs-ours/cases/875d85cd421f.json")).unwrap();
    assert_eq!(set.name, "go-vs-ours-875d85cd421f");
    let svgs = plot::render_set(&set).unwrap();
    let names: Vec<_> = svgs.iter().map(|s| s.file.as_str()).collect();
    assert_eq!(
        names,
        [
            "window-growth-rtt50ms.svg",
            "latency-cdf.svg",
            "throughput-rtt50ms.svg"
        ]
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let dir = std::env::temp_dir().join(format!("yp-plot-bad-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    let missing = ResultSet::load(&dir.join("nope")).unwrap_err();
    assert!(matches!(missing, PlotError::Missing(_)), "{missing:?}");
    let no_summary = ResultSet::load(&dir).unwrap_err();
    assert!(
        matches!(no_summary, PlotError::NoSummary(_)),
        "{no_summary:?}"
    );
    std::fs::write(dir.join("summary.json"), "{\"not\": 1}").unwrap();
    let bad = ResultSet::load(&dir).unwrap_err();
    assert!(matches!(bad, PlotError::Json { .. }), "{bad:?}");
    // A summary whose case file is gone.
    let summary = std::fs::read_to_string(results("go-vs-ours/summary.json")).unwrap();
    std::fs::write(dir.join("summary.json"), summary).unwrap();
    let gone = ResultSet::load(&dir).unwrap_err();
    assert!(
        matches!(&gone, PlotError::Read { path, .. } if path.starts_with(dir.join("cases"))),
        "{gone:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_writes_predictable_files_and_fails_cleanly() {
    let exe = env!("CARGO_BIN_EXE_yamux-perf");
    let out = std::env::temp_dir().join(format!("yp-plot-out-{}", std::process::id()));
    let run = Command::new(exe)
        .args(["plot", "--out"])
        .arg(&out)
        .arg(results("go-vs-ours"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    let expected = out.join("go-vs-ours").join("goodput-vs-rtt.svg");
    assert!(stdout.lines().any(|l| Path::new(l) == expected), "{stdout}");
    let text = std::fs::read_to_string(&expected).unwrap();
    assert!(text.len() > 1000 && text.trim_end().ends_with("</svg>"));
    std::fs::remove_dir_all(&out).unwrap();

    let bad = Command::new(exe)
        .args(["plot", "--out"])
        .arg(&out)
        .arg("/nonexistent/results")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent/results: no such file or directory"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "nothing is written when an input is bad");
}
