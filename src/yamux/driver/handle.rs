//! [`StreamHandle`]: one yamux stream as `AsyncRead + AsyncWrite`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::clock::now;
use super::shared::Shared;
use crate::yamux::session::{ReadOutcome, Session};
use crate::yamux::stream::StreamError;

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
    pub(super) fn new(id: u32, shared: Arc<Shared>) -> Self {
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
        let ready = match inner.session.read(now(), self.id, max) {
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
        match write(&mut inner.session, now(), self.id) {
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
        inner.session.detach(now(), self.id);
        inner.read_wakers.remove(&self.id);
        inner.write_wakers.remove(&self.id);
        self.shared.after_command(&mut inner);
        // The session's timer may have changed (the idle timeout starts with the last stream).
        self.shared.writer.notify_one();
    }
}

fn stream_error(e: StreamError) -> io::Error {
    let kind = match e {
        StreamError::Reset { .. } => io::ErrorKind::ConnectionReset,
        StreamError::Refused { .. } => io::ErrorKind::ConnectionRefused,
        StreamError::WriteClosed => io::ErrorKind::BrokenPipe,
        StreamError::Unknown(_) | StreamError::ConnectionClosed => io::ErrorKind::NotConnected,
    };
    io::Error::new(kind, e)
}
