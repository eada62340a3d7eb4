//! The libp2p Noise XX handshake: a sans-IO state machine and an async driver.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/noise/README.md#handshake-pattern>; early
//! muxer negotiation: <https://github.com/libp2p/specs/blob/master/connections/inlined-muxer-negotiation.md>.
//!
//! XX in three framed messages: `-> e` (empty payload), `<- e, ee, s, es` (responder payload),
//! `-> s, se` (initiator payload). snow does the Noise part; this module adds the framing, the
//! libp2p payload (identity key, signature over the Noise static key, muxer list), its
//! verification, the peer-id check and the muxer choice. A fresh X25519 static key is made for
//! every handshake (as go does); it is never stored.
//!
//! Not done here: timeouts (wrap [`upgrade`] in `tokio::time::timeout`), and the post-handshake
//! multistream-select for the muxer when [`Established::muxer`] is `None` (the caller runs it).

use bytes::{BufMut, BytesMut};
use libp2p_identity::{Keypair, PeerId, PublicKey};
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite};

use super::cipher::{Opener, Sealer};
use super::payload::{NoiseExtensions, NoiseHandshakePayload};
use super::{LENGTH_PREFIX_LEN, MAX_MESSAGE_LEN, NOISE_PARAMS, NoiseError, TAG_LEN};
use crate::bufio::BufferedIo;

/// What the identity key signs, followed by the sender's X25519 static public key.
const STATIC_KEY_DOMAIN: &[u8] = b"noise-libp2p-static-key:";

/// Largest handshake overhead around the payload: message 2 carries `e` (32), the encrypted `s`
/// (32 + tag) and the payload's tag.
const MAX_HANDSHAKE_OVERHEAD: usize = 32 + (32 + TAG_LEN) + TAG_LEN;

/// What the remote proved about itself in its payload.
#[derive(Debug)]
struct RemoteIdentity {
    key: PublicKey,
    peer: PeerId,
    muxers: Vec<String>,
}

/// The Noise XX handshake for one connection, without I/O.
///
/// Call [`write_message`](Self::write_message) and [`read_message`](Self::read_message) in turn
/// ([`is_my_turn`](Self::is_my_turn) tells which) until [`is_finished`](Self::is_finished), then
/// [`into_established`](Self::into_established). Any error ends the handshake.
pub struct Handshake {
    state: snow::HandshakeState,
    /// Our encoded payload (identity key, signature, muxers), built once up front.
    local_payload: Vec<u8>,
    local_muxers: Vec<String>,
    /// The peer the initiator dialled; `None` accepts any peer.
    expected_peer: Option<PeerId>,
    /// Set once the remote's payload has been verified.
    remote: Option<RemoteIdentity>,
    /// Messages written or read so far; message 0 is the only one without a payload.
    messages: usize,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("initiator", &self.state.is_initiator())
            .field("messages", &self.messages)
            .field("expected_peer", &self.expected_peer)
            .field("local_muxers", &self.local_muxers)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// The result of a finished handshake: who the remote is and the transport ciphers.
#[derive(Debug)]
pub struct Established {
    /// The remote's peer id, derived from its verified identity key.
    pub remote_peer: PeerId,
    /// The remote's identity key.
    pub remote_key: PublicKey,
    /// The stream muxer chosen during the handshake, or `None` when either side sent no muxer
    /// list: then the muxer must be negotiated with multistream-select inside the channel.
    pub muxer: Option<String>,
    /// Encrypts what we send.
    pub sealer: Sealer,
    /// Decrypts what we receive.
    pub opener: Opener,
}

impl Handshake {
    /// The dialer's side. `expected_peer` is the peer id being dialled (from `/p2p/` in the
    /// address), if known; any other remote identity fails the handshake. `muxers` are our stream
    /// muxers in order of preference, sent in message 3; empty means none are sent.
    pub fn initiator(
        local: &Keypair,
        expected_peer: Option<PeerId>,
        muxers: &[&str],
    ) -> Result<Self, NoiseError> {
        Self::new(true, local, expected_peer, muxers, None)
    }

    /// The listener's side; it accepts any remote identity. `muxers` are sent in message 2;
    /// empty means none are sent.
    pub fn responder(local: &Keypair, muxers: &[&str]) -> Result<Self, NoiseError> {
        Self::new(false, local, None, muxers, None)
    }

    /// [`initiator`](Self::initiator) with fixed X25519 keys, to reproduce test vectors (and
    /// for the instruction-count benches, whose count must not depend on random keys).
    #[cfg(any(test, feature = "testing"))]
    pub fn initiator_with_keys(
        local: &Keypair,
        expected_peer: Option<PeerId>,
        muxers: &[&str],
        static_secret: &[u8; 32],
        ephemeral_secret: &[u8; 32],
    ) -> Result<Self, NoiseError> {
        let keys = Some((static_secret, ephemeral_secret));
        Self::new(true, local, expected_peer, muxers, keys)
    }

