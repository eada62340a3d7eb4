//! The libp2p TLS certificate: making ours and verifying the peer's.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/tls/tls.md#peer-authentication>. A
//! self-signed X.509 certificate with a fresh key carries the extension
//! `1.3.6.1.4.1.53594.1.1`, whose value is the DER of
//! `SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }`: the identity key
//! as a libp2p protobuf `PublicKey`, and its signature over `"libp2p-tls-handshake:"` ‖ the
//! certificate's DER SubjectPublicKeyInfo.
//!
//! Ours uses ECDSA P-256 (go-libp2p and rust-libp2p do too) and carries no other extension:
//! the libp2p one is not marked critical (rust-libp2p issues #5487 and #5498: peers that do
//! not know it must be able to ignore it), and there is no BasicConstraints or KeyUsage
//! (py-libp2p issue #1159). rcgen makes it; x509-parser parses the peer's.

use libp2p_identity::{Keypair, PeerId, PublicKey};
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, PublicKeyData};
use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer, UnixTime,
};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate};

use super::TlsError;

/// The libp2p public key extension's OID.
pub const EXTENSION_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 53594, 1, 1];

/// What the identity key signs, in front of the SubjectPublicKeyInfo.
pub const SIGNATURE_PREFIX: &[u8] = b"libp2p-tls-handshake:";

/// Critical extensions we understand (RFC 5280 §4.2.1): BasicConstraints, KeyUsage,
/// ExtendedKeyUsage, SubjectAltName. The spec asks to abort on any other critical extension
/// except the libp2p one.
const KNOWN_CRITICAL: [&str; 4] = ["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17"];

/// Why a peer's certificate is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not exactly one certificate (the spec forbids chains).
    #[error("expected exactly one certificate, got {0}")]
    ChainLength(usize),
    /// Not a well-formed X.509 certificate.
    #[error("not a valid X.509 certificate: {0}")]
    Parse(String),
    /// Now is outside the certificate's validity.
    #[error("the certificate is not valid at this time")]
    NotValidNow,
    /// The libp2p public key extension is missing.
    #[error("no libp2p public key extension (OID 1.3.6.1.4.1.53594.1.1)")]
    MissingExtension,
    /// The libp2p extension appears more than once.
    #[error("more than one libp2p public key extension")]
    DuplicateExtension,
    /// The extension's value is not a DER `SignedKey`.
    #[error("the libp2p extension is not a DER SignedKey")]
    BadExtension,
    /// The extension's key is not a libp2p public key we can use.
    #[error("unsupported libp2p identity key in the certificate: {0}")]
    UnsupportedKey(String),
    /// The identity key's signature over the certificate key does not verify.
    #[error("the libp2p extension's signature does not verify")]
    BadExtensionSignature,
    /// The certificate's self-signature does not verify.
    #[error("the certificate's self-signature does not verify")]
    BadSelfSignature,
    /// A signature algorithm or certificate key type the crypto provider does not support.
    #[error("unsupported certificate signature algorithm or key type")]
    UnsupportedAlgorithm,
    /// A critical extension we do not understand.
    #[error("unsupported critical extension {0}")]
    UnsupportedCriticalExtension(String),
    /// The certificate proves another peer than the one dialled.
    #[error("peer id mismatch: dialled {expected}, the certificate proves {actual}")]
    PeerIdMismatch {
        /// The `/p2p/` id of the address.
        expected: Box<PeerId>,
        /// The id the certificate proves.
        actual: Box<PeerId>,
    },
}

/// Makes our certificate for one connection: a fresh ECDSA P-256 key, self-signed, with the
/// extension signed by `identity`. Returns the certificate and its private key (PKCS#8).
pub fn generate(
    identity: &Keypair,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let failed = |e: &dyn std::fmt::Display| TlsError::CertificateGeneration(e.to_string());
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| failed(&e))?;
    let mut message = SIGNATURE_PREFIX.to_vec();
    message.extend_from_slice(&key.subject_public_key_info());
    let signature = identity.sign(&message).map_err(|e| failed(&e))?;
    let value = der::signed_key(&identity.public().encode_protobuf(), &signature);
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    // Not critical: CustomExtension's default.
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(EXTENSION_OID, value));
    let certificate = params.self_signed(&key).map_err(|e| failed(&e))?;
    let key = PrivatePkcs8KeyDer::from(key.serialize_der());
    Ok((certificate.der().clone(), key.into()))
}

/// A verified peer certificate: the peer it proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The peer id of the extension's identity key.
    pub peer_id: PeerId,
}

