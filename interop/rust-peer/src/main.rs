//! `rust-libp2p-perf`: a real rust-libp2p `/perf/1.0.0` peer over TCP or WebSocket + Noise, TLS
//! or plaintext + yamux (`--transport tcp|ws`, `--security noise|tls|plaintext`, as the go peer).
//!
//! It exists so that yamux-perf can be tested against the reference implementation. The perf
//! protocol itself is the `libp2p-perf` 0.3.0 crate (client and server behaviours); this file
//! only builds the swarm, parses a test-plans style command line and prints test-plans JSON.
//!
//! Server: `rust-libp2p-perf --run-server --server-address 127.0.0.1:4001`
//!   prints `/ip4/127.0.0.1/tcp/4001[/ws]/p2p/<peer id>` as its first stdout line, then serves
//!   forever.
//! Client: `rust-libp2p-perf --server-address <IP:PORT | multiaddr> --upload-bytes N --download-bytes M`
//!   prints `intermediary` JSON lines and one `final` JSON line, exits non-zero on any error.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Parser, ValueEnum};
use futures::{AsyncRead, AsyncWrite, StreamExt};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::core::Transport;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{
    identity, noise, plaintext, tcp, tls, websocket, yamux, Multiaddr, PeerId, SwarmBuilder,
};
use libp2p_perf::{client, server, Final, Intermediate, Run, RunParams, RunUpdate};
use serde::Serialize;
use tracing_subscriber::EnvFilter;

/// Command line, test-plans style (the same flags the go/js/py interop peers take).
#[derive(Debug, Parser)]
#[command(
    name = "rust-libp2p-perf",
    version,
    about = "rust-libp2p /perf/1.0.0 peer (TCP or WebSocket + Noise, TLS or plaintext + yamux)"
)]
struct Opts {
    /// Run as a perf server (listen and serve /perf/1.0.0 forever).
    #[arg(long)]
    run_server: bool,

    /// Server: IP:PORT to listen on (port 0 picks a free port).
    /// Client: IP:PORT or a multiaddr `/ip4/../tcp/..[/p2p/<peer id>]` to dial.
    #[arg(long)]
    server_address: String,

    /// Client: bytes to upload on the perf stream.
    #[arg(long, default_value_t = 0, conflicts_with = "run_server")]
    upload_bytes: usize,

    /// Client: bytes to request back from the server.
    #[arg(long, default_value_t = 0, conflicts_with = "run_server")]
    download_bytes: usize,

    /// Transport: `tcp`, or `ws` (WebSocket, libp2p-websocket over TCP; an IP:PORT address
    /// gets `/ws`).
    #[arg(long, value_enum, default_value_t = TransportChoice::Tcp)]
    transport: TransportChoice,

    /// Secure channel: `noise`, `tls` (`/tls/1.0.0`, libp2p-tls) or `plaintext`
    /// (`/plaintext/2.0.0`, libp2p-plaintext).
    #[arg(long, value_enum, default_value_t = SecurityChoice::Noise)]
    security: SecurityChoice,

    /// Ed25519 secret seed: 32 bytes whose first 8 are N little-endian, the rest zero
    /// (0 = the go test-plans key 12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN).
    /// Default: a random key.
    #[arg(long)]
    key_seed: Option<u64>,

    /// Client: give up (exit non-zero) after this many seconds; 0 = never.
    #[arg(long, default_value_t = 120)]
    timeout: u64,

    /// Client: give up after this many consecutive seconds without a single byte moving;
    /// 0 = never. Guards against libp2p-perf 0.3.0 spinning on an early EOF.
    #[arg(long, default_value_t = 10)]
    stall_timeout: u64,

    /// Use plain multistream-select V1 (wait for the listener's confirmation) on outbound
    /// streams instead of V1Lazy (the libp2p-perf default).
    #[arg(long)]
    no_lazy: bool,
}

/// The transport under the secure channel (`--transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TransportChoice {
    Tcp,
    Ws,
}

/// The one secure channel the swarm offers and accepts (`--security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SecurityChoice {
    Noise,
    Tls,
    Plaintext,
}

/// One test-plans JSON line.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    r#type: &'static str,
    time_seconds: f64,
    upload_bytes: usize,
    download_bytes: usize,
}

impl Report {
    fn print(&self) {
        let line = serde_json::to_string(self).expect("report serializes");
        let mut out = std::io::stdout().lock();
        // A closed stdout is not worth dying for mid-run; the exit code still tells.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();

    let opts = Opts::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rust-libp2p-perf: error: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };

