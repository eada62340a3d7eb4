//! `yamux-perf completions` and `yamux-perf manpage`: generated from the clap definitions, so
//! they name every subcommand and flag that `--help` does.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::common::check_output_dir;

#[derive(Debug, Args)]
pub(crate) struct CompletionsOpt {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManpageOpt {
    /// Write yamux-perf.1 and one page per subcommand (yamux-perf-client.1, …) into this
    /// directory instead of printing the main page.
    #[arg(long)]
    pub(crate) out_dir: Option<PathBuf>,
}

/// Prints the completion script for `opt.shell` to stdout.
pub(crate) fn completions(opt: CompletionsOpt, mut command: clap::Command) -> Result<()> {
    let name = command.get_name().to_string();
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(opt.shell, &mut command, name, &mut stdout);
    stdout.flush()?;
    Ok(())
}

/// Prints the main man page (roff; its SUBCOMMANDS section names each subcommand), or writes
/// every page into `--out-dir`.
pub(crate) fn manpage(opt: ManpageOpt, command: clap::Command) -> Result<()> {
    match opt.out_dir {
        Some(dir) => {
            check_output_dir(&dir)?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            eprintln!("wrote man pages into {}", dir.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut stdout)?;
            stdout.flush()?;
        }
    }
    Ok(())
}
