//! libp2p TLS 1.3 (`/tls/1.0.0`) on rustls: the certificate with the libp2p public key
//! extension, our own verifiers, the handshake as a security stage, and the record layer below
//! yamux.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/tls/tls.md>, with muxers offered in ALPN
//! as <https://github.com/libp2p/specs/blob/master/connections/inlined-muxer-negotiation.md>
//! describes. rust-libp2p's `transport/tls` crate (`certificate.rs`, `verifier.rs`) and
//! go-libp2p's `p2p/security/tls` do the same; this is our own code.
//!
//! Parts:
//! - [`certificate`]: a fresh self-signed ECDSA P-256 certificate per connection, carrying the
//!   `SignedKey` extension, and its verification (one certificate, valid now, extension signed
//!   by the identity key, self-signature valid) with the peer id it proves.
//! - [`verifier`]: the rustls client and server certificate verifiers built on it (mutual
//!   authentication, no CA; the dialer also checks the `/p2p/` id it dialled).
//! - [`stage`]: [`Tls`], the security stage: rustls's sans-IO connection driven record by record
//!   over the pipeline's buffer, then the traffic keys taken out of rustls.
//! - [`record`]: [`Sealer`] and [`Opener`], the TLS 1.3 record protection the muxer driver runs
//!   with, sealed in place like Noise; read and write halves need no shared state.
//!
//! Not done here: KeyUpdate (a received one fails the connection with [`TlsError::KeyUpdate`];
//! our sealer stops at the suite's confidentiality limit instead of updating its key), session
//! resumption and 0-RTT (libp2p uses neither), TLS 1.2.

pub mod certificate;
pub mod record;
pub mod stage;
pub mod verifier;

pub use certificate::CertificateError;
pub use record::{AwsLcAead, Opener, RecordAead, RingAead, Sealer};
pub use stage::Tls;

/// The multistream-select protocol id of libp2p TLS.
pub const PROTOCOL_ID: &str = "/tls/1.0.0";

/// The ALPN protocol every libp2p TLS endpoint offers last (and the only one when it offers no
/// muxer): the muxer is then negotiated with multistream-select inside the channel.
pub const ALPN: &str = "libp2p";

/// The AEAD of the record layer, from the crypto provider chosen by measurement
/// (`cargo bench --bench tls_record`): the handshake runs on the same provider
/// ([`stage::provider`]).
pub type Aead = AwsLcAead;

/// Why the TLS handshake or a record failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls failed the handshake (also an alert the peer sent during it).
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    /// The peer's certificate is not a valid libp2p certificate, or proves another peer.
    #[error("peer certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// Our certificate could not be made.
    #[error("making our certificate: {0}")]
    CertificateGeneration(String),
    /// The connection ended inside the handshake.
    #[error("connection closed during the TLS handshake")]
    UnexpectedEof,
    /// A record header announced more bytes than TLS 1.3 allows.
    #[error("TLS record of {0} bytes, more than 2^14 + 256")]
    RecordOverflow(usize),
    /// A record of another outer content type than the handshake or application data allows.
    #[error("unexpected TLS record content type {0}")]
    UnexpectedRecord(u8),
    /// A record whose `legacy_record_version` is not 0x0303.
    #[error("TLS record version {0:#06x}, expected 0x0303")]
    RecordVersion(u16),
    /// A protected record failed authentication.
    #[error("TLS record failed to decrypt (bad_record_mac)")]
    Decrypt,
    /// Encryption failed.
    #[error("TLS record encryption failed")]
    Encrypt,
    /// A unit handed to the in-place sealer is not header + at most 2^14 bytes + suffix.
    #[error("{0} bytes is not the layout of one TLS record")]
    BadLayout(usize),
    /// A decrypted record has no content type (all zeros).
    #[error("TLS record without a content type")]
    NoContentType,
    /// A decrypted record of a content type that cannot follow the handshake.
    #[error("unexpected TLS content type {0} after the handshake")]
    UnexpectedContent(u8),
    /// The peer sent an alert other than `close_notify`.
    #[error("the peer sent TLS alert {0}")]
    Alert(String),
    /// An alert record that is not two bytes.
    #[error("malformed TLS alert")]
    BadAlert,
    /// The peer sent KeyUpdate (RFC 8446 §4.6.3). We take the traffic keys out of rustls once,
    /// so we cannot derive the next ones; rustls's kernel connection
    /// (`dangerous_into_kernel_connection`) could.
    #[error("the peer sent a TLS KeyUpdate, which this implementation does not support")]
    KeyUpdate,
    /// A handshake message after the handshake other than NewSessionTicket and KeyUpdate
    /// (`None`: an empty handshake record).
    #[error("unexpected post-handshake message {0:?}")]
    UnexpectedHandshake(Option<u8>),
    /// A post-handshake message split over records (we accept whole messages only).
    #[error("post-handshake message split over TLS records")]
    FragmentedHandshake,
    /// A record after the peer's `close_notify`.
    #[error("TLS record after close_notify")]
    DataAfterClose,
    /// The key's record limit is reached (the suite's confidentiality limit, RFC 8446 §5.5).
    #[error("TLS record limit of this key reached (key updates are not supported)")]
    SequenceExhausted,
    /// A key or IV of the wrong length for the suite.
    #[error("bad TLS traffic key")]
    BadKey,
    /// rustls negotiated something the record layer does not implement.
    #[error("unsupported TLS parameters: {0}")]
    Unsupported(String),
}

impl From<TlsError> for std::io::Error {
    fn from(error: TlsError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error)
    }
}
