//! The TLS 1.3 record layer below yamux, after the handshake: [`Sealer`] and [`Opener`], one
//! direction each, with the traffic keys rustls hands over (`dangerous_extract_secrets`).
//!
//! RFC 8446 §5.2: a protected record is the header `0x17 0x03 0x03 length` (the length counts
//! the encrypted record, at most 2^14 + 256 bytes), then the AEAD of `TLSInnerPlaintext`
//! (content ‖ content type ‖ zero padding) with the header as associated data. §5.3: the nonce is
//! the 12-byte IV XOR the 64-bit record sequence number (big-endian, left-padded with zeros),
//! which starts at 0 for each key and direction.
//!
//! We seal application data records of at most 2^14 bytes with no padding, so a unit on the wire
//! is [`HEADER_LEN`] + data + [`SUFFIX_LEN`] (content type and tag): the driver seals them in
//! place ([`crate::yamux::driver::Framing`]). We open application data (padding stripped),
//! skip post-handshake NewSessionTicket messages (handshake type 4, §4.6.1), take a
//! `close_notify` alert as the end of the stream (§6.1), and fail on any other alert (naming it),
//! on KeyUpdate (§4.6.3: not implemented, see [`TlsError::KeyUpdate`]) and on other content.
//!
//! The AEAD is generic ([`RecordAead`]): ring or aws-lc-rs, the two crypto providers rustls
//! ships, which share one API; [`super::Aead`] is the one the stage uses, chosen by
//! `cargo bench --bench tls_record`.

use bytes::{Buf, BytesMut};

use super::TlsError;

/// Bytes of a record header.
pub const HEADER_LEN: usize = 5;
/// Bytes of an AEAD tag (all three TLS 1.3 suites).
pub const TAG_LEN: usize = 16;
/// Bytes behind a sealed record's data: the inner content type and the tag.
pub const SUFFIX_LEN: usize = 1 + TAG_LEN;
/// Most content bytes in one record (RFC 8446 §5.1: 2^14).
pub const MAX_PLAINTEXT_LEN: usize = 1 << 14;
/// Most bytes of an encrypted record behind its header (RFC 8446 §5.2: 2^14 + 256).
pub const MAX_CIPHERTEXT_LEN: usize = MAX_PLAINTEXT_LEN + 256;

/// Content types (RFC 8446 §5.1).
pub(crate) mod content {
    /// `change_cipher_spec`, only as a middlebox-compatibility record during the handshake.
    pub(crate) const CHANGE_CIPHER_SPEC: u8 = 20;
    /// `alert`.
    pub(crate) const ALERT: u8 = 21;
    /// `handshake`.
    pub(crate) const HANDSHAKE: u8 = 22;
    /// `application_data`, also the outer type of every protected record.
    pub(crate) const APPLICATION_DATA: u8 = 23;
}

/// Handshake message types that may follow the handshake (RFC 8446 §4).
const NEW_SESSION_TICKET: u8 = 4;
const KEY_UPDATE: u8 = 24;

/// The `close_notify` alert description (RFC 8446 §6.1).
const CLOSE_NOTIFY: u8 = 0;

/// `legacy_record_version` of every record after the ClientHello (RFC 8446 §5.1).
const RECORD_VERSION: [u8; 2] = [0x03, 0x03];

/// The AEAD algorithm of a TLS 1.3 cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlgorithm {
    /// `TLS_AES_128_GCM_SHA256`.
    Aes128Gcm,
    /// `TLS_AES_256_GCM_SHA384`.
    Aes256Gcm,
    /// `TLS_CHACHA20_POLY1305_SHA256`.
    Chacha20Poly1305,
}

/// One key of an AEAD, sealing and opening in place.
pub trait RecordAead: Send + Sized + 'static {
    /// The key `key` of `algorithm`, or `None` when its length is wrong.
    fn new(algorithm: AeadAlgorithm, key: &[u8]) -> Option<Self>;

    /// Encrypts `in_out` in place under `nonce` and `aad`, returning the tag.
    fn seal(&self, nonce: [u8; 12], aad: &[u8], in_out: &mut [u8]) -> Option<[u8; TAG_LEN]>;

    /// Decrypts `in_out` (ciphertext ‖ tag) in place and checks the tag; returns the plaintext
    /// length, or `None` when authentication fails.
    fn open(&self, nonce: [u8; 12], aad: &[u8], in_out: &mut [u8]) -> Option<usize>;
}

