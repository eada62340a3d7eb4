//! multistream-select 1.0: agreeing on the protocol that runs over a byte stream.
//!
//! Spec: <https://github.com/multiformats/multistream-select> and
//! <https://github.com/libp2p/specs/blob/master/connections/README.md#protocol-negotiation>.
//!
//! The same exchange runs three times per connection: on the raw TCP socket (to pick `/noise`),
//! inside Noise (to pick `/yamux/1.0.0`) and at the start of every yamux stream (to pick
//! `/perf/1.0.0`). Every message is `uvarint(len)` + UTF-8 text + `\n`, where `len` counts the
//! newline. Both sides start with the header [`HEADER`]; the dialer then proposes an id and the
//! listener echoes it (agreement) or answers `na`.
//!
//! The module has a sans-IO part ([`encode_message`], [`decode_message`], [`encode_proposal`],
//! [`expected_echo`], [`EchoCheck`]) and async drivers over [`BufferedIo`] ([`dialer_select`],
//! [`dialer_expect_echo`], [`expect_lazy_echo`], [`listener_select`]). Bytes that arrive behind
//! the last negotiation message belong to the next protocol and are left in
//! [`BufferedIo::read_buf`].
//!
//! A lazy dialer (rust-libp2p's `V1Lazy`) with a single candidate sends its proposal together
//! with the next protocol's first bytes and does not wait for the answer: the listener's header
//! and echo then arrive in front of the next protocol's first bytes, and [`EchoCheck`] strips
//! them from whatever arrives first, the raw stream (the `/noise` answer in front of Noise
//! message 2) or the first decrypted bytes (the `/yamux/1.0.0` answer in front of the
//! listener's first yamux frames).
//!
//! Not done here: the `ls` listing (a listener answers `ls` with `na`, as go does), dialing with
//! several candidate protocols (a dialer proposes one id; try the next one yourself after
//! [`NegotiationError::NotAvailable`]), and timeouts (wrap the calls in `tokio::time::timeout`).

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::bufio::BufferedIo;

/// The multistream-select 1.0 header, which is also the protocol id of multistream-select itself.
pub const HEADER: &str = "/multistream/1.0.0";

/// Largest accepted message length (text plus newline), the limit go-multistream and js use.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// How many proposals a listener answers with `na` before it gives up on the dialer, so that a
/// peer cannot keep the negotiation (and the task running it) alive forever.
pub const MAX_REJECTED_PROPOSALS: usize = 32;

/// The "not available" answer.
const NA: &str = "na";
/// The "list your protocols" request.
const LS: &str = "ls";

/// The length prefix is a uvarint of at most 2 bytes (max 16383), as in rust-libp2p and js; a
/// longer one cannot describe a message within [`MAX_MESSAGE_LEN`] anyway.
const MAX_VARINT_LEN: usize = 2;

/// Why a multistream-select negotiation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// Reading or writing the stream failed; a stream closed mid-negotiation is reported as
    /// [`std::io::ErrorKind::UnexpectedEof`].
    #[error("i/o error during multistream-select")]
    Io(#[from] std::io::Error),
    /// The peer announced a message longer than [`MAX_MESSAGE_LEN`] bytes.
    #[error("multistream message of {0} bytes exceeds the limit of {MAX_MESSAGE_LEN}")]
    MessageTooLong(usize),
    /// The length prefix is longer than 2 bytes or not minimally encoded.
    #[error("invalid multistream length prefix")]
    InvalidVarint,
    /// The message does not end with `\n` (this includes an empty message).
    #[error("multistream message does not end with a newline")]
    MissingNewline,
    /// The message text is not UTF-8.
    #[error("multistream message is not valid UTF-8")]
    InvalidUtf8,
    /// The first message from the peer is not the multistream-select 1.0 header.
    #[error("expected multistream header {expected:?}, got {got:?}")]
    UnexpectedHeader {
        /// The header we speak ([`HEADER`]).
        expected: String,
        /// What the peer sent instead.
        got: String,
    },
    /// The listener answered a proposal with something other than the echo or `na`.
    #[error("proposed {expected:?}, listener answered {got:?}")]
    ProtocolMismatch {
        /// The protocol we proposed.
        expected: String,
        /// What the listener answered.
        got: String,
    },
    /// The listener answered `na`: it does not support the protocol (carried here).
    #[error("peer does not support protocol {0:?}")]
    NotAvailable(String),
    /// The listener's answer to a lazy proposal is not the echo ([`EchoCheck`]); typically it
    /// answered `na`.
    #[error("listener did not echo the lazily proposed {0:?} (probably answered na)")]
    NoEcho(String),
    /// The dialer made more than [`MAX_REJECTED_PROPOSALS`] proposals we do not support.
    #[error("peer made more than {MAX_REJECTED_PROPOSALS} unsupported proposals")]
    TooManyProposals,
}

