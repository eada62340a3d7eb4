//! libp2p `/plaintext/2.0.0`: an unencrypted "security" protocol that only exchanges identities.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/plaintext/README.md>. After
//! multistream-select agreed on [`PROTOCOL_ID`], each side sends one `Exchange` protobuf
//! (`id`: its peer id, `pubkey`: its protobuf-encoded public key), prefixed by its length as an
//! unsigned varint, and reads the peer's. Nothing is signed: a peer proves nothing, so this is
//! for measurements and tests only (go-libp2p's `insecure` transport speaks it). The receiver
//! checks that `id` is the peer id of `pubkey`, and a dialer that knows whom it dials checks that
//! id as well.
//!
//! After the exchange the connection carries yamux directly, so the driver runs with
//! [`Passthrough`] as its transform: no copy beyond the one into the write batch, no
//! framing. [`Plaintext`] is the protocol as a stage of the upgrade pipeline
//! ([`upgrade`](crate::upgrade)).

use bytes::{Buf, BytesMut};
use libp2p_identity::{Keypair, PeerId, PublicKey};
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::bufio::BufferedIo;
use crate::multistream;
use crate::upgrade::{LazyProposal, Secured, SecurityStage, UpgradeError};
use crate::yamux::driver::Passthrough;

/// The multistream-select protocol id.
pub const PROTOCOL_ID: &str = "/plaintext/2.0.0";

/// Largest `Exchange` message accepted (an RSA-4096 key is about 550 bytes encoded).
pub const MAX_EXCHANGE_LEN: usize = 8 * 1024;

/// The one message of the protocol (proto2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exchange {
    /// The sender's peer id (multihash bytes).
    #[prost(bytes = "vec", optional, tag = "1")]
    pub id: Option<Vec<u8>>,
    /// The sender's public key, protobuf-encoded (`PublicKey { Type, Data }`).
    #[prost(bytes = "vec", optional, tag = "2")]
    pub pubkey: Option<Vec<u8>>,
}

