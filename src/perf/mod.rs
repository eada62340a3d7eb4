//! `/perf/1.0.0`: the libp2p perf protocol, client and server side of one stream.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/perf/perf.md>. The client writes the number
//! of bytes it wants back as a big-endian u64, then its upload, then half-closes; the server
//! drains to EOF, only then sends the requested bytes, and closes. This module runs that
//! exchange on one yamux stream; [`client`] and [`server`] add connections, timing and output.
//!
//! The client negotiates lazily (as rust-libp2p's `V1Lazy`): the multistream-select header, the
//! `/perf/1.0.0` proposal and the u64 leave in the same DATA frame as the first upload bytes, so a
//! run costs no extra round trip and the 8-byte header is never split (js reads it from the
//! first chunk it receives).

pub mod churn;
pub mod client;
pub mod fairness;
pub mod iperf3;
pub mod payload;
pub mod report;
pub mod server;
pub mod tcp;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;

use crate::bufio::BufferedIo;
use crate::multistream::{self, NegotiationError};
use crate::upgrade::UpgradeError;
use crate::yamux::{ConnectionError, StreamHandle};
pub use payload::Payload;

/// The protocol id.
pub const PROTOCOL_ID: &str = "/perf/1.0.0";

/// Why a perf run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PerfError {
    /// Setting up the connection failed.
    #[error("connection setup failed")]
    Upgrade(#[from] UpgradeError),
    /// The connection failed.
    #[error("connection failed")]
    Connection(#[from] ConnectionError),
    /// Protocol negotiation on the stream failed.
    #[error("negotiating {PROTOCOL_ID} failed")]
    Negotiation(#[from] NegotiationError),
    /// Reading or writing the stream failed.
    #[error("perf stream failed")]
    Io(#[from] std::io::Error),
    /// The ping mode failed.
    #[error(transparent)]
    Ping(#[from] crate::ping::PingError),
    /// A latency-under-load probe failed.
    #[error(transparent)]
    Probe(Box<crate::probe::ProbeError>),
    /// The stream ended before the requested bytes arrived.
    #[error("download ended after {received} of {expected} bytes")]
    ShortDownload {
        /// Bytes requested.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// The server sent more than requested.
    #[error("server sent more than the {expected} bytes requested")]
    ExtraDownload {
        /// Bytes requested.
        expected: u64,
    },
    /// A received byte was not what the sender must have sent (`--verify`).
    #[error(
        "payload corrupted at or after byte {offset} (--verify needs --verify on the server too)"
    )]
    Corrupt {
        /// Offset of the first bad chunk.
        offset: u64,
    },
    /// The client asked for more than the server allows.
    #[error("requested {requested} bytes, more than the {max} bytes allowed (--max-download)")]
    RequestTooLarge {
        /// Bytes requested.
        requested: u64,
        /// The server's limit.
        max: u64,
    },
    /// The stream ended before the 8-byte request header.
    #[error("stream ended before the 8-byte request header")]
    ShortHeader,
}

/// Byte counters that a progress reporter reads while a run is going on.
#[derive(Debug, Default)]
pub struct Progress {
    /// Upload bytes handed to the stream so far.
    pub uploaded: AtomicU64,
    /// Download bytes received so far.
    pub downloaded: AtomicU64,
    /// The run's counters, for one stream's own ([`Progress::for_stream`]).
    total: Option<Arc<Progress>>,
    /// The bulk streams of the run, for per-stream intervals ([`fairness::ShareLog`]).
    streams: std::sync::Mutex<Vec<Arc<fairness::StreamSlot>>>,
}

impl Progress {
    /// One stream's counters, whose counts also add to `total`.
    pub fn for_stream(total: &Arc<Progress>) -> Self {
        Self {
            total: Some(total.clone()),
            ..Self::default()
        }
    }

    /// Counts `n` bytes handed to the stream.
    pub fn add_uploaded(&self, n: u64) {
        self.uploaded.fetch_add(n, Ordering::Relaxed);
        if let Some(total) = &self.total {
            total.add_uploaded(n);
        }
    }

    /// Counts `n` bytes received.
    pub fn add_downloaded(&self, n: u64) {
        self.downloaded.fetch_add(n, Ordering::Relaxed);
        if let Some(total) = &self.total {
            total.add_downloaded(n);
        }
    }

    /// Registers `n` bulk streams (in the order of the report's `streams`) and returns them.
    pub fn add_streams(self: &Arc<Self>, n: usize) -> Vec<Arc<fairness::StreamSlot>> {
        let slots: Vec<_> = (0..n)
            .map(|_| Arc::new(fairness::StreamSlot::new(self)))
            .collect();
        self.lock_streams().extend(slots.iter().cloned());
        slots
    }

    /// The bulk streams registered so far.
    pub fn streams(&self) -> Vec<Arc<fairness::StreamSlot>> {
        self.lock_streams().clone()
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, Vec<Arc<fairness::StreamSlot>>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the perf exchange needs of a byte stream: a yamux stream of any stack
/// ([`StreamHandle`]) or a bare TCP connection ([`tcp::TcpPerfStream`]). The client's and the
/// server's loops ([`send_upload`], [`receive_download`], [`serve_request`]) are written once
/// against it.
pub trait PerfStream: Send {
    /// Writes all of `chunk`.
    fn write_chunk(&mut self, chunk: Bytes) -> impl Future<Output = io::Result<()>> + Send;
    /// The next bytes received; `None` at end of stream.
    fn read_chunk(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>> + Send;
    /// Half-closes: the peer reads end of stream, and this side can still read.
    fn close_write(&mut self) -> impl Future<Output = io::Result<()>> + Send;
    /// Tells the peer at once that the exchange failed (yamux: RST). Bare TCP has nothing
    /// beyond closing the connection, which dropping it does.
    fn abort(&mut self);
}

impl PerfStream for StreamHandle {
    fn write_chunk(&mut self, chunk: Bytes) -> impl Future<Output = io::Result<()>> + Send {
        self.write_bytes(chunk)
    }

    fn read_chunk(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>> + Send {
        StreamHandle::read_chunk(self)
    }

    fn close_write(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        self.shutdown()
    }

    fn abort(&mut self) {
        self.reset(0);
    }
}

/// The client's upload: `header` (the request and whatever precedes it on this stack), then
/// `upload` bytes of `payload`, counted in `progress`.
pub async fn send_upload<S: PerfStream>(
    stream: &mut S,
    header: Bytes,
    upload: u64,
    payload: Payload,
    progress: &Progress,
) -> Result<(), PerfError> {
    stream.write_chunk(header).await?;
    for chunk in payload.chunks(upload) {
        let n = chunk.len() as u64;
        stream.write_chunk(chunk).await?;
        progress.add_uploaded(n);
    }
    Ok(())
}

/// The client's download: reads to end of stream, starting with `leftover` (bytes read ahead),
/// checks the count and the payload; returns the bytes received and when the first of them (or
/// the end of stream) arrived.
pub async fn receive_download<S: PerfStream>(
    stream: &mut S,
    leftover: Option<Bytes>,
    download: u64,
    payload: Payload,
    progress: &Progress,
) -> Result<(u64, Option<Instant>), PerfError> {
    let mut received = 0u64;
    let mut first_byte: Option<Instant> = None;
    let mut reader = ChunkReader { leftover };
    loop {
        let chunk = reader.next(stream).await?;
        first_byte.get_or_insert_with(Instant::now);
        let Some(chunk) = chunk else { break };
        if received + chunk.len() as u64 > download {
            return Err(PerfError::ExtraDownload { expected: download });
        }
        if !payload.verify(received, &chunk) {
            return Err(PerfError::Corrupt { offset: received });
        }
        received += chunk.len() as u64;
        progress.add_downloaded(chunk.len() as u64);
    }
    Ok((received, first_byte))
}

/// The server's side of one exchange: the big-endian u64 request (completed from the stream
/// when `buf`, the bytes read so far, holds less), the upload drained to end of stream and
/// checked, then the requested bytes and a half-close. A request over `max_download` or a
/// corrupt upload aborts the stream.
pub async fn serve_request<S: PerfStream>(
    stream: &mut S,
    mut buf: BytesMut,
    max_download: u64,
    payload: Payload,
) -> Result<ServedStream, PerfError> {
    while buf.len() < 8 {
        match stream.read_chunk().await? {
            Some(chunk) => buf.extend_from_slice(&chunk),
            None => return Err(PerfError::ShortHeader),
        }
    }
    let requested = u64::from_be_bytes(buf.split_to(8)[..].try_into().expect("8 bytes"));
    if requested > max_download {
        // An RST tells the client at once; draining a large upload first would only waste time.
        stream.abort();
        return Err(PerfError::RequestTooLarge {
            requested,
            max: max_download,
        });
    }
    let mut uploaded = 0u64;
    let mut reader = ChunkReader::new(buf);
    while let Some(chunk) = reader.next(stream).await? {
        if !payload.verify(uploaded, &chunk) {
            stream.abort();
            return Err(PerfError::Corrupt { offset: uploaded });
        }
        uploaded += chunk.len() as u64;
    }
    for chunk in payload.chunks(requested) {
        stream.write_chunk(chunk).await?;
    }
    stream.close_write().await?;
    Ok(ServedStream {
        uploaded,
        downloaded: requested,
    })
}

/// What one perf stream measured, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamReport {
    /// Bytes uploaded.
    pub upload_bytes: u64,
    /// Bytes downloaded.
    pub download_bytes: u64,
    /// From opening the stream until the server had all of the upload: the first download byte
    /// (or the server's FIN), since the server sends nothing before it has drained the upload.
    pub upload_duration: Duration,
    /// From then until the last download byte.
    pub download_duration: Duration,
    /// From opening the stream to the first download byte (or FIN).
    pub time_to_first_byte: Duration,
    /// When the stream was opened.
    pub started: Instant,
    /// When the last byte (or the FIN) arrived.
    pub finished: Instant,
}

impl StreamReport {
    /// The streams of a run taken together: bytes add up; the upload phase runs from the first
    /// stream's start to the last stream's first download byte, the download phase from the
    /// first download byte of any stream to the last byte of all. `None` for no streams.
    pub fn aggregate(streams: &[StreamReport]) -> Option<StreamReport> {
        let started = streams.iter().map(|s| s.started).min()?;
        let finished = streams.iter().map(|s| s.finished).max()?;
        let first_bytes = streams.iter().map(|s| s.started + s.time_to_first_byte);
        let (first_download, last_upload) = (first_bytes.clone().min()?, first_bytes.max()?);
        Some(StreamReport {
            upload_bytes: streams.iter().map(|s| s.upload_bytes).sum(),
            download_bytes: streams.iter().map(|s| s.download_bytes).sum(),
            upload_duration: last_upload - started,
            download_duration: finished - first_download,
            time_to_first_byte: first_download - started,
            started,
            finished,
        })
    }

    /// The report of a run that ends now, after `received` of the `download` bytes requested
    /// (anything else is [`PerfError::ShortDownload`]); `first_byte` is when the first download
    /// byte (or the FIN) arrived.
    pub fn finish(
        upload: u64,
        download: u64,
        received: u64,
        start: Instant,
        first_byte: Option<Instant>,
    ) -> Result<Self, PerfError> {
        let end = Instant::now();
        if received != download {
            return Err(PerfError::ShortDownload {
                expected: download,
                received,
            });
        }
        Ok(StreamReport::from_times(
            upload,
            download,
            start,
            first_byte.unwrap_or(end),
            end,
        ))
    }

    /// The report of a run that started at `start`, got its first download byte (or the FIN)
    /// at `first_byte` and ended at `end`.
    pub fn from_times(
        upload: u64,
        download: u64,
        start: Instant,
        first_byte: Instant,
        end: Instant,
    ) -> Self {
        StreamReport {
            upload_bytes: upload,
            download_bytes: download,
            upload_duration: first_byte - start,
            download_duration: end - first_byte,
            time_to_first_byte: first_byte - start,
            started: start,
            finished: end,
        }
    }

    /// Upload goodput in bits per second.
    pub fn upload_bits_per_second(&self) -> f64 {
        crate::units::bits_per_second(self.upload_bytes, self.upload_duration.as_secs_f64())
    }

    /// Download goodput in bits per second.
    pub fn download_bits_per_second(&self) -> f64 {
        crate::units::bits_per_second(self.download_bytes, self.download_duration.as_secs_f64())
    }
}

/// The clients' setup phase, shared by the libp2p stacks ([`client::run`]) and bare TCP
/// ([`tcp::run`]): `connections` (at least 1) dials in parallel, timed from `start`; returns the
/// connections and the setup time (that of the slowest), or the first error.
pub async fn dial_all<C, E, F, Fut>(
    start: Instant,
    connections: usize,
    dial: F,
) -> Result<(Vec<C>, Duration), PerfError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<C, E>>,
    PerfError: From<E>,
{
    let dials = (0..connections.max(1)).map(|_| dial());
    let established = futures_util::future::try_join_all(dials).await?;
    Ok((established, start.elapsed()))
}

impl From<crate::probe::ProbeError> for PerfError {
    fn from(e: crate::probe::ProbeError) -> Self {
        PerfError::Probe(Box::new(e))
    }
}

/// What the client asks for on one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Bytes to upload.
    pub upload: u64,
    /// Bytes to request back.
    pub download: u64,
    /// Payload to send and check.
    pub payload: Payload,
    /// Negotiate `/perf/1.0.0` lazily (proposal, u64 and upload in one flight) instead of
    /// waiting for the listener's answer first. Lazy saves a round trip; waiting is what js's
    /// perf server needs when the upload is tiny and the FIN would arrive with the proposal.
    pub lazy: bool,
    /// Half-close right after the upload, without waiting for the listener's protocol echo.
    /// Saves a round trip on tiny transfers (1-RTT latency against rust, go and yamux-perf
    /// servers); js-libp2p servers lose such streams.
    pub early_fin: bool,
}

/// Runs the client side of one perf stream: request `download` bytes, upload `upload` bytes,
/// half-close, read to EOF and check the count (and the payload with [`Payload::Pattern`]).
pub async fn run_stream(
    stream: StreamHandle,
    request: Request,
    progress: &Arc<Progress>,
) -> Result<StreamReport, PerfError> {
    let Request {
        upload,
        download,
        payload,
        lazy,
        early_fin,
    } = request;
    let start = Instant::now();
    let mut io = BufferedIo::new(stream);
    let mut first = BytesMut::with_capacity(64);
    if lazy {
        multistream::encode_proposal(PROTOCOL_ID, &mut first);
    } else {
        expect_echo(multistream::dialer_select(&mut io, PROTOCOL_ID).await)?;
    }
    first.put_u64(download);
    let (mut stream, mut leftover) = io.into_parts();
    send_upload(&mut stream, first.freeze(), upload, payload, progress).await?;
    if early_fin {
        stream.shutdown().await?;
    }
    if lazy {
        let mut io = BufferedIo::with_buffer(stream, leftover);
        expect_echo(multistream::dialer_expect_echo(&mut io, PROTOCOL_ID).await)?;
        (stream, leftover) = io.into_parts();
    }
    if !early_fin {
        // Half-close only once the listener has confirmed the protocol: a js-libp2p listener
        // that gets the FIN before its multistream-select answer resets the stream or never
        // reads it. A large upload hides the wait; a tiny one pays one round trip.
        stream.shutdown().await?;
    }
    let leftover = (!leftover.is_empty()).then(|| leftover.freeze());
    let (received, first_byte) =
        receive_download(&mut stream, leftover, download, payload, progress).await?;
    StreamReport::finish(upload, download, received, start, first_byte)
}

/// Reads a stream chunk by chunk, starting with the bytes read ahead.
struct ChunkReader {
    leftover: Option<Bytes>,
}

impl ChunkReader {
    fn new(leftover: BytesMut) -> Self {
        Self {
            leftover: (!leftover.is_empty()).then(|| leftover.freeze()),
        }
    }

    /// The next chunk; `None` at end of stream.
    async fn next<S: PerfStream>(&mut self, stream: &mut S) -> io::Result<Option<Bytes>> {
        match self.leftover.take() {
            Some(chunk) => Ok(Some(chunk)),
            None => stream.read_chunk().await,
        }
    }
}

/// A reset (e.g. a request over the server's limit) says more than "negotiation failed".
fn expect_echo(result: Result<(), NegotiationError>) -> Result<(), PerfError> {
    match result {
        Ok(()) => Ok(()),
        Err(NegotiationError::Io(e)) => Err(PerfError::Io(e)),
        Err(e) => Err(e.into()),
    }
}

/// What the server saw on one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedStream {
    /// Bytes the client uploaded.
    pub uploaded: u64,
    /// Bytes sent back.
    pub downloaded: u64,
}

/// Serves one inbound stream whose protocol is already `/perf/1.0.0` ([`serve_request`]); `io`
/// holds the bytes that arrived behind the proposal (usually the u64 and the start of the
/// upload).
pub async fn serve_stream(
    mut io: BufferedIo<StreamHandle>,
    max_download: u64,
    payload: Payload,
) -> Result<ServedStream, PerfError> {
    if io.fill_to(8).await.is_err() {
        return Err(PerfError::ShortHeader);
    }
    let (mut stream, leftover) = io.into_parts();
    serve_request(&mut stream, leftover, max_download, payload).await
}
