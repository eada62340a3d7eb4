//! `yamux-perf compare BASELINE CURRENT`: verdicts per case and metric (see
//! [`yamux_perf::compare`] for the rule). Exit codes: 0 no regression, 1 a regression past the
//! threshold, 2 bad input (unreadable results, different kinds, nothing in common, bad flags),
//! 3 with `--fail-on-missing` when the current results lack a case or metric of the baseline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use yamux_perf::compare::{
    self, DEFAULT_THRESHOLD, Input, Metric, Options, Threshold, Verdict, render,
};

use super::common::{check_output_dir, check_output_files};

/// Exit code of a regression past the threshold.
pub(crate) const EXIT_REGRESSION: u8 = 1;
/// Exit code of bad input.
pub(crate) const EXIT_BAD_INPUT: u8 = super::USAGE;
/// Exit code of missing cases or metrics under `--fail-on-missing`.
pub(crate) const EXIT_MISSING: u8 = 3;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned plain text.
    Table,
    /// A Markdown table for a PR comment.
    Markdown,
    /// Every row with both spreads, as JSON.
    Json,
    /// github-action-benchmark custom-tool JSON: two files in --out,
    /// customBiggerIsBetter.json and customSmallerIsBetter.json (the table goes to stdout).
    GithubActionBenchmark,
    /// Bencher Metric Format JSON (`bencher run --adapter json`): each case's current medians,
    /// with the min and max of the repetitions as lower and upper values.
    Bmf,
}

#[derive(Debug, Args)]
pub(crate) struct CompareOpt {
    /// Baseline results: a sweep directory, its summary.json, a cases/<id>.json, an interop
    /// JSON or an icount JSON.
    pub(crate) baseline: PathBuf,
    /// Current results, of the same kind as the baseline.
    pub(crate) current: PathBuf,
    /// Relative change a verdict needs ("5%" or "0.05"); a regression must also lie outside
    /// the spread of both sides' repetitions.
    #[arg(long, default_value = DEFAULT_THRESHOLD)]
    pub(crate) threshold: Threshold,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Compare only these metrics, comma-separated (upload_gbit_s, download_gbit_s,
    /// client_cpu_ns_per_byte, server_cpu_ns_per_byte, client_peak_rss_bytes,
    /// server_peak_rss_bytes, latency_p50_ms, latency_p99_ms, muxer_added_p50_ms,
    /// muxer_added_p99_ms, jain_overall, jain_min_after_first, short_fct_p50_ms,
    /// short_fct_p99_ms, instructions_per_byte, instructions_per_op). Default: all.
    #[arg(long, value_delimiter = ',')]
    pub(crate) metrics: Vec<Metric>,
    /// Write the output to this file instead of stdout (a directory for
    /// github-action-benchmark, created if needed).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Exit 3 when the current results lack a case or metric that the baseline has.
    #[arg(long)]
    pub(crate) fail_on_missing: bool,
}

fn write(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn compare(opt: &CompareOpt) -> Result<compare::Comparison> {
    if opt.format == Format::GithubActionBenchmark && opt.out.is_none() {
        bail!("--format github-action-benchmark writes two files: give --out DIR");
    }
    match (&opt.out, opt.format) {
        (Some(dir), Format::GithubActionBenchmark) => check_output_dir(dir)?,
        (out, _) => check_output_files(out.as_deref())?,
    }
    let baseline = Input::load(&opt.baseline).context("reading the baseline")?;
    let current = Input::load(&opt.current).context("reading the current results")?;
    let options = Options {
        threshold: opt.threshold,
        metrics: opt.metrics.clone(),
    };
    Ok(compare::compare(&baseline, &current, &options)?)
}

fn output(opt: &CompareOpt, c: &compare::Comparison) -> Result<()> {
    let out = opt.out.as_deref();
    match opt.format {
        Format::Table => write(out, &render::table(c)),
        Format::Markdown => write(out, &render::markdown(c)),
        Format::Json => write(out, &render::json(c)),
        Format::Bmf => write(out, &render::bmf_json(c)),
        Format::GithubActionBenchmark => {
            let dir = out.expect("checked before loading");
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let (bigger, smaller) = render::github_action_benchmark(c);
            write_json(&dir.join("customBiggerIsBetter.json"), &bigger)?;
            write_json(&dir.join("customSmallerIsBetter.json"), &smaller)?;
            write(None, &render::table(c))
        }
    }
}

pub(crate) fn run(opt: CompareOpt) -> ExitCode {
    let comparison = match compare(&opt) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Err(e) = output(&opt, &comparison) {
        eprintln!("error: {e:#}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let regressed = comparison.count(Verdict::Regressed);
    let missing = comparison.missing_in_current();
    if regressed > 0 {
        eprintln!(
            "compare: {regressed} regression(s) past {}%",
            comparison.threshold * 100.0
        );
        ExitCode::from(EXIT_REGRESSION)
    } else if missing > 0 && opt.fail_on_missing {
        eprintln!("compare: {missing} baseline metric(s) missing from the current results");
        ExitCode::from(EXIT_MISSING)
    } else {
        ExitCode::SUCCESS
    }
}
