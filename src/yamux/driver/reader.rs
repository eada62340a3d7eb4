//! The reader task: reads the socket, opens (decrypts) what arrives and feeds it to the session.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::clock::now;
use super::seal::Open;
use super::shared::Shared;
use super::{ConnectionError, READ_CHUNK};

pub(super) async fn read_loop<R: AsyncRead + Unpin, O: Open>(
    shared: Arc<Shared>,
    mut reader: R,
    mut open: O,
    mut read_buf: BytesMut,
    mut plaintext: BytesMut,
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
            match feed(&shared, &mut units, &mut plaintext) {
                Err(reason) => break reason,
                // The peer closed the channel (TLS close_notify): its end of the stream.
                Ok(_) if open.is_finished() => break ConnectionError::Eof,
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
pub(super) const RECV_POOL: usize = 32;

/// Recycles receive buffers. Decrypted payload is handed to yamux as parts of the receive buffer
/// (no copy), so a buffer stays shared until the application has read every chunk of it, and a
/// fresh allocation per read would come from newly mapped pages: on loopback that cost ~8% of
/// the CPU in page faults, page clearing and glibc's trimming (perf). The pool keeps the last
/// few buffers and reuses one as soon as nothing else refers to it.
#[derive(Debug, Default)]
pub(super) struct RecvPool {
    pub(super) spare: VecDeque<BytesMut>,
}

impl RecvPool {
    /// Gives `buf` room for [`READ_CHUNK`] more bytes, moving its (partial-message) contents to
    /// a recycled buffer when its own allocation is still shared.
    pub(super) fn make_room(&mut self, buf: &mut BytesMut) {
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
) -> Result<bool, ConnectionError> {
    if units.is_empty() {
        return Ok(false);
    }
    let mut inner = shared.lock();
    let now = now();
    let mut result = Ok(());
    for unit in units.drain(..) {
        if result.is_err() {
            continue;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
