//! yamux frame headers: the 12-byte big-endian header and its codec.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/yamux/README.md> (a copy of hashicorp's
//! `spec.md`). A frame is a header followed, for DATA frames only, by `length` payload bytes. For
//! the other types `length` is a window delta, an opaque ping value or a GoAway code, and no
//! payload follows. This module does not know about streams or windows; the session does.

use bytes::{BufMut, BytesMut};

/// Size of every yamux header in bytes.
pub const HEADER_LEN: usize = 12;

/// The only protocol version yamux has. go-yamux closes the session on any other value.
pub const VERSION: u8 = 0;

/// Stream id 0 belongs to the session (Ping, GoAway).
pub const SESSION_ID: u32 = 0;

/// The four frame types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// Payload for a stream; `length` payload bytes follow the header.
    Data = 0,
    /// A window delta for a stream; also the carrier of SYN/ACK/FIN/RST without data.
    WindowUpdate = 1,
    /// A ping (SYN) or its answer (ACK) with an opaque 32-bit value.
    Ping = 2,
    /// Session termination with an error code.
    GoAway = 3,
}

impl FrameType {
    /// All types in wire order, for per-type counters.
    pub const ALL: [FrameType; 4] = [Self::Data, Self::WindowUpdate, Self::Ping, Self::GoAway];

    /// A short lower-case name, as used in result files.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::WindowUpdate => "window_update",
            Self::Ping => "ping",
            Self::GoAway => "go_away",
        }
    }
}

/// Header flags. Several may be set at once (go sends FIN together with a pending ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);
    /// Opens a stream, or asks for a pong.
    pub const SYN: Flags = Flags(0x1);
    /// Acknowledges a stream, or is a pong.
    pub const ACK: Flags = Flags(0x2);
    /// Half-closes the sender's side of a stream.
    pub const FIN: Flags = Flags(0x4);
    /// Resets a stream.
    pub const RST: Flags = Flags(0x8);

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// GoAway codes. go-yamux v5 may also send other (libp2p) codes; they decode as a plain `u32`.
pub mod go_away {
    /// Normal termination.
    pub const NORMAL: u32 = 0;
    /// The peer broke the protocol.
    pub const PROTOCOL_ERROR: u32 = 1;
    /// Something failed locally.
    pub const INTERNAL_ERROR: u32 = 2;
}

/// A decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Frame type.
    pub typ: FrameType,
    /// Flags.
    pub flags: Flags,
    /// Stream id (0 for Ping and GoAway).
    pub stream_id: u32,
    /// Payload length (Data), window delta (WindowUpdate), opaque value (Ping), code (GoAway);
    /// on a WindowUpdate with RST, an error code (go-yamux v5).
    pub length: u32,
}

/// Why a header could not be decoded. Either is fatal for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The version byte was not 0.
    #[error("unsupported yamux version {0}")]
    InvalidVersion(u8),
    /// The type byte was not 0..=3.
    #[error("unknown yamux frame type {0}")]
    InvalidType(u8),
}

impl Header {
    /// A DATA header for `length` payload bytes.
    pub const fn data(stream_id: u32, flags: Flags, length: u32) -> Self {
        Self {
            typ: FrameType::Data,
            flags,
            stream_id,
            length,
        }
    }

    /// A WINDOW_UPDATE header granting `delta` more bytes.
    pub const fn window_update(stream_id: u32, flags: Flags, delta: u32) -> Self {
        Self {
            typ: FrameType::WindowUpdate,
            flags,
            stream_id,
            length: delta,
        }
    }

    /// A ping request (SYN) or answer (ACK).
    pub const fn ping(flags: Flags, opaque: u32) -> Self {
        Self {
            typ: FrameType::Ping,
            flags,
            stream_id: SESSION_ID,
            length: opaque,
        }
    }

