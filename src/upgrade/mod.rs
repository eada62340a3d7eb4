//! The libp2p connection upgrade as a pipeline of stages:
//! transport → multistream-select → security → multistream-select (or the muxer agreed inside
//! the security handshake) → muxer.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/connections/README.md>. Each stage is behind
//! a small trait: [`Transport`] (TCP or WebSocket, [`crate::transport`]), [`SecurityStage`] (Noise or
//! `/plaintext/2.0.0`, [`security`]) and [`MuxerStage`] (yamux, [`muxer`]); multistream-select
//! runs between them ([`crate::multistream`]). One function assembles them for [`dial`] and
//! [`accept`]: a new security protocol is a module implementing [`SecurityStage`] plus one arm
//! in its match on [`Security`] (and the variant of [`Security`] and of [`UpgradeError`]).
//!
//! The dialer is lazy wherever it has a single candidate, as rust-libp2p's `V1Lazy`, when the
//! security protocol allows it ([`SecurityStage::LAZY`], Noise does): the `/noise` proposal
//! leaves together with Noise message 1, and the `/yamux/1.0.0` proposal together with message 3;
//! the listener's answers are checked by [`EchoCheck`] when they
//! arrive (the second one by [`EchoOpen`] on the first plaintext). When both sides list
//! `/yamux/1.0.0` in the handshake (Noise extensions; go and js do), the muxer negotiation is
//! skipped entirely, as the spec on inlined muxer negotiation requires. With plaintext the dialer
//! waits for each answer.

use std::time::Duration;

use bytes::BytesMut;
use libp2p_identity::{Keypair, PeerId};
use tokio::net::TcpStream;

use crate::bufio::BufferedIo;
use crate::multistream::{self, EchoCheck, NegotiationError};
use crate::noise::{self, NoiseError};
use crate::plaintext::{self, PlaintextError};
use crate::security::Security;
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
    /// The security protocol: Noise (default) or `/plaintext/2.0.0`.
    pub security: Security,
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
    /// The `/plaintext/2.0.0` exchange failed (includes a peer id that does not match).
    #[error("plaintext exchange failed")]
    Plaintext(#[from] PlaintextError),
    /// The security handshake agreed on a muxer this pipeline does not run.
    #[error("the handshake agreed on muxer {0:?}, which is not ours")]
    UnknownMuxer(String),
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
    /// The peer's id, as proven by the Noise handshake (only claimed, with plaintext).
    pub remote_peer: PeerId,
}

impl Established {
    fn new((remote_peer, (connection, tasks)): (PeerId, (Connection, Tasks))) -> Self {
        Self {
            connection,
            tasks,
            remote_peer,
        }
    }
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

/// The assembly point: the security stage of each [`Security`], then the muxer.
async fn upgrade<T: Socket>(
    side: Side,
    socket: T,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    match config.security {
        Security::Noise => run(side, socket, &noise::Noise, config).await,
        Security::Plaintext => run(side, socket, &plaintext::Plaintext, config).await,
    }
}

/// Runs the pipeline with `security` and yamux, on `side`.
async fn run<T: Socket, S: SecurityStage>(
    side: Side,
    socket: T,
    security: &S,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    let muxer = config.muxer();
    let upgraded = match side {
        Side::Dialer { expected } => outbound(socket, security, muxer, expected, config).await,
        Side::Listener => inbound(socket, security, muxer, config).await,
    };
    upgraded.map(Established::new)
}

/// The dialer's pipeline over a connected `socket`: multistream-select `S`, the `S` handshake,
/// then `M` (agreed inside the handshake, or by multistream-select inside the channel).
pub async fn outbound<T, S, M>(
    socket: T,
    security: &S,
    muxer: M,
    expected: Option<PeerId>,
    config: &ConnectionConfig,
) -> Result<(PeerId, M::Muxed), UpgradeError>
where
    T: Socket,
    S: SecurityStage,
    M: MuxerStage,
{
    let mut io = BufferedIo::new(socket);
    let mut lazy = LazyProposal::default();
    if S::LAZY {
        multistream::encode_proposal(S::PROTOCOL_ID, &mut lazy.proposal);
        lazy.echo = EchoCheck::new(S::PROTOCOL_ID);
    } else {
        multistream::dialer_select(&mut io, S::PROTOCOL_ID).await?;
    }
    let mut secured = security
        .outbound(&mut io, lazy, &config.identity, expected, &[M::PROTOCOL_ID])
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
    let mut channel = secured_channel(io, secured.seal, secured.open);
    if !inline && !S::LAZY {
        multistream::dialer_select(&mut channel, M::PROTOCOL_ID).await?;
    }
    let muxed = start(Role::Client, &muxer, channel, echo)?;
    Ok((secured.remote_peer, muxed))
}

/// The listener's pipeline over an accepted `socket`: multistream-select `S`, the `S`
/// handshake, then `M` (agreed inside the handshake, or by multistream-select inside the
/// channel).
pub async fn inbound<T, S, M>(
    socket: T,
    security: &S,
    muxer: M,
    config: &ConnectionConfig,
) -> Result<(PeerId, M::Muxed), UpgradeError>
where
    T: Socket,
    S: SecurityStage,
    M: MuxerStage,
{
    let mut io = BufferedIo::new(socket);
    // go dialers propose `/tls/1.0.0` first; listener_select answers `na` and waits for `/noise`.
    multistream::listener_select(&mut io, &[S::PROTOCOL_ID]).await?;
    let secured = security
        .inbound(&mut io, &config.identity, &[M::PROTOCOL_ID])
        .await?;
    if !secured.unsent.is_empty() {
        io.write_all(&secured.unsent).await?;
    }
    let inline = inline_muxer::<M>(secured.muxer.as_deref())?;
    let mut channel = secured_channel(io, secured.seal, secured.open);
    if !inline {
        // The dialer sent no muxer list (rust-libp2p never does): negotiate inside the channel.
        multistream::listener_select(&mut channel, &[M::PROTOCOL_ID]).await?;
    }
    let muxed = start(Role::Server, &muxer, channel, EchoCheck::none())?;
    Ok((secured.remote_peer, muxed))
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
        let (peer, (client, _tasks)) =
            outbound(a, &noise::Noise, config.muxer(), Some(expected), &config)
                .await
                .unwrap();
        assert_eq!(peer, expected);
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
        let (_, (client, _tasks)) = outbound(a, &noise::Noise, config.muxer(), None, &config)
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
}