    /// [`responder`](Self::responder) with fixed X25519 keys, to reproduce test vectors (and
    /// for the instruction-count benches).
    #[cfg(any(test, feature = "testing"))]
    pub fn responder_with_keys(
        local: &Keypair,
        muxers: &[&str],
        static_secret: &[u8; 32],
        ephemeral_secret: &[u8; 32],
    ) -> Result<Self, NoiseError> {
        let keys = Some((static_secret, ephemeral_secret));
        Self::new(false, local, None, muxers, keys)
    }

    /// `fixed` = (static, ephemeral) X25519 private keys to use instead of random ones; only
    /// tests pass them.
    fn new(
        initiator: bool,
        local: &Keypair,
        expected_peer: Option<PeerId>,
        muxers: &[&str],
        fixed: Option<(&[u8; 32], &[u8; 32])>,
    ) -> Result<Self, NoiseError> {
        let params: snow::params::NoiseParams = NOISE_PARAMS.parse()?;
        let builder = snow::Builder::new(params);
        let static_key = match fixed {
            Some((static_secret, _)) => snow::Keypair {
                private: static_secret.to_vec(),
                public: x25519_public(static_secret)?,
            },
            None => builder.generate_keypair()?,
        };
        let mut builder = builder.local_private_key(&static_key.private)?;
        if let Some((_, ephemeral_secret)) = fixed {
            builder = builder.fixed_ephemeral_key_for_testing_only(ephemeral_secret);
        }
        let state = if initiator {
            builder.build_initiator()?
        } else {
            builder.build_responder()?
        };

        let local_muxers: Vec<String> = muxers.iter().map(|m| (*m).to_owned()).collect();
        let local_payload = NoiseHandshakePayload {
            identity_key: local.public().encode_protobuf(),
            identity_sig: local
                .sign(&signed_data(&static_key.public))
                .map_err(NoiseError::Signing)?,
            extensions: (!local_muxers.is_empty()).then(|| NoiseExtensions {
                webtransport_certhashes: Vec::new(),
                stream_muxers: local_muxers.clone(),
            }),
        }
        .encode_to_vec();
        if local_payload.len() + MAX_HANDSHAKE_OVERHEAD > MAX_MESSAGE_LEN {
            return Err(NoiseError::MessageTooLarge);
        }

        Ok(Self {
            state,
            local_payload,
            local_muxers,
            expected_peer,
            remote: None,
            messages: 0,
        })
    }

    /// Whether this is the initiator (dialer) side.
    pub fn is_initiator(&self) -> bool {
        self.state.is_initiator()
    }

    /// Whether the next step is [`write_message`](Self::write_message) (else
    /// [`read_message`](Self::read_message)).
    pub fn is_my_turn(&self) -> bool {
        self.state.is_my_turn()
    }

    /// Whether all three messages have been exchanged.
    pub fn is_finished(&self) -> bool {
        self.state.is_handshake_finished()
    }

    /// The remote's verified peer id, once its payload has been read (after message 2 on the
    /// initiator, message 3 on the responder).
    pub fn remote_peer(&self) -> Option<PeerId> {
        self.remote.as_ref().map(|r| r.peer)
    }

    /// The Noise handshake hash `h`, which both sides share once the handshake is finished.
    pub fn handshake_hash(&self) -> &[u8] {
        self.state.get_handshake_hash()
    }

    /// Appends our next handshake message to `out`: a 2-byte big-endian length, then the Noise
    /// message. Message 1 has an empty payload (32 bytes of ephemeral key, 34 on the wire);
    /// messages 2 and 3 carry our payload. On error nothing is appended.
    pub fn write_message(&mut self, out: &mut BytesMut) -> Result<(), NoiseError> {
        let payload: &[u8] = if self.messages == 0 {
            &[]
        } else {
            &self.local_payload
        };
        let start = out.len();
        // snow writes into a slice: give it the largest possible message, then trim.
        out.put_u16(0);
        out.resize(start + LENGTH_PREFIX_LEN + MAX_MESSAGE_LEN, 0);
        match self
            .state
            .write_message(payload, &mut out[start + LENGTH_PREFIX_LEN..])
        {
            Ok(len) => {
                out.truncate(start + LENGTH_PREFIX_LEN + len);
                // len <= MAX_MESSAGE_LEN = u16::MAX: snow writes at most the slice it was given.
                out[start..start + LENGTH_PREFIX_LEN].copy_from_slice(&(len as u16).to_be_bytes());
                self.messages += 1;
                Ok(())
            }
            Err(error) => {
                out.truncate(start);
                Err(error.into())
            }
        }
    }

