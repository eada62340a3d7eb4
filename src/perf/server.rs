//! The perf server: accepts connections and serves `/perf/1.0.0` on every stream; any other
//! protocol (go's identify, for one) gets `na` at once.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

use super::{PROTOCOL_ID, Payload, serve_stream};
use crate::bufio::BufferedIo;
use crate::connection::{self, ConnectionConfig};
use crate::multistream;
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
}

/// Accepts connections until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    accept_loop(listener, shutdown, move |tcp, remote| {
        handle_connection(tcp, remote, config.clone())
    })
    .await
}

/// Accepts connections until `shutdown` completes, spawning `handle` for each.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    mut handle: F,
) -> io::Result<()>
where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    tokio::spawn(handle(tcp, remote));
                }
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

async fn handle_connection(tcp: TcpStream, remote: SocketAddr, config: Arc<ServerConfig>) {
    let established = match connection::accept(tcp, &config.connection).await {
        Ok(established) => established,
        Err(e) => {
            tracing::info!(%remote, "connection setup failed: {}", crate::error_chain(&e));
            return;
        }
    };
    let peer = established.remote_peer;
    tracing::debug!(%remote, %peer, "connection established");
    while let Some(stream) = established.connection.accept_stream().await {
        tokio::spawn(handle_stream(stream, config.clone()));
    }
    let stats = established.connection.stats();
    let reason = established.connection.closed_reason();
    tracing::info!(
        %remote,
        %peer,
        received = stats.data_bytes_received,
        sent = stats.data_bytes_sent,
        pings_answered = stats.pings_answered,
        reason = %reason.map(|r| r.to_string()).unwrap_or_default(),
        "connection closed"
    );
}

async fn handle_stream(stream: StreamHandle, config: Arc<ServerConfig>) {
    let id = stream.id();
    let mut io = BufferedIo::new(stream);
    if let Err(e) = multistream::listener_select(&mut io, &[PROTOCOL_ID]).await {
        // Typically go's identify: we answered `na` and it reset the stream.
        tracing::debug!(
            stream = id,
            "no protocol agreed: {}",
            crate::error_chain(&e)
        );
        return;
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
