//! Running a sweep: every run is a server process, maybe the relay (in this process), and a
//! client process, so that CPU time and peak RSS are each side's own.
//!
//! One run:
//! 1. start the server (`yamux-perf server` with the case's yamux options, or a foreign peer's
//!    command) and read the `/p2p/` multiaddr it prints first;
//! 2. when the case has an RTT or a rate, start [`crate::relay`] in front of it;
//! 3. read the server's CPU and peak RSS from /proc, run `yamux-perf client … --report FILE
//!    --window-trace FILE`, reading its intermediary lines for the progress display;
//! 4. read the server's usage again, kill it, stop the relay, and read the client's report.
//!
//! Every child is killed when its handle is dropped (an error, a timeout, Ctrl-C), every run is
//! bounded by the plan's timeout, and a failed run is recorded with its error and stderr tail
//! without stopping the sweep.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::config::{Case, Key, Sweep, case_fields};
use super::process::{ServerError, ServerProcess};
use super::{hgrm, host};
use crate::netns::{LinkShape, Side, Testbed};
use crate::perf::report::{Line, LineKind, RunReport};
use crate::procstat::{self, ProcessUsage};
use crate::relay::{self, LinkConfig};
use crate::results::{
    CaseConfig, CaseResult, Engine, GitRevision, HistogramSummary, Hosts, METRIC_FCT,
    METRIC_INTERVAL, METRIC_LATENCY, METRIC_TTFB, Machine, OURS, RelayInfo, RemoteServer, RunKind,
    RunResult, SCHEMA_VERSION, Spread, Stack, Summary, SummaryRow, WindowGrowth, WindowTraceLine,
};
use crate::security::Security;
use crate::transport::{self, Addr, TcpConfig, TransportKind};

/// How long a server may take to print its address.
const SERVER_START_LIMIT: Duration = super::process::ADDRESS_TIMEOUT;

/// Kill the client this long after its own `--timeout` should have ended it.
const KILL_GRACE: Duration = Duration::from_secs(15);

/// Bytes of stderr kept per process.
const STDERR_TAIL: usize = super::process::STDERR_TAIL;

