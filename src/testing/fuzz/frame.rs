//! The yamux frame decoder target.

use crate::yamux::frame::{HEADER_LEN, Header};

/// Decodes every 12-byte chunk of `data` as a yamux header: a header that decodes must encode to
/// the same bytes, and its display must not fail.
pub fn frame_decoder(data: &[u8]) {
    for chunk in data.chunks_exact(HEADER_LEN) {
        let raw: [u8; HEADER_LEN] = chunk.try_into().expect("exact chunk");
        if let Ok(header) = Header::decode(&raw) {
            assert_eq!(header.encode(), raw, "decode/encode round trip");
            let _ = header.to_string();
        }
    }
}