    /// A GoAway with `code`.
    pub const fn go_away(code: u32) -> Self {
        Self {
            typ: FrameType::GoAway,
            flags: Flags::NONE,
            stream_id: SESSION_ID,
            length: code,
        }
    }

    /// The 12 bytes on the wire.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = VERSION;
        b[1] = self.typ as u8;
        b[2..4].copy_from_slice(&self.flags.0.to_be_bytes());
        b[4..8].copy_from_slice(&self.stream_id.to_be_bytes());
        b[8..12].copy_from_slice(&self.length.to_be_bytes());
        b
    }

    /// Appends the header to `out`.
    pub fn encode_into(&self, out: &mut BytesMut) {
        out.put_slice(&self.encode());
    }

    /// Decodes a header.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        if b[0] != VERSION {
            return Err(FrameError::InvalidVersion(b[0]));
        }
        let typ = match b[1] {
            0 => FrameType::Data,
            1 => FrameType::WindowUpdate,
            2 => FrameType::Ping,
            3 => FrameType::GoAway,
            t => return Err(FrameError::InvalidType(t)),
        };
        Ok(Self {
            typ,
            flags: Flags(u16::from_be_bytes([b[2], b[3]])),
            stream_id: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            length: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        })
    }
}

impl std::fmt::Display for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} stream={} len={}",
            self.typ.name(),
            self.stream_id,
            self.length
        )?;
        for (flag, name) in [
            (Flags::SYN, "SYN"),
            (Flags::ACK, "ACK"),
            (Flags::FIN, "FIN"),
            (Flags::RST, "RST"),
        ] {
            if self.flags.contains(flag) {
                write!(f, " {name}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(h: Header) -> String {
        hex::encode(h.encode())
    }

    /// Headers as the spec lays them out (version, type, flags, stream id, length; big endian):
    /// <https://github.com/hashicorp/yamux/blob/master/spec.md> and
    /// <https://github.com/libp2p/specs/blob/master/yamux/README.md>.
    #[test]
    fn encodes_reference_headers() {
        assert_eq!(
            hex(Header::window_update(1, Flags::SYN, 0)),
            "000100010000000100000000"
        );
        assert_eq!(
            hex(Header::data(1, Flags::NONE, 19)),
            "000000000000000100000013"
        );
        assert_eq!(
            hex(Header::window_update(1, Flags::FIN, 0)),
            "000100040000000100000000"
        );
        assert_eq!(hex(Header::ping(Flags::SYN, 7)), "000200010000000000000007");
        assert_eq!(hex(Header::ping(Flags::ACK, 7)), "000200020000000000000007");
        assert_eq!(
            hex(Header::go_away(go_away::NORMAL)),
            "000300000000000000000000"
        );
    }

    #[test]
    fn rejects_bad_version_and_type() {
        let mut b = Header::data(1, Flags::NONE, 0).encode();
        b[0] = 1;
        assert_eq!(Header::decode(&b), Err(FrameError::InvalidVersion(1)));
        let mut b = Header::data(1, Flags::NONE, 0).encode();
        b[1] = 4;
        assert_eq!(Header::decode(&b), Err(FrameError::InvalidType(4)));
        b[1] = 0xff;
        assert_eq!(Header::decode(&b), Err(FrameError::InvalidType(0xff)));
    }

    #[test]
    fn display_names_flags() {
        let h = Header::window_update(3, Flags::ACK | Flags::FIN, 5);
        assert_eq!(h.to_string(), "window_update stream=3 len=5 ACK FIN");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn header_roundtrip(t in 0u8..4, flags: u16, id: u32, len: u32) {
            let typ = FrameType::ALL[t as usize];
            let h = Header { typ, flags: Flags(flags), stream_id: id, length: len };
            prop_assert_eq!(Header::decode(&h.encode()), Ok(h));
        }

        #[test]
        fn decode_never_panics(bytes: [u8; HEADER_LEN]) {
            let _ = Header::decode(&bytes);
        }
    }
}
