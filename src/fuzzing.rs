//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay and
//! property tests that run in `cargo test`.
//!
//! Each function takes arbitrary bytes, drives one parser or state machine with them and panics
//! only when an invariant breaks (a panic inside the code under test is a finding too). Not part
//! of the public API: the module is hidden from the docs and may change at any time.
//!
//! - [`frame_decoder`]: the yamux 12-byte header codec.
//! - [`session`]: two sans-IO yamux sessions wired together, driven by an interpreted list of
//!   API calls, partial deliveries, injected peer bytes and clock steps.
//! - [`multistream`]: message framing and both negotiation roles over an in-memory stream.
//! - [`noise_transport`]: the length-prefixed transport message reader ([`Opener`]).
//! - [`noise_handshake`]: the handshake message reader and the payload decoder and verifier.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::bufio::BufferedIo;
use crate::multistream;
use crate::noise::{Handshake, Opener, Sealer, cipher::KEY_LEN};
use crate::yamux::frame::{HEADER_LEN, Header};
use crate::yamux::session::{Config, ReadOutcome, Role, Session, SessionError};

/// The names of the targets, which are also the folder names of their seed corpora under
/// `fuzz/corpus/`.
pub const TARGETS: [&str; 5] = [
    "frame_decoder",
    "session",
    "multistream",
    "noise_transport",
    "noise_handshake",
];

/// Runs the target called `name` (one of [`TARGETS`]) on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "frame_decoder" => frame_decoder(data),
        "session" => session(data),
        "multistream" => multistream(data),
        "noise_transport" => noise_transport(data),
        "noise_handshake" => noise_handshake(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

/// A cursor over the fuzz input; reads past the end give zeros.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

// ------------------------------------------------------------------------------------------------
// yamux frame decoder
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// yamux session
// ------------------------------------------------------------------------------------------------

/// Period of the stream payload pattern (prime, so it lines up with no frame or window size).
const PERIOD: u64 = 251;

/// The pattern, long enough for any write of the harness (`u16::MAX` bytes) at any phase.
fn pattern_buffer() -> &'static Bytes {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    PATTERN.get_or_init(|| {
        (0..usize::from(u16::MAX) + PERIOD as usize)
            .map(|i| (i as u64 % PERIOD) as u8)
            .collect::<Vec<u8>>()
            .into()
    })
}

/// The `len` bytes stream `id` carries from `offset` on, so the receiver can check every byte
/// it reads (the stream id shifts the phase: streams cannot pass off each other's bytes).
fn pattern(id: u32, offset: u64, len: usize) -> Bytes {
    let phase = ((offset + u64::from(id)) % PERIOD) as usize;
    pattern_buffer().slice(phase..phase + len)
}

/// One side of the session pair and what the harness knows about it.
struct Side {
    session: Session,
    /// Bytes in flight towards this side.
    inbound: BytesMut,
    /// Stream ids this side has seen (opened or accepted), in order.
    streams: Vec<u32>,
    /// Payload bytes written per stream.
    written: HashMap<u32, u64>,
    /// Payload bytes read per stream.
    read: HashMap<u32, u64>,
    /// Total payload bytes read on all streams.
    read_total: u64,
}

impl Side {
    fn new(role: Role, config: Config, now: Instant) -> Self {
        Self {
            session: Session::new(role, config, now),
            inbound: BytesMut::new(),
            streams: Vec::new(),
            written: HashMap::new(),
            read: HashMap::new(),
            read_total: 0,
        }
    }

    fn pick_stream(&self, input: &mut Input<'_>) -> u32 {
        let i = usize::from(input.u8());
        if self.streams.is_empty() {
            // A made-up id: exercises the unknown-stream paths.
            return i as u32;
        }
        self.streams[i % self.streams.len()]
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            if let crate::yamux::Event::InboundStream(id) = event {
                self.streams.push(id);
            }
        }
    }
}

