//! yamux-perf: a throughput benchmark for libp2p stream multiplexing.
//!
//! It speaks the real libp2p wire protocols (TCP, multistream-select 1.0, Noise XX with the libp2p
//! handshake payload, yamux 1.0.0 and `/perf/1.0.0`) with its own implementation of each layer, so
//! it can measure itself and any other libp2p implementation.
//!
//! # Layout
//!
//! ## The stack
//!
//! A connection is built as a pipeline, in this order: transport → multistream-select →
//! security → multistream-select (or the muxer agreed inside the security handshake) → muxer.
//! [`upgrade`] is the one place that assembles it. Where a protocol has state, it lives in a
//! sans-IO core (bytes and an explicit `now` in; bytes, frames and timer deadlines out) with a
//! thin tokio adapter around it, and the adapters read the time only through
//! [`yamux::driver::now`] (tokio's clock, so tests can pause it).
//!
//! - [`transport`]: the first stage, a byte stream to the peer ([`transport::Transport`],
//!   [`transport::Socket`]): TCP with socket options set through socket2, and WebSocket.
//! - [`multistream`]: multistream-select 1.0: the message codec, the listener and dialer, and the
//!   sans-IO check of a lazily proposed protocol's echo ([`multistream::EchoCheck`]). Used on the
//!   raw connection, inside the secure channel and on every yamux stream.
//! - [`security`]: which secure channel a connection uses ([`security::Security`]), the one
//!   definition the CLI, the sweep, the results and the reports share.
//! - [`identity`]: Ed25519 identity keys and peer ids (through libp2p-identity).
//! - [`noise`]: the Noise XX handshake with the libp2p payload (sans-IO) and the transport
//!   cipher; `noise::stage` plugs it into the pipeline as a security stage.
//! - [`tls`]: libp2p TLS 1.3 on rustls: the certificate with the libp2p extension, our own
//!   verifiers, the handshake as a security stage and the TLS 1.3 record layer below yamux.
//! - [`plaintext`]: libp2p `/plaintext/2.0.0`, the unencrypted alternative (for measurements).
//! - [`yamux`]: the sans-IO session (`session`, `flow`, `frame`, `stream`, `wire`: no tokio, no
//!   clock, no sockets) and its tokio driver ([`yamux::driver`]: reader and writer tasks, stream
//!   handles, the cipher seam [`yamux::driver::Seal`]/[`yamux::driver::Open`], the clock seam).
//! - [`upgrade`]: the pipeline: the stage traits ([`upgrade::SecurityStage`],
//!   [`upgrade::MuxerStage`]), [`upgrade::dial`] and [`upgrade::accept`], and the secured stream
//!   used when the muxer is negotiated inside the channel.
//! - [`bufio`]: a read buffer over an async stream, shared by the handshakes.
//!
//! The stage modules depend on the pipeline's traits, not the other way round: [`noise`],
//! [`tls`] and [`plaintext`] implement [`upgrade::SecurityStage`] and hand their ciphers to the driver as
//! [`yamux::driver::Seal`]/[`yamux::driver::Open`]; [`upgrade`] names each stage once, in its
//! match on [`security::Security`].
//!
//! ## Protocols on a stream
//!
//! - [`perf`]: `/perf/1.0.0` client and server, and the bare-TCP baseline, over one perf loop;
//!   its run report ([`perf::report`]) is also what the sweep stores per run.
//! - [`ping`]: libp2p ping (`/ipfs/ping/1.0.0`), the round trip of an established stream.
//! - [`probe`]: latency under load: ping probes on the transfer's connection and on a control
//!   connection, idle and during the transfer.
//!
//! ## The bench side
//!
//! The stack never uses these (only tests do); [`perf`]'s report records [`procstat`] and
//! [`build_info`] figures.
//!
//! - [`netns`]: test hosts in two network namespaces joined by a veth pair (`tbf` for the rate).
//! - [`relay`]: a user-space link emulator (delay, rate, bounded queue) between TCP endpoints.
//! - [`sim`]: the same link model on a virtual clock, with both yamux sessions and the perf
//!   protocol in one process: the sweep's deterministic `engine = "sim"`.
//! - [`procstat`]: CPU time and peak RSS of a process, from /proc.
//! - [`sweep`]: the sweep engine (config matrix, server processes, output files), whose output
//!   types are [`results`]; [`build_info`] is the binary's git revision that every result records.
//! - [`interop`]: the matrix of implementations (ours, go, rust, js, py) in both roles.
//! - [`unified`]: libp2p/unified-testing's perf contract (environment, Redis, iterations, the
//!   YAML its harness keeps), the entry point of the Docker image.
//! - [`plot`]: SVG plots of results; [`compare`]: two result sets side by side, per case and
//!   metric, with a verdict; [`report`]: a Markdown or test-plans summary; [`dashboard`]: a
//!   history of result sets, one per commit, as one static HTML page. These four only read
//!   result files.
//! - [`icount`]: the instruction-count workloads (`benches/icount.rs`, under Valgrind) and their
//!   result file, which `compare` reads.
//! - [`outputs`]: output paths checked for writability before the work that fills them.
//! - [`units`]: byte sizes and rates as engineers write them (`1GiB`, `2.5 Gbit/s`).
//! - `testing` (cargo feature `testing`, on for tests, benches and fuzz targets): the session
//!   pair on a simulated clock, the in-memory pump of the benches, frame helpers and the fuzz
//!   target bodies; not in release builds.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bufio;
pub mod build_info;
pub mod compare;
pub mod dashboard;
pub mod icount;
pub mod identity;
pub mod interop;
pub mod multistream;
pub mod netns;
pub mod noise;
pub mod outputs;
pub mod perf;
pub mod ping;
pub mod plaintext;
pub mod plot;
pub mod probe;
pub mod procstat;
pub mod relay;
pub mod report;
pub mod results;
pub mod security;
pub mod sim;
pub mod sweep;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tls;
pub mod transport;
pub mod unified;
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
