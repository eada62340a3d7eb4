//! The Noise transport cipher: framing plus ChaCha20-Poly1305, one direction per type.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/noise/README.md#wire-format> and the Noise
//! spec's `CipherState` (<https://noiseprotocol.org/noise.html#the-cipherstate-object>).
//!
//! Every transport message on the wire is `[u16 BE length][ciphertext][16-byte tag]`, the length
//! counting ciphertext and tag (at most [`MAX_MESSAGE_LEN`]). The nonce is 4 zero bytes followed
//! by a 64-bit little-endian counter that starts at 0 in each direction; associated data is empty.
//!
//! This is the hot path of the whole tool, so [`Sealer::seal`] and [`Opener::open`] work in place
//! on the caller's buffers and allocate nothing per message (only the caller's `BytesMut` may
//! grow). The cipher itself is OpenSSL's (libcrypto, through the `openssl` crate) for large
//! messages and ring's for small ones, not snow's: snow's transport mode copies through a
//! separate output slice and checks lengths we already guarantee, OpenSSL's AVX-512
//! ChaCha20-Poly1305 outruns ring's AVX2 code on large messages here, and ring has the smaller
//! fixed cost per message.
//!
//! Not done here: reading from or writing to a socket (see
//! [`SecuredStream`](crate::upgrade::SecuredStream)), rekeying (libp2p Noise does not rekey).

use bytes::{Buf, BytesMut};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};

use super::{LENGTH_PREFIX_LEN, MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN, NoiseError, TAG_LEN};

/// Length of a ChaCha20-Poly1305 key as produced by the handshake split.
pub const KEY_LEN: usize = 32;

/// Bytes on the wire for `plaintext_len` bytes passed to one [`Sealer::seal`] call: each message
/// adds the length prefix and the tag, and an empty plaintext still makes one message.
pub const fn sealed_len(plaintext_len: usize) -> usize {
    let messages = if plaintext_len == 0 {
        1
    } else {
        plaintext_len.div_ceil(MAX_PLAINTEXT_LEN)
    };
    plaintext_len + messages * (LENGTH_PREFIX_LEN + TAG_LEN)
}

/// The 96-bit ChaCha20-Poly1305 nonce for message `counter`: 4 zero bytes, then the counter
/// little-endian (Noise's `ENCRYPT(k, n, ad, plaintext)` for ChaChaPoly).
fn nonce(counter: u64) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_le_bytes());
    bytes
}

/// Messages with fewer plaintext bytes than this go through ring rather than OpenSSL. Both are
/// the same ChaCha20-Poly1305 (byte for byte); the difference is the fixed cost per message:
/// OpenSSL 3's EVP layer looks its parameters up by name on every call, ~480 ns for a ping's
/// 44 bytes against ring's ~180 ns; the two meet near 1 KiB (`cargo bench --bench aead`).
const SMALL_MESSAGE: usize = 1024;

/// One direction of ChaCha20-Poly1305, keyed once; each message only sets its nonce. Large
/// messages go through OpenSSL's EVP interface (libcrypto): it uses AVX-512 for ChaCha20 and
/// Poly1305 where the CPU has it, which measured 1.27x ring's AVX2 code on this machine at the
/// Noise message size. Small ones (below [`SMALL_MESSAGE`]) go through ring. The OpenSSL
/// context is `None` when libcrypto could not set it up (out of memory, or a libcrypto without
/// ChaCha20-Poly1305): every large message then fails with [`NoiseError::CipherUnavailable`].
struct Aead(Option<CipherCtx>, LessSafeKey);

