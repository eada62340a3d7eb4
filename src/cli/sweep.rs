//! `yamux-perf sweep`: runs a bench config's cases and writes results (see
//! [`yamux_perf::results`] for the files).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use yamux_perf::results::{CaseResult, RunKind, RunResult, Spread, Summary};
use yamux_perf::sweep::config::{self, Case};
use yamux_perf::sweep::host::HostFacts;
use yamux_perf::sweep::run::{self, Observer, Ownership, RunOptions};

use super::common::{OutputOpt, bad_input, check_output_dir, usage};
use yamux_perf::units::ByteSize;

#[derive(Debug, Args)]
pub(crate) struct SweepOpt {
    /// A sweep config (bench-configs/*.toml), or a case JSON (…/cases/<id>.json) to re-run
    /// that case with its recorded plan.
    pub(crate) config: PathBuf,
    /// Output directory. Default: results/<sweep name>, or results/rerun-<id> for a case JSON.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Run only the cases whose id or label contains this text.
    #[arg(long)]
    pub(crate) filter: Option<String>,
    /// Measured runs per case, instead of the config's (case ids do not change).
    #[arg(long)]
    pub(crate) repetitions: Option<u32>,
    /// Where interop/build.sh put the foreign peers (`{interop}` in peer commands).
    #[arg(long, default_value = "target/interop")]
    pub(crate) interop_dir: PathBuf,
    /// Run every case between two test hosts: network namespaces joined by a veth pair, the
    /// case's rate as tbf on it (sets hosts = "netns"; needs root).
    #[arg(long)]
    pub(crate) netns: bool,
    /// Dial a server started elsewhere (`yamux-perf server` on another machine) instead of
    /// starting one per run: every case's transport must match the address (`/ws` or not), and
    /// the server-side flags a case would pass are recorded as not applied.
    #[arg(long, value_name = "MULTIADDR", conflicts_with = "netns")]
    pub(crate) server: Option<yamux_perf::transport::AddrSpec>,
    /// Print the cases (id and label) and exit.
    #[arg(long)]
    pub(crate) list: bool,
    /// Plain lines instead of a progress bar, even on a terminal.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Write into --out even though it holds results of another config (their case files
    /// stay; the summary lists this config's cases only).
    #[arg(long)]
    pub(crate) force: bool,
    /// --json-only: stdout is summary.json's content instead of the Markdown table.
    #[command(flatten)]
    pub(crate) output: OutputOpt,
}

/// Progress on stderr: a bar on a terminal, one line per run otherwise, nothing when quiet.
struct Display {
    quiet: bool,
    bar: Option<ProgressBar>,
    case: String,
    run: String,
}

impl Display {
    fn say(&self, line: String) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

fn gbit(run: &RunResult) -> String {
    let part = |name: &str, v: Option<f64>| v.map(|v| format!("{name} {v:.3} Gbit/s"));
    let parts: Vec<String> = [
        part("up", run.upload_gbit_s()),
        part("down", run.download_gbit_s()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(latency) = run.client.as_ref().filter(|_| run.kind == RunKind::Latency) {
        let mut samples = latency.latency_ms.clone();
        samples.sort_by(f64::total_cmp);
        if let Some(p50) = samples.get(samples.len() / 2) {
            return format!("latency p50 {p50:.3} ms over {} rounds", samples.len());
        }
    }
    parts.join(", ")
}

impl Observer for Display {
    fn case_started(&mut self, index: usize, total: usize, case: &Case) {
        self.case = format!("case {}/{total} [{}]", index + 1, case.id);
        self.say(format!("{} {}", self.case, case.label));
    }

    fn run_started(&mut self, kind: RunKind, repetition: u32, of: u32) {
        self.run = match kind {
            RunKind::Warmup => format!("warm-up {repetition}/{of}"),
            RunKind::Measured => format!("rep {repetition}/{of}"),
            RunKind::Latency => "latency".into(),
        };
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {}", self.case, self.run));
        }
    }

    fn progress(&mut self, bytes: u64, total: u64, bits_per_second: f64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} {}: {}/{} at {:.0} Mbit/s",
                self.case,
                self.run,
                ByteSize(bytes),
                ByteSize(total),
                bits_per_second / 1e6
            ));
        }
    }

    fn run_finished(&mut self, _case: &Case, run: &RunResult) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        let outcome = if run.ok {
            gbit(run)
        } else {
            format!(
                "FAILED: {}",
                run.error.as_deref().unwrap_or("unknown error")
            )
        };
        let took = run
            .wall_seconds
            .map_or("simulated".into(), |s| format!("{s:.1} s"));
        self.say(format!("  {} ({took}): {outcome}", self.run));
    }

    fn case_finished(&mut self, _result: &CaseResult) {}

    fn warning(&mut self, message: &str) {
        self.say(format!("warning: {message}"));
    }
}

