//! Test support: the sans-IO session harness and the fuzz target bodies.
//!
//! Compiled only for the crate's own tests and with the `testing` cargo feature, which the
//! integration tests, the benches and the fuzz crate turn on (the crate is its own dev-dependency
//! with that feature); a release build of the binary contains none of it.
//!
//! - [`pair`]: [`Pair`], two sans-IO yamux sessions on a simulated link and clock, each with a
//!   tiny application that writes and checks the payload pattern.
//! - [`pump`]: [`Pump`], a pair joined by the driver's batch path through a security layer's
//!   transport cipher, in memory (the benches' data path).
//! - [`frames`]: helpers for driving one session by hand (encode, feed, transmit, decode).
//! - [`fuzz`]: the bodies of the cargo-fuzz targets in `fuzz/`, also run by `cargo test` as
//!   property tests and as a replay of the committed seed corpora.
//!
//! Payload bytes are the `--verify` pattern of [`crate::perf::payload`] everywhere.

use std::sync::LazyLock;

use bytes::Bytes;

use crate::perf::payload::{PatternBuffer, Payload};

pub mod frames;
pub mod fuzz;
pub mod pair;
pub mod pump;

pub use frames::{
    decode_frames, encode_frames, events, feed, read_to_pending, transmit_all, transmit_headers,
};
pub use pair::{AppStream, DEFAULT_TRANSMIT_LIMIT, Pair, SentFrame, Side};
pub use pump::{MemoryWriter, Pump, pump};

/// One kibibyte, as a `u64` byte count.
pub const KIB: u64 = 1024;
/// One mebibyte, as a `u64` byte count.
pub const MIB: u64 = 1024 * KIB;

/// Largest pattern slice the harness hands to a session per write.
pub(crate) const PATTERN_CHUNK: usize = 1024 * 1024;

/// `len` (≤ 1 MiB) pattern bytes starting at stream offset `offset`, without copying.
pub fn pattern_at(offset: u64, len: usize) -> Bytes {
    static PATTERN: LazyLock<PatternBuffer> = LazyLock::new(|| PatternBuffer::new(PATTERN_CHUNK));
    PATTERN.slice(offset, len)
}

/// Whether `data` is the pattern at stream offset `offset`.
pub fn is_pattern_at(offset: u64, data: &[u8]) -> bool {
    Payload::Pattern.verify(offset, data)
}
