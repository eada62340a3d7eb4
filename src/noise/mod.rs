//! libp2p Noise: the XX handshake with the libp2p identity payload, and the transport cipher.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/noise/README.md> and
//! <https://github.com/libp2p/specs/blob/master/connections/inlined-muxer-negotiation.md>.
//! The tests of [`handshake`] pin a whole exchange made with fixed keys, byte for byte.
//!
//! Protocol `Noise_XX_25519_ChaChaPoly_SHA256`, empty prologue, every message framed by a 2-byte
//! big-endian length. The TCP dialer is the initiator. Messages 2 (responder) and 3 (initiator)
//! carry a [`payload::NoiseHandshakePayload`] that binds the Noise static key to the libp2p identity
//! key, plus, optionally, the sender's stream muxers for early muxer negotiation.
//!
//! Parts:
//! - [`handshake`]: the sans-IO [`Handshake`] state machine (built on snow), the async [`upgrade`]
//!   that drives it over a [`BufferedIo`](crate::bufio::BufferedIo), and its result
//!   [`Established`].
//! - [`cipher`]: [`Sealer`] and [`Opener`], the ChaCha20-Poly1305 transport cipher (OpenSSL) that
//!   frames and encrypts application bytes; this is the hot path.
//! - [`stage`]: [`Noise`], the security stage of the upgrade pipeline
//!   ([`upgrade`](crate::upgrade)), and the ciphers as the muxer driver's transform.
//! - [`payload`]: the two protobuf messages of the handshake payload.
//!
//! Not done here: the multistream-select steps around the handshake (the pipeline runs them with
//! [`multistream`](crate::multistream)), handshake timeouts (wrap [`upgrade`] in
//! `tokio::time::timeout`), rekeying (libp2p Noise has none) and WebTransport certhashes (decoded,
//! never checked).

pub mod cipher;
pub mod handshake;
pub mod payload;
pub mod stage;

pub use cipher::{Opener, Sealer};
pub use handshake::{Established, Handshake, upgrade};
pub use stage::Noise;

/// The multistream-select protocol id of libp2p Noise.
pub const PROTOCOL_ID: &str = "/noise";

/// The Noise protocol name; libp2p allows no other, so there is no negotiation.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_SHA256";

/// Largest Noise message, handshake or transport: the Noise spec caps messages at 65535 bytes,
/// which is also the most the 2-byte length prefix can describe.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// Length of the ChaCha20-Poly1305 authentication tag that ends every encrypted message.
pub const TAG_LEN: usize = 16;

/// Most plaintext bytes in one transport message: [`MAX_MESSAGE_LEN`] minus the tag. Larger writes
/// are split into several messages (go and js split at this size; rust at 64511). A peer rejects
/// a longer message, which is how an auto-tuned yamux writing 16 MiB frames once broke Noise.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - TAG_LEN;

/// Length of the big-endian length prefix in front of every Noise message.
pub const LENGTH_PREFIX_LEN: usize = 2;

/// Why a Noise handshake or transport operation failed. Every variant ends the connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoiseError {
    /// The Noise state machine (snow) rejected a message or a call: a wrong handshake message,
    /// a failed decryption during the handshake, or an operation out of turn.
    #[error("noise handshake")]
    Snow(#[from] snow::Error),
    /// Reading or writing the underlying stream failed.
    #[error("i/o error in noise")]
    Io(#[from] std::io::Error),
    /// The stream ended in the middle of a handshake or a transport message.
    #[error("stream closed in the middle of a noise message")]
    UnexpectedEof,
    /// The handshake payload is not a valid `NoiseHandshakePayload` protobuf.
    #[error("invalid noise handshake payload")]
    InvalidPayload(#[source] prost::DecodeError),
    /// The first handshake message carried a payload; the spec requires it to be empty.
    #[error("noise message 1 must have an empty payload, got {0} bytes")]
    UnexpectedPayload(usize),
    /// The identity key in the payload is missing, malformed, or of a type we cannot verify.
    #[error("unsupported or malformed identity key in noise payload")]
    UnsupportedKey(#[source] libp2p_identity::DecodingError),
    /// The identity signature over the remote's Noise static key does not verify.
    #[error("noise payload signature does not verify")]
    BadSignature,
    /// Signing our own static key failed (only possible with exotic key types).
    #[error("cannot sign the noise static key")]
    Signing(#[source] libp2p_identity::SigningError),
    /// The remote's identity is not the peer we dialled. (Boxed: a `PeerId` is 80 bytes, and
    /// this error type is returned on the transport hot path.)
    #[error("remote peer id {actual} does not match the expected {expected}")]
    PeerIdMismatch {
        /// The peer id we dialled.
        expected: Box<libp2p_identity::PeerId>,
        /// The peer id derived from the remote's identity key.
        actual: Box<libp2p_identity::PeerId>,
    },
    /// A message to send would exceed [`MAX_MESSAGE_LEN`] bytes (e.g. a huge muxer list).
    #[error("noise message would exceed {MAX_MESSAGE_LEN} bytes")]
    MessageTooLarge,
    /// A buffer given to [`Sealer::seal_in_place`] is not a message layout: shorter than the
    /// length prefix and the tag, or longer than a message (the length is in the error).
    #[error("{0} bytes do not lay out one Noise transport message")]
    BadLayout(usize),
    /// A transport message failed authentication, or is too short to hold a tag.
    #[error("noise transport message failed to decrypt")]
    Decrypt,
    /// Encryption failed (libcrypto refused the input; cannot happen for valid message sizes).
    #[error("noise transport encryption failed")]
    Encrypt,
    /// libcrypto could not set up ChaCha20-Poly1305 (out of memory, or a libcrypto built
    /// without it).
    #[error("ChaCha20-Poly1305 is not available from libcrypto")]
    CipherUnavailable,
    /// The 64-bit message counter is used up; the spec requires closing the connection.
    #[error("noise nonce exhausted")]
    NonceExhausted,
    /// Both peers listed stream muxers and no muxer is on both lists.
    #[error("no stream muxer in common (ours {local:?}, theirs {remote:?})")]
    NoCommonMuxer {
        /// Our muxer list.
        local: Vec<String>,
        /// The remote's muxer list.
        remote: Vec<String>,
    },
    /// [`Handshake::into_established`] was called before the handshake finished.
    #[error("noise handshake not finished")]
    HandshakeIncomplete,
}

impl From<NoiseError> for std::io::Error {
    fn from(error: NoiseError) -> Self {
        match error {
            NoiseError::Io(error) => error,
            NoiseError::UnexpectedEof => std::io::ErrorKind::UnexpectedEof.into(),
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