/// Why a run failed (recorded in its [`RunResult`], never fatal to the sweep).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A foreign peer that `interop/build.sh` has not built.
    #[error("peer {peer}: {path} is not built; run `interop/build.sh {peer}`")]
    PeerMissing {
        /// The peer.
        peer: String,
        /// Its launcher.
        path: PathBuf,
    },
    /// A process could not be started.
    #[error("starting {program}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server did not start, printed no address in time, or not a TCP multiaddr.
    #[error(transparent)]
    Server(ServerError),
    /// The relay could not listen.
    #[error("starting the relay")]
    Relay(#[source] std::io::Error),
    /// The test hosts (`hosts = "netns"`) could not be made.
    #[error("making the test hosts")]
    Testbed(#[source] crate::netns::NetnsError),
    /// The client ran past the timeout and was killed.
    #[error("the client did not finish within {0:?} and was killed")]
    Timeout(Duration),
    /// The client exited non-zero.
    #[error("the client exited with {0}")]
    ClientFailed(std::process::ExitStatus),
    /// The client's report is missing or does not parse.
    #[error("reading the client's report {path}")]
    Report {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Waiting for a child failed.
    #[error("waiting for the client")]
    Wait(#[source] std::io::Error),
}

/// Why the sweep itself stopped (output could not be written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// Creating, writing or removing a file failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SweepError {
    let path = path.to_path_buf();
    move |source| SweepError::Io {
        action,
        path,
        source,
    }
}

/// Where and with what a sweep runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory (`cases/` and `summary.json` go under it).
    pub out_dir: PathBuf,
    /// This binary: the client, and the `ours` server.
    pub exe: PathBuf,
    /// What `{interop}` stands for in peer commands (`target/interop`).
    pub interop_dir: PathBuf,
    /// The `yamux-perf sweep …` command line, recorded in every case.
    pub sweep_command: Vec<String>,
    /// A server started elsewhere (`sweep --server`): every run dials it (through the relay
    /// when the case has one) instead of starting a server.
    pub remote_server: Option<Addr>,
}

/// What the progress display hears; every method defaults to nothing.
pub trait Observer {
    /// Case `index` (0-based) of `total` starts.
    fn case_started(&mut self, _index: usize, _total: usize, _case: &Case) {}
    /// A run starts: its kind, repetition (1-based) and how many of that kind there are.
    fn run_started(&mut self, _kind: RunKind, _repetition: u32, _of: u32) {}
    /// Bytes moved so far in the current run, of `total`, and the latest interval's rate.
    fn progress(&mut self, _bytes: u64, _total: u64, _bits_per_second: f64) {}
    /// A run ended.
    fn run_finished(&mut self, _case: &Case, _run: &RunResult) {}
    /// A case ended and its files are written.
    fn case_finished(&mut self, _result: &CaseResult) {}
    /// Something worth telling that is not an error of a run.
    fn warning(&mut self, _message: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// The options of a case that both `client` and `server` take, as flags: every matrix key
/// with a [`Flag`](crate::sweep::config::Flag), in table order, except at its default or where
/// it does not apply (the yamux settings on the bare-TCP stack).
pub fn case_args(c: &CaseConfig) -> Vec<String> {
    table_args(c, false)
}

/// The flags of the keys passed [`Flag::Load`](crate::sweep::config::Flag::Load) (`load`) or to
/// both commands (not `load`), in table order.
fn table_args(c: &CaseConfig, load: bool) -> Vec<String> {
    let fields = case_fields(c);
    Key::ALL
        .iter()
        .filter(|key| key.applies_to(c.stack) && key.load_only() == load)
        .flat_map(|key| key.args(&key.value_in(&fields)))
        .collect()
}

/// The address servers listen on: loopback, or the server host's with `hosts = "netns"`.
fn listen_ip(testbed: Option<&Testbed>) -> std::net::IpAddr {
    testbed.map_or(std::net::Ipv4Addr::LOCALHOST.into(), |t| t.ip(Side::Server))
}

/// The server command of a case (`{interop}` and `{host}` resolved), run inside the server's
/// test host when there is one.
pub fn server_command(case: &Case, options: &RunOptions, testbed: Option<&Testbed>) -> Vec<String> {
    let command = server_command_on(case, options, listen_ip(testbed));
    match testbed {
        Some(testbed) => testbed.wrap(Side::Server, &command),
        None => command,
    }
}

fn server_command_on(case: &Case, options: &RunOptions, ip: std::net::IpAddr) -> Vec<String> {
    if case.peer.name == OURS {
        let listen = Addr::new((ip, 0).into(), case.config.transport);
        let mut cmd = vec![
            options.exe.display().to_string(),
            "server".into(),
            "--listen".into(),
            listen.to_multiaddr().to_string(),
        ];
        cmd.extend(case_args(&case.config));
        return cmd;
    }
    let interop = options.interop_dir.display().to_string();
    let mut cmd: Vec<String> = case
        .peer
        .command
        .iter()
        .map(|part| {
            part.replace("{interop}", &interop)
                .replace("{host}", &ip.to_string())
        })
        .collect();
    cmd.extend(
        match case.config.security {
            Security::Noise => [].iter(),
            Security::Tls => case.peer.tls_args.iter(),
            Security::Plaintext => case.peer.plaintext_args.iter(),
        }
        .cloned(),
    );
    if case.config.transport == TransportKind::Ws {
        cmd.extend(case.peer.ws_args.iter().cloned());
    }
    cmd
}

/// The client command of a run, without `--server` (known only once the server is up).
fn client_args(
    config: &CaseConfig,
    plan_interval_s: f64,
    timeout_s: f64,
    kind: RunKind,
    report: &Path,
    trace: Option<&Path>,
) -> Vec<String> {
    let mut args = vec![
        "--no-progress".into(),
        "--timeout".into(),
        timeout_s.to_string(),
        "--report".into(),
        report.display().to_string(),
    ];
    match kind {
        RunKind::Latency => {
            args.push(config.latency_mode.client_flag().into());
            args.push(config.latency_rounds.unwrap_or(1).to_string());
        }
        RunKind::Warmup | RunKind::Measured => {
            args.extend(table_args(config, true));
            args.extend(["--interval".into(), plan_interval_s.to_string()]);
            // Bare TCP has no windows to trace.
            if let Some(trace) = trace.filter(|_| config.stack == Stack::Yamux) {
                args.push("--window-trace".into());
                args.push(trace.display().to_string());
            }
        }
    }
    args.extend(case_args(config));
    args
}

/// The last [`STDERR_TAIL`] bytes of a pipe, read until it closes.
fn collect_tail(pipe: impl AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let sink = tail.clone();
    tokio::spawn(async move {
        let mut pipe = pipe;
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
            t.extend_from_slice(&buf[..n]);
            let excess = t.len().saturating_sub(STDERR_TAIL);
            t.drain(..excess);
        }
    });
    tail
}

fn tail_text(tail: &Mutex<Vec<u8>>) -> String {
    let bytes = tail.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&bytes).trim().to_string()
}

fn empty_command() -> RunError {
    RunError::Spawn {
        program: String::new(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
    }
}

fn spawn(command: &[String], stdout: Stdio) -> Result<Child, RunError> {
    let Some((program, args)) = command.split_first() else {
        return Err(empty_command());
    };
    let program = program.clone();
    Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| RunError::Spawn { program, source })
}

/// A running server; killed when dropped.
struct Server(ServerProcess);

impl Server {
    async fn start(command: &[String]) -> Result<Server, (RunError, String)> {
        let Some((program, args)) = command.split_first() else {
            return Err((empty_command(), String::new()));
        };
        let mut cmd = std::process::Command::new(program);
        cmd.args(args);
        ServerProcess::start_async(cmd, SERVER_START_LIMIT, None)
            .await
            .map(Server)
            .map_err(|f| (RunError::Server(f.error), f.stderr_tail))
    }

    fn usage(&self) -> Option<ProcessUsage> {
        procstat::read(Some(self.0.pid()))
    }

    async fn stop(self) -> String {
        tokio::task::spawn_blocking(move || self.0.stop())
            .await
            .unwrap_or_default()
    }
}

/// The relay in this process; stops accepting when dropped.
struct RelayHandle {
    _stop: oneshot::Sender<()>,
    info: RelayInfo,
    addr: Addr,
}

fn start_relay(config: &CaseConfig, to: Addr) -> Result<RelayHandle, RunError> {
    let tcp = TcpConfig::default();
    let listener =
        transport::listen("127.0.0.1:0".parse().expect("valid"), &tcp).map_err(RunError::Relay)?;
    let local = listener.local_addr().map_err(RunError::Relay)?;
    let link = LinkConfig {
        rtt: Duration::from_secs_f64(config.rtt_ms / 1e3),
        rate_bits_per_second: config.rate_bits_per_second,
        queue: usize::try_from(config.queue_bytes).unwrap_or(usize::MAX),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(relay::run(listener, to.socket, link, tcp, async move {
        let _ = stopped.await;
    }));
    // The relay forwards TCP bytes: whatever runs over them (WebSocket too) passes through.
    let addr = Addr {
        socket: local,
        ..to
    };
    Ok(RelayHandle {
        _stop: stop,
        info: RelayInfo {
            listen: addr.to_multiaddr().to_string(),
            to: to.to_multiaddr().to_string(),
            rtt_ms: config.rtt_ms,
            rate_bits_per_second: config.rate_bits_per_second,
            queue_bytes: config.queue_bytes,
        },
        addr,
    })
}

/// Files of one run.
struct RunFiles {
    report: PathBuf,
    trace: Option<PathBuf>,
    /// The trace's name relative to `cases/`, when it is kept.
    trace_name: Option<String>,
}

struct Context<'a> {
    case: &'a Case,
    sweep: &'a Sweep,
    options: &'a RunOptions,
}

/// One run of a case. Never fails: a failure is recorded in the result.
async fn run_once(
    ctx: &Context<'_>,
    kind: RunKind,
    repetition: u32,
    files: &RunFiles,
    observer: &mut dyn Observer,
) -> RunResult {
    let case = ctx.case;
    let plan = &ctx.sweep.plan;
    let testbed = match case.config.hosts {
        Hosts::Loopback => None,
        Hosts::Netns => {
            let shape = LinkShape {
                rate_bits_per_second: case.config.rate_bits_per_second,
                queue_bytes: case.config.queue_bytes,
            };
            match tokio::task::spawn_blocking(move || Testbed::create(&shape)).await {
                Ok(Ok(testbed)) => Some(testbed),
                Ok(Err(error)) => {
                    let mut result = RunResult::new(kind, repetition, Vec::new());
                    result.error = Some(crate::error_chain(&RunError::Testbed(error)));
                    return result;
                }
                Err(join) => {
                    let mut result = RunResult::new(kind, repetition, Vec::new());
                    result.error = Some(format!("making the test hosts: {join}"));
                    return result;
                }
            }
        }
    };
    let server_command = match ctx.options.remote_server {
        Some(_) => Vec::new(),
        None => server_command(case, ctx.options, testbed.as_ref()),
    };
    let mut client_command = vec![ctx.options.exe.display().to_string(), "client".into()];
    let mut tail_args = client_args(
        &case.config,
        plan.interval_s,
        plan.timeout_s,
        kind,
        &files.report,
        files.trace.as_deref(),
    );
    if kind == RunKind::Latency {
        tail_args.extend(case.peer.latency_client_args.iter().cloned());
    }
    let mut result = RunResult::new(kind, repetition, server_command.clone());
    result.testbed = testbed.as_ref().map(|t| t.info().clone());
    result.remote_server = ctx.options.remote_server.map(|addr| RemoteServer {
        address: addr.to_string(),
        flags_not_applied: case_args(&case.config),
    });
    let fail = |mut result: RunResult, error: RunError, tail: String| {
        result.error = Some(crate::error_chain(&error));
        result.stderr_tail = (!tail.is_empty()).then_some(tail);
        result
    };

    // A launcher given as a path (not looked up on PATH) that is not there: interop/build.sh
    // has not built it, which deserves a better message than "No such file or directory".
    let launcher = server_command.get(if testbed.is_some() { 4 } else { 0 });
    if case.peer.name != OURS
        && let Some(program) = launcher.map(Path::new)
        && program.components().count() > 1
        && !program.exists()
    {
        let error = RunError::PeerMissing {
            peer: case.peer.name.clone(),
            path: program.to_path_buf(),
        };
        return fail(result, error, String::new());
    }
    let (server, server_addr) = match ctx.options.remote_server {
        Some(remote) => {
            result.server_addr = Some(remote.to_string());
            (None, remote)
        }
        None => match Server::start(&server_command).await {
            Ok(server) => {
                result.server_addr = Some(server.0.printed.clone());
                let addr = server.0.addr;
                (Some(server), addr)
            }
            Err((error, tail)) => return fail(result, error, format!("server: {tail}")),
        },
    };
    let relay = if case.config.needs_relay() {
        match start_relay(&case.config, server_addr) {
            Ok(relay) => Some(relay),
            Err(error) => {
                let tail = stop(server).await;
                return fail(result, error, format!("server: {tail}"));
            }
        }
    } else {
        None
    };
    let dial = relay.as_ref().map_or(server_addr, |r| r.addr);
    result.relay = relay.as_ref().map(|r| r.info.clone());
    client_command.extend(["--server".into(), dial.to_multiaddr().to_string()]);
    client_command.extend(tail_args);
    if let Some(testbed) = &testbed {
        client_command = testbed.wrap(Side::Client, &client_command);
    }
    result.client_command = client_command.clone();

    let before = server.as_ref().and_then(Server::usage);
    let total_bytes = match kind {
        RunKind::Latency => 0,
        _ => {
            (case.config.upload_bytes + case.config.download_bytes)
                * u64::from(case.config.streams * case.config.connections)
        }
    };
    let started = Instant::now();
    let outcome = run_client(&client_command, plan.timeout_s, total_bytes, observer).await;
    result.wall_seconds = Some(started.elapsed().as_secs_f64());
    let after = server.as_ref().and_then(Server::usage);
    result.server_usage = match (before, after) {
        (Some(b), Some(a)) => Some(a.since(&b)),
        _ => None,
    };
    let server_tail = stop(server).await;
    drop(relay);
    drop(testbed);

    let (client_tail, error) = match outcome {
        Ok(tail) => (tail, None),
        Err((error, tail)) => (tail, Some(error)),
    };
    if let Some(error) = error {
        let tail = format!("client: {client_tail}\nserver: {server_tail}");
        return fail(result, error, tail);
    }
    match read_report(&files.report) {
        Ok(report) => {
            result.client = Some(report);
            result.ok = true;
            result.stderr_tail = (!client_tail.is_empty()).then_some(client_tail);
        }
        Err(error) => return fail(result, error, client_tail),
    }
    if let (Some(trace), Some(report)) = (&files.trace, &result.client)
        && let Ok(lines) = read_trace(trace)
    {
        result.window_growth = window_growth(&lines, report, &case.config);
        result.window_trace = files.trace_name.clone();
    }
    result
}

/// Stops the server this run started, if it started one; its stderr tail.
async fn stop(server: Option<Server>) -> String {
    match server {
        Some(server) => server.stop().await,
        None => String::new(),
    }
}

/// Runs the client to completion or the timeout; `Ok` carries its stderr tail.
async fn run_client(
    command: &[String],
    timeout_s: f64,
    total_bytes: u64,
    observer: &mut dyn Observer,
) -> Result<String, (RunError, String)> {
    let mut child = spawn(command, Stdio::piped()).map_err(|e| (e, String::new()))?;
    let stderr = collect_tail(child.stderr.take().expect("piped stderr"));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let limit = Duration::from_secs_f64(timeout_s) + KILL_GRACE;
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut bytes = 0u64;
    // Follow the intermediary lines until stdout closes (the client is exiting).
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    if let Ok(line) = serde_json::from_str::<Line>(&line)
                        && line.kind == LineKind::Intermediary
                    {
                        bytes += line.upload_bytes + line.download_bytes;
                        let rate = crate::units::bits_per_second(
                            line.upload_bytes + line.download_bytes,
                            line.time_seconds,
                        );
                        observer.progress(bytes.min(total_bytes), total_bytes, rate);
                    }
                }
                _ => break,
            },
            () = &mut deadline => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err((RunError::Timeout(limit), tail_text(&stderr)));
            }
        }
    }
    let status = tokio::select! {
        status = child.wait() => status.map_err(|e| (RunError::Wait(e), tail_text(&stderr)))?,
        () = &mut deadline => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err((RunError::Timeout(limit), tail_text(&stderr)));
        }
    };
    // The stderr reader ends with the process; give it a moment to catch the last lines.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let tail = tail_text(&stderr);
    if !status.success() {
        return Err((RunError::ClientFailed(status), tail));
    }
    Ok(tail)
}

