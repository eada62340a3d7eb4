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
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::session::{Event, ReadOutcome, Session, SessionError, Stats, TraceEvent};
use super::stream::StreamError;
use super::wire::FrameParts;

/// Plaintext bytes the writer takes from the session per batch (one socket write).
const WRITE_BATCH: usize = 256 * 1024;

/// Bytes the reader asks the socket for per read.
const READ_CHUNK: usize = 256 * 1024;

/// How a [`Seal`] that can work in place frames its units on the wire: `prefix` bytes, at most
/// `max_plaintext` plaintext bytes, then `suffix` bytes (Noise: a 2-byte length, 65519 bytes, a
/// 16-byte tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// Bytes in front of each unit's plaintext.
    pub prefix: usize,
    /// Bytes behind each unit's plaintext.
    pub suffix: usize,
    /// Most plaintext bytes in one unit.
    pub max_plaintext: usize,
}

/// Encrypts outgoing plaintext (the layer below yamux).
pub trait Seal: Send + 'static {
    /// Appends the wire form of `plaintext` to `out`.
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()>;

    /// The framing of [`Seal::seal_in_place`] and [`Seal::seal_pieces`], or `None` (the
    /// default) when only [`Seal::seal`] works. With a framing the writer takes yamux frames
    /// without copying their payload and seals them unit by unit with [`Seal::seal_pieces`].
    fn framing(&self) -> Option<Framing> {
        None
    }

    /// Whether the wire form is the plaintext itself (no transform at all). The writer then
    /// sends the frames' headers and the payload straight from the streams' send buffers with
    /// vectored writes: no userspace copy of the payload. Default `false`.
    fn passthrough(&self) -> bool {
        false
    }

    /// Seals one unit in place: `unit` is [`Framing::prefix`] bytes, then the plaintext (at most
    /// [`Framing::max_plaintext`] bytes), then [`Framing::suffix`] bytes; the prefix and suffix
    /// are filled in and the plaintext is encrypted. Only called when [`Seal::framing`] is
    /// `Some`.
    fn seal_in_place(&mut self, unit: &mut [u8]) -> io::Result<()> {
        let _ = unit;
        Err(io::Error::other("this Seal does not seal in place"))
    }

    /// Seals one unit whose plaintext is the concatenation of `pieces` into `unit`, which is
    /// exactly [`Framing::prefix`] + plaintext + [`Framing::suffix`] bytes long (its contents on
    /// entry are unspecified). The default copies the pieces into place and calls
    /// [`Seal::seal_in_place`]; a cipher that can read its input from elsewhere overrides it to
    /// encrypt from the pieces in one pass.
    fn seal_pieces(&mut self, pieces: &[&[u8]], unit: &mut [u8]) -> io::Result<()> {
        let framing = self
            .framing()
            .ok_or_else(|| io::Error::other("this Seal has no framing"))?;
        let mut at = framing.prefix;
        for piece in pieces {
            unit[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        }
        debug_assert_eq!(at + framing.suffix, unit.len());
        self.seal_in_place(unit)
    }
}

/// Decrypts incoming bytes (the layer below yamux).
pub trait Open: Send + 'static {
    /// Consumes every complete unit at the front of `input`, appending plaintext to `out`.
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> io::Result<()>;

    /// Consumes the next complete unit at the front of `input` and returns its plaintext, or
    /// `None` when no complete unit is there. An implementation that decrypts in place returns
    /// a part of `input`'s buffer (no copy); the default one calls [`Open::open`] and returns
    /// everything available at once.
    fn open_next(&mut self, input: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        let mut out = BytesMut::new();
        self.open(input, &mut out)?;
        Ok((!out.is_empty()).then_some(out))
    }
}

/// Most slices per vectored write (Linux's `IOV_MAX` is 1024).
const MAX_IOV: usize = 512;