    let result = if opts.run_server {
        runtime.block_on(run_server(&opts))
    } else {
        runtime.block_on(run_client(&opts))
    };

    match result {
        Ok(()) => {
            let _ = std::io::stdout().flush();
            // Do not wait for the runtime to wind down connection tasks.
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("rust-libp2p-perf: error: {e:#}");
            let _ = std::io::stdout().flush();
            // A libp2p-perf client task may be spinning; exit without joining it.
            std::process::exit(1)
        }
    }
}

fn keypair(seed: Option<u64>) -> Result<identity::Keypair> {
    match seed {
        None => Ok(identity::Keypair::generate_ed25519()),
        Some(n) => {
            let mut secret = [0u8; 32];
            secret[..8].copy_from_slice(&n.to_le_bytes());
            identity::Keypair::ed25519_from_bytes(secret).context("ed25519 key from seed")
        }
    }
}

/// `base` upgraded as the SwarmBuilder's `with_tcp` does (multistream-select V1Lazy, then the
/// one secure channel of `--security`, then yamux), boxed so every choice has one type.
fn upgrade<T>(
    base: T,
    key: &identity::Keypair,
    security: SecurityChoice,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>>
where
    T: Transport + Send + Unpin + 'static,
    T::Output: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    T::Error: Send + Sync + 'static,
    T::Dial: Send + 'static,
    T::ListenerUpgrade: Send + 'static,
{
    let base = base.upgrade(Version::V1Lazy);
    let muxer = yamux::Config::default;
    Ok(match security {
        SecurityChoice::Noise => base
            .authenticate(noise::Config::new(key)?)
            .multiplex(muxer())
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
        SecurityChoice::Tls => base
            .authenticate(tls::Config::new(key)?)
            .multiplex(muxer())
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
        SecurityChoice::Plaintext => base
            .authenticate(plaintext::Config::new(key))
            .multiplex(muxer())
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
    })
}

/// The swarm's only transport: TCP (nodelay) or WebSocket over it, upgraded with `--security`.
fn transport(opts: &Opts, key: &identity::Keypair) -> Result<Boxed<(PeerId, StreamMuxerBox)>> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    match opts.transport {
        TransportChoice::Tcp => upgrade(tcp, key, opts.security),
        TransportChoice::Ws => upgrade(websocket::WsConfig::new(tcp), key, opts.security),
    }
}

fn build_swarm<B: NetworkBehaviour>(opts: &Opts, behaviour: B) -> Result<Swarm<B>> {
    let version = if opts.no_lazy {
        Version::V1
    } else {
        Version::V1Lazy
    };
    let key = keypair(opts.key_seed)?;
    let transport = transport(opts, &key)?;
    let swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(|_| transport)?
        .with_behaviour(|_| behaviour)
        .map_err(|e| anyhow!("behaviour: {e:?}"))?
        .with_swarm_config(|cfg| {
            cfg.with_substream_upgrade_protocol_override(version)
                .with_idle_connection_timeout(Duration::from_secs(300))
        })
        .build();
    Ok(swarm)
}

/// Turns `IP:PORT` (with `/ws` for `--transport ws`) or a multiaddr into a TCP or WebSocket
/// multiaddr (without `/p2p/`) and an optional peer id; the multiaddr must match `transport`.
fn parse_address(s: &str, transport: TransportChoice) -> Result<(Multiaddr, Option<PeerId>)> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        let mut addr = Multiaddr::empty()
            .with(sa.ip().into())
            .with(Protocol::Tcp(sa.port()));
        if transport == TransportChoice::Ws {
            addr.push(Protocol::Ws("/".into()));
        }
        return Ok((addr, None));
    }
    let mut addr: Multiaddr = s
        .parse()
        .with_context(|| format!("--server-address {s:?} is neither IP:PORT nor a multiaddr"))?;
    let peer = match addr.iter().last() {
        Some(Protocol::P2p(peer)) => {
            addr.pop();
            Some(peer)
        }
        _ => None,
    };
    let mut it = addr.iter();
    let ws = match (it.next(), it.next(), it.next(), it.next()) {
        (Some(Protocol::Ip4(_) | Protocol::Ip6(_)), Some(Protocol::Tcp(_)), None, None) => false,
        (
            Some(Protocol::Ip4(_) | Protocol::Ip6(_)),
            Some(Protocol::Tcp(_)),
            Some(Protocol::Ws(_)),
            None,
        ) => true,
        _ => {
            bail!("--server-address {s:?}: expected /ip4|ip6/<ip>/tcp/<port>[/ws][/p2p/<peer id>]")
        }
    };
    if ws != (transport == TransportChoice::Ws) {
        bail!("--server-address {s:?} is not a {transport:?} address (--transport)");
    }
    Ok((addr, peer))
}