/// Appends one message: `uvarint(len(text) + 1)`, `text`, `\n`.
///
/// Peers reject messages longer than [`MAX_MESSAGE_LEN`], so `text` should be at most 1023 bytes
/// (all protocol ids this crate uses are short constants).
pub fn encode_message(text: &str, out: &mut BytesMut) {
    let len = text.len() + 1;
    let mut varint = unsigned_varint::encode::usize_buffer();
    let prefix = unsigned_varint::encode::usize(len, &mut varint);
    out.reserve(prefix.len() + len);
    out.put_slice(prefix);
    out.put_slice(text.as_bytes());
    out.put_u8(b'\n');
}

/// Consumes one complete message from the front of `buf` and returns its text (without the
/// newline).
///
/// `Ok(None)` means `buf` does not hold a complete message yet; nothing is consumed then. The
/// length is checked as soon as the prefix is complete, so an oversized message is rejected
/// without waiting for its body. After an error the contents of `buf` are unspecified (the
/// negotiation is over).
pub fn decode_message(buf: &mut BytesMut) -> Result<Option<String>, NegotiationError> {
    let Some((len, prefix_len)) = decode_length(buf)? else {
        return Ok(None);
    };
    if len > MAX_MESSAGE_LEN {
        return Err(NegotiationError::MessageTooLong(len));
    }
    if buf.len() < prefix_len + len {
        // Make room for the rest of the message so the next read does not need to grow `buf`.
        buf.reserve(prefix_len + len - buf.len());
        return Ok(None);
    }
    buf.advance(prefix_len);
    let body = buf.split_to(len);
    let Some((&b'\n', text)) = body.split_last() else {
        return Err(NegotiationError::MissingNewline);
    };
    let text = std::str::from_utf8(text).map_err(|_| NegotiationError::InvalidUtf8)?;
    Ok(Some(text.to_owned()))
}

/// Reads the length prefix at the front of `buf`: `(length, prefix bytes)`, or `None` when the
/// prefix is incomplete. Written by hand because of the 2-byte limit: a third continuation byte
/// must be an error at once, not a request for more bytes.
fn decode_length(buf: &[u8]) -> Result<Option<(usize, usize)>, NegotiationError> {
    let mut len = 0usize;
    for (i, &byte) in buf.iter().take(MAX_VARINT_LEN).enumerate() {
        len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A last byte of zero (after the first) is a non-minimal encoding, which the
            // unsigned-varint spec forbids.
            if i > 0 && byte == 0 {
                return Err(NegotiationError::InvalidVarint);
            }
            return Ok(Some((len, i + 1)));
        }
    }
    if buf.len() >= MAX_VARINT_LEN {
        // Both allowed bytes carry the continuation bit.
        return Err(NegotiationError::InvalidVarint);
    }
    Ok(None)
}

/// Appends what a dialer sends to propose `protocol`: the header, then the protocol id.
///
/// A lazy dialer appends its first application bytes right behind these.
pub fn encode_proposal(protocol: &str, out: &mut BytesMut) {
    encode_message(HEADER, out);
    encode_message(protocol, out);
}

/// The exact bytes a listener sends when it agrees to `protocol`: its header, then the echo.
///
/// They equal the dialer's proposal, so a lazy dialer can check that its first received bytes
/// start with this prefix.
pub fn expected_echo(protocol: &str) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_proposal(protocol, &mut out);
    out.to_vec()
}

/// A lazy dialer's check of the listener's answer: the bytes of [`expected_echo`], consumed from
/// the front of whatever the dialer receives first.
///
/// Sans-IO: feed it received bytes with [`EchoCheck::consume`] until it is done; the bytes behind
/// the answer belong to the next protocol. The answer may arrive in pieces (split across reads,
/// or across decrypted messages). A differing byte fails at once, without waiting for the rest
/// of the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoCheck {
    /// The proposed protocol (for the error); empty when no answer is expected.
    protocol: String,
    /// The full expected answer.
    expected: Vec<u8>,
    /// How many bytes of `expected` have been seen.
    seen: usize,
}

