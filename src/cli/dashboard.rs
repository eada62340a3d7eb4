//! `yamux-perf dashboard HISTORY_DIR --out DIR`: a history of results as one static HTML page
//! (see [`yamux_perf::dashboard`]). Exit codes: 0 written, 2 bad input (an empty or unreadable
//! history, sets of different kinds, an --out that cannot be written), 1 a write that failed
//! midway.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use yamux_perf::compare::{DEFAULT_THRESHOLD, Threshold};
use yamux_perf::dashboard::{self, History};

use super::common::{bad_input, check_output_dir};

#[derive(Debug, Args)]
pub(crate) struct DashboardOpt {
    /// One directory per commit, each with commit.json (revision, committed_unix_s, subject)
    /// and its results: a sweep output directory, or result directories and JSON files (one
    /// series each, e.g. sim/, smoke/, icount.json).
    pub(crate) history: PathBuf,
    /// Output directory: index.html and, under cases/, the result files its points link to.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Relative change a verdict needs, as for compare ("5%" or "0.05"); a regression must
    /// also lie outside the spread of both commits' repetitions.
    #[arg(long, default_value = DEFAULT_THRESHOLD)]
    pub(crate) threshold: Threshold,
}

pub(crate) fn run(opt: DashboardOpt) -> Result<()> {
    check_output_dir(&opt.out)?;
    let history = History::load(&opt.history).map_err(|e| bad_input("reading the history", e))?;
    let board = dashboard::build(history, opt.threshold)
        .map_err(|e| bad_input("comparing the history", e))?;
    let page = dashboard::write(&board, &opt.out)?;
    println!("{}", page.display());
    eprintln!(
        "dashboard: {} commits, {} series, {} plots, {} regression(s), {} improvement(s)",
        board.history.commits.len(),
        board.series.len(),
        board.plots().count(),
        board.count(dashboard::Mark::Regression),
        board.count(dashboard::Mark::Improvement),
    );
    Ok(())
}