/// Why the plaintext exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaintextError {
    /// Reading or writing the socket failed.
    #[error("i/o error in the plaintext exchange")]
    Io(#[from] std::io::Error),
    /// The stream ended before the peer's `Exchange` was complete.
    #[error("stream closed in the middle of the plaintext exchange")]
    UnexpectedEof,
    /// The length prefix is not a valid varint.
    #[error("invalid length prefix in the plaintext exchange")]
    InvalidLength,
    /// The announced message is larger than [`MAX_EXCHANGE_LEN`].
    #[error("plaintext exchange message of {0} bytes exceeds {MAX_EXCHANGE_LEN}")]
    TooLarge(u64),
    /// The message is not a valid `Exchange` protobuf.
    #[error("invalid plaintext exchange message")]
    Decode(#[source] prost::DecodeError),
    /// A required field is absent.
    #[error("plaintext exchange lacks the {0} field")]
    MissingField(&'static str),
    /// The public key is malformed or of an unsupported type.
    #[error("invalid public key in the plaintext exchange")]
    Key(#[source] libp2p_identity::DecodingError),
    /// The `id` field is not a peer id.
    #[error("invalid peer id in the plaintext exchange")]
    InvalidId,
    /// The `id` field is not the peer id of the `pubkey` field.
    #[error("peer claims id {claimed} but its key gives {derived}")]
    IdKeyMismatch {
        /// The id sent.
        claimed: Box<PeerId>,
        /// The id of the key sent.
        derived: Box<PeerId>,
    },
    /// The peer is not the one dialled.
    #[error("remote peer id {actual} does not match the expected {expected}")]
    PeerIdMismatch {
        /// The peer id we dialled.
        expected: Box<PeerId>,
        /// The peer id the remote presented.
        actual: Box<PeerId>,
    },
}

/// Appends our length-prefixed `Exchange` to `out`.
pub fn encode_exchange(identity: &Keypair, out: &mut BytesMut) {
    let public = identity.public();
    let message = Exchange {
        id: Some(public.to_peer_id().to_bytes()),
        pubkey: Some(public.encode_protobuf()),
    };
    let mut bytes = Vec::with_capacity(message.encoded_len() + 2);
    message
        .encode_length_delimited(&mut bytes)
        .expect("a Vec grows as needed");
    out.extend_from_slice(&bytes);
}

/// Reads an unsigned varint at the front of `buf` without consuming it: `Ok(None)` while
/// incomplete, otherwise the value and the prefix length.
fn peek_varint(buf: &[u8]) -> Result<Option<(u64, usize)>, PlaintextError> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 10 {
        return Err(PlaintextError::InvalidLength);
    }
    Ok(None)
}

/// Decodes the peer's length-prefixed `Exchange` from the front of `buf` and checks it:
/// `Ok(None)` while incomplete; on success the message is consumed and the peer id returned
/// (compared with `expected` if given). Bytes behind the message stay in `buf`.
pub fn decode_exchange(
    buf: &mut BytesMut,
    expected: Option<PeerId>,
) -> Result<Option<PeerId>, PlaintextError> {
    let Some((len, prefix)) = peek_varint(buf)? else {
        return Ok(None);
    };
    if len > MAX_EXCHANGE_LEN as u64 {
        return Err(PlaintextError::TooLarge(len));
    }
    let len = len as usize;
    if buf.len() < prefix + len {
        return Ok(None);
    }
    buf.advance(prefix);
    let body = buf.split_to(len);
    let message = Exchange::decode(&body[..]).map_err(PlaintextError::Decode)?;
    let key_bytes = message
        .pubkey
        .ok_or(PlaintextError::MissingField("pubkey"))?;
    let key = PublicKey::try_decode_protobuf(&key_bytes).map_err(PlaintextError::Key)?;
    let derived = key.to_peer_id();
    let id_bytes = message.id.ok_or(PlaintextError::MissingField("id"))?;
    let claimed = PeerId::from_bytes(&id_bytes).map_err(|_| PlaintextError::InvalidId)?;
    if claimed != derived {
        return Err(PlaintextError::IdKeyMismatch {
            claimed: Box::new(claimed),
            derived: Box::new(derived),
        });
    }
    if let Some(expected) = expected
        && expected != derived
    {
        return Err(PlaintextError::PeerIdMismatch {
            expected: Box::new(expected),
            actual: Box::new(derived),
        });
    }
    Ok(Some(derived))
}

/// Runs the exchange on `io` (right after multistream-select agreed on [`PROTOCOL_ID`]): sends
/// ours, reads and checks the peer's. Returns the peer id; bytes behind the peer's message stay
/// in `io.read_buf`. `extra` is sent in the same write, behind our message (a lazy muxer
/// proposal).
pub async fn handshake<T>(
    io: &mut BufferedIo<T>,
    identity: &Keypair,
    expected: Option<PeerId>,
    extra: &[u8],
) -> Result<PeerId, PlaintextError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    encode_exchange(identity, &mut out);
    out.extend_from_slice(extra);
    io.write_all(&out).await?;
    loop {
        if let Some(peer) = decode_exchange(&mut io.read_buf, expected)? {
            return Ok(peer);
        }
        if io.fill().await? == 0 {
            return Err(PlaintextError::UnexpectedEof);
        }
    }
}

/// `/plaintext/2.0.0` as a security stage: no transform, no muxer agreed inside the exchange.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plaintext;

impl SecurityStage for Plaintext {
    const PROTOCOL_ID: &'static str = PROTOCOL_ID;
    /// The dialer waits for each answer: the yamux proposal leaves only after the peer's
    /// `Exchange` arrived (go's `insecure` reads its message and nothing more, so a lazy proposal
    /// would work, but waiting costs just one round trip of the setup).
    const LAZY: bool = false;

    type Seal = Passthrough;
    type Open = Passthrough;

    async fn outbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        lazy: LazyProposal,
        local: &Keypair,
        expected: Option<PeerId>,
        _muxers: &[&str],
    ) -> Result<Secured<Passthrough, Passthrough>, UpgradeError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let LazyProposal { proposal, mut echo } = lazy;
        if !proposal.is_empty() {
            io.write_all(&proposal).await?;
        }
        multistream::expect_lazy_echo(io, &mut echo).await?;
        let remote_peer = handshake(io, local, expected, &[]).await?;
        Ok(secured(remote_peer))
    }

    async fn inbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        local: &Keypair,
        _muxers: &[&str],
    ) -> Result<Secured<Passthrough, Passthrough>, UpgradeError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let remote_peer = handshake(io, local, None, &[]).await?;
        Ok(secured(remote_peer))
    }
}

