//! libp2p TLS as the security stage of the upgrade ([`SecurityStage`]), and its record layer as
//! the transform below the muxer ([`Seal`] for [`Sealer`], [`Open`] for [`Opener`]).
//!
//! The handshake is rustls's sans-IO connection: we cut whole records out of the pipeline's
//! buffer and hand rustls one at a time, and stop as soon as it is no longer handshaking, so the
//! bytes behind the handshake (the dialer's first application data, the listener's session
//! tickets) stay in the buffer for our [`Opener`]: rustls never holds data we would lose when we
//! take its traffic keys out (`dangerous_extract_secrets`, which drops whatever rustls still
//! buffers). From then on the two directions are independent [`Sealer`] and [`Opener`], with no
//! lock between the driver's reader and writer.
//!
//! ALPN carries the inlined muxer negotiation
//! (<https://github.com/libp2p/specs/blob/master/connections/inlined-muxer-negotiation.md>): the
//! muxers in preference order, then `libp2p`; an agreed `libp2p` (or no ALPN) leaves the muxer
//! to multistream-select inside the channel.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, LazyLock};

use bytes::BytesMut;
use libp2p_identity::{Keypair, PeerId};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CipherSuite, ClientConfig, ClientConnection, ConnectionTrafficSecrets, ServerConfig};
use rustls::{Connection, ServerConnection};
use tokio::io::{AsyncRead, AsyncWrite};

use super::certificate;
use super::record::{self, AeadAlgorithm, HEADER_LEN, MAX_CIPHERTEXT_LEN, RecordAead};
use super::verifier::{self, Libp2pVerifier};
use super::{ALPN, Aead, PROTOCOL_ID, TlsError};
use crate::bufio::BufferedIo;
use crate::multistream;
use crate::upgrade::{LazyProposal, Secured, SecurityStage, UpgradeError};
use crate::yamux::driver::{Framing, Open, Seal};

/// The record sealer of the stage.
pub type Sealer = record::Sealer<Aead>;
/// The record opener of the stage.
pub type Opener = record::Opener<Aead>;

/// The crypto provider of the handshake, the same library as the record layer's [`Aead`], with
/// its three TLS 1.3 suites in the order go's crypto/tls prefers on CPUs with AES instructions:
/// AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 (rustls lists AES-256 first; a rustls server
/// follows the client's order).
pub fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.cipher_suites = only(
        &provider,
        &[
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
    );
    provider
}

/// `provider`'s implementations of `suites`, in that order.
fn only(provider: &CryptoProvider, suites: &[CipherSuite]) -> Vec<rustls::SupportedCipherSuite> {
    suites
        .iter()
        .filter_map(|suite| {
            provider
                .cipher_suites
                .iter()
                .find(|s| s.suite() == *suite)
                .copied()
        })
        .collect()
}

static PROVIDER: LazyLock<Arc<CryptoProvider>> = LazyLock::new(|| Arc::new(provider()));

/// libp2p TLS 1.3 (`/tls/1.0.0`) on rustls.
#[derive(Debug, Clone)]
pub struct Tls {
    provider: Arc<CryptoProvider>,
}

/// aws-lc seeds its random generator on first use (about 20 ms of CPU here): forcing it, with the
/// provider, is [`Tls`]'s [`SecurityStage::prepare`].
fn warm_up() {
    LazyLock::force(&PROVIDER);
    let mut byte = [0u8; 1];
    // A failure here fails the first handshake too, with its own error: nothing to report yet.
    let _ = aws_lc_rs::rand::fill(&mut byte);
}

impl Default for Tls {
    fn default() -> Self {
        Self {
            provider: PROVIDER.clone(),
        }
    }
}

impl Tls {
    /// TLS offering only `suites` (of the three TLS 1.3 ones), in this order.
    pub fn with_cipher_suites(suites: &[CipherSuite]) -> Self {
        let mut provider = provider();
        provider.cipher_suites = only(&provider, suites);
        Self {
            provider: Arc::new(provider),
        }
    }

