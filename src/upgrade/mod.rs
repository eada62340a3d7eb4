//! The libp2p connection upgrade as a pipeline of stages:
//! transport → multistream-select → security → multistream-select (or the muxer agreed inside
//! the security handshake) → muxer.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/connections/README.md>. Each stage is behind
//! a small trait: [`Transport`] (TCP or WebSocket, [`crate::transport`]), [`SecurityStage`]
//! (Noise, TLS or `/plaintext/2.0.0`, [`security`]) and [`MuxerStage`] (yamux, [`muxer`]);
//! multistream-select runs between them ([`crate::multistream`]). One function assembles them for [`dial`] and
//! [`accept`]: a new security protocol is a module implementing [`SecurityStage`] plus one arm
//! in its match on [`Security`] (and the variant of [`Security`] and of [`UpgradeError`]).
//!
//! The dialer proposes the one protocol of [`ConnectionConfig::security`]; the listener offers
//! multistream-select every protocol of [`ConnectionConfig::accept`] and runs the stage of the
//! one agreed.
//!
//! The dialer is lazy wherever it has a single candidate, as rust-libp2p's `V1Lazy`, when the
//! security protocol allows it ([`SecurityStage::LAZY`], Noise does): the `/noise` proposal
//! leaves together with Noise message 1, and the `/yamux/1.0.0` proposal together with message 3;
//! the listener's answers are checked by [`EchoCheck`] when they
//! arrive (the second one by [`EchoOpen`] on the first plaintext). TLS is lazy the same way
//! (ClientHello, then the client's last flight). When both sides list `/yamux/1.0.0` in the
//! handshake (Noise extensions, TLS ALPN; go and js do), the muxer negotiation is skipped
//! entirely, as the spec on inlined muxer negotiation requires;
//! [`ConnectionConfig::early_muxer`] `false` offers none, forcing multistream-select inside the
//! channel. With plaintext the dialer waits for each answer.

use std::time::Duration;

use bytes::BytesMut;
use libp2p_identity::{Keypair, PeerId};
use tokio::net::TcpStream;

use crate::bufio::BufferedIo;
use crate::multistream::{self, EchoCheck, NegotiationError};
use crate::noise::{self, NoiseError};
use crate::plaintext::{self, PlaintextError};
use crate::security::Security;
use crate::tls::{self, TlsError};
use crate::transport::{Addr, Socket, TcpConfig, Transport, TransportKind, ws::Ws};
use crate::yamux::driver::{DriverOptions, Open, Seal, Tasks};
use crate::yamux::{self, Connection, Role};

pub mod muxer;
pub mod secured;
pub mod security;

pub use muxer::{EchoOpen, MuxerStage, Yamux};
pub use secured::{SecuredParts, SecuredStream};
pub use security::{LazyProposal, Secured, SecurityStage};

/// Default bound on the whole upgrade (TCP connect to the first yamux byte).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to set up connections.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Our libp2p identity.
    pub identity: Keypair,
    /// yamux settings for every connection.
    pub yamux: yamux::Config,
    /// Settings of the yamux driver for every connection.
    pub driver: DriverOptions,
    /// Socket options.
    pub tcp: TcpConfig,
    /// Bound on connecting plus the security and muxer handshakes.
    pub handshake_timeout: Duration,
    /// The security protocol the dialer proposes: Noise (default), TLS or `/plaintext/2.0.0`.
    pub security: Security,
    /// The security protocols the listener accepts (default
    /// [`Security::LISTENER_DEFAULT`]).
    pub accept: Vec<Security>,
    /// Offer the muxer inside the security handshake (Noise extensions, TLS ALPN), so that a
    /// peer doing the same skips multistream-select for it (default `true`).
    pub early_muxer: bool,
}