impl EchoCheck {
    /// Expects the listener's agreement to `protocol`: its header, then the echo.
    pub fn new(protocol: &str) -> Self {
        Self {
            protocol: protocol.to_owned(),
            expected: expected_echo(protocol),
            seen: 0,
        }
    }

    /// A check that expects nothing (the protocol was agreed otherwise): always done.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether the whole answer has been seen.
    pub fn is_done(&self) -> bool {
        self.seen == self.expected.len()
    }

    /// Consumes the part of the answer at the front of `input`. `Ok(true)` once the whole answer
    /// has been seen (what follows it stays in `input`), `Ok(false)` when `input` ended inside
    /// it (all of `input` was consumed), [`NegotiationError::NoEcho`] when a byte differs.
    pub fn consume(&mut self, input: &mut BytesMut) -> Result<bool, NegotiationError> {
        if self.is_done() {
            return Ok(true);
        }
        let want = &self.expected[self.seen..];
        let n = want.len().min(input.len());
        if input[..n] != want[..n] {
            return Err(NegotiationError::NoEcho(self.protocol.clone()));
        }
        input.advance(n);
        self.seen += n;
        Ok(self.is_done())
    }
}

/// Reads until `check` has seen the listener's whole answer to a lazy proposal; the bytes
/// behind it stay in `io.read_buf`. The end of the stream first is an `UnexpectedEof` error.
pub async fn expect_lazy_echo<T>(
    io: &mut BufferedIo<T>,
    check: &mut EchoCheck,
) -> Result<(), NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    while !check.consume(&mut io.read_buf)? {
        if io.fill().await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
    Ok(())
}

/// Reads one message, filling the buffer from the stream as needed.
async fn read_message<T>(io: &mut BufferedIo<T>) -> Result<String, NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        if let Some(message) = decode_message(&mut io.read_buf)? {
            return Ok(message);
        }
        if io.fill().await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
}

/// Reads the peer's first message and checks that it is the header.
async fn expect_header<T>(io: &mut BufferedIo<T>) -> Result<(), NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let got = read_message(io).await?;
    if got != HEADER {
        return Err(NegotiationError::UnexpectedHeader {
            expected: HEADER.to_owned(),
            got,
        });
    }
    Ok(())
}

/// Writes one message and flushes.
async fn write_message<T>(io: &mut BufferedIo<T>, text: &str) -> Result<(), NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    encode_message(text, &mut out);
    io.write_all(&out).await?;
    Ok(())
}

/// Negotiates `protocol` as the dialer.
///
/// Writes the header and the proposal in one write, without waiting for the listener's header
/// (rust and js listeners only send theirs after receiving ours), then waits for the answer with
/// [`dialer_expect_echo`].
pub async fn dialer_select<T>(
    io: &mut BufferedIo<T>,
    protocol: &str,
) -> Result<(), NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    encode_proposal(protocol, &mut out);
    io.write_all(&out).await?;
    dialer_expect_echo(io, protocol).await
}

/// Reads the listener's answer to a proposal of `protocol` that was already sent: the header,
/// then the echo.
///
/// The header may have arrived before our proposal went out; it is simply the first message in
/// the buffer. `na` gives [`NegotiationError::NotAvailable`]. Bytes behind the echo stay in
/// `io.read_buf`.
pub async fn dialer_expect_echo<T>(
    io: &mut BufferedIo<T>,
    protocol: &str,
) -> Result<(), NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    expect_header(io).await?;
    let answer = read_message(io).await?;
    if answer == protocol {
        Ok(())
    } else if answer == NA {
        Err(NegotiationError::NotAvailable(protocol.to_owned()))
    } else {
        Err(NegotiationError::ProtocolMismatch {
            expected: protocol.to_owned(),
            got: answer,
        })
    }
}