    /// The ALPN list for `muxers`: each muxer, then `libp2p`.
    fn alpn(muxers: &[&str]) -> Vec<Vec<u8>> {
        muxers
            .iter()
            .chain(std::iter::once(&ALPN))
            .map(|p| p.as_bytes().to_vec())
            .collect()
    }

    /// The client's config with our `certificate` and its `key`.
    fn client_config(
        &self,
        certificate: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
        expected: Option<PeerId>,
        muxers: &[&str],
    ) -> Result<ClientConfig, TlsError> {
        let verifier =
            Libp2pVerifier::new(expected, self.provider.signature_verification_algorithms);
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(vec![certificate], key)?;
        config.alpn_protocols = Self::alpn(muxers);
        config.enable_secret_extraction = true;
        config.resumption = Resumption::disabled();
        config.enable_sni = false;
        Ok(config)
    }

    /// The server's config with our `certificate` and its `key`.
    fn server_config(
        &self,
        certificate: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
        muxers: &[&str],
    ) -> Result<ServerConfig, TlsError> {
        let verifier = Libp2pVerifier::new(None, self.provider.signature_verification_algorithms);
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(vec![certificate], key)?;
        config.alpn_protocols = Self::alpn(muxers);
        config.enable_secret_extraction = true;
        // No session tickets: nothing is sent behind the handshake, and libp2p never resumes.
        config.send_tls13_tickets = 0;
        Ok(config)
    }
}

/// A client connection; no name is checked (the verifier checks the peer id), and an IP
/// address sends no SNI.
fn client_connection(config: ClientConfig) -> Result<Connection, TlsError> {
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::UNSPECIFIED).into());
    Ok(ClientConnection::new(Arc::new(config), name)?.into())
}

/// The dialer's handshake on `connection`: the ClientHello behind the lazy proposal, the
/// answer checked before the ServerHello, the last flight left unsent.
async fn dial<T>(
    io: &mut BufferedIo<T>,
    lazy: LazyProposal,
    mut connection: Connection,
) -> Result<Secured<Sealer, Opener>, UpgradeError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let LazyProposal {
        proposal: mut out,
        mut echo,
    } = lazy;
    write_tls(&mut connection, &mut out)?;
    io.write_all(&out).await?;
    multistream::expect_lazy_echo(io, &mut echo).await?;
    let unsent = handshake(io, &mut connection).await?;
    Ok(finish(connection, unsent)?)
}

/// The listener's handshake on `connection`.
async fn listen<T>(
    io: &mut BufferedIo<T>,
    mut connection: Connection,
) -> Result<Secured<Sealer, Opener>, UpgradeError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let unsent = handshake(io, &mut connection).await?;
    Ok(finish(connection, unsent)?)
}

impl SecurityStage for Tls {
    const PROTOCOL_ID: &'static str = PROTOCOL_ID;
    const LAZY: bool = true;

    fn prepare() {
        warm_up();
    }

    type Seal = Sealer;
    type Open = Opener;

    /// The ClientHello leaves behind the lazy `/tls/1.0.0` proposal; the answer is checked in
    /// front of the ServerHello; the client's last flight (Certificate, CertificateVerify,
    /// Finished) is left in [`Secured::unsent`].
    async fn outbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        lazy: LazyProposal,
        local: &Keypair,
        expected: Option<PeerId>,
        muxers: &[&str],
    ) -> Result<Secured<Sealer, Opener>, UpgradeError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let (certificate, key) = certificate::generate(local)?;
        let config = self.client_config(certificate, key, expected, muxers)?;
        dial(io, lazy, client_connection(config)?).await
    }

    async fn inbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        local: &Keypair,
        muxers: &[&str],
    ) -> Result<Secured<Sealer, Opener>, UpgradeError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let (certificate, key) = certificate::generate(local)?;
        let config = self.server_config(certificate, key, muxers)?;
        let connection = ServerConnection::new(Arc::new(config)).map_err(TlsError::from)?;
        listen(io, connection.into()).await
    }
}