impl ConnectionConfig {
    /// Defaults around an identity.
    pub fn new(identity: Keypair) -> Self {
        Self {
            identity,
            yamux: yamux::Config::default(),
            driver: DriverOptions::default(),
            tcp: TcpConfig::default(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            security: Security::Noise,
            accept: Security::LISTENER_DEFAULT.to_vec(),
            early_muxer: true,
        }
    }

    /// Does the one-time start-up of every security stage these settings may run
    /// ([`SecurityStage::prepare`]: aws-lc's random generator for TLS), so that it does not count
    /// in the first connection's setup time. Call it before dialing or listening; a later call
    /// costs nothing.
    pub fn prepare(&self) {
        let mut used = self.accept.clone();
        used.push(self.security);
        used.sort();
        used.dedup();
        for security in used {
            match security {
                Security::Noise => noise::Noise::prepare(),
                Security::Tls => tls::Tls::prepare(),
                Security::Plaintext => plaintext::Plaintext::prepare(),
            }
        }
    }

    /// The muxer stage of these settings.
    fn muxer(&self) -> Yamux<'_> {
        Yamux {
            config: &self.yamux,
            driver: &self.driver,
        }
    }
}

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpgradeError {
    /// TCP failed.
    #[error("tcp")]
    Io(#[from] std::io::Error),
    /// multistream-select failed (the peer does not speak `/noise` or `/yamux/1.0.0`).
    #[error("multistream-select")]
    Negotiation(#[from] NegotiationError),
    /// The Noise handshake failed (includes a peer id that does not match the address).
    #[error("noise handshake failed")]
    Noise(#[from] NoiseError),
    /// The TLS handshake failed (includes a peer id that does not match the address).
    #[error("tls handshake failed")]
    Tls(#[from] TlsError),
    /// The `/plaintext/2.0.0` exchange failed (includes a peer id that does not match).
    #[error("plaintext exchange failed")]
    Plaintext(#[from] PlaintextError),
    /// The security handshake agreed on a muxer this pipeline does not run.
    #[error("the handshake agreed on muxer {0:?}, which is not ours")]
    UnknownMuxer(String),
    /// The listener accepts no security protocol.
    #[error("the listener accepts no security protocol")]
    NothingAccepted,
    /// The upgrade took longer than the handshake timeout.
    #[error("connection setup timed out after {0:?}")]
    Timeout(Duration),
}

/// An authenticated, multiplexed connection.
#[derive(Debug)]
pub struct Established {
    /// The yamux connection.
    pub connection: Connection,
    /// Its driver tasks.
    pub tasks: Tasks,
    /// The peer's id, as proven by the Noise or TLS handshake (only claimed, with plaintext).
    pub remote_peer: PeerId,
    /// The security protocol of the connection.
    pub security: Security,
    /// Its cipher suite ([`Secured::cipher`]), `None` with plaintext.
    pub cipher: Option<&'static str>,
}

impl Established {
    fn new(
        security: Security,
        (peer, (connection, tasks)): (Authenticated, (Connection, Tasks)),
    ) -> Self {
        Self {
            connection,
            tasks,
            remote_peer: peer.remote_peer,
            security,
            cipher: peer.cipher,
        }
    }
}

/// Who the security stage authenticated, and how.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated {
    /// The peer's id ([`Secured::remote_peer`]).
    pub remote_peer: PeerId,
    /// The cipher suite ([`Secured::cipher`]).
    pub cipher: Option<&'static str>,
}

async fn with_timeout<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, UpgradeError>>,
) -> Result<T, UpgradeError> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(UpgradeError::Timeout(limit)))
}

/// Dials `addr` over its transport and upgrades the connection. A `/p2p/` id in the address
/// must match the peer.
pub async fn dial(addr: &Addr, config: &ConnectionConfig) -> Result<Established, UpgradeError> {
    with_timeout(config.handshake_timeout, async {
        let side = Side::Dialer {
            expected: addr.peer,
        };
        match addr.transport {
            TransportKind::Tcp => upgrade(side, config.tcp.dial(addr.socket).await?, config).await,
            TransportKind::Ws => {
                let ws = Ws { tcp: &config.tcp };
                upgrade(side, ws.dial(addr.socket).await?, config).await
            }
        }
    })
    .await
}

/// Upgrades a TCP connection a listener of `transport` accepted (the transport's own handshake
/// included in the handshake timeout).
pub async fn accept(
    tcp: TcpStream,
    transport: TransportKind,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    with_timeout(config.handshake_timeout, async {
        match transport {
            TransportKind::Tcp => {
                upgrade(Side::Listener, config.tcp.accept(tcp).await?, config).await
            }
            TransportKind::Ws => {
                let ws = Ws { tcp: &config.tcp };
                upgrade(Side::Listener, ws.accept(tcp).await?, config).await
            }
        }
    })
    .await
}

/// Which end of the connection runs the upgrade.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// The dialer, with the peer it dialled if the address named one.
    Dialer { expected: Option<PeerId> },
    /// The listener.
    Listener,
}

