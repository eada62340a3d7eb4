//! The multistream-select target: message framing and both negotiation roles.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::bufio::BufferedIo;
use crate::multistream;

/// An in-memory stream that is always ready: reads return the script in slices of the given
/// sizes, then end of stream; writes are collected.
struct ScriptedIo {
    script: Bytes,
    sizes: Vec<usize>,
    written: Vec<u8>,
}

impl AsyncRead for ScriptedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let size = self.sizes.pop().unwrap_or(usize::MAX).max(1);
        let n = size.min(buf.remaining()).min(self.script.len());
        let chunk = self.script.split_to(n);
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ScriptedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Multistream-select: the first byte picks the read chunking and the role; the rest is what
/// the peer sends.
/// - The message decoder must give the same messages (and the same first error kind) whether
///   the bytes arrive at once or in chunks, and never consume a message it did not return.
/// - The listener and the dialer must finish (an always-ready stream never leaves them pending)
///   with a result consistent with what they were sent.
pub fn multistream(data: &[u8]) {
    let Some((&mode, script)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(mode & 0x3f) + 1;

    // Whole versus chunked decoding.
    let whole = decode_all(script, script.len().max(1));
    let chunked = decode_all(script, chunk);
    assert_eq!(whole, chunked, "chunked decoding differs");

    let sizes: Vec<usize> = std::iter::repeat_n(chunk, script.len() + 1).collect();
    let mut io = BufferedIo::new(ScriptedIo {
        script: Bytes::copy_from_slice(script),
        sizes,
        written: Vec::new(),
    });
    if mode & 0x40 == 0 {
        let supported = ["/noise", "/yamux/1.0.0", "/perf/1.0.0"];
        let result = multistream::listener_select(&mut io, &supported)
            .now_or_never()
            .expect("an always-ready stream never leaves the listener pending");
        if let Ok(protocol) = result {
            assert!(supported.contains(&protocol.as_str()));
            assert_eq!(
                whole.0.first().map(String::as_str),
                Some(multistream::HEADER)
            );
            assert!(
                whole.0.contains(&protocol),
                "chose a protocol never proposed"
            );
            // The listener's output ends with the echo of what it chose.
            let mut echo = BytesMut::new();
            multistream::encode_message(&protocol, &mut echo);
            assert!(io.get_mut().written.ends_with(&echo));
        }
    } else {
        let result = multistream::dialer_select(&mut io, "/yamux/1.0.0")
            .now_or_never()
            .expect("an always-ready stream never leaves the dialer pending");
        if result.is_ok() {
            assert_eq!(
                whole.0.get(..2),
                Some(&[multistream::HEADER.to_owned(), "/yamux/1.0.0".to_owned()][..]),
                "dialer accepted without the header and the echo"
            );
        }
    }
}

/// Decodes messages from `script` fed `chunk` bytes at a time: the messages, and the first
/// error (as its display text) if any.
fn decode_all(script: &[u8], chunk: usize) -> (Vec<String>, Option<String>) {
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for piece in script.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            match multistream::decode_message(&mut buf) {
                Ok(Some(message)) => {
                    assert!(buf.len() < before, "a message consumed nothing");
                    messages.push(message);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "an incomplete message consumed bytes");
                    break;
                }
                Err(e) => return (messages, Some(e.to_string())),
            }
        }
    }
    (messages, None)
}
