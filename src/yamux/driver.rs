//! The tokio driver of a yamux [`Session`]: one reader task, one writer task, stream handles.
//!
//! The session sits behind a mutex. The reader task owns the socket's read half: it decrypts
//! what arrives and feeds it to the session. The writer task owns the write half and is the only
//! code that writes: it drains [`Session::poll_transmit`] (pongs, window updates, GoAway and DATA
//! alike), encrypts and writes, and it runs the session's timer. [`StreamHandle`]s implement
//! `AsyncRead`/`AsyncWrite` by calling session commands and waking the writer.
//!
//! The byte transform below yamux (Noise, or nothing) comes in through [`Seal`] and [`Open`], so
//! this module does not depend on any security protocol.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::session::{Event, ReadOutcome, Session, SessionError, Stats, TraceEvent};
use super::stream::StreamError;

/// Plaintext bytes the writer takes from the session per batch (one socket write).
const WRITE_BATCH: usize = 256 * 1024;

/// Bytes the reader asks the socket for per read.
const READ_CHUNK: usize = 256 * 1024;

/// Encrypts outgoing plaintext (the layer below yamux).
pub trait Seal: Send + 'static {
    /// Appends the wire form of `plaintext` to `out`.
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()>;
}

/// Decrypts incoming bytes (the layer below yamux).
pub trait Open: Send + 'static {
    /// Consumes every complete unit at the front of `input`, appending plaintext to `out`.
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> io::Result<()>;
}

/// No transform: yamux directly on the socket (tests, and `/plaintext` security).
#[derive(Debug, Default, Clone, Copy)]
pub struct Identity;

impl Seal for Identity {
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()> {
        out.extend_from_slice(plaintext);
        Ok(())
    }
}

impl Open for Identity {
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> io::Result<()> {
        if out.is_empty() {
            std::mem::swap(input, out);
        } else {
            out.extend_from_slice(input);
            input.clear();
        }
        Ok(())
    }
}

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The yamux session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The socket or the security layer failed.
    #[error("i/o: {0}")]
    Io(String),
    /// The peer closed the connection.
    #[error("connection closed by peer")]
    Eof,
    /// The connection was closed locally.
    #[error("connection closed")]
    Closed,
    /// The peer's first bytes were not the expected multistream-select answer.
    #[error("unexpected muxer negotiation answer")]
    Negotiation,
}

impl From<ConnectionError> for io::Error {
    fn from(e: ConnectionError) -> io::Error {
        let kind = match e {
            ConnectionError::Eof => io::ErrorKind::UnexpectedEof,
            ConnectionError::Closed => io::ErrorKind::NotConnected,
            _ => io::ErrorKind::ConnectionReset,
        };
        io::Error::new(kind, e)
    }
}

fn stream_error(e: StreamError) -> io::Error {
    let kind = match e {
        StreamError::Reset { .. } => io::ErrorKind::ConnectionReset,
        StreamError::WriteClosed => io::ErrorKind::BrokenPipe,
        StreamError::Unknown(_) | StreamError::ConnectionClosed => io::ErrorKind::NotConnected,
    };
    io::Error::new(kind, e)
}

struct Inner {
    session: Session,
    read_wakers: HashMap<u32, Waker>,
    write_wakers: HashMap<u32, Waker>,
    accept_queue: VecDeque<u32>,
    accept_waker: Option<Waker>,
    open_wakers: Vec<Waker>,
    /// Set when the reader or the writer stopped.
    closed: Option<ConnectionError>,
}

impl Inner {
    /// Turns session events into wake-ups.
    fn dispatch(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::InboundStream(id) => {
                    self.accept_queue.push_back(id);
                    if let Some(w) = self.accept_waker.take() {
                        w.wake();
                    }
                }
                Event::Readable(id) => {
                    if let Some(w) = self.read_wakers.remove(&id) {
                        w.wake();
                    }
                }
                Event::Writable(id) => {
                    if let Some(w) = self.write_wakers.remove(&id) {
                        w.wake();
                    }
                }
                Event::OutboundReady => self.open_wakers.drain(..).for_each(Waker::wake),
            }
        }
    }

    /// Marks the connection closed (first reason wins) and wakes everyone waiting.
    fn shut(&mut self, reason: ConnectionError) {
        if self.closed.is_none() {
            tracing::debug!(%reason, "yamux connection closed");
            self.closed = Some(reason);
        }
        self.read_wakers.drain().for_each(|(_, w)| w.wake());
        self.write_wakers.drain().for_each(|(_, w)| w.wake());
        self.open_wakers.drain(..).for_each(Waker::wake);
        if let Some(w) = self.accept_waker.take() {
            w.wake();
        }
    }

    fn closed_error(&self) -> Option<ConnectionError> {
        self.session
            .error()
            .cloned()
            .map(ConnectionError::Session)
            .or_else(|| self.closed.clone())
    }
}

struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the writer task: something may be ready to transmit.
    writer: Notify,
    /// Wakes a reader paused by [`Session::input_paused`]: the writer took frames, or stopped.
    reader: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the session in an unknown state; carrying on is
        // still better than poisoning every stream of the connection.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Dispatches events and wakes the writer if the session has frames to send.
    fn after_command(&self, inner: &mut Inner) {
        inner.dispatch();
        if inner.session.wants_transmit() {
            self.writer.notify_one();
        }
    }
}

/// A yamux connection running on tokio. Cloning gives another handle to the same connection.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

/// The socket side given to [`Connection::spawn`].
pub struct Transport<R, W, S, O> {
    /// Read half of the socket.
    pub reader: R,
    /// Write half of the socket.
    pub writer: W,
    /// Encrypts outgoing bytes.
    pub seal: S,
    /// Decrypts incoming bytes.
    pub open: O,
    /// Bytes already read from the socket and not yet decrypted.
    pub read_buf: BytesMut,
    /// Plaintext already decrypted and not yet given to yamux.
    pub plaintext: BytesMut,
    /// Bytes the peer's plaintext must start with (the multistream-select answer to a lazy
    /// `/yamux/1.0.0` proposal); they are checked and removed before yamux sees anything.
    pub expect_prefix: Vec<u8>,
}

/// The two driver tasks. Dropping it leaves them running; [`Tasks::join`] waits for both.
#[derive(Debug)]
pub struct Tasks {
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Tasks {
    /// Waits until both tasks ended.
    pub async fn join(self) {
        let _ = self.writer.await;
        let _ = self.reader.await;
    }
}

impl Connection {
    /// Starts the reader and writer tasks for `session` over `transport`.
    pub fn spawn<R, W, S, O>(
        session: Session,
        transport: Transport<R, W, S, O>,
    ) -> (Connection, Tasks)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
        S: Seal,
        O: Open,
    {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                session,
                read_wakers: HashMap::new(),
                write_wakers: HashMap::new(),
                accept_queue: VecDeque::new(),
                accept_waker: None,
                open_wakers: Vec::new(),
                closed: None,
            }),
            writer: Notify::new(),
            reader: Notify::new(),
        });
        // The first RTT ping is due at once.
        shared.writer.notify_one();
        let Transport {
            reader,
            writer,
            seal,
            open,
            read_buf,
            plaintext,
            expect_prefix,
        } = transport;
        let reader_task = tokio::spawn(read_loop(
            shared.clone(),
            reader,
            open,
            read_buf,
            plaintext,
            expect_prefix,
        ));
        let abort_reader = reader_task.abort_handle();
        let writer_task = tokio::spawn(write_loop(shared.clone(), writer, seal, abort_reader));
        (
            Connection { shared },
            Tasks {
                reader: reader_task,
                writer: writer_task,
            },
        )
    }

    /// Opens a stream. Waits while 256 opened streams are not yet acknowledged.
    pub async fn open_stream(&self) -> Result<StreamHandle, ConnectionError> {
        std::future::poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if let Some(e) = inner.closed_error() {
                return Poll::Ready(Err(e));
            }
            match inner.session.open_stream(Instant::now()) {
                Ok(Some(id)) => {
                    self.shared.after_command(&mut inner);
                    Poll::Ready(Ok(StreamHandle::new(id, self.shared.clone())))
                }
                Ok(None) => {
                    inner.open_wakers.push(cx.waker().clone());
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e.into())),
            }
        })
        .await
    }

    /// The next stream the peer opened; `None` once the connection is closed.
    pub async fn accept_stream(&self) -> Option<StreamHandle> {
        std::future::poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if let Some(id) = inner.accept_queue.pop_front() {
                return Poll::Ready(Some(StreamHandle::new(id, self.shared.clone())));
            }
            if inner.closed_error().is_some() {
                return Poll::Ready(None);
            }
            inner.accept_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Sends GoAway (normal) after what is queued; the writer then shuts the socket's write side.
    pub fn close(&self) {
        let mut inner = self.shared.lock();
        inner.session.close(super::frame::go_away::NORMAL);
        self.shared.writer.notify_one();
    }

    /// Smoothed ping RTT, once measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.shared.lock().session.rtt()
    }

    /// Every RTT sample so far.
    pub fn rtt_samples(&self) -> Vec<Duration> {
        self.shared.lock().session.rtt_samples().to_vec()
    }

    /// Session counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().session.stats().clone()
    }

    /// Takes the window trace recorded so far.
    pub fn take_trace(&self) -> Vec<TraceEvent> {
        self.shared.lock().session.take_trace()
    }

    /// Why the connection ended, if it did.
    pub fn closed_reason(&self) -> Option<ConnectionError> {
        self.shared.lock().closed_error()
    }
}