fn read_report(path: &Path) -> Result<RunReport, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::Report {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| RunError::Report {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads a `.window.jsonl` trace.
pub fn read_trace(path: &Path) -> std::io::Result<Vec<WindowTraceLine>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(std::io::Error::other))
        .collect()
}

/// How the client's receive windows grew, from its trace.
///
/// A stream's download starts at its time to first byte (measured from the stream's opening,
/// which is within a millisecond of the session start that trace times count from). Its window
/// reached the cap at the first update whose window is the cap; a case whose initial window is
/// already the cap reached it at once.
pub fn window_growth(
    lines: &[WindowTraceLine],
    report: &RunReport,
    config: &CaseConfig,
) -> Option<WindowGrowth> {
    let cap = if config.autotune {
        config.max_window_bytes
    } else {
        config.initial_window_bytes
    };
    // (connection, stream) -> (t_ms, recv_window, doubled) of each update.
    type Updates = Vec<(f64, u64, bool)>;
    let mut per_stream: BTreeMap<(u32, u32), Updates> = BTreeMap::new();
    let mut max_send_blocked_ms: Option<f64> = None;
    let mut window_updates = 0u64;
    for line in lines {
        match *line {
            WindowTraceLine::Recv {
                t_ms,
                stream,
                recv_window,
                doubled,
                connection,
                ..
            } => {
                window_updates += 1;
                per_stream.entry((connection, stream)).or_default().push((
                    t_ms,
                    recv_window,
                    doubled,
                ));
            }
            WindowTraceLine::Send { blocked_ms, .. } => {
                if let Some(b) = blocked_ms {
                    max_send_blocked_ms = Some(max_send_blocked_ms.map_or(b, |m: f64| m.max(b)));
                }
            }
        }
    }
    if per_stream.is_empty() && max_send_blocked_ms.is_none() {
        return None;
    }
    let streams_per_connection = config.streams.max(1) as usize;
    let mut slowest: Option<(f64, u32)> = None;
    let (mut at_cap, mut max_window, mut all_reached) = (0u32, 0u64, true);
    for ((connection, stream), events) in &per_stream {
        let index = *connection as usize * streams_per_connection
            + (*stream as usize).saturating_sub(1) / 2;
        let start = report
            .streams
            .get(index)
            .map(|s| s.time_to_first_byte_ms)
            .or_else(|| events.first().map(|e| e.0))
            .unwrap_or(0.0);
        max_window = max_window.max(events.iter().map(|e| e.1).max().unwrap_or(0));
        let reached = if config.initial_window_bytes >= cap {
            Some((0.0, 0))
        } else {
            events.iter().position(|e| e.1 >= cap).map(|i| {
                let doublings = events[..=i].iter().filter(|e| e.2).count() as u32;
                ((events[i].0 - start).max(0.0), doublings)
            })
        };
        match reached {
            Some((ms, doublings)) => {
                at_cap += 1;
                if slowest.is_none_or(|(s, _)| ms > s) {
                    slowest = Some((ms, doublings));
                }
            }
            None => all_reached = false,
        }
    }
    let ms_to_cap = slowest.filter(|_| all_reached).map(|(ms, _)| ms);
    Some(WindowGrowth {
        cap_bytes: cap,
        max_window_bytes: max_window,
        streams_at_cap: at_cap,
        streams: per_stream.len() as u32,
        ms_to_cap,
        rtts_to_cap: ms_to_cap
            .filter(|_| config.rtt_ms > 0.0)
            .map(|ms| ms / config.rtt_ms),
        doublings: slowest.map_or(0, |(_, d)| d),
        window_updates,
        max_send_blocked_ms,
    })
}