impl Aead {
    fn new(key: &[u8; KEY_LEN], encrypt: bool) -> Self {
        let ctx = CipherCtx::new().and_then(|mut ctx| {
            let cipher = Some(Cipher::chacha20_poly1305());
            if encrypt {
                ctx.encrypt_init(cipher, Some(key), None)?;
            } else {
                ctx.decrypt_init(cipher, Some(key), None)?;
            }
            Ok(ctx)
        });
        let small = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte ChaCha20-Poly1305 key"),
        );
        Aead(ctx.ok(), small)
    }

    /// Encrypts `body` in place with message number `counter` and writes the tag.
    fn seal(&mut self, counter: u64, body: &mut [u8], tag: &mut [u8]) -> Result<(), NoiseError> {
        if body.len() < SMALL_MESSAGE {
            let nonce = Nonce::assume_unique_for_key(nonce(counter));
            let sealed = self
                .1
                .seal_in_place_separate_tag(nonce, Aad::empty(), body)
                .map_err(|_| NoiseError::Encrypt)?;
            tag.copy_from_slice(sealed.as_ref());
            return Ok(());
        }
        let ctx = self.0.as_mut().ok_or(NoiseError::CipherUnavailable)?;
        let mut run = |ctx: &mut CipherCtx| -> Result<(), openssl::error::ErrorStack> {
            ctx.encrypt_init(None, None, Some(&nonce(counter)))?;
            let len = body.len();
            ctx.cipher_update_inplace(body, len)?;
            ctx.cipher_final(&mut [])?;
            ctx.tag(tag)
        };
        run(ctx).map_err(|_| NoiseError::Encrypt)
    }

    /// Encrypts the concatenation of `pieces` into `body` (exactly as long) with message number
    /// `counter` and writes the tag: one pass, reading each piece where it lies. libcrypto's
    /// ChaCha20-Poly1305 keeps its keystream and Poly1305 state across updates, so the result
    /// is the same as one update over the whole plaintext. Small messages are copied into
    /// `body` and sealed there by [`Aead::seal`] (ring).
    fn seal_pieces(
        &mut self,
        counter: u64,
        pieces: &[&[u8]],
        body: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), NoiseError> {
        if body.len() < SMALL_MESSAGE {
            // Small: a copy costs less than OpenSSL's fixed cost per message; ring seals it.
            let mut at = 0;
            for piece in pieces {
                body[at..at + piece.len()].copy_from_slice(piece);
                at += piece.len();
            }
            return self.seal(counter, body, tag);
        }
        let ctx = self.0.as_mut().ok_or(NoiseError::CipherUnavailable)?;
        let mut run = |ctx: &mut CipherCtx| -> Result<bool, openssl::error::ErrorStack> {
            ctx.encrypt_init(None, None, Some(&nonce(counter)))?;
            let mut at = 0;
            for piece in pieces.iter().filter(|p| !p.is_empty()) {
                let out = &mut body[at..at + piece.len()];
                if ctx.cipher_update(piece, Some(out))? != piece.len() {
                    return Ok(false);
                }
                at += piece.len();
            }
            ctx.cipher_final(&mut [])?;
            ctx.tag(tag)?;
            Ok(at == body.len())
        };
        match run(ctx) {
            Ok(true) => Ok(()),
            _ => Err(NoiseError::Encrypt),
        }
    }

    /// Decrypts `body` in place with message number `counter` and checks `tag`. On failure
    /// `body` holds unauthenticated bytes that must not be used.
    fn open(&mut self, counter: u64, body: &mut [u8], tag: &[u8]) -> Result<(), NoiseError> {
        if body.len() < SMALL_MESSAGE {
            let nonce = Nonce::assume_unique_for_key(nonce(counter));
            let tag = Tag::try_from(tag).map_err(|_| NoiseError::Decrypt)?;
            return self
                .1
                .open_in_place_separate_tag(nonce, Aad::empty(), tag, body, 0..)
                .map(drop)
                .map_err(|_| NoiseError::Decrypt);
        }
        let ctx = self.0.as_mut().ok_or(NoiseError::CipherUnavailable)?;
        let mut run = |ctx: &mut CipherCtx| -> Result<(), openssl::error::ErrorStack> {
            ctx.decrypt_init(None, None, Some(&nonce(counter)))?;
            ctx.set_tag(tag)?;
            let len = body.len();
            ctx.cipher_update_inplace(body, len)?;
            ctx.cipher_final(&mut []).map(drop)
        };
        run(ctx).map_err(|_| NoiseError::Decrypt)
    }
}

/// Encrypts outgoing application bytes into framed Noise transport messages.
pub struct Sealer {
    aead: Aead,
    /// The nonce of the next message. Noise reserves 2^64 - 1, so `u64::MAX` means exhausted.
    nonce: u64,
}

