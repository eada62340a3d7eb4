//! `yamux-perf report`: a Markdown summary of result files fit for a PR comment, and the
//! libp2p test-plans `benchmark-results.json` shape. Reads results only.
//!
//! For a sweep: the machine, revision and command, one row per case (goodput, latency, CPU, peak
//! RSS), and, when the sweep ran the same case against our server and a foreign one, an
//! ours-vs-peer table with the ratios. For an interop JSON: per foreign peer, ours↔ours,
//! peer↔peer, ours→peer and peer→ours goodput and the ratio ours↔ours ÷ peer↔peer.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::compare::render::md_cell;
use crate::compare::{Input, SweepInput};
use crate::icount::{IcountFile, Unit};
use crate::interop::{self, Direction, InteropFile, Layers};
use crate::results::{
    CaseResult, GitRevision, Machine, OURS, RunKind, Spread, Stack, SummaryRow, stack_name,
};
use crate::security::Security;
use crate::transport::TransportKind;
use crate::units::ByteSize;

fn machine_line(m: Option<&Machine>) -> String {
    let Some(m) = m else {
        return "unknown".into();
    };
    let mut parts = vec![format!(
        "{} cores of {}",
        m.cores,
        m.cpu.as_deref().unwrap_or("an unknown CPU")
    )];
    if let Some(mem) = m.memory_bytes {
        parts.push(format!("{:.1} GiB", mem as f64 / (1u64 << 30) as f64));
    }
    if let Some(k) = &m.kernel {
        parts.push(format!("Linux {k}"));
    }
    if let Some(load) = m.load_average {
        parts.push(format!("load {load:.2} at start"));
    }
    parts.join(", ")
}

fn git_line(g: Option<&GitRevision>) -> String {
    match g {
        Some(g) if g.dirty => format!("`{}` (uncommitted changes)", g.revision),
        Some(g) => format!("`{}`", g.revision),
        None => "unknown".into(),
    }
}

fn header(input: &Input, title: &str) -> String {
    let mut out = format!("### {title} (`{}`)\n\n", input.path().display());
    out += &format!("- Machine: {}\n", machine_line(input.machine()));
    out += &format!("- Revision: {}\n", git_line(input.git()));
    if let Some(cmd) = input.command() {
        out += &format!("- Command: `{}`\n", cmd.join(" "));
    }
    out + "\n"
}

/// Median (min–max) with `d` decimals, or the median alone of one value.
fn spread(s: Option<&Spread>, d: usize) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.n > 1 => format!("{:.d$} ({:.d$}–{:.d$})", s.median, s.min, s.max),
        Some(s) => format!("{:.d$}", s.median),
    }
}

fn gbit(s: Option<&Spread>) -> String {
    spread(s, 3)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "-".into(),
    }
}

fn median(s: &Option<Spread>) -> Option<f64> {
    s.as_ref().map(|s| s.median)
}

/// The label without its leading peer name.
fn label_without_peer(row: &SummaryRow) -> &str {
    row.label
        .strip_prefix(row.config.peer.as_str())
        .map(str::trim_start)
        .unwrap_or(&row.label)
}

