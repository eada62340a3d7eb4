//! `yamux-perf report RESULTS...`: a Markdown summary for a PR comment, or test-plans'
//! `benchmark-results.json` (see [`yamux_perf::report`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use yamux_perf::compare::Input;
use yamux_perf::report;

use super::common::{bad_input, check_output_files};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Markdown: machine, revision, command, tables, ours vs the other implementations.
    Markdown,
    /// libp2p test-plans' benchmark-results.json shape.
    TestPlans,
}

#[derive(Debug, Args)]
pub(crate) struct ReportOpt {
    /// Results: sweep directories, summary.json or case JSON files, interop JSON files.
    #[arg(required = true)]
    pub(crate) results: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    pub(crate) format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// The interop peers' sources, whose manifests give the peer versions for test-plans.
    #[arg(long, default_value = "interop")]
    pub(crate) interop_src: PathBuf,
}

pub(crate) fn run(opt: ReportOpt) -> Result<()> {
    check_output_files(opt.out.as_deref())?;
    let inputs = opt
        .results
        .iter()
        .map(|p| Input::load(p).map_err(|e| bad_input("reading results", e)))
        .collect::<Result<Vec<_>>>()?;
    let text = match opt.format {
        Format::Markdown => report::markdown(&inputs),
        Format::TestPlans => {
            let versions = report::peer_versions(&opt.interop_src);
            serde_json::to_string_pretty(&report::test_plans(&inputs, &versions))? + "\n"
        }
    };
    match &opt.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
