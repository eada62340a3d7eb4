//! `yamux-perf client`.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use yamux_perf::identity;
use yamux_perf::perf::churn::Churn;
use yamux_perf::perf::client::{self, ClientConfig};
use yamux_perf::perf::fairness::{ShareLog, ShortFlows};
use yamux_perf::perf::iperf3::{self, CpuUtilization};
use yamux_perf::perf::report::{self, JsonFormat, RunReport, final_line};
use yamux_perf::perf::server::{self, ServerConfig};
use yamux_perf::perf::tcp;
use yamux_perf::perf::{Progress, Request};
use yamux_perf::probe::{LatencyUnderLoad, ProbeConfig, ProbeKind};
use yamux_perf::procstat::{self, ProcessUsage};
use yamux_perf::transport::{Addr, AddrSpec, Listener, TransportKind};
use yamux_perf::units::ByteSize;

use super::common::{CommonOpt, IdentityOpt, OutputOpt, check_output_files, seconds, usage};
use yamux_perf::results::Stack;
use yamux_perf::security::Security;

#[derive(Debug, Args)]
pub(crate) struct ClientOpt {
    /// Server address: a multiaddr (/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…, /dns4/NAME/tcp/N,
    /// /ws at the end for WebSocket; a /p2p/ id is verified), HOST:PORT or [IPV6]:PORT. Without
    /// it, an in-process server on a free loopback port is started and used.
    #[arg(long, value_name = "ADDR")]
    pub(crate) server: Option<AddrSpec>,
    /// Bytes to upload (B, KiB, MiB, GiB, KB, MB, GB or a plain count).
    #[arg(long, default_value = "0")]
    pub(crate) upload: ByteSize,
    /// Bytes to request back from the server.
    #[arg(long, default_value = "0")]
    pub(crate) download: ByteSize,
    /// Seconds between intermediary JSON lines.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) interval: f64,
    /// Give up after this many seconds (0 = never).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) timeout: f64,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Wait for the server's answer to the /perf/1.0.0 proposal before sending the request
    /// (costs a round trip; js perf servers need it for tiny uploads).
    #[arg(long)]
    pub(crate) no_lazy: bool,
    /// Half-close right after the upload instead of after the server's /perf/1.0.0 answer:
    /// one round trip less for tiny transfers (use it for latency against rust, go and
    /// yamux-perf servers); js-libp2p servers lose such streams.
    #[arg(long)]
    pub(crate) early_fin: bool,
    /// Parallel perf streams per connection, each with the full --upload/--download.
    #[arg(long, default_value_t = 1)]
    pub(crate) streams: usize,
    /// Parallel connections, each with --streams streams.
    #[arg(long, default_value_t = 1)]
    pub(crate) connections: usize,
    /// Staggered starts: stream k (counted over all connections) opens k times this after the
    /// first (e.g. 200ms); fairness counts a stream only in the intervals it was open for.
    #[arg(long, allow_hyphen_values = true, value_parser = yamux_perf::units::parse_duration, conflicts_with_all = ["latency", "ping"])]
    pub(crate) stagger: Option<Duration>,
    /// Short flows during the bulk transfer, COUNT:SIZE (e.g. 20:64KiB): COUNT perf streams
    /// downloading SIZE each on the first connection, one every 100 ms from the start of the
    /// bulk streams; the report gets their flow completion times.
    #[arg(long, value_name = "COUNT:SIZE", conflicts_with_all = ["latency", "ping"])]
    pub(crate) short_flows: Option<ShortFlows>,
    /// Latency mode: N round trips of 1 byte each way, each on a fresh stream (as test-plans
    /// measures latency); prints percentiles instead of throughput.
    #[arg(long, conflicts_with_all = ["upload", "download", "streams", "connections"])]
    pub(crate) latency: Option<usize>,
    /// Churn mode, N[:CONCURRENCY] (e.g. 100000:16): N perf streams of 1 byte each way opened
    /// and closed on one connection, at most CONCURRENCY (default 1) at a time; prints streams
    /// per second, open-to-close percentiles and this process's resident memory after 1000
    /// streams and at the end (with the in-process server, both sides' memory).
    #[arg(long, value_name = "N[:CONCURRENCY]", conflicts_with_all = ["upload", "download", "streams", "connections", "latency", "ping", "probe", "stagger", "short_flows"])]
    pub(crate) churn: Option<Churn>,
    /// Ping mode: N round trips of libp2p ping (`/ipfs/ping/1.0.0`, 32 bytes each way) on one
    /// established stream, the like-for-like counterpart of a TCP ping-pong (with --stack tcp:
    /// 32-byte ping-pongs on one connection); prints percentiles.
    #[arg(long, conflicts_with_all = ["upload", "download", "streams", "connections", "latency"])]
    pub(crate) ping: Option<usize>,
    /// Latency under load: `ping` runs libp2p pings (`/ipfs/ping/1.0.0`) on a stream of the
    /// transfer's (first) connection and, as a control, on a second connection to the same
    /// server, one per --probe-interval, for --probe-idle before the transfer and then while it
    /// runs; the report gets `latency_under_load` and stderr the muxer-added latency.
    #[arg(long, value_enum, conflicts_with_all = ["latency", "ping"])]
    pub(crate) probe: Option<ProbeKind>,
    /// One probe ping per this interval (e.g. 10ms); a tick that finds the previous ping
    /// unanswered is skipped (counted as missed).
    #[arg(long, default_value = "10ms", value_parser = yamux_perf::units::parse_duration, requires = "probe")]
    pub(crate) probe_interval: Duration,
    /// The idle phase: how long the probes ping before the transfer starts.
    #[arg(long, default_value = "1s", value_parser = yamux_perf::units::parse_duration, requires = "probe")]
    pub(crate) probe_idle: Duration,
    /// Write the full report (per-stream goodput, yamux counters, RTT samples, intervals, CPU
    /// and peak RSS) as JSON to this file (with --stack tcp: no peer id, yamux RTT or counters).
    #[arg(long)]
    pub(crate) report: Option<PathBuf>,
    /// The shape of what --report and --json-only write: `ours` (the full report) or `iperf3`
    /// (iperf3's -J document: start, intervals, end with sum_sent = upload and sum_received =
    /// download; throughput runs only; see docs/output.md).
    #[arg(long, value_enum, default_value_t = JsonFormat::Ours)]
    pub(crate) json_format: JsonFormat,
    /// Write the client's window-growth trace (receive-window decisions and send credit) to
    /// this file as JSON lines.
    #[arg(long)]
    pub(crate) window_trace: Option<PathBuf>,
    /// `yamux` (libp2p: multistream-select, --security, yamux) or `tcp`: the same workload
    /// over bare TCP against a `server --stack tcp` (one connection per stream; --latency is a
    /// 1-byte ping-pong on one connection), the baseline the stack is compared with.
    #[arg(long, value_enum, default_value_t = Stack::Yamux)]
    pub(crate) stack: Stack,
    /// Transport of the in-process server (without --server): `tcp` or `ws` (WebSocket);
    /// with --server, the address decides (`/ws` at its end).
    #[arg(long, value_enum, conflicts_with = "server")]
    pub(crate) transport: Option<TransportKind>,
    #[command(flatten)]
    pub(crate) output: OutputOpt,
    #[command(flatten)]
    pub(crate) identity: IdentityOpt,
    #[command(flatten)]
    pub(crate) common: CommonOpt,
}