fn summarize(h: &Histogram<u64>, scale: f64, file: String, unit: &str) -> HistogramSummary {
    let v = |q: f64| h.value_at_quantile(q) as f64 / scale;
    HistogramSummary {
        file,
        unit: unit.into(),
        count: h.len(),
        min: h.min() as f64 / scale,
        p50: v(0.5),
        p90: v(0.9),
        p99: v(0.99),
        max: h.max() as f64 / scale,
        mean: h.mean() / scale,
    }
}

/// Builds and writes the case's histograms; returns their summaries by metric.
pub(super) fn write_histograms(
    cases_dir: &Path,
    id: &str,
    interval_s: f64,
    measured: &[&RunResult],
    latency: Option<&RunResult>,
) -> Result<BTreeMap<String, HistogramSummary>, SweepError> {
    // Recorded in µs and kbit/s, printed in ms and Mbit/s.
    const SCALE: f64 = 1000.0;
    let mut latency_h = hgrm::new_histogram();
    let mut interval_h = hgrm::new_histogram();
    let mut ttfb_h = hgrm::new_histogram();
    let mut fct_h = hgrm::new_histogram();
    if let Some(report) = latency.and_then(|r| r.client.as_ref()) {
        for ms in &report.latency_ms {
            hgrm::record_scaled(&mut latency_h, *ms, SCALE);
        }
    }
    for report in measured.iter().filter_map(|r| r.client.as_ref()) {
        // Intervals much shorter than the plan's are catch-up ticks after a stall (clients
        // before the fix to their ticker printed them), not measurements.
        let shortest = interval_s / 2.0;
        for line in report
            .intervals
            .iter()
            .filter(|l| l.time_seconds >= shortest)
        {
            let bits = crate::units::bits_per_second(
                line.upload_bytes + line.download_bytes,
                line.time_seconds,
            );
            hgrm::record_scaled(&mut interval_h, bits / 1e6, SCALE);
        }
        for stream in &report.streams {
            if stream.download.bytes > 0 {
                hgrm::record_scaled(&mut ttfb_h, stream.time_to_first_byte_ms, SCALE);
            }
        }
        for ms in report.short_flows.iter().flat_map(|s| &s.samples_ms) {
            hgrm::record_scaled(&mut fct_h, *ms, SCALE);
        }
    }
    let mut summaries = BTreeMap::new();
    for (metric, h, unit) in [
        (METRIC_LATENCY, &latency_h, "ms"),
        (METRIC_INTERVAL, &interval_h, "Mbit/s"),
        (METRIC_TTFB, &ttfb_h, "ms"),
        (METRIC_FCT, &fct_h, "ms"),
    ] {
        if h.is_empty() {
            continue;
        }
        let name = format!("{id}.{metric}.hgrm");
        let path = cases_dir.join(&name);
        let file = std::fs::File::create(&path).map_err(io_error("creating", &path))?;
        hgrm::write(h, SCALE, std::io::BufWriter::new(file)).map_err(io_error("writing", &path))?;
        summaries.insert(metric.to_string(), summarize(h, SCALE, name, unit));
    }
    Ok(summaries)
}