async fn read_loop<R: AsyncRead + Unpin, O: Open>(
    shared: Arc<Shared>,
    mut reader: R,
    mut open: O,
    mut read_buf: BytesMut,
    mut plaintext: BytesMut,
    mut expect_prefix: Vec<u8>,
) {
    let reason = loop {
        if !read_buf.is_empty() || !plaintext.is_empty() {
            if let Err(e) = open.open(&mut read_buf, &mut plaintext) {
                break ConnectionError::Io(e.to_string());
            }
            if !expect_prefix.is_empty() {
                let n = expect_prefix.len().min(plaintext.len());
                if plaintext[..n] != expect_prefix[..n] {
                    break ConnectionError::Negotiation;
                }
                let _ = plaintext.split_to(n);
                expect_prefix.drain(..n);
            }
            let paused = {
                let mut inner = shared.lock();
                let result = inner.session.handle_input(Instant::now(), &mut plaintext);
                shared.after_command(&mut inner);
                if let Err(e) = result {
                    break ConnectionError::Session(e);
                }
                let paused = inner.session.input_paused();
                if paused && let Some(reason) = inner.closed.clone() {
                    break reason;
                }
                paused
            };
            if paused {
                // The peer is not reading our answers: read nothing more until the writer has
                // taken them (see MAX_CONTROL_BACKLOG), so our memory stays bounded.
                shared.reader.notified().await;
                continue;
            }
        }
        read_buf.reserve(READ_CHUNK);
        match reader.read_buf(&mut read_buf).await {
            Ok(0) => break ConnectionError::Eof,
            Ok(_) => {}
            Err(e) => break ConnectionError::Io(e.to_string()),
        }
    };
    let mut inner = shared.lock();
    inner.shut(reason);
    shared.writer.notify_one();
}

async fn write_loop<W: AsyncWrite + Unpin, S: Seal>(
    shared: Arc<Shared>,
    mut writer: W,
    mut seal: S,
    abort_reader: tokio::task::AbortHandle,
) {
    let mut plaintext = BytesMut::with_capacity(WRITE_BATCH + 64 * 1024);
    let mut wire = BytesMut::with_capacity(WRITE_BATCH + 64 * 1024);
    loop {
        let (deadline, done) = {
            let mut inner = shared.lock();
            let now = Instant::now();
            if inner.session.poll_timeout().is_some_and(|t| t <= now) {
                // A failure queues a GoAway, which goes out below.
                let _ = inner.session.handle_timeout(now);
            }
            let paused = inner.session.input_paused();
            inner
                .session
                .poll_transmit(now, &mut plaintext, WRITE_BATCH);
            if paused {
                shared.reader.notify_one();
            }
            inner.dispatch();
            let done = inner.session.is_closed() || inner.closed.is_some();
            if let Some(e) = inner.session.error().cloned() {
                inner.shut(ConnectionError::Session(e));
            }
            (inner.session.poll_timeout(), done)
        };
        if !plaintext.is_empty() {
            let result = match seal.seal(&plaintext, &mut wire) {
                Ok(()) => writer.write_all(&wire).await,
                Err(e) => Err(e),
            };
            plaintext.clear();
            wire.clear();
            if let Err(e) = result {
                shared.lock().shut(ConnectionError::Io(e.to_string()));
                break;
            }
            continue;
        }
        if done {
            break;
        }
        match deadline {
            Some(t) => {
                tokio::select! {
                    _ = shared.writer.notified() => {}
                    _ = tokio::time::sleep_until(t.into()) => {}
                }
            }
            None => shared.writer.notified().await,
        }
    }
    let _ = writer.flush().await;
    let _ = writer.shutdown().await;
    let mut inner = shared.lock();
    let session_done = inner.session.is_closed();
    inner.shut(ConnectionError::Closed);
    drop(inner);
    shared.reader.notify_one();
    // After our GoAway the peer has nothing to say that we need; after a socket error neither.
    // On a peer EOF the reader is already done.
    if session_done {
        abort_reader.abort();
    }
}

