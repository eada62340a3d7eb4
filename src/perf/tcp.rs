//! The baseline: the perf workloads over bare TCP, without multistream-select, security or muxer
//! (`--stack tcp`), so the cost of the libp2p stack is measured by the same code and the same
//! payload as the stack itself.
//!
//! Wire format (ours, not a libp2p protocol): the client's first byte picks the mode.
//! - [`MODE_PERF`]: then the `/perf/1.0.0` exchange as on a yamux stream: a big-endian u64 (the
//!   bytes wanted back), the upload, half-close; the server drains to EOF, sends the requested
//!   bytes and closes. One connection per perf stream.
//! - [`MODE_ECHO`]: a ping-pong: the server writes back every byte it reads until EOF. The
//!   latency mode sends 1 byte and waits for it, round after round, on one connection (with
//!   `TCP_NODELAY`, as every connection here): the raw TCP round trip.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{
    Payload, PerfError, PerfStream, Progress, Request, StreamReport, dial_all, receive_download,
    send_upload, serve_request,
};
use crate::bufio::BufferedIo;
use crate::ping;
use crate::transport::{self, Listener, TcpConfig, TransportKind};

/// First byte of a perf connection.
pub const MODE_PERF: u8 = b'P';
/// First byte of an echo (ping-pong) connection.
pub const MODE_ECHO: u8 = b'E';

/// Bytes per read.
const READ_CHUNK: usize = 256 * 1024;

/// What a bare-TCP throughput run measured.
#[derive(Debug, Clone)]
pub struct TcpReport {
    /// The slowest TCP connect.
    pub connect_duration: Duration,
    /// All connections taken together.
    pub stream: StreamReport,
    /// Each connection.
    pub streams: Vec<StreamReport>,
    /// From before the first connect to the end of the last download.
    pub total_duration: Duration,
}

/// What a bare-TCP ping-pong run measured.
#[derive(Debug, Clone)]
pub struct TcpLatencyReport {
    /// The TCP connect.
    pub connect_duration: Duration,
    /// One sample per 1-byte round trip.
    pub samples: Vec<Duration>,
}

/// Serves bare-TCP perf and echo connections until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tcp: TcpConfig,
    max_download: u64,
    payload: Payload,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listeners = vec![Listener {
        tcp: listener,
        transport: TransportKind::Tcp,
    }];
    super::server::accept_loop(
        listeners,
        max_connections,
        shutdown,
        move |stream, remote, _, permit| {
            let tcp = tcp.clone();
            async move {
                // Held until the connection is served.
                let _permit = permit;
                let result = match transport::configure_accepted(&stream, &tcp) {
                    Ok(()) => serve_connection(stream, max_download, payload).await,
                    Err(e) => Err(e.into()),
                };
                match result {
                    Ok(mode) => tracing::debug!(%remote, mode, "tcp connection served"),
                    Err(e) => tracing::info!(
                        %remote,
                        "tcp connection failed: {}",
                        crate::error_chain(&e)
                    ),
                }
            }
        },
    )
    .await
}

/// Why a bare-TCP connection failed on the server, beyond [`PerfError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TcpModeError {
    /// The first byte is neither [`MODE_PERF`] nor [`MODE_ECHO`].
    #[error("unknown bare-TCP mode byte {0:#04x} (a libp2p peer dialling a --stack tcp server?)")]
    UnknownMode(u8),
}

async fn serve_connection(
    mut stream: TcpStream,
    max_download: u64,
    payload: Payload,
) -> Result<&'static str, PerfError> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    while buf.is_empty() {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(PerfError::ShortHeader);
        }
    }
    let mode = buf.split_to(1)[0];
    match mode {
        MODE_ECHO => {
            loop {
                if !buf.is_empty() {
                    stream.write_all(&buf).await?;
                    buf.clear();
                }
                if stream.read_buf(&mut buf).await? == 0 {
                    break;
                }
            }
            Ok("echo")
        }
        MODE_PERF => {
            let mut stream = TcpPerfStream::new(stream);
            let served = serve_request(&mut stream, buf, max_download, payload).await?;
            tracing::debug!(
                uploaded = served.uploaded,
                downloaded = served.downloaded,
                "tcp perf served"
            );
            Ok("perf")
        }
        other => {
            Err(io::Error::new(io::ErrorKind::InvalidData, TcpModeError::UnknownMode(other)).into())
        }
    }
}

/// Runs `connections` bare-TCP perf connections in parallel, each with the full `request`.
pub async fn run(
    addr: SocketAddr,
    tcp: &TcpConfig,
    request: Request,
    connections: usize,
    progress: Arc<Progress>,
) -> Result<TcpReport, PerfError> {
    let start = Instant::now();
    let (sockets, connect_duration) =
        dial_all(start, connections, || transport::dial(addr, tcp)).await?;
    let runs = sockets
        .into_iter()
        .map(|socket| run_connection(socket, request, &progress));
    let streams = futures_util::future::try_join_all(runs).await?;
    Ok(TcpReport {
        connect_duration,
        stream: StreamReport::aggregate(&streams).expect("at least one connection"),
        streams,
        total_duration: start.elapsed(),
    })
}

async fn run_connection(
    socket: TcpStream,
    request: Request,
    progress: &Progress,
) -> Result<StreamReport, PerfError> {
    let Request {
        upload,
        download,
        payload,
        ..
    } = request;
    let start = Instant::now();
    let mut header = [MODE_PERF; 9];
    header[1..].copy_from_slice(&download.to_be_bytes());
    let mut stream = TcpPerfStream::new(socket);
    let header = Bytes::copy_from_slice(&header);
    send_upload(&mut stream, header, upload, payload, progress).await?;
    stream.close_write().await?;
    let (received, first_byte) =
        receive_download(&mut stream, None, download, payload, progress).await?;
    StreamReport::finish(upload, download, received, start, first_byte)
}