pub(super) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), SweepError> {
    let text = serde_json::to_string_pretty(value).expect("results serialize");
    // Write then rename, so that an interrupted sweep never leaves half a file.
    let tmp = path.with_extension("json.partial");
    std::fs::write(&tmp, text + "\n").map_err(io_error("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error("renaming", &tmp))
}

/// Removes the files of an earlier run of case `id`.
pub(super) fn clear_case(cases_dir: &Path, id: &str) -> Result<(), SweepError> {
    let Ok(entries) = std::fs::read_dir(cases_dir) else {
        return Ok(());
    };
    let prefix = format!("{id}.");
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io_error("removing", &path))?;
        }
    }
    Ok(())
}

/// Runs one case (warm-ups, repetitions, latency run), writes its files and returns its result.
async fn run_case(
    ctx: &Context<'_>,
    git: &Option<GitRevision>,
    observer: &mut dyn Observer,
) -> Result<CaseResult, SweepError> {
    if ctx.sweep.plan.engine == Engine::Sim {
        return super::simulated::run_case(ctx.case, ctx.sweep, ctx.options, observer);
    }
    let case = ctx.case;
    let plan = &ctx.sweep.plan;
    let cases_dir = ctx.options.out_dir.join("cases");
    let scratch = ctx.options.out_dir.join(".scratch");
    for dir in [&cases_dir, &scratch] {
        std::fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
    }
    clear_case(&cases_dir, &case.id)?;
    let machine: Machine = host::machine();
    let started_unix_s = crate::units::unix_seconds(SystemTime::now());
    let mut runs = Vec::new();
    let mut schedule: Vec<(RunKind, u32, u32)> = (1..=plan.warmup)
        .map(|k| (RunKind::Warmup, k, plan.warmup))
        .collect();
    schedule.extend((1..=plan.repetitions).map(|k| (RunKind::Measured, k, plan.repetitions)));
    if case.config.latency_rounds.is_some() {
        schedule.push((RunKind::Latency, 1, 1));
    }
    let mut latency = None;
    for (kind, k, of) in schedule {
        let tag = match kind {
            RunKind::Warmup => format!("warmup{k}"),
            RunKind::Measured => format!("rep{k}"),
            RunKind::Latency => "latency".into(),
        };
        let trace_name = format!("{}.{tag}.window.jsonl", case.id);
        let files = RunFiles {
            report: scratch.join(format!("{}.{tag}.report.json", case.id)),
            trace: match kind {
                RunKind::Measured => Some(cases_dir.join(&trace_name)),
                RunKind::Warmup => Some(scratch.join(&trace_name)),
                RunKind::Latency => None,
            },
            trace_name: (kind == RunKind::Measured).then_some(trace_name),
        };
        observer.run_started(kind, k, of);
        let run = run_once(ctx, kind, k, &files, observer).await;
        observer.run_finished(case, &run);
        let _ = std::fs::remove_file(&files.report);
        if kind == RunKind::Warmup
            && let Some(trace) = &files.trace
        {
            let _ = std::fs::remove_file(trace);
        }
        match kind {
            RunKind::Latency => latency = Some(run),
            _ => runs.push(run),
        }
    }
    let measured: Vec<&RunResult> = runs
        .iter()
        .filter(|r| r.kind == RunKind::Measured && r.ok)
        .collect();
    let histograms = write_histograms(
        &cases_dir,
        &case.id,
        plan.interval_s,
        &measured,
        latency.as_ref().filter(|r| r.ok),
    )?;
    let result = CaseResult {
        schema_version: SCHEMA_VERSION,
        id: case.id.clone(),
        label: case.label.clone(),
        sweep: ctx.sweep.name.clone(),
        config: case.config.clone(),
        plan: plan.clone(),
        peer: case.peer.clone(),
        notes: case.notes.clone(),
        model: None,
        machine: Some(machine),
        git: git.clone(),
        sweep_command: ctx.options.sweep_command.clone(),
        started_unix_s: Some(started_unix_s),
        runs,
        latency,
        histograms,
    };
    write_json(&cases_dir.join(format!("{}.json", case.id)), &result)?;
    Ok(result)
}