/// The assembly point: multistream-select of the security protocol (the dialer proposes
/// [`ConnectionConfig::security`], the listener accepts [`ConnectionConfig::accept`]), the
/// security stage of each [`Security`], then the muxer.
async fn upgrade<T: Socket>(
    side: Side,
    socket: T,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    let mut io = BufferedIo::new(socket);
    let security = match side {
        Side::Dialer { .. } => config.security,
        Side::Listener => {
            let accepted: Vec<&str> = config.accept.iter().map(|s| s.protocol_id()).collect();
            if accepted.is_empty() {
                return Err(UpgradeError::NothingAccepted);
            }
            // go dialers propose `/tls/1.0.0` first; listener_select answers `na` to what we do
            // not accept and waits for the next proposal.
            let agreed = multistream::listener_select(&mut io, &accepted).await?;
            Security::from_protocol_id(&agreed).ok_or(UpgradeError::NothingAccepted)?
        }
    };
    let upgraded = match security {
        Security::Noise => run(side, io, &noise::Noise, config).await,
        Security::Tls => run(side, io, &tls::Tls::default(), config).await,
        Security::Plaintext => run(side, io, &plaintext::Plaintext, config).await,
    };
    upgraded.map(|upgraded| Established::new(security, upgraded))
}

/// Runs the pipeline with `security` and yamux, on `side`.
async fn run<T: Socket, S: SecurityStage>(
    side: Side,
    io: BufferedIo<T>,
    security: &S,
    config: &ConnectionConfig,
) -> Result<(Authenticated, (Connection, Tasks)), UpgradeError> {
    let muxer = config.muxer();
    match side {
        Side::Dialer { expected } => outbound(io, security, muxer, expected, config).await,
        Side::Listener => inbound(io, security, muxer, config).await,
    }
}

