//! The bytes a perf run sends: zeros (what every libp2p perf peer sends) or a checkable pattern.
//!
//! The perf spec leaves the payload open ("arbitrary but fixed"). Zeros cannot reveal reordered
//! or corrupted data, so between two yamux-perf peers `--verify` sends a pattern with a prime
//! period (251 bytes, so it never lines up with frame, chunk or Noise message sizes) that the
//! receiver checks byte for byte. Both come from one static buffer: sending never copies.

use std::sync::OnceLock;

use bytes::Bytes;

/// Largest chunk handed to a stream per write.
pub const CHUNK: usize = 256 * 1024;

/// Period of the pattern.
const PERIOD: usize = 251;

/// Byte `offset` of the pattern: `offset mod 251`. The one definition of the pattern: every
/// buffer of it (here, in the test harness and in the fuzz targets) is built from this.
pub fn pattern_byte(offset: u64) -> u8 {
    (offset % PERIOD as u64) as u8
}

/// The pattern, computed once, for zero-copy slices of up to `max_len` bytes at any offset.
#[derive(Debug, Clone)]
pub struct PatternBuffer {
    bytes: Bytes,
    max_len: usize,
}

impl PatternBuffer {
    /// A buffer for slices of at most `max_len` bytes (it holds `max_len` + 250 bytes).
    pub fn new(max_len: usize) -> Self {
        let bytes = (0..(max_len + PERIOD) as u64)
            .map(pattern_byte)
            .collect::<Vec<u8>>()
            .into();
        Self { bytes, max_len }
    }

    /// The `len` pattern bytes at `offset..offset + len`, without copying. Panics if `len` is
    /// above the buffer's maximum.
    pub fn slice(&self, offset: u64, len: usize) -> Bytes {
        assert!(
            len <= self.max_len,
            "{len} pattern bytes from a {} buffer",
            self.max_len
        );
        let start = (offset % PERIOD as u64) as usize;
        self.bytes.slice(start..start + len)
    }
}

/// Which bytes to send, and whether received bytes are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Payload {
    /// All zeros, nothing checked (interoperable with every peer).
    #[default]
    Zeros,
    /// Byte `i` of a transfer is `i mod 251` ([`pattern_byte`]); the receiver checks every byte.
    Pattern,
}

fn zeros() -> &'static Bytes {
    static ZEROS: OnceLock<Bytes> = OnceLock::new();
    ZEROS.get_or_init(|| Bytes::from(vec![0u8; CHUNK]))
}

fn pattern() -> &'static PatternBuffer {
    static PATTERN: OnceLock<PatternBuffer> = OnceLock::new();
    PATTERN.get_or_init(|| PatternBuffer::new(CHUNK))
}

impl Payload {
    /// The bytes at `offset..offset + len` of a transfer, `len` at most [`CHUNK`].
    pub fn chunk(self, offset: u64, len: usize) -> Bytes {
        let len = len.min(CHUNK);
        match self {
            Payload::Zeros => zeros().slice(..len),
            Payload::Pattern => pattern().slice(offset, len),
        }
    }

    /// Whether `data`, found at `offset` of a transfer, is what the sender must have sent.
    /// Zeros are not checked (a foreign peer may send anything).
    pub fn verify(self, offset: u64, data: &[u8]) -> bool {
        match self {
            Payload::Zeros => true,
            Payload::Pattern => data.chunks(CHUNK).enumerate().all(|(i, piece)| {
                let at = offset + (i * CHUNK) as u64;
                piece == &self.chunk(at, piece.len())[..]
            }),
        }
    }

    /// Chunks that make up `len` bytes of a transfer.
    pub fn chunks(self, len: u64) -> impl Iterator<Item = Bytes> {
        (0..len.div_ceil(CHUNK as u64)).map(move |i| {
            let offset = i * CHUNK as u64;
            self.chunk(offset, (len - offset).min(CHUNK as u64) as usize)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_chunks_concatenate_to_the_pattern() {
        let all: Vec<u8> = Payload::Pattern
            .chunks(3 * CHUNK as u64 + 17)
            .flat_map(|c| c.to_vec())
            .collect();
        assert_eq!(all.len(), 3 * CHUNK + 17);
        assert!(all.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        assert!(Payload::Pattern.verify(0, &all));
        assert!(Payload::Pattern.verify(1000, &all[1000..]));
    }

    #[test]
    fn verify_catches_corruption_and_misplacement() {
        let mut data = Payload::Pattern.chunk(500, 4000).to_vec();
        assert!(Payload::Pattern.verify(500, &data));
        assert!(!Payload::Pattern.verify(501, &data), "shifted by one byte");
        data[1234] ^= 1;
        assert!(!Payload::Pattern.verify(500, &data), "one flipped bit");
        assert!(Payload::Zeros.verify(0, &data), "zeros are never checked");
    }

    #[test]
    fn pattern_buffer_slices_are_the_pattern_at_any_offset() {
        let buffer = PatternBuffer::new(1000);
        for offset in [0, 1, 250, 251, 252, 1 << 40] {
            let slice = buffer.slice(offset, 1000);
            assert!(
                slice
                    .iter()
                    .zip(offset..)
                    .all(|(b, at)| *b == pattern_byte(at)),
                "offset {offset}"
            );
            assert_eq!(slice, Payload::Pattern.chunk(offset, 1000));
        }
        assert_eq!(pattern_byte(251 * 7 + 3), 3);
    }

    #[test]
    #[should_panic(expected = "1001 pattern bytes from a 1000 buffer")]
    fn pattern_buffer_refuses_slices_above_its_maximum() {
        PatternBuffer::new(1000).slice(5, 1001);
    }

    #[test]
    fn zero_length_transfer_has_no_chunks() {
        assert_eq!(Payload::Zeros.chunks(0).count(), 0);
        assert_eq!(Payload::Zeros.chunks(CHUNK as u64).count(), 1);
    }
}