    /// Consumes one complete framed handshake message from the front of `buf`, if there is one.
    ///
    /// `Ok(false)` means `buf` does not hold a complete message yet (nothing is consumed). Bytes
    /// behind the message stay in `buf`. Reading the remote's payload verifies its signature
    /// over the remote's Noise static key and, on the initiator, the expected peer id.
    pub fn read_message(&mut self, buf: &mut BytesMut) -> Result<bool, NoiseError> {
        let [high, low, ..] = buf[..] else {
            return Ok(false);
        };
        let len = usize::from(u16::from_be_bytes([high, low]));
        if buf.len() < LENGTH_PREFIX_LEN + len {
            return Ok(false);
        }
        let frame = buf.split_to(LENGTH_PREFIX_LEN + len);
        // The payload is never longer than the message that carries it.
        let mut payload = vec![0u8; len];
        let payload_len = self
            .state
            .read_message(&frame[LENGTH_PREFIX_LEN..], &mut payload)?;
        let index = self.messages;
        self.messages += 1;
        if index == 0 {
            // rust-libp2p rejects a non-empty first payload too; it is sent in clear.
            if payload_len != 0 {
                return Err(NoiseError::UnexpectedPayload(payload_len));
            }
        } else {
            self.verify_remote(&payload[..payload_len])?;
        }
        Ok(true)
    }

    /// Decodes and checks the remote's payload, and remembers who the remote is.
    fn verify_remote(&mut self, payload: &[u8]) -> Result<(), NoiseError> {
        // The message that carries the payload also carried `s`, so snow has it; without it there
        // is nothing the signature could be checked against.
        let remote_static = self
            .state
            .get_remote_static()
            .ok_or(NoiseError::BadSignature)?;
        let (key, muxers) = verify_payload(payload, remote_static)?;
        let peer = key.to_peer_id();
        if let Some(expected) = self.expected_peer
            && expected != peer
        {
            return Err(NoiseError::PeerIdMismatch {
                expected: Box::new(expected),
                actual: Box::new(peer),
            });
        }
        self.remote = Some(RemoteIdentity { key, peer, muxers });
        Ok(())
    }

    /// Finishes the handshake: chooses the muxer and derives the transport ciphers.
    ///
    /// Fails with [`NoiseError::HandshakeIncomplete`] before the last message, and with
    /// [`NoiseError::NoCommonMuxer`] when both sides listed muxers but none in common.
    pub fn into_established(mut self) -> Result<Established, NoiseError> {
        if !self.is_finished() {
            return Err(NoiseError::HandshakeIncomplete);
        }
        let remote = self.remote.take().ok_or(NoiseError::HandshakeIncomplete)?;
        let initiator = self.is_initiator();
        let muxer = if initiator {
            select_muxer(&self.local_muxers, &remote.muxers)
        } else {
            select_muxer(&remote.muxers, &self.local_muxers)
        };
        let muxer = muxer.map_err(|()| NoiseError::NoCommonMuxer {
            local: self.local_muxers.clone(),
            remote: remote.muxers.clone(),
        })?;
        // Key 1 protects initiator-to-responder traffic, key 2 the other direction.
        let (key1, key2) = self.state.dangerously_get_raw_split();
        let (send, receive) = if initiator {
            (key1, key2)
        } else {
            (key2, key1)
        };
        Ok(Established {
            remote_peer: remote.peer,
            remote_key: remote.key,
            muxer,
            sealer: Sealer::new(&send),
            opener: Opener::new(&receive),
        })
    }
}

/// Decodes a remote handshake payload and checks its signature over `remote_static`, the
/// remote's X25519 static key: the remote's identity key and its muxer list. Exposed (hidden) for
/// the fuzz targets (`crate::testing::fuzz`, behind the `testing` feature).
#[doc(hidden)]
pub fn verify_payload(
    payload: &[u8],
    remote_static: &[u8],
) -> Result<(PublicKey, Vec<String>), NoiseError> {
    let payload = NoiseHandshakePayload::decode(payload).map_err(NoiseError::InvalidPayload)?;
    let key = PublicKey::try_decode_protobuf(&payload.identity_key)
        .map_err(NoiseError::UnsupportedKey)?;
    if !key.verify(&signed_data(remote_static), &payload.identity_sig) {
        return Err(NoiseError::BadSignature);
    }
    let muxers = payload
        .extensions
        .map(|extensions| extensions.stream_muxers)
        .unwrap_or_default();
    Ok((key, muxers))
}

/// The early muxer choice: the first of the initiator's muxers that the responder also lists.
/// `Ok(None)` when either list is empty (fall back to multistream-select), `Err` when both are
/// non-empty without overlap (the spec says the handshake must fail).
fn select_muxer(initiator: &[String], responder: &[String]) -> Result<Option<String>, ()> {
    if initiator.is_empty() || responder.is_empty() {
        return Ok(None);
    }
    initiator
        .iter()
        .find(|muxer| responder.contains(muxer))
        .map(|muxer| Some(muxer.clone()))
        .ok_or(())
}

/// The bytes the identity key signs: the domain string, then the X25519 static public key.
fn signed_data(static_public: &[u8]) -> Vec<u8> {
    [STATIC_KEY_DOMAIN, static_public].concat()
}

/// The X25519 public key of `secret`, computed with snow's own Curve25519 (so clamping is the
/// same as in the handshake). Random static keys come with their public half from snow's key
/// generation; this is for fixed ones.
fn x25519_public(secret: &[u8; 32]) -> Result<Vec<u8>, NoiseError> {
    use snow::resolvers::CryptoResolver;
    let mut dh = snow::resolvers::DefaultResolver
        .resolve_dh(&snow::params::DHChoice::Curve25519)
        .ok_or(NoiseError::Snow(snow::Error::Init(
            snow::error::InitStage::GetDhImpl,
        )))?;
    dh.set(secret);
    Ok(dh.pubkey().to_vec())
}

/// Runs the handshake over `io` and returns its result.
///
/// The initiator appends message 1 to `initial_out` (which may already hold a lazily pipelined
/// multistream-select proposal, so both leave in one write), reads message 2 and writes message
/// 3; the responder reads message 1, writes message 2 (behind whatever `initial_out` holds) and
/// reads message 3. Bytes that arrive behind the last handshake message stay in `io.read_buf`.
pub async fn upgrade<T>(
    io: &mut BufferedIo<T>,
    mut handshake: Handshake,
    initial_out: BytesMut,
) -> Result<Established, NoiseError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = initial_out;
    while !handshake.is_finished() {
        if handshake.is_my_turn() {
            handshake.write_message(&mut out)?;
            io.write_all(&out).await?;
            out.clear();
        } else {
            while !handshake.read_message(&mut io.read_buf)? {
                if io.fill().await? == 0 {
                    return Err(NoiseError::UnexpectedEof);
                }
            }
        }
    }
    let established = handshake.into_established()?;
    tracing::debug!(
        remote = %established.remote_peer,
        muxer = ?established.muxer,
        "noise handshake done"
    );
    Ok(established)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{keypair_from_secret, keypair_from_seed};

