//! `yamux-perf`: the command line. Library errors become `anyhow` errors here, printed with
//! their causes; the exit code is non-zero on any failure.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use multiaddr::Multiaddr;
use yamux_perf::connection::{ConnectionConfig, DEFAULT_HANDSHAKE_TIMEOUT};
use yamux_perf::identity::{self, Keypair};
use yamux_perf::perf::client::{self, ClientConfig};
use yamux_perf::perf::report::{self, RunReport, final_line};
use yamux_perf::perf::server::{self, ServerConfig};
use yamux_perf::perf::{Payload, Progress, Request};
use yamux_perf::relay::{self, LinkConfig};
use yamux_perf::transport::{self, TcpAddr, TcpConfig};
use yamux_perf::units::ByteSize;
use yamux_perf::yamux::{self, WindowAccounting};

/// Throughput benchmark for libp2p's yamux over Noise over TCP, speaking `/perf/1.0.0`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve `/perf/1.0.0`; prints the listen multiaddr (with /p2p/) as the first stdout line.
    Server(ServerOpt),
    /// Run one perf transfer; JSON lines on stdout (test-plans format), a summary on stderr.
    Client(ClientOpt),
    /// Emulate a link between two TCP endpoints: delay (RTT/2 each way), rate, bounded queue.
    Relay(RelayOpt),
    /// Write an Ed25519 key file (libp2p protobuf encoding) for --key; prints its peer id.
    Keygen(KeygenOpt),
}

#[derive(Debug, Args)]
struct RelayOpt {
    /// Address to listen on (multiaddr or IP:PORT); port 0 picks a free port.
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
    listen: String,
    /// Where to relay to (multiaddr or IP:PORT). A /p2p/ id is passed on: the relay prints its
    /// own address with it, so clients still verify the real peer through the relay.
    #[arg(long)]
    to: String,
    /// Round-trip time added (half each way), e.g. 50ms.
    #[arg(long, default_value = "0", value_parser = yamux_perf::units::parse_duration)]
    rtt: Duration,
    /// Rate each way, e.g. 1Gbit or 100Mbit/s. Default: no limit.
    #[arg(long)]
    rate: Option<yamux_perf::units::Rate>,
    /// Bytes that may wait for the link before the relay stops reading (backpressure).
    #[arg(long, default_value = "4MiB")]
    queue: ByteSize,
}

#[derive(Debug, Args)]
struct KeygenOpt {
    /// Where to write the key (created with mode 0600).
    out: PathBuf,
    /// Derive the key from a seed instead of generating a random one.
    #[arg(long)]
    key_seed: Option<u64>,
}

#[derive(Debug, Args)]
struct ServerOpt {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "/ip4/0.0.0.0/tcp/4001")]
    listen: Multiaddr,
    /// Largest download a single request may ask for.
    #[arg(long, default_value = "1TiB")]
    max_download: ByteSize,
    #[command(flatten)]
    identity: IdentityOpt,
    #[command(flatten)]
    common: CommonOpt,
}