/// Starts a server on a free loopback port inside this process (over `--transport`); returns
/// its address.
fn start_embedded_server(opt: &ClientOpt) -> Result<Addr> {
    let config = opt.common.connection(identity::generate())?;
    let transport = opt.transport.unwrap_or_default();
    if opt.stack == Stack::Tcp && transport != TransportKind::Tcp {
        bail!("--stack tcp runs over bare TCP only, not --transport {transport}");
    }
    let listener = Listener::bind(&Addr::new("127.0.0.1:0".parse()?, transport), &config.tcp)?;
    let addr = listener
        .local_addr()?
        .with_peer(config.identity.public().to_peer_id());
    if opt.stack == Stack::Tcp {
        let (tcp, payload) = (config.tcp, opt.common.payload());
        let serve = tcp::serve(
            listener.tcp,
            tcp,
            u64::MAX,
            payload,
            usize::MAX,
            std::future::pending(),
        );
        tokio::spawn(serve);
        return Ok(addr);
    }
    let config = Arc::new(ServerConfig {
        connection: config,
        max_download: u64::MAX,
        payload: opt.common.payload(),
        max_connections: usize::MAX,
    });
    tokio::spawn(server::run(vec![listener], config, std::future::pending()));
    tracing::info!("in-process server at {}", addr.to_multiaddr());
    Ok(addr)
}

