//! Helpers for driving one sans-IO [`Session`] by hand: frames in, frames out, events and reads.
//!
//! For tests that need the exact bytes: encode what a peer would send, feed it, take every
//! frame the session emits and check it decodes as whole frames.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::yamux::frame::{FrameType, HEADER_LEN, Header};
use crate::yamux::session::{Event, ReadOutcome, Session, SessionError};
use crate::yamux::stream::StreamError;

/// Decodes a clean sequence of whole frames; panics on anything else (a partial frame, a bad
/// header). Every `poll_transmit` output must pass this.
pub fn decode_frames(mut bytes: &[u8]) -> Vec<(Header, Bytes)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(
            bytes.len() >= HEADER_LEN,
            "partial header at the end of the output: {bytes:02x?}"
        );
        let raw: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().expect("12 bytes");
        let header = Header::decode(&raw).expect("the session emitted an undecodable header");
        bytes = &bytes[HEADER_LEN..];
        let body_len = if header.typ == FrameType::Data {
            header.length as usize
        } else {
            0
        };
        assert!(
            bytes.len() >= body_len,
            "{header}: body truncated ({} of {body_len} bytes)",
            bytes.len()
        );
        frames.push((header, Bytes::copy_from_slice(&bytes[..body_len])));
        bytes = &bytes[body_len..];
    }
    frames
}

/// Encodes frames (header, DATA payload) as a peer would send them.
pub fn encode_frames(frames: &[(Header, &[u8])]) -> BytesMut {
    let mut out = BytesMut::new();
    for (header, body) in frames {
        header.encode_into(&mut out);
        out.extend_from_slice(body);
    }
    out
}

/// Drains everything `session` wants to send (no size limit) and decodes it.
pub fn transmit_all(session: &mut Session, now: Instant) -> Vec<(Header, Bytes)> {
    let mut buf = BytesMut::new();
    // Bounded: every poll either empties the queue or sends something.
    for _ in 0..1_000_000 {
        if !session.wants_transmit() {
            break;
        }
        let before = buf.len();
        session.poll_transmit(now, &mut buf, usize::MAX);
        if buf.len() == before {
            break;
        }
    }
    decode_frames(&buf)
}

/// Just the headers of [`transmit_all`].
pub fn transmit_headers(session: &mut Session, now: Instant) -> Vec<Header> {
    transmit_all(session, now)
        .into_iter()
        .map(|(h, _)| h)
        .collect()
}

/// Feeds `bytes` to `session` in one `handle_input` call; incomplete trailing bytes must not be
/// left over (use an explicit inbox for split input).
pub fn feed(session: &mut Session, now: Instant, bytes: &[u8]) -> Result<(), SessionError> {
    let mut input = BytesMut::from(bytes);
    let result = session.handle_input(now, &mut input);
    if result.is_ok() {
        assert!(input.is_empty(), "feed() left {} bytes unread", input.len());
    }
    result
}

/// Every event queued on `session`.
pub fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

/// Reads everything buffered on stream `id` (until Pending, EOF or an error).
pub fn read_to_pending(
    session: &mut Session,
    now: Instant,
    id: u32,
) -> (Vec<u8>, Result<ReadOutcome, StreamError>) {
    let mut data = Vec::new();
    loop {
        match session.read(now, id, usize::MAX) {
            Ok(ReadOutcome::Data(b)) => data.extend_from_slice(&b),
            other => return (data, other),
        }
    }
}