    const SPEC_SECRET: &str = "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d";
    const YAMUX: &str = "/yamux/1.0.0";

    fn spec_key() -> Keypair {
        let secret: [u8; 32] = hex::decode(SPEC_SECRET).unwrap().try_into().unwrap();
        keypair_from_secret(&secret)
    }

    /// The vector handshake with fixed keys: initiator identity = spec key, responder = seed 0.
    fn vector_pair(muxers: &[&str]) -> (Handshake, Handshake) {
        let initiator =
            Handshake::initiator_with_keys(&spec_key(), None, muxers, &[0x11; 32], &[0x22; 32])
                .unwrap();
        let responder =
            Handshake::responder_with_keys(&keypair_from_seed(0), muxers, &[0x33; 32], &[0x44; 32])
                .unwrap();
        (initiator, responder)
    }

    /// Runs a handshake in memory, returning the three wire messages.
    fn run(
        initiator: &mut Handshake,
        responder: &mut Handshake,
    ) -> Result<[BytesMut; 3], NoiseError> {
        let mut m1 = BytesMut::new();
        initiator.write_message(&mut m1)?;
        let mut wire = m1.clone();
        assert!(responder.read_message(&mut wire)?);
        let mut m2 = BytesMut::new();
        responder.write_message(&mut m2)?;
        let mut wire = m2.clone();
        assert!(initiator.read_message(&mut wire)?);
        let mut m3 = BytesMut::new();
        initiator.write_message(&mut m3)?;
        let mut wire = m3.clone();
        assert!(responder.read_message(&mut wire)?);
        Ok([m1, m2, m3])
    }

    fn established_pair(
        mut initiator: Handshake,
        mut responder: Handshake,
    ) -> Result<(Established, Established), NoiseError> {
        run(&mut initiator, &mut responder)?;
        Ok((initiator.into_established()?, responder.into_established()?))
    }

    const M1: &str = "00200faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20";
    const M2: &str = "00c8ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b5cda1c2d8029877d73fad62823946ccd0c5da35c129100f43d33a59cf19ea8fcdcc0e3e57a6099ef8d8c471633442810f7b53910cdb52abffc5cf2651f31bc42d4b0652571cbf03de4bd087a73b1834878dbe367ebf66d6cca556bf0c444cf9e9520b73181fa24f3736cfb493305e1d5bff74af709ba6381898349e406e6be5ce9dac20dbcf7d7f7a5c92b457356188e7a1e1d56832f915e32cb93239dbb437fc00c3fbf91f74cad";
    const M3: &str = "00a8f4e4988e97bdcbf0f799d02dd2242624bda72d200e97e322c4f723213896a31eb64329e2a79ac9aa72ac8df0d6236c22f12958cf4fae33dc7cc01e0b0926c339a132aa50eb838c843ab9ae222208e6f96a090e2b5c9caff5050c9cd5350702b99f25fb5f3de39b10866b126eba41d4fa2630eb7f70f3e3fce8c871bd932b7fc8b59f485ad3969ea774aa2df5c3e357829d0a8f860e7976e3daeed566ef322e9fea96cc7550fbbefc";
    const HASH: &str = "a9a80081a7af0e4515ae016a08a98123e8a71b56654ca65852fa6a5471c17d0a";
    const KEY_I2R: &str = "141399b149034c671cc52b0ec1fcb71262d7ad66908d693bebe61b7b96344a35";
    const KEY_R2I: &str = "60527cc7e2d79cdaddd51660085b843ccd6f6c53947fc6c3cf13a11b0eb9af74";
    /// `header` + `/yamux/1.0.0` as multistream messages.
    const FIRST_PLAINTEXT: &str =
        "132f6d756c746973747265616d2f312e302e300a0d2f79616d75782f312e302e300a";
    const FIRST_I2R: &str = "00323469d5d5ed0fb8e43091bad6b10d3f2ca6878b965905c10a6faf2b52acd484beef38a2eb373855dce2a780d52e049d06894c";
    const FIRST_R2I: &str = "00326bb1613dc69245e9c4232cf657ccdd68595420d1a413ea4a021d2a6275d36898164cddd6f314802aae9c89052112c2eb0085";

