//! WebSocket (`/ip4/…/tcp/N/ws`): TCP, an HTTP/1.1 Upgrade on path `/`, then the byte stream
//! carried in binary messages (RFC 6455), as libp2p's WebSocket transports do (go-libp2p
//! `p2p/transport/websocket`, rust-libp2p `transports/websocket`).
//!
//! The protocol state is in two sans-IO modules, [`handshake`] and [`frame`]; this module is the
//! tokio adapter. Each write starts one binary message (at most [`MAX_MESSAGE`] bytes: a
//! larger write is taken in part) and reads drain messages as their bytes arrive, with no
//! size limit. The stream splits into a read and a write half without a lock: the only thing
//! the halves share is a queue of control frames the reader owes the peer (a pong for a ping,
//! the answer to a close), which the writer sends before its next bytes, on flush and on
//! shutdown. A close from the peer is the end of the stream; shutting the write half down sends
//! our close (echoing the peer's code, §5.5.1), then the TCP FIN.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{Socket, TcpConfig, Transport, tcp};

pub mod frame;
pub mod handshake;

pub use frame::{FrameError, Role};
pub use handshake::HandshakeError;

use frame::{Decoder, Event, MAX_HEADER, Opcode};

/// Most payload bytes one binary message carries: a longer write is taken in part. Receivers
/// stream frames (ours, go's), so this only bounds the client's masking copy.
pub const MAX_MESSAGE: usize = 1 << 20;

/// Size of the reader's own buffer (frame headers, and payload when the caller's buffer is
/// small).
const READ_BUFFER: usize = 64 * 1024;

/// The close code we send when we end the connection (§7.4.1: normal closure).
const NORMAL_CLOSURE: u16 = 1000;

/// The WebSocket [`Transport`]: TCP with `tcp`'s socket options, then the opening handshake.
#[derive(Debug, Clone, Copy)]
pub struct Ws<'a> {
    /// Socket options of the TCP connection underneath.
    pub tcp: &'a TcpConfig,
}

