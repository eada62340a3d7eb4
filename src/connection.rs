//! The libp2p connection upgrade: TCP → multistream-select `/noise` → Noise XX → yamux, or with
//! [`Security::Plaintext`]: TCP → `/plaintext/2.0.0` → identity exchange → `/yamux/1.0.0` → yamux.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/connections/README.md>. This module only
//! sequences the layers below it and hands the socket to the yamux driver.
//!
//! The dialer is lazy wherever it has a single candidate, as rust-libp2p's `V1Lazy`: the `/noise`
//! proposal leaves together with Noise message 1, and the `/yamux/1.0.0` proposal together with
//! message 3 (the listener's answer is checked as a byte prefix when it arrives). When both sides
//! list `/yamux/1.0.0` in the Noise extensions (go and js do), the muxer negotiation is skipped
//! entirely, as the spec on inlined muxer negotiation requires.

use std::time::Duration;

use bytes::BytesMut;
use libp2p_identity::{Keypair, PeerId};
use tokio::net::TcpStream;

use crate::bufio::BufferedIo;
use crate::multistream::{self, NegotiationError};
use crate::noise::{self, Handshake, NoiseError, NoiseStream};
use crate::plaintext::{self, PlaintextError};
pub use crate::security::Security;
use crate::transport::{self, TcpAddr, TcpConfig};
use crate::yamux::driver::{Identity, Open, Seal, Tasks, Transport};
use crate::yamux::{self, Connection, Role, Session};

