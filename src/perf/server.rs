//! The perf server: accepts connections and serves `/perf/1.0.0` (and `/ipfs/ping/1.0.0`, for
//! the round trip of an established stream) on every stream; any other protocol (go's identify,
//! for one) gets `na` at once.
//!
//! Limits against peers that misbehave or just hold on: at most
//! [`ServerConfig::max_connections`] connections at once (beyond, a new TCP connection is closed
//! at once); the connection upgrade is bounded by the handshake timeout; on each stream the
//! protocol negotiation plus the 8-byte request header are bounded by the same timeout (the
//! stream is reset when it expires); yamux's own limits (inbound streams, receive-window budget,
//! idle timeout) come from [`crate::yamux::Config`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{PROTOCOL_ID, Payload, serve_stream};
use crate::bufio::BufferedIo;
use crate::multistream;
use crate::ping;
use crate::transport::{Listener, TransportKind};
use crate::upgrade::{self, ConnectionConfig};
use crate::yamux::StreamHandle;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connection settings (identity, yamux, TCP).
    pub connection: ConnectionConfig,
    /// Largest download one request may ask for; the spec warns that a client can ask for
    /// unbounded data.
    pub max_download: u64,
    /// Payload to send and check.
    pub payload: Payload,
    /// Connections served at once, handshakes included; further TCP connections are closed as
    /// soon as they are accepted. Default [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
}

/// Default of [`ServerConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Accepts connections on every listener until `shutdown` completes; each connection goes
/// through its listener's transport, then the same upgrade.
pub async fn run(
    listeners: Vec<Listener>,
    config: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let max_connections = config.max_connections;
    accept_loop(
        listeners,
        max_connections,
        shutdown,
        move |tcp, remote, transport, permit| {
            handle_connection(tcp, remote, transport, config.clone(), permit)
        },
    )
    .await
}

/// The next connection any of `listeners` accepted, with its listener's transport (polled in
/// turn from `*next`, so a busy listener does not starve the others).
async fn accept_any(
    listeners: &[Listener],
    next: &mut usize,
) -> (io::Result<(TcpStream, SocketAddr)>, TransportKind) {
    std::future::poll_fn(|cx| {
        for i in 0..listeners.len() {
            let at = (*next + i) % listeners.len();
            if let Poll::Ready(accepted) = listeners[at].tcp.poll_accept(cx) {
                *next = at + 1;
                return Poll::Ready((accepted, listeners[at].transport));
            }
        }
        Poll::Pending
    })
    .await
}

/// Accepts connections on `listeners` until `shutdown` completes, spawning `handle` for each,
/// with at most `max_connections` at once over all of them: beyond it a new TCP connection is
/// closed as soon as it is accepted. `handle` holds the permit until its connection ends.
pub async fn accept_loop<F, Fut>(
    listeners: Vec<Listener>,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
    mut handle: F,
) -> io::Result<()>
where
    F: FnMut(TcpStream, SocketAddr, TransportKind, OwnedSemaphorePermit) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to listen on",
        ));
    }
    tokio::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(max_connections.min(Semaphore::MAX_PERMITS)));
    // Whether the refusals of the current episode at the limit were already logged at info.
    let at_limit = AtomicBool::new(false);
    let mut next = 0;
    loop {
        tokio::select! {
            (accepted, transport) = accept_any(&listeners, &mut next) => match accepted {
                Ok((tcp, remote)) => match slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        at_limit.store(false, Ordering::Relaxed);
                        tokio::spawn(handle(tcp, remote, transport, permit));
                    }
                    Err(_) => {
                        if !at_limit.swap(true, Ordering::Relaxed) {
                            tracing::info!(
                                max_connections,
                                "connection limit reached: closing new connections until one ends"
                            );
                        }
                        tracing::debug!(%remote, "over the connection limit: closed");
                        drop(tcp);
                    }
                },
                // Out of file descriptors and the like: back off instead of spinning.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            () = &mut shutdown => return Ok(()),
        }
    }
}

async fn handle_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    transport: TransportKind,
    config: Arc<ServerConfig>,
    // Held until the connection ends.
    _permit: OwnedSemaphorePermit,
) {
    let established = match upgrade::accept(tcp, transport, &config.connection).await {
        Ok(established) => established,
        Err(e) => {
            tracing::info!(%remote, "connection setup failed: {}", crate::error_chain(&e));
            return;
        }
    };
    let peer = established.remote_peer;
    tracing::debug!(
        %remote,
        %peer,
        security = %established.security,
        cipher = established.cipher.unwrap_or("none"),
        "connection established"
    );
    while let Some(stream) = established.connection.accept_stream().await {
        tokio::spawn(handle_stream(stream, config.clone()));
    }
    // Wait for the driver, so the connection slot is held until the socket is closed.
    established.tasks.join().await;
    let stats = established.connection.stats();
    let reason = established.connection.closed_reason();
    tracing::info!(
        %remote,
        %peer,
        received = stats.data_bytes_received,
        sent = stats.data_bytes_sent,
        pings_answered = stats.pings_answered,
        reason = %reason.map(|r| crate::error_chain(&r)).unwrap_or_default(),
        "connection closed"
    );
}

async fn handle_stream(stream: StreamHandle, config: Arc<ServerConfig>) {
    let id = stream.id();
    let mut io = BufferedIo::new(stream);
    let limit = config.connection.handshake_timeout;
    let negotiation = async {
        let protocol =
            multistream::listener_select(&mut io, &[PROTOCOL_ID, ping::PROTOCOL_ID]).await?;
        if protocol == PROTOCOL_ID {
            // The request header, so a stream cannot sit forever before its request either; an
            // early end is reported by serve_stream.
            let _ = io.fill_to(8).await;
        }
        Ok::<_, multistream::NegotiationError>(protocol)
    };
    match tokio::time::timeout(limit, negotiation).await {
        Ok(Ok(protocol)) if protocol == ping::PROTOCOL_ID => {
            match ping::serve(&mut io).await {
                Ok(answered) => tracing::debug!(stream = id, answered, "ping stream served"),
                Err(e) => tracing::debug!(stream = id, "ping stream failed: {e}"),
            }
            return;
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            // Typically go's identify: we answered `na` and it reset the stream.
            tracing::debug!(
                stream = id,
                "no protocol agreed: {}",
                crate::error_chain(&e)
            );
            return;
        }
        Err(_) => {
            tracing::info!(
                stream = id,
                "no perf request within {limit:?}: resetting the stream"
            );
            io.get_mut().reset(0);
            return;
        }
    }
    match serve_stream(io, config.max_download, config.payload).await {
        Ok(served) => tracing::debug!(stream = id, ?served, "perf stream served"),
        Err(e) => tracing::info!(
            stream = id,
            "perf stream failed: {}",
            crate::error_chain(&e)
        ),
    }
}
