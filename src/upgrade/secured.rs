//! [`SecuredStream`]: application plaintext over a secured byte stream, for the negotiations that
//! run inside a security channel before the muxer takes over.
//!
//! Reads open (decrypt) the channel's units with an [`Open`]; writes seal them with a [`Seal`],
//! the same transform the muxer driver then runs with. It is what multistream-select runs over
//! after the handshake (to pick the muxer when the handshake did not), and what tests use as an
//! encrypted pipe. [`SecuredStream::into_parts`] gives every buffered byte back, so the driver
//! can take over the transform without losing anything.
//!
//! Not done here: splitting into read and write halves (use `tokio::io::split`), and zero-copy
//! reads (plaintext is copied once from the opened input into the caller's buffer).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::noise::{MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN};
use crate::yamux::driver::{Open, Seal};

/// Ciphertext bytes asked from the inner stream per read: a few full Noise messages.
const READ_CHUNK: usize = 4 * (MAX_MESSAGE_LEN + 2);

/// Plaintext bytes sealed per `poll_write` call, and the amount of pending ciphertext above which
/// writes wait for the inner stream: bounds the memory a fast writer can pile up.
const WRITE_BATCH: usize = 4 * MAX_PLAINTEXT_LEN;

/// Everything a [`SecuredStream`] holds, returned by [`SecuredStream::into_parts`].
#[derive(Debug)]
pub struct SecuredParts<T, S, O> {
    /// The ciphertext stream.
    pub io: T,
    /// Encrypts what we send.
    pub seal: S,
    /// Decrypts what we receive.
    pub open: O,
    /// Ciphertext received but not decrypted yet (at most a partial message, unless the
    /// stream was never read).
    pub read_buf: BytesMut,
    /// Plaintext decrypted but not read yet; it comes before anything in `read_buf`.
    pub plaintext: BytesMut,
    /// Ciphertext sealed but not written yet (empty after a successful flush); it must go out
    /// before anything sealed later.
    pub write_buf: BytesMut,
}

/// Plaintext `AsyncRead + AsyncWrite` over a stream carrying sealed units.
///
/// Writes are buffered: call `flush` (or `shutdown`) to make sure they are sent.
#[derive(Debug)]
pub struct SecuredStream<T, S, O> {
    io: T,
    seal: S,
    open: O,
    read_buf: BytesMut,
    plaintext: BytesMut,
    write_buf: BytesMut,
    /// The inner stream reported end of stream.
    read_eof: bool,
}

impl<T, S, O> SecuredStream<T, S, O> {
    /// Wraps `io`, whose first ciphertext bytes may already be in `read_buf` (the bytes behind
    /// the handshake, e.g. `BufferedIo::into_parts().1`), with the transform of the handshake.
    pub fn new(io: T, read_buf: BytesMut, seal: S, open: O) -> Self {
        Self {
            io,
            seal,
            open,
            read_buf,
            plaintext: BytesMut::new(),
            write_buf: BytesMut::new(),
            read_eof: false,
        }
    }

    /// The inner stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The inner stream, mutably; reading or writing it directly breaks the framing.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Takes the stream apart, keeping every buffered byte (see [`SecuredParts`]).
    pub fn into_parts(self) -> SecuredParts<T, S, O> {
        SecuredParts {
            io: self.io,
            seal: self.seal,
            open: self.open,
            read_buf: self.read_buf,
            plaintext: self.plaintext,
            write_buf: self.write_buf,
        }
    }
}

impl<T: AsyncWrite + Unpin, S, O> SecuredStream<T, S, O> {
    /// Writes pending ciphertext until none is left.
    fn poll_write_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.write_buf.is_empty() {
            let written = ready!(Pin::new(&mut self.io).poll_write(cx, &self.write_buf))?;
            if written == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.write_buf.advance(written);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin, S: Unpin, O: Open + Unpin> AsyncRead for SecuredStream<T, S, O> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if !this.plaintext.is_empty() {
                let n = buf.remaining().min(this.plaintext.len());
                buf.put_slice(&this.plaintext[..n]);
                this.plaintext.advance(n);
                return Poll::Ready(Ok(()));
            }
            // Messages with an empty plaintext are consumed here and yield nothing: keep going.
            this.open.open(&mut this.read_buf, &mut this.plaintext)?;
            if !this.plaintext.is_empty() {
                continue;
            }
            if this.open.is_finished() {
                return Poll::Ready(Ok(()));
            }
            if this.read_eof {
                return Poll::Ready(if this.read_buf.is_empty() {
                    Ok(())
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                });
            }
            this.read_buf.reserve(READ_CHUNK);
            // tokio's `read_buf` future reads into the spare capacity without zeroing it; it
            // keeps no state between polls, so polling a fresh one each time is fine.
            let read = ready!(std::pin::pin!(this.io.read_buf(&mut this.read_buf)).poll(cx))?;
            if read == 0 {
                this.read_eof = true;
            }
        }
    }
}