#[derive(Debug, Args)]
struct ClientOpt {
    /// Server multiaddr, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…; a /p2p/ id is verified.
    /// Without it, an in-process server on a free loopback port is started and used.
    #[arg(long)]
    server: Option<Multiaddr>,
    /// Bytes to upload (B, KiB, MiB, GiB, KB, MB, GB or a plain count).
    #[arg(long, default_value = "0")]
    upload: ByteSize,
    /// Bytes to request back from the server.
    #[arg(long, default_value = "0")]
    download: ByteSize,
    /// Seconds between intermediary JSON lines.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
    /// Give up after this many seconds (0 = never).
    #[arg(long, default_value_t = 0.0)]
    timeout: f64,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// Wait for the server's answer to the /perf/1.0.0 proposal before sending the request
    /// (costs a round trip; js perf servers need it for tiny uploads).
    #[arg(long)]
    no_lazy: bool,
    /// Parallel perf streams per connection, each with the full --upload/--download.
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Parallel connections, each with --streams streams.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Latency mode: N round trips of 1 byte each way, each on a fresh stream (as test-plans
    /// measures latency); prints percentiles instead of throughput.
    #[arg(long, conflicts_with_all = ["upload", "download", "streams", "connections"])]
    latency: Option<usize>,
    /// Write the full report (per-stream goodput, yamux counters, RTT samples, intervals, CPU
    /// and peak RSS) as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the client's window-growth trace (receive-window decisions and send credit) to
    /// this file as JSON lines.
    #[arg(long)]
    window_trace: Option<PathBuf>,
    #[command(flatten)]
    identity: IdentityOpt,
    #[command(flatten)]
    common: CommonOpt,
}

#[derive(Debug, Args)]
struct IdentityOpt {
    /// Ed25519 key from a seed: 8 little-endian bytes of N, then zeros. Seed 0 is go
    /// test-plans' server key, 12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN.
    #[arg(long, conflicts_with = "key")]
    key_seed: Option<u64>,
    /// A libp2p protobuf-encoded private key file. Default: a fresh random key.
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CommonOpt {
    /// Receive window each stream starts with (at least 256KiB; more is advertised on SYN/ACK).
    #[arg(long, default_value = "256KiB")]
    initial_window: ByteSize,
    /// Largest receive window auto-tuning may reach.
    #[arg(long, default_value = "16MiB")]
    max_window: ByteSize,
    /// Keep the receive window at its initial size.
    #[arg(long)]
    no_autotune: bool,
    /// Window update arithmetic: `full` (correct) or `go` (go-yamux v5's lost delta).
    #[arg(long, value_enum, default_value_t = AccountingOpt::Full)]
    window_accounting: AccountingOpt,
    /// Largest yamux DATA frame sent, 12-byte header included (go's MaxMessageSize).
    #[arg(long, default_value = "64KiB")]
    max_frame: ByteSize,
    /// TCP send buffer (SO_SNDBUF); default: kernel autotuning.
    #[arg(long)]
    send_buffer: Option<ByteSize>,
    /// TCP receive buffer (SO_RCVBUF); default: kernel autotuning.
    #[arg(long)]
    recv_buffer: Option<ByteSize>,
    /// Send a checkable byte pattern and verify every received byte (both ends must be
    /// yamux-perf with --verify; other peers send zeros).
    #[arg(long)]
    verify: bool,
    /// Seconds allowed for TCP connect plus the Noise and muxer handshakes.
    #[arg(long, default_value_t = DEFAULT_HANDSHAKE_TIMEOUT.as_secs_f64())]
    handshake_timeout: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AccountingOpt {
    Full,
    Go,
}

impl IdentityOpt {
    fn keypair(&self) -> Result<Keypair> {
        Ok(match (&self.key, self.key_seed) {
            (Some(path), _) => identity::load_keypair(path)
                .with_context(|| format!("reading key {}", path.display()))?,
            (None, Some(seed)) => identity::keypair_from_seed(seed),
            (None, None) => identity::generate(),
        })
    }
}

fn seconds(value: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("{what} must be a non-negative number of seconds"))
}

fn window_size(size: ByteSize, what: &str) -> Result<u32> {
    u32::try_from(size.bytes())
        .ok()
        .filter(|w| *w >= yamux::DEFAULT_WINDOW)
        .with_context(|| {
            format!(
                "{what} must be between 256KiB and 4GiB - 1 (yamux windows are 32-bit), got {size}"
            )
        })
}

impl CommonOpt {
    fn connection(&self, identity: Keypair) -> Result<ConnectionConfig> {
        let initial_window = window_size(self.initial_window, "--initial-window")?;
        let max_window = window_size(self.max_window, "--max-window")?;
        if max_window < initial_window {
            bail!(
                "--max-window ({}) is below --initial-window ({})",
                self.max_window,
                self.initial_window
            );
        }
        let max_frame = usize::try_from(self.max_frame.bytes()).unwrap_or(usize::MAX);
        if !(yamux::session::MIN_MAX_FRAME..=16 << 20).contains(&max_frame) {
            bail!(
                "--max-frame must be between 1KiB and 16MiB, got {}",
                self.max_frame
            );
        }
        let buffer = |size: Option<ByteSize>| size.map(|s| s.bytes() as usize);
        Ok(ConnectionConfig {
            identity,
            yamux: yamux::Config {
                initial_window,
                max_window,
                autotune: !self.no_autotune,
                accounting: match self.window_accounting {
                    AccountingOpt::Full => WindowAccounting::Full,
                    AccountingOpt::Go => WindowAccounting::Go,
                },
                max_frame,
                ..yamux::Config::default()
            },
            tcp: TcpConfig {
                send_buffer: buffer(self.send_buffer),
                recv_buffer: buffer(self.recv_buffer),
                ..TcpConfig::default()
            },
            handshake_timeout: seconds(self.handshake_timeout, "--handshake-timeout")?,
        })
    }