/// The first of SIGINT, SIGTERM and SIGHUP.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    }
}

fn cell(s: &Option<Spread>, scale: f64, decimals: usize) -> String {
    match s {
        Some(s) if s.n > 1 => format!(
            "{:.d$} ({:.d$}–{:.d$})",
            s.median / scale,
            s.min / scale,
            s.max / scale,
            d = decimals
        ),
        Some(s) => format!("{:.d$}", s.median / scale, d = decimals),
        None => "–".into(),
    }
}

/// The summary as a Markdown table (for a results README).
fn table(summary: &Summary) -> String {
    let mut text = String::from(
        "| case | config | ok/failed | upload Gbit/s | download Gbit/s | RTTs to cap | client CPU s | server CPU s |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in &summary.cases {
        text += &format!(
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} |\n",
            row.id,
            row.label,
            row.ok,
            row.failed,
            cell(&row.upload_gbit_s, 1.0, 3),
            cell(&row.download_gbit_s, 1.0, 3),
            cell(&row.rtts_to_cap, 1.0, 1),
            cell(&row.client_cpu_s, 1.0, 2),
            cell(&row.server_cpu_s, 1.0, 2),
        );
    }
    text
}

/// The server of `--server`, resolved, once every selected case is one it can serve: a process
/// run by this sweep (not the simulation), ours (a peer key names a server to start), on this
/// host (not netns), and over the address's transport.
async fn remote_server(
    spec: &yamux_perf::transport::AddrSpec,
    sweep: &config::Sweep,
    selected: &[usize],
) -> Result<yamux_perf::transport::Addr> {
    if sweep.plan.engine == yamux_perf::results::Engine::Sim {
        usage!(
            "--server dials a real server; this config's engine is \"sim\", which runs no process"
        );
    }
    let addr = spec
        .resolve()
        .await
        .with_context(|| format!("resolving --server {spec}"))?;
    for case in selected.iter().map(|&i| &sweep.cases[i]) {
        if case.peer.name != yamux_perf::results::OURS {
            usage!(
                "--server dials a server started elsewhere, but case {} names peer {:?}, a server this sweep would start; filter it out or drop the peer key",
                case.label,
                case.peer.name
            );
        }
        if case.config.hosts != yamux_perf::results::Hosts::Loopback {
            usage!(
                "--server dials from this host, but case {} runs between test hosts (hosts = \"netns\")",
                case.label
            );
        }
        if case.config.transport != addr.transport {
            usage!(
                "case {} runs over {}, but --server {spec} is {}: give a {} address, or --filter the cases of one transport",
                case.label,
                case.config.transport,
                addr.transport,
                case.config.transport
            );
        }
    }
    Ok(addr)
}