impl<T: AsyncWrite + Unpin, S: Seal + Unpin, O: Unpin> AsyncWrite for SecuredStream<T, S, O> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        // A zero-length write sends nothing (not even an empty Noise message).
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.write_buf.len() >= WRITE_BATCH {
            ready!(this.poll_write_pending(cx))?;
        }
        let n = buf.len().min(WRITE_BATCH);
        this.seal.seal(&buf[..n], &mut this.write_buf)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_pending(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_pending(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bufio::BufferedIo;
    use crate::identity::keypair_from_seed;
    use crate::noise::{Handshake, NoiseError, Opener, Sealer, upgrade};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    type NoiseStream = SecuredStream<tokio::io::DuplexStream, Sealer, Opener>;

    /// Two Noise streams over a duplex pipe, after a real handshake.
    async fn pair() -> (NoiseStream, NoiseStream) {
        let (a, b) = duplex(64 * 1024);
        let server = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            let hs = Handshake::responder(&keypair_from_seed(0), &[]).unwrap();
            let est = upgrade(&mut io, hs, BytesMut::new()).await.unwrap();
            let (io, rest) = io.into_parts();
            SecuredStream::new(io, rest, est.sealer, est.opener)
        });
        let mut io = BufferedIo::new(a);
        let hs = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let est = upgrade(&mut io, hs, BytesMut::new()).await.unwrap();
        let (io, rest) = io.into_parts();
        (
            SecuredStream::new(io, rest, est.sealer, est.opener),
            server.await.unwrap(),
        )
    }

    #[tokio::test]
    async fn duplex_round_trip_both_ways() {
        let (mut client, mut server) = pair().await;
        let data: Vec<u8> = crate::perf::Payload::Pattern
            .chunks((3 << 20) + 17)
            .flat_map(|chunk| chunk.to_vec())
            .collect();
        let expected = data.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&data).await.unwrap();
            client.shutdown().await.unwrap();
            let mut reply = Vec::new();
            client.read_to_end(&mut reply).await.unwrap();
            reply
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        assert!(received == expected);
        server.write_all(b"thanks").await.unwrap();
        server.shutdown().await.unwrap();
        assert_eq!(writer.await.unwrap(), b"thanks");
    }

    #[tokio::test]
    async fn multistream_inside_noise_keeps_lazy_bytes() {
        use crate::multistream;
        let (client, server) = pair().await;
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(server);
            let chosen = multistream::listener_select(&mut io, &["/yamux/1.0.0"])
                .await
                .unwrap();
            io.fill_to(5).await.unwrap();
            (chosen, io)
        });
        let mut io = BufferedIo::new(client);
        let mut out = BytesMut::new();
        multistream::encode_proposal("/yamux/1.0.0", &mut out);
        out.extend_from_slice(b"yamux");
        io.write_all(&out).await.unwrap();
        multistream::dialer_expect_echo(&mut io, "/yamux/1.0.0")
            .await
            .unwrap();
        let (chosen, server_io) = listener.await.unwrap();
        assert_eq!(chosen, "/yamux/1.0.0");
        // The lazy bytes are somewhere in the buffers: BufferedIo's or the SecuredStream's.
        let (stream, mut plain) = server_io.into_parts();
        let parts = stream.into_parts();
        plain.extend_from_slice(&parts.plaintext);
        assert_eq!(&plain[..], b"yamux");
        assert!(parts.read_buf.is_empty());
        assert!(parts.write_buf.is_empty());
    }

    #[tokio::test]
    async fn tampered_stream_is_an_invalid_data_error() {
        let (a, b) = duplex(4096);
        let key = [3u8; 32];
        let mut wire = BytesMut::new();
        Sealer::new(&key).seal(b"hello", &mut wire).unwrap();
        wire[4] ^= 1;
        let mut raw = b;
        raw.write_all(&wire).await.unwrap();
        let mut reader =
            SecuredStream::new(a, BytesMut::new(), Sealer::new(&key), Opener::new(&key));
        let mut buf = [0u8; 16];
        let err = reader.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        let inner = err.into_inner().unwrap().downcast::<NoiseError>().unwrap();
        assert!(matches!(*inner, NoiseError::Decrypt));
    }

    #[tokio::test]
    async fn eof_inside_a_message_is_unexpected_eof() {
        let (a, mut b) = duplex(4096);
        let key = [3u8; 32];
        let mut wire = BytesMut::new();
        Sealer::new(&key).seal(b"hello", &mut wire).unwrap();
        b.write_all(&wire[..wire.len() - 1]).await.unwrap();
        drop(b);
        let mut reader =
            SecuredStream::new(a, BytesMut::new(), Sealer::new(&key), Opener::new(&key));
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn empty_messages_and_initial_buffer() {
        let (a, mut b) = duplex(4096);
        let key = [3u8; 32];
        let mut sealer = Sealer::new(&key);
        let mut initial = BytesMut::new();
        sealer.seal(b"", &mut initial).unwrap();
        sealer.seal(b"ab", &mut initial).unwrap();
        let mut wire = BytesMut::new();
        sealer.seal(b"", &mut wire).unwrap();
        sealer.seal(b"cd", &mut wire).unwrap();
        b.write_all(&wire).await.unwrap();
        drop(b);
        let mut reader = SecuredStream::new(a, initial, Sealer::new(&key), Opener::new(&key));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"abcd");
    }
}