pub(crate) async fn run(opt: ClientOpt) -> Result<()> {
    if opt.streams == 0 || opt.connections == 0 {
        usage!("--streams and --connections must be at least 1");
    }
    if let Err(many) = Security::proposed(&opt.common.security) {
        usage!("the client proposes one --security protocol, got {many:?}");
    }
    let interval = seconds(opt.interval, "--interval")?;
    if interval.is_zero() {
        usage!("--interval must be above 0");
    }
    let limit = seconds(opt.timeout, "--timeout")?;
    if opt.json_format == JsonFormat::Iperf3
        && (opt.latency.is_some() || opt.ping.is_some() || opt.churn.is_some())
    {
        usage!(
            "--json-format {} describes a throughput run: not with --latency, --ping or --churn",
            opt.json_format.as_str()
        );
    }
    if opt.stack == Stack::Tcp && opt.window_trace.is_some() {
        usage!("--window-trace needs --stack yamux (bare TCP has no windows)");
    }
    // Before the transfer, not after it.
    check_output_files(
        opt.report
            .iter()
            .chain(&opt.window_trace)
            .map(|p| p.as_path()),
    )?;
    let server = match &opt.server {
        Some(addr) => addr.resolve().await?,
        None => start_embedded_server(&opt)?,
    };
    let started = Started::now(server.socket);
    if opt.stack == Stack::Tcp {
        if opt.churn.is_some() {
            usage!("--churn needs --stack yamux: its streams share one connection");
        }
        if opt.stagger.is_some() || opt.short_flows.is_some() {
            usage!("--stagger and --short-flows need --stack yamux: they share one connection");
        }
        if opt.probe.is_some() {
            usage!(
                "--probe needs --stack yamux: it pings on a stream of the transfer's connection"
            );
        }
        return run_tcp(&opt, server, &started, limit, interval).await;
    }
    let probe = opt
        .probe
        .map(|kind| ProbeConfig::new(kind, opt.probe_interval, opt.probe_idle))
        .transpose()
        .map_err(|e| super::common::UsageError(e.to_string()))?;
    let mut connection = opt.common.connection(opt.identity.keypair()?)?;
    connection.yamux.trace_windows = opt.window_trace.is_some();
    let config = ClientConfig {
        server,
        request: Request {
            upload: opt.upload.bytes(),
            download: opt.download.bytes(),
            payload: opt.common.payload(),
            lazy: !opt.no_lazy,
            early_fin: opt.early_fin,
        },
        streams: opt.streams,
        connections: opt.connections,
        stagger: opt.stagger.unwrap_or_default(),
        short_flows: opt.short_flows,
        connection,
    };
    let against = || format!("perf run against {}", config.server.to_multiaddr());
    let rounds = match (opt.latency, opt.ping) {
        (Some(rounds), _) => Some((
            format!("latency   {rounds} round trips of 1 byte"),
            with_limit(limit, client::run_latency(&config, rounds)).await?,
        )),
        (None, Some(rounds)) => Some((
            format!("ping      {rounds} round trips of 32 bytes on one stream"),
            with_limit(limit, client::run_ping(&config, rounds)).await?,
        )),
        (None, None) => None,
    };
    if let Some(churn) = opt.churn {
        let (report, churned) = with_limit(limit, client::run_churn(&config, churn))
            .await?
            .with_context(against)?;
        if !opt.output.quiet() {
            eprintln!("{}", churned.summary());
        }
        return finish(&opt, &RunReport::from_churn(&report, churned), &started);
    }
    if let Some((what, report)) = rounds {
        let run_report = RunReport::from_latency(&report.with_context(against)?);
        if !opt.output.quiet() {
            print_percentiles(&what, &run_report.latency_ms);
        }
        return finish(&opt, &run_report, &started);
    }

    let progress = Arc::new(Progress::default());
    let total =
        (config.request.upload + config.request.download) * (opt.streams * opt.connections) as u64;
    let bar =
        (!opt.no_progress && !opt.output.quiet() && std::io::stderr().is_terminal()).then(|| {
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
    let (reporter, lines, shares) = intervals(&opt, &progress, interval, move |up, down| {
        if let Some(bar) = &tick_bar {
            bar.set_position(up + down);
        }
    });
    let result = with_limit(limit, client::run_probed(&config, progress.clone(), probe)).await;
    reporter.abort();
    let _ = reporter.await;
    // The tail: the bytes since the last tick.
    let mut shares = std::mem::take(&mut *shares.lock().unwrap_or_else(|e| e.into_inner()));
    shares.record(&progress.streams());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (report, latency_under_load) = result?.with_context(against)?;
    if !opt.output.json_only {
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", final_line(&report).to_json())?;
        stdout.flush()?;
    }
    let run_report = RunReport {
        latency_under_load,
        ..RunReport::from_client(&report, take(&lines), shares)
    };
    if !opt.output.quiet() {
        eprint!("{}", report::summary(&report));
        if let Some(l) = &run_report.latency_under_load {
            print_latency_under_load(l);
        }
        if let Some(f) = &run_report.fairness {
            eprintln!("{}", f.summary());
        }
        if let Some(s) = &run_report.short_flows {
            eprintln!("{}", s.summary());
        }
    }
    if let Some(path) = &opt.window_trace {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        report::write_trace(&report.window_trace, std::io::BufWriter::new(file))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    finish(&opt, &run_report, &started)
}

/// Both probes' percentiles and the muxer-added latency (loaded, same minus separate) on stderr.
fn print_latency_under_load(l: &LatencyUnderLoad) {
    for (what, side) in [
        ("same conn", &l.same_connection),
        ("separate ", &l.separate_connection),
    ] {
        for (phase, p) in [("idle  ", &side.idle_ms), ("loaded", &side.loaded_ms)] {
            eprintln!(
                "probe     {what} {phase}: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, n {}",
                p.p50, p.p90, p.p99, p.max, p.n
            );
        }
    }
    match l.muxer_added() {
        Some(m) => eprintln!(
            "muxer-added latency (loaded, same minus separate connection): p50 {:.3} ms, p99 {:.3} ms",
            m.p50, m.p99
        ),
        None => eprintln!(
            "muxer-added latency not measured: a probe has no loaded sample (the transfer ended within one --probe-interval)"
        ),
    }
}

/// `--stack tcp`: the workload over bare TCP.
async fn run_tcp(
    opt: &ClientOpt,
    server: Addr,
    started: &Started,
    limit: Duration,
    interval: Duration,
) -> Result<()> {
    if server.transport != TransportKind::Tcp {
        bail!(
            "--stack tcp runs over bare TCP: {server} is a {} address",
            server.transport
        );
    }
    let tcp_config = opt.common.connection(identity::generate())?.tcp;
    let against = || format!("bare TCP run against {}", server.socket);
    let pongs = match (opt.latency, opt.ping) {
        (Some(rounds), _) => Some((
            format!("latency   {rounds} tcp ping-pongs of 1 byte"),
            with_limit(limit, tcp::run_latency(server.socket, &tcp_config, rounds)).await?,
        )),
        (None, Some(rounds)) => Some((
            format!("ping      {rounds} tcp ping-pongs of 32 bytes"),
            with_limit(limit, tcp::run_ping(server.socket, &tcp_config, rounds)).await?,
        )),
        (None, None) => None,
    };
    if let Some((what, report)) = pongs {
        let report = report.with_context(against)?;
        let ms: Vec<f64> = report
            .samples
            .iter()
            .map(|d| d.as_secs_f64() * 1e3)
            .collect();
        if !opt.output.quiet() {
            print_percentiles(&what, &ms);
        }
        return finish(opt, &RunReport::from_tcp_latency(&report), started);
    }
    let request = Request {
        upload: opt.upload.bytes(),
        download: opt.download.bytes(),
        payload: opt.common.payload(),
        lazy: true,
        early_fin: true,
    };
    let connections = opt.streams * opt.connections;
    let progress = Arc::new(Progress::default());
    let (reporter, lines, _) = intervals(opt, &progress, interval, |_, _| {});
    let run = tcp::run(server.socket, &tcp_config, request, connections, progress);
    let result = with_limit(limit, run).await;
    reporter.abort();
    let report = result?.with_context(against)?;
    let line = report::Line {
        kind: report::LineKind::Final,
        time_seconds: report.total_duration.as_secs_f64(),
        upload_bytes: report.stream.upload_bytes,
        download_bytes: report.stream.download_bytes,
    };
    if !opt.output.json_only {
        println!("{}", line.to_json());
    }
    if !opt.output.quiet() {
        eprint!("{}", report::transfer_summary(&report.stream));
        eprintln!(
            "total     {:.3} s (bare TCP, {connections} connection(s))",
            line.time_seconds
        );
    }
    finish(opt, &RunReport::from_tcp(&report, take(&lines)), started)
}

type Lines = Arc<Mutex<Vec<report::Line>>>;
type Shares = Arc<Mutex<ShareLog>>;

/// Prints an intermediary line on stdout every `interval` (none with --json-only) until the
/// task is aborted, keeping the lines and the per-stream bytes for the report.
fn intervals(
    opt: &ClientOpt,
    progress: &Arc<Progress>,
    interval: Duration,
    on_tick: impl FnMut(u64, u64) + Send + 'static,
) -> (tokio::task::JoinHandle<()>, Lines, Shares) {
    let (lines, shares) = (Lines::default(), Shares::default());
    let out: Box<dyn Write + Send> = if opt.output.json_only {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stdout())
    };
    let task = report::spawn_intervals(
        progress.clone(),
        interval,
        out,
        lines.clone(),
        shares.clone(),
        on_tick,
    );
    (task, lines, shares)
}

fn take(lines: &Lines) -> Vec<report::Line> {
    std::mem::take(&mut *lines.lock().unwrap_or_else(|e| e.into_inner()))
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

/// When a run started, against which server, and this process's CPU then: what an iperf3
/// document adds to the report.
struct Started {
    at: SystemTime,
    clock: Instant,
    cpu: Option<ProcessUsage>,
    server: SocketAddr,
}

impl Started {
    fn now(server: SocketAddr) -> Self {
        Started {
            at: SystemTime::now(),
            clock: Instant::now(),
            cpu: procstat::read(None),
            server,
        }
    }

    /// This process's CPU since then.
    fn cpu(&self) -> Option<CpuUtilization> {
        let (before, now) = self.cpu.zip(procstat::read(None))?;
        CpuUtilization::of(&now.since(&before), self.clock.elapsed())
    }
}

/// Writes the report, in the shape of `--json-format`, to `--report` and, with `--json-only`,
/// to stdout (its only output).
fn finish(opt: &ClientOpt, report: &RunReport, started: &Started) -> Result<()> {
    let text = match opt.json_format {
        JsonFormat::Ours => serde_json::to_string_pretty(report)?,
        JsonFormat::Iperf3 => serde_json::to_string_pretty(&iperf3::Document::new(
            report,
            started.at,
            started.server,
            started.cpu(),
        ))?,
    } + "\n";
    if let Some(path) = &opt.report {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if opt.output.json_only {
        let mut stdout = std::io::stdout();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
    }
    Ok(())
}

/// Prints `what: p50 …, p90 …, p99 …, max …` (milliseconds) to stderr.
fn print_percentiles(what: &str, samples_ms: &[f64]) {
    if let Some((p50, p90, p99, max)) = report::latency_percentiles(samples_ms) {
        eprintln!("{what}: p50 {p50:.3} ms, p90 {p90:.3} ms, p99 {p99:.3} ms, max {max:.3} ms");
    }
}