/// ring and aws-lc-rs share one API (`aead::LessSafeKey`): one body for both.
macro_rules! less_safe_key_aead {
    ($name:ident, $krate:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name($krate::aead::LessSafeKey);

        impl RecordAead for $name {
            fn new(algorithm: AeadAlgorithm, key: &[u8]) -> Option<Self> {
                use $krate::aead;
                let algorithm = match algorithm {
                    AeadAlgorithm::Aes128Gcm => &aead::AES_128_GCM,
                    AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
                    AeadAlgorithm::Chacha20Poly1305 => &aead::CHACHA20_POLY1305,
                };
                let key = aead::UnboundKey::new(algorithm, key).ok()?;
                Some(Self(aead::LessSafeKey::new(key)))
            }

            fn seal(
                &self,
                nonce: [u8; 12],
                aad: &[u8],
                in_out: &mut [u8],
            ) -> Option<[u8; TAG_LEN]> {
                use $krate::aead::{Aad, Nonce};
                let tag = self
                    .0
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        in_out,
                    )
                    .ok()?;
                tag.as_ref().try_into().ok()
            }

            fn open(&self, nonce: [u8; 12], aad: &[u8], in_out: &mut [u8]) -> Option<usize> {
                use $krate::aead::{Aad, Nonce};
                self.0
                    .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
                    .ok()
                    .map(|plaintext| plaintext.len())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(self.0.algorithm())
                    .finish()
            }
        }
    };
}

less_safe_key_aead!(RingAead, ring, "An AEAD key of ring.");
less_safe_key_aead!(AwsLcAead, aws_lc_rs, "An AEAD key of aws-lc-rs.");

/// The keys of one direction: AEAD key, IV and the next sequence number.
#[derive(Debug)]
struct Keys<A> {
    aead: A,
    iv: [u8; 12],
    seq: u64,
    /// Records allowed with this key (the suite's confidentiality limit, RFC 8446 §5.5).
    limit: u64,
}

impl<A: RecordAead> Keys<A> {
    fn new(
        algorithm: AeadAlgorithm,
        key: &[u8],
        iv: &[u8],
        seq: u64,
        limit: u64,
    ) -> Result<Self, TlsError> {
        let aead = A::new(algorithm, key).ok_or(TlsError::BadKey)?;
        let iv = iv.try_into().map_err(|_| TlsError::BadKey)?;
        Ok(Self {
            aead,
            iv,
            seq,
            limit,
        })
    }

    /// The nonce of the next record, moving the sequence number on.
    fn next_nonce(&mut self) -> Result<[u8; 12], TlsError> {
        if self.seq >= self.limit {
            return Err(TlsError::SequenceExhausted);
        }
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        self.seq += 1;
        Ok(nonce)
    }
}

/// The header of a protected record whose encrypted part is `len` bytes long.
fn header(len: usize) -> [u8; HEADER_LEN] {
    let [high, low] = (len as u16).to_be_bytes();
    [
        content::APPLICATION_DATA,
        RECORD_VERSION[0],
        RECORD_VERSION[1],
        high,
        low,
    ]
}

/// Encrypts outgoing application data into TLS 1.3 records.
#[derive(Debug)]
pub struct Sealer<A> {
    keys: Keys<A>,
}

impl<A: RecordAead> Sealer<A> {
    /// A sealer with traffic key `key` and `iv`, whose next record is number `seq`; at most
    /// `limit` records are sealed.
    pub fn new(
        algorithm: AeadAlgorithm,
        key: &[u8],
        iv: &[u8],
        seq: u64,
        limit: u64,
    ) -> Result<Self, TlsError> {
        Keys::new(algorithm, key, iv, seq, limit).map(|keys| Self { keys })
    }