async fn run_server(opts: &Opts) -> Result<()> {
    let (listen, peer) = parse_address(&opts.server_address, opts.transport)?;
    if peer.is_some() {
        bail!("--server-address for --run-server must not contain /p2p/");
    }
    let mut swarm = build_swarm(opts, server::Behaviour::new())?;
    let local_peer_id = *swarm.local_peer_id();
    swarm
        .listen_on(listen.clone())
        .with_context(|| format!("listen on {listen}"))?;

    let mut printed = false;
    loop {
        let event = swarm.select_next_some().await;
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.with(Protocol::P2p(local_peer_id));
                if !printed {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{full}").context("write listen address to stdout")?;
                    out.flush().context("flush stdout")?;
                    printed = true;
                }
                tracing::info!(%full, transport = ?opts.transport, security = ?opts.security, "listening");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                tracing::info!(peer = %peer_id, remote = %endpoint.get_remote_address(), "connection established");
            }
            SwarmEvent::ConnectionClosed { peer_id, cause, .. } => {
                tracing::info!(peer = %peer_id, ?cause, "connection closed");
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::warn!(remote = %send_back_addr, %error, "incoming connection failed");
            }
            SwarmEvent::ListenerClosed { reason, .. } => {
                bail!("listener closed: {reason:?}");
            }
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!(%error, "listener error");
            }
            SwarmEvent::Behaviour(server::Event {
                remote_peer_id,
                stats,
            }) => {
                // Always printed (not a tracing event): the exact counts, for tests.
                eprintln!(
                    "perf stream served: peer={remote_peer_id} received={} sent={}",
                    stats.params.to_receive, stats.params.to_send
                );
                tracing::info!(peer = %remote_peer_id, "finished run: {stats}");
            }
            other => tracing::debug!(?other, "swarm event"),
        }
    }
}

/// Process CPU time (user + system) in seconds, from /proc/self/stat; None if unreadable.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux configuration we run on.
    Some((utime + stime) / 100.0)
}

/// Watches intermediary reports for runs that no longer move bytes.
///
/// libp2p-perf 0.3.0's client loops `while received < to_receive` and treats `read() == 0` as
/// "0 more bytes", so an early EOF makes it spin at 100 % CPU forever, still emitting 0-byte
/// reports once a second. A 0-byte interval that also burnt most of a core is that spin; a
/// 0-byte interval that was idle is an ordinary stall.
struct StallGuard {
    stall_limit: Option<Duration>,
    idle_for: Duration,
    spinning_intervals: u32,
    last_cpu: Option<f64>,
}

impl StallGuard {
    fn new(stall_timeout_secs: u64) -> Self {
        Self {
            stall_limit: (stall_timeout_secs > 0).then(|| Duration::from_secs(stall_timeout_secs)),
            idle_for: Duration::ZERO,
            spinning_intervals: 0,
            last_cpu: process_cpu_seconds(),
        }
    }

    fn observe(&mut self, i: &Intermediate, phase: &str) -> Result<()> {
        let cpu = process_cpu_seconds();
        let cpu_used = match (self.last_cpu, cpu) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        self.last_cpu = cpu;

        if i.sent > 0 || i.received > 0 {
            self.idle_for = Duration::ZERO;
            self.spinning_intervals = 0;
            return Ok(());
        }
        self.idle_for += i.duration;
        let wall = i.duration.as_secs_f64();
        if wall > 0.5 && cpu_used.is_some_and(|c| c >= 0.5 * wall) {
            self.spinning_intervals += 1;
        } else {
            self.spinning_intervals = 0;
        }
        if self.spinning_intervals >= 2 {
            bail!(
                "no bytes moved for {:.1} s while burning CPU ({phase} phase): the perf stream most \
                 likely reached EOF before --download-bytes arrived (libp2p-perf 0.3.0 spins on EOF)",
                self.idle_for.as_secs_f64()
            );
        }
        if let Some(limit) = self.stall_limit {
            if self.idle_for >= limit {
                bail!(
                    "no bytes moved for {:.1} s ({phase} phase); giving up",
                    self.idle_for.as_secs_f64()
                );
            }
        }
        Ok(())
    }
}

