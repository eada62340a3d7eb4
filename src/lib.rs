//! yamux-perf: a throughput benchmark for libp2p stream multiplexing.
//!
//! It speaks the real libp2p wire protocols (TCP, multistream-select 1.0, Noise XX with the libp2p
//! handshake payload, yamux 1.0.0 and `/perf/1.0.0`) with its own implementation of each layer, so
//! it can measure itself and any other libp2p implementation.
//!
//! # Layout
//!
//! In stack order, each layer only uses the one below it:
//!
//! - [`transport`]: TCP sockets (dial, listen) with socket options set through socket2.
//! - [`multistream`]: multistream-select 1.0, used on the raw TCP connection (to pick `/noise`),
//!   inside Noise (to pick `/yamux/1.0.0`) and on every yamux stream (to pick `/perf/1.0.0`).
//! - [`identity`]: Ed25519 identity keys and peer ids (through libp2p-identity).
//! - [`noise`]: the Noise XX handshake with the libp2p payload and the transport cipher.
//! - [`yamux`]: a sans-IO yamux session ([`yamux::Session`]) and its tokio driver
//!   ([`yamux::Connection`]).
//! - [`plaintext`]: libp2p `/plaintext/2.0.0`, the unencrypted alternative to Noise (for
//!   measurements).
//! - [`upgrade`]: the pipeline that upgrades a TCP socket into an authenticated yamux connection.
//! - [`interop`]: the matrix of implementations (ours, go, rust, js, py) in both roles.
//! - [`perf`]: the `/perf/1.0.0` client and server.
//! - [`ping`]: libp2p ping (`/ipfs/ping/1.0.0`), the round trip of an established stream.
//! - [`procstat`]: CPU time and peak RSS of a process, from /proc.
//! - [`relay`]: a user-space link emulator (delay, rate, bounded queue) between TCP endpoints.
//! - [`sweep`]: the sweep engine (config matrix, process orchestration, output files), whose
//!   output types are [`results`].
//! - [`plot`]: SVG plots of sweep results (reads result files only, never runs a benchmark).
//! - [`compare`]: two result sets side by side, per case and metric, with a verdict; and
//!   [`report`]: a Markdown or test-plans summary of results. Both only read results.
//! - [`units`]: byte sizes and rates as engineers write them (`1GiB`, `2.5 Gbit/s`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bufio;
pub mod build_info;
pub mod compare;
pub mod identity;
pub mod interop;
pub mod multistream;
pub mod noise;
pub mod perf;
pub mod ping;
pub mod plaintext;
pub mod plot;
pub mod procstat;
pub mod relay;
pub mod report;
pub mod results;
pub mod security;
pub mod sweep;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transport;
pub mod units;
pub mod upgrade;
pub mod yamux;

/// An error with all its causes, `outer: inner: innermost`, for log lines (anyhow's `{:#}` does
/// the same at the command line).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