/// Checks the TLS 1.3 CertificateVerify signature `dss` over `message` with the key of the
/// certificate `der` and `algorithms` (the crypto provider's). The key is taken from the
/// SubjectPublicKeyInfo directly: rustls's own `verify_tls13_signature` would parse the
/// certificate with webpki, which refuses a critical libp2p extension.
pub fn verify_handshake_signature(
    der: &[u8],
    message: &[u8],
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let (_, certificate) = X509Certificate::from_der(der)
        .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
    rustls::crypto::verify_tls13_signature_with_raw_key(
        message,
        &SubjectPublicKeyInfoDer::from(certificate.public_key().raw),
        dss,
        algorithms,
    )
}

/// Verifies a peer's certificate (the spec's rules, in its order): one well-formed X.509
/// certificate valid at `now`, no critical extension we do not know, exactly one libp2p
/// extension with a valid signature by its identity key, and a valid self-signature.
pub fn verify(
    der: &[u8],
    now: UnixTime,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<PeerCertificate, CertificateError> {
    let parse = |e: &dyn std::fmt::Display| CertificateError::Parse(e.to_string());
    let (rest, certificate) = X509Certificate::from_der(der).map_err(|e| parse(&e))?;
    if !rest.is_empty() {
        return Err(parse(&"bytes behind the certificate"));
    }
    let now = i64::try_from(now.as_secs())
        .ok()
        .and_then(|secs| ASN1Time::from_timestamp(secs).ok())
        .ok_or(CertificateError::NotValidNow)?;
    if !certificate.validity().is_valid_at(now) {
        return Err(CertificateError::NotValidNow);
    }
    let oid = x509_parser::oid_registry::Oid::from(EXTENSION_OID).expect("a valid OID");
    let mut signed_key = None;
    for extension in certificate.extensions() {
        if extension.oid == oid {
            if signed_key.replace(extension.value).is_some() {
                return Err(CertificateError::DuplicateExtension);
            }
        } else if extension.critical {
            let id = extension.oid.to_id_string();
            if !KNOWN_CRITICAL.contains(&id.as_str()) {
                return Err(CertificateError::UnsupportedCriticalExtension(id));
            }
        }
    }
    let signed_key = signed_key.ok_or(CertificateError::MissingExtension)?;
    let (public_key, signature) =
        der::parse_signed_key(signed_key).ok_or(CertificateError::BadExtension)?;
    let identity = PublicKey::try_decode_protobuf(public_key)
        .map_err(|e| CertificateError::UnsupportedKey(e.to_string()))?;
    let spki = certificate.public_key().raw;
    let mut message = SIGNATURE_PREFIX.to_vec();
    message.extend_from_slice(spki);
    if !identity.verify(&message, signature) {
        return Err(CertificateError::BadExtensionSignature);
    }
    verify_self_signature(der, spki, algorithms)?;
    Ok(PeerCertificate {
        peer_id: identity.to_peer_id(),
    })
}

/// Checks the certificate's signature with its own key, with the provider's algorithm for the
/// certificate's (signature algorithm, key algorithm) pair.
fn verify_self_signature(
    der: &[u8],
    spki: &[u8],
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<(), CertificateError> {
    let malformed = || CertificateError::Parse("malformed DER".into());
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
    let (certificate, _) = der::tlv(der, der::SEQUENCE).ok_or_else(malformed)?;
    let tbs_len = der::tlv_len(certificate).ok_or_else(malformed)?;
    let (tbs, rest) = certificate.split_at(tbs_len);
    let (signature_algorithm, rest) = der::tlv(rest, der::SEQUENCE).ok_or_else(malformed)?;
    let (signature, _) = der::bit_string(rest).ok_or_else(malformed)?;
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, BIT STRING }
    let (spki, _) = der::tlv(spki, der::SEQUENCE).ok_or_else(malformed)?;
    let (key_algorithm, rest) = der::tlv(spki, der::SEQUENCE).ok_or_else(malformed)?;
    let (key, _) = der::bit_string(rest).ok_or_else(malformed)?;
    let algorithm = algorithms
        .all
        .iter()
        .find(|a| {
            a.public_key_alg_id().as_ref() == key_algorithm
                && a.signature_alg_id().as_ref() == signature_algorithm
        })
        .ok_or(CertificateError::UnsupportedAlgorithm)?;
    algorithm
        .verify_signature(key, tbs, signature)
        .map_err(|_| CertificateError::BadSelfSignature)
}

/// The little DER this needs: definite lengths, single-byte tags.
mod der {
    pub(super) const SEQUENCE: u8 = 0x30;
    const OCTET_STRING: u8 = 0x04;
    const BIT_STRING: u8 = 0x03;

    /// The length of the TLV at the front of `input` (header included).
    pub(super) fn tlv_len(input: &[u8]) -> Option<usize> {
        let (&first, rest) = input.get(1..)?.split_first()?;
        let (len, header) = match first {
            0..=0x7f => (usize::from(first), 2),
            0x81..=0x82 => {
                let n = usize::from(first & 0x7f);
                let bytes = rest.get(..n)?;
                let len = bytes.iter().fold(0, |len, &b| len << 8 | usize::from(b));
                // DER: the shortest form.
                if len < 0x80 || (n == 2 && len < 0x100) {
                    return None;
                }
                (len, 2 + n)
            }
            _ => return None,
        };
        let total = header + len;
        (input.len() >= total).then_some(total)
    }

    /// The contents of the TLV with `tag` at the front of `input`, and what follows it.
    pub(super) fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        if *input.first()? != tag {
            return None;
        }
        let total = tlv_len(input)?;
        let header = if input[1] < 0x80 {
            2
        } else {
            2 + usize::from(input[1] & 0x7f)
        };
        Some((&input[header..total], &input[total..]))
    }

    /// The bits of a BIT STRING with no unused bits, and what follows it.
    pub(super) fn bit_string(input: &[u8]) -> Option<(&[u8], &[u8])> {
        let (contents, rest) = tlv(input, BIT_STRING)?;
        match contents.split_first()? {
            (0, bits) => Some((bits, rest)),
            _ => None,
        }
    }

    fn push_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
        out.push(tag);
        match contents.len() {
            len @ 0..0x80 => out.push(len as u8),
            len @ 0x80..0x100 => out.extend_from_slice(&[0x81, len as u8]),
            len => {
                let len = u16::try_from(len).expect("a SignedKey is far below 64 KiB");
                out.push(0x82);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        out.extend_from_slice(contents);
    }

    /// `SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }`.
    pub(super) fn signed_key(public_key: &[u8], signature: &[u8]) -> Vec<u8> {
        let mut contents = Vec::new();
        push_tlv(&mut contents, OCTET_STRING, public_key);
        push_tlv(&mut contents, OCTET_STRING, signature);
        let mut out = Vec::new();
        push_tlv(&mut out, SEQUENCE, &contents);
        out
    }

    /// The two OCTET STRINGs of a DER `SignedKey`, nothing behind it.
    pub(super) fn parse_signed_key(input: &[u8]) -> Option<(&[u8], &[u8])> {
        let (contents, rest) = tlv(input, SEQUENCE)?;
        let (public_key, after) = tlv(contents, OCTET_STRING)?;
        let (signature, after) = tlv(after, OCTET_STRING)?;
        (rest.is_empty() && after.is_empty()).then_some((public_key, signature))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::identity::keypair_from_seed;

    pub(crate) fn algorithms() -> WebPkiSupportedAlgorithms {
        crate::tls::stage::provider().signature_verification_algorithms
    }

    /// A certificate like ours, with `edit` applied to its parameters and the extension value
    /// made by `value` (from the SPKI); self-signed by its own fresh key.
    pub(crate) fn custom_certificate(
        identity: &Keypair,
        value: impl FnOnce(&Keypair, &[u8]) -> Option<Vec<u8>>,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Vec<u8> {
        custom_certificate_and_key(identity, value, edit).0.to_vec()
    }

    /// [`custom_certificate`] with its private key, for a handshake.
    pub(crate) fn custom_certificate_and_key(
        identity: &Keypair,
        value: impl FnOnce(&Keypair, &[u8]) -> Option<Vec<u8>>,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        if let Some(value) = value(identity, &key.subject_public_key_info()) {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(EXTENSION_OID, value));
        }
        edit(&mut params);
        let certificate = params.self_signed(&key).unwrap().der().clone();
        let key = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
        (certificate, key)
    }

    /// The extension value a correct peer makes.
    pub(crate) fn good_value(identity: &Keypair, spki: &[u8]) -> Option<Vec<u8>> {
        let mut message = SIGNATURE_PREFIX.to_vec();
        message.extend_from_slice(spki);
        let signature = identity.sign(&message).unwrap();
        Some(der::signed_key(
            &identity.public().encode_protobuf(),
            &signature,
        ))
    }

    #[test]
    fn our_certificate_verifies_and_proves_our_peer_id() {
        let identity = keypair_from_seed(4);
        let (certificate, _) = generate(&identity).unwrap();
        let peer = verify(&certificate, UnixTime::now(), &algorithms()).unwrap();
        assert_eq!(peer.peer_id, identity.public().to_peer_id());
        // The extension is there and not critical, and nothing else is.
        let (_, parsed) = X509Certificate::from_der(&certificate).unwrap();
        let extensions = parsed.extensions();
        assert_eq!(extensions.len(), 1);
        assert_eq!(extensions[0].oid.to_id_string(), "1.3.6.1.4.1.53594.1.1");
        assert!(!extensions[0].critical);
    }

    #[test]
    fn a_certificate_without_the_extension_is_rejected() {
        let der = custom_certificate(&keypair_from_seed(1), |_, _| None, |_| {});
        assert_eq!(
            verify(&der, UnixTime::now(), &algorithms()).unwrap_err(),
            CertificateError::MissingExtension
        );
    }

    #[test]
    fn bad_or_foreign_signatures_are_rejected() {
        let identity = keypair_from_seed(1);
        // Signed over another key's SPKI.
        let foreign = custom_certificate(&identity, |id, _| good_value(id, b"another key"), |_| {});
        assert_eq!(
            verify(&foreign, UnixTime::now(), &algorithms()).unwrap_err(),
            CertificateError::BadExtensionSignature
        );
        // A flipped bit in the signature.
        let flipped = custom_certificate(
            &identity,
            |id, spki| {
                let mut value = good_value(id, spki).unwrap();
                let last = value.len() - 1;
                value[last] ^= 1;
                Some(value)
            },
            |_| {},
        );
        assert_eq!(
            verify(&flipped, UnixTime::now(), &algorithms()).unwrap_err(),
            CertificateError::BadExtensionSignature
        );
        // Not a SignedKey at all.
        let garbage = custom_certificate(&identity, |_, _| Some(vec![0x30, 0x00]), |_| {});
        assert_eq!(
            verify(&garbage, UnixTime::now(), &algorithms()).unwrap_err(),
            CertificateError::BadExtension
        );
    }

    #[test]
    fn a_broken_self_signature_expiry_and_unknown_critical_extensions_are_rejected() {
        let identity = keypair_from_seed(2);
        let mut der = custom_certificate(&identity, good_value, |_| {});
        assert!(verify(&der, UnixTime::now(), &algorithms()).is_ok());
        // The last byte is inside the self-signature.
        let last = der.len() - 1;
        der[last] ^= 1;
        assert!(verify(&der, UnixTime::now(), &algorithms()).is_err());
        let expired = custom_certificate(&identity, good_value, |params| {
            params.not_after = rcgen::date_time_ymd(2000, 1, 1);
        });
        assert_eq!(
            verify(&expired, UnixTime::now(), &algorithms()).unwrap_err(),
            CertificateError::NotValidNow
        );
        let critical = custom_certificate(&identity, good_value, |params| {
            let mut extension = CustomExtension::from_oid_content(&[1, 2, 3, 4], vec![5, 0]);
            extension.set_criticality(true);
            params.custom_extensions.push(extension);
        });
        assert_eq!(
            verify(&critical, UnixTime::now(), &algorithms()).unwrap_err(),
            CertificateError::UnsupportedCriticalExtension("1.2.3.4".into())
        );
        // A critical libp2p extension (as some implementations send) is fine.
        let critical_libp2p = custom_certificate(&identity, good_value, |params| {
            params.custom_extensions[0].set_criticality(true);
        });
        assert!(verify(&critical_libp2p, UnixTime::now(), &algorithms()).is_ok());
        assert!(matches!(
            verify(b"\x30\x03abc", UnixTime::now(), &algorithms()),
            Err(CertificateError::Parse(_))
        ));
    }

    #[test]
    fn der_lengths_round_trip_in_both_forms() {
        for len in [0, 1, 127, 128, 255, 256, 1000] {
            let key = vec![7u8; len];
            let value = der::signed_key(&key, b"sig");
            assert_eq!(der::parse_signed_key(&value), Some((&key[..], &b"sig"[..])));
        }
        // Non-minimal length, trailing bytes.
        assert_eq!(der::parse_signed_key(&[0x30, 0x81, 0x04, 4, 0, 4, 0]), None);
        assert_eq!(der::parse_signed_key(&[0x30, 0x04, 4, 0, 4, 0, 0]), None);
    }
}