    #[test]
    fn fixed_key_publics_match_the_vector() {
        let public = |b: u8| hex::encode(x25519_public(&[b; 32]).unwrap());
        assert_eq!(
            public(0x11),
            "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"
        );
        assert_eq!(
            public(0x22),
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20"
        );
        assert_eq!(
            public(0x33),
            "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14"
        );
        assert_eq!(
            public(0x44),
            "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b"
        );
    }

    #[test]
    fn reproduces_the_handshake_vector_byte_for_byte() {
        let (mut initiator, mut responder) = vector_pair(&[]);
        let [m1, m2, m3] = run(&mut initiator, &mut responder).unwrap();
        assert_eq!(m1.len(), 34);
        assert_eq!(hex::encode(&m1), M1);
        assert_eq!(m2.len(), 2 + 200);
        assert_eq!(hex::encode(&m2), M2);
        assert_eq!(m3.len(), 2 + 168);
        assert_eq!(hex::encode(&m3), M3);
        assert_eq!(hex::encode(initiator.handshake_hash()), HASH);
        assert_eq!(hex::encode(responder.handshake_hash()), HASH);

        // The split keys, checked through ciphers built from the vector's keys.
        let (mut i, mut r) = (
            initiator.into_established().unwrap(),
            responder.into_established().unwrap(),
        );
        assert_eq!(i.remote_peer, keypair_from_seed(0).public().to_peer_id());
        assert_eq!(r.remote_peer, spec_key().public().to_peer_id());
        assert_eq!(i.muxer, None);
        assert_eq!(r.muxer, None);

        let plaintext = hex::decode(FIRST_PLAINTEXT).unwrap();
        let mut wire = BytesMut::new();
        i.sealer.seal(&plaintext, &mut wire).unwrap();
        assert_eq!(hex::encode(&wire), FIRST_I2R);
        let mut out = BytesMut::new();
        r.opener.open(&mut wire, &mut out).unwrap();
        assert_eq!(out[..], plaintext[..]);

        let mut wire = BytesMut::new();
        r.sealer.seal(&plaintext, &mut wire).unwrap();
        assert_eq!(hex::encode(&wire), FIRST_R2I);
        let mut out = BytesMut::new();
        i.opener.open(&mut wire, &mut out).unwrap();
        assert_eq!(out[..], plaintext[..]);
    }

    #[test]
    fn split_keys_match_the_vector() {
        let (mut initiator, mut responder) = vector_pair(&[]);
        run(&mut initiator, &mut responder).unwrap();
        let (k1, k2) = initiator.state.dangerously_get_raw_split();
        assert_eq!(hex::encode(k1), KEY_I2R);
        assert_eq!(hex::encode(k2), KEY_R2I);
        let (k1, k2) = responder.state.dangerously_get_raw_split();
        assert_eq!(hex::encode(k1), KEY_I2R);
        assert_eq!(hex::encode(k2), KEY_R2I);
        // And the ciphers built from raw vector keys produce the vector messages.
        let key: [u8; 32] = hex::decode(KEY_I2R).unwrap().try_into().unwrap();
        let mut wire = BytesMut::new();
        Sealer::new(&key)
            .seal(&hex::decode(FIRST_PLAINTEXT).unwrap(), &mut wire)
            .unwrap();
        assert_eq!(hex::encode(&wire), FIRST_I2R);
    }

    #[test]
    fn reproduces_the_vector_with_stream_muxers() {
        let (mut initiator, mut responder) = vector_pair(&[YAMUX]);
        let suffix = "220e120c2f79616d75782f312e302e30";
        assert!(hex::encode(&initiator.local_payload).ends_with(suffix));
        assert!(hex::encode(&responder.local_payload).ends_with(suffix));
        assert_eq!(initiator.local_payload.len(), 120);
        let [m1, m2, m3] = run(&mut initiator, &mut responder).unwrap();
        assert_eq!(hex::encode(&m1), M1);
        assert_eq!(&m2[..2], &[0x00, 0xd8]);
        assert_eq!(m2.len(), 2 + 216);
        // e and the encrypted s do not depend on the payload.
        assert_eq!(hex::encode(&m2[2..82]), &M2[4..164]);
        assert_eq!(&m3[..2], &[0x00, 0xb8]);
        assert_eq!(m3.len(), 2 + 184);
        let (i, r) = (
            initiator.into_established().unwrap(),
            responder.into_established().unwrap(),
        );
        assert_eq!(i.muxer.as_deref(), Some(YAMUX));
        assert_eq!(r.muxer.as_deref(), Some(YAMUX));
    }