impl Sealer {
    /// A sealer with a raw key from the handshake split, starting at nonce 0.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self {
            aead: Aead::new(key, true),
            nonce: 0,
        }
    }

    /// How many messages this sealer has produced (the next nonce).
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    #[cfg(test)]
    pub(crate) fn set_nonce(&mut self, nonce: u64) {
        self.nonce = nonce;
    }

    /// Encrypts `plaintext` and appends it to `out` as messages of at most [`MAX_PLAINTEXT_LEN`]
    /// plaintext bytes each (so at most [`MAX_MESSAGE_LEN`] bytes on the wire, the most any peer
    /// accepts). An empty `plaintext` produces one message holding only the tag.
    ///
    /// `out` grows by exactly [`sealed_len`]`(plaintext.len())` bytes, reserved once; each
    /// message is encrypted in place inside `out`. On error nothing is appended: the only errors
    /// are running out of nonces, which is checked for the whole call up front, and
    /// [`NoiseError::Encrypt`], which libcrypto does not return for messages this small (and
    /// [`NoiseError::CipherUnavailable`] when libcrypto could not set the cipher up).
    pub fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> Result<(), NoiseError> {
        let messages = plaintext.len().div_ceil(MAX_PLAINTEXT_LEN).max(1) as u64;
        if u64::MAX - self.nonce < messages {
            return Err(NoiseError::NonceExhausted);
        }
        let start = out.len();
        out.reserve(sealed_len(plaintext.len()));
        let result = if plaintext.is_empty() {
            self.seal_one(&[], out)
        } else {
            plaintext
                .chunks(MAX_PLAINTEXT_LEN)
                .try_for_each(|chunk| self.seal_one(chunk, out))
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Seals one message in place: `message` is the 2-byte length prefix, the plaintext (at
    /// most [`MAX_PLAINTEXT_LEN`] bytes) and room for the tag, laid out as on the wire. The
    /// prefix and tag are written and the plaintext is encrypted where it lies, so a caller that
    /// builds its plaintext inside the wire buffer copies nothing.
    ///
    /// Errors: [`NoiseError::BadLayout`] when `message` is shorter than prefix and tag or
    /// longer than a message, [`NoiseError::NonceExhausted`], [`NoiseError::Encrypt`].
    pub fn seal_in_place(&mut self, message: &mut [u8]) -> Result<(), NoiseError> {
        self.seal_message(message, |aead, nonce, body, tag| {
            aead.seal(nonce, body, tag)
        })
    }

    /// The framing both sealing paths share: checks that `message` is prefix + body + tag and no
    /// longer than a message and that a nonce is left, writes the length prefix, lets `encrypt`
    /// fill body and tag under the current nonce, then moves the nonce on.
    fn seal_message(
        &mut self,
        message: &mut [u8],
        encrypt: impl FnOnce(&mut Aead, u64, &mut [u8], &mut [u8]) -> Result<(), NoiseError>,
    ) -> Result<(), NoiseError> {
        let len = message.len().wrapping_sub(LENGTH_PREFIX_LEN);
        if message.len() < LENGTH_PREFIX_LEN + TAG_LEN || len > MAX_MESSAGE_LEN {
            return Err(NoiseError::BadLayout(message.len()));
        }
        if self.nonce == u64::MAX {
            return Err(NoiseError::NonceExhausted);
        }
        // Fits: len <= MAX_MESSAGE_LEN = u16::MAX.
        message[..LENGTH_PREFIX_LEN].copy_from_slice(&(len as u16).to_be_bytes());
        let (body, tag) = message[LENGTH_PREFIX_LEN..].split_at_mut(len - TAG_LEN);
        encrypt(&mut self.aead, self.nonce, body, tag)?;
        self.nonce += 1;
        Ok(())
    }

    /// Seals one message whose plaintext is the concatenation of `pieces` into `message`: the
    /// 2-byte length prefix, the ciphertext, the tag, exactly as [`Sealer::seal_in_place`] lays
    /// it out (`message` is prefix + plaintext + tag bytes long; its contents on entry do not
    /// matter). The plaintext is read where it lies and encrypted into `message` in one pass, so
    /// a caller that holds its plaintext in pieces (yamux headers and payload buffers) copies
    /// nothing first.
    ///
    /// Errors: [`NoiseError::BadLayout`] when `message` is not prefix + plaintext + tag or is
    /// longer than a message, [`NoiseError::NonceExhausted`], [`NoiseError::Encrypt`].
    pub fn seal_pieces(&mut self, pieces: &[&[u8]], message: &mut [u8]) -> Result<(), NoiseError> {
        let plaintext: usize = pieces.iter().map(|p| p.len()).sum();
        if message.len() != LENGTH_PREFIX_LEN + plaintext + TAG_LEN {
            return Err(NoiseError::BadLayout(message.len()));
        }
        self.seal_message(message, |aead, nonce, body, tag| {
            aead.seal_pieces(nonce, pieces, body, tag)
        })
    }

    fn seal_one(&mut self, chunk: &[u8], out: &mut BytesMut) -> Result<(), NoiseError> {
        debug_assert!(chunk.len() + TAG_LEN <= MAX_MESSAGE_LEN);
        let start = out.len();
        out.extend_from_slice(&[0; LENGTH_PREFIX_LEN]);
        out.extend_from_slice(chunk);
        out.extend_from_slice(&[0; TAG_LEN]);
        self.seal_in_place(&mut out[start..])
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("nonce", &self.nonce)
            .finish()
    }
}

/// Decrypts incoming framed Noise transport messages into application bytes.
pub struct Opener {
    aead: Aead,
    /// The nonce of the next message. Noise reserves 2^64 - 1, so `u64::MAX` means exhausted.
    nonce: u64,
}

impl Opener {
    /// An opener with a raw key from the handshake split, starting at nonce 0.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self {
            aead: Aead::new(key, false),
            nonce: 0,
        }
    }

    /// How many messages this opener has decrypted (the next nonce).
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    #[cfg(test)]
    pub(crate) fn set_nonce(&mut self, nonce: u64) {
        self.nonce = nonce;
    }

    /// Decrypts every complete message at the front of `input`, consuming it, and appends the
    /// plaintext to `out`. Returns the number of plaintext bytes appended.
    ///
    /// A trailing partial message stays in `input` for the next call. A message with an empty
    /// plaintext is valid and appends nothing (it is not an end of stream). Each message is
    /// decrypted in place inside `input`, then its plaintext is copied once into `out`.
    ///
    /// On error ([`NoiseError::Decrypt`] for a message that fails authentication or is shorter
    /// than a tag, [`NoiseError::NonceExhausted`]) the messages before the bad one have been
    /// consumed and appended; the connection must be closed anyway.
    pub fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<usize, NoiseError> {
        let mut appended = 0;
        // The plaintext is never longer than the input; one reservation covers the whole call.
        out.reserve(input.len());
        while let Some(len) = self.open_front(input)? {
            out.extend_from_slice(&input[LENGTH_PREFIX_LEN..LENGTH_PREFIX_LEN + len]);
            appended += len;
            input.advance(LENGTH_PREFIX_LEN + len + TAG_LEN);
        }
        Ok(appended)
    }

    /// Decrypts the next complete message at the front of `input` in place and splits its
    /// plaintext off without copying: the returned buffer shares `input`'s allocation. `None`
    /// when no complete message is there (a partial one stays, with room reserved for its
    /// rest). Errors as [`Opener::open`].
    pub fn open_next(&mut self, input: &mut BytesMut) -> Result<Option<BytesMut>, NoiseError> {
        let Some(len) = self.open_front(input)? else {
            return Ok(None);
        };
        let mut message = input.split_to(LENGTH_PREFIX_LEN + len + TAG_LEN);
        message.advance(LENGTH_PREFIX_LEN);
        message.truncate(len);
        Ok(Some(message))
    }

    /// Decrypts the message at the front of `input` in place, leaving it there, and returns its
    /// plaintext length; `None` when the message is not complete yet.
    fn open_front(&mut self, input: &mut BytesMut) -> Result<Option<usize>, NoiseError> {
        let [high, low, ..] = input[..] else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([high, low]));
        let frame = LENGTH_PREFIX_LEN + len;
        if input.len() < frame {
            // Make room for the rest so the socket read that completes it need not grow
            // `input` (a no-op when the capacity is already there).
            input.reserve(frame - input.len());
            return Ok(None);
        }
        if len < TAG_LEN {
            return Err(NoiseError::Decrypt);
        }
        if self.nonce == u64::MAX {
            return Err(NoiseError::NonceExhausted);
        }
        let (body, tag) = input[LENGTH_PREFIX_LEN..frame].split_at_mut(len - TAG_LEN);
        self.aead.open(self.nonce, body, tag)?;
        self.nonce += 1;
        Ok(Some(len - TAG_LEN))
    }
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("nonce", &self.nonce)
            .finish()
    }
}

