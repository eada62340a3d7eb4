//! `yamux-perf icount --from DIR --out FILE`: gungraun's summaries of `benches/icount.rs` into
//! the instruction-count result file that `compare` reads ([`yamux_perf::icount`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::icount;

use super::common::{UsageError, check_output_files};

#[derive(Debug, Args)]
pub(crate) struct IcountOpt {
    /// A gungraun output directory (target/gungraun after `cargo bench --bench icount --
    /// --save-summary=json`); repeat it for several repetitions, one copy of the directory each.
    #[arg(long, required = true)]
    pub(crate) from: Vec<PathBuf>,
    /// Where to write the JSON (instructions per workload and repetition, per byte or per
    /// operation, with the revision and the machine).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

pub(crate) fn run(opt: IcountOpt) -> Result<()> {
    check_output_files([opt.out.as_path()])?;
    let command: Vec<String> = std::env::args().collect();
    let file = icount::from_gungraun(&opt.from, command).map_err(|e| UsageError(e.to_string()))?;
    let text = serde_json::to_string_pretty(&file)? + "\n";
    std::fs::write(&opt.out, text).with_context(|| format!("writing {}", opt.out.display()))?;
    for w in &file.workloads {
        let per: Vec<String> = w.per_unit().map(|v| format!("{v:.3}")).collect();
        println!(
            "{:<20} {:>12} instructions/{} ({} runs)",
            w.id,
            per.join(" "),
            match w.unit {
                icount::Unit::Byte => "byte",
                icount::Unit::Op => "op",
            },
            w.instructions.len()
        );
    }
    Ok(())
}