/// The summary row of a case.
pub fn summary_row(result: &CaseResult) -> SummaryRow {
    let measured: Vec<&RunResult> = result.measured().collect();
    let ok: Vec<&RunResult> = measured.iter().copied().filter(|r| r.ok).collect();
    let failed_latency = result.latency.as_ref().is_some_and(|r| !r.ok);
    let mut errors: Vec<String> = Vec::new();
    for e in measured
        .iter()
        .chain(result.latency.iter().collect::<Vec<_>>().iter())
        .filter_map(|r| r.error.clone())
    {
        if !errors.contains(&e) && errors.len() < 3 {
            errors.push(e);
        }
    }
    let client = |f: fn(&RunReport) -> Option<f64>| {
        Spread::of(ok.iter().filter_map(|r| r.client.as_ref().and_then(f)))
    };
    SummaryRow {
        id: result.id.clone(),
        label: result.label.clone(),
        config: result.config.clone(),
        ok: ok.len() as u32,
        failed: (measured.len() - ok.len()) as u32 + u32::from(failed_latency),
        errors,
        upload_gbit_s: Spread::of(ok.iter().filter_map(|r| r.upload_gbit_s())),
        download_gbit_s: Spread::of(ok.iter().filter_map(|r| r.download_gbit_s())),
        client_cpu_s: client(|c| c.process.map(|p| p.cpu_user_s + p.cpu_sys_s)),
        server_cpu_s: Spread::of(
            ok.iter()
                .filter_map(|r| r.server_usage.map(|p| p.cpu_user_s + p.cpu_sys_s)),
        ),
        client_peak_rss_bytes: client(|c| c.process.map(|p| p.peak_rss_bytes as f64)),
        server_peak_rss_bytes: Spread::of(
            ok.iter()
                .filter_map(|r| r.server_usage.map(|p| p.peak_rss_bytes as f64)),
        ),
        rtt_ms: client(|c| c.rtt_ms),
        rtts_to_cap: Spread::of(
            ok.iter()
                .filter_map(|r| r.window_growth.as_ref().and_then(|g| g.rtts_to_cap)),
        ),
        max_window_bytes: Spread::of(
            ok.iter()
                .filter_map(|r| r.window_growth.as_ref().map(|g| g.max_window_bytes as f64)),
        ),
        connect_ms: client(|c| c.connect_ms),
        latency_ms: result.histograms.get(METRIC_LATENCY).cloned(),
        muxer_added_p50_ms: client(|c| muxer_added(c).map(|m| m.p50)),
        muxer_added_p99_ms: client(|c| muxer_added(c).map(|m| m.p99)),
        jain_overall: client(|c| c.fairness.as_ref()?.jain_overall),
        jain_min_after_first: client(|c| c.fairness.as_ref()?.min_jain_after_first),
        short_fct_p50_ms: client(|c| Some(c.short_flows.as_ref()?.fct_ms.p50)),
        short_fct_p99_ms: client(|c| Some(c.short_flows.as_ref()?.fct_ms.p99)),
    }
}

fn muxer_added(report: &RunReport) -> Option<crate::probe::MuxerAdded> {
    report.latency_under_load.as_ref()?.muxer_added()
}

/// Reads `cases/<id>.json` under `out_dir`.
pub fn read_case(out_dir: &Path, id: &str) -> Option<Result<CaseResult, String>> {
    let path = out_dir.join("cases").join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())))
}

/// Writes `summary.json` from the case files of every case of `sweep` found under `out_dir`,
/// so that re-running a subset (`--filter`) keeps the other rows.
pub fn write_summary(
    sweep: &Sweep,
    out_dir: &Path,
    observer: &mut dyn Observer,
) -> Result<Summary, SweepError> {
    let mut rows = Vec::new();
    let mut last: Option<(u64, Machine, Option<GitRevision>)> = None;
    for case in &sweep.cases {
        match read_case(out_dir, &case.id) {
            None => {}
            Some(Err(e)) => observer.warning(&format!("not in the summary: {e}")),
            Some(Ok(result)) => {
                if let (Some(t), Some(machine)) = (result.started_unix_s, &result.machine)
                    && last.as_ref().is_none_or(|(last, _, _)| t >= *last)
                {
                    last = Some((t, machine.clone(), result.git.clone()));
                }
                rows.push(summary_row(&result));
            }
        }
    }
    let simulated = sweep.plan.engine == Engine::Sim;
    // A simulated case records neither machine nor revision (its file must not change with
    // them): the summary names the ones of this run.
    let (machine, git) = match last {
        Some((_, m, g)) => (Some(m), g),
        None if simulated && !rows.is_empty() => {
            (Some(host::machine()), crate::build_info::git_revision())
        }
        None => (None, None),
    };
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        sweep: sweep.name.clone(),
        engine: sweep.plan.engine,
        model: simulated.then(|| crate::sim::MODEL.to_string()),
        machine,
        git,
        cases: rows,
    };
    write_json(&out_dir.join("summary.json"), &summary)?;
    Ok(summary)
}

/// Which results already under an output directory count as this sweep's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// A sweep config: a case file is ours when its id (the hash of its config) is one of the
    /// config's cases, whatever its sweep is called.
    CaseIds,
    /// A case re-run from its JSON: every case of the same sweep is ours (the re-run replaces
    /// its case among them).
    SweepName,
}

