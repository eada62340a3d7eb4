//! WebSocket framing (RFC 6455 §5), sans-IO: frame headers in and out, masking, and the
//! validation a byte-stream transport needs.
//!
//! The [`Decoder`] streams: it parses a data frame's header and then hands out its payload as
//! it arrives, however large the frame is, so there is no message-size limit to trip over
//! (go-libp2p #2188: a 32 KiB read limit in the WebSocket library broke large messages). Control
//! frames (at most 125 bytes, §5.5) are parsed whole. Text frames are refused: libp2p carries
//! binary messages only (libp2p/specs, `websockets` in the addressing and transport docs).

/// Longest frame header: 2 bytes, an 8-byte extended length and a 4-byte masking key (§5.2).
pub const MAX_HEADER: usize = 14;

/// Longest control frame payload (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Which end of the connection we are: a client masks what it sends and must receive unmasked
/// frames; a server the other way round (§5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that sent the HTTP Upgrade request.
    Client,
    /// The end that accepted it.
    Server,
}

/// Frame opcodes (§5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opcode {
    /// A further fragment of the current message.
    Continuation = 0x0,
    /// A UTF-8 text message.
    Text = 0x1,
    /// A binary message.
    Binary = 0x2,
    /// The closing handshake.
    Close = 0x8,
    /// A ping, to be answered with a pong.
    Ping = 0x9,
    /// A pong.
    Pong = 0xA,
}

/// A frame that breaks RFC 6455 or that this transport does not carry; the connection is to be
/// failed (§7.1.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A text frame: libp2p over WebSocket uses binary frames only.
    #[error("text frame received: libp2p over WebSocket carries binary frames only")]
    Text,
    /// RSV1-3 set, but no extension was negotiated (§5.2).
    #[error("reserved bits {0:#05b} set without a negotiated extension")]
    Reserved(u8),
    /// An opcode RFC 6455 reserves (§5.2).
    #[error("reserved opcode {0:#x}")]
    Opcode(u8),
    /// A client sent an unmasked frame (§5.1: the server must close the connection).
    #[error("unmasked frame from the client (RFC 6455 §5.1 requires masking)")]
    Unmasked,
    /// A server sent a masked frame (§5.1: the client must close the connection).
    #[error("masked frame from the server (RFC 6455 §5.1 forbids it)")]
    Masked,
    /// A control frame with FIN clear (§5.5: control frames are not fragmented).
    #[error("fragmented control frame (opcode {0:#x})")]
    FragmentedControl(u8),
    /// A control frame longer than 125 bytes (§5.5).
    #[error("control frame of {0} bytes (at most 125)")]
    ControlTooLong(u64),
    /// A continuation frame with no fragmented message to continue (§5.4).
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is unfinished (§5.4).
    #[error("new message before the fragmented one ended")]
    Interleaved,
    /// A 64-bit length with its most significant bit set (§5.2).
    #[error("payload length with the most significant bit set")]
    Length,
    /// A close frame with a 1-byte body (§5.5.1: a body starts with a 2-byte code).
    #[error("close frame with a 1-byte body")]
    CloseBody,
    /// A close code that must not be sent (§7.4).
    #[error("close code {0} is not allowed on the wire")]
    CloseCode(u16),
    /// A close reason that is not UTF-8 (§5.5.1).
    #[error("close reason is not UTF-8")]
    CloseReason,
}

/// What a frame header announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A binary or continuation frame: [`Decoder::payload_remaining`] bytes of payload follow,
    /// to be taken with [`Decoder::unmask_payload`].
    Data,
    /// A ping with its (unmasked) payload, which the pong must echo (§5.5.2).
    Ping(Vec<u8>),
    /// A pong (§5.5.3); nothing to do.
    Pong,
    /// The peer started or answered the closing handshake, with its status code if any.
    Close(Option<u16>),
}

