//! The state the tasks and the stream handles share: the session behind its lock with the
//! wakers ([`Inner`]), and the socket's write side ([`Outbound`] behind [`Pump`]), which the
//! writer task drives and a stream's task may drive inline ([`Shared::send_inline`]).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};

use tokio::io::AsyncWrite;
use tokio::sync::Notify;

use super::batch::Batch;
use super::clock::now;
use super::seal::Seal;
use super::{ConnectionError, WRITE_BATCH};
use crate::yamux::session::{Event, Session};

pub(super) struct Inner {
    pub(super) session: Session,
    pub(super) read_wakers: HashMap<u32, Waker>,
    pub(super) write_wakers: HashMap<u32, Waker>,
    pub(super) accept_queue: VecDeque<u32>,
    pub(super) accept_waker: Option<Waker>,
    pub(super) open_wakers: Vec<Waker>,
    /// Set when the reader or the writer stopped.
    pub(super) closed: Option<ConnectionError>,
}

impl Inner {
    /// Turns session events into wake-ups.
    pub(super) fn dispatch(&mut self) {
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
    pub(super) fn shut(&mut self, reason: ConnectionError) {
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

    pub(super) fn closed_error(&self) -> Option<ConnectionError> {
        self.session
            .error()
            .cloned()
            .map(ConnectionError::Session)
            .or_else(|| self.closed.clone())
    }
}

pub(super) struct Shared {
    inner: Mutex<Inner>,
    /// The socket's write side. Lock order: `outbound` before `inner`.
    outbound: Mutex<Box<dyn Pump>>,
    /// Wakes the writer task: something may be ready to transmit.
    pub(super) writer: Notify,
    /// Wakes a reader paused by [`Session::input_paused`]: the writer took frames, or stopped.
    pub(super) reader: Notify,
}

impl Shared {
    /// The state of a new connection: `session`, with `outbound` as the socket's write side.
    pub(super) fn new(session: Session, outbound: Box<dyn Pump>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                session,
                read_wakers: HashMap::new(),
                write_wakers: HashMap::new(),
                accept_queue: VecDeque::new(),
                accept_waker: None,
                open_wakers: Vec::new(),
                closed: None,
            }),
            outbound: Mutex::new(outbound),
            writer: Notify::new(),
            reader: Notify::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the session in an unknown state; carrying on is
        // still better than poisoning every stream of the connection.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn lock_outbound(&self) -> MutexGuard<'_, Box<dyn Pump>> {
        self.outbound.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Dispatches events and wakes the writer task if the session has frames to send. The
    /// writer runs once the calling task yields, so what a task queues in one go (a stream's
    /// SYN, request and FIN) leaves in one batch.
    pub(super) fn after_command(&self, inner: &mut Inner) {
        inner.dispatch();
        if inner.session.wants_transmit() {
            self.writer.notify_one();
        }
    }

    /// Like [`Shared::after_command`], but sends what the session has from the calling task
    /// ([`Shared::send_inline`]). For a task that is about to wait for the peer: nothing more
    /// will join the batch, and the answer can only come once the request is out.
    pub(super) fn flush_inline(&self, mut inner: MutexGuard<'_, Inner>) {
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
    pub(super) fn send_inline(&self) {
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
pub(super) struct Outbound<W, S> {
    writer: W,
    seal: S,
    batch: Batch,
    /// Set once the write side is shut: nothing more is written.
    shut: bool,
}

impl<W, S> Outbound<W, S> {
    /// The write side `writer` with `seal`, before any batch.
    pub(super) fn new(writer: W, seal: S) -> Self {
        Self {
            writer,
            seal,
            // Room for a full batch plus the control frames and seal overhead around it.
            batch: Batch::with_capacity(WRITE_BATCH + 128 * 1024),
            shut: false,
        }
    }
}

/// [`Outbound`] without its type parameters, so [`Shared`] (and the stream handles) need none.
pub(super) trait Pump: Send {
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
                        .fill(&mut inner.session, now(), &self.seal, WRITE_BATCH);
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
            if let Err(e) = ready!(self.batch.poll_send(&mut self.writer, cx)) {
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
        ready!(Pin::new(&mut self.writer).poll_flush(cx))?;
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}