/// The writer's batch: yamux frames taken from the session and sealed for the socket.
///
/// With a [`Seal::framing`], [`Batch::fill`] takes frames as [`FrameParts`] (headers, and the
/// payload as references into the streams' send buffers: no copy under the session lock),
/// split into units of at most [`Framing::max_plaintext`] bytes that each hold whole frames.
/// [`Batch::seal`] then seals every unit from its pieces straight into the wire buffer
/// ([`Seal::seal_pieces`]: with Noise one pass of encryption, no copy first). A
/// [`Seal::passthrough`] seal needs no wire buffer: [`Batch::poll_send`] writes the parts
/// themselves with vectored writes. Without a framing, frames are copied into a plaintext
/// buffer that [`Seal::seal`] copies into the wire buffer. The buffers are reused: no
/// allocation per batch once they have grown.
#[derive(Debug, Default)]
pub struct Batch {
    /// Sealed bytes: `wire[..wire_len]`. In framing mode the buffer only grows and is never
    /// cleared, so sealing into it does not write zeros first.
    wire: BytesMut,
    wire_len: usize,
    plaintext: BytesMut,
    /// Frames taken in framing mode.
    parts: FrameParts,
    /// Plaintext length of each unit of `parts`, in order (framing mode, not passthrough).
    units: Vec<usize>,
    /// Bytes of `wire` that [`Batch::poll_send`] has written.
    sent: usize,
    /// The part of `parts` that [`Batch::poll_send`] writes next, and how much of it is written.
    part_at: (usize, usize),
    /// Bytes [`Batch::poll_send`] has written over the batch's life.
    written: u64,
}

impl Batch {
    /// An empty batch with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            wire: BytesMut::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Takes frames from `session` until about `limit` plaintext bytes are in the batch or the
    /// session has nothing more to send. Cheap: call it under the session lock, then
    /// [`Batch::seal`] outside.
    pub fn fill<S: Seal>(&mut self, session: &mut Session, now: Instant, seal: &S, limit: usize) {
        let Some(framing) = seal.framing() else {
            session.poll_transmit(now, &mut self.plaintext, limit);
            return;
        };
        if seal.passthrough() {
            // No buffer to bound: take everything that is ready (as the copying path did, whose
            // single unit was unbounded), so one vectored write carries it all.
            session.poll_transmit_parts(now, &mut self.parts, limit.max(framing.max_plaintext));
            return;
        }
        while self.parts.len() < limit {
            let start = self.parts.len();
            session.poll_transmit_parts(now, &mut self.parts, start + framing.max_plaintext);
            let mut taken = self.parts.len() - start;
            if taken == 0 {
                break;
            }
            // Only control frames ignore the limit (a long queue of them): the excess goes into
            // units of its own.
            while taken > framing.max_plaintext {
                self.units.push(framing.max_plaintext);
                taken -= framing.max_plaintext;
            }
            self.units.push(taken);
        }
    }

    /// Whether the batch holds nothing to send.
    pub fn is_empty(&self) -> bool {
        self.wire_len == self.sent && self.plaintext.is_empty() && self.parts.is_empty()
    }

    /// Seals what [`Batch::fill`] took; [`Batch::poll_send`] then writes it.
    pub fn seal<S: Seal>(&mut self, seal: &mut S) -> io::Result<()> {
        if !self.plaintext.is_empty() {
            self.wire.clear();
            seal.seal(&self.plaintext, &mut self.wire)?;
            self.wire_len = self.wire.len();
            self.plaintext.clear();
            return Ok(());
        }
        if self.units.is_empty() {
            return Ok(());
        }
        let framing = seal
            .framing()
            .ok_or_else(|| io::Error::other("units taken for a Seal without framing"))?;
        let overhead = framing.prefix + framing.suffix;
        let total = self.parts.len() + self.units.len() * overhead;
        if self.wire.len() < total {
            self.wire.resize(total, 0);
        }
        // Walk the parts once, cutting them at unit boundaries.
        let mut parts = self.parts.iter();
        let mut current: &[u8] = &[];
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(self.parts.part_count() + 1);
        let mut at = 0;
        for &len in &self.units {
            pieces.clear();
            let mut need = len;
            while need > 0 {
                if current.is_empty() {
                    current = parts.next().expect("units cover exactly the parts");
                }
                let n = need.min(current.len());
                pieces.push(&current[..n]);
                current = &current[n..];
                need -= n;
            }
            seal.seal_pieces(&pieces, &mut self.wire[at..at + overhead + len])?;
            at += overhead + len;
        }
        drop((pieces, parts));
        self.wire_len = total;
        self.units.clear();
        self.parts.clear();
        Ok(())
    }

