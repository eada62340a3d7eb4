//! The subcommands, one module each; [`common`] holds what they share.

pub(crate) mod client;
pub(crate) mod common;
pub(crate) mod compare;
pub(crate) mod dashboard;
pub(crate) mod icount;
pub(crate) mod interop;
pub(crate) mod keygen;
pub(crate) mod plot;
pub(crate) mod relay;
pub(crate) mod report;
pub(crate) mod server;
pub(crate) mod shell;
pub(crate) mod sweep;
pub(crate) mod unified;

/// The exit codes (docs/exit-codes.md): 0 success, [`FAILURE`] the work failed, [`USAGE`] the
/// command line cannot work (clap's own errors exit 2 too); `compare` has its own meanings for
/// 1 to 3 (`compare::EXIT_*`).
pub(crate) const FAILURE: u8 = 1;
/// See [`FAILURE`].
pub(crate) const USAGE: u8 = 2;