/// A pair of ciphers that talk to each other (same key), for tests in this crate.
#[cfg(test)]
pub(crate) fn test_pair(key: &[u8; KEY_LEN]) -> (Sealer, Opener) {
    (Sealer::new(key), Opener::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::payload::pattern_byte;
    use bytes::BufMut;
    use proptest::prelude::*;

    const KEY: [u8; KEY_LEN] = [7; KEY_LEN];

    /// Splits a sealed buffer into its framed messages, checking the framing.
    fn frames(wire: &[u8]) -> Vec<&[u8]> {
        let mut rest = wire;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            assert!(len <= MAX_MESSAGE_LEN);
            assert!(len >= TAG_LEN);
            out.push(&rest[..2 + len]);
            rest = &rest[2 + len..];
        }
        out
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len as u64).map(pattern_byte).collect()
    }

    #[test]
    fn small_and_large_paths_are_the_same_cipher() {
        // ring serves messages below SMALL_MESSAGE and OpenSSL the others: sealing any size with
        // either backend gives the same bytes, and each opens what the other sealed.
        let key = [9u8; KEY_LEN];
        let mut aead = Aead::new(&key, true);
        let mut opener = Aead::new(&key, false);
        for len in [0, 1, 44, SMALL_MESSAGE - 1, SMALL_MESSAGE, 4000] {
            let plain = pattern(len);
            let mut via_ring = plain.clone();
            let mut ring_tag = [0u8; TAG_LEN];
            let t = aead
                .1
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce(5)),
                    Aad::empty(),
                    &mut via_ring,
                )
                .unwrap();
            ring_tag.copy_from_slice(t.as_ref());
            let mut via_openssl = plain.clone();
            let mut openssl_tag = [0u8; TAG_LEN];
            let ctx = aead.0.as_mut().unwrap();
            ctx.encrypt_init(None, None, Some(&nonce(5))).unwrap();
            ctx.cipher_update_inplace(&mut via_openssl, len).unwrap();
            ctx.cipher_final(&mut []).unwrap();
            ctx.tag(&mut openssl_tag).unwrap();
            assert_eq!((&via_ring, ring_tag), (&via_openssl, openssl_tag), "{len}");
            let mut dispatched = plain.clone();
            let mut tag = [0u8; TAG_LEN];
            aead.seal(5, &mut dispatched, &mut tag).unwrap();
            assert_eq!((&dispatched, tag), (&via_ring, ring_tag), "{len}");
            opener.open(5, &mut dispatched, &tag).unwrap();
            assert_eq!(dispatched, plain, "{len}");
            tag[0] ^= 1;
            assert!(
                opener.open(5, &mut via_ring.clone(), &tag).is_err(),
                "{len}"
            );
        }
    }

    #[test]
    fn seal_open_round_trip_at_boundaries() {
        let cases = [
            (0, 1),
            (1, 1),
            (65518, 1),
            (65519, 1),
            (65520, 2),
            (131038, 2),
            (131039, 3),
            ((1 << 20) + 3, 17),
        ];
        for (size, expected_messages) in cases {
            let (mut sealer, mut opener) = test_pair(&KEY);
            let plaintext = pattern(size);
            let mut wire = BytesMut::new();
            sealer.seal(&plaintext, &mut wire).unwrap();
            assert_eq!(wire.len(), sealed_len(size), "size {size}");
            let messages = frames(&wire);
            assert_eq!(messages.len(), expected_messages, "size {size}");
            assert!(messages.iter().all(|m| m.len() <= 2 + MAX_MESSAGE_LEN));
            assert_eq!(sealer.nonce(), expected_messages as u64);

            let mut out = BytesMut::new();
            assert_eq!(opener.open(&mut wire, &mut out).unwrap(), size);
            assert!(wire.is_empty());
            assert_eq!(&out[..], &plaintext[..], "size {size}");
            assert_eq!(opener.nonce(), expected_messages as u64);
        }
    }

    #[test]
    fn empty_plaintext_is_one_tag_only_message() {
        let (mut sealer, mut opener) = test_pair(&KEY);
        let mut wire = BytesMut::new();
        sealer.seal(&[], &mut wire).unwrap();
        assert_eq!(wire.len(), 2 + TAG_LEN);
        assert_eq!(wire[..2], [0, 16]);
        // Followed by a real message: the empty one must not be mistaken for the end.
        sealer.seal(b"after", &mut wire).unwrap();
        let mut out = BytesMut::new();
        assert_eq!(opener.open(&mut wire, &mut out).unwrap(), 5);
        assert_eq!(&out[..], b"after");
        assert_eq!(opener.nonce(), 2);
    }

    #[test]
    fn noise_plaintext_never_exceeds_65519_per_message() {
        // Regression: an auto-tuned yamux wrote 16 MiB frames in one write, and the peer's Noise
        // rejected the single oversized message. Every message must carry at most 65519 bytes.
        let (mut sealer, mut opener) = test_pair(&KEY);
        let frame = pattern(16 << 20);
        let mut wire = BytesMut::new();
        sealer.seal(&frame, &mut wire).unwrap();
        let messages = frames(&wire);
        assert_eq!(messages.len(), (16usize << 20).div_ceil(MAX_PLAINTEXT_LEN));
        for message in &messages {
            assert!(message.len() - 2 - TAG_LEN <= 65519);
            assert!(message.len() - 2 <= 65535);
        }
        let mut out = BytesMut::new();
        opener.open(&mut wire, &mut out).unwrap();
        assert!(out[..] == frame[..]);
    }

    #[test]
    fn partial_input_stays_buffered() {
        let (mut sealer, mut opener) = test_pair(&KEY);
        let mut wire = BytesMut::new();
        sealer.seal(&pattern(100), &mut wire).unwrap();
        sealer.seal(&pattern(200), &mut wire).unwrap();
        let total = wire.len();
        let first = 2 + 100 + TAG_LEN;
        let mut out = BytesMut::new();
        // Feed the bytes one at a time: only complete messages come out.
        let mut input = BytesMut::new();
        for (i, byte) in wire.iter().enumerate() {
            input.put_u8(*byte);
            let appended = opener.open(&mut input, &mut out).unwrap();
            let fed = i + 1;
            if fed == first {
                assert_eq!(appended, 100);
                assert!(input.is_empty());
            } else if fed == total {
                assert_eq!(appended, 200);
                assert!(input.is_empty());
            } else {
                assert_eq!(appended, 0);
                let buffered = if fed < first { fed } else { fed - first };
                assert_eq!(input.len(), buffered);
            }
        }
        assert_eq!(out.len(), 300);
    }

    #[test]
    fn flipped_bit_fails_to_decrypt() {
        for position in [2, 10, 2 + 50 + TAG_LEN - 1] {
            let (mut sealer, mut opener) = test_pair(&KEY);
            let mut wire = BytesMut::new();
            sealer.seal(&pattern(50), &mut wire).unwrap();
            wire[position] ^= 0x01;
            let mut out = BytesMut::new();
            assert!(matches!(
                opener.open(&mut wire, &mut out),
                Err(NoiseError::Decrypt)
            ));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn wrong_key_or_replay_fails() {
        let mut sealer = Sealer::new(&KEY);
        let mut wire = BytesMut::new();
        sealer.seal(b"x", &mut wire).unwrap();
        let mut out = BytesMut::new();
        let mut other = Opener::new(&[8; KEY_LEN]);
        assert!(matches!(
            other.open(&mut wire.clone(), &mut out),
            Err(NoiseError::Decrypt)
        ));
        // A message replayed with the next nonce does not authenticate.
        let mut opener = Opener::new(&KEY);
        let mut twice = wire.clone();
        twice.extend_from_slice(&wire);
        assert!(matches!(
            opener.open(&mut twice, &mut out),
            Err(NoiseError::Decrypt)
        ));
        assert_eq!(&out[..], b"x");
    }

    #[test]
    fn frame_shorter_than_tag_is_rejected() {
        let mut opener = Opener::new(&KEY);
        let mut wire = BytesMut::from(&[0x00, 0x0f][..]);
        wire.extend_from_slice(&[0; 15]);
        let mut out = BytesMut::new();
        assert!(matches!(
            opener.open(&mut wire, &mut out),
            Err(NoiseError::Decrypt)
        ));
    }

    #[test]
    fn seal_in_place_matches_seal_and_open_next_splits_without_copy() {
        for size in [0, 1, 4096, MAX_PLAINTEXT_LEN] {
            let plaintext = pattern(size);
            let (mut sealer, mut opener) = test_pair(&KEY);
            let mut expected = BytesMut::new();
            sealer.seal(&plaintext, &mut expected).unwrap();
            sealer.seal(&plaintext, &mut expected).unwrap();
            let mut in_place = Sealer::new(&KEY);
            let mut wire = BytesMut::new();
            for _ in 0..2 {
                let start = wire.len();
                wire.extend_from_slice(&[0xee; 2]);
                wire.extend_from_slice(&plaintext);
                wire.extend_from_slice(&[0xee; TAG_LEN]);
                in_place.seal_in_place(&mut wire[start..]).unwrap();
            }
            assert_eq!(wire, expected, "size {size}");
            let base = wire.as_ptr() as usize;
            let first = opener.open_next(&mut wire).unwrap().unwrap();
            assert_eq!(&first[..], &plaintext[..]);
            // The plaintext is a view into the input buffer: no copy.
            assert_eq!(first.as_ptr() as usize, base + 2);
            let second = opener.open_next(&mut wire).unwrap().unwrap();
            assert_eq!(&second[..], &plaintext[..]);
            assert!(opener.open_next(&mut wire).unwrap().is_none());
            assert_eq!(opener.nonce(), 2);
        }
    }

    /// Decrypts one sealed message with snow's own ChaChaPoly (the cipher the handshake and
    /// every snow-based peer use), independently of libcrypto.
    fn snow_open(key: &[u8; KEY_LEN], counter: u64, message: &[u8]) -> Vec<u8> {
        use snow::resolvers::{CryptoResolver, DefaultResolver};
        let mut cipher = DefaultResolver
            .resolve_cipher(&snow::params::CipherChoice::ChaChaPoly)
            .unwrap();
        cipher.set(key);
        let len = usize::from(u16::from_be_bytes([message[0], message[1]]));
        assert_eq!(message.len(), 2 + len);
        let mut out = vec![0; len - TAG_LEN];
        let n = cipher
            .decrypt(counter, &[], &message[2..], &mut out)
            .unwrap();
        assert_eq!(n, len - TAG_LEN);
        out
    }

    proptest! {
        #[test]
        fn seal_pieces_equals_seal_in_place_byte_for_byte(
            cuts in proptest::collection::vec(0usize..MAX_PLAINTEXT_LEN + 1, 0..12),
            size in prop_oneof![0usize..100, 900usize..1200, 60_000usize..MAX_PLAINTEXT_LEN + 1],
            nonce in prop_oneof![Just(0u64), any::<u64>().prop_map(|n| n % (u64::MAX - 1))],
        ) {
            let plaintext = pattern(size);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (size + 1)).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut last = 0;
            for cut in cuts.into_iter().chain([size]) {
                pieces.push(&plaintext[last..cut]);
                last = cut;
            }
            let mut in_place = Sealer::new(&KEY);
            in_place.set_nonce(nonce);
            let mut expected = vec![0xee; 2 + size + TAG_LEN];
            expected[2..2 + size].copy_from_slice(&plaintext);
            in_place.seal_in_place(&mut expected).unwrap();
            let mut gathered = Sealer::new(&KEY);
            gathered.set_nonce(nonce);
            let mut message = vec![0x11; 2 + size + TAG_LEN];
            gathered.seal_pieces(&pieces, &mut message).unwrap();
            prop_assert_eq!(&message, &expected);
            prop_assert_eq!(gathered.nonce(), nonce + 1);
            prop_assert_eq!(snow_open(&KEY, nonce, &message), plaintext);
        }
    }

    #[test]
    fn seal_pieces_opens_with_opener_and_rejects_bad_layouts() {
        let (mut sealer, mut opener) = test_pair(&KEY);
        let head = [1u8; 12];
        let body = pattern(70_000);
        let mut wire = BytesMut::new();
        for pieces in [
            &[&head[..], &body[..1000]][..],
            &[&body[..0]],
            &[&head, &head],
        ] {
            let len: usize = pieces.iter().map(|p| p.len()).sum();
            let start = wire.len();
            wire.resize(start + 2 + len + TAG_LEN, 0);
            sealer.seal_pieces(pieces, &mut wire[start..]).unwrap();
        }
        let mut out = BytesMut::new();
        opener.open(&mut wire, &mut out).unwrap();
        let mut expected = head.to_vec();
        expected.extend_from_slice(&body[..1000]);
        expected.extend_from_slice(&head);
        expected.extend_from_slice(&head);
        assert_eq!(&out[..], &expected[..]);
        // Wrong output length, or more than one message's plaintext: nothing is consumed.
        let mut buf = vec![0; 2 + 12 + TAG_LEN + 1];
        assert!(matches!(
            sealer.seal_pieces(&[&head], &mut buf),
            Err(NoiseError::BadLayout(_))
        ));
        let mut buf = vec![0; 2 + 70_000 + TAG_LEN];
        assert!(matches!(
            sealer.seal_pieces(&[&body], &mut buf),
            Err(NoiseError::BadLayout(_))
        ));
        assert_eq!(sealer.nonce(), 3);
        sealer.set_nonce(u64::MAX);
        assert!(matches!(
            sealer.seal_pieces(&[], &mut [0; 2 + TAG_LEN]),
            Err(NoiseError::NonceExhausted)
        ));
    }

    #[test]
    fn seal_in_place_rejects_layouts_that_are_not_a_message() {
        let mut sealer = Sealer::new(&KEY);
        for len in [0, 1, 2 + TAG_LEN - 1, 2 + MAX_MESSAGE_LEN + 1] {
            let mut buf = vec![0; len];
            assert!(matches!(
                sealer.seal_in_place(&mut buf),
                Err(NoiseError::BadLayout(n)) if n == len
            ));
        }
        assert_eq!(sealer.nonce(), 0);
        sealer.set_nonce(u64::MAX);
        assert!(matches!(
            sealer.seal_in_place(&mut [0; 2 + TAG_LEN]),
            Err(NoiseError::NonceExhausted)
        ));
    }

    #[test]
    fn open_next_keeps_partial_message_and_rejects_forgery() {
        let (mut sealer, mut opener) = test_pair(&KEY);
        let mut wire = BytesMut::new();
        sealer.seal(b"hello", &mut wire).unwrap();
        let mut partial = wire.split_to(5);
        assert!(opener.open_next(&mut partial).unwrap().is_none());
        assert_eq!(partial.len(), 5);
        partial.extend_from_slice(&wire);
        assert_eq!(
            &opener.open_next(&mut partial).unwrap().unwrap()[..],
            b"hello"
        );
        let mut forged = BytesMut::new();
        sealer.seal(b"bye", &mut forged).unwrap();
        forged[3] ^= 1;
        assert!(matches!(
            opener.open_next(&mut forged),
            Err(NoiseError::Decrypt)
        ));
    }

    #[test]
    fn nonce_exhaustion() {
        let (mut sealer, mut opener) = test_pair(&KEY);
        sealer.set_nonce(u64::MAX - 2);
        opener.set_nonce(u64::MAX - 2);
        let mut wire = BytesMut::new();
        // Two messages needed, two nonces left (MAX - 2 and MAX - 1): fine.
        sealer
            .seal(&pattern(MAX_PLAINTEXT_LEN + 1), &mut wire)
            .unwrap();
        let mut out = BytesMut::new();
        opener.open(&mut wire, &mut out).unwrap();
        assert_eq!(sealer.nonce(), u64::MAX);
        let before = wire.len();
        assert!(matches!(
            sealer.seal(b"", &mut wire),
            Err(NoiseError::NonceExhausted)
        ));
        assert_eq!(wire.len(), before);
        // The whole call is checked up front: nothing is appended when some messages would fit.
        sealer.set_nonce(u64::MAX - 1);
        assert!(matches!(
            sealer.seal(&pattern(MAX_PLAINTEXT_LEN + 1), &mut wire),
            Err(NoiseError::NonceExhausted)
        ));
        assert!(wire.is_empty());
        let mut forged = BytesMut::from(&[0x00, 0x10][..]);
        forged.extend_from_slice(&[0; TAG_LEN]);
        assert!(matches!(
            opener.open(&mut forged, &mut out),
            Err(NoiseError::NonceExhausted)
        ));
    }

    #[test]
    fn seal_appends_to_existing_bytes() {
        let (mut sealer, mut opener) = test_pair(&KEY);
        let mut wire = BytesMut::from(&b"prefix"[..]);
        sealer.seal(b"hello", &mut wire).unwrap();
        assert_eq!(&wire[..6], b"prefix");
        let mut input = wire.split_off(6);
        let mut out = BytesMut::from(&b">"[..]);
        assert_eq!(opener.open(&mut input, &mut out).unwrap(), 5);
        assert_eq!(&out[..], b">hello");
    }

    proptest! {
        #[test]
        fn round_trip_any_writes_any_split(
            writes in proptest::collection::vec(0usize..70_000, 1..6),
            cut in 0usize..400_000,
        ) {
            let (mut sealer, mut opener) = test_pair(&KEY);
            let mut wire = BytesMut::new();
            let mut expected = Vec::new();
            for (i, len) in writes.iter().enumerate() {
                let data: Vec<u8> = pattern(*len).into_iter().map(|b| b ^ i as u8).collect();
                sealer.seal(&data, &mut wire).unwrap();
                expected.extend_from_slice(&data);
            }
            let cut = cut.min(wire.len());
            let rest = wire.split_off(cut);
            let mut out = BytesMut::new();
            opener.open(&mut wire, &mut out).unwrap();
            wire.extend_from_slice(&rest);
            opener.open(&mut wire, &mut out).unwrap();
            prop_assert!(wire.is_empty());
            prop_assert_eq!(&out[..], &expected[..]);
        }
    }
}