    /// Writes what is left of the sealed batch to `writer`, keeping track of partial writes;
    /// `Ready(Ok)` once everything is written, and the batch is then empty. Passthrough frames
    /// go out with vectored writes of at most 512 slices (copied into one buffer first
    /// when `writer` has no vectored write).
    pub fn poll_send<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.parts.is_empty() && !writer.is_write_vectored() {
            self.flatten_parts();
        }
        while self.part_at.0 < self.parts.part_count() {
            let mut iov = [io::IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, part) in iov.iter_mut().zip(self.unsent_parts()) {
                *slot = io::IoSlice::new(part);
                count += 1;
            }
            let n = ready!(Pin::new(&mut *writer).poll_write_vectored(cx, &iov[..count]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance_parts(n);
            self.written += n as u64;
        }
        while self.sent < self.wire_len {
            let n = ready!(
                Pin::new(&mut *writer).poll_write(cx, &self.wire[self.sent..self.wire_len])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
            self.written += n as u64;
        }
        self.clear();
        Poll::Ready(Ok(()))
    }

    /// Bytes written to the socket over the batch's life (not reset by [`Batch::clear`]).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Moves the write position `n` bytes on through the parts.
    fn advance_parts(&mut self, mut n: usize) {
        while n > 0 {
            let (index, offset) = self.part_at;
            let left = self.parts.part(index).len() - offset;
            if n < left {
                self.part_at.1 += n;
                return;
            }
            n -= left;
            self.part_at = (index + 1, 0);
        }
    }

    /// The parts not yet written, the first one without its written bytes.
    fn unsent_parts(&self) -> impl Iterator<Item = &[u8]> {
        let (first, offset) = self.part_at;
        (first..self.parts.part_count()).map(move |index| {
            let skip = if index == first { offset } else { 0 };
            &self.parts.part(index)[skip..]
        })
    }

    /// Replaces the unsent parts by a copy in `wire` (for a writer without vectored writes,
    /// where every slice would cost a write call).
    fn flatten_parts(&mut self) {
        let mut wire = std::mem::take(&mut self.wire);
        wire.clear();
        self.unsent_parts()
            .for_each(|part| wire.extend_from_slice(part));
        self.wire = wire;
        self.wire_len = self.wire.len();
        self.sent = 0;
        self.part_at = (0, 0);
        self.parts.clear();
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.wire_len = 0;
        self.sent = 0;
        self.part_at = (0, 0);
        self.plaintext.clear();
        self.parts.clear();
        self.units.clear();
    }
}

/// No transform: yamux directly on the socket (tests, and `/plaintext` security).
#[derive(Debug, Default, Clone, Copy)]
pub struct Identity;

impl Seal for Identity {
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()> {
        out.extend_from_slice(plaintext);
        Ok(())
    }

    fn framing(&self) -> Option<Framing> {
        Some(Framing {
            prefix: 0,
            suffix: 0,
            max_plaintext: usize::MAX / 2,
        })
    }

    fn passthrough(&self) -> bool {
        true
    }

    fn seal_in_place(&mut self, _unit: &mut [u8]) -> io::Result<()> {
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

    /// Everything read so far, split off the read buffer: no copy, and the buffer keeps its
    /// allocation, so the reader's pool can reclaim it once yamux and the application are done
    /// with the bytes. (The default swaps the buffer out, leaving an empty one without capacity:
    /// a fresh allocation for every read, and page faults on the receive path.)
    fn open_next(&mut self, input: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        Ok((!input.is_empty()).then(|| input.split()))
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
    /// The socket's write side. Lock order: `outbound` before `inner`.
    outbound: Mutex<Box<dyn Pump>>,
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

    fn lock_outbound(&self) -> MutexGuard<'_, Box<dyn Pump>> {
        self.outbound.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Dispatches events and wakes the writer task if the session has frames to send. The
    /// writer runs once the calling task yields, so what a task queues in one go (a stream's
    /// SYN, request and FIN) leaves in one batch.
    fn after_command(&self, inner: &mut Inner) {
        inner.dispatch();
        if inner.session.wants_transmit() {
            self.writer.notify_one();
        }
    }

    /// Like [`Shared::after_command`], but sends what the session has from the calling task
    /// ([`Shared::send_inline`]). For a task that is about to wait for the peer: nothing more
    /// will join the batch, and the answer can only come once the request is out.
    fn flush_inline(&self, mut inner: MutexGuard<'_, Inner>) {
        inner.dispatch();
        if inner.session.wants_transmit() {
            drop(inner);
            self.send_inline();
        }
    }

    /// Sends what the session has from the calling task, without waiting: a stream that waits
    /// for its answer writes its request to the socket itself instead of leaving it to the
    /// writer task. On loopback a task hand-off costs about as much as the kernel's part of
    /// the round trip, so this is a large part of the latency of a small exchange. Only when
    /// the write side is busy (another task holds it, or the writer task waits for the socket
    /// to drain) or the socket takes less than everything is the writer task woken, to finish
    /// the job.
    fn send_inline(&self) {
        let sent = match self.outbound.try_lock() {
            // Only when no batch is half written: then the writer task waits for the socket
            // with its own waker registered, and polling the socket here would replace it.
            Ok(mut outbound) if outbound.is_idle() => {
                // A no-op waker: if the socket is full the writer task is woken below and polls
                // it again with its own waker, which replaces this one.
                let mut cx = Context::from_waker(Waker::noop());
                match outbound.poll_pump(self, &mut cx) {
                    Poll::Ready(Ok(())) => true,
                    Poll::Ready(Err(e)) => {
                        self.lock().shut(ConnectionError::Io(e.to_string()));
                        false
                    }
                    Poll::Pending => false,
                }
            }
            _ => false,
        };
        if !sent {
            self.writer.notify_one();
        }
    }
}

/// The socket's write side with its [`Seal`] and the batch in flight: whoever holds it (behind
/// [`Shared::outbound`]) may write, so frames reach the socket in the order the session gave
/// them out.
struct Outbound<W, S> {
    writer: W,
    seal: S,
    batch: Batch,
    /// Set once the write side is shut: nothing more is written.
    shut: bool,
}

/// [`Outbound`] without its type parameters, so [`Shared`] (and the stream handles) need none.
trait Pump: Send {
    /// Whether no sealed batch is waiting for the socket.
    fn is_idle(&self) -> bool;

    /// Takes frames from the session, seals and writes them until the session has nothing
    /// more (`Ready(Ok)`) or the socket is full (`Pending`, the rest is kept).
    fn poll_pump(&mut self, shared: &Shared, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Flushes and shuts the socket's write side.
    fn poll_shut(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Bytes written to the socket so far.
    fn written(&self) -> u64;
}

impl<W: AsyncWrite + Unpin + Send, S: Seal> Pump for Outbound<W, S> {
    fn is_idle(&self) -> bool {
        self.batch.is_empty()
    }

    fn poll_pump(&mut self, shared: &Shared, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.shut {
                return Poll::Ready(Ok(()));
            }
            if self.batch.is_empty() {
                {
                    let mut inner = shared.lock();
                    let paused = inner.session.input_paused();
                    self.batch
                        .fill(&mut inner.session, Instant::now(), &self.seal, WRITE_BATCH);
                    if paused {
                        shared.reader.notify_one();
                    }
                    inner.dispatch();
                    if let Some(e) = inner.session.error().cloned() {
                        inner.shut(ConnectionError::Session(e));
                    }
                }
                if self.batch.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                if let Err(e) = self.batch.seal(&mut self.seal) {
                    self.batch.clear();
                    return Poll::Ready(Err(e));
                }
            }
            if let Err(e) = std::task::ready!(self.batch.poll_send(&mut self.writer, cx)) {
                self.batch.clear();
                return Poll::Ready(Err(e));
            }
        }
    }

    fn written(&self) -> u64 {
        self.batch.written()
    }

    fn poll_shut(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut = true;
        std::task::ready!(Pin::new(&mut self.writer).poll_flush(cx))?;
        Pin::new(&mut self.writer).poll_shutdown(cx)
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
        let Transport {
            reader,
            writer,
            seal,
            open,
            read_buf,
            plaintext,
            expect_prefix,
        } = transport;
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
            outbound: Mutex::new(Box::new(Outbound {
                writer,
                seal,
                batch: Batch::with_capacity(WRITE_BATCH + 128 * 1024),
                shut: false,
            })),
            writer: Notify::new(),
            reader: Notify::new(),
        });
        // The first RTT ping is due at once.
        shared.writer.notify_one();
        let reader_task = tokio::spawn(read_loop(
            shared.clone(),
            reader,
            open,
            read_buf,
            plaintext,
            expect_prefix,
        ));
        let abort_reader = reader_task.abort_handle();
        let writer_task = tokio::spawn(write_loop(shared.clone(), abort_reader));
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
    // Plaintext units decrypted from one read, fed to the session under one lock.
    let mut units: Vec<BytesMut> = Vec::new();
    let mut pool = RecvPool::default();
    let reason = loop {
        if !read_buf.is_empty() || !plaintext.is_empty() {
            if !plaintext.is_empty() {
                units.push(std::mem::take(&mut plaintext));
            }
            let opened = loop {
                match open.open_next(&mut read_buf) {
                    Ok(Some(unit)) => units.push(unit),
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = opened {
                break ConnectionError::Io(e.to_string());
            }
            match feed(&shared, &mut units, &mut plaintext, &mut expect_prefix) {
                Err(reason) => break reason,
                Ok(true) => {
                    // The peer is not reading our answers: read nothing more until the writer
                    // has taken them (see MAX_CONTROL_BACKLOG), so our memory stays bounded.
                    shared.reader.notified().await;
                    continue;
                }
                Ok(false) => {}
            }
        }
        pool.make_room(&mut read_buf);
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

/// Receive buffers kept for reuse, at most this many.
const RECV_POOL: usize = 32;

/// Recycles receive buffers. Decrypted payload is handed to yamux as parts of the receive buffer
/// (no copy), so a buffer stays shared until the application has read every chunk of it, and a
/// fresh allocation per read would come from newly mapped pages: on loopback that cost ~8% of
/// the CPU in page faults, page clearing and glibc's trimming (perf). The pool keeps the last
/// few buffers and reuses one as soon as nothing else refers to it.
#[derive(Debug, Default)]
struct RecvPool {
    spare: VecDeque<BytesMut>,
}

impl RecvPool {
    /// Gives `buf` room for [`READ_CHUNK`] more bytes, moving its (partial-message) contents to
    /// a recycled buffer when its own allocation is still shared.
    fn make_room(&mut self, buf: &mut BytesMut) {
        if buf.capacity() - buf.len() >= READ_CHUNK || buf.try_reclaim(READ_CHUNK) {
            return;
        }
        let need = buf.len() + READ_CHUNK;
        let recycled = self.spare.iter_mut().position(|b| b.try_reclaim(need));
        let mut next = match recycled.and_then(|i| self.spare.remove(i)) {
            Some(b) => b,
            None => BytesMut::with_capacity(need.max(READ_CHUNK + READ_CHUNK / 2)),
        };
        next.extend_from_slice(buf);
        let mut old = std::mem::replace(buf, next);
        old.clear();
        if self.spare.len() == RECV_POOL {
            self.spare.pop_front();
        }
        self.spare.push_back(old);
    }
}

/// Feeds decrypted units to the session under one lock. A unit is handed over as it is (the
/// session splits its payload off without copying) unless an incomplete frame header from the
/// previous unit is waiting in `plaintext`, in which case it is appended to it. Returns whether
/// the session paused its input (too many answers waiting for the writer).
fn feed(
    shared: &Shared,
    units: &mut Vec<BytesMut>,
    plaintext: &mut BytesMut,
    expect_prefix: &mut Vec<u8>,
) -> Result<bool, ConnectionError> {
    if units.is_empty() {
        return Ok(false);
    }
    let mut inner = shared.lock();
    let now = Instant::now();
    let mut result = Ok(());
    for mut unit in units.drain(..) {
        if result.is_err() {
            continue;
        }
        if !expect_prefix.is_empty() {
            let n = expect_prefix.len().min(unit.len());
            if unit[..n] != expect_prefix[..n] {
                result = Err(ConnectionError::Negotiation);
                continue;
            }
            let _ = unit.split_to(n);
            expect_prefix.drain(..n);
        }
        if plaintext.is_empty() {
            *plaintext = unit;
        } else {
            plaintext.extend_from_slice(&unit);
        }
        if let Err(e) = inner.session.handle_input(now, plaintext) {
            result = Err(ConnectionError::Session(e));
        }
    }
    shared.after_command(&mut inner);
    result?;
    let paused = inner.session.input_paused();
    if paused && let Some(reason) = inner.closed.clone() {
        return Err(reason);
    }
    Ok(paused)
}

/// Runs [`Pump::poll_pump`] until the session has nothing more to send. With a `timeout`, fails
/// with `TimedOut` once the socket has taken no byte for that long.
async fn pump_watched(shared: &Shared, timeout: Option<Duration>) -> io::Result<()> {
    let pump = std::future::poll_fn(|cx| shared.lock_outbound().poll_pump(shared, cx));
    let Some(timeout) = timeout else {
        return pump.await;
    };
    tokio::pin!(pump);
    let mut seen = shared.lock_outbound().written();
    loop {
        tokio::select! {
            // Pump first: most pumps finish at once, and then the timer is never polled, so it
            // never enters the timer wheel.
            biased;
            result = &mut pump => return result,
            () = tokio::time::sleep(timeout) => {
                let written = shared.lock_outbound().written();
                if written == seen {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the peer took no byte for {timeout:?} (write timeout)"),
                    ));
                }
                seen = written;
            }
        }
    }
}

async fn write_loop(shared: Arc<Shared>, abort_reader: tokio::task::AbortHandle) {
    let write_timeout = shared.lock().session.config().write_timeout;
    let mut write_failed = false;
    loop {
        let deadline = {
            let mut inner = shared.lock();
            let now = Instant::now();
            if inner.session.poll_timeout().is_some_and(|t| t <= now) {
                // A failure queues a GoAway, which goes out below.
                let _ = inner.session.handle_timeout(now);
            }
            inner.session.poll_timeout()
        };
        let sent = pump_watched(&shared, write_timeout).await;
        if let Err(e) = sent {
            shared.lock().shut(ConnectionError::Io(e.to_string()));
            write_failed = true;
            break;
        }
        {
            // Everything the session had is on the socket now; once it is closed (our GoAway is
            // out) or the connection failed, we are done.
            let inner = shared.lock();
            if inner.session.is_closed() || inner.closed.is_some() {
                break;
            }
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
    let _ = std::future::poll_fn(|cx| shared.lock_outbound().poll_shut(cx)).await;
    let mut inner = shared.lock();
    let session_done = inner.session.is_closed();
    inner.shut(ConnectionError::Closed);
    drop(inner);
    shared.reader.notify_one();
    // After our GoAway the peer has nothing to say that we need; after a failed write (an error,
    // or a peer that stopped reading and may never send again) neither. On a peer EOF the
    // reader is already done.
    if session_done || write_failed {
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
        let ready = match inner.session.read(Instant::now(), self.id, max) {
            Ok(ReadOutcome::Data(data)) => Ok(Some(data)),
            Ok(ReadOutcome::Eof) => Ok(None),
            Err(e) => Err(stream_error(e)),
            Ok(ReadOutcome::Pending) => {
                if let Some(e) = inner.closed_error() {
                    return Poll::Ready(Err(e.into()));
                }
                inner.read_wakers.insert(self.id, cx.waker().clone());
                // This task now waits for the peer: whatever it wrote before goes out at once.
                self.shared.flush_inline(inner);
                return Poll::Pending;
            }
        };
        // Reading may have queued a window update.
        self.shared.after_command(&mut inner);
        Poll::Ready(ready)
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
    use crate::yamux::frame::HEADER_LEN;
    use crate::yamux::session::{Config, Role};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    #[test]
    fn identity_open_next_splits_in_place_and_the_buffer_keeps_its_allocation() {
        let mut input = BytesMut::with_capacity(4096);
        input.extend_from_slice(b"frames");
        let unit = Identity.open_next(&mut input).unwrap().unwrap();
        assert_eq!(&unit[..], b"frames");
        assert!(input.is_empty());
        // The rest of the allocation is still the read buffer's, and all of it comes back once
        // the unit is gone: the reader's pool can reuse it instead of allocating.
        assert!(input.capacity() >= 4096 - 6);
        drop(unit);
        assert!(input.try_reclaim(4096));
        assert_eq!(Identity.open_next(&mut input).unwrap(), None);
    }

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

    /// An in-place "cipher" with a small unit: prefix = plaintext length (u16 BE), suffix =
    /// three 0xAA bytes, plaintext XORed with 0x55.
    struct TinyUnits;

    const TINY: Framing = Framing {
        prefix: 2,
        suffix: 3,
        max_plaintext: 100,
    };

    impl Seal for TinyUnits {
        fn seal(&mut self, _: &[u8], _: &mut BytesMut) -> io::Result<()> {
            unreachable!("TinyUnits only seals in place")
        }
        fn framing(&self) -> Option<Framing> {
            Some(TINY)
        }
        fn seal_in_place(&mut self, unit: &mut [u8]) -> io::Result<()> {
            let len = unit.len() - TINY.prefix - TINY.suffix;
            assert!(len <= TINY.max_plaintext);
            unit[..2].copy_from_slice(&(len as u16).to_be_bytes());
            unit[2..2 + len].iter_mut().for_each(|b| *b ^= 0x55);
            unit[2 + len..].fill(0xAA);
            Ok(())
        }
    }

    /// Undoes [`TinyUnits`], checking every unit's framing.
    fn open_tiny(mut wire: &[u8]) -> (BytesMut, usize) {
        let (mut plain, mut units) = (BytesMut::new(), 0);
        while !wire.is_empty() {
            let len = usize::from(u16::from_be_bytes([wire[0], wire[1]]));
            assert!((1..=TINY.max_plaintext).contains(&len));
            plain.extend(wire[2..2 + len].iter().map(|b| b ^ 0x55));
            assert_eq!(&wire[2 + len..5 + len], &[0xAA; 3]);
            wire = &wire[5 + len..];
            units += 1;
        }
        (plain, units)
    }

    /// A writer that takes a few bytes per call, alternating with `Pending` (and waking), so
    /// every write is partial and ends inside a slice; it records how it was called.
    struct Choppy {
        out: Vec<u8>,
        vectored: bool,
        calls: usize,
        max_slices: usize,
        pending: bool,
    }

    impl Choppy {
        fn new(vectored: bool) -> Self {
            Self {
                out: Vec::new(),
                vectored,
                calls: 0,
                max_slices: 0,
                pending: false,
            }
        }

        fn take(
            &mut self,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.pending = !self.pending;
            if self.pending {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.calls += 1;
            self.max_slices = self.max_slices.max(bufs.len());
            // 1, 7, 13, ... 70,003 bytes: small cuts inside headers and large ones across parts.
            let mut budget = [1, 7, 13, 4099, 70_003][self.calls % 5];
            let mut n = 0;
            for buf in bufs {
                let k = buf.len().min(budget);
                self.out.extend_from_slice(&buf[..k]);
                (n, budget) = (n + k, budget - k);
            }
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Choppy {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().take(cx, &[io::IoSlice::new(buf)])
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().take(cx, bufs)
        }
        fn is_write_vectored(&self) -> bool {
            self.vectored
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes the sealed batch with [`Batch::poll_send`] through a [`Choppy`] writer.
    fn send_all(batch: &mut Batch, vectored: bool) -> Vec<u8> {
        send_through(batch, &mut Choppy::new(vectored))
    }

    fn send_through(batch: &mut Batch, writer: &mut Choppy) -> Vec<u8> {
        let mut cx = Context::from_waker(Waker::noop());
        let start = writer.out.len();
        for _ in 0..1_000_000 {
            if let Poll::Ready(result) = batch.poll_send(writer, &mut cx) {
                result.unwrap();
                assert!(batch.is_empty());
                return writer.out[start..].to_vec();
            }
        }
        panic!("poll_send made no progress");
    }

    /// Two sessions in the same state: 20 streams opened (240 bytes of control frames), and
    /// payload in pieces of many sizes queued on three of them.
    fn twin_sessions(now: Instant) -> [Session; 2] {
        [0, 1].map(|_| {
            let mut s = Session::new(Role::Client, Config::default(), now);
            s.handle_timeout(now).unwrap();
            let ids: Vec<u32> = (0..20)
                .map(|_| s.open_stream(now).unwrap().unwrap())
                .collect();
            let data = Bytes::from(pattern(300_000, 9));
            for (i, id) in ids[..3].iter().enumerate() {
                let mut at = 0;
                for len in [1, 100, 1023, 1024, 50_000, 3, 70_000, 12] {
                    let piece = data.slice(at..at + len);
                    assert_eq!(s.write(now, *id, &piece).unwrap(), len);
                    at += len + i;
                }
            }
            // Three more streams with a full window of 1 KiB pieces: over 512 parts in all.
            for id in &ids[3..6] {
                for j in 0..256 {
                    let piece = data.slice(j * 1024..(j + 1) * 1024);
                    assert_eq!(s.write(now, *id, &piece).unwrap(), 1024);
                }
            }
            s
        })
    }

    #[test]
    fn passthrough_batch_writes_the_frames_vectored_across_partial_writes() {
        for vectored in [true, false] {
            let now = Instant::now();
            let [mut reference, mut session] = twin_sessions(now);
            let mut batch = Batch::with_capacity(0);
            let mut writer = Choppy::new(vectored);
            let (mut expected, mut sent) = (BytesMut::new(), Vec::new());
            while session.wants_transmit() {
                // A passthrough batch takes everything ready, whatever the limit.
                reference.poll_transmit(now, &mut expected, usize::MAX / 2);
                batch.fill(&mut session, now, &Identity, 100_000);
                batch.seal(&mut Identity).unwrap();
                sent.extend(send_through(&mut batch, &mut writer));
            }
            assert!(!reference.wants_transmit());
            assert!(sent == expected[..], "vectored {vectored}: bytes differ");
            assert_eq!(session.stats(), reference.stats());
            // Vectored: up to MAX_IOV slices per call. Not vectored: one contiguous copy.
            assert_eq!(writer.max_slices, if vectored { MAX_IOV } else { 1 });
        }
    }

    #[test]
    fn noise_batch_seals_the_same_messages_as_sealing_in_place() {
        use crate::noise::{MAX_PLAINTEXT_LEN, Opener, Sealer};
        let key = [5; 32];
        let now = Instant::now();
        let [mut reference, mut session] = twin_sessions(now);
        let (mut reference_seal, mut seal) = (Sealer::new(&key), Sealer::new(&key));
        let mut batch = Batch::with_capacity(0);
        let (mut expected, mut plain, mut wire) = (BytesMut::new(), BytesMut::new(), Vec::new());
        while session.wants_transmit() {
            // What the writer did before: whole frames per message, sealed in place.
            let mut round = BytesMut::new();
            while round.len() < 200_000 {
                let start = round.len();
                reference.poll_transmit(now, &mut round, start + MAX_PLAINTEXT_LEN);
                if round.len() == start {
                    break;
                }
                reference_seal.seal(&round[start..], &mut expected).unwrap();
            }
            plain.extend_from_slice(&round);
            batch.fill(&mut session, now, &seal, 200_000);
            batch.seal(&mut seal).unwrap();
            wire.extend(send_all(&mut batch, true));
        }
        assert!(wire == expected[..], "sealed bytes differ");
        let mut input = BytesMut::from(&wire[..]);
        let mut opened = BytesMut::new();
        Opener::new(&key).open(&mut input, &mut opened).unwrap();
        assert_eq!(opened, plain);
    }

    #[test]
    fn batch_lays_frames_into_units_in_place() {
        let now = Instant::now();
        let mut client = Session::new(Role::Client, Config::default(), now);
        let mut server = Session::new(Role::Server, Config::default(), now);
        // 20 stream openings queue 240 bytes of control frames, more than one unit holds.
        let ids: Vec<u32> = (0..20)
            .map(|_| client.open_stream(now).unwrap().unwrap())
            .collect();
        let data = pattern(1000, 3);
        assert_eq!(client.write_slice(now, ids[0], &data).unwrap(), data.len());
        let mut batch = Batch::with_capacity(0);
        let mut seal = TinyUnits;
        let mut received = Vec::new();
        while client.wants_transmit() {
            batch.fill(&mut client, now, &seal, 300);
            batch.seal(&mut seal).unwrap();
            let (mut plain, units) = open_tiny(&send_all(&mut batch, true));
            assert!(units >= 1);
            batch.clear();
            server.handle_input(now, &mut plain).unwrap();
            assert!(plain.is_empty());
        }
        let mut accepted = 0;
        while let Some(event) = server.poll_event() {
            if let Event::InboundStream(id) = event {
                accepted += 1;
                while let ReadOutcome::Data(chunk) = server.read(now, id, usize::MAX).unwrap() {
                    received.extend_from_slice(&chunk);
                }
            }
        }
        assert_eq!(accepted, 20);
        assert_eq!(received, data);
    }

    #[test]
    fn recv_pool_reuses_a_buffer_once_its_chunks_are_dropped() {
        let mut pool = RecvPool::default();
        let mut buf = BytesMut::new();
        pool.make_room(&mut buf);
        assert!(buf.capacity() >= READ_CHUNK);
        buf.extend_from_slice(&vec![1; READ_CHUNK]);
        let first = buf.as_ptr();
        // A chunk handed to yamux keeps the first allocation shared; a partial unit stays.
        let chunk = buf.split_to(READ_CHUNK - 3).freeze();
        pool.make_room(&mut buf);
        assert_eq!(&buf[..], &[1, 1, 1]);
        assert!(buf.capacity() - buf.len() >= READ_CHUNK);
        let second = buf.as_ptr();
        assert_ne!(second, first);
        // Once the chunk is gone, the first allocation comes back instead of a new one.
        drop(chunk);
        buf.extend_from_slice(&vec![2; READ_CHUNK]);
        let held = buf.split_to(buf.len() - 5).freeze();
        pool.make_room(&mut buf);
        assert_eq!(buf.as_ptr(), first);
        assert_eq!(&buf[..], &[2; 5]);
        assert_eq!(held.len(), READ_CHUNK - 2);
        assert!(pool.spare.len() <= RECV_POOL);
    }

    #[test]
    fn batch_without_framing_seals_a_copy() {
        /// Only `seal`: the default framing is `None`.
        struct CopySeal;
        impl Seal for CopySeal {
            fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()> {
                out.extend_from_slice(&[0xFF]);
                out.extend_from_slice(plaintext);
                Ok(())
            }
        }
        let now = Instant::now();
        let mut client = Session::new(Role::Client, Config::default(), now);
        client.open_stream(now).unwrap().unwrap();
        let mut batch = Batch::with_capacity(0);
        batch.fill(&mut client, now, &CopySeal, 1 << 20);
        assert!(!batch.is_empty());
        batch.seal(&mut CopySeal).unwrap();
        let wire = send_all(&mut batch, false);
        assert!(batch.is_empty());
        assert_eq!(wire[0], 0xFF);
        assert_eq!(wire.len(), 1 + HEADER_LEN);
        assert!(CopySeal.seal_in_place(&mut []).is_err());
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
