//! The perf client: one connection, one perf stream, timed from the dial.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p_identity::PeerId;

use super::{PerfError, Progress, Request, StreamReport, run_stream};
use crate::connection::{self, ConnectionConfig};
use crate::transport::TcpAddr;
use crate::yamux;

/// How long the client waits for its GoAway to go out before it stops waiting.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server; a `/p2p/` id in it is verified.
    pub server: TcpAddr,
    /// What to ask for.
    pub request: Request,
    /// Connection settings (set `yamux.trace_windows` to get [`ClientReport::window_trace`]).
    pub connection: ConnectionConfig,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct ClientReport {
    /// The server's peer id, as proven by Noise.
    pub remote_peer: PeerId,
    /// TCP connect plus the security and muxer handshakes.
    pub connect_duration: Duration,
    /// The perf stream's measurements.
    pub stream: StreamReport,
    /// From before the dial to the end of the download (what test-plans' `final` line reports).
    pub total_duration: Duration,
    /// Smoothed yamux ping RTT at the end.
    pub rtt: Option<Duration>,
    /// Every yamux RTT sample.
    pub rtt_samples: Vec<Duration>,
    /// yamux counters of the client's session.
    pub stats: yamux::Stats,
    /// Every receive-window decision and send-credit change of the client's session (empty
    /// unless tracing was enabled).
    pub window_trace: Vec<yamux::TraceEvent>,
}

/// Dials, runs one perf stream and closes the connection.
pub async fn run(
    config: &ClientConfig,
    progress: Arc<Progress>,
) -> Result<ClientReport, PerfError> {
    let start = Instant::now();
    let established = connection::dial(&config.server, &config.connection).await?;
    let connect_duration = start.elapsed();
    tracing::debug!(peer = %established.remote_peer, ?connect_duration, "connected");
    let connection = established.connection;
    let result = async {
        let stream = connection.open_stream().await?;
        run_stream(stream, config.request, &progress).await
    }
    .await;
    let total_duration = start.elapsed();
    let report = result.map(|stream| ClientReport {
        remote_peer: established.remote_peer,
        connect_duration,
        stream,
        total_duration,
        rtt: connection.rtt(),
        rtt_samples: connection.rtt_samples(),
        stats: connection.stats(),
        window_trace: connection.take_trace(),
    });
    connection.close();
    let _ = tokio::time::timeout(CLOSE_GRACE, established.tasks.join()).await;
    report
}