fn sweep_markdown(input: &Input, s: &SweepInput) -> String {
    let failed = s.summary.cases.iter().filter(|r| r.failed > 0).count();
    let mut out = header(input, &format!("Sweep `{}`", s.summary.sweep));
    out += &format!(
        "{} cases, {} with failed runs. Goodput in Gbit/s, median (min–max) of the repetitions; \
         connection setup (TCP connect through the muxer, the client's `connect_ms`) likewise; \
         latency from the 1-byte round trips of the latency run; CPU and peak RSS are medians.\n\n",
        s.summary.cases.len(),
        failed
    );
    out += "| case | runs ok/failed | upload Gbit/s | download Gbit/s | connect ms | latency p50 / p99 ms | client / server CPU s | client / server peak RSS MiB |\n";
    out += "|---|---|---|---|---|---|---|---|\n";
    let mib = |s: &Option<Spread>| {
        median(s)
            .map(|v| format!("{:.1}", v / (1u64 << 20) as f64))
            .unwrap_or_else(|| "-".into())
    };
    let secs = |s: &Option<Spread>| {
        median(s)
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "-".into())
    };
    for r in &s.summary.cases {
        let latency = r
            .latency_ms
            .as_ref()
            .map(|h| format!("{:.3} / {:.3}", h.p50, h.p99))
            .unwrap_or_else(|| "-".into());
        out += &format!(
            "| `{}` {} | {}/{} | {} | {} | {} | {} | {} / {} | {} / {} |\n",
            r.id,
            md_cell(&r.label),
            r.ok,
            r.failed,
            gbit(r.upload_gbit_s.as_ref()),
            gbit(r.download_gbit_s.as_ref()),
            spread(r.connect_ms.as_ref(), 2),
            latency,
            secs(&r.client_cpu_s),
            secs(&r.server_cpu_s),
            mib(&r.client_peak_rss_bytes),
            mib(&r.server_peak_rss_bytes),
        );
    }
    out += &ours_vs_peers(s);
    out
}

/// Cases run against our server and against a foreign one with otherwise equal configs.
fn ours_vs_peers(s: &SweepInput) -> String {
    let key = |r: &SummaryRow| {
        let mut c = r.config.clone();
        c.peer = String::new();
        serde_json::to_string(&c).unwrap_or_default()
    };
    let mut out = String::new();
    let foreign: Vec<&str> = interop::foreign_names()
        .filter(|p| s.summary.cases.iter().any(|r| r.config.peer == *p))
        .collect();
    for peer in foreign {
        let pairs: Vec<(&SummaryRow, &SummaryRow)> = s
            .summary
            .cases
            .iter()
            .filter(|r| r.config.peer == OURS)
            .filter_map(|o| {
                s.summary
                    .cases
                    .iter()
                    .find(|p| p.config.peer == peer && key(p) == key(o))
                    .map(|p| (o, p))
            })
            .collect();
        if pairs.is_empty() {
            continue;
        }
        out += &format!(
            "\n**Our server vs {peer}'s** (our client in both; `upload` fills the server's receive \
             window, `download` our client's; ratio = ours ÷ {peer}, above 1 = ours faster):\n\n"
        );
        out += &format!(
            "| case | upload ours | upload {peer} | ratio | download ours | download {peer} | ratio |\n"
        );
        out += "|---|---|---|---|---|---|---|\n";
        for (o, p) in pairs {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                md_cell(label_without_peer(o)),
                gbit(o.upload_gbit_s.as_ref()),
                gbit(p.upload_gbit_s.as_ref()),
                ratio(median(&o.upload_gbit_s), median(&p.upload_gbit_s)),
                gbit(o.download_gbit_s.as_ref()),
                gbit(p.download_gbit_s.as_ref()),
                ratio(median(&o.download_gbit_s), median(&p.download_gbit_s)),
            );
        }
    }
    out
}

fn interop_spread(
    f: &InteropFile,
    client: &str,
    server: &str,
    layers: Layers,
    way: Direction,
) -> Option<Spread> {
    Spread::of(
        f.runs
            .iter()
            .filter(|r| r.is_of(client, server, layers, way))
            .filter_map(|r| r.bits_per_second.map(|b| b / 1e9)),
    )
}