    #[test]
    fn vector_payloads_are_the_documented_bytes() {
        let (initiator, responder) = vector_pair(&[]);
        assert_eq!(
            hex::encode(&responder.local_payload),
            "0a24080112203b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da291240eb74a191114058f5307eae48389ff5117595b226cc6ed0540ebdf2f66f506baca46a77e84922da44efcb31c1d595cb213b78a6e7a60ab81f467229258619240f"
        );
        assert_eq!(
            hex::encode(&initiator.local_payload),
            "0a24080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e1240a32c5aaa2b9fd56ceb93f81f7dfaef0e32c2a504eee17d4dc53911da77267942bdf29f2336f2e33b0c45d8c687fec4015321e8d984e8eb71a369f6352664960d"
        );
    }

    #[test]
    fn random_keys_handshake_and_talk() {
        let a = keypair_from_seed(1);
        let b = keypair_from_seed(2);
        let initiator = Handshake::initiator(&a, Some(b.public().to_peer_id()), &[]).unwrap();
        let responder = Handshake::responder(&b, &[]).unwrap();
        let (mut i, mut r) = established_pair(initiator, responder).unwrap();
        assert_eq!(i.remote_peer, b.public().to_peer_id());
        assert_eq!(r.remote_peer, a.public().to_peer_id());
        assert_eq!(r.remote_key, a.public());
        let mut wire = BytesMut::new();
        i.sealer.seal(b"ping", &mut wire).unwrap();
        let mut out = BytesMut::new();
        r.opener.open(&mut wire, &mut out).unwrap();
        assert_eq!(&out[..], b"ping");
        r.sealer.seal(b"pong", &mut wire).unwrap();
        out.clear();
        i.opener.open(&mut wire, &mut out).unwrap();
        assert_eq!(&out[..], b"pong");
    }

    #[test]
    fn peer_id_mismatch_is_rejected_by_the_initiator() {
        let wrong = keypair_from_seed(9).public().to_peer_id();
        let mut initiator = Handshake::initiator(&keypair_from_seed(1), Some(wrong), &[]).unwrap();
        let mut responder = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        match run(&mut initiator, &mut responder) {
            Err(NoiseError::PeerIdMismatch { expected, actual }) => {
                assert_eq!(*expected, wrong);
                assert_eq!(*actual, keypair_from_seed(2).public().to_peer_id());
            }
            other => panic!("{other:?}"),
        }
    }

    /// Runs messages 1 and 2, letting `tamper` rewrite the responder's payload before it is sent.
    fn initiator_reads_tampered(tamper: impl FnOnce(&mut Vec<u8>)) -> Result<bool, NoiseError> {
        let mut initiator = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let mut responder = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        tamper(&mut responder.local_payload);
        let mut wire = BytesMut::new();
        initiator.write_message(&mut wire).unwrap();
        assert!(responder.read_message(&mut wire).unwrap());
        responder.write_message(&mut wire).unwrap();
        initiator.read_message(&mut wire)
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let result = initiator_reads_tampered(|payload| {
            let mut decoded = NoiseHandshakePayload::decode(&payload[..]).unwrap();
            decoded.identity_sig[0] ^= 1;
            *payload = decoded.encode_to_vec();
        });
        assert!(
            matches!(result, Err(NoiseError::BadSignature)),
            "{result:?}"
        );
    }

    #[test]
    fn signature_by_another_key_is_rejected() {
        // A valid signature, but the identity key claims to be someone else.
        let result = initiator_reads_tampered(|payload| {
            let mut decoded = NoiseHandshakePayload::decode(&payload[..]).unwrap();
            decoded.identity_key = keypair_from_seed(3).public().encode_protobuf();
            *payload = decoded.encode_to_vec();
        });
        assert!(
            matches!(result, Err(NoiseError::BadSignature)),
            "{result:?}"
        );
    }

    #[test]
    fn garbage_payload_is_rejected() {
        let result = initiator_reads_tampered(|payload| *payload = vec![0x0a, 0x40, 0x01]);
        assert!(
            matches!(result, Err(NoiseError::InvalidPayload(_))),
            "{result:?}"
        );
    }

    #[test]
    fn empty_payload_is_rejected() {
        let result = initiator_reads_tampered(|payload| payload.clear());
        assert!(
            matches!(result, Err(NoiseError::UnsupportedKey(_))),
            "{result:?}"
        );
    }

    #[test]
    fn unsupported_key_type_is_rejected() {
        // A secp256k1 key (type 2): this build of libp2p-identity has only Ed25519.
        let result = initiator_reads_tampered(|payload| {
            let mut decoded = NoiseHandshakePayload::decode(&payload[..]).unwrap();
            let mut key = vec![0x08, 0x02, 0x12, 0x21, 0x02];
            key.extend_from_slice(&[0x79; 32]);
            decoded.identity_key = key;
            *payload = decoded.encode_to_vec();
        });
        assert!(
            matches!(result, Err(NoiseError::UnsupportedKey(_))),
            "{result:?}"
        );
    }

    #[test]
    fn unknown_payload_fields_are_accepted() {
        let result = initiator_reads_tampered(|payload| {
            // Field 3 (the removed early data) with 2 bytes.
            payload.extend_from_slice(&[0x1a, 0x02, 0xab, 0xcd]);
        });
        assert!(result.unwrap());
    }

