//! `yamux-perf plot`: SVG plots from sweep result files (see [`yamux_perf::plot`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::plot::{self, ResultSet};

use super::common::{bad_input, check_output_dir};

#[derive(Debug, Args)]
pub(crate) struct PlotOpt {
    /// Sweep output directories (with summary.json), summary.json files, or case JSON files.
    #[arg(required = true)]
    pub(crate) results: Vec<PathBuf>,
    /// Output directory; each input's plots go to <out>/<sweep name>/.
    #[arg(long, default_value = "plots")]
    pub(crate) out: PathBuf,
}

pub(crate) fn run(opt: PlotOpt) -> Result<()> {
    // Read every input first, so a bad one fails before anything is written (not even --out).
    let sets = opt
        .results
        .iter()
        .map(|path| {
            ResultSet::load(path)
                .map_err(|e| bad_input(format_args!("loading {}", path.display()), e))
        })
        .collect::<Result<Vec<_>>>()?;
    check_output_dir(&opt.out)?;
    for set in &sets {
        let files = plot::plot_set(set, &opt.out)
            .with_context(|| format!("plotting {}", set.source.display()))?;
        if files.is_empty() {
            eprintln!(
                "{}: nothing to plot (no case varies the RTT or frame cap, and no traces, histograms or intervals)",
                set.source.display()
            );
        }
        for file in files {
            println!("{}", file.display());
        }
    }
    Ok(())
}