/// The result of an exchange: the claimed peer, no transform.
fn secured(remote_peer: PeerId) -> Secured<Passthrough, Passthrough> {
    Secured {
        remote_peer,
        muxer: None,
        cipher: None,
        seal: Passthrough,
        open: Passthrough,
        unsent: BytesMut::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::keypair_from_seed;

    fn encoded(seed: u64) -> BytesMut {
        let mut out = BytesMut::new();
        encode_exchange(&keypair_from_seed(seed), &mut out);
        out
    }

    #[test]
    fn exchange_round_trips_and_keeps_trailing_bytes() {
        let mut buf = encoded(0);
        buf.extend_from_slice(b"next");
        let id = decode_exchange(&mut buf, None).unwrap().unwrap();
        assert_eq!(id, keypair_from_seed(0).public().to_peer_id());
        assert_eq!(&buf[..], b"next");
    }

    #[test]
    fn seed0_exchange_has_the_spec_layout() {
        // Ed25519 keys: id is the identity multihash (0x00 0x24 + the 36-byte key protobuf),
        // pubkey the 36-byte protobuf (08 01 12 20 + 32 key bytes).
        let buf = encoded(0);
        let public = keypair_from_seed(0).public().encode_protobuf();
        assert_eq!(public.len(), 36);
        let mut expected = vec![78, 0x0a, 38, 0x00, 0x24];
        expected.extend_from_slice(&public);
        expected.extend_from_slice(&[0x12, 36]);
        expected.extend_from_slice(&public);
        assert_eq!(hex::encode(&buf), hex::encode(expected));
    }

    #[test]
    fn incomplete_input_waits_for_more() {
        let full = encoded(1);
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert!(decode_exchange(&mut part, None).unwrap().is_none(), "{cut}");
            assert_eq!(part.len(), cut, "nothing consumed at {cut}");
        }
    }

    #[test]
    fn wrong_expected_peer_is_rejected() {
        let other = keypair_from_seed(2).public().to_peer_id();
        let err = decode_exchange(&mut encoded(1), Some(other)).unwrap_err();
        assert!(
            matches!(err, PlaintextError::PeerIdMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn id_that_is_not_the_keys_is_rejected() {
        let message = Exchange {
            id: Some(keypair_from_seed(2).public().to_peer_id().to_bytes()),
            pubkey: Some(keypair_from_seed(1).public().encode_protobuf()),
        };
        let mut buf = BytesMut::from(&message.encode_length_delimited_to_vec()[..]);
        let err = decode_exchange(&mut buf, None).unwrap_err();
        assert!(matches!(err, PlaintextError::IdKeyMismatch { .. }), "{err}");
    }

    #[test]
    fn missing_key_oversized_and_garbage_are_typed_errors() {
        let message = Exchange {
            id: Some(keypair_from_seed(1).public().to_peer_id().to_bytes()),
            pubkey: None,
        };
        let mut buf = BytesMut::from(&message.encode_length_delimited_to_vec()[..]);
        assert!(matches!(
            decode_exchange(&mut buf, None),
            Err(PlaintextError::MissingField("pubkey"))
        ));
        let mut big = BytesMut::from(&[0xff, 0xff, 0x03][..]);
        assert!(matches!(
            decode_exchange(&mut big, None),
            Err(PlaintextError::TooLarge(_))
        ));
        let mut bad_varint = BytesMut::from(&[0xff; 12][..]);
        assert!(matches!(
            decode_exchange(&mut bad_varint, None),
            Err(PlaintextError::InvalidLength)
        ));
        let mut garbage = BytesMut::from(&[3, 0x12, 0x05, 0x01][..]);
        assert!(decode_exchange(&mut garbage, None).is_err());
    }
}