/// The muxers to offer inside the handshake: `ids` (the muxer's), or none without
/// [`ConnectionConfig::early_muxer`].
fn offered<'a>(config: &ConnectionConfig, ids: &'a [&'a str; 1]) -> &'a [&'a str] {
    if config.early_muxer { ids } else { &[] }
}

/// The dialer's pipeline over a connected stream `io`: multistream-select `S`, the `S`
/// handshake, then `M` (agreed inside the handshake, or by multistream-select inside the
/// channel).
pub async fn outbound<T, S, M>(
    mut io: BufferedIo<T>,
    security: &S,
    muxer: M,
    expected: Option<PeerId>,
    config: &ConnectionConfig,
) -> Result<(Authenticated, M::Muxed), UpgradeError>
where
    T: Socket,
    S: SecurityStage,
    M: MuxerStage,
{
    let mut lazy = LazyProposal::default();
    if S::LAZY {
        multistream::encode_proposal(S::PROTOCOL_ID, &mut lazy.proposal);
        lazy.echo = EchoCheck::new(S::PROTOCOL_ID);
    } else {
        multistream::dialer_select(&mut io, S::PROTOCOL_ID).await?;
    }
    let ids = [M::PROTOCOL_ID];
    let mut secured = security
        .outbound(
            &mut io,
            lazy,
            &config.identity,
            expected,
            offered(config, &ids),
        )
        .await?;
    let inline = inline_muxer::<M>(secured.muxer.as_deref())?;
    let mut echo = EchoCheck::none();
    if !inline && S::LAZY {
        // Propose the muxer inside the channel, in the same write as the handshake's end; its
        // answer is checked as the first plaintext.
        let mut proposal = BytesMut::new();
        multistream::encode_proposal(M::PROTOCOL_ID, &mut proposal);
        secured.seal.seal(&proposal, &mut secured.unsent)?;
        echo = EchoCheck::new(M::PROTOCOL_ID);
    }
    if !secured.unsent.is_empty() {
        io.write_all(&secured.unsent).await?;
    }
    let peer = Authenticated {
        remote_peer: secured.remote_peer,
        cipher: secured.cipher,
    };
    let mut channel = secured_channel(io, secured.seal, secured.open);
    if !inline && !S::LAZY {
        multistream::dialer_select(&mut channel, M::PROTOCOL_ID).await?;
    }
    let muxed = start(Role::Client, &muxer, channel, echo)?;
    Ok((peer, muxed))
}

/// The listener's pipeline over an accepted stream `io` on which multistream-select agreed on
/// `S`: the `S` handshake, then `M` (agreed inside the handshake, or by multistream-select
/// inside the channel).
pub async fn inbound<T, S, M>(
    mut io: BufferedIo<T>,
    security: &S,
    muxer: M,
    config: &ConnectionConfig,
) -> Result<(Authenticated, M::Muxed), UpgradeError>
where
    T: Socket,
    S: SecurityStage,
    M: MuxerStage,
{
    let ids = [M::PROTOCOL_ID];
    let secured = security
        .inbound(&mut io, &config.identity, offered(config, &ids))
        .await?;
    if !secured.unsent.is_empty() {
        io.write_all(&secured.unsent).await?;
    }
    let inline = inline_muxer::<M>(secured.muxer.as_deref())?;
    let peer = Authenticated {
        remote_peer: secured.remote_peer,
        cipher: secured.cipher,
    };
    let mut channel = secured_channel(io, secured.seal, secured.open);
    if !inline {
        // The dialer sent no muxer list (rust-libp2p never does): negotiate inside the channel.
        multistream::listener_select(&mut channel, &[M::PROTOCOL_ID]).await?;
    }
    let muxed = start(Role::Server, &muxer, channel, EchoCheck::none())?;
    Ok((peer, muxed))
}

/// Whether the handshake agreed on `M` itself; another muxer is an error (we offered only `M`).
fn inline_muxer<M: MuxerStage>(agreed: Option<&str>) -> Result<bool, UpgradeError> {
    match agreed {
        None => Ok(false),
        Some(muxer) if muxer == M::PROTOCOL_ID => Ok(true),
        Some(other) => Err(UpgradeError::UnknownMuxer(other.to_owned())),
    }
}

/// The secured channel over `io`'s socket, with the bytes `io` read past the handshake.
fn secured_channel<T: Socket, S: Seal + Unpin, O: Open + Unpin>(
    io: BufferedIo<T>,
    seal: S,
    open: O,
) -> BufferedIo<SecuredStream<T, S, O>> {
    let (socket, read_buf) = io.into_parts();
    BufferedIo::new(SecuredStream::new(socket, read_buf, seal, open))
}

/// Hands the secured socket of `channel`, with every byte buffered on the way, to `muxer`; `echo`
/// runs on the first plaintext (the answer to a lazy muxer proposal).
fn start<T, S, O, M>(
    role: Role,
    muxer: &M,
    channel: BufferedIo<SecuredStream<T, S, O>>,
    mut echo: EchoCheck,
) -> Result<M::Muxed, UpgradeError>
where
    T: Socket,
    S: Seal + Unpin,
    O: Open + Unpin,
    M: MuxerStage,
{
    let (stream, unread) = channel.into_parts();
    let parts = stream.into_parts();
    debug_assert!(
        parts.write_buf.is_empty(),
        "multistream-select flushes what it writes"
    );
    // Plaintext the negotiation read past its last message: in front of what is still sealed.
    let mut plaintext = unread;
    plaintext.extend_from_slice(&parts.plaintext);
    echo.consume(&mut plaintext)?;
    tracing::debug!(?role, "connection upgraded");
    Ok(muxer.start(
        role,
        parts.io,
        parts.seal,
        EchoOpen::new(parts.open, echo),
        parts.read_buf,
        plaintext,
    ))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};

    use super::*;
    use crate::identity::keypair_from_seed;

    impl Socket for DuplexStream {
        type ReadHalf = ReadHalf<DuplexStream>;
        type WriteHalf = WriteHalf<DuplexStream>;

        fn into_halves(self) -> (Self::ReadHalf, Self::WriteHalf) {
            tokio::io::split(self)
        }
    }

    /// A Noise listener that, like rust-libp2p, lists no muxer in the handshake, then answers
    /// the in-channel muxer proposal by accepting one of `muxers` (or `na`).
    async fn listener_without_inline_muxer(
        socket: DuplexStream,
        muxers: &'static [&'static str],
        config: ConnectionConfig,
    ) -> Result<(PeerId, (Connection, Tasks)), UpgradeError> {
        let mut io = BufferedIo::new(socket);
        multistream::listener_select(&mut io, &[noise::PROTOCOL_ID]).await?;
        let secured = noise::Noise.inbound(&mut io, &config.identity, &[]).await?;
        assert_eq!(secured.muxer, None);
        let mut channel = secured_channel(io, secured.seal, secured.open);
        multistream::listener_select(&mut channel, muxers).await?;
        let muxed = start(Role::Server, &config.muxer(), channel, EchoCheck::none())?;
        Ok((secured.remote_peer, muxed))
    }

    #[tokio::test]
    async fn lazy_muxer_proposal_inside_noise_reaches_the_driver_as_frames() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let server_config = ConnectionConfig::new(keypair_from_seed(0));
        let server = tokio::spawn(listener_without_inline_muxer(
            b,
            &[yamux::PROTOCOL_ID],
            server_config,
        ));
        let config = ConnectionConfig::new(keypair_from_seed(1));
        let expected = keypair_from_seed(0).public().to_peer_id();
        let (peer, (client, _tasks)) = outbound(
            BufferedIo::new(a),
            &noise::Noise,
            config.muxer(),
            Some(expected),
            &config,
        )
        .await
        .unwrap();
        assert_eq!(peer.remote_peer, expected);
        let (_, (server, _server_tasks)) = server.await.unwrap().unwrap();
        // The listener's answer came in front of its first frames; the driver saw frames only.
        let mut stream = client.open_stream().await.unwrap();
        stream.write_all(b"ping").await.unwrap();
        stream.shutdown().await.unwrap();
        let mut inbound = server.accept_stream().await.unwrap();
        let mut got = Vec::new();
        inbound.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        assert!(client.closed_reason().is_none());
    }

    #[tokio::test]
    async fn a_refused_lazy_muxer_proposal_fails_the_connection() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let server_config = ConnectionConfig::new(keypair_from_seed(0));
        // The listener only knows another muxer: it answers `na`, and then waits.
        let server = tokio::spawn(listener_without_inline_muxer(
            b,
            &["/mplex/6.7.0"],
            server_config,
        ));
        let config = ConnectionConfig::new(keypair_from_seed(1));
        let (_, (client, _tasks)) = outbound(
            BufferedIo::new(a),
            &noise::Noise,
            config.muxer(),
            None,
            &config,
        )
        .await
        .unwrap();
        // The dialer learns it from the first plaintext, in the driver's reader.
        assert!(client.accept_stream().await.is_none());
        match client.closed_reason() {
            Some(yamux::ConnectionError::Io(reason)) => {
                assert!(reason.contains("/yamux/1.0.0"), "{reason}");
            }
            other => panic!("closed for {other:?}"),
        }
        drop(client);
        server.abort();
    }

    /// Dials `client` against a listener with `server` over a duplex pipe through the whole
    /// assembly, and moves a few bytes on a stream.
    async fn pair(
        client: ConnectionConfig,
        server: ConnectionConfig,
    ) -> (
        Result<Established, UpgradeError>,
        Result<Established, UpgradeError>,
    ) {
        let (a, b) = tokio::io::duplex(1 << 16);
        let listener = tokio::spawn(async move { upgrade(Side::Listener, b, &server).await });
        let expected = Some(keypair_from_seed(0).public().to_peer_id());
        let dialer = upgrade(Side::Dialer { expected }, a, &client).await;
        if dialer.is_err() {
            listener.abort();
            return (dialer, Err(UpgradeError::Timeout(Duration::ZERO)));
        }
        (dialer, listener.await.unwrap())
    }

    async fn ping_pong(client: &Established, server: &Established) {
        let mut stream = client.connection.open_stream().await.unwrap();
        stream.write_all(b"ping").await.unwrap();
        stream.shutdown().await.unwrap();
        let mut inbound = server.connection.accept_stream().await.unwrap();
        let mut got = Vec::new();
        inbound.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        inbound.write_all(b"pong").await.unwrap();
        inbound.shutdown().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"pong");
    }

    fn configs(
        security: Security,
        early_muxer: (bool, bool),
    ) -> (ConnectionConfig, ConnectionConfig) {
        let mut client = ConnectionConfig::new(keypair_from_seed(1));
        client.security = security;
        client.early_muxer = early_muxer.0;
        let mut server = ConnectionConfig::new(keypair_from_seed(0));
        server.early_muxer = early_muxer.1;
        (client, server)
    }

    #[tokio::test]
    async fn tls_and_noise_through_the_assembly_with_and_without_the_early_muxer() {
        for security in [Security::Tls, Security::Noise] {
            for early in [(true, true), (false, true), (true, false), (false, false)] {
                let (client, server) = configs(security, early);
                let (client, server) = pair(client, server).await;
                let (client, server) = (client.unwrap(), server.unwrap());
                assert_eq!(client.security, security);
                assert_eq!(server.security, security);
                assert_eq!(client.cipher, server.cipher);
                assert!(client.cipher.is_some());
                assert_eq!(
                    server.remote_peer,
                    keypair_from_seed(1).public().to_peer_id()
                );
                ping_pong(&client, &server).await;
            }
        }
    }

    #[tokio::test]
    async fn the_listener_accepts_its_set_and_refuses_the_rest() {
        // Default: Noise and TLS, not plaintext.
        let (client, server) = configs(Security::Plaintext, (true, true));
        let (a, b) = tokio::io::duplex(1 << 16);
        let listener = tokio::spawn(async move { upgrade(Side::Listener, b, &server).await });
        let dialed = upgrade(Side::Dialer { expected: None }, a, &client).await;
        assert!(
            matches!(dialed, Err(UpgradeError::Negotiation(_))),
            "{dialed:?}"
        );
        listener.abort();
        // Restricted to TLS: a Noise dialer is refused, a TLS one served.
        let (client, mut server) = configs(Security::Noise, (true, true));
        server.accept = vec![Security::Tls];
        let (a, b) = tokio::io::duplex(1 << 16);
        let listener = tokio::spawn(async move { upgrade(Side::Listener, b, &server).await });
        let dialed = upgrade(Side::Dialer { expected: None }, a, &client).await;
        assert!(dialed.is_err());
        listener.abort();
        let (client, mut server) = configs(Security::Tls, (true, true));
        server.accept = vec![Security::Tls];
        let (client, server) = pair(client, server).await;
        ping_pong(&client.unwrap(), &server.unwrap()).await;
        // Plaintext when asked for.
        let (client, mut server) = configs(Security::Plaintext, (true, true));
        server.accept = vec![Security::Noise, Security::Plaintext];
        let (client, server) = pair(client, server).await;
        let (client, server) = (client.unwrap(), server.unwrap());
        assert_eq!(server.security, Security::Plaintext);
        assert_eq!(client.cipher, None);
        ping_pong(&client, &server).await;
        // Nothing accepted is an error, not a hang.
        let mut server = ConnectionConfig::new(keypair_from_seed(0));
        server.accept.clear();
        let (_, b) = tokio::io::duplex(16);
        assert!(matches!(
            upgrade(Side::Listener, b, &server).await,
            Err(UpgradeError::NothingAccepted)
        ));
    }

    #[tokio::test]
    async fn a_wrong_peer_id_fails_the_tls_dial_with_a_typed_error() {
        let (mut client, server) = configs(Security::Tls, (true, true));
        client.identity = keypair_from_seed(1);
        let (a, b) = tokio::io::duplex(1 << 16);
        let listener = tokio::spawn(async move { upgrade(Side::Listener, b, &server).await });
        let wrong = keypair_from_seed(9).public().to_peer_id();
        let dialed = upgrade(
            Side::Dialer {
                expected: Some(wrong),
            },
            a,
            &client,
        )
        .await;
        match dialed {
            Err(UpgradeError::Tls(TlsError::Certificate(
                tls::CertificateError::PeerIdMismatch { expected, .. },
            ))) => assert_eq!(*expected, wrong),
            other => panic!("{other:?}"),
        }
        assert!(listener.await.unwrap().is_err());
    }
}
