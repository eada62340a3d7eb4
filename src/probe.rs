//! Latency under load (`client --probe ping`): libp2p pings next to a bulk transfer.
//!
//! Two probes ping the server at the same fixed interval, both through the same network path:
//! one on a stream of the transfer's own connection (its pings and pongs queue behind the bulk
//! data in both muxers' send queues and in the kernel socket buffers), the other, the control,
//! on a second connection of its own. Each runs first for an idle phase before the transfer and
//! then while it runs (loaded). The loaded difference between the two is what the muxer and its
//! connection's buffers add (the metric [`MuxerAdded`]), the way flent's RRUL test and the IETF
//! "Responsiveness under Working Conditions" draft measure a link under load.
//!
//! Each probe has at most one ping outstanding, so pings never queue behind each other: a tick
//! that comes while a ping is outstanding is skipped and counted (`missed_ticks`), and the
//! outstanding ping is recorded, with its full round trip, when its answer arrives; the next
//! ping goes out at the next tick after that. A ping is attributed to the phase it was sent in.
//! A ping without an answer within [`ProbeConfig::answer_timeout`] is an error that names the
//! connection and the peer.

use std::time::Duration;

use hdrhistogram::Histogram;
use libp2p_identity::PeerId;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::bufio::BufferedIo;
use crate::multistream::{self, NegotiationError};
use crate::ping::{self, PingError};
use crate::yamux;

/// What a probe sends.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum ProbeKind {
    /// libp2p ping (`/ipfs/ping/1.0.0`, 32 bytes each way) on one established stream.
    #[default]
    Ping,
}

impl ProbeKind {
    /// The flag and matrix value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Ping => "ping",
        }
    }
}

/// The default `--probe-interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);
/// The default `--probe-idle`: the idle phase before the transfer.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(1);
/// How long a ping may go unanswered before the probe fails.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// How the probes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// What they send.
    pub kind: ProbeKind,
    /// One ping per interval (above zero).
    pub interval: Duration,
    /// The idle phase before the transfer starts (at least one interval).
    pub idle: Duration,
    /// The bound on one ping's answer (and on the protocol negotiation).
    pub answer_timeout: Duration,
}

impl ProbeConfig {
    /// A probe of `kind` every `interval` with an idle phase of `idle`; refuses an interval of
    /// zero and an idle phase shorter than one interval (it would have no samples).
    pub fn new(kind: ProbeKind, interval: Duration, idle: Duration) -> Result<Self, ProbeError> {
        if interval.is_zero() {
            return Err(ProbeError::Config(
                "--probe-interval must be above 0".into(),
            ));
        }
        if idle < interval {
            return Err(ProbeError::Config(format!(
                "--probe-idle ({idle:?}) must be at least one --probe-interval ({interval:?}), or the idle phase has no ping"
            )));
        }
        Ok(Self {
            kind,
            interval,
            idle,
            answer_timeout: ANSWER_TIMEOUT,
        })
    }
}

/// Which connection a probe runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// A stream of the transfer's connection.
    SameConnection,
    /// A second connection to the same server (the control).
    SeparateConnection,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Path::SameConnection => "the transfer's connection",
            Path::SeparateConnection => "the control connection",
        })
    }
}

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// A setting out of bounds.
    #[error("{0}")]
    Config(String),
    /// The probe's stream could not be opened.
    #[error("ping probe on {path}: opening a stream to {peer} failed")]
    Open {
        /// The connection.
        path: Path,
        /// The server's peer id.
        peer: String,
        /// Why.
        #[source]
        source: yamux::ConnectionError,
    },
    /// The server did not agree to `/ipfs/ping/1.0.0` (it has no ping handler).
    #[error(
        "ping probe on {path}: {peer} refused {}; the probe needs a server with a ping handler",
        ping::PROTOCOL_ID
    )]
    Refused {
        /// The connection.
        path: Path,
        /// The server's peer id.
        peer: String,
        /// The negotiation's error.
        #[source]
        source: NegotiationError,
    },
    /// A ping failed (the stream broke, or a wrong answer).
    #[error("ping probe on {path} to {peer} failed")]
    Ping {
        /// The connection.
        path: Path,
        /// The server's peer id.
        peer: String,
        /// Why.
        #[source]
        source: PingError,
    },
    /// A ping (or the negotiation) got no answer within the bound.
    #[error("ping probe on {path}: {peer} did not answer within {after:?}")]
    NoAnswer {
        /// The connection.
        path: Path,
        /// The server's peer id.
        peer: String,
        /// The bound.
        after: Duration,
    },
    /// The probe task panicked or was cancelled.
    #[error("ping probe on {path} stopped: {reason}")]
    Stopped {
        /// The connection.
        path: Path,
        /// Why.
        reason: String,
    },
}

/// Percentiles of one phase's round trips, ms (from an HDR histogram in µs, 3 significant
/// digits); all zero when `n` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Round trips recorded.
    pub n: u64,
}