    /// Appends `plaintext` to `out` as records of at most [`MAX_PLAINTEXT_LEN`] bytes each (an
    /// empty `plaintext` makes one empty record). On error nothing is appended.
    pub fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> Result<(), TlsError> {
        let start = out.len();
        let records = plaintext.len().div_ceil(MAX_PLAINTEXT_LEN).max(1);
        out.reserve(plaintext.len() + records * (HEADER_LEN + SUFFIX_LEN));
        let mut seal_one = |chunk: &[u8]| {
            let at = out.len();
            out.extend_from_slice(&[0; HEADER_LEN]);
            out.extend_from_slice(chunk);
            out.extend_from_slice(&[0; SUFFIX_LEN]);
            self.seal_in_place(&mut out[at..])
        };
        let result = if plaintext.is_empty() {
            seal_one(&[])
        } else {
            plaintext.chunks(MAX_PLAINTEXT_LEN).try_for_each(seal_one)
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Seals one record in place: `record` is [`HEADER_LEN`] bytes, the data (at most
    /// [`MAX_PLAINTEXT_LEN`]), then [`SUFFIX_LEN`] bytes; the header, content type and tag are
    /// written and the data is encrypted where it lies.
    pub fn seal_in_place(&mut self, record: &mut [u8]) -> Result<(), TlsError> {
        let Some(data_len) = record.len().checked_sub(HEADER_LEN + SUFFIX_LEN) else {
            return Err(TlsError::BadLayout(record.len()));
        };
        if data_len > MAX_PLAINTEXT_LEN {
            return Err(TlsError::BadLayout(record.len()));
        }
        let header = header(data_len + SUFFIX_LEN);
        let nonce = self.keys.next_nonce()?;
        record[..HEADER_LEN].copy_from_slice(&header);
        let (inner, tag) = record[HEADER_LEN..].split_at_mut(data_len + 1);
        inner[data_len] = content::APPLICATION_DATA;
        let sealed = self
            .keys
            .aead
            .seal(nonce, &header, inner)
            .ok_or(TlsError::Encrypt)?;
        tag.copy_from_slice(&sealed);
        tracing::trace!(seq = self.keys.seq - 1, data_len, "sealed TLS record");
        Ok(())
    }

    /// The number of the next record.
    pub fn seq(&self) -> u64 {
        self.keys.seq
    }
}

/// Decrypts incoming TLS 1.3 records into application data.
#[derive(Debug)]
pub struct Opener<A> {
    keys: Keys<A>,
    /// The peer sent `close_notify`: nothing may follow.
    closed: bool,
}

impl<A: RecordAead> Opener<A> {
    /// An opener with traffic key `key` and `iv`, whose next record is number `seq`; at most
    /// `limit` records are opened.
    pub fn new(
        algorithm: AeadAlgorithm,
        key: &[u8],
        iv: &[u8],
        seq: u64,
        limit: u64,
    ) -> Result<Self, TlsError> {
        Keys::new(algorithm, key, iv, seq, limit).map(|keys| Self {
            keys,
            closed: false,
        })
    }

    /// Whether the peer closed its side with `close_notify` (the end of its stream).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Decrypts every complete record at the front of `input`, appending application data to
    /// `out`.
    pub fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<(), TlsError> {
        while let Some(data) = self.open_next(input)? {
            out.extend_from_slice(&data);
        }
        Ok(())
    }

    /// Decrypts records at the front of `input` in place until one carries application data,
    /// and splits that data off without copying. `None` when no complete record is left (a
    /// partial one stays, with room reserved for its rest) or after `close_notify`. Records
    /// without data (empty ones, NewSessionTicket) are consumed on the way.
    pub fn open_next(&mut self, input: &mut BytesMut) -> Result<Option<BytesMut>, TlsError> {
        loop {
            let Some(header) = input.get(..HEADER_LEN) else {
                return Ok(None);
            };
            let header: [u8; HEADER_LEN] = header.try_into().expect("five bytes");
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if header[0] != content::APPLICATION_DATA {
                return Err(TlsError::UnexpectedRecord(header[0]));
            }
            if header[1..3] != RECORD_VERSION {
                return Err(TlsError::RecordVersion(u16::from_be_bytes([
                    header[1], header[2],
                ])));
            }
            if len > MAX_CIPHERTEXT_LEN {
                return Err(TlsError::RecordOverflow(len));
            }
            if input.len() < HEADER_LEN + len {
                input.reserve(HEADER_LEN + len - input.len());
                return Ok(None);
            }
            if self.closed {
                return Err(TlsError::DataAfterClose);
            }
            let nonce = self.keys.next_nonce()?;
            let inner = &mut input[HEADER_LEN..HEADER_LEN + len];
            let inner_len = self
                .keys
                .aead
                .open(nonce, &header, inner)
                .ok_or(TlsError::Decrypt)?;
            // RFC 8446 §5.4: the content type is the last non-zero byte; zeros behind it are
            // padding. All zeros is an unexpected_message.
            let Some(type_at) = inner[..inner_len].iter().rposition(|&b| b != 0) else {
                return Err(TlsError::NoContentType);
            };
            let content_type = inner[type_at];
            let mut record = input.split_to(HEADER_LEN + len);
            record.advance(HEADER_LEN);
            record.truncate(type_at);
            tracing::trace!(
                seq = self.keys.seq - 1,
                content_type,
                len = type_at,
                "opened TLS record"
            );
            match content_type {
                content::APPLICATION_DATA if record.is_empty() => {}
                content::APPLICATION_DATA => return Ok(Some(record)),
                content::HANDSHAKE => post_handshake(&record)?,
                content::ALERT => {
                    alert(&record)?;
                    self.closed = true;
                    return Ok(None);
                }
                other => return Err(TlsError::UnexpectedContent(other)),
            }
        }
    }
}

/// Handshake messages after the handshake: NewSessionTicket is skipped (we resume no session),
/// KeyUpdate and anything else fail. Messages must not span records (ours never need to: a
/// ticket is far below 2^14 bytes).
fn post_handshake(mut messages: &[u8]) -> Result<(), TlsError> {
    if messages.is_empty() {
        return Err(TlsError::UnexpectedHandshake(None));
    }
    while let [kind, a, b, c, rest @ ..] = messages {
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        if rest.len() < len {
            break;
        }
        match *kind {
            NEW_SESSION_TICKET => tracing::trace!(len, "skipped a NewSessionTicket"),
            KEY_UPDATE => return Err(TlsError::KeyUpdate),
            other => return Err(TlsError::UnexpectedHandshake(Some(other))),
        }
        messages = &rest[len..];
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(TlsError::FragmentedHandshake)
    }
}

/// An alert: `close_notify` is the end of the stream (`Ok`), anything else an error naming it.
fn alert(body: &[u8]) -> Result<(), TlsError> {
    match body {
        [_level, CLOSE_NOTIFY] => Ok(()),
        [_level, description] => Err(TlsError::Alert(format!(
            "{:?}",
            rustls::AlertDescription::from(*description)
        ))),
        _ => Err(TlsError::BadAlert),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = [9; 16];
    const IV: [u8; 12] = [3; 12];

    fn pair() -> (Sealer<RingAead>, Opener<RingAead>) {
        (
            Sealer::new(AeadAlgorithm::Aes128Gcm, &KEY, &IV, 0, u64::MAX).unwrap(),
            Opener::new(AeadAlgorithm::Aes128Gcm, &KEY, &IV, 0, u64::MAX).unwrap(),
        )
    }

    /// A record as a peer may send it: `content ‖ content_type ‖ padding` zeros, sealed with
    /// `sealer`'s next sequence number by hand (our sealer never pads).
    fn raw_record(
        sealer: &mut Sealer<RingAead>,
        content: &[u8],
        content_type: u8,
        padding: usize,
    ) -> Vec<u8> {
        let mut inner = content.to_vec();
        inner.push(content_type);
        inner.extend(std::iter::repeat_n(0, padding));
        let header = header(inner.len() + TAG_LEN);
        let nonce = sealer.keys.next_nonce().unwrap();
        let tag = sealer.keys.aead.seal(nonce, &header, &mut inner).unwrap();
        let mut record = header.to_vec();
        record.extend_from_slice(&inner);
        record.extend_from_slice(&tag);
        record
    }

    #[test]
    fn round_trip_at_record_boundaries_and_the_wire_layout() {
        for len in [
            0,
            1,
            MAX_PLAINTEXT_LEN - 1,
            MAX_PLAINTEXT_LEN,
            MAX_PLAINTEXT_LEN + 1,
        ] {
            let (mut sealer, mut opener) = pair();
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut wire = BytesMut::new();
            sealer.seal(&data, &mut wire).unwrap();
            let records = len.div_ceil(MAX_PLAINTEXT_LEN).max(1);
            assert_eq!(wire.len(), len + records * (HEADER_LEN + SUFFIX_LEN));
            let first = len.min(MAX_PLAINTEXT_LEN) + SUFFIX_LEN;
            assert_eq!(wire[..5], header(first));
            let mut out = BytesMut::new();
            opener.open(&mut wire, &mut out).unwrap();
            assert_eq!(&out[..], &data[..]);
            assert!(wire.is_empty());
            assert_eq!(opener.keys.seq, records as u64);
        }
    }

    #[test]
    fn padding_is_stripped_and_the_nonce_follows_the_sequence() {
        let (mut sealer, mut opener) = pair();
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&raw_record(
            &mut sealer,
            b"padded",
            content::APPLICATION_DATA,
            100,
        ));
        // An empty record with padding only is consumed and yields nothing.
        wire.extend_from_slice(&raw_record(&mut sealer, b"", content::APPLICATION_DATA, 3));
        sealer.seal(b"plain", &mut wire).unwrap();
        assert_eq!(
            &opener.open_next(&mut wire).unwrap().unwrap()[..],
            b"padded"
        );
        assert_eq!(&opener.open_next(&mut wire).unwrap().unwrap()[..], b"plain");
        assert_eq!(opener.open_next(&mut wire).unwrap(), None);
        // All zeros: no content type.
        let mut bad = BytesMut::from(&raw_record(&mut sealer, b"", 0, 4)[..]);
        assert!(matches!(
            opener.open_next(&mut bad),
            Err(TlsError::NoContentType)
        ));
    }

    #[test]
    fn seal_in_place_matches_seal_and_partial_records_wait() {
        let (mut a, _) = pair();
        let (mut b, mut opener) = pair();
        let mut sealed = BytesMut::new();
        a.seal(b"yamux frame", &mut sealed).unwrap();
        let mut unit = vec![0u8; HEADER_LEN + 11 + SUFFIX_LEN];
        unit[HEADER_LEN..HEADER_LEN + 11].copy_from_slice(b"yamux frame");
        b.seal_in_place(&mut unit).unwrap();
        assert_eq!(&sealed[..], &unit[..]);
        let mut input = BytesMut::from(&unit[..unit.len() - 1]);
        assert_eq!(opener.open_next(&mut input).unwrap(), None);
        input.extend_from_slice(&unit[unit.len() - 1..]);
        assert_eq!(
            &opener.open_next(&mut input).unwrap().unwrap()[..],
            b"yamux frame"
        );
        assert!(matches!(
            b.seal_in_place(&mut [0u8; SUFFIX_LEN]),
            Err(TlsError::BadLayout(17))
        ));
        let mut big = vec![0u8; HEADER_LEN + MAX_PLAINTEXT_LEN + 1 + SUFFIX_LEN];
        assert!(b.seal_in_place(&mut big).is_err());
    }

    #[test]
    fn session_tickets_are_skipped_and_key_update_fails_clearly() {
        let (mut sealer, mut opener) = pair();
        let mut ticket = vec![NEW_SESSION_TICKET, 0, 0, 5];
        ticket.extend_from_slice(b"ticket");
        ticket.truncate(4 + 5);
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&raw_record(&mut sealer, &ticket, content::HANDSHAKE, 0));
        sealer.seal(b"data", &mut wire).unwrap();
        assert_eq!(&opener.open_next(&mut wire).unwrap().unwrap()[..], b"data");
        let update = [KEY_UPDATE, 0, 0, 1, 0];
        let mut wire = BytesMut::from(&raw_record(&mut sealer, &update, content::HANDSHAKE, 0)[..]);
        let error = opener.open_next(&mut wire).unwrap_err();
        assert!(matches!(error, TlsError::KeyUpdate));
        assert!(error.to_string().contains("KeyUpdate"), "{error}");
        // A message cut by the record's end.
        let mut wire =
            BytesMut::from(&raw_record(&mut sealer, &ticket[..6], content::HANDSHAKE, 0)[..]);
        assert!(matches!(
            opener.open_next(&mut wire),
            Err(TlsError::FragmentedHandshake)
        ));
    }

    #[test]
    fn close_notify_ends_the_stream_and_other_alerts_are_named() {
        let (mut sealer, mut opener) = pair();
        let mut wire = BytesMut::new();
        sealer.seal(b"last", &mut wire).unwrap();
        wire.extend_from_slice(&raw_record(&mut sealer, &[1, 0], content::ALERT, 0));
        sealer.seal(b"after", &mut wire).unwrap();
        assert_eq!(&opener.open_next(&mut wire).unwrap().unwrap()[..], b"last");
        assert_eq!(opener.open_next(&mut wire).unwrap(), None);
        assert!(opener.is_closed());
        assert!(matches!(
            opener.open_next(&mut wire),
            Err(TlsError::DataAfterClose)
        ));
        let (mut sealer, mut opener) = pair();
        // bad_record_mac (20).
        let mut wire = BytesMut::from(&raw_record(&mut sealer, &[2, 20], content::ALERT, 0)[..]);
        let error = opener.open_next(&mut wire).unwrap_err();
        assert!(error.to_string().contains("BadRecordMac"), "{error}");
    }

    #[test]
    fn tampering_wrong_type_version_and_oversize_are_rejected() {
        let (mut sealer, mut opener) = pair();
        let mut wire = BytesMut::new();
        sealer.seal(b"hello", &mut wire).unwrap();
        wire[7] ^= 1;
        assert!(matches!(
            opener.open_next(&mut wire),
            Err(TlsError::Decrypt)
        ));
        // The header is authenticated too.
        let (mut sealer, mut opener) = pair();
        let mut wire = BytesMut::new();
        sealer.seal(b"hello", &mut wire).unwrap();
        wire[0] = content::HANDSHAKE;
        assert!(matches!(
            opener.open_next(&mut wire),
            Err(TlsError::UnexpectedRecord(22))
        ));
        let mut wire = BytesMut::from(&[23, 3, 1, 0, 20][..]);
        assert!(matches!(
            opener.open_next(&mut wire),
            Err(TlsError::RecordVersion(0x0301))
        ));
        let mut wire = BytesMut::from(&header(MAX_CIPHERTEXT_LEN + 1)[..]);
        assert!(matches!(
            opener.open_next(&mut wire),
            Err(TlsError::RecordOverflow(_))
        ));
    }

    #[test]
    fn the_confidentiality_limit_stops_the_sealer() {
        let mut sealer: Sealer<AwsLcAead> =
            Sealer::new(AeadAlgorithm::Chacha20Poly1305, &[1; 32], &IV, 5, 6).unwrap();
        let mut out = BytesMut::new();
        sealer.seal(b"one", &mut out).unwrap();
        assert!(matches!(
            sealer.seal(b"two", &mut out),
            Err(TlsError::SequenceExhausted)
        ));
        assert!(Sealer::<AwsLcAead>::new(AeadAlgorithm::Aes256Gcm, &[1; 16], &IV, 0, 1).is_err());
    }

    #[test]
    fn ring_and_aws_lc_rs_records_are_the_same_bytes() {
        for (algorithm, key) in [
            (AeadAlgorithm::Aes128Gcm, &[5u8; 16][..]),
            (AeadAlgorithm::Aes256Gcm, &[5u8; 32][..]),
            (AeadAlgorithm::Chacha20Poly1305, &[5u8; 32][..]),
        ] {
            let mut ring = Sealer::<RingAead>::new(algorithm, key, &IV, 7, u64::MAX).unwrap();
            let mut aws = Sealer::<AwsLcAead>::new(algorithm, key, &IV, 7, u64::MAX).unwrap();
            let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
            ring.seal(&[0xab; 3000], &mut a).unwrap();
            aws.seal(&[0xab; 3000], &mut b).unwrap();
            assert_eq!(a, b);
            let mut opener = Opener::<AwsLcAead>::new(algorithm, key, &IV, 7, u64::MAX).unwrap();
            assert_eq!(
                &opener.open_next(&mut a).unwrap().unwrap()[..],
                &[0xab; 3000]
            );
        }
    }
}