    #[test]
    fn non_empty_first_payload_is_rejected() {
        let mut initiator = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let mut responder = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        // Write message 1 with a payload through snow directly.
        let mut message = vec![0u8; 100];
        let len = initiator
            .state
            .write_message(b"early", &mut message)
            .unwrap();
        let mut wire = BytesMut::new();
        wire.put_u16(len as u16);
        wire.extend_from_slice(&message[..len]);
        assert!(matches!(
            responder.read_message(&mut wire),
            Err(NoiseError::UnexpectedPayload(5))
        ));
    }

    #[test]
    fn corrupted_handshake_message_is_rejected() {
        let mut initiator = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let mut responder = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        let mut wire = BytesMut::new();
        initiator.write_message(&mut wire).unwrap();
        responder.read_message(&mut wire).unwrap();
        responder.write_message(&mut wire).unwrap();
        let last = wire.len() - 1;
        wire[last] ^= 0x80;
        assert!(matches!(
            initiator.read_message(&mut wire),
            Err(NoiseError::Snow(_))
        ));
        // Truncated framing (a length with too few bytes after it) is only "need more".
        let mut short = BytesMut::from(&[0x00, 0x20, 0x01][..]);
        let mut fresh = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        assert!(!fresh.read_message(&mut short).unwrap());
        assert_eq!(short.len(), 3);
        // A first message of the wrong size is an error, not a panic.
        let mut bad = BytesMut::from(&[0x00, 0x03, 1, 2, 3][..]);
        assert!(fresh.read_message(&mut bad).is_err());
    }

    #[test]
    fn partial_messages_wait_and_trailing_bytes_stay() {
        let mut initiator = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let mut responder = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        let mut m1 = BytesMut::new();
        initiator.write_message(&mut m1).unwrap();
        m1.extend_from_slice(b"lazy");
        let mut input = BytesMut::new();
        for &byte in &m1[..33] {
            input.put_u8(byte);
            assert!(!responder.read_message(&mut input).unwrap());
        }
        input.extend_from_slice(&m1[33..]);
        assert!(responder.read_message(&mut input).unwrap());
        assert_eq!(&input[..], b"lazy");
    }

    #[test]
    fn into_established_before_the_end_fails() {
        let mut initiator = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let mut wire = BytesMut::new();
        initiator.write_message(&mut wire).unwrap();
        assert!(!initiator.is_finished());
        assert!(matches!(
            initiator.into_established(),
            Err(NoiseError::HandshakeIncomplete)
        ));
    }

    #[test]
    fn writing_out_of_turn_fails_without_appending() {
        let mut responder = Handshake::responder(&keypair_from_seed(2), &[]).unwrap();
        let mut wire = BytesMut::from(&b"keep"[..]);
        assert!(matches!(
            responder.write_message(&mut wire),
            Err(NoiseError::Snow(_))
        ));
        assert_eq!(&wire[..], b"keep");
    }

    fn muxer_result(
        i: &[&str],
        r: &[&str],
    ) -> Result<(Option<String>, Option<String>), NoiseError> {
        let initiator = Handshake::initiator(&keypair_from_seed(1), None, i)?;
        let responder = Handshake::responder(&keypair_from_seed(2), r)?;
        let mut i = initiator;
        let mut r = responder;
        run(&mut i, &mut r)?;
        let i = i.into_established();
        let r = r.into_established();
        Ok((i?.muxer, r?.muxer))
    }

    #[test]
    fn muxer_selection() {
        let both = |m: Option<&str>| (m.map(str::to_owned), m.map(str::to_owned));
        // The initiator's preference wins.
        assert_eq!(
            muxer_result(&["/mplex/6.7.0", YAMUX], &[YAMUX, "/mplex/6.7.0"]).unwrap(),
            both(Some("/mplex/6.7.0"))
        );
        assert_eq!(
            muxer_result(&["/other", YAMUX], &[YAMUX]).unwrap(),
            both(Some(YAMUX))
        );
        // Either list empty: fall back to multistream-select.
        assert_eq!(muxer_result(&[YAMUX], &[]).unwrap(), both(None));
        assert_eq!(muxer_result(&[], &[YAMUX]).unwrap(), both(None));
        assert_eq!(muxer_result(&[], &[]).unwrap(), both(None));
        // Both non-empty, no overlap: both sides fail.
        let initiator = Handshake::initiator(&keypair_from_seed(1), None, &["/a"]).unwrap();
        let responder = Handshake::responder(&keypair_from_seed(2), &["/b"]).unwrap();
        let (mut i, mut r) = (initiator, responder);
        run(&mut i, &mut r).unwrap();
        assert!(matches!(
            i.into_established(),
            Err(NoiseError::NoCommonMuxer { .. })
        ));
        assert!(matches!(
            r.into_established(),
            Err(NoiseError::NoCommonMuxer { .. })
        ));
    }