async fn run_client(opts: &Opts) -> Result<()> {
    let (addr, expected_peer) = parse_address(&opts.server_address, opts.transport)?;
    let params = RunParams {
        to_send: opts.upload_bytes,
        to_receive: opts.download_bytes,
    };
    let mut swarm = build_swarm(opts, client::Behaviour::new())?;

    let run = client_run(&mut swarm, addr, expected_peer, params, opts.stall_timeout);
    if opts.timeout == 0 {
        return run.await;
    }
    match tokio::time::timeout(Duration::from_secs(opts.timeout), run).await {
        Ok(result) => result,
        Err(_) => bail!("timed out after {} s (--timeout)", opts.timeout),
    }
}

async fn client_run(
    swarm: &mut Swarm<client::Behaviour>,
    addr: Multiaddr,
    expected_peer: Option<PeerId>,
    params: RunParams,
    stall_timeout: u64,
) -> Result<()> {
    let start = Instant::now();
    let dial = match expected_peer {
        // The swarm rejects the connection if Noise authenticates a different peer id.
        Some(peer) => DialOpts::peer_id(peer)
            .addresses(vec![addr.clone()])
            .condition(PeerCondition::Always)
            .build(),
        None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
    };
    swarm.dial(dial).with_context(|| format!("dial {addr}"))?;

    let server_peer = loop {
        match swarm.select_next_some().await {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => break peer_id,
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                bail!("connecting to {addr}: {error}")
            }
            other => tracing::debug!(?other, "swarm event"),
        }
    };
    tracing::info!(peer = %server_peer, elapsed = ?start.elapsed(), "connected");

    let run_id = swarm
        .behaviour_mut()
        .perf(server_peer, params)
        .map_err(|e| anyhow!("starting perf run: {e}"))?;

    let mut guard = StallGuard::new(stall_timeout);
    let mut uploaded_so_far = 0usize;
    let final_ = loop {
        match swarm.select_next_some().await {
            SwarmEvent::Behaviour(client::Event { id, result }) if id == run_id => match result {
                Ok(RunUpdate::Intermediate(i)) => {
                    Report {
                        r#type: "intermediary",
                        time_seconds: i.duration.as_secs_f64(),
                        upload_bytes: i.sent,
                        download_bytes: i.received,
                    }
                    .print();
                    uploaded_so_far += i.sent;
                    let phase = if uploaded_so_far < params.to_send {
                        "upload"
                    } else {
                        "download"
                    };
                    guard.observe(&i, phase)?;
                }
                Ok(RunUpdate::Final(f)) => break f,
                Err(e) => bail!("perf run failed: {e}"),
            },
            SwarmEvent::Behaviour(other) => tracing::debug!(?other, "unrelated perf event"),
            SwarmEvent::ConnectionClosed { cause, .. } => {
                bail!("connection closed before the perf run finished: {cause:?}")
            }
            other => tracing::debug!(?other, "swarm event"),
        }
    };
    let elapsed = start.elapsed();

    let Final { duration } = final_;
    tracing::info!("{}", Run { params, duration });
    Report {
        r#type: "final",
        time_seconds: elapsed.as_secs_f64(),
        upload_bytes: params.to_send,
        download_bytes: params.to_receive,
    }
    .print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_is_the_go_test_plans_key() {
        let key = keypair(Some(0)).unwrap();
        assert_eq!(
            key.public().to_peer_id().to_string(),
            "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
        );
    }

    #[test]
    fn parses_socket_and_multiaddr() {
        let tcp = TransportChoice::Tcp;
        let (a, p) = parse_address("127.0.0.1:4001", tcp).unwrap();
        assert_eq!(a.to_string(), "/ip4/127.0.0.1/tcp/4001");
        assert!(p.is_none());
        let (a, _) = parse_address("127.0.0.1:4001", TransportChoice::Ws).unwrap();
        assert_eq!(a.to_string(), "/ip4/127.0.0.1/tcp/4001/ws");
        let ws =
            "/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        assert!(parse_address(ws, TransportChoice::Ws).is_ok());
        assert!(parse_address(ws, tcp).is_err());
        let (a, p) = parse_address(
            "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
            tcp,
        )
        .unwrap();
        assert_eq!(a.to_string(), "/ip4/127.0.0.1/tcp/4001");
        assert_eq!(
            p.unwrap().to_string(),
            "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
        );
        assert!(parse_address("/ip4/127.0.0.1/udp/4001/quic-v1", tcp).is_err());
    }
}
