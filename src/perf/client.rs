//! The perf client: connections, parallel perf streams, a latency mode and a ping mode; timed
//! from the dial.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libp2p_identity::PeerId;
use tokio::io::AsyncWriteExt;

use super::churn::{Churn, ChurnReport, RSS_CHECKPOINT};
use super::fairness::{SHORT_FLOW_SPACING, ShortFlows, ShortFlowsReport};
use super::{PerfError, Progress, Request, StreamReport, dial_all, run_stream};
use crate::bufio::BufferedIo;
use crate::multistream;
use crate::ping::{self, PingError};
use crate::probe::{LatencyUnderLoad, ProbeConfig, Probes};
use crate::procstat;
use crate::transport::Addr;
use crate::upgrade::{self, ConnectionConfig, Established};
use crate::yamux;

/// How long the client waits for its GoAway to go out before it stops waiting.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server; a `/p2p/` id in it is verified.
    pub server: Addr,
    /// What each stream asks for.
    pub request: Request,
    /// Parallel perf streams per connection (at least 1).
    pub streams: usize,
    /// Parallel connections (at least 1).
    pub connections: usize,
    /// Stream k (counted over all connections) is opened k times this after the first.
    pub stagger: Duration,
    /// Short download streams on the first connection during the bulk transfer, one per
    /// [`SHORT_FLOW_SPACING`] from the start of the bulk streams.
    pub short_flows: Option<ShortFlows>,
    /// Connection settings (set `yamux.trace_windows` to get [`ClientReport::window_trace`]).
    pub connection: ConnectionConfig,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct ClientReport {
    /// The server's peer id, as proven by Noise or TLS.
    pub remote_peer: PeerId,
    /// The cipher suite of the (first) connection, `None` with plaintext.
    pub cipher: Option<&'static str>,
    /// TCP connect plus the security and muxer handshakes (the slowest connection).
    pub connect_duration: Duration,
    /// All streams taken together (see [`StreamReport::aggregate`]).
    pub stream: StreamReport,
    /// Every stream, connection by connection.
    pub streams: Vec<StreamReport>,
    /// From before the dial to the end of the download (what test-plans' `final` line reports).
    pub total_duration: Duration,
    /// Smoothed yamux ping RTT at the end (first connection).
    pub rtt: Option<Duration>,
    /// Every yamux RTT sample of every connection.
    pub rtt_samples: Vec<Duration>,
    /// yamux counters, summed over connections.
    pub stats: yamux::Stats,
    /// Window decisions and send credit of every connection, tagged with the connection's
    /// index (empty unless tracing was enabled).
    pub window_trace: Vec<(usize, yamux::TraceEvent)>,
    /// The short flows' completion times (with [`ClientConfig::short_flows`]).
    pub short_flows: Option<ShortFlowsReport>,
}

/// Dials, runs the perf streams and closes the connections.
pub async fn run(
    config: &ClientConfig,
    progress: Arc<Progress>,
) -> Result<ClientReport, PerfError> {
    Ok(run_probed(config, progress, None).await?.0)
}