/// Appends everything rustls wants to send to `out`.
fn write_tls(connection: &mut Connection, out: &mut BytesMut) -> Result<(), TlsError> {
    let mut bytes = Vec::new();
    while connection.wants_write() {
        connection
            .write_tls(&mut bytes)
            .map_err(|e| TlsError::Unsupported(e.to_string()))?;
    }
    out.extend_from_slice(&bytes);
    Ok(())
}

/// The length of the handshake-phase record at the front of `input` (header included), `None`
/// while it is incomplete. A header that cannot start a TLS record fails here, so a peer that
/// does not speak TLS gets a clear error instead of rustls waiting for more.
fn record_len(input: &[u8]) -> Result<Option<usize>, TlsError> {
    let Some(header) = input.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if !(record::content::CHANGE_CIPHER_SPEC..=record::content::APPLICATION_DATA)
        .contains(&header[0])
    {
        return Err(TlsError::UnexpectedRecord(header[0]));
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > MAX_CIPHERTEXT_LEN {
        return Err(TlsError::RecordOverflow(len));
    }
    Ok((input.len() >= HEADER_LEN + len).then_some(HEADER_LEN + len))
}

/// Runs the handshake over `io`, one record at a time, until rustls is done. Returns what rustls
/// still has to send then (the client's last flight, nothing for the server). On failure the
/// alert rustls queued for the peer is sent first.
async fn handshake<T>(
    io: &mut BufferedIo<T>,
    connection: &mut Connection,
) -> Result<BytesMut, UpgradeError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut out = BytesMut::new();
    loop {
        write_tls(connection, &mut out)?;
        if !connection.is_handshaking() {
            return Ok(out);
        }
        if !out.is_empty() {
            io.write_all(&out).await?;
            out.clear();
        }
        let len = loop {
            if let Some(len) = record_len(&io.read_buf)? {
                break len;
            }
            if io.fill().await? == 0 {
                return Err(TlsError::UnexpectedEof.into());
            }
        };
        let record = io.read_buf.split_to(len);
        connection.read_tls(&mut &record[..])?;
        if let Err(error) = connection.process_new_packets() {
            let mut alert = BytesMut::new();
            if write_tls(connection, &mut alert).is_ok() && !alert.is_empty() {
                // Best effort: the peer may be gone already.
                let _ = io.write_all(&alert).await;
            }
            tracing::debug!(%error, "TLS handshake failed");
            return Err(match verifier::certificate_error(&error) {
                Some(certificate) => TlsError::Certificate(certificate),
                None => TlsError::Rustls(error),
            }
            .into());
        }
    }
}

/// The peer, the agreed muxer and the traffic keys of a finished handshake.
fn finish(connection: Connection, unsent: BytesMut) -> Result<Secured<Sealer, Opener>, TlsError> {
    let no_certificate = || TlsError::Certificate(certificate::CertificateError::ChainLength(0));
    let peer_certificate = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(no_certificate)?;
    // Verified by the verifier already; this parse only reads the peer id out.
    let algorithms = PROVIDER.signature_verification_algorithms;
    let remote_peer = certificate::verify(peer_certificate, UnixTime::now(), &algorithms)?.peer_id;
    let muxer = match connection.alpn_protocol() {
        None => None,
        Some(alpn) if alpn == ALPN.as_bytes() => None,
        Some(alpn) => Some(String::from_utf8_lossy(alpn).into_owned()),
    };
    let suite = connection
        .negotiated_cipher_suite()
        .ok_or_else(|| TlsError::Unsupported("no cipher suite".into()))?;
    let limit = suite
        .tls13()
        .map(|s| s.common.confidentiality_limit)
        .ok_or_else(|| TlsError::Unsupported("not TLS 1.3".into()))?;
    let cipher = suite.suite().as_str();
    let secrets = connection.dangerous_extract_secrets()?;
    let (tx_seq, tx) = secrets.tx;
    let (rx_seq, rx) = secrets.rx;
    let (algorithm, key, iv) = traffic_keys(&tx)?;
    let seal = Sealer::new(algorithm, key, iv, tx_seq, limit)?;
    let (algorithm, key, iv) = traffic_keys(&rx)?;
    let open = Opener::new(algorithm, key, iv, rx_seq, u64::MAX)?;
    tracing::debug!(%remote_peer, ?muxer, ?cipher, "TLS handshake done");
    Ok(Secured {
        remote_peer,
        muxer,
        cipher,
        seal,
        open,
        unsent,
    })
}