fn interop_markdown(input: &Input, f: &InteropFile) -> String {
    let mut out = header(input, "Interop matrix");
    out += &format!(
        "{} per run, {} repetitions, fresh processes per run, goodput = bytes·8 / the client's \
         time including connection setup (as test-plans). Gbit/s, median (min–max); \
         `a→b` = client a, server b; ratio = ours↔ours ÷ peer↔peer, above 1 = ours faster.\n\n",
        ByteSize(f.bytes),
        f.repetitions
    );
    if !f.missing_peers.is_empty() {
        out += &format!("Not built: {}.\n\n", f.missing_peers.join(", "));
    }
    let ours = OURS;
    for skipped in &f.skipped {
        out += &format!("Skipped: {skipped}.\n\n");
    }
    out += "| peer | stack | way | ours↔ours | peer↔peer | ours→peer | peer→ours | ratio |\n";
    out += "|---|---|---|---|---|---|---|---|\n";
    for layers in f.layers() {
        for peer in interop::foreign_names() {
            if !f
                .table
                .iter()
                .any(|r| r.layers() == layers && (r.client == peer || r.server == peer))
            {
                continue;
            }
            for way in [Direction::Upload, Direction::Download] {
                let cell = |c: &str, s: &str| interop_spread(f, c, s, layers, way);
                let (oo, pp) = (cell(ours, ours), cell(peer, peer));
                out += &format!(
                    "| {peer} | {layers} | {} | {} | {} | {} | {} | {} |\n",
                    match way {
                        Direction::Upload => "upload",
                        Direction::Download => "download",
                    },
                    gbit(oo.as_ref()),
                    gbit(pp.as_ref()),
                    gbit(cell(ours, peer).as_ref()),
                    gbit(cell(peer, ours).as_ref()),
                    ratio(median(&oo), median(&pp)),
                );
            }
        }
    }
    let failed: usize = f.table.iter().map(|r| r.failed).sum();
    if failed > 0 {
        out += &format!("\n{failed} runs failed (see `runs[].error`).\n");
    }
    out
}

/// The section of an instruction-count file: one row per workload.
fn icount_markdown(input: &Input, f: &IcountFile) -> String {
    let mut out = header(input, "Instruction counts");
    out += &format!(
        "{}, instructions (callgrind's Ir) per run.\n\n",
        f.icount.tool
    );
    out += "| workload | instructions (per run) | per unit | unit |\n|---|---|---|---|\n";
    for w in &f.workloads {
        let runs: Vec<String> = w.instructions.iter().map(u64::to_string).collect();
        let per = spread(Spread::of(w.per_unit()).as_ref(), 3);
        let unit = match w.unit {
            Unit::Byte => "byte",
            Unit::Op => "op",
        };
        out += &format!(
            "| {} | {} | {per} | {unit} |\n",
            md_cell(&w.label),
            runs.join(", ")
        );
    }
    out
}

/// The Markdown report of some results, one section each.
pub fn markdown(inputs: &[Input]) -> String {
    let mut out = String::from("## yamux-perf results\n\n");
    for input in inputs {
        out += &match input {
            Input::Sweep(s) => sweep_markdown(input, s),
            Input::Interop(_, f) => interop_markdown(input, f),
            Input::Icount(_, f) => icount_markdown(input, f),
        };
        out += "\n";
    }
    out
}

/// libp2p test-plans' `benchmark-results.json`: the type `BenchmarkResults` of
/// `perf/runner/src/benchmark-result-type.ts` in libp2p/test-plans (commit 0732aa8a), as written
/// by `perf/runner/src/index.ts` and committed as `perf/runner/benchmark-results.json` (commit
/// 00cd4341): `{"benchmarks": [{"name", "unit", "results": [{"result", "implementation",
/// "version", "transportStack"}]}]}`, units `bit/s` or `s`, `result` the value of every
/// iteration. The optional `$schema` key and the later `pings`/`iperf` baselines are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkResults {
    /// One per measured quantity.
    pub benchmarks: Vec<Benchmark>,
}

/// One quantity, every implementation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    /// What was measured.
    pub name: String,
    /// `bit/s` or `s`.
    pub unit: String,
    /// One per implementation (or client/server pair).
    pub results: Vec<BenchmarkResult>,
}

/// One implementation's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkResult {
    /// Every iteration's value.
    pub result: Vec<f64>,
    /// e.g. `go-libp2p`.
    pub implementation: String,
    /// e.g. `v0.51.0`.
    pub version: String,
    /// The layers, as [`crate::results::stack_name`] spells them: `tcp/noise/yamux`,
    /// `ws/tls/yamux`, `tcp/plaintext/yamux`, or `tcp` for bare TCP.
    #[serde(rename = "transportStack")]
    pub transport_stack: String,
}

/// The libp2p implementation name of a peer.
pub fn implementation(peer: &str) -> String {
    match peer {
        OURS => "yamux-perf".into(),
        other => format!("{other}-libp2p"),
    }
}