/// Parses frames from the peer: headers, control frames whole, data payloads as they come.
#[derive(Debug, Clone)]
pub struct Decoder {
    role: Role,
    /// A binary message is fragmented and its last frame has not come yet.
    in_message: bool,
    /// Payload bytes of the current data frame not taken yet.
    remaining: u64,
    /// The current data frame's masking key (frames from a client).
    mask: Option<[u8; 4]>,
    /// Payload bytes of the current frame taken so far (the masking key's phase).
    taken: usize,
}

impl Decoder {
    /// A decoder for the frames `role` receives.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            in_message: false,
            remaining: 0,
            mask: None,
            taken: 0,
        }
    }

    /// Payload bytes of the current data frame still to come; 0 between frames, when the next
    /// header is due.
    pub fn payload_remaining(&self) -> u64 {
        self.remaining
    }

    /// Parses the frame header at the start of `input` (with the whole payload, for a control
    /// frame). Call only between frames (`payload_remaining() == 0`). `Ok(None)`: `input` holds
    /// less than that, read more; `Ok(Some((n, event)))`: `n` bytes of `input` are consumed.
    pub fn decode(&mut self, input: &[u8]) -> Result<Option<(usize, Event)>, FrameError> {
        debug_assert_eq!(self.remaining, 0, "decode between frames only");
        let [b0, b1, ..] = *input else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let reserved = (b0 >> 4) & 0x7;
        if reserved != 0 {
            return Err(FrameError::Reserved(reserved));
        }
        let opcode = b0 & 0x0F;
        let masked = b1 & 0x80 != 0;
        match (self.role, masked) {
            (Role::Server, false) => return Err(FrameError::Unmasked),
            (Role::Client, true) => return Err(FrameError::Masked),
            _ => {}
        }
        let (len, mut at) = match b1 & 0x7F {
            126 => match input.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match input.get(2..10) {
                Some(b) => {
                    let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                    if len >> 63 != 0 {
                        return Err(FrameError::Length);
                    }
                    (len, 10)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 2),
        };
        let mask = if masked {
            let Some(key) = input.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some(<[u8; 4]>::try_from(key).expect("4 bytes"))
        } else {
            None
        };
        let control = opcode & 0x8 != 0;
        if control {
            if !fin {
                return Err(FrameError::FragmentedControl(opcode));
            }
            if len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(FrameError::ControlTooLong(len));
            }
            let end = at + len as usize;
            let Some(payload) = input.get(at..end) else {
                return Ok(None);
            };
            let mut payload = payload.to_vec();
            if let Some(key) = mask {
                apply_mask(&mut payload, key, 0);
            }
            let event = match opcode {
                0x8 => Event::Close(close_code(&payload)?),
                0x9 => Event::Ping(payload),
                0xA => Event::Pong,
                other => return Err(FrameError::Opcode(other)),
            };
            return Ok(Some((end, event)));
        }
        match opcode {
            0x0 if !self.in_message => return Err(FrameError::UnexpectedContinuation),
            0x0 => {}
            0x1 => return Err(FrameError::Text),
            0x2 if self.in_message => return Err(FrameError::Interleaved),
            0x2 => {}
            other => return Err(FrameError::Opcode(other)),
        }
        self.in_message = !fin;
        self.remaining = len;
        self.mask = mask;
        self.taken = 0;
        Ok(Some((at, Event::Data)))
    }

    /// Takes the next `data.len()` payload bytes of the current data frame (at most
    /// [`Decoder::payload_remaining`]), unmasking them in place.
    pub fn unmask_payload(&mut self, data: &mut [u8]) {
        assert!(data.len() as u64 <= self.remaining, "past the frame's end");
        if let Some(key) = self.mask {
            apply_mask(data, key, self.taken);
        }
        self.taken += data.len();
        self.remaining -= data.len() as u64;
    }
}