    fn payload(&self) -> Payload {
        if self.verify {
            Payload::Pattern
        } else {
            Payload::Zeros
        }
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run_server(opt: ServerOpt) -> Result<()> {
    let config = opt.common.connection(opt.identity.keypair()?)?;
    let addr = TcpAddr::from_multiaddr(&opt.listen)?;
    if addr.peer.is_some() {
        bail!("--listen takes no /p2p/ part: the peer id comes from the key");
    }
    let listener = transport::listen(addr.socket, &config.tcp)
        .with_context(|| format!("listening on {}", opt.listen))?;
    let local = TcpAddr {
        socket: listener.local_addr()?,
        peer: Some(config.identity.public().to_peer_id()),
    };
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", local.to_multiaddr())?;
    stdout.flush()?;
    tracing::info!("listening on {}", local.to_multiaddr());
    let config = Arc::new(ServerConfig {
        connection: config,
        max_download: opt.max_download.bytes(),
        payload: opt.common.payload(),
    });
    server::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Starts a server on a free loopback port inside this process; returns its address.
fn start_embedded_server(opt: &ClientOpt) -> Result<TcpAddr> {
    let config = opt.common.connection(identity::generate())?;
    let listener = transport::listen("127.0.0.1:0".parse()?, &config.tcp)?;
    let addr = TcpAddr {
        socket: listener.local_addr()?,
        peer: Some(config.identity.public().to_peer_id()),
    };
    let config = Arc::new(ServerConfig {
        connection: config,
        max_download: u64::MAX,
        payload: opt.common.payload(),
    });
    tokio::spawn(server::run(listener, config, std::future::pending()));
    tracing::info!("in-process server at {}", addr.to_multiaddr());
    Ok(addr)
}

async fn run_client(opt: ClientOpt) -> Result<()> {
    if opt.streams == 0 || opt.connections == 0 {
        bail!("--streams and --connections must be at least 1");
    }
    let interval = seconds(opt.interval, "--interval")?;
    if interval.is_zero() {
        bail!("--interval must be above 0");
    }
    let limit = seconds(opt.timeout, "--timeout")?;
    let server = match &opt.server {
        Some(addr) => TcpAddr::from_multiaddr(addr)?,
        None => start_embedded_server(&opt)?,
    };
    let mut connection = opt.common.connection(opt.identity.keypair()?)?;
    connection.yamux.trace_windows = opt.window_trace.is_some();
    let config = ClientConfig {
        server,
        request: Request {
            upload: opt.upload.bytes(),
            download: opt.download.bytes(),
            payload: opt.common.payload(),
            lazy: !opt.no_lazy,
        },
        streams: opt.streams,
        connections: opt.connections,
        connection,
    };
    let against = || format!("perf run against {}", config.server.to_multiaddr());
    if let Some(rounds) = opt.latency {
        let report = with_limit(limit, client::run_latency(&config, rounds))
            .await?
            .with_context(against)?;
        let run_report = RunReport::from_latency(&report);
        if let Some((p50, p90, p99, max)) = report::latency_percentiles(&run_report.latency_ms) {
            eprintln!(
                "latency   {rounds} round trips of 1 byte: p50 {p50:.3} ms, p90 {p90:.3} ms, p99 {p99:.3} ms, max {max:.3} ms"
            );
        }
        return write_report(opt.report.as_deref(), &run_report);
    }

    let progress = Arc::new(Progress::default());
    let total =
        (config.request.upload + config.request.download) * (opt.streams * opt.connections) as u64;
    let bar = (!opt.no_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} {elapsed}",
            )
            .expect("valid template"),
        );
        bar
    });
    let tick_bar = bar.clone();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reporter = report::spawn_intervals(
        progress.clone(),
        interval,
        std::io::stdout(),
        lines.clone(),
        move |up, down| {
            if let Some(bar) = &tick_bar {
                bar.set_position(up + down);
            }
        },
    );
    let result = with_limit(limit, client::run(&config, progress)).await;
    reporter.abort();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result?.with_context(against)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", final_line(&report).to_json())?;
    stdout.flush()?;
    eprint!("{}", report::summary(&report));
    if let Some(path) = &opt.window_trace {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        report::write_trace(&report.window_trace, std::io::BufWriter::new(file))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let intervals = std::mem::take(&mut *lines.lock().unwrap_or_else(|e| e.into_inner()));
    write_report(
        opt.report.as_deref(),
        &RunReport::from_client(&report, intervals),
    )
}

/// Runs `run`, giving up after `limit` (zero: no limit).
async fn with_limit<T>(limit: Duration, run: impl Future<Output = T>) -> Result<T> {
    if limit.is_zero() {
        return Ok(run.await);
    }
    tokio::time::timeout(limit, run)
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {limit:?}"))
}

fn write_report(path: Option<&std::path::Path>, report: &RunReport) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Parses `IP:PORT` or a TCP multiaddr.
fn tcp_addr(text: &str) -> Result<TcpAddr> {
    if let Ok(socket) = text.parse() {
        return Ok(TcpAddr { socket, peer: None });
    }
    let addr: Multiaddr = text
        .parse()
        .with_context(|| format!("{text:?} is neither IP:PORT nor a multiaddr"))?;
    Ok(TcpAddr::from_multiaddr(&addr)?)
}

async fn run_relay(opt: RelayOpt) -> Result<()> {
    let listen = tcp_addr(&opt.listen)?;
    let to = tcp_addr(&opt.to)?;
    let tcp = TcpConfig::default();
    let listener = transport::listen(listen.socket, &tcp)
        .with_context(|| format!("listening on {}", opt.listen))?;
    let link = LinkConfig {
        rtt: opt.rtt,
        rate_bits_per_second: opt.rate.map(|r| r.0),
        queue: usize::try_from(opt.queue.bytes()).context("--queue is too large")?,
    };
    let local = TcpAddr {
        socket: listener.local_addr()?,
        peer: to.peer,
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
    relay::run(listener, to.socket, link, tcp, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

fn run_keygen(opt: KeygenOpt) -> Result<()> {
    let keypair = match opt.key_seed {
        Some(seed) => identity::keypair_from_seed(seed),
        None => identity::generate(),
    };
    identity::save_keypair(&keypair, &opt.out)
        .with_context(|| format!("writing {}", opt.out.display()))?;
    println!("{}", keypair.public().to_peer_id());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Server(opt) => {
            init_logging("info");
            runtime.block_on(run_server(opt))
        }
        Command::Client(opt) => {
            init_logging("warn");
            runtime.block_on(run_client(opt))
        }
        Command::Relay(opt) => {
            init_logging("info");
            runtime.block_on(run_relay(opt))
        }
        Command::Keygen(opt) => run_keygen(opt),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