/// One yamux stream: `AsyncRead + AsyncWrite`. Dropping it closes the write side gracefully
/// and discards whatever else arrives.
pub struct StreamHandle {
    id: u32,
    shared: Arc<Shared>,
    /// The rest of a chunk a short read could not take.
    pending: Bytes,
}

impl std::fmt::Debug for StreamHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHandle")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl StreamHandle {
    fn new(id: u32, shared: Arc<Shared>) -> Self {
        Self {
            id,
            shared,
            pending: Bytes::new(),
        }
    }

    /// The yamux stream id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The next received chunk without copying it; `None` at end of stream.
    pub fn poll_read_chunk(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<io::Result<Option<Bytes>>> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(max);
            return Poll::Ready(Ok(Some(self.pending.split_to(n))));
        }
        let mut inner = self.shared.lock();
        let outcome = inner.session.read(Instant::now(), self.id, max);
        self.shared.after_command(&mut inner);
        match outcome {
            Ok(ReadOutcome::Data(data)) => Poll::Ready(Ok(Some(data))),
            Ok(ReadOutcome::Eof) => Poll::Ready(Ok(None)),
            Ok(ReadOutcome::Pending) => {
                if let Some(e) = inner.closed_error() {
                    return Poll::Ready(Err(e.into()));
                }
                inner.read_wakers.insert(self.id, cx.waker().clone());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(stream_error(e))),
        }
    }

    /// Reads the next chunk without copying; `None` at end of stream.
    pub async fn read_chunk(&mut self) -> io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_read_chunk(cx, usize::MAX)).await
    }

    /// Queues as much of `data` as the stream takes without copying it.
    pub fn poll_write_bytes(
        &mut self,
        cx: &mut Context<'_>,
        data: &Bytes,
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |session, now, id| session.write(now, id, data))
    }

    /// Writes all of `data` without copying it (a prefix is kept per call).
    pub async fn write_bytes(&mut self, mut data: Bytes) -> io::Result<()> {
        while !data.is_empty() {
            let n = std::future::poll_fn(|cx| self.poll_write_bytes(cx, &data)).await?;
            let _ = data.split_to(n);
        }
        Ok(())
    }

    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(&mut Session, Instant, u32) -> Result<usize, StreamError>,
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.shared.lock();
        if let Some(e) = inner.closed_error() {
            return Poll::Ready(Err(e.into()));
        }
        match write(&mut inner.session, Instant::now(), self.id) {
            Ok(0) => {
                inner.write_wakers.insert(self.id, cx.waker().clone());
                Poll::Pending
            }
            Ok(n) => {
                self.shared.after_command(&mut inner);
                Poll::Ready(Ok(n))
            }
            Err(e) => Poll::Ready(Err(stream_error(e))),
        }
    }

    /// Resets the stream with an error code.
    pub fn reset(&mut self, code: u32) {
        let mut inner = self.shared.lock();
        let _ = inner.session.reset(self.id, code);
        self.shared.after_command(&mut inner);
    }
}

