//! The sweep engine: a matrix of cases from `bench-configs/*.toml`, each run as separate
//! server, relay and client processes, with results as JSON, HDR histograms and window traces.
//!
//! - [`config`]: the TOML format, matrix expansion, content-derived case ids, the peer table.
//! - [`run`]: orchestration of the processes and the in-process relay, and the output files.
//! - `simulated`: the same cases and files from [`crate::sim`] (`engine = "sim"`).
//! - [`hgrm`]: HdrHistogram's percentile-distribution text format.
//! - [`host`]: the machine, its socket-buffer caps and the git revision a result comes from.
//! - [`process`]: a server process and the address it prints first (also for the interop matrix
//!   and the tests).
//!
//! The output types live in [`crate::results`]. This module does not plot or compare results;
//! it only produces them.

pub mod config;
pub mod hgrm;
pub mod host;
pub mod process;
pub mod run;
mod simulated;

pub use config::{Case, ConfigError, Sweep, load};
pub use host::HostFacts;
pub use run::{Observer, RunError, RunOptions, SweepError, run_sweep};