impl Transport for Ws<'_> {
    type Socket = WsStream;

    async fn dial(&self, addr: SocketAddr) -> io::Result<WsStream> {
        let tcp = tcp::dial(addr, self.tcp).await?;
        client(tcp, &addr.to_string()).await
    }

    async fn accept(&self, tcp: TcpStream) -> io::Result<WsStream> {
        tcp::configure_accepted(&tcp, self.tcp)?;
        server(tcp).await
    }
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Reads into `buf` until `done` says the head is complete; returns its length.
async fn read_head<S: AsyncRead + Unpin, T>(
    io: &mut S,
    buf: &mut Vec<u8>,
    mut done: impl FnMut(&[u8]) -> Result<Option<T>, HandshakeError>,
) -> Result<T, HandshakeError> {
    let mut chunk = [0; 4096];
    loop {
        if let Some(t) = done(buf)? {
            return Ok(t);
        }
        let n = io
            .read(&mut chunk)
            .await
            .map_err(|_| HandshakeError::Closed)?;
        if n == 0 {
            return Err(HandshakeError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The client's opening handshake on `tcp` (`host` for the `Host` header).
pub async fn client(mut tcp: TcpStream, host: &str) -> io::Result<WsStream> {
    let (handshake, request) = handshake::ClientHandshake::new(host, rand::random());
    tcp.write_all(&request).await?;
    let mut buf = Vec::new();
    let n = read_head(&mut tcp, &mut buf, |b| handshake.response(b))
        .await
        .map_err(invalid)?;
    tracing::debug!(host, "websocket upgrade accepted");
    let (r, w) = tcp.into_split();
    Ok(WsStream::new(Role::Client, r, w, &buf[n..]))
}

/// The server's opening handshake on an accepted `tcp`; a bad request gets an HTTP error
/// answer and the error.
pub async fn server(mut tcp: TcpStream) -> io::Result<WsStream> {
    let mut buf = Vec::new();
    let (n, answer) = match read_head(&mut tcp, &mut buf, handshake::server_response).await {
        Ok(done) => done,
        Err(e) => {
            // Best effort: the peer may be gone already.
            let _ = tcp.write_all(e.refusal()).await;
            let _ = tcp.shutdown().await;
            return Err(invalid(e));
        }
    };
    tcp.write_all(&answer).await?;
    let (r, w) = tcp.into_split();
    Ok(WsStream::new(Role::Server, r, w, &buf[n..]))
}

/// Control frames the reader owes the peer, for the writer to send.
#[derive(Debug, Default)]
struct Control {
    /// Something is queued (checked without the lock on every write).
    pending: AtomicBool,
    queue: Mutex<Owed>,
}

#[derive(Debug, Default)]
struct Owed {
    /// The payload of the latest ping not answered yet (§5.5.3 allows answering only the
    /// latest).
    pong: Option<Vec<u8>>,
    /// The peer closed: our close must echo this code (`Some(None)`: it sent none).
    close: Option<Option<u16>>,
}

impl Control {
    fn with<T>(&self, f: impl FnOnce(&mut Owed) -> T) -> T {
        let mut owed = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let t = f(&mut owed);
        self.pending.store(
            owed.pong.is_some() || owed.close.is_some(),
            Ordering::Release,
        );
        t
    }
}

/// A WebSocket connection as a byte stream; [`Socket::into_halves`] splits it.
#[derive(Debug)]
pub struct WsStream<R = OwnedReadHalf, W = OwnedWriteHalf> {
    reader: WsReader<R>,
    writer: WsWriter<W>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> WsStream<R, W> {
    /// The stream over the two halves of a connection whose opening handshake is done, as
    /// `role`; `unread` holds bytes that came behind the handshake (the first frames).
    pub fn new(role: Role, read: R, write: W, unread: &[u8]) -> Self {
        let control = Arc::new(Control::default());
        let mut buf = vec![0; READ_BUFFER.max(unread.len())];
        buf[..unread.len()].copy_from_slice(unread);
        Self {
            reader: WsReader {
                io: read,
                decoder: Decoder::new(role),
                buf,
                start: 0,
                end: unread.len(),
                control: control.clone(),
                closed: false,
            },
            writer: WsWriter::new(write, role, control),
        }
    }

    /// The read and write halves.
    pub fn split(self) -> (WsReader<R>, WsWriter<W>) {
        (self.reader, self.writer)
    }
}

impl Socket for WsStream {
    type ReadHalf = WsReader<OwnedReadHalf>;
    type WriteHalf = WsWriter<OwnedWriteHalf>;

    fn into_halves(self) -> (Self::ReadHalf, Self::WriteHalf) {
        self.split()
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for WsStream<R, W> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, out)
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for WsStream<R, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

/// The read half: the payload bytes of the peer's binary messages, end of stream at its close.
#[derive(Debug)]
pub struct WsReader<R> {
    io: R,
    decoder: Decoder,
    /// Bytes read and not parsed yet: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    control: Arc<Control>,
    /// The peer's close came: end of stream from now on.
    closed: bool,
}

impl<R: AsyncRead + Unpin> WsReader<R> {
    /// Reads more bytes from the socket into the internal buffer; `Ok(false)` at end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        let mut read = ReadBuf::new(&mut self.buf[self.end..]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        self.end += n;
        Poll::Ready(Ok(n > 0))
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for WsReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.closed || out.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let remaining = this.decoder.payload_remaining();
            if remaining > 0 {
                let want = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(out.remaining());
                if this.start < this.end {
                    let n = want.min(this.end - this.start);
                    let bytes = &mut this.buf[this.start..this.start + n];
                    this.decoder.unmask_payload(bytes);
                    out.put_slice(bytes);
                    this.start += n;
                    return Poll::Ready(Ok(()));
                }
                // Nothing buffered: read the payload straight into the caller's buffer.
                let target = &mut out.initialize_unfilled_to(want)[..want];
                let mut read = ReadBuf::new(target);
                ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
                let n = read.filled().len();
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a WebSocket frame",
                    )));
                }
                this.decoder.unmask_payload(&mut target[..n]);
                out.advance(n);
                return Poll::Ready(Ok(()));
            }
            match this.decoder.decode(&this.buf[this.start..this.end]) {
                Err(e) => return Poll::Ready(Err(invalid(e))),
                Ok(Some((n, event))) => {
                    this.start += n;
                    match event {
                        Event::Data | Event::Pong => {}
                        Event::Ping(payload) => {
                            tracing::trace!(len = payload.len(), "websocket ping");
                            this.control.with(|owed| owed.pong = Some(payload));
                        }
                        Event::Close(code) => {
                            tracing::debug!(?code, "websocket close received");
                            this.control.with(|owed| owed.close = Some(code));
                            this.closed = true;
                        }
                    }
                }
                Ok(None) => {
                    if !ready!(this.poll_fill(cx))? {
                        if this.start == this.end {
                            // TCP closed between frames without a close frame (§7.1.5: 1006,
                            // abnormal): the end of the byte stream all the same.
                            this.closed = true;
                            continue;
                        }
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed inside a WebSocket frame header",
                        )));
                    }
                }
            }
        }
    }
}

