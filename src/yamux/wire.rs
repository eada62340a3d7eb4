//! Outgoing frames as parts: headers copied, payload by reference.
//!
//! [`Session::poll_transmit`](super::Session::poll_transmit) copies every frame into one
//! contiguous buffer. [`Session::poll_transmit_parts`](super::Session::poll_transmit_parts) takes
//! the same frames into [`FrameParts`] instead: the 12-byte headers (and other small pieces) are
//! copied into a local buffer, the payload stays in the `Bytes` the application handed to
//! [`Session::write`](super::Session::write), and the parts are listed in wire order. A driver
//! then writes them with one vectored write, or encrypts them straight into its wire buffer:
//! the payload is never copied in userspace.

use bytes::{Bytes, BytesMut};

use super::frame::Header;

/// Where the session's transmit loop puts frames (see the module documentation).
pub(crate) trait FrameSink {
    /// Bytes taken so far (what the transmit limit counts).
    fn len(&self) -> usize;
    /// Room for `additional` more bytes is about to be needed.
    fn reserve(&mut self, additional: usize);
    /// Appends a frame header.
    fn header(&mut self, header: &Header);
    /// Appends (a piece of) a DATA frame's payload.
    fn payload(&mut self, chunk: Bytes);
}

impl FrameSink for BytesMut {
    fn len(&self) -> usize {
        BytesMut::len(self)
    }

    fn reserve(&mut self, additional: usize) {
        BytesMut::reserve(self, additional);
    }

    fn header(&mut self, header: &Header) {
        header.encode_into(self);
    }

    fn payload(&mut self, chunk: Bytes) {
        self.extend_from_slice(&chunk);
    }
}

/// Payload pieces shorter than this are copied next to the headers instead of referenced. A
/// vectored write (and a streaming cipher) pays per piece, and a stream fed by small
/// `AsyncWrite::poll_write` calls queues one small `Bytes` per call: referencing each would cost
/// one iovec entry per few bytes.
pub const COPY_BELOW: usize = 1024;

/// One part of [`FrameParts`].
#[derive(Debug, Clone)]
enum Part {
    /// `local[start..end]`: headers and small payload pieces.
    Local { start: usize, end: usize },
    /// A payload piece, shared with the stream's send buffer.
    Shared(Bytes),
}

/// Frames taken without copying their payload: a list of byte slices whose concatenation is
/// exactly what [`Session::poll_transmit`](super::Session::poll_transmit) would have written.
/// Reuse it: [`FrameParts::clear`] keeps the buffers.
#[derive(Debug, Default)]
pub struct FrameParts {
    local: BytesMut,
    parts: Vec<Part>,
    len: usize,
}

impl FrameParts {
    /// Empty parts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total bytes of all parts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of parts (slices).
    pub fn part_count(&self) -> usize {
        self.parts.len()
    }

    /// The bytes of part `index` (`index < part_count()`).
    pub fn part(&self, index: usize) -> &[u8] {
        match &self.parts[index] {
            Part::Local { start, end } => &self.local[*start..*end],
            Part::Shared(bytes) => bytes,
        }
    }

    /// The parts in wire order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.parts.len()).map(|i| self.part(i))
    }

    /// Appends every byte to `out` (a copy; for writers without vectored writes, and tests).
    pub fn copy_to(&self, out: &mut BytesMut) {
        out.reserve(self.len);
        self.iter().for_each(|part| out.extend_from_slice(part));
    }

    /// Drops every part (releasing the shared payload), keeping the buffers.
    pub fn clear(&mut self) {
        self.local.clear();
        self.parts.clear();
        self.len = 0;
    }

    fn push_local(&mut self, bytes: &[u8]) {
        let start = self.local.len();
        self.local.extend_from_slice(bytes);
        let end = self.local.len();
        self.len += bytes.len();
        if let Some(Part::Local { end: last, .. }) = self.parts.last_mut()
            && *last == start
        {
            *last = end;
            return;
        }
        self.parts.push(Part::Local { start, end });
    }
}

impl FrameSink for FrameParts {
    fn len(&self) -> usize {
        self.len
    }

    fn reserve(&mut self, _additional: usize) {}

    fn header(&mut self, header: &Header) {
        self.push_local(&header.encode());
    }

    fn payload(&mut self, chunk: Bytes) {
        if chunk.len() < COPY_BELOW {
            self.push_local(&chunk);
        } else {
            self.len += chunk.len();
            self.parts.push(Part::Shared(chunk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yamux::frame::Flags;

    #[test]
    fn headers_and_small_pieces_coalesce_large_pieces_are_shared() {
        let mut parts = FrameParts::new();
        let big = Bytes::from(vec![7u8; COPY_BELOW]);
        parts.header(&Header::ping(Flags::SYN, 1));
        parts.header(&Header::data(1, Flags::NONE, 5 + COPY_BELOW as u32));
        parts.payload(Bytes::from_static(b"small"));
        parts.payload(big.clone());
        parts.header(&Header::window_update(1, Flags::FIN, 0));
        assert_eq!(parts.part_count(), 3);
        assert_eq!(parts.len(), 36 + 5 + COPY_BELOW);
        assert_eq!(parts.part(0).len(), 24 + 5);
        // The large piece is the caller's allocation, not a copy.
        assert_eq!(parts.part(1).as_ptr(), big.as_ptr());
        let mut flat = BytesMut::new();
        parts.copy_to(&mut flat);
        let mut expected = BytesMut::new();
        expected.header(&Header::ping(Flags::SYN, 1));
        expected.header(&Header::data(1, Flags::NONE, 5 + COPY_BELOW as u32));
        expected.payload(Bytes::from_static(b"small"));
        expected.payload(big);
        expected.header(&Header::window_update(1, Flags::FIN, 0));
        assert_eq!(flat, expected);
        parts.clear();
        assert!(parts.is_empty());
        assert_eq!(parts.part_count(), 0);
    }
}