/// Drives two sessions (a client and a server) wired back to back with calls decoded from
/// `data`, and checks after every step that
/// - nothing panics;
/// - no receive window grows past the configured maximum, and (while no foreign bytes were
///   injected) no send credit exceeds what the peer may grant;
/// - no side reads more payload bytes than it received, nor more on a stream than the peer
///   wrote on it, and every byte read is the byte written at that offset (while no foreign bytes
///   were injected);
/// - while no foreign bytes were injected, neither session reports a frame or protocol error:
///   our own sessions never break the protocol towards each other.
pub fn session(data: &[u8]) {
    let mut input = Input { data };
    let flags = input.u8();
    let config = Config {
        max_window: [256 * 1024, 1024 * 1024, 16 * 1024 * 1024][usize::from(flags & 3) % 3],
        max_inbound_streams: 1 + usize::from((flags >> 2) & 7),
        send_buffer: [4096, 64 * 1024, 1024 * 1024][usize::from((flags >> 5) & 3) % 3],
        autotune: flags & 0x80 == 0,
        ..Config::default()
    };
    let start = Instant::now();
    let mut now = start;
    let mut sides = [
        Side::new(Role::Client, config.clone(), now),
        Side::new(Role::Server, config.clone(), now),
    ];
    // Whether foreign bytes went into either session: then only the panic-freedom and window
    // bounds are checked.
    let mut tainted = false;
    let mut steps = 0;
    while !input.is_empty() && steps < 4096 {
        steps += 1;
        let op = input.u8();
        let who = usize::from(op & 1);
        let (me, peer) = if who == 0 { (0, 1) } else { (1, 0) };
        let mut result: Result<(), SessionError> = Ok(());
        match (op >> 1) % 12 {
            0 => {
                if let Ok(Some(id)) = sides[me].session.open_stream(now) {
                    sides[me].streams.push(id);
                }
            }
            1 => {
                let side = &mut sides[me];
                let id = side.pick_stream(&mut input);
                let len = usize::from(input.u16());
                let offset = side.written.get(&id).copied().unwrap_or(0);
                let payload = pattern(id, offset, len);
                if let Ok(n) = side.session.write(now, id, &payload) {
                    assert!(n <= len);
                    *side.written.entry(id).or_default() += n as u64;
                }
            }
            2 => {
                let id = sides[me].pick_stream(&mut input);
                let max = usize::from(input.u16()).max(1);
                if let Ok(ReadOutcome::Data(bytes)) = sides[me].session.read(now, id, max) {
                    assert!(!bytes.is_empty() && bytes.len() <= max);
                    let side = &mut sides[me];
                    let offset = side.read.entry(id).or_default();
                    if !tainted {
                        let expected = pattern(id, *offset, bytes.len());
                        assert!(bytes == expected, "stream {id} corrupt at {offset}");
                    }
                    *offset += bytes.len() as u64;
                    side.read_total += bytes.len() as u64;
                    let read_on_stream = *offset;
                    if !tainted {
                        let written = sides[peer].written.get(&id).copied().unwrap_or(0);
                        assert!(
                            read_on_stream <= written,
                            "stream {id}: read more than written"
                        );
                    }
                }
            }
            3 => {
                let id = sides[me].pick_stream(&mut input);
                let _ = sides[me].session.close_write(id);
            }
            4 => {
                let id = sides[me].pick_stream(&mut input);
                let code = u32::from(input.u8());
                let _ = sides[me].session.reset(id, code);
            }
            5 => {
                let id = sides[me].pick_stream(&mut input);
                sides[me].session.detach(now, id);
            }
            6 => {
                // Transmit towards the peer, up to a limit.
                let limit = usize::from(input.u16()).max(1) * 16;
                let mut out = BytesMut::new();
                sides[me].session.poll_transmit(now, &mut out, limit);
                sides[peer].inbound.extend_from_slice(&out);
            }
            7 => {
                // Deliver part of what is in flight towards `me`.
                let side = &mut sides[me];
                let n = (usize::from(input.u16()) * 8).min(side.inbound.len());
                let mut chunk = side.inbound.split_to(n);
                result = side.session.handle_input(now, &mut chunk);
                // What the session left unconsumed (a partial header) goes back in front.
                chunk.unsplit(std::mem::take(&mut side.inbound));
                side.inbound = chunk;
            }
            8 => {
                // Foreign bytes, as a hostile or broken peer would send them.
                let n = usize::from(input.u8());
                let mut garbage = BytesMut::from(input.bytes(n));
                tainted = true;
                result = sides[me].session.handle_input(now, &mut garbage);
            }
            9 => {
                now += Duration::from_millis(u64::from(input.u16()) * 4);
                for side in &mut sides {
                    if side.session.poll_timeout().is_some_and(|t| t <= now) {
                        let _ = side.session.handle_timeout(now);
                    }
                }
            }
            10 => {
                let code = u32::from(input.u8() & 3);
                sides[me].session.close(code);
            }
            _ => sides[me].drain_events(),
        }
        if let Err(e) = &result
            && !tainted
        {
            assert!(
                !matches!(e, SessionError::Frame(_) | SessionError::Protocol(_)),
                "our own peer caused {e}"
            );
        }
        for i in 0..2 {
            check_session_bounds(&sides[i], &sides[1 - i], tainted);
        }
    }
}