/// The write half: each write starts one binary message (masked, from a client). Nothing is
/// kept back once a write returns: a frame the socket took only in part is continued with the
/// caller's next bytes (the payload is just the stream's next bytes), so the writer needs no
/// flush (the yamux driver flushes only at shutdown).
#[derive(Debug)]
pub struct WsWriter<W> {
    io: W,
    role: Role,
    control: Arc<Control>,
    /// Header or control frame bytes not written yet: `out[out_at..]`, sent before anything
    /// else.
    out: Vec<u8>,
    out_at: usize,
    /// Payload bytes the current frame still expects; control frames wait for 0.
    frame_left: usize,
    /// The current frame's masking key and how much of its payload is sent (the key's phase).
    mask: Option<[u8; 4]>,
    frame_sent: usize,
    /// A client's masked copy of the payload being written.
    scratch: Vec<u8>,
    /// Our close frame is queued or sent: no more messages.
    close_sent: bool,
}

impl<W: AsyncWrite + Unpin> WsWriter<W> {
    fn new(io: W, role: Role, control: Arc<Control>) -> Self {
        Self {
            io,
            role,
            control,
            out: Vec::new(),
            out_at: 0,
            frame_left: 0,
            mask: None,
            frame_sent: 0,
            scratch: Vec::new(),
            close_sent: false,
        }
    }

    fn new_mask(&self) -> Option<[u8; 4]> {
        (self.role == Role::Client).then(rand::random)
    }

    /// Queues the control frames the reader owes the peer (between frames only).
    fn take_control(&mut self) {
        if self.frame_left > 0 || !self.control.pending.load(Ordering::Acquire) {
            return;
        }
        let (pong, close) = self
            .control
            .with(|owed| (owed.pong.take(), owed.close.take()));
        if self.close_sent {
            return;
        }
        if let Some(payload) = pong {
            let mask = self.new_mask();
            frame::encode_control(Opcode::Pong, &payload, mask, &mut self.out);
        }
        if let Some(code) = close {
            self.queue_close(code);
        }
    }

    /// Queues our close frame, with `code` (none: an empty body).
    fn queue_close(&mut self, code: Option<u16>) {
        let body = code.map(u16::to_be_bytes);
        let mask = self.new_mask();
        frame::encode_control(
            Opcode::Close,
            body.as_ref().map_or(&[][..], |b| &b[..]),
            mask,
            &mut self.out,
        );
        self.close_sent = true;
    }