/// Versions of the peers, read from the manifests under `interop_src` (`interop/`): go.mod's
/// go-libp2p, the rust peer's Cargo.toml libp2p, package.json's libp2p, requirements.txt's
/// libp2p. These are the versions of the checkout, which `interop/build.sh` builds.
pub fn peer_versions(interop_src: &Path) -> BTreeMap<String, String> {
    let read = |p: &str| std::fs::read_to_string(interop_src.join(p)).unwrap_or_default();
    let mut v = BTreeMap::new();
    let go = read("go-peer/go.mod");
    let go_version = go
        .lines()
        .find(|l| l.trim_start().starts_with("github.com/libp2p/go-libp2p "))
        .and_then(|l| l.split_whitespace().nth(1));
    if let Some(ver) = go_version {
        v.insert("go".into(), ver.to_string());
    }
    let rust = read("rust-peer/Cargo.toml");
    let rust_version = rust
        .lines()
        .find(|l| l.starts_with("libp2p "))
        .and_then(|l| l.split('"').nth(1));
    if let Some(ver) = rust_version {
        v.insert("rust".into(), format!("v{ver}"));
    }
    let js = read("js-peer/package.json");
    let js_version = js
        .lines()
        .find(|l| l.trim_start().starts_with("\"libp2p\":"))
        .and_then(|l| l.split('"').nth(3));
    if let Some(ver) = js_version {
        v.insert("js".into(), format!("v{ver}"));
    }
    let py = read("py-peer/requirements.txt");
    if let Some(ver) = py.lines().find_map(|l| l.trim().strip_prefix("libp2p==")) {
        v.insert("py".into(), format!("v{ver}"));
    }
    v
}

