//! Options and helpers shared by several subcommands.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::identity::{self, Keypair};
use yamux_perf::perf::Payload;
use yamux_perf::security::Security;
use yamux_perf::transport::TcpConfig;
use yamux_perf::units::ByteSize;
use yamux_perf::upgrade::{ConnectionConfig, DEFAULT_HANDSHAKE_TIMEOUT};
use yamux_perf::yamux::{self, AutotuneRule, WindowAccounting};

#[derive(Debug, Args)]
pub(crate) struct IdentityOpt {
    /// Ed25519 key from a seed: 8 little-endian bytes of N, then zeros. Seed 0 is go
    /// test-plans' server key, 12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN.
    #[arg(long, conflicts_with = "key")]
    pub(crate) key_seed: Option<u64>,
    /// A libp2p protobuf-encoded private key file. Default: a fresh random key.
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CommonOpt {
    /// Receive window each stream starts with (at least 256KiB; more is advertised on SYN/ACK).
    #[arg(long, default_value = "256KiB")]
    pub(crate) initial_window: ByteSize,
    /// Largest receive window auto-tuning may reach.
    #[arg(long, default_value = "16MiB")]
    pub(crate) max_window: ByteSize,
    /// Keep the receive window at its initial size.
    #[arg(long)]
    pub(crate) no_autotune: bool,
    /// Window update arithmetic: `full` (correct) or `go` (go-yamux v5's lost delta).
    #[arg(long, value_enum, default_value_t = WindowAccounting::Full)]
    pub(crate) window_accounting: WindowAccounting,
    /// When the receive window grows: `go` (doubles when the last update is younger than
    /// 4 RTT), `ramp` (quadruples when it is younger than 2 RTT, else as go) or `shared` (as go,
    /// and a stream's window is first raised to the largest of its connection's streams).
    #[arg(long, value_enum, default_value_t = AutotuneRule::Go)]
    pub(crate) autotune_rule: AutotuneRule,
    /// Largest yamux DATA frame sent, 12-byte header included (go's MaxMessageSize).
    #[arg(long, default_value = "64KiB")]
    pub(crate) max_frame: ByteSize,
    /// TCP send buffer (SO_SNDBUF); default: kernel autotuning.
    #[arg(long)]
    pub(crate) send_buffer: Option<ByteSize>,
    /// TCP receive buffer (SO_RCVBUF); default: kernel autotuning.
    #[arg(long)]
    pub(crate) recv_buffer: Option<ByteSize>,
    /// Send a checkable byte pattern and verify every received byte (both ends must be
    /// yamux-perf with --verify; other peers send zeros).
    #[arg(long)]
    pub(crate) verify: bool,
    /// Seconds allowed for TCP connect plus the Noise and muxer handshakes.
    #[arg(long, default_value_t = DEFAULT_HANDSHAKE_TIMEOUT.as_secs_f64())]
    pub(crate) handshake_timeout: f64,
    /// Security protocol: `noise`, `tls` (libp2p TLS 1.3) or `plaintext` (libp2p
    /// /plaintext/2.0.0, for measurements only). The client proposes the one given (default
    /// noise); the server accepts every one given, comma-separated (default noise,tls).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) security: Vec<Security>,
    /// Offer no muxer inside the security handshake (Noise extensions, TLS ALPN: only
    /// `libp2p`), so yamux is negotiated with multistream-select inside the channel.
    #[arg(long)]
    pub(crate) no_early_muxer: bool,
}

/// `--quiet`, for a command whose stdout is already for scripts (`server`, `relay`: the
/// addresses) or as part of [`OutputOpt`].
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct QuietOpt {
    /// Nothing on stderr but errors: no progress, no human summary, no warnings or notes.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// The log filter when RUST_LOG is unset: `default`, or `error` when quiet.
fn log_level(quiet: bool, default: &'static str) -> &'static str {
    if quiet { "error" } else { default }
}

impl QuietOpt {
    /// See [`log_level`].
    pub(crate) fn log_level(&self, default: &'static str) -> &'static str {
        log_level(self.quiet, default)
    }
}

/// What a script that reads stdout wants: nothing on stderr but errors, or one JSON document.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct OutputOpt {
    #[command(flatten)]
    pub(crate) quiet: QuietOpt,
    /// stdout is exactly one JSON document and nothing else (see docs/cli.md); implies --quiet.
    #[arg(long)]
    pub(crate) json_only: bool,
}

impl OutputOpt {
    /// Whether only errors go to stderr.
    pub(crate) fn quiet(&self) -> bool {
        self.quiet.quiet || self.json_only
    }

    /// See [`log_level`].
    pub(crate) fn log_level(&self, default: &'static str) -> &'static str {
        log_level(self.quiet(), default)
    }
}

impl IdentityOpt {
    pub(crate) fn keypair(&self) -> Result<Keypair> {
        Ok(match (&self.key, self.key_seed) {
            (Some(path), _) => identity::load_keypair(path)
                .with_context(|| format!("reading key {}", path.display()))?,
            (None, Some(seed)) => identity::keypair_from_seed(seed),
            (None, None) => identity::generate(),
        })
    }
}

pub(crate) fn seconds(value: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| UsageError(format!("{what} must be a non-negative number of seconds")).into())
}

impl CommonOpt {
    pub(crate) fn connection(&self, identity: Keypair) -> Result<ConnectionConfig> {
        let yamux = yamux::Config {
            autotune: !self.no_autotune,
            accounting: self.window_accounting,
            autotune_rule: self.autotune_rule,
            ..yamux::Config::default()
        }
        .with_sizes(
            self.initial_window.bytes(),
            self.max_window.bytes(),
            self.max_frame.bytes(),
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.setting().flag()))?;
        let buffer = |size: Option<ByteSize>| size.map(|s| s.bytes() as usize);
        let security = Security::proposed(&self.security).unwrap_or_default();
        let accept = Security::accepted(&self.security);
        let config = ConnectionConfig {
            identity,
            yamux,
            driver: Default::default(),
            tcp: TcpConfig {
                send_buffer: buffer(self.send_buffer),
                recv_buffer: buffer(self.recv_buffer),
                ..TcpConfig::default()
            },
            handshake_timeout: seconds(self.handshake_timeout, "--handshake-timeout")?,
            // A server may name several; the client checks it names one (`client::run`).
            security,
            accept,
            early_muxer: !self.no_early_muxer,
        };
        // Library start-up off the measured connection setup.
        config.prepare();
        Ok(config)
    }

    pub(crate) fn payload(&self) -> Payload {
        if self.verify {
            Payload::Pattern
        } else {
            Payload::Zeros
        }
    }
}

/// A command line that cannot work, found before any work starts (a bad flag combination, an
/// output path that cannot be written): exit code 2, as for clap's own usage errors
/// (docs/exit-codes.md).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// Bad input (a config or result file that cannot be read): a [`UsageError`], so exit code 2,
/// with `what` before the error and its causes.
pub(crate) fn bad_input(
    what: impl std::fmt::Display,
    error: impl Into<anyhow::Error>,
) -> anyhow::Error {
    UsageError(format!("{what}: {:#}", error.into())).into()
}

/// Returns a [`UsageError`] from the enclosing function, formatted as by `format!`.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::cli::common::UsageError(format!($($arg)*)).into())
    };
}
pub(crate) use usage;

/// Checks every output file first (see [`yamux_perf::outputs`]): a path that cannot be
/// written is a usage error, reported before the run.
pub(crate) fn check_output_files<'a>(
    paths: impl IntoIterator<Item = &'a std::path::Path>,
) -> Result<()> {
    for path in paths {
        yamux_perf::outputs::check_file(path).map_err(|e| UsageError(e.to_string()))?;
    }
    Ok(())
}

/// Checks (and creates) an output directory first; see [`check_output_files`].
pub(crate) fn check_output_dir(dir: &std::path::Path) -> Result<()> {
    yamux_perf::outputs::check_dir(dir).map_err(|e| UsageError(e.to_string()).into())
}
