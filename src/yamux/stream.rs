//! The state of one yamux stream inside the session: buffers, windows and the two halves.
//!
//! Sans-IO like the session that owns it. The application-facing handle that implements tokio's
//! `AsyncRead`/`AsyncWrite` lives in the driver.

use std::collections::VecDeque;

use bytes::Bytes;

use super::flow::{RecvWindow, SendWindow};

/// Why a stream operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream was reset; `remote` tells who reset it, `code` is go-yamux v5's error code.
    #[error("stream reset by {} (code {code})", if *remote { "peer" } else { "us" })]
    Reset {
        /// Whether the peer sent the RST.
        remote: bool,
        /// Error code carried by the RST (0 when none).
        code: u32,
    },
    /// The peer reset our stream before accepting it (an RST while our SYN was still
    /// unacknowledged): it refused the stream, usually for its limit of inbound streams or its
    /// memory budget. yamux carries no reason, so this names the usual ones.
    #[error(
        "stream refused by peer (reset before it was accepted, code {code}): the peer's limit of inbound streams per connection (yamux-perf server --max-streams, default 1000; go-yamux MaxIncomingStreams 1000) or its memory budget for receive windows"
    )]
    Refused {
        /// Error code carried by the RST (0 when none).
        code: u32,
    },
    /// Writing after this side already closed its write half.
    #[error("stream is closed for writing")]
    WriteClosed,
    /// The session no longer knows this stream.
    #[error("unknown stream {0}")]
    Unknown(u32),
    /// The connection is gone.
    #[error("connection closed")]
    ConnectionClosed,
}

/// The local write half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteHalf {
    /// Writes are accepted.
    Open,
    /// The application closed; FIN goes out once the buffer is drained.
    Closing,
    /// FIN has been sent.
    Closed,
}

/// One stream's state.
#[derive(Debug)]
pub(crate) struct StreamState {
    pub(crate) recv: RecvWindow,
    pub(crate) send: SendWindow,
    /// Received payload not yet read, in arrival order.
    pub(crate) recv_buf: VecDeque<Bytes>,
    /// Written payload not yet framed.
    pub(crate) send_buf: VecDeque<Bytes>,
    pub(crate) send_buffered: usize,
    pub(crate) write: WriteHalf,
    /// The peer's FIN arrived.
    pub(crate) fin_received: bool,
    pub(crate) reset: Option<StreamError>,
    /// Outbound stream whose ACK has not arrived yet.
    pub(crate) awaiting_ack: bool,
    /// The application dropped its handle: incoming data is discarded (and credited back).
    pub(crate) detached: bool,
    /// A writer is waiting for buffer space.
    pub(crate) want_writable: bool,
    /// The stream is in the session's queue of streams with data to send.
    pub(crate) queued: bool,
}

impl StreamState {
    pub(crate) fn new(recv: RecvWindow, opened_by_us: bool) -> Self {
        Self {
            recv,
            send: SendWindow::default(),
            recv_buf: VecDeque::new(),
            send_buf: VecDeque::new(),
            send_buffered: 0,
            write: WriteHalf::Open,
            fin_received: false,
            reset: None,
            awaiting_ack: opened_by_us,
            detached: false,
            want_writable: false,
            queued: false,
        }
    }

    /// Whether the stream has DATA it may send now, or a FIN that can go out.
    pub(crate) fn has_sendable(&self) -> bool {
        self.reset.is_none()
            && ((self.send_buffered > 0 && self.send.credit() > 0)
                || (self.write == WriteHalf::Closing && self.send_buffered == 0))
    }

    /// Whether nothing is left to do for this stream and its handle is gone.
    pub(crate) fn is_finished(&self) -> bool {
        self.detached
            && (self.reset.is_some() || (self.write == WriteHalf::Closed && self.fin_received))
    }

    /// Takes up to `max` bytes from the front of the send buffer, as one or more chunks whose
    /// total is returned; each chunk is handed to `emit` (shared, not copied).
    pub(crate) fn take_send(&mut self, max: usize, mut emit: impl FnMut(Bytes)) -> usize {
        let mut taken = 0;
        while taken < max {
            let Some(front) = self.send_buf.front_mut() else {
                break;
            };
            let n = front.len().min(max - taken);
            if n == front.len() {
                emit(self.send_buf.pop_front().expect("front exists"));
            } else {
                emit(front.split_to(n));
            }
            taken += n;
        }
        self.send_buffered -= taken;
        taken
    }

    /// Drops received data nobody will read. Returns how many bytes that was.
    pub(crate) fn clear_unread(&mut self) -> u32 {
        let unread: usize = self.recv_buf.drain(..).map(|b| b.len()).sum();
        unread as u32
    }

    /// Drops everything buffered in both directions (on reset).
    pub(crate) fn clear_buffers(&mut self) {
        self.send_buf.clear();
        self.send_buffered = 0;
        self.clear_unread();
    }
}