/// The AEAD, key and IV of one direction's traffic secrets.
fn traffic_keys(
    secrets: &ConnectionTrafficSecrets,
) -> Result<(AeadAlgorithm, &[u8], &[u8]), TlsError> {
    match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => {
            Ok((AeadAlgorithm::Aes128Gcm, key.as_ref(), iv.as_ref()))
        }
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => {
            Ok((AeadAlgorithm::Aes256Gcm, key.as_ref(), iv.as_ref()))
        }
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
            Ok((AeadAlgorithm::Chacha20Poly1305, key.as_ref(), iv.as_ref()))
        }
        _ => Err(TlsError::Unsupported(
            "an AEAD other than the TLS 1.3 three".into(),
        )),
    }
}

impl<A: RecordAead> Seal for record::Sealer<A> {
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> std::io::Result<()> {
        record::Sealer::seal(self, plaintext, out).map_err(std::io::Error::from)
    }

    fn framing(&self) -> Option<Framing> {
        Some(Framing {
            prefix: HEADER_LEN,
            suffix: record::SUFFIX_LEN,
            max_plaintext: record::MAX_PLAINTEXT_LEN,
        })
    }

    fn seal_in_place(&mut self, unit: &mut [u8]) -> std::io::Result<()> {
        record::Sealer::seal_in_place(self, unit).map_err(std::io::Error::from)
    }
}

impl<A: RecordAead> Open for record::Opener<A> {
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> std::io::Result<()> {
        record::Opener::open(self, input, out).map_err(std::io::Error::from)
    }

    fn open_next(&mut self, input: &mut BytesMut) -> std::io::Result<Option<BytesMut>> {
        record::Opener::open_next(self, input).map_err(std::io::Error::from)
    }