impl Percentiles {
    /// The percentiles of `h` (values in µs).
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1e3;
        Self {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            n: h.len(),
        }
    }
}

/// One probe's result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbeSide {
    /// Round trips before the transfer.
    pub idle_ms: Percentiles,
    /// Round trips sent while the transfer ran.
    pub loaded_ms: Percentiles,
    /// Ticks skipped because the previous ping was still outstanding (both phases).
    pub missed_ticks: u64,
}

/// The `latency_under_load` object of the client's report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyUnderLoad {
    /// What the probes sent.
    pub probe: ProbeKind,
    /// One ping per this many ms.
    pub interval_ms: f64,
    /// The idle phase before the transfer, seconds.
    pub idle_seconds: f64,
    /// The probe on a stream of the transfer's connection.
    pub same_connection: ProbeSide,
    /// The control probe on a second connection to the same server.
    pub separate_connection: ProbeSide,
}

/// What the muxer (and its connection's buffers) added under load: the same-connection probe's
/// loaded percentile minus the control's, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MuxerAdded {
    /// Loaded p50, same minus separate.
    pub p50: f64,
    /// Loaded p99, same minus separate.
    pub p99: f64,
}

impl LatencyUnderLoad {
    /// The muxer-added latency; `None` unless both probes have loaded samples.
    pub fn muxer_added(&self) -> Option<MuxerAdded> {
        let (same, separate) = (
            &self.same_connection.loaded_ms,
            &self.separate_connection.loaded_ms,
        );
        (same.n > 0 && separate.n > 0).then_some(MuxerAdded {
            p50: same.p50 - separate.p50,
            p99: same.p99 - separate.p99,
        })
    }
}

/// The phase a ping is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Loaded,
    Done,
}

/// What one probe task gathered.
#[derive(Debug)]
struct Gathered {
    idle: Histogram<u64>,
    loaded: Histogram<u64>,
    missed_ticks: u64,
}

impl Gathered {
    fn side(&self) -> ProbeSide {
        ProbeSide {
            idle_ms: Percentiles::of(&self.idle),
            loaded_ms: Percentiles::of(&self.loaded),
            missed_ticks: self.missed_ticks,
        }
    }
}

/// Round trips in µs, from 1 µs to an hour (3 significant digits). Fixed bounds: on an
/// auto-resizing histogram, hdrhistogram 7's `saturating_record` clamps a value beyond the
/// current range instead of growing (a 2 ms round trip came out as 2 µs).
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

type ProbeTask = JoinHandle<Result<Gathered, ProbeError>>;

/// The two probes of a run, started idle.
#[derive(Debug)]
pub struct Probes {
    config: ProbeConfig,
    phase: watch::Sender<Phase>,
    same: ProbeTask,
    separate: ProbeTask,
}

impl Probes {
    /// Starts the probe on `same` (the transfer's connection) and the control on `separate`,
    /// both to `peer`, in the idle phase.
    pub fn start(
        config: ProbeConfig,
        peer: PeerId,
        same: yamux::Connection,
        separate: yamux::Connection,
    ) -> Self {
        let (phase, rx) = watch::channel(Phase::Idle);
        let spawn =
            |path, connection, rx| tokio::spawn(run_probe(config, path, peer, connection, rx));
        Self {
            config,
            same: spawn(Path::SameConnection, same, rx.clone()),
            separate: spawn(Path::SeparateConnection, separate, rx),
            phase,
        }
    }

    /// Waits out the idle phase; fails early with the error of a probe that stopped during it
    /// (a probe ends on its own only by failing).
    pub async fn idle(&mut self) -> Result<(), ProbeError> {
        let (path, result) = tokio::select! {
            () = tokio::time::sleep(self.config.idle) => return Ok(()),
            r = &mut self.same => (Path::SameConnection, r),
            r = &mut self.separate => (Path::SeparateConnection, r),
        };
        flatten(path, result)?;
        Err(ProbeError::Stopped {
            path,
            reason: "it ended during the idle phase".into(),
        })
    }

    /// From now on, pings count as loaded (call it right before the transfer starts).
    pub fn load(&self) {
        self.phase.send_replace(Phase::Loaded);
    }

    /// Stops both probes (an outstanding ping is awaited and recorded) and returns the result.
    pub async fn finish(mut self) -> Result<LatencyUnderLoad, ProbeError> {
        self.phase.send_replace(Phase::Done);
        let same = joined(Path::SameConnection, &mut self.same).await?;
        let separate = joined(Path::SeparateConnection, &mut self.separate).await?;
        Ok(LatencyUnderLoad {
            probe: self.config.kind,
            interval_ms: self.config.interval.as_secs_f64() * 1e3,
            idle_seconds: self.config.idle.as_secs_f64(),
            same_connection: same.side(),
            separate_connection: separate.side(),
        })
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        self.same.abort();
        self.separate.abort();
    }
}

async fn joined(path: Path, task: &mut ProbeTask) -> Result<Gathered, ProbeError> {
    flatten(path, task.await)
}