/// The results under `out_dir` that are not of `sweep` (see [`Ownership`]), as
/// `cases/<id>.json (sweep <name>)` or `summary.json (sweep <name>)`; empty when the
/// directory is new, empty, or holds only this sweep's results. Read before anything is
/// written, so that a sweep never mixes its results with another config's.
pub fn other_results(sweep: &Sweep, out_dir: &Path, ownership: Ownership) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Recorded {
        sweep: String,
        #[serde(default)]
        id: String,
    }
    let read = |path: &Path| -> Option<Recorded> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let mut other = Vec::new();
    if let Some(summary) = read(&out_dir.join("summary.json"))
        && summary.sweep != sweep.name
    {
        other.push(format!("summary.json (sweep {})", summary.sweep));
    }
    let Ok(entries) = std::fs::read_dir(out_dir.join("cases")) else {
        return other;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_suffix(".json")
                .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .collect();
    names.sort();
    for name in names {
        let Some(case) = read(&out_dir.join("cases").join(&name)) else {
            continue;
        };
        let ours = match ownership {
            Ownership::CaseIds => sweep.cases.iter().any(|c| c.id == case.id),
            Ownership::SweepName => case.sweep == sweep.name,
        };
        if !ours {
            other.push(format!("cases/{name} (sweep {})", case.sweep));
        }
    }
    other
}