    fn is_finished(&self) -> bool {
        self.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::keypair_from_seed;
    use crate::multistream::EchoCheck;
    use crate::tls::CertificateError;
    use crate::tls::certificate::tests::{custom_certificate_and_key, good_value};
    use tokio::io::DuplexStream;

    const YAMUX: &str = "/yamux/1.0.0";

    fn lazy() -> LazyProposal {
        let mut proposal = BytesMut::new();
        multistream::encode_proposal(PROTOCOL_ID, &mut proposal);
        LazyProposal {
            proposal,
            echo: EchoCheck::new(PROTOCOL_ID),
        }
    }

    type Side = (
        Result<Secured<Sealer, Opener>, UpgradeError>,
        BufferedIo<DuplexStream>,
    );

    /// Runs a dialer on `client` and a listener on `server` (after multistream-select) over
    /// a duplex pipe; the dialer's last flight is written.
    async fn run_pair(client: Connection, server: Connection) -> (Side, Side) {
        let (a, b) = tokio::io::duplex(1 << 16);
        let listener = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            multistream::listener_select(&mut io, &[PROTOCOL_ID])
                .await
                .unwrap();
            let secured = listen(&mut io, server).await;
            if let Ok(secured) = &secured
                && !secured.unsent.is_empty()
            {
                io.write_all(&secured.unsent).await.unwrap();
            }
            (secured, io)
        });
        let mut io = BufferedIo::new(a);
        let secured = dial(&mut io, lazy(), client).await;
        if let Ok(secured) = &secured {
            io.write_all(&secured.unsent).await.unwrap();
        } else {
            drop(io);
            let (a, _) = tokio::io::duplex(1);
            return ((secured, BufferedIo::new(a)), listener.await.unwrap());
        }
        ((secured, io), listener.await.unwrap())
    }

    fn client(tls: &Tls, seed: u64, expected: Option<PeerId>, muxers: &[&str]) -> Connection {
        let (certificate, key) = certificate::generate(&keypair_from_seed(seed)).unwrap();
        let config = tls
            .client_config(certificate, key, expected, muxers)
            .unwrap();
        client_connection(config).unwrap()
    }

    fn server_config(tls: &Tls, seed: u64, muxers: &[&str]) -> ServerConfig {
        let (certificate, key) = certificate::generate(&keypair_from_seed(seed)).unwrap();
        tls.server_config(certificate, key, muxers).unwrap()
    }

    fn server(tls: &Tls, seed: u64, muxers: &[&str]) -> Connection {
        let config = server_config(tls, seed, muxers);
        ServerConnection::new(Arc::new(config)).unwrap().into()
    }

    /// The next application data `opener` finds on `io`.
    async fn receive(io: &mut BufferedIo<DuplexStream>, opener: &mut Opener) -> BytesMut {
        loop {
            if let Some(data) = opener.open_next(&mut io.read_buf).unwrap() {
                return data;
            }
            assert!(io.fill().await.unwrap() > 0, "eof");
        }
    }

    /// `from` seals `data` onto its stream; `to` opens it.
    async fn send(from: &mut Side, to: &mut Side, data: &[u8]) {
        let mut wire = BytesMut::new();
        from.0.as_mut().unwrap().seal.seal(data, &mut wire).unwrap();
        from.1.write_all(&wire).await.unwrap();
        let (secured, io) = (to.0.as_mut().unwrap(), &mut to.1);
        let mut got = Vec::new();
        while got.len() < data.len() {
            got.extend_from_slice(&receive(io, &mut secured.open).await);
        }
        assert!(got == data, "{} bytes differ", data.len());
    }

    #[tokio::test]
    async fn every_suite_agrees_the_muxer_in_alpn_and_carries_data_both_ways() {
        for suite in [
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        ] {
            let tls = Tls::with_cipher_suites(&[suite]);
            let expected = keypair_from_seed(0).public().to_peer_id();
            let (mut c, mut s) = run_pair(
                client(&tls, 1, Some(expected), &[YAMUX]),
                server(&tls, 0, &[YAMUX]),
            )
            .await;
            let (client, server) = (c.0.as_ref().unwrap(), s.0.as_ref().unwrap());
            assert_eq!(client.remote_peer, expected);
            assert_eq!(
                server.remote_peer,
                keypair_from_seed(1).public().to_peer_id()
            );
            assert_eq!(client.muxer.as_deref(), Some(YAMUX));
            assert_eq!(server.muxer.as_deref(), Some(YAMUX));
            assert_eq!(client.cipher, suite.as_str());
            assert_eq!(server.cipher, suite.as_str());
            let big = vec![0x5a; 40_000];
            send(&mut c, &mut s, b"from the dialer").await;
            send(&mut s, &mut c, &big).await;
            send(&mut c, &mut s, &big).await;
        }
    }

    #[tokio::test]
    async fn a_peer_offering_only_libp2p_leaves_the_muxer_to_multistream_select() {
        let tls = Tls::default();
        for (client_muxers, server_muxers) in [(&[YAMUX][..], &[][..]), (&[], &[YAMUX])] {
            let (c, s) = run_pair(
                client(&tls, 1, None, client_muxers),
                server(&tls, 0, server_muxers),
            )
            .await;
            assert_eq!(c.0.unwrap().muxer, None);
            assert_eq!(s.0.unwrap().muxer, None);
        }
    }

    #[tokio::test]
    async fn a_wrong_expected_peer_id_is_rejected_with_both_ids() {
        let tls = Tls::default();
        let wrong = keypair_from_seed(7).public().to_peer_id();
        let (c, s) = run_pair(client(&tls, 1, Some(wrong), &[]), server(&tls, 0, &[])).await;
        match c.0 {
            Err(UpgradeError::Tls(TlsError::Certificate(CertificateError::PeerIdMismatch {
                expected,
                actual,
            }))) => {
                assert_eq!(*expected, wrong);
                assert_eq!(*actual, keypair_from_seed(0).public().to_peer_id());
            }
            other => panic!("{other:?}"),
        }
        // The listener learns it from the alert rustls sends for a verifier's own error.
        match s.0 {
            Err(UpgradeError::Tls(TlsError::Rustls(rustls::Error::AlertReceived(alert)))) => {
                assert_eq!(alert, rustls::AlertDescription::CertificateUnknown)
            }
            other => panic!("{other:?}"),
        }
    }

    /// A dialer presenting a certificate made by `value`: the listener's verdict.
    async fn listener_verdict(
        value: impl FnOnce(&Keypair, &[u8]) -> Option<Vec<u8>>,
    ) -> Result<Secured<Sealer, Opener>, UpgradeError> {
        let tls = Tls::default();
        let (certificate, key) = custom_certificate_and_key(&keypair_from_seed(1), value, |_| {});
        let config = tls.client_config(certificate, key, None, &[]).unwrap();
        let (_, s) = run_pair(client_connection(config).unwrap(), server(&tls, 0, &[])).await;
        s.0
    }

    #[tokio::test]
    async fn certificates_without_the_extension_or_with_a_bad_signature_are_rejected() {
        assert!(matches!(
            listener_verdict(|_, _| None).await,
            Err(UpgradeError::Tls(TlsError::Certificate(
                CertificateError::MissingExtension
            )))
        ));
        assert!(matches!(
            listener_verdict(|id, _| good_value(id, b"not this certificate's key")).await,
            Err(UpgradeError::Tls(TlsError::Certificate(
                CertificateError::BadExtensionSignature
            )))
        ));
        // The control: the same path with a good extension passes.
        assert!(listener_verdict(good_value).await.is_ok());
    }

    #[tokio::test]
    async fn session_tickets_behind_the_handshake_are_skipped() {
        let tls = Tls::default();
        let mut config = server_config(&tls, 0, &[YAMUX]);
        config.send_tls13_tickets = 2;
        let server = ServerConnection::new(Arc::new(config)).unwrap().into();
        let (mut c, mut s) = run_pair(client(&tls, 1, None, &[YAMUX]), server).await;
        // The tickets went out with the server's traffic key (rustls puts both in one record):
        // its sealer goes on behind them.
        assert!(s.0.as_ref().unwrap().seal.seq() >= 1);
        send(&mut s, &mut c, b"behind two tickets").await;
        send(&mut c, &mut s, b"and back").await;
    }

    #[tokio::test]
    async fn a_peer_that_does_not_speak_tls_gets_a_clear_error() {
        let (a, b) = tokio::io::duplex(1 << 10);
        let peer = tokio::spawn(async move {
            let mut io = BufferedIo::new(b);
            multistream::listener_select(&mut io, &[PROTOCOL_ID])
                .await
                .unwrap();
            io.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await
                .unwrap();
            io
        });
        let mut io = BufferedIo::new(a);
        let result = dial(&mut io, lazy(), client(&Tls::default(), 1, None, &[])).await;
        assert!(
            matches!(
                result,
                Err(UpgradeError::Tls(TlsError::UnexpectedRecord(b'H')))
            ),
            "{result:?}"
        );
        drop(peer.await.unwrap());
    }
}