pub(crate) async fn run(opt: SweepOpt) -> Result<()> {
    let host_facts = HostFacts::read();
    let mut sweep = config::load(&opt.config, &host_facts)
        .map_err(|e| bad_input(format_args!("loading {}", opt.config.display()), e))?;
    if opt.netns {
        if sweep.plan.engine == yamux_perf::results::Engine::Sim {
            usage!(
                "--netns runs real processes between test hosts; this config's engine is \"sim\", which runs no process"
            );
        }
        sweep = sweep
            .on_hosts(yamux_perf::results::Hosts::Netns, &host_facts)
            .map_err(|e| bad_input(format_args!("--netns with {}", opt.config.display()), e))?;
    }
    if let Some(n) = opt.repetitions {
        if !(1..=1000).contains(&n) {
            usage!("--repetitions must be from 1 to 1000");
        }
        sweep.plan.repetitions = n;
    }
    let quiet = opt.output.quiet();
    for skip in sweep.skipped.iter().filter(|_| !quiet) {
        eprintln!("skipped: {}: {}", skip.label, skip.reason);
    }
    let selected: Vec<usize> = sweep
        .cases
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            opt.filter
                .as_deref()
                .is_none_or(|f| c.id.contains(f) || c.label.contains(f))
        })
        .map(|(i, _)| i)
        .collect();
    if opt.list {
        for &i in &selected {
            println!("{} {}", sweep.cases[i].id, sweep.cases[i].label);
        }
        eprintln!("{} of {} cases", selected.len(), sweep.cases.len());
        return Ok(());
    }
    if selected.is_empty() {
        usage!(
            "no case of {} matches --filter {:?} (--list shows them)",
            opt.config.display(),
            opt.filter.as_deref().unwrap_or("")
        );
    }
    let remote_server = match &opt.server {
        Some(spec) => Some(remote_server(spec, &sweep, &selected).await?),
        None => None,
    };
    let rerun = opt.config.extension().is_some_and(|e| e == "json");
    let out = opt.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(if rerun {
            format!("rerun-{}", sweep.cases[0].id)
        } else {
            sweep.name.clone()
        })
    });
    let ownership = if rerun {
        Ownership::SweepName
    } else {
        Ownership::CaseIds
    };
    let other = run::other_results(&sweep, &out, ownership);
    if !other.is_empty() && !opt.force {
        usage!(
            "{} holds results of another config: {}{}; give another --out, or --force to write there anyway",
            out.display(),
            other[..other.len().min(3)].join(", "),
            if other.len() > 3 {
                format!(" and {} more", other.len() - 3)
            } else {
                String::new()
            }
        );
    }
    // Before the first run, not after it.
    check_output_dir(&out)?;
    let options = RunOptions {
        out_dir: out.clone(),
        exe: std::env::current_exe().context("locating this binary")?,
        interop_dir: std::path::absolute(&opt.interop_dir)
            .with_context(|| format!("resolving {}", opt.interop_dir.display()))?,
        sweep_command: std::env::args().collect(),
        remote_server,
    };
    let runs_per_case = sweep.plan.warmup + sweep.plan.repetitions;
    let total_runs: u64 = selected
        .iter()
        .map(|&i| {
            u64::from(runs_per_case + u32::from(sweep.cases[i].config.latency_rounds.is_some()))
        })
        .sum();
    let bar = (!opt.no_progress && !quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total_runs);
        bar.set_style(
            ProgressStyle::with_template(
                "[{elapsed_precise}] {bar:24} {pos}/{len} runs {wide_msg}",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    });
    let mut display = Display {
        quiet,
        bar,
        case: String::new(),
        run: String::new(),
    };
    display.say(format!(
        "sweep {}: {} of {} cases, {} runs, output in {}",
        sweep.name,
        selected.len(),
        sweep.cases.len(),
        total_runs,
        out.display()
    ));
    let summary = tokio::select! {
        summary = run::run_sweep(&sweep, &selected, &options, &mut display) => summary,
        // Returning drops the sweep, which kills its server and client (kill_on_drop): a
        // signal that ended this process without unwinding would leave them running.
        signal = stop_signal() => {
            bail!("stopped by {signal}; finished cases are in {}", out.display())
        }
    };
    if let Some(bar) = &display.bar {
        bar.finish_and_clear();
    }
    let summary = summary.with_context(|| format!("writing results under {}", out.display()))?;
    if opt.output.json_only {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", table(&summary));
    }
    let ran: Vec<_> = summary
        .cases
        .iter()
        .filter(|row| selected.iter().any(|&i| sweep.cases[i].id == row.id))
        .collect();
    let failed: u32 = ran.iter().map(|r| r.failed).sum();
    if !quiet {
        eprintln!(
            "wrote {} cases to {} ({} with failures)",
            ran.len(),
            out.display(),
            ran.iter().filter(|r| r.failed > 0).count()
        );
    }
    if failed > 0 {
        bail!(
            "{failed} runs failed; their errors are in {}/cases/<id>.json",
            out.display()
        );
    }
    Ok(())
}