impl AsyncRead for StreamHandle {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let max = buf.remaining();
        match this.poll_read_chunk(cx, max) {
            Poll::Ready(Ok(Some(chunk))) => {
                buf.put_slice(&chunk);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for StreamHandle {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |session, now, id| session.write_slice(now, id, data))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Frames are queued in the session; the writer task sends them without being asked.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut inner = this.shared.lock();
        let result = inner.session.close_write(this.id);
        this.shared.after_command(&mut inner);
        Poll::Ready(result.map_err(stream_error))
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.session.detach(Instant::now(), self.id);
        inner.read_wakers.remove(&self.id);
        inner.write_wakers.remove(&self.id);
        self.shared.after_command(&mut inner);
        // The session's timer may have changed (the idle timeout starts with the last stream).
        self.shared.writer.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yamux::session::{Config, Role};
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    /// Two connected yamux connections over loopback TCP, without encryption.
    async fn pair(config: Config) -> (Connection, Connection) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let spawn = |tcp: TcpStream, role| {
            let (reader, writer) = tcp.into_split();
            let transport = Transport {
                reader,
                writer,
                seal: Identity,
                open: Identity,
                read_buf: BytesMut::new(),
                plaintext: BytesMut::new(),
                expect_prefix: Vec::new(),
            };
            Connection::spawn(
                Session::new(role, config.clone(), Instant::now()),
                transport,
            )
            .0
        };
        (
            spawn(client.unwrap(), Role::Client),
            spawn(server.unwrap().0, Role::Server),
        )
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    /// Echo-free exchange on one stream: each side writes `len` bytes, half-closes, and reads
    /// the other's bytes to EOF; both directions run at once.
    async fn exchange(mut stream: StreamHandle, send: Vec<u8>) -> Vec<u8> {
        let (mut received, mut write_result) = (Vec::new(), Ok(()));
        // Writes and reads interleave through the same handle, so drive them by hand.
        let mut sent = 0;
        let mut closed = false;
        let mut buf = vec![0u8; 64 * 1024];
        std::future::poll_fn(|cx| {
            loop {
                let mut progress = false;
                if sent < send.len() {
                    if let Poll::Ready(r) = Pin::new(&mut stream).poll_write(cx, &send[sent..]) {
                        match r {
                            Ok(n) => sent += n,
                            Err(e) => write_result = Err(e),
                        }
                        progress = true;
                    }
                } else if !closed {
                    let _ = Pin::new(&mut stream).poll_shutdown(cx);
                    closed = true;
                    progress = true;
                }
                let mut rb = ReadBuf::new(&mut buf);
                match Pin::new(&mut stream).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                        if closed {
                            return Poll::Ready(());
                        }
                    }
                    Poll::Ready(Ok(())) => {
                        received.extend_from_slice(rb.filled());
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => panic!("read failed: {e}"),
                    Poll::Pending => {}
                }
                if write_result.is_err() {
                    return Poll::Ready(());
                }
                if !progress {
                    return Poll::Pending;
                }
            }
        })
        .await;
        write_result.unwrap();
        received
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn transfers_both_ways_on_one_stream() {
        let (client, server) = pair(Config::default()).await;
        let len = 16 << 20;
        let server_task = tokio::spawn(async move {
            let stream = server.accept_stream().await.unwrap();
            exchange(stream, pattern(len, 0x55)).await
        });
        let stream = client.open_stream().await.unwrap();
        let got = exchange(stream, pattern(len, 0xaa)).await;
        assert!(got == pattern(len, 0x55), "client received corrupted data");
        assert!(
            server_task.await.unwrap() == pattern(len, 0xaa),
            "server received corrupted data"
        );
        assert!(
            client.rtt().is_some(),
            "the session-start ping was answered"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_streams_stay_separate() {
        let (client, server) = pair(Config::default()).await;
        let streams = 16;
        let len = 1 << 20;
        let server_task = tokio::spawn(async move {
            let mut tasks = Vec::new();
            for _ in 0..streams {
                let mut stream = server.accept_stream().await.unwrap();
                tasks.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    stream.read_to_end(&mut got).await.unwrap();
                    // Echo back what arrived, then close.
                    stream.write_all(&got).await.unwrap();
                    stream.shutdown().await.unwrap();
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let mut tasks = Vec::new();
        for i in 0..streams {
            let mut stream = client.open_stream().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let data = pattern(len, i as u8);
                stream.write_all(&data).await.unwrap();
                stream.shutdown().await.unwrap();
                let mut got = Vec::new();
                stream.read_to_end(&mut got).await.unwrap();
                assert!(got == data, "stream {i} got another stream's bytes");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        server_task.await.unwrap();
    }

    #[tokio::test]
    async fn close_ends_the_peer_accept_loop() {
        let (client, server) = pair(Config::default()).await;
        client.close();
        assert!(server.accept_stream().await.is_none());
        assert!(matches!(
            client.open_stream().await,
            Err(ConnectionError::Session(SessionError::Closed) | ConnectionError::Closed)
        ));
    }
}