fn check_session_bounds(side: &Side, peer: &Side, tainted: bool) {
    let stats = side.session.stats();
    let max_window = side.session.config().max_window;
    assert!(
        stats.max_recv_window <= max_window,
        "receive window {} above the maximum {max_window}",
        stats.max_recv_window
    );
    assert!(
        side.read_total <= stats.data_bytes_received,
        "read {} bytes but received {}",
        side.read_total,
        stats.data_bytes_received
    );
    if !tainted {
        let peer_max = peer.session.config().max_window;
        assert!(
            stats.max_send_credit <= peer_max,
            "send credit {} above the peer's maximum window {peer_max}",
            stats.max_send_credit
        );
        // Every payload byte sent was either counted by the peer or is still in flight (the
        // in-flight bytes include headers, so this is an upper bound).
        if peer.session.error().is_none() {
            let in_flight = peer.inbound.len() as u64;
            assert!(
                stats.data_bytes_sent <= peer.session.stats().data_bytes_received + in_flight,
                "sent payload unaccounted for"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------------
// multistream-select
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// Noise
// ------------------------------------------------------------------------------------------------

/// The transport message reader. The first byte picks the read chunking; then either (high bit
/// clear) the rest is taken as ciphertext from a peer, which must decrypt to nothing (no valid
/// tag can be forged) and be rejected or kept as a partial message, or (high bit set) the rest is
/// plaintext that is sealed, cut in arbitrary pieces and opened again, which must give it back.
pub fn noise_transport(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    const KEY: [u8; KEY_LEN] = [0x42; KEY_LEN];
    let chunk = usize::from(mode & 0x7f) * 97 + 1;
    let mut opener = Opener::new(&KEY);
    let mut input = BytesMut::new();
    let mut out = BytesMut::new();
    if mode & 0x80 == 0 {
        for piece in rest.chunks(chunk) {
            input.extend_from_slice(piece);
            match opener.open(&mut input, &mut out) {
                Ok(n) => assert_eq!(n, 0, "forged message decrypted"),
                Err(_) => return,
            }
        }
        assert!(out.is_empty());
        assert_eq!(opener.nonce(), 0);
    } else {
        let mut sealer = Sealer::new(&KEY);
        let mut wire = BytesMut::new();
        // Several messages of varied sizes: split the plaintext where a byte is 0 (at most 16
        // messages: each costs a seal and an open).
        let mut expected = Vec::new();
        for part in rest.splitn(16, |&b| b == 0) {
            sealer.seal(part, &mut wire).expect("seal");
            expected.extend_from_slice(part);
        }
        for piece in wire.chunks(chunk) {
            input.extend_from_slice(piece);
            opener.open(&mut input, &mut out).expect("open own message");
        }
        assert!(input.is_empty(), "bytes left after the last message");
        assert_eq!(&out[..], &expected[..]);
        assert_eq!(opener.nonce(), sealer.nonce());
    }
}

fn fuzz_identity() -> &'static libp2p_identity::Keypair {
    static KEY: OnceLock<libp2p_identity::Keypair> = OnceLock::new();
    KEY.get_or_init(|| {
        libp2p_identity::Keypair::ed25519_from_bytes([7u8; 32]).expect("valid ed25519 secret")
    })
}

/// The handshake parsers. The first byte picks the mode:
/// - even: the rest is `remote static key (32 bytes) ‖ payload`, checked by the payload decoder
///   and verifier ([`crate::noise::handshake::verify_payload`]); a payload that verifies must
///   name a key that really signed that static key;
/// - odd: the rest is what an initiator sends as message 1, read by a fresh responder (the
///   2-byte length framing, the `e` token and the empty-payload rule).
pub fn noise_handshake(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let (remote_static, payload) = rest.split_at(rest.len().min(32));
        if let Ok((key, _muxers)) = crate::noise::handshake::verify_payload(payload, remote_static)
        {
            // Only possible with a real signature: the seed corpus has one.
            let mut signed = b"noise-libp2p-static-key:".to_vec();
            signed.extend_from_slice(remote_static);
            let decoded =
                <crate::noise::payload::NoiseHandshakePayload as prost::Message>::decode(payload)
                    .expect("a verified payload decodes");
            assert!(key.verify(&signed, &decoded.identity_sig));
        }
    } else {
        let mut responder =
            Handshake::responder(fuzz_identity(), &["/yamux/1.0.0"]).expect("responder");
        let mut buf = BytesMut::from(rest);
        let before = buf.len();
        match responder.read_message(&mut buf) {
            Ok(true) => {
                assert!(buf.len() < before);
                assert!(responder.is_my_turn());
                let mut out = BytesMut::new();
                responder.write_message(&mut out).expect("message 2");
            }
            Ok(false) => assert_eq!(buf.len(), before, "an incomplete message consumed bytes"),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The committed seed corpora, replayed through the same functions the fuzz targets call.
    #[test]
    fn seed_corpora_replay_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for target in TARGETS {
            let dir = root.join(target);
            let mut count = 0;
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                run(target, &data);
                count += 1;
            }
            assert!(count > 0, "no seeds for {target}");
        }
    }

    /// Writes the seed corpora under `fuzz/corpus/` (run once by hand with `--ignored`; the
    /// files are committed).
    #[test]
    #[ignore = "writes the committed seed corpora"]
    fn write_seed_corpora() {
        use crate::yamux::frame::{Flags, go_away};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let write = |target: &str, name: &str, data: &[u8]| {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), data).unwrap();
        };

        let headers = [
            Header::window_update(1, Flags::SYN, 0),
            Header::window_update(1, Flags::ACK, 16 * 1024 * 1024),
            Header::data(1, Flags::NONE, 19),
            Header::window_update(1, Flags::FIN, 0),
            Header::window_update(3, Flags::RST, 2),
            Header::ping(Flags::SYN, 7),
            Header::ping(Flags::ACK, 7),
            Header::go_away(go_away::NORMAL),
            Header::go_away(go_away::PROTOCOL_ERROR),
        ];
        let all: Vec<u8> = headers.iter().flat_map(|h| h.encode()).collect();
        write("frame_decoder", "reference_headers", &all);

        // Session scripts: op byte = kind << 1 | side (0 = client, 1 = server).
        let op = |kind: u8, side: u8| (kind << 1) | side;
        let mut transfer = vec![0u8]; // flags: 256 KiB max window, 1 inbound stream, autotune
        transfer.push(op(0, 0)); // client opens stream 1
        for _ in 0..4 {
            transfer.extend([op(1, 0), 0, 0x40, 0x00]); // client writes 16 KiB
            transfer.extend([op(6, 0), 0x10, 0x00]); // client transmits
            transfer.extend([op(7, 1), 0x04, 0x00]); // server receives 8 KiB
            transfer.extend([op(11, 1)]); // server takes events (accepts stream 1)
            transfer.extend([op(2, 1), 0, 0x80, 0x00]); // server reads
            transfer.extend([op(6, 1), 0x10, 0x00, op(7, 0), 0x10, 0x00]); // updates back
        }
        transfer.extend([op(1, 1), 0, 0x10, 0x00]); // server answers 4 KiB
        transfer.extend([op(3, 1), 0]); // and half-closes
        transfer.extend([op(6, 1), 0x10, 0x00, op(7, 0), 0x10, 0x00]);
        transfer.extend([op(2, 0), 0, 0x80, 0x00, op(2, 0), 0, 0x80, 0x00]);
        transfer.extend([op(9, 0), 0x27, 0x10]); // 40 s later: pings due
        transfer.extend([op(6, 0), 0x01, 0x00, op(7, 1), 0x01, 0x00]);
        transfer.extend([op(10, 0), 0]); // client GoAway
        transfer.extend([op(6, 0), 0x01, 0x00, op(7, 1), 0x01, 0x00]);
        write("session", "transfer_and_close", &transfer);

        let mut many = vec![0x1cu8]; // 8 inbound streams at most
        for _ in 0..12 {
            many.extend([op(0, 1), op(1, 1), 0xff, 0x01, 0x00]);
        }
        many.extend([op(6, 1), 0xff, 0xff, op(7, 0), 0xff, 0xff, op(11, 0)]);
        many.extend([
            op(4, 0),
            3,
            9,
            op(5, 0),
            1,
            op(6, 0),
            0x01,
            0x00,
            op(7, 1),
            0x01,
            0x00,
        ]);
        write("session", "stream_limit_reset_detach", &many);

        let mut hostile = vec![0u8, op(0, 0), op(6, 0), 0x01, 0x00, op(7, 1), 0x01, 0x00];
        let mut garbage = Vec::new();
        garbage.extend(Header::data(1, Flags::NONE, 300_000).encode());
        garbage.extend(Header::window_update(1, Flags::NONE, u32::MAX).encode());
        hostile.extend([op(8, 0), garbage.len() as u8]);
        hostile.extend(&garbage);
        write("session", "hostile_window", &hostile);

        // multistream: a listener given a lazy proposal, one given `ls` and a bad id first, a
        // dialer given the echo.
        let mut listener = vec![0x00u8];
        let mut out = BytesMut::new();
        multistream::encode_proposal("/noise", &mut out);
        listener.extend(&out);
        write("multistream", "listener_noise", &listener);
        let mut out = BytesMut::new();
        multistream::encode_message(multistream::HEADER, &mut out);
        multistream::encode_message("ls", &mut out);
        multistream::encode_message("/tls/1.0.0", &mut out);
        multistream::encode_message("/perf/1.0.0", &mut out);
        let mut listener = vec![0x03u8];
        listener.extend(&out);
        write("multistream", "listener_na_then_perf", &listener);
        let mut dialer = vec![0x47u8];
        dialer.extend(multistream::expected_echo("/yamux/1.0.0"));
        write("multistream", "dialer_echo", &dialer);
        let mut dialer_na = vec![0x40u8];
        let mut out = BytesMut::new();
        multistream::encode_message(multistream::HEADER, &mut out);
        multistream::encode_message("na", &mut out);
        dialer_na.extend(&out);
        write("multistream", "dialer_na", &dialer_na);

        // Noise transport: sealed messages from another key (rejected), and plaintexts.
        let mut sealer = Sealer::new(&[1; KEY_LEN]);
        let mut wire = BytesMut::new();
        sealer.seal(b"hello yamux", &mut wire).unwrap();
        sealer.seal(b"", &mut wire).unwrap();
        let mut foreign = vec![0x02u8];
        foreign.extend(&wire);
        write("noise_transport", "foreign_key_messages", &foreign);
        let mut plain = vec![0x85u8];
        plain.extend(b"first message\0second\0\0fourth after an empty one");
        write("noise_transport", "roundtrip_messages", &plain);
        let mut big = vec![0xffu8];
        big.extend(std::iter::repeat_n(0xabu8, 70_000));
        write("noise_transport", "roundtrip_split_max", &big);

        // Noise handshake: a real message 1, and a real payload signed over a static key.
        let mut initiator = Handshake::initiator(fuzz_identity(), None, &["/yamux/1.0.0"]).unwrap();
        let mut message1 = BytesMut::new();
        initiator.write_message(&mut message1).unwrap();
        let mut m1 = vec![0x01u8];
        m1.extend(&message1);
        write("noise_handshake", "message1", &m1);
        let remote_static = [0x5au8; 32];
        let mut signed = b"noise-libp2p-static-key:".to_vec();
        signed.extend_from_slice(&remote_static);
        let payload = crate::noise::payload::NoiseHandshakePayload {
            identity_key: fuzz_identity().public().encode_protobuf(),
            identity_sig: fuzz_identity().sign(&signed).unwrap(),
            extensions: Some(crate::noise::payload::NoiseExtensions {
                webtransport_certhashes: Vec::new(),
                stream_muxers: vec!["/yamux/1.0.0".into()],
            }),
        };
        let mut p = vec![0x00u8];
        p.extend(remote_static);
        p.extend(prost::Message::encode_to_vec(&payload));
        assert!(crate::noise::handshake::verify_payload(&p[33..], &remote_static).is_ok());
        write("noise_handshake", "signed_payload", &p);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn fuzz_smoke_frame_decoder(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            frame_decoder(&data);
        }

        #[test]
        fn fuzz_smoke_session(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            session(&data);
        }

        #[test]
        fn fuzz_smoke_multistream(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            multistream(&data);
        }

        #[test]
        fn fuzz_smoke_noise_transport(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            noise_transport(&data);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn fuzz_smoke_noise_handshake(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            noise_handshake(&data);
        }
    }
}