/// [`run`] with latency-under-load probes (see [`crate::probe`]): after the dial, a ping probe
/// on the first connection and a control probe on a connection of its own run for the idle
/// phase, then on through the transfer. The idle phase is left out of `total_duration`.
pub async fn run_probed(
    config: &ClientConfig,
    progress: Arc<Progress>,
    probe: Option<ProbeConfig>,
) -> Result<(ClientReport, Option<LatencyUnderLoad>), PerfError> {
    let mut start = Instant::now();
    let (established, connect_duration): (Vec<Established>, _) =
        dial_all(start, config.connections, || {
            upgrade::dial(&config.server, &config.connection)
        })
        .await?;
    let remote_peer = established[0].remote_peer;
    let cipher = established[0].cipher;
    let _answering: Vec<AbortOnDrop> = established
        .iter()
        .map(|e| answer_inbound(&e.connection))
        .collect();
    tracing::debug!(peer = %remote_peer, ?connect_duration, "connected");
    let mut probes = match probe {
        Some(probe) => {
            let paused = Instant::now();
            let control = PerfConnection::dial(&config.server, &config.connection).await?;
            let mut probes = Probes::start(
                probe,
                remote_peer,
                established[0].connection.clone(),
                control.established.connection.clone(),
            );
            let idle = probes.idle().await;
            start += paused.elapsed();
            if let Err(e) = idle {
                close_all(established).await;
                control.close().await;
                return Err(e.into());
            }
            probes.load();
            Some((probes, control))
        }
        None => None,
    };
    let per_connection = config.streams.max(1);
    let slots = &progress.add_streams(established.len() * per_connection);
    let bulk_start = Instant::now();
    let runs = established.iter().enumerate().flat_map(|(c, e)| {
        (0..per_connection).map(move |s| {
            let k = c * per_connection + s;
            let (connection, slot) = (e.connection.clone(), slots[k].clone());
            async move {
                tokio::time::sleep_until((bulk_start + config.stagger * k as u32).into()).await;
                slot.start();
                let result = async {
                    let stream = connection.open_stream().await?;
                    run_stream(stream, config.request, &slot.progress).await
                }
                .await;
                slot.finish();
                result
            }
        })
    });
    let short = config.short_flows.map(|flows| {
        let runs = run_short_flows(
            established[0].connection.clone(),
            config.request,
            flows,
            bulk_start,
        );
        (flows, runs)
    });
    let (result, short) = match short {
        Some((flows, short)) => {
            let ((bulk, bulk_end), short) = tokio::join!(
                async {
                    let r = futures_util::future::try_join_all(runs).await;
                    (r, Instant::now())
                },
                short
            );
            (
                bulk,
                Some(short.map(|fct| ShortFlowsReport::new(flows, &fct, bulk_end))),
            )
        }
        None => (futures_util::future::try_join_all(runs).await, None),
    };
    let total_duration = start.elapsed();
    let mut stats = yamux::Stats::default();
    let (mut rtt_samples, mut window_trace) = (Vec::new(), Vec::new());
    for (i, e) in established.iter().enumerate() {
        add_stats(&mut stats, &e.connection.stats());
        rtt_samples.extend(e.connection.rtt_samples());
        window_trace.extend(e.connection.take_trace().into_iter().map(|t| (i, t)));
    }
    let rtt = established[0].connection.rtt();
    let probed = match probes.take() {
        Some((probes, control)) => {
            let finished = probes.finish().await;
            control.close().await;
            Some(finished)
        }
        None => None,
    };
    close_all(established).await;
    let streams = result?;
    let short_flows = short.transpose()?;
    let latency_under_load = probed.transpose()?;
    let report = ClientReport {
        remote_peer,
        cipher,
        connect_duration,
        stream: StreamReport::aggregate(&streams).expect("at least one stream"),
        streams,
        total_duration,
        rtt,
        rtt_samples,
        stats,
        window_trace,
        short_flows,
    };
    Ok((report, latency_under_load))
}

/// Opens `flows.count` download streams of `flows.size` on `connection`, one every
/// [`SHORT_FLOW_SPACING`] after `start` (whether or not the one before has finished); returns
/// each one's completion time (before the open to its last byte) and when it finished, in the
/// order they were opened.
async fn run_short_flows(
    connection: yamux::Connection,
    request: Request,
    flows: ShortFlows,
    start: Instant,
) -> Result<Vec<(Duration, Instant)>, PerfError> {
    let request = Request {
        upload: 0,
        download: flows.size,
        ..request
    };
    let runs = (0..flows.count).map(|i| {
        let connection = connection.clone();
        async move {
            let at = start + SHORT_FLOW_SPACING * (i as u32 + 1);
            tokio::time::sleep_until(at.into()).await;
            let begin = Instant::now();
            let stream = connection.open_stream().await?;
            run_stream(stream, request, &Arc::default()).await?;
            let end = Instant::now();
            Ok::<_, PerfError>((end - begin, end))
        }
    });
    futures_util::future::try_join_all(runs).await
}