fn version(peer: &str, git: Option<&GitRevision>, versions: &BTreeMap<String, String>) -> String {
    if peer == OURS {
        let rev = git.map(|g| format!("+{}", g.revision)).unwrap_or_default();
        return format!("v{}{rev}", env!("CARGO_PKG_VERSION"));
    }
    versions
        .get(peer)
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// `value(run)` of the measured runs that passed.
fn per_run(
    case: &CaseResult,
    value: impl Fn(&crate::results::RunResult) -> Option<f64>,
) -> Vec<f64> {
    case.runs
        .iter()
        .filter(|r| r.kind == RunKind::Measured && r.ok)
        .filter_map(value)
        .collect()
}

fn push_result(benchmarks: &mut Vec<Benchmark>, name: String, unit: &str, result: BenchmarkResult) {
    if result.result.is_empty() {
        return;
    }
    match benchmarks.iter_mut().find(|b| b.name == name) {
        Some(b) => b.results.push(result),
        None => benchmarks.push(Benchmark {
            name,
            unit: unit.into(),
            results: vec![result],
        }),
    }
}

/// The test-plans shape of some results. A sweep gives, per case (the label without the peer),
/// an upload and a download benchmark in bit/s (one value per repetition) and a latency benchmark
/// in s (the latency run's 1-byte round trips on an open connection), one result per peer. An
/// interop file gives an upload and a download benchmark with one result per (client, server)
/// pair: `implementation` is the implementation for a pair with itself, `client → server`
/// otherwise.
pub fn test_plans(inputs: &[Input], versions: &BTreeMap<String, String>) -> BenchmarkResults {
    let mut benchmarks = Vec::new();
    for input in inputs {
        match input {
            Input::Sweep(s) => {
                for row in &s.summary.cases {
                    let Some(case) = s.case(&row.id) else {
                        continue;
                    };
                    let peer = &row.config.peer;
                    let entry = |result: Vec<f64>| BenchmarkResult {
                        result,
                        implementation: implementation(peer),
                        version: version(peer, case.git.as_ref(), versions),
                        transport_stack: row.config.stack_name(),
                    };
                    let what = label_without_peer(row);
                    let up = per_run(case, |r| r.upload_gbit_s().map(|g| g * 1e9));
                    push_result(
                        &mut benchmarks,
                        format!("{what} – Upload"),
                        "bit/s",
                        entry(up),
                    );
                    let down = per_run(case, |r| r.download_gbit_s().map(|g| g * 1e9));
                    push_result(
                        &mut benchmarks,
                        format!("{what} – Download"),
                        "bit/s",
                        entry(down),
                    );
                    let latency: Vec<f64> = case
                        .latency
                        .iter()
                        .filter(|r| r.ok)
                        .filter_map(|r| r.client.as_ref())
                        .flat_map(|c| c.latency_ms.iter().map(|ms| ms / 1e3))
                        .collect();
                    push_result(
                        &mut benchmarks,
                        format!("{what} – 1 byte round trip latencies (open connection)"),
                        "s",
                        entry(latency),
                    );
                }
            }
            // Instruction counts have no test-plans shape.
            Input::Icount(..) => {}
            Input::Interop(_, f) => {
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                for r in &f.table {
                    if !pairs.contains(&(r.client.as_str(), r.server.as_str())) {
                        pairs.push((&r.client, &r.server));
                    }
                }
                for way in [Direction::Upload, Direction::Download] {
                    let name = format!(
                        "Single Connection throughput – {} {}",
                        match way {
                            Direction::Upload => "Upload",
                            Direction::Download => "Download",
                        },
                        ByteSize(f.bytes)
                    );
                    for &(client, server) in &pairs {
                        let result: Vec<f64> = f
                            .runs
                            .iter()
                            .filter(|r| r.client == client && r.server == server)
                            .filter(|r| r.direction == way)
                            .filter_map(|r| r.bits_per_second)
                            .collect();
                        let (implementation, version) = if client == server {
                            (
                                implementation(client),
                                version(client, f.git.as_ref(), versions),
                            )
                        } else {
                            (
                                format!("{} → {}", implementation(client), implementation(server)),
                                format!(
                                    "{} → {}",
                                    version(client, f.git.as_ref(), versions),
                                    version(server, f.git.as_ref(), versions)
                                ),
                            )
                        };
                        push_result(
                            &mut benchmarks,
                            name.clone(),
                            "bit/s",
                            BenchmarkResult {
                                result,
                                implementation,
                                version,
                                // The interop matrix runs TCP + Noise + yamux.
                                transport_stack: stack_name(
                                    Stack::Yamux,
                                    TransportKind::Tcp,
                                    Security::Noise,
                                ),
                            },
                        );
                    }
                }
            }
        }
    }
    BenchmarkResults { benchmarks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_peer_manifests() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop");
        let v = peer_versions(&dir);
        for peer in ["go", "rust", "js", "py"] {
            let ver = v.get(peer).unwrap_or_else(|| panic!("{peer} in {v:?}"));
            assert!(ver.starts_with('v') && ver.len() > 2, "{peer}: {ver}");
        }
        assert_eq!(implementation("ours"), "yamux-perf");
        assert_eq!(implementation("go"), "go-libp2p");
    }

    #[test]
    fn the_transport_stack_names_transport_security_and_muxer() {
        use crate::results::{Stack, stack_name};
        let cases = [
            (
                Stack::Yamux,
                TransportKind::Tcp,
                Security::Noise,
                "tcp/noise/yamux",
            ),
            (
                Stack::Yamux,
                TransportKind::Ws,
                Security::Tls,
                "ws/tls/yamux",
            ),
            (
                Stack::Yamux,
                TransportKind::Tcp,
                Security::Plaintext,
                "tcp/plaintext/yamux",
            ),
            (Stack::Tcp, TransportKind::Ws, Security::Tls, "tcp"),
        ];
        for (stack, transport, security, name) in cases {
            assert_eq!(stack_name(stack, transport, security), name);
        }
    }

    #[test]
    fn test_plans_result_uses_the_camel_case_key() {
        let r = BenchmarkResult {
            result: vec![1.0],
            implementation: "go-libp2p".into(),
            version: "v1".into(),
            transport_stack: "tcp".into(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["transportStack"], "tcp");
        let mut keys: Vec<_> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["implementation", "result", "transportStack", "version"]
        );
    }
}