/// A bare TCP connection as a [`PerfStream`]: reads of up to `READ_CHUNK` bytes (the buffer is
/// reused once the previous chunk is dropped), writes of whole chunks.
#[derive(Debug)]
pub struct TcpPerfStream {
    socket: TcpStream,
    buf: BytesMut,
}

impl TcpPerfStream {
    /// Wraps a connected socket.
    pub fn new(socket: TcpStream) -> Self {
        Self {
            socket,
            buf: BytesMut::with_capacity(READ_CHUNK),
        }
    }
}

impl PerfStream for TcpPerfStream {
    async fn write_chunk(&mut self, chunk: Bytes) -> io::Result<()> {
        self.socket.write_all(&chunk).await
    }

    async fn read_chunk(&mut self) -> io::Result<Option<Bytes>> {
        self.buf.clear();
        self.buf.reserve(READ_CHUNK);
        if self.socket.read_buf(&mut self.buf).await? == 0 {
            return Ok(None);
        }
        Ok(Some(self.buf.split().freeze()))
    }

    async fn close_write(&mut self) -> io::Result<()> {
        self.socket.shutdown().await
    }

    fn abort(&mut self) {}
}

/// Dials an echo connection; returns it with the time the TCP connect took.
async fn dial_echo(addr: SocketAddr, tcp: &TcpConfig) -> Result<(TcpStream, Duration), PerfError> {
    let start = Instant::now();
    let mut socket = transport::dial(addr, tcp).await?;
    let connect_duration = start.elapsed();
    socket.write_all(&[MODE_ECHO]).await?;
    Ok((socket, connect_duration))
}

/// Ping-pong: `rounds` round trips of 1 byte on one echo connection.
pub async fn run_latency(
    addr: SocketAddr,
    tcp: &TcpConfig,
    rounds: usize,
) -> Result<TcpLatencyReport, PerfError> {
    let (mut socket, connect_duration) = dial_echo(addr, tcp).await?;
    let mut samples = Vec::with_capacity(rounds);
    let mut byte = [0u8; 1];
    for round in 0..rounds {
        let begin = Instant::now();
        socket.write_all(&[round as u8]).await?;
        socket.read_exact(&mut byte).await?;
        samples.push(begin.elapsed());
        if byte[0] != round as u8 {
            return Err(PerfError::Corrupt {
                offset: round as u64,
            });
        }
    }
    socket.shutdown().await?;
    Ok(TcpLatencyReport {
        connect_duration,
        samples,
    })
}

/// Ping-pong of libp2p ping's size: `rounds` round trips of 32 random bytes on one echo
/// connection, the bare-TCP counterpart of [`super::client::run_ping`] (the same round loop).
pub async fn run_ping(
    addr: SocketAddr,
    tcp: &TcpConfig,
    rounds: usize,
) -> Result<TcpLatencyReport, PerfError> {
    let (socket, connect_duration) = dial_echo(addr, tcp).await?;
    let mut io = BufferedIo::new(socket);
    let samples = ping::run(&mut io, rounds).await?;
    io.get_mut().shutdown().await?;
    Ok(TcpLatencyReport {
        connect_duration,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    async fn server(max_download: u64) -> SocketAddr {
        let config = TcpConfig::default();
        let listener = transport::listen("127.0.0.1:0".parse().unwrap(), &config).unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            config,
            max_download,
            Payload::Pattern,
            usize::MAX,
            std::future::pending(),
        ));
        addr
    }

    fn request(upload: u64, download: u64) -> Request {
        Request {
            upload,
            download,
            payload: Payload::Pattern,
            lazy: true,
            early_fin: false,
        }
    }

    #[tokio::test]
    async fn perf_over_bare_tcp_moves_and_verifies_both_ways() {
        let addr = server(u64::MAX).await;
        let progress = Arc::new(Progress::default());
        let report = run(
            addr,
            &TcpConfig::default(),
            request(3 << 20, 5 << 20),
            2,
            progress.clone(),
        )
        .await
        .unwrap();
        assert_eq!(report.streams.len(), 2);
        assert_eq!(report.stream.upload_bytes, 6 << 20);
        assert_eq!(report.stream.download_bytes, 10 << 20);
        assert_eq!(progress.downloaded.load(Ordering::Relaxed), 10 << 20);
    }

    #[tokio::test]
    async fn ping_of_32_bytes_takes_one_sample_per_round() {
        let addr = server(0).await;
        let report = run_ping(addr, &TcpConfig::default(), 30).await.unwrap();
        assert_eq!(report.samples.len(), 30);
    }

    #[tokio::test]
    async fn ping_pong_takes_one_sample_per_round() {
        let addr = server(0).await;
        let report = run_latency(addr, &TcpConfig::default(), 50).await.unwrap();
        assert_eq!(report.samples.len(), 50);
        assert!(report.samples.iter().all(|s| !s.is_zero()));
    }

    #[tokio::test]
    async fn over_the_limit_request_ends_in_a_short_download() {
        let addr = server(10).await;
        let err = run(
            addr,
            &TcpConfig::default(),
            request(0, 11),
            1,
            Arc::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                PerfError::ShortDownload {
                    expected: 11,
                    received: 0
                } | PerfError::Io(_)
            ),
            "{err}"
        );
    }
}