fn flatten(
    path: Path,
    joined: Result<Result<Gathered, ProbeError>, tokio::task::JoinError>,
) -> Result<Gathered, ProbeError> {
    joined.map_err(|e| ProbeError::Stopped {
        path,
        reason: e.to_string(),
    })?
}

/// One probe: a ping stream on `connection`, one ping per tick until the phase is `Done`.
async fn run_probe(
    config: ProbeConfig,
    path: Path,
    peer: PeerId,
    connection: yamux::Connection,
    mut phase: watch::Receiver<Phase>,
) -> Result<Gathered, ProbeError> {
    let bound = config.answer_timeout;
    let peer = peer.to_string();
    let no_answer = || ProbeError::NoAnswer {
        path,
        peer: peer.clone(),
        after: bound,
    };
    let stream = connection
        .open_stream()
        .await
        .map_err(|source| ProbeError::Open {
            path,
            peer: peer.clone(),
            source,
        })?;
    let mut io = BufferedIo::new(stream);
    tokio::time::timeout(
        bound,
        multistream::dialer_select(&mut io, ping::PROTOCOL_ID),
    )
    .await
    .map_err(|_| no_answer())?
    .map_err(|source| ProbeError::Refused {
        path,
        peer: peer.clone(),
        source,
    })?;
    let mut gathered = Gathered {
        idle: histogram(),
        loaded: histogram(),
        missed_ticks: 0,
    };
    let mut ticker = tokio::time::interval(config.interval);
    // Skip: after a slow answer the next ping goes out on the next tick of the original grid,
    // never in a burst of catch-up pings.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last_tick: Option<tokio::time::Instant> = None;
    let interval_ns = config.interval.as_nanos().max(1);
    for round in 0.. {
        let tick = tokio::select! {
            tick = ticker.tick() => tick,
            _ = phase.wait_for(|p| *p == Phase::Done) => break,
        };
        let sent_in = *phase.borrow();
        if sent_in == Phase::Done {
            break;
        }
        if let Some(last) = last_tick {
            let ticks = (tick - last).as_nanos() / interval_ns;
            gathered.missed_ticks += u64::try_from(ticks.saturating_sub(1)).unwrap_or(u64::MAX);
        }
        last_tick = Some(tick);
        let rtt = tokio::time::timeout(bound, ping::one_round(&mut io, round))
            .await
            .map_err(|_| no_answer())?
            .map_err(|source| ProbeError::Ping {
                path,
                peer: peer.clone(),
                source,
            })?;
        let h = match sent_in {
            Phase::Idle => &mut gathered.idle,
            _ => &mut gathered.loaded,
        };
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX).max(1);
        h.saturating_record(us);
    }
    if let Err(e) = io.get_mut().shutdown().await {
        tracing::debug!(?path, "closing the ping probe stream: {e}");
    }
    Ok(gathered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_bounds_are_refused() {
        let ms = Duration::from_millis;
        assert!(ProbeConfig::new(ProbeKind::Ping, ms(10), ms(1000)).is_ok());
        let zero = ProbeConfig::new(ProbeKind::Ping, ms(0), ms(1000)).unwrap_err();
        assert!(zero.to_string().contains("above 0"), "{zero}");
        let short = ProbeConfig::new(ProbeKind::Ping, ms(100), ms(50)).unwrap_err();
        assert!(short.to_string().contains("at least one"), "{short}");
    }

    #[test]
    fn muxer_added_is_same_minus_separate_when_both_have_samples() {
        let p = |p50, p99, n| Percentiles {
            p50,
            p90: p50,
            p99,
            max: p99,
            n,
        };
        let side = |loaded| ProbeSide {
            idle_ms: p(0.1, 0.2, 100),
            loaded_ms: loaded,
            missed_ticks: 0,
        };
        let mut l = LatencyUnderLoad {
            probe: ProbeKind::Ping,
            interval_ms: 10.0,
            idle_seconds: 1.0,
            same_connection: side(p(5.0, 9.0, 50)),
            separate_connection: side(p(1.0, 2.0, 50)),
        };
        assert_eq!(l.muxer_added(), Some(MuxerAdded { p50: 4.0, p99: 7.0 }));
        l.separate_connection.loaded_ms.n = 0;
        assert_eq!(l.muxer_added(), None);
    }

    #[test]
    fn large_round_trips_are_recorded_as_they_are() {
        let mut h = histogram();
        h.saturating_record(2_000);
        h.saturating_record(23_000);
        let p = Percentiles::of(&h);
        assert!((p.max - 23.0).abs() < 0.1, "{p:?}");
        assert!((p.p50 - 2.0).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn percentiles_come_from_the_histogram_in_ms() {
        let mut h = histogram();
        for us in 1..=100 {
            h.record(us * 1000).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.n, 100);
        assert!((p.p50 - 50.0).abs() < 0.1, "{p:?}");
        assert!((p.p99 - 99.0).abs() < 0.1, "{p:?}");
        assert!((p.max - 100.0).abs() < 0.1, "{p:?}");
    }
}