/// The status code of a close frame body, checked as §5.5.1 and §7.4 require.
fn close_code(body: &[u8]) -> Result<Option<u16>, FrameError> {
    match body {
        [] => Ok(None),
        [_] => Err(FrameError::CloseBody),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            // §7.4.1 and §7.4.2: 1000-1003, 1007-1011 defined; 1004-1006 and 1015 never sent;
            // 3000-4999 registered or private; everything else reserved.
            let allowed = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !allowed {
                return Err(FrameError::CloseCode(code));
            }
            std::str::from_utf8(reason).map_err(|_| FrameError::CloseReason)?;
            Ok(Some(code))
        }
    }
}

/// Writes the header of a frame with FIN set into `out`; returns its length.
pub fn encode_header(
    opcode: Opcode,
    len: u64,
    mask: Option<[u8; 4]>,
    out: &mut [u8; MAX_HEADER],
) -> usize {
    out[0] = 0x80 | opcode as u8;
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut at = match len {
        0..=125 => {
            out[1] = mask_bit | len as u8;
            2
        }
        126..=0xFFFF => {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&len.to_be_bytes());
            10
        }
    };
    if let Some(key) = mask {
        out[at..at + 4].copy_from_slice(&key);
        at += 4;
    }
    at
}

/// Appends a whole control frame (`payload` at most 125 bytes), masked with `mask` if given.
pub fn encode_control(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
    let mut header = [0; MAX_HEADER];
    let n = encode_header(opcode, payload.len() as u64, mask, &mut header);
    out.extend_from_slice(&header[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// XORs `data` with the masking key `key` (§5.3), `data` starting `offset` bytes into the
/// payload. Masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut rotated = [0; 4];
    for (i, b) in rotated.iter_mut().enumerate() {
        *b = key[(offset + i) % 4];
    }
    let [k0, k1, k2, k3] = rotated;
    let word = u64::from_ne_bytes([k0, k1, k2, k3, k0, k1, k2, k3]);
    // Eight bytes at a time (the key repeats every 4, so phase is kept); the compiler vectorizes
    // the 32-byte blocks.
    let mut blocks = data.chunks_exact_mut(32);
    for block in &mut blocks {
        for chunk in block.chunks_exact_mut(8) {
            let v = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ word;
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
    }
    for (i, b) in blocks.into_remainder().iter_mut().enumerate() {
        *b ^= rotated[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut header = [0; MAX_HEADER];
        let n = encode_header(opcode, payload.len() as u64, mask, &mut header);
        let mut out = header[..n].to_vec();
        let start = out.len();
        out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut out[start..], key, 0);
        }
        out
    }

    #[test]
    fn rfc_examples_decode() {
        // §5.7: a single-frame masked text message "Hello" is refused (binary only); the
        // unmasked ping "Hello" from a server parses.
        let masked_text = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            Decoder::new(Role::Server).decode(&masked_text),
            Err(FrameError::Text)
        );
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(
            Decoder::new(Role::Client).decode(&ping),
            Ok(Some((7, Event::Ping(b"Hello".to_vec()))))
        );
        // 256 bytes binary in a single unmasked frame: 0x82 0x7E 0x0100.
        let mut d = Decoder::new(Role::Client);
        assert_eq!(
            d.decode(&[0x82, 0x7E, 0x01, 0x00]),
            Ok(Some((4, Event::Data)))
        );
        assert_eq!(d.payload_remaining(), 256);
    }

    #[test]
    fn masked_payload_round_trips_at_any_split() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let key = [0x12, 0x34, 0x56, 0x78];
        let wire = frame(Opcode::Binary, &payload, Some(key));
        for split in [1, 3, 5, 31, 33, 999] {
            let mut d = Decoder::new(Role::Server);
            assert_eq!(d.decode(&wire[..3]), Ok(None));
            let (n, event) = d.decode(&wire).unwrap().unwrap();
            assert_eq!((n, event), (8, Event::Data));
            let mut body = wire[n..].to_vec();
            let (a, b) = body.split_at_mut(split);
            d.unmask_payload(a);
            d.unmask_payload(b);
            assert_eq!(body, payload, "split {split}");
            assert_eq!(d.payload_remaining(), 0);
        }
    }

    #[test]
    fn large_lengths_use_the_64_bit_form() {
        let mut header = [0; MAX_HEADER];
        assert_eq!(encode_header(Opcode::Binary, 70_000, None, &mut header), 10);
        let mut d = Decoder::new(Role::Client);
        assert_eq!(d.decode(&header[..10]), Ok(Some((10, Event::Data))));
        assert_eq!(d.payload_remaining(), 70_000);
        let mut bad = header;
        bad[2] = 0x80;
        assert_eq!(
            Decoder::new(Role::Client).decode(&bad[..10]),
            Err(FrameError::Length)
        );
    }

    #[test]
    fn refuses_what_rfc_6455_forbids() {
        let key = Some([1, 2, 3, 4]);
        let cases: Vec<(Role, Vec<u8>, FrameError)> = vec![
            (
                Role::Server,
                frame(Opcode::Binary, b"x", None),
                FrameError::Unmasked,
            ),
            (
                Role::Client,
                frame(Opcode::Binary, b"x", key),
                FrameError::Masked,
            ),
            (Role::Client, vec![0xC2, 0x00], FrameError::Reserved(0b100)),
            (Role::Client, vec![0x83, 0x00], FrameError::Opcode(3)),
            (Role::Client, vec![0x8B, 0x00], FrameError::Opcode(0xB)),
            (
                Role::Client,
                vec![0x09, 0x00],
                FrameError::FragmentedControl(9),
            ),
            (
                Role::Client,
                vec![0x89, 0x7E, 0x00, 0x7E],
                FrameError::ControlTooLong(126),
            ),
            (
                Role::Client,
                vec![0x80, 0x00],
                FrameError::UnexpectedContinuation,
            ),
            (Role::Client, vec![0x88, 0x01, 0x03], FrameError::CloseBody),
            (
                Role::Client,
                vec![0x88, 0x02, 0x03, 0xEE],
                FrameError::CloseCode(1006),
            ),
            (
                Role::Client,
                vec![0x88, 0x03, 0x03, 0xE8, 0xFF],
                FrameError::CloseReason,
            ),
        ];
        for (role, wire, error) in cases {
            assert_eq!(
                Decoder::new(role).decode(&wire),
                Err(error.clone()),
                "{error}"
            );
        }
    }

    #[test]
    fn fragments_continue_a_binary_message_around_control_frames() {
        let mut d = Decoder::new(Role::Client);
        // Binary without FIN, a ping in between, then the final continuation.
        assert_eq!(d.decode(&[0x02, 0x01, b'a']), Ok(Some((2, Event::Data))));
        d.unmask_payload(&mut [b'a']);
        assert_eq!(d.decode(&[0x89, 0x00]), Ok(Some((2, Event::Ping(vec![])))));
        assert_eq!(d.decode(&[0x82, 0x00]), Err(FrameError::Interleaved));
        assert_eq!(d.decode(&[0x80, 0x01, b'b']), Ok(Some((2, Event::Data))));
        d.unmask_payload(&mut [b'b']);
        assert_eq!(
            d.decode(&[0x80, 0x00]),
            Err(FrameError::UnexpectedContinuation)
        );
        assert_eq!(
            d.decode(&[0x88, 0x02, 0x03, 0xE8]),
            Ok(Some((4, Event::Close(Some(1000)))))
        );
    }

    #[test]
    fn control_frames_encode_masked() {
        let mut out = Vec::new();
        encode_control(
            Opcode::Pong,
            b"Hello",
            Some([0x37, 0xfa, 0x21, 0x3d]),
            &mut out,
        );
        // §5.7's masked "Hello", with the pong opcode.
        assert_eq!(
            out,
            [
                0x8A, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
    }
}