/// Runs the cases of `sweep` whose indices are in `selected`, writing each case's files as it
/// ends and the summary after each case.
pub async fn run_sweep(
    sweep: &Sweep,
    selected: &[usize],
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<Summary, SweepError> {
    std::fs::create_dir_all(&options.out_dir).map_err(io_error("creating", &options.out_dir))?;
    let git = crate::build_info::git_revision();
    let mut summary = write_summary(sweep, &options.out_dir, observer)?;
    for (i, &index) in selected.iter().enumerate() {
        let Some(case) = sweep.cases.get(index) else {
            continue;
        };
        observer.case_started(i, selected.len(), case);
        let ctx = Context {
            case,
            sweep,
            options,
        };
        let result = run_case(&ctx, &git, observer).await?;
        observer.case_finished(&result);
        summary = write_summary(sweep, &options.out_dir, observer)?;
    }
    let scratch = options.out_dir.join(".scratch");
    let _ = std::fs::remove_dir_all(scratch);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::report::{Direction, StreamSummary, YamuxSummary};
    use crate::yamux::WindowAccounting as Accounting;

    fn config(rtt_ms: f64, autotune: bool) -> CaseConfig {
        CaseConfig {
            rtt_ms,
            max_window_bytes: 1 << 20,
            autotune,
            download_bytes: 8 << 20,
            ..Default::default()
        }
    }

    fn report(ttfb_ms: f64) -> RunReport {
        let d = Direction {
            bytes: 8 << 20,
            seconds: 1.0,
            bits_per_second: 8.0 * (8 << 20) as f64,
        };
        let stream = StreamSummary {
            upload: d,
            download: d,
            time_to_first_byte_ms: ttfb_ms,
        };
        RunReport {
            schema_version: 1,
            remote_peer: String::new(),
            cipher: None,
            connect_ms: Some(1.0),
            total_seconds: 1.0,
            total: stream,
            streams: vec![stream],
            rtt_ms: Some(50.0),
            rtt_samples_ms: vec![50.0],
            intervals: Vec::new(),
            yamux: YamuxSummary::from(&crate::yamux::Stats::default()),
            latency_ms: Vec::new(),
            latency_under_load: None,
            fairness: None,
            short_flows: None,
            churn: None,
            process: None,
            git: None,
        }
    }

    fn recv(t_ms: f64, window: u64, doubled: bool) -> WindowTraceLine {
        WindowTraceLine::Recv {
            t_ms,
            stream: 1,
            rtt_ms: Some(50.0),
            recv_window: window,
            delta: window / 2,
            since_last_update_ms: 50.0,
            doubled,
            connection: 0,
        }
    }

    #[test]
    fn window_growth_counts_rtts_from_the_first_download_byte() {
        let lines = [
            recv(150.0, 256 << 10, false),
            recv(200.0, 512 << 10, true),
            recv(250.0, 1 << 20, true),
            recv(300.0, 1 << 20, false),
        ];
        let g = window_growth(&lines, &report(100.0), &config(50.0, true)).unwrap();
        assert_eq!(g.cap_bytes, 1 << 20);
        assert_eq!(g.ms_to_cap, Some(150.0));
        assert_eq!(g.rtts_to_cap, Some(3.0));
        assert_eq!((g.doublings, g.window_updates, g.streams_at_cap), (2, 4, 1));
        let never = window_growth(&lines[..2], &report(100.0), &config(50.0, true)).unwrap();
        assert_eq!((never.ms_to_cap, never.streams_at_cap), (None, 0));
        let fixed = window_growth(&lines[..1], &report(100.0), &config(0.0, false)).unwrap();
        assert_eq!((fixed.ms_to_cap, fixed.rtts_to_cap), (Some(0.0), None));
        assert!(window_growth(&[], &report(1.0), &config(50.0, true)).is_none());
    }

    fn measured_args(c: &CaseConfig) -> Vec<String> {
        client_args(
            c,
            0.1,
            60.0,
            RunKind::Measured,
            Path::new("r.json"),
            Some(Path::new("w.jsonl")),
        )
    }

    #[test]
    fn stack_security_and_buffers_reach_both_commands() {
        let mut c = config(0.0, true);
        c.security = Security::Plaintext;
        c.send_buffer_bytes = Some(1 << 20);
        c.autotune_rule = crate::yamux::AutotuneRule::Ramp;
        // Table order; the settings at their defaults (window accounting, frame) left out.
        assert_eq!(
            case_args(&c).join(" "),
            "--security plaintext --send-buffer 1048576 --max-window 1048576 \
             --autotune-rule ramp"
        );
        c.stack = Stack::Tcp;
        c.security = Security::Noise;
        c.recv_buffer_bytes = Some(2 << 20);
        assert_eq!(
            case_args(&c).join(" "),
            "--stack tcp --send-buffer 1048576 --recv-buffer 2097152",
            "no yamux flags for bare TCP"
        );
        let args = measured_args(&c);
        assert!(!args.iter().any(|a| a == "--window-trace"), "{args:?}");
    }

    #[test]
    fn early_muxer_off_reaches_both_commands_and_is_absent_at_its_default() {
        let mut c = config(0.0, true);
        let on = serde_json::to_value(&c).unwrap();
        assert!(on.get("early_muxer").is_none(), "default left out: {on}");
        assert!(!case_args(&c).iter().any(|a| a == "--no-early-muxer"));
        c.early_muxer = false;
        assert!(case_args(&c).iter().any(|a| a == "--no-early-muxer"));
        let off = serde_json::to_value(&c).unwrap();
        assert_eq!(off["early_muxer"], serde_json::json!(false));
        let back: CaseConfig = serde_json::from_value(on).unwrap();
        assert!(back.early_muxer, "absent reads as on");
    }

    #[test]
    fn latency_mode_picks_the_client_flag() {
        let mut c = config(0.0, true);
        c.latency_rounds = Some(7);
        let latency = |c: &CaseConfig| {
            client_args(c, 0.1, 60.0, RunKind::Latency, Path::new("r.json"), None).join(" ")
        };
        assert!(latency(&c).contains(" --latency 7 "), "{}", latency(&c));
        c.latency_mode = crate::results::LatencyMode::Ping;
        assert!(latency(&c).contains(" --ping 7 "), "{}", latency(&c));
        assert!(!latency(&c).contains("--latency"), "{}", latency(&c));
    }

    #[test]
    fn a_probe_goes_to_the_measured_runs_only() {
        let mut c = config(0.0, true);
        c.latency_rounds = Some(7);
        let args = |c: &CaseConfig, kind| {
            client_args(c, 0.1, 60.0, kind, Path::new("r.json"), None).join(" ")
        };
        assert!(!args(&c, RunKind::Measured).contains("--probe"));
        c.probe = Some(crate::probe::ProbeKind::Ping);
        assert!(
            args(&c, RunKind::Measured).contains(" --probe ping "),
            "{}",
            args(&c, RunKind::Measured)
        );
        assert!(!args(&c, RunKind::Latency).contains("--probe"));
    }

    #[test]
    fn stagger_and_short_flows_go_to_the_measured_runs() {
        let mut c = config(0.0, true);
        c.stagger_ms = Some(200.0);
        c.short_flows = Some("20:64KiB".parse().unwrap());
        let args = client_args(&c, 0.1, 60.0, RunKind::Measured, Path::new("r.json"), None);
        let args = args.join(" ");
        assert!(args.contains(" --stagger 200ms"), "{args}");
        assert!(args.contains(" --short-flows 20:64KiB"), "{args}");
        // The latency run and the server take neither; at their default the load runs neither.
        let latency = client_args(&c, 0.1, 60.0, RunKind::Latency, Path::new("r.json"), None);
        let server = case_args(&c).join(" ");
        for other in [latency.join(" "), server] {
            assert!(
                !other.contains("--stagger") && !other.contains("--short-flows"),
                "{other}"
            );
        }
        let plain = client_args(
            &config(0.0, true),
            0.1,
            60.0,
            RunKind::Measured,
            Path::new("r.json"),
            None,
        );
        assert!(!plain.join(" ").contains("--stagger"), "{plain:?}");
        assert!(!plain.join(" ").contains("--short-flows"), "{plain:?}");
    }

    #[test]
    fn the_summary_row_carries_the_muxer_added_latency() {
        use crate::probe::{LatencyUnderLoad, Percentiles, ProbeKind, ProbeSide};
        let p = |p50, p99| Percentiles {
            p50,
            p90: p50,
            p99,
            max: p99,
            n: 100,
        };
        let side = |p50, p99| ProbeSide {
            idle_ms: p(0.1, 0.2),
            loaded_ms: p(p50, p99),
            missed_ticks: 0,
        };
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/results/baseline/cases/01002422b49b.json"
        );
        let mut result: CaseResult =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            summary_row(&result).muxer_added_p50_ms.is_none(),
            "no probe, no metric"
        );
        let mut added = [4.0, 6.0, 5.0].into_iter();
        for run in result
            .runs
            .iter_mut()
            .filter(|r| r.kind == RunKind::Measured)
        {
            let p50 = added.next().unwrap_or(5.0);
            run.client.as_mut().unwrap().latency_under_load = Some(LatencyUnderLoad {
                probe: ProbeKind::Ping,
                interval_ms: 10.0,
                idle_seconds: 1.0,
                same_connection: side(1.0 + p50, 9.0),
                separate_connection: side(1.0, 2.0),
            });
        }
        let row = summary_row(&result);
        let p50 = row.muxer_added_p50_ms.unwrap();
        assert_eq!((p50.median, p50.n), (5.0, row.ok as usize), "{p50:?}");
        assert_eq!(row.muxer_added_p99_ms.unwrap().median, 7.0);
    }

    #[test]
    fn commands_carry_the_case_options() {
        let mut c = config(50.0, false);
        c.window_accounting = Accounting::Go;
        let args = measured_args(&c);
        let text = args.join(" ");
        for part in [
            "--download 8388608",
            "--no-autotune",
            "--window-accounting go",
            "--report r.json",
            "--window-trace w.jsonl",
            "--interval 0.1",
            "--timeout 60",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(
            !text.contains("--stack") && !text.contains("--security"),
            "{text}"
        );
        c.latency_rounds = Some(50);
        let latency = client_args(&c, 0.1, 60.0, RunKind::Latency, Path::new("r"), None);
        let text = latency.join(" ");
        assert!(
            text.contains("--latency 50") && !text.contains("--upload"),
            "{text}"
        );
    }
}
