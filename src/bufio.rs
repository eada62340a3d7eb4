//! A byte stream plus the bytes already read from it but not yet consumed.
//!
//! The handshake layers (multistream-select, Noise) read length-prefixed messages from a socket and
//! must not lose the bytes that arrive behind the message they asked for: a lazy peer sends the
//! next layer's first bytes in the same TCP segment. [`BufferedIo`] keeps those bytes, and
//! [`BufferedIo::into_parts`] hands them to the next layer.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How many bytes one read asks the socket for.
const READ_CHUNK: usize = 16 * 1024;

/// A stream with a read buffer that the caller consumes explicitly.
#[derive(Debug)]
pub struct BufferedIo<T> {
    io: T,
    /// Bytes read from `io` and not consumed yet.
    pub read_buf: BytesMut,
}

impl<T: AsyncRead + AsyncWrite + Unpin> BufferedIo<T> {
    /// Wraps `io` with an empty read buffer.
    pub fn new(io: T) -> Self {
        Self::with_buffer(io, BytesMut::new())
    }

    /// Wraps `io` whose first bytes are already in `read_buf`.
    pub fn with_buffer(io: T, read_buf: BytesMut) -> Self {
        Self { io, read_buf }
    }

    /// Reads more bytes into `read_buf`. Returns the number read; 0 means end of stream.
    pub async fn fill(&mut self) -> std::io::Result<usize> {
        self.read_buf.reserve(READ_CHUNK);
        self.io.read_buf(&mut self.read_buf).await
    }

    /// Reads until `read_buf` holds at least `n` bytes; end of stream before that is an
    /// `UnexpectedEof` error.
    pub async fn fill_to(&mut self, n: usize) -> std::io::Result<()> {
        while self.read_buf.len() < n {
            if self.fill().await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// Writes all of `data` and flushes.
    pub async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.io.write_all(data).await?;
        self.io.flush().await
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The stream and the bytes read but not consumed.
    pub fn into_parts(self) -> (T, BytesMut) {
        (self.io, self.read_buf)
    }
}
