//! The rustls certificate verifiers of libp2p TLS: both sides authenticate each other with the
//! self-signed certificates of [`super::certificate`], no CA involved (a normal chain check
//! fails such a certificate with `UnknownIssuer`, py-libp2p issue #1367).
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/tls/tls.md#peer-authentication>. The
//! certificate checks are [`certificate::verify`]; the TLS 1.3 CertificateVerify signature is
//! checked with the certificate's key by the crypto provider's algorithms; the dialer also
//! checks the peer id against the `/p2p/` id it dialled. A failure carries a
//! [`CertificateError`] inside `rustls::Error::InvalidCertificate(Other(…))`, which the stage
//! takes out again ([`certificate_error`]), so the caller sees a typed error and the peer gets a
//! `certificate_unknown` alert (what rustls sends for a verifier's own error).

use std::sync::Arc;

use libp2p_identity::PeerId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme};

use super::certificate::{self, CertificateError, PeerCertificate};

/// Verifies the peer's libp2p certificate, as a client or a server verifier.
#[derive(Debug)]
pub struct Libp2pVerifier {
    /// The peer the dialer expects (from `/p2p/` in the address), if any.
    expected: Option<PeerId>,
    /// The crypto provider's signature algorithms.
    algorithms: WebPkiSupportedAlgorithms,
}

impl Libp2pVerifier {
    /// A verifier with the provider's `algorithms`, expecting `expected` if given.
    pub fn new(expected: Option<PeerId>, algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self {
            expected,
            algorithms,
        }
    }

    /// The checks both sides run on the certificate the peer sent.
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<PeerCertificate, rustls::Error> {
        if !intermediates.is_empty() {
            return Err(invalid(CertificateError::ChainLength(
                1 + intermediates.len(),
            )));
        }
        let peer = certificate::verify(end_entity, now, &self.algorithms).map_err(invalid)?;
        match self.expected {
            Some(expected) if expected != peer.peer_id => {
                Err(invalid(CertificateError::PeerIdMismatch {
                    expected: Box::new(expected),
                    actual: Box::new(peer.peer_id),
                }))
            }
            _ => Ok(peer),
        }
    }

    /// Checks a TLS 1.3 CertificateVerify signature with `cert`'s key.
    fn handshake_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        certificate::verify_handshake_signature(cert, message, dss, &self.algorithms)
    }
}

/// A [`CertificateError`] as rustls carries it.
fn invalid(error: CertificateError) -> rustls::Error {
    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(OtherError(Arc::new(error))))
}

/// The [`CertificateError`] a verifier put inside a rustls error, if it is one.
pub fn certificate_error(error: &rustls::Error) -> Option<CertificateError> {
    match error {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(OtherError(inner))) => {
            inner.downcast_ref::<CertificateError>().cloned()
        }
        _ => None,
    }
}

/// TLS 1.2 is never negotiated (both configs allow TLS 1.3 only).
fn no_tls12() -> rustls::Error {
    rustls::Error::General("TLS 1.2 is not offered".into())
}

impl ServerCertVerifier for Libp2pVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.handshake_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // rustls refuses TLS 1.2-only schemes (PKCS#1) in a TLS 1.3 CertificateVerify itself.
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for Libp2pVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.handshake_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // rustls refuses TLS 1.2-only schemes (PKCS#1) in a TLS 1.3 CertificateVerify itself.
        self.algorithms.supported_schemes()
    }
}
