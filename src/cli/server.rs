//! `yamux-perf server`.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::perf::server::{self, ServerConfig};
use yamux_perf::perf::tcp;
use yamux_perf::transport::{AddrSpec, Listener, TransportKind};
use yamux_perf::units::ByteSize;

use yamux_perf::yamux;

use super::common::{CommonOpt, IdentityOpt, QuietOpt, seconds, usage};
use yamux_perf::results::Stack;

#[derive(Debug, Args)]
pub(crate) struct ServerOpt {
    /// Address to listen on: a TCP (`/ip4/…/tcp/N`, `/dns4/NAME/tcp/N`) or WebSocket
    /// (`…/tcp/N/ws`) multiaddr, HOST:PORT or [IPV6]:PORT; port 0 picks a free port. Repeat it
    /// to listen on several: the first line printed is the first address, the others follow on
    /// their own lines.
    #[arg(long, value_name = "ADDR", default_value = "/ip4/0.0.0.0/tcp/4001")]
    pub(crate) listen: Vec<AddrSpec>,
    /// Largest download a single request may ask for.
    #[arg(long, default_value = "1TiB")]
    pub(crate) max_download: ByteSize,
    /// Connections served at once (handshakes included); new TCP connections beyond it are
    /// closed at once.
    #[arg(long, default_value_t = server::DEFAULT_MAX_CONNECTIONS)]
    pub(crate) max_connections: usize,
    /// Seconds after which a connection without streams and without stream traffic is closed
    /// with GoAway; 0 disables.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) idle_timeout: f64,
    /// Seconds a connection may go without the peer taking any of the bytes we have to send
    /// (it stopped reading) before it is closed; 0 disables.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) write_timeout: f64,
    /// Budget for the sum of the receive windows of one connection's streams: bounds the
    /// unread bytes a peer can make us buffer (inbound streams are refused and window growth
    /// stops when it is spent). Default: 256MiB, or 256KiB per --max-streams if that is more.
    #[arg(long)]
    pub(crate) max_connection_window: Option<ByteSize>,
    /// Inbound streams open at once per connection; a stream beyond it is refused (reset
    /// before it is accepted, which our client reports as a refusal).
    #[arg(long, default_value_t = 1000)]
    pub(crate) max_streams: usize,
    /// `yamux` (libp2p) or `tcp`: the perf workload and a 1-byte echo over bare TCP, the
    /// baseline for `client --stack tcp`.
    #[arg(long, value_enum, default_value_t = Stack::Yamux)]
    pub(crate) stack: Stack,
    // --quiet: logs at error level only (RUST_LOG, when set, decides); addresses stay on stdout.
    #[command(flatten)]
    pub(crate) output: QuietOpt,
    #[command(flatten)]
    pub(crate) identity: IdentityOpt,
    #[command(flatten)]
    pub(crate) common: CommonOpt,
}

pub(crate) async fn run(opt: ServerOpt) -> Result<()> {
    let mut config = opt.common.connection(opt.identity.keypair()?)?;
    if opt.max_connections == 0 {
        usage!("--max-connections must be at least 1");
    }
    let idle = seconds(opt.idle_timeout, "--idle-timeout")?;
    config.yamux.idle_timeout = (!idle.is_zero()).then_some(idle);
    let write = seconds(opt.write_timeout, "--write-timeout")?;
    config.driver.write_timeout = (!write.is_zero()).then_some(write);
    if opt.max_streams == 0 {
        usage!("--max-streams must be at least 1");
    }
    config.yamux.max_inbound_streams = opt.max_streams;
    let per_stream = u64::from(yamux::DEFAULT_WINDOW);
    let budget = opt.max_connection_window.map_or_else(
        || {
            yamux::session::DEFAULT_MAX_CONNECTION_WINDOW
                .max(per_stream.saturating_mul(opt.max_streams as u64))
        },
        ByteSize::bytes,
    );
    if budget < per_stream {
        usage!("--max-connection-window must be at least 256KiB, got {budget}");
    }
    config.yamux.max_connection_window = budget;
    if opt.stack == Stack::Tcp && opt.listen.len() != 1 {
        usage!("--stack tcp listens on one address");
    }
    let peer = config.identity.public().to_peer_id();
    let mut listeners = Vec::with_capacity(opt.listen.len());
    let mut stdout = std::io::stdout();
    for listen in &opt.listen {
        let addr = listen.resolve().await?;
        if addr.peer.is_some() {
            usage!("--listen takes no /p2p/ part: the peer id comes from the key");
        }
        if opt.stack == Stack::Tcp && addr.transport != TransportKind::Tcp {
            usage!("--stack tcp serves bare TCP only: {listen} is not a /tcp address");
        }
        let listener =
            Listener::bind(&addr, &config.tcp).with_context(|| format!("listening on {listen}"))?;
        let local = listener.local_addr()?.with_peer(peer);
        // One line per address, the first one first (server processes are started by reading
        // it: src/sweep/process.rs, the interop runner and the tests).
        writeln!(stdout, "{local}")?;
        tracing::info!("listening on {local}");
        listeners.push(listener);
    }
    stdout.flush()?;
    if opt.stack == Stack::Tcp {
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let (max, payload) = (opt.max_download.bytes(), opt.common.payload());
        tcp::serve(
            listeners.remove(0).tcp,
            config.tcp,
            max,
            payload,
            opt.max_connections,
            shutdown,
        )
        .await?;
        return Ok(());
    }
    let config = Arc::new(ServerConfig {
        connection: config,
        max_download: opt.max_download.bytes(),
        payload: opt.common.payload(),
        max_connections: opt.max_connections,
    });
    server::run(listeners, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
