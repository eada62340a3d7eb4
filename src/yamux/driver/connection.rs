//! [`Connection`]: the handle to a running driver, and [`Connection::spawn`], which starts its
//! two tasks over a [`Channel`].

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

use super::clock::now;
use super::handle::StreamHandle;
use super::reader::read_loop;
use super::seal::{Open, Seal};
use super::shared::{Outbound, Shared};
use super::writer::write_loop;
use super::{ConnectionError, DriverOptions};
use crate::yamux::session::{Session, Stats, TraceEvent};

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

/// The byte stream given to [`Connection::spawn`]: the socket's halves with the transform below
/// yamux, whose first plaintext bytes are yamux frames (whatever negotiated yamux is done).
pub struct Channel<R, W, S, O> {
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
    /// Starts the reader and writer tasks for `session` over `channel`.
    pub fn spawn<R, W, S, O>(
        session: Session,
        channel: Channel<R, W, S, O>,
        options: DriverOptions,
    ) -> (Connection, Tasks)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
        S: Seal,
        O: Open,
    {
        let Channel {
            reader,
            writer,
            seal,
            open,
            read_buf,
            plaintext,
        } = channel;
        let shared = Arc::new(Shared::new(session, Box::new(Outbound::new(writer, seal))));
        // The first RTT ping is due at once.
        shared.writer.notify_one();
        let reader_task =
            tokio::spawn(read_loop(shared.clone(), reader, open, read_buf, plaintext));
        let abort_reader = reader_task.abort_handle();
        let writer_task = tokio::spawn(write_loop(shared.clone(), options, abort_reader));
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
            match inner.session.open_stream(now()) {
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
        inner.session.close(crate::yamux::frame::go_away::NORMAL);
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