/// Churn mode: `churn.count` perf streams of 1 byte each way on one connection, at most
/// `churn.concurrency` open at a time, each opened as soon as one before it closed. The report
/// has the connection's setup in `connect_duration` and the churn's own timing apart.
pub async fn run_churn(
    config: &ClientConfig,
    churn: Churn,
) -> Result<(LatencyReport, ChurnReport), PerfError> {
    let request = Request {
        upload: 1,
        download: 1,
        ..config.request
    };
    let next = &AtomicUsize::new(0);
    let done = &AtomicUsize::new(0);
    let checkpoint = &std::sync::OnceLock::new();
    // Into histograms, not a list: the memory the run itself holds stays the same however many
    // streams it opens, so growth of the resident memory is the stack's.
    let mut timed = (Duration::ZERO, crate::probe::histogram());
    let timed_out = &mut timed;
    let report = timed_rounds(config, |connection| async move {
        let start = Instant::now();
        let workers = (0..churn.concurrency).map(|_| {
            let connection = connection.clone();
            async move {
                let mut h = crate::probe::histogram();
                while next.fetch_add(1, Ordering::Relaxed) < churn.count {
                    let begin = Instant::now();
                    let stream = connection.open_stream().await?;
                    run_stream(stream, request, &Arc::default()).await?;
                    let _ = h.record((begin.elapsed().as_micros() as u64).max(1));
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == RSS_CHECKPOINT {
                        let _ = checkpoint.set(procstat::rss_bytes());
                    }
                }
                Ok::<_, PerfError>(h)
            }
        });
        let histograms = futures_util::future::try_join_all(workers).await?;
        timed_out.0 = start.elapsed();
        for h in histograms {
            let _ = timed_out.1.add(h);
        }
        Ok(Vec::new())
    })
    .await?;
    let churned = ChurnReport::new(
        churn,
        &timed.1,
        timed.0,
        checkpoint.get().copied().flatten(),
        procstat::rss_bytes(),
    );
    Ok((report, churned))
}

/// What the latency mode measured.
#[derive(Debug, Clone)]
pub struct LatencyReport {
    /// The server's peer id.
    pub remote_peer: PeerId,
    /// The connection's cipher suite, `None` with plaintext.
    pub cipher: Option<&'static str>,
    /// TCP connect plus the handshakes.
    pub connect_duration: Duration,
    /// One sample per round trip: opening a stream, 1 byte up, 1 byte back, both FINs.
    pub samples: Vec<Duration>,
    /// yamux RTT samples of the connection.
    pub rtt_samples: Vec<Duration>,
}

/// Latency mode, as test-plans measures latency: `rounds` perf runs of 1 byte each way, one
/// after the other, each on a fresh stream of one connection.
pub async fn run_latency(config: &ClientConfig, rounds: usize) -> Result<LatencyReport, PerfError> {
    let request = Request {
        upload: 1,
        download: 1,
        ..config.request
    };
    timed_rounds(config, |connection| async move {
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let begin = Instant::now();
            let stream = connection.open_stream().await?;
            run_stream(stream, request, &Arc::default()).await?;
            samples.push(begin.elapsed());
        }
        Ok(samples)
    })
    .await
}

/// Ping mode: `rounds` round trips of libp2p ping (32 bytes each way) on one stream, negotiated
/// before the first round: the round trip of an established stream.
pub async fn run_ping(config: &ClientConfig, rounds: usize) -> Result<LatencyReport, PerfError> {
    timed_rounds(config, |connection| async move {
        let stream = connection.open_stream().await?;
        let mut io = BufferedIo::new(stream);
        multistream::dialer_select(&mut io, ping::PROTOCOL_ID)
            .await
            .map_err(PingError::from)?;
        let samples = ping::run(&mut io, rounds).await?;
        io.get_mut().shutdown().await?;
        Ok(samples)
    })
    .await
}

