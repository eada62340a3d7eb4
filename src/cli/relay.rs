//! `yamux-perf relay`.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use yamux_perf::relay::{self, LinkConfig};
use yamux_perf::transport::{self, Addr, AddrSpec, TcpConfig};
use yamux_perf::units::ByteSize;

use super::common::QuietOpt;

#[derive(Debug, Args)]
pub(crate) struct RelayOpt {
    /// Address to listen on (a multiaddr such as /ip4/127.0.0.1/tcp/N or /dns4/NAME/tcp/N,
    /// HOST:PORT or [IPV6]:PORT); port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "/ip4/127.0.0.1/tcp/0")]
    pub(crate) listen: AddrSpec,
    /// Where to relay to (as --listen). A /p2p/ id is passed on: the
    /// relay prints its own address with it, so clients still verify the real peer through the
    /// relay.
    #[arg(long, value_name = "ADDR")]
    pub(crate) to: AddrSpec,
    /// Round-trip time added (half each way), e.g. 50ms.
    #[arg(long, default_value = "0", value_parser = yamux_perf::units::parse_duration)]
    pub(crate) rtt: Duration,
    /// Rate each way, e.g. 1Gbit or 100Mbit/s. Default: no limit.
    #[arg(long)]
    pub(crate) rate: Option<yamux_perf::units::Rate>,
    /// Bytes that may wait for the link before the relay stops reading (backpressure).
    #[arg(long, default_value = "4MiB")]
    pub(crate) queue: ByteSize,
    /// Fault injection: abort each relayed connection (a TCP reset to both ends) once this many
    /// bytes have been relayed on it, both directions together. Default: never.
    #[arg(long)]
    pub(crate) drop_after: Option<ByteSize>,
    #[command(flatten)]
    pub(crate) output: QuietOpt,
}

pub(crate) async fn run(opt: RelayOpt) -> Result<()> {
    let listen = opt.listen.resolve().await?;
    let to = opt.to.resolve().await?;
    let tcp = TcpConfig::default();
    let listener = transport::listen(listen.socket, &tcp)
        .with_context(|| format!("listening on {}", opt.listen))?;
    let link = LinkConfig {
        rtt: opt.rtt,
        rate_bits_per_second: opt.rate.map(|r| r.0),
        queue: usize::try_from(opt.queue.bytes()).context("--queue is too large")?,
    };
    // TCP bytes are relayed as they are: the address keeps the target's /ws and /p2p/.
    let local = Addr {
        socket: listener.local_addr()?,
        ..to
    };
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", local.to_multiaddr())?;
    stdout.flush()?;
    tracing::info!(
        "relaying {} -> {} with rtt {:?}, rate {}, queue {}",
        local.to_multiaddr(),
        to.socket,
        link.rtt,
        opt.rate.map_or("unlimited".to_string(), |r| r.to_string()),
        opt.queue
    );
    let faults = relay::Faults {
        drop_after: opt.drop_after.map(|b| b.bytes()),
    };
    relay::run_with_faults(listener, to.socket, link, tcp, faults, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