    /// Writes out the queued header and control bytes.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.take_control();
        while self.out_at < self.out.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out[self.out_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_at += n;
        }
        self.out.clear();
        self.out_at = 0;
        Poll::Ready(Ok(()))
    }

    /// Writes up to `frame_left` payload bytes from `bufs` (after `header`, if not empty);
    /// returns the bytes of `header` and of the payload the socket took.
    fn poll_payload(
        &mut self,
        cx: &mut Context<'_>,
        header: &[u8],
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<(usize, usize)>> {
        let limit = self.frame_left;
        let written = if let Some(key) = self.mask {
            // A client's payload is masked: copy it behind the header, at the key's phase.
            self.scratch.clear();
            self.scratch.extend_from_slice(header);
            extend_from_slices(&mut self.scratch, bufs, limit);
            frame::apply_mask(&mut self.scratch[header.len()..], key, self.frame_sent);
            ready!(Pin::new(&mut self.io).poll_write(cx, &self.scratch))?
        } else {
            // A server's payload goes out as it is, with the header, in one vectored write.
            let mut iov = Vec::with_capacity(bufs.len() + 1);
            if !header.is_empty() {
                iov.push(IoSlice::new(header));
            }
            let mut left = limit;
            for b in bufs {
                if left == 0 {
                    break;
                }
                let take = b.len().min(left);
                iov.push(IoSlice::new(&b[..take]));
                left -= take;
            }
            ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &iov))?
        };
        if written == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        let head = written.min(header.len());
        Poll::Ready(Ok((head, written - head)))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for WsWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total = bufs.iter().map(|b| b.len()).sum::<usize>();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        loop {
            ready!(this.poll_drain(cx))?;
            let mut header = [0; MAX_HEADER];
            let mut header_len = 0;
            if this.frame_left == 0 {
                if this.close_sent {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "WebSocket closed: no more messages",
                    )));
                }
                let len = total.min(MAX_MESSAGE);
                this.mask = this.new_mask();
                header_len =
                    frame::encode_header(Opcode::Binary, len as u64, this.mask, &mut header);
                this.frame_left = len;
                this.frame_sent = 0;
            }
            let (head, payload) = match this.poll_payload(cx, &header[..header_len], bufs) {
                Poll::Pending if header_len > 0 => {
                    // The frame is started: its header goes first, whatever comes next.
                    this.out.extend_from_slice(&header[..header_len]);
                    return Poll::Pending;
                }
                other => ready!(other)?,
            };
            if head < header_len {
                this.out.extend_from_slice(&header[head..header_len]);
            }
            this.frame_left -= payload;
            this.frame_sent += payload;
            if payload > 0 {
                return Poll::Ready(Ok(payload));
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.take_control();
        if !this.close_sent && this.frame_left == 0 {
            this.queue_close(Some(NORMAL_CLOSURE));
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Appends the first `total` bytes of `bufs` to `out`.
fn extend_from_slices(out: &mut Vec<u8>, bufs: &[IoSlice<'_>], total: usize) {
    out.reserve(total);
    let mut left = total;
    for b in bufs {
        let take = b.len().min(left);
        out.extend_from_slice(&b[..take]);
        left -= take;
        if left == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// The yamux driver writes and never flushes: every byte a write accepted must reach the
    /// peer without a flush, even when the socket takes frames in small parts.
    #[tokio::test]
    async fn written_bytes_arrive_without_a_flush_through_a_narrow_pipe() {
        for role in [Role::Client, Role::Server] {
            let peer = match role {
                Role::Client => Role::Server,
                Role::Server => Role::Client,
            };
            let (a, b) = tokio::io::duplex(1000);
            let (a_read, a_write) = tokio::io::split(a);
            let (b_read, b_write) = tokio::io::split(b);
            let (_, mut writer) = WsStream::new(role, a_read, a_write, &[]).split();
            let (mut reader, _) = WsStream::new(peer, b_read, b_write, &[]).split();
            let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
            let sent = data.clone();
            let write = tokio::spawn(async move {
                for chunk in sent.chunks(70_000) {
                    writer.write_all(chunk).await.unwrap();
                }
                writer
            });
            let mut got = vec![0; data.len()];
            tokio::time::timeout(Duration::from_secs(5), reader.read_exact(&mut got))
                .await
                .expect("no byte is held back")
                .unwrap();
            assert_eq!(got, data, "{role:?}");
            drop(write.await.unwrap());
        }
    }
}