/// Dials one connection and runs `rounds` on it; the connection is closed afterwards whatever
/// the outcome.
async fn timed_rounds<F, Fut>(config: &ClientConfig, rounds: F) -> Result<LatencyReport, PerfError>
where
    F: FnOnce(yamux::Connection) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Duration>, PerfError>>,
{
    let start = Instant::now();
    let established = upgrade::dial(&config.server, &config.connection).await?;
    let connect_duration = start.elapsed();
    let _answering = answer_inbound(&established.connection);
    let result = rounds(established.connection.clone()).await;
    let rtt_samples = established.connection.rtt_samples();
    let (remote_peer, cipher) = (established.remote_peer, established.cipher);
    close_all(vec![established]).await;
    Ok(LatencyReport {
        remote_peer,
        cipher,
        connect_duration,
        samples: result?,
        rtt_samples,
    })
}

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Answers every stream the server opens (go and py open identify to the client too) with `na`,
/// so the peer is not left waiting; a client serves no protocol.
fn answer_inbound(connection: &yamux::Connection) -> AbortOnDrop {
    let connection = connection.clone();
    AbortOnDrop(tokio::spawn(async move {
        while let Some(stream) = connection.accept_stream().await {
            tokio::spawn(async move {
                let mut io = BufferedIo::new(stream);
                if let Err(e) = multistream::listener_select(&mut io, &[]).await {
                    tracing::debug!("inbound stream on the client: {}", crate::error_chain(&e));
                }
            });
        }
    }))
}

fn add_stats(total: &mut yamux::Stats, s: &yamux::Stats) {
    for i in 0..4 {
        total.frames_sent[i] += s.frames_sent[i];
        total.frames_received[i] += s.frames_received[i];
    }
    total.data_bytes_sent += s.data_bytes_sent;
    total.data_bytes_received += s.data_bytes_received;
    total.credit_updates_sent += s.credit_updates_sent;
    total.credit_updates_received += s.credit_updates_received;
    total.max_recv_window = total.max_recv_window.max(s.max_recv_window);
    total.max_send_credit = total.max_send_credit.max(s.max_send_credit);
    total.pings_answered += s.pings_answered;
    total.unexpected_pongs += s.unexpected_pongs;
    total.streams_refused += s.streams_refused;
    total.bytes_dropped += s.bytes_dropped;
}

/// One established connection that runs perf streams one after the other, each timed on its
/// own (libp2p/unified-testing's dialer measures its iterations this way, on one connection).
#[derive(Debug)]
pub struct PerfConnection {
    established: Established,
    _answering: AbortOnDrop,
}

impl PerfConnection {
    /// Dials `server` (a `/p2p/` id in it is verified) and answers the streams it opens.
    pub async fn dial(server: &Addr, config: &ConnectionConfig) -> Result<Self, PerfError> {
        let established = upgrade::dial(server, config).await?;
        let _answering = answer_inbound(&established.connection);
        Ok(Self {
            established,
            _answering,
        })
    }

    /// The server's peer id and the connection's cipher suite.
    pub fn peer(&self) -> (PeerId, Option<&'static str>) {
        (self.established.remote_peer, self.established.cipher)
    }

    /// Opens a stream and runs `request` on it; returns its report and the time from before
    /// the stream was opened to the last byte.
    pub async fn run(&self, request: Request) -> Result<(StreamReport, Duration), PerfError> {
        let start = Instant::now();
        let stream = self.established.connection.open_stream().await?;
        let report = run_stream(stream, request, &Arc::new(Progress::default())).await?;
        Ok((report, start.elapsed()))
    }

    /// Closes the connection (GoAway) and waits a little for its tasks.
    pub async fn close(self) {
        close_all(vec![self.established]).await;
    }
}

async fn close_all(established: Vec<Established>) {
    for e in &established {
        e.connection.close();
    }
    let joins = established.into_iter().map(|e| e.tasks.join());
    let _ = tokio::time::timeout(CLOSE_GRACE, futures_util::future::join_all(joins)).await;
}
