//! `yamux-perf keygen`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::identity;

#[derive(Debug, Args)]
pub(crate) struct KeygenOpt {
    /// Where to write the key (created with mode 0600).
    pub(crate) out: PathBuf,
    /// Derive the key from a seed instead of generating a random one.
    #[arg(long)]
    pub(crate) key_seed: Option<u64>,
}

pub(crate) fn run(opt: KeygenOpt) -> Result<()> {
    let keypair = match opt.key_seed {
        Some(seed) => identity::keypair_from_seed(seed),
        None => identity::generate(),
    };
    identity::save_keypair(&keypair, &opt.out)
        .with_context(|| format!("writing {}", opt.out.display()))?;
    println!("{}", keypair.public().to_peer_id());
    Ok(())
}