/// Default bound on the whole upgrade (TCP connect to the first yamux byte).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to set up connections.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Our libp2p identity.
    pub identity: Keypair,
    /// yamux settings for every connection.
    pub yamux: yamux::Config,
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
            tcp: TcpConfig::default(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            security: Security::Noise,
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

impl Seal for noise::Sealer {
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> std::io::Result<()> {
        noise::Sealer::seal(self, plaintext, out).map_err(std::io::Error::other)
    }

    fn framing(&self) -> Option<crate::yamux::driver::Framing> {
        Some(crate::yamux::driver::Framing {
            prefix: noise::LENGTH_PREFIX_LEN,
            suffix: noise::TAG_LEN,
            max_plaintext: noise::MAX_PLAINTEXT_LEN,
        })
    }

    fn seal_in_place(&mut self, unit: &mut [u8]) -> std::io::Result<()> {
        noise::Sealer::seal_in_place(self, unit).map_err(std::io::Error::other)
    }

    fn seal_pieces(&mut self, pieces: &[&[u8]], unit: &mut [u8]) -> std::io::Result<()> {
        noise::Sealer::seal_pieces(self, pieces, unit).map_err(std::io::Error::other)
    }
}

impl Open for noise::Opener {
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> std::io::Result<()> {
        noise::Opener::open(self, input, out)
            .map(drop)
            .map_err(std::io::Error::other)
    }

    fn open_next(&mut self, input: &mut BytesMut) -> std::io::Result<Option<BytesMut>> {
        noise::Opener::open_next(self, input).map_err(std::io::Error::other)
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

/// Dials `addr` and upgrades the connection. A `/p2p/` id in the address must match the peer.
pub async fn dial(addr: &TcpAddr, config: &ConnectionConfig) -> Result<Established, UpgradeError> {
    with_timeout(config.handshake_timeout, async {
        let tcp = transport::dial(addr.socket, &config.tcp).await?;
        match config.security {
            Security::Noise => upgrade_outbound(tcp, addr.peer, config).await,
            Security::Plaintext => plaintext_outbound(tcp, addr.peer, config).await,
        }
    })
    .await
}

/// Upgrades an accepted TCP connection.
pub async fn accept(
    tcp: TcpStream,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    transport::configure_accepted(&tcp, &config.tcp)?;
    match config.security {
        Security::Noise => {
            with_timeout(config.handshake_timeout, upgrade_inbound(tcp, config)).await
        }
        Security::Plaintext => {
            with_timeout(config.handshake_timeout, plaintext_inbound(tcp, config)).await
        }
    }
}

/// Dialer side of `/plaintext/2.0.0`; the yamux proposal leaves with our `Exchange` only after
/// the peer's arrived (go's `insecure` reads its message and nothing more, but waiting costs just
/// one round trip of the setup).
async fn plaintext_outbound(
    tcp: TcpStream,
    expected: Option<PeerId>,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    let mut io = BufferedIo::new(tcp);
    multistream::dialer_select(&mut io, plaintext::PROTOCOL_ID).await?;
    let remote_peer = plaintext::handshake(&mut io, &config.identity, expected, &[]).await?;
    multistream::dialer_select(&mut io, yamux::PROTOCOL_ID).await?;
    let (tcp, read_buf) = io.into_parts();
    Ok(spawn_yamux(
        Role::Client,
        tcp,
        remote_peer,
        plain_transport(read_buf),
        config,
    ))
}

/// Listener side of `/plaintext/2.0.0`.
async fn plaintext_inbound(
    tcp: TcpStream,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    let mut io = BufferedIo::new(tcp);
    multistream::listener_select(&mut io, &[plaintext::PROTOCOL_ID]).await?;
    let remote_peer = plaintext::handshake(&mut io, &config.identity, None, &[]).await?;
    multistream::listener_select(&mut io, &[yamux::PROTOCOL_ID]).await?;
    let (tcp, read_buf) = io.into_parts();
    Ok(spawn_yamux(
        Role::Server,
        tcp,
        remote_peer,
        plain_transport(read_buf),
        config,
    ))
}

/// The driver's byte transform for plaintext: none, with `read_buf` as the first yamux bytes.
fn plain_transport(read_buf: BytesMut) -> Transport<(), (), Identity, Identity> {
    Transport {
        reader: (),
        writer: (),
        seal: Identity,
        open: Identity,
        read_buf,
        plaintext: BytesMut::new(),
        expect_prefix: Vec::new(),
    }
}

async fn upgrade_outbound(
    tcp: TcpStream,
    expected: Option<PeerId>,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    let mut io = BufferedIo::new(tcp);
    let mut handshake = Handshake::initiator(&config.identity, expected, &[yamux::PROTOCOL_ID])?;
    handshake.expect_prefix(multistream::expected_echo(noise::PROTOCOL_ID));
    // First flight: multistream header, `/noise`, Noise message 1.
    let mut out = BytesMut::new();
    multistream::encode_proposal(noise::PROTOCOL_ID, &mut out);
    handshake.write_message(&mut out)?;
    io.write_all(&out).await?;
    out.clear();
    while !handshake.read_message(&mut io.read_buf)? {
        if io.fill().await? == 0 {
            return Err(NoiseError::UnexpectedEof.into());
        }
    }
    handshake.write_message(&mut out)?;
    let mut established = handshake.into_established()?;
    // Without an agreed muxer from the handshake, propose yamux inside the channel, in the same
    // write as message 3, and check the answer as the first plaintext bytes.
    let expect_prefix = if established.muxer.is_some() {
        Vec::new()
    } else {
        let mut proposal = BytesMut::new();
        multistream::encode_proposal(yamux::PROTOCOL_ID, &mut proposal);
        established.sealer.seal(&proposal, &mut out)?;
        multistream::expected_echo(yamux::PROTOCOL_ID)
    };
    io.write_all(&out).await?;
    let (tcp, read_buf) = io.into_parts();
    Ok(start_yamux(
        Role::Client,
        tcp,
        established,
        read_buf,
        BytesMut::new(),
        expect_prefix,
        config,
    ))
}

async fn upgrade_inbound(
    tcp: TcpStream,
    config: &ConnectionConfig,
) -> Result<Established, UpgradeError> {
    let mut io = BufferedIo::new(tcp);
    // go dialers propose `/tls/1.0.0` first; listener_select answers `na` and waits for `/noise`.
    multistream::listener_select(&mut io, &[noise::PROTOCOL_ID]).await?;
    let handshake = Handshake::responder(&config.identity, &[yamux::PROTOCOL_ID])?;
    let established = noise::upgrade(&mut io, handshake, BytesMut::new()).await?;
    let (tcp, read_buf) = io.into_parts();
    if established.muxer.is_some() {
        return Ok(start_yamux(
            Role::Server,
            tcp,
            established,
            read_buf,
            BytesMut::new(),
            Vec::new(),
            config,
        ));
    }
    // The dialer sent no muxer list (rust-libp2p never does): negotiate inside the channel.
    let noise::Established {
        remote_peer,
        remote_key,
        muxer,
        sealer,
        opener,
    } = established;
    let mut io = BufferedIo::new(NoiseStream::new(tcp, read_buf, sealer, opener));
    multistream::listener_select(&mut io, &[yamux::PROTOCOL_ID]).await?;
    let (stream, mut plaintext) = io.into_parts();
    let parts = stream.into_parts();
    debug_assert!(
        parts.write_buf.is_empty(),
        "listener_select flushes its answer"
    );
    plaintext.extend_from_slice(&parts.plaintext);
    let established = noise::Established {
        remote_peer,
        remote_key,
        muxer,
        sealer: parts.sealer,
        opener: parts.opener,
    };
    Ok(start_yamux(
        Role::Server,
        parts.io,
        established,
        parts.read_buf,
        plaintext,
        Vec::new(),
        config,
    ))
}

fn start_yamux(
    role: Role,
    tcp: TcpStream,
    established: noise::Established,
    read_buf: BytesMut,
    plaintext: BytesMut,
    expect_prefix: Vec<u8>,
    config: &ConnectionConfig,
) -> Established {
    let transport = Transport {
        reader: (),
        writer: (),
        seal: established.sealer,
        open: established.opener,
        read_buf,
        plaintext,
        expect_prefix,
    };
    spawn_yamux(role, tcp, established.remote_peer, transport, config)
}

/// Starts the yamux driver on `tcp` with the byte transform and buffers of `parts` (whose
/// reader and writer are placeholders, filled from `tcp`).
fn spawn_yamux<S: Seal, O: Open>(
    role: Role,
    tcp: TcpStream,
    remote_peer: PeerId,
    parts: Transport<(), (), S, O>,
    config: &ConnectionConfig,
) -> Established {
    tracing::debug!(%remote_peer, ?role, "connection upgraded");
    let (reader, writer) = tcp.into_split();
    let session = Session::new(role, config.yamux.clone(), std::time::Instant::now());
    let transport = Transport {
        reader,
        writer,
        seal: parts.seal,
        open: parts.open,
        read_buf: parts.read_buf,
        plaintext: parts.plaintext,
        expect_prefix: parts.expect_prefix,
    };
    let (connection, tasks) = Connection::spawn(session, transport);
    Established {
        connection,
        tasks,
        remote_peer,
    }
}