/// Negotiates as the listener: returns the first proposed id that is in `supported`.
///
/// Sends the header at once (go does; it saves a round trip with dialers that wait for it),
/// expects the dialer's header first, then answers each proposal: the echo for a supported id
/// (and returns it), `na` otherwise, also for `ls`. After [`MAX_REJECTED_PROPOSALS`] rejected
/// proposals it fails with [`NegotiationError::TooManyProposals`]. Bytes behind the accepted
/// proposal (a lazy dialer's first application bytes) stay in `io.read_buf`.
pub async fn listener_select<T>(
    io: &mut BufferedIo<T>,
    supported: &[&str],
) -> Result<String, NegotiationError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    write_message(io, HEADER).await?;
    expect_header(io).await?;
    let mut rejected = 0;
    loop {
        let proposal = read_message(io).await?;
        if proposal != LS && supported.contains(&proposal.as_str()) {
            write_message(io, &proposal).await?;
            return Ok(proposal);
        }
        tracing::debug!(%proposal, "multistream: answering na");
        write_message(io, NA).await?;
        rejected += 1;
        if rejected >= MAX_REJECTED_PROPOSALS {
            return Err(NegotiationError::TooManyProposals);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    fn encoded(text: &str) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_message(text, &mut out);
        out.to_vec()
    }

    #[test]
    fn wire_bytes_match_the_spec_encoding() {
        let table = [
            (HEADER, "132f6d756c746973747265616d2f312e302e300a"),
            ("/noise", "072f6e6f6973650a"),
            ("/tls/1.0.0", "0b2f746c732f312e302e300a"),
            ("/yamux/1.0.0", "0d2f79616d75782f312e302e300a"),
            ("/perf/1.0.0", "0c2f706572662f312e302e300a"),
            ("/ipfs/id/1.0.0", "0f2f697066732f69642f312e302e300a"),
            ("na", "036e610a"),
            ("ls", "036c730a"),
        ];
        for (text, hex_bytes) in table {
            assert_eq!(hex::encode(encoded(text)), hex_bytes, "{text}");
        }
    }

    #[test]
    fn proposal_and_expected_echo() {
        let mut out = BytesMut::new();
        encode_proposal("/perf/1.0.0", &mut out);
        assert_eq!(
            hex::encode(&out),
            "132f6d756c746973747265616d2f312e302e300a0c2f706572662f312e302e300a"
        );
        assert_eq!(expected_echo("/perf/1.0.0"), out.to_vec());
    }

    #[test]
    fn echo_check_strips_the_answer_in_pieces_and_keeps_what_follows() {
        let answer = expected_echo("/yamux/1.0.0");
        for cut in 0..=answer.len() {
            let mut check = EchoCheck::new("/yamux/1.0.0");
            let mut first = BytesMut::from(&answer[..cut]);
            assert_eq!(check.consume(&mut first).unwrap(), cut == answer.len());
            assert!(first.is_empty());
            let mut rest = BytesMut::from(&answer[cut..]);
            rest.extend_from_slice(b"frames");
            assert!(check.consume(&mut rest).unwrap());
            assert_eq!(&rest[..], b"frames");
            // Done: later bytes are not touched.
            assert!(check.consume(&mut rest).unwrap());
            assert_eq!(&rest[..], b"frames");
        }
        let mut nothing = EchoCheck::none();
        let mut bytes = BytesMut::from(&b"frames"[..]);
        assert!(nothing.consume(&mut bytes).unwrap());
        assert_eq!(bytes.len(), 6);
    }

    #[test]
    fn echo_check_fails_at_the_first_differing_byte() {
        // The listener's header, then `na` instead of the echo.
        let mut wire = BytesMut::new();
        encode_message(HEADER, &mut wire);
        let header_len = wire.len();
        encode_message(NA, &mut wire);
        let mut check = EchoCheck::new("/noise");
        let mut header = wire.split_to(header_len);
        assert!(!check.consume(&mut header).unwrap());
        // `na` is 3 bytes long, `/noise` 7: the length prefix alone differs.
        let mut first = wire.split_to(1);
        match check.consume(&mut first) {
            Err(NegotiationError::NoEcho(protocol)) => assert_eq!(protocol, "/noise"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn round_trip_various_lengths() {
        // 126 and 127 text bytes straddle the one-byte varint boundary (len counts the '\n').
        for len in [0, 1, 2, 126, 127, 128, 500, MAX_MESSAGE_LEN - 1] {
            let text = "/".repeat(len);
            let mut buf = BytesMut::new();
            encode_message(&text, &mut buf);
            encode_message("next", &mut buf);
            if len == 0 {
                // An empty text is a lone '\n': valid.
                assert_eq!(buf[..2], [1, b'\n']);
            }
            assert_eq!(decode_message(&mut buf).unwrap().as_deref(), Some(&*text));
            assert_eq!(decode_message(&mut buf).unwrap().as_deref(), Some("next"));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn partial_message_returns_none_and_consumes_nothing() {
        let full = encoded("/yamux/1.0.0");
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert!(decode_message(&mut buf).unwrap().is_none(), "cut {cut}");
            assert_eq!(buf.len(), cut);
        }
        let mut buf = BytesMut::from(&full[..]);
        assert_eq!(
            decode_message(&mut buf).unwrap().as_deref(),
            Some("/yamux/1.0.0")
        );
    }

    #[test]
    fn too_long_is_rejected_from_the_prefix_alone() {
        // 1025 = 0x81 0x08: only the prefix, no body at all.
        let mut buf = BytesMut::from(&[0x81, 0x08][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(NegotiationError::MessageTooLong(1025))
        ));
        // Exactly 1024 is fine (waits for the body).
        let mut buf = BytesMut::from(&[0x80, 0x08][..]);
        assert!(decode_message(&mut buf).unwrap().is_none());
    }

    #[test]
    fn varint_longer_than_two_bytes_is_rejected_at_once() {
        let mut buf = BytesMut::from(&[0x80, 0x80][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(NegotiationError::InvalidVarint)
        ));
        // One continuation byte alone is just incomplete.
        let mut buf = BytesMut::from(&[0x80][..]);
        assert!(decode_message(&mut buf).unwrap().is_none());
    }

    #[test]
    fn non_minimal_varint_is_rejected() {
        let mut buf = BytesMut::from(&[0x83, 0x00, b'n', b'a', b'\n'][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(NegotiationError::InvalidVarint)
        ));
    }

    #[test]
    fn missing_newline_is_rejected() {
        let mut buf = BytesMut::from(&[0x03, b'n', b'a', b'x'][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(NegotiationError::MissingNewline)
        ));
        let mut buf = BytesMut::from(&[0x00][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(NegotiationError::MissingNewline)
        ));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let mut buf = BytesMut::from(&[0x03, 0xff, 0xfe, b'\n'][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(NegotiationError::InvalidUtf8)
        ));
    }

    proptest::proptest! {
        /// Arbitrary peer bytes decode to messages, "need more" or an error, never a panic, and
        /// every decoded message is within the limit.
        #[test]
        fn decode_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(message)) = decode_message(&mut buf) {
                proptest::prop_assert!(message.len() < MAX_MESSAGE_LEN);
            }
        }
    }

    #[tokio::test]
    async fn dialer_and_listener_agree_and_keep_lazy_bytes() {
        let (a, b) = duplex(4096);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            let chosen = listener_select(&mut io, &["/yamux/1.0.0", "/noise"]).await?;
            // The dialer's lazy bytes follow its proposal.
            io.fill_to(5).await?;
            assert_eq!(&io.read_buf[..], b"hello");
            io.write_all(b"world").await?;
            Ok::<_, NegotiationError>(chosen)
        });
        let mut io = BufferedIo::new(a);
        let mut out = BytesMut::new();
        encode_proposal("/noise", &mut out);
        out.extend_from_slice(b"hello");
        io.write_all(&out).await.unwrap();
        dialer_expect_echo(&mut io, "/noise").await.unwrap();
        io.fill_to(5).await.unwrap();
        assert_eq!(&io.read_buf[..], b"world");
        assert_eq!(listener.await.unwrap().unwrap(), "/noise");
    }

    #[tokio::test]
    async fn dialer_select_against_listener() {
        let (a, b) = duplex(4096);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            listener_select(&mut io, &["/perf/1.0.0"]).await
        });
        let mut io = BufferedIo::new(a);
        dialer_select(&mut io, "/perf/1.0.0").await.unwrap();
        assert!(io.read_buf.is_empty());
        assert_eq!(listener.await.unwrap().unwrap(), "/perf/1.0.0");
    }

    #[tokio::test]
    async fn na_then_retry() {
        let (a, b) = duplex(4096);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            listener_select(&mut io, &["/noise"]).await
        });
        let mut io = BufferedIo::new(a);
        match dialer_select(&mut io, "/tls/1.0.0").await {
            Err(NegotiationError::NotAvailable(p)) => assert_eq!(p, "/tls/1.0.0"),
            other => panic!("expected na, got {other:?}"),
        }
        // Second proposal in the same negotiation: no new header.
        let mut out = BytesMut::new();
        encode_message("/noise", &mut out);
        io.write_all(&out).await.unwrap();
        let answer = loop {
            if let Some(m) = decode_message(&mut io.read_buf).unwrap() {
                break m;
            }
            assert!(io.fill().await.unwrap() > 0);
        };
        assert_eq!(answer, "/noise");
        assert_eq!(listener.await.unwrap().unwrap(), "/noise");
    }

    #[tokio::test]
    async fn listener_answers_ls_with_na() {
        let (mut a, b) = duplex(4096);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            listener_select(&mut io, &["/noise"]).await
        });
        let mut out = BytesMut::new();
        encode_message(HEADER, &mut out);
        encode_message("ls", &mut out);
        encode_message("/noise", &mut out);
        a.write_all(&out).await.unwrap();
        let mut expected = BytesMut::new();
        encode_message(HEADER, &mut expected);
        encode_message("na", &mut expected);
        encode_message("/noise", &mut expected);
        let mut got = vec![0; expected.len()];
        a.read_exact(&mut got).await.unwrap();
        assert_eq!(got, expected.to_vec());
        assert_eq!(listener.await.unwrap().unwrap(), "/noise");
    }

    #[tokio::test]
    async fn listener_header_may_arrive_before_dialer_writes() {
        let (a, b) = duplex(4096);
        let mut listener_io = BufferedIo::new(b);
        let mut dialer_io = BufferedIo::new(a);
        let listener =
            tokio::spawn(async move { listener_select(&mut listener_io, &["/x"]).await });
        // Wait until the listener's header is in our buffer before proposing.
        dialer_io.fill_to(encoded(HEADER).len()).await.unwrap();
        dialer_select(&mut dialer_io, "/x").await.unwrap();
        assert_eq!(listener.await.unwrap().unwrap(), "/x");
    }

    #[tokio::test]
    async fn listener_rejects_wrong_header() {
        let (mut a, b) = duplex(4096);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            listener_select(&mut io, &["/noise"]).await
        });
        let mut out = BytesMut::new();
        encode_message("/noise", &mut out);
        a.write_all(&out).await.unwrap();
        match listener.await.unwrap() {
            Err(NegotiationError::UnexpectedHeader { got, .. }) => assert_eq!(got, "/noise"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn dialer_rejects_unexpected_answer() {
        let (a, mut b) = duplex(4096);
        let mut out = BytesMut::new();
        encode_proposal("/other", &mut out);
        b.write_all(&out).await.unwrap();
        let mut io = BufferedIo::new(a);
        match dialer_select(&mut io, "/noise").await {
            Err(NegotiationError::ProtocolMismatch { expected, got }) => {
                assert_eq!((expected.as_str(), got.as_str()), ("/noise", "/other"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn eof_mid_negotiation_is_an_io_error() {
        let (a, b) = duplex(4096);
        drop(b);
        let mut io = BufferedIo::new(a);
        match dialer_expect_echo(&mut io, "/noise").await {
            Err(NegotiationError::Io(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn listener_bounds_rejected_proposals() {
        let (mut a, b) = duplex(1 << 20);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            listener_select(&mut io, &["/noise"]).await
        });
        let mut out = BytesMut::new();
        encode_message(HEADER, &mut out);
        for i in 0..MAX_REJECTED_PROPOSALS + 10 {
            encode_message(&format!("/unknown/{i}"), &mut out);
        }
        a.write_all(&out).await.unwrap();
        assert!(matches!(
            listener.await.unwrap(),
            Err(NegotiationError::TooManyProposals)
        ));
        // The listener answered exactly MAX_REJECTED_PROPOSALS proposals with na.
        let mut answers = BytesMut::new();
        a.read_buf(&mut answers).await.unwrap();
        while a.read_buf(&mut answers).await.unwrap() > 0 {}
        assert_eq!(
            decode_message(&mut answers).unwrap().as_deref(),
            Some(HEADER)
        );
        let mut nas = 0;
        while let Some(m) = decode_message(&mut answers).unwrap() {
            assert_eq!(m, "na");
            nas += 1;
        }
        assert_eq!(nas, MAX_REJECTED_PROPOSALS);
    }
}