    #[test]
    fn oversized_muxer_list_is_refused_up_front() {
        let long = "/m".repeat(40_000);
        assert!(matches!(
            Handshake::initiator(&keypair_from_seed(1), None, &[&long]),
            Err(NoiseError::MessageTooLarge)
        ));
    }

    #[tokio::test]
    async fn upgrade_over_a_socket_keeps_pipelined_bytes() {
        use crate::multistream;
        let (a, b) = tokio::io::duplex(1 << 16);
        let server_key = keypair_from_seed(0);
        let server_peer = server_key.public().to_peer_id();
        let server = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            let chosen = multistream::listener_select(&mut io, &["/noise"])
                .await
                .unwrap();
            assert_eq!(chosen, "/noise");
            let handshake = Handshake::responder(&server_key, &[YAMUX]).unwrap();
            let established = upgrade(&mut io, handshake, BytesMut::new()).await.unwrap();
            (established, io.read_buf)
        });

        // Lazy dialer: proposal and message 1 in one write.
        let mut io = BufferedIo::new(a);
        let mut out = BytesMut::new();
        multistream::encode_proposal("/noise", &mut out);
        let handshake =
            Handshake::initiator(&keypair_from_seed(5), Some(server_peer), &[YAMUX]).unwrap();
        // Drive the handshake by hand so we can append encrypted bytes behind message 3.
        let mut handshake = handshake;
        handshake.write_message(&mut out).unwrap();
        io.write_all(&out).await.unwrap();
        multistream::dialer_expect_echo(&mut io, "/noise")
            .await
            .unwrap();
        while !handshake.read_message(&mut io.read_buf).unwrap() {
            assert!(io.fill().await.unwrap() > 0);
        }
        let mut out = BytesMut::new();
        handshake.write_message(&mut out).unwrap();
        let mut client = handshake.into_established().unwrap();
        client.sealer.seal(b"first app bytes", &mut out).unwrap();
        io.write_all(&out).await.unwrap();

        let (mut server, mut leftover) = server.await.unwrap();
        assert_eq!(
            server.remote_peer,
            keypair_from_seed(5).public().to_peer_id()
        );
        assert_eq!(server.muxer.as_deref(), Some(YAMUX));
        assert_eq!(client.muxer.as_deref(), Some(YAMUX));
        // The encrypted bytes behind message 3 were not lost.
        let mut plain = BytesMut::new();
        server.opener.open(&mut leftover, &mut plain).unwrap();
        assert_eq!(&plain[..], b"first app bytes");
    }

    #[tokio::test]
    async fn upgrade_both_sides() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            let handshake = Handshake::responder(&keypair_from_seed(0), &[]).unwrap();
            upgrade(&mut io, handshake, BytesMut::new()).await
        });
        let mut io = BufferedIo::new(a);
        let handshake = Handshake::initiator(&keypair_from_seed(1), None, &[]).unwrap();
        let client = upgrade(&mut io, handshake, BytesMut::new()).await.unwrap();
        let server = server.await.unwrap().unwrap();
        assert_eq!(
            client.remote_peer,
            keypair_from_seed(0).public().to_peer_id()
        );
        assert_eq!(
            server.remote_peer,
            keypair_from_seed(1).public().to_peer_id()
        );
        assert!(io.read_buf.is_empty());
    }

    #[tokio::test]
    async fn upgrade_reports_eof() {
        let (a, b) = tokio::io::duplex(1 << 16);
        drop(b);
        let mut io = BufferedIo::new(a);
        let handshake = Handshake::responder(&keypair_from_seed(0), &[]).unwrap();
        assert!(matches!(
            upgrade(&mut io, handshake, BytesMut::new()).await,
            Err(NoiseError::UnexpectedEof)
        ));
    }

    proptest::proptest! {
        // Each case runs real X25519 and Ed25519 operations (slow in debug builds).
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Arbitrary bytes from the peer, at any handshake step, give an error or "need more",
        /// never a panic.
        #[test]
        fn arbitrary_peer_bytes_never_panic(
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            step in 0usize..3,
        ) {
            let mut initiator = Handshake::initiator(&keypair_from_seed(1), None, &[YAMUX]).unwrap();
            let mut responder = Handshake::responder(&keypair_from_seed(2), &[YAMUX]).unwrap();
            let mut wire = BytesMut::new();
            let victim = match step {
                0 => &mut responder,
                1 => {
                    initiator.write_message(&mut wire).unwrap();
                    responder.read_message(&mut wire).unwrap();
                    &mut initiator
                }
                _ => {
                    initiator.write_message(&mut wire).unwrap();
                    responder.read_message(&mut wire).unwrap();
                    responder.write_message(&mut wire).unwrap();
                    initiator.read_message(&mut wire).unwrap();
                    &mut responder
                }
            };
            // Frame it properly half of the time, so the bytes reach snow and the payload code.
            let mut input = BytesMut::new();
            if garbage.len() % 2 == 0 {
                input.put_u16(garbage.len() as u16);
            }
            input.extend_from_slice(&garbage);
            let _ = victim.read_message(&mut input);
        }
    }

    #[test]
    fn handshake_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Handshake>();
        assert_send::<Established>();
    }
}
