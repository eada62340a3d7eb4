//! Helpers shared by the integration tests: child processes that die with the test, servers
//! whose log is kept for checking, our client and the test-plans peers' clients, the test-plans
//! JSON lines and the `key=value` fields of log lines.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use yamux_perf::interop::{ForeignPeer, Layers};
use yamux_perf::security::Security;
use yamux_perf::sweep::process::{ADDRESS_TIMEOUT, LineHook, ServerProcess};
use yamux_perf::transport::{Addr, TransportKind};

/// Peer id of `--key-seed 0`: go test-plans' server key (the Ed25519 key from 32 zero bytes),
/// the same in every implementation here.
pub(crate) const SEED0_ID: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

/// Our binary.
pub(crate) fn yamux_perf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yamux-perf"))
}

/// A child process that is killed when dropped, so a failing test leaves no server behind.
pub(crate) struct ChildGuard(pub(crate) Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running server: its address (the first line it printed on stdout) and its stderr, kept
/// line by line (ANSI colours removed) and echoed to ours as `[name server] …`, so a test can
/// wait for a log line and a failing test shows the log. Killed when dropped.
pub(crate) struct LoggedServer {
    process: ServerProcess,
    /// The first stdout line, trimmed: the listen multiaddr.
    pub(crate) addr: String,
    name: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl LoggedServer {
    /// Starts `command` (with `NO_COLOR=1`) and waits up to
    /// [`yamux_perf::sweep::process::ADDRESS_TIMEOUT`] for its address, a full multiaddr (with
    /// `/p2p/`).
    pub(crate) fn start(name: &str, mut command: Command) -> Self {
        command.env("NO_COLOR", "1");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let prefix = format!("[{name} server]");
        let hook: LineHook = Box::new(move |line| {
            let line = strip_ansi(line);
            eprintln!("{prefix} {line}");
            sink.lock().unwrap().push(line);
        });
        let process = ServerProcess::start(command, ADDRESS_TIMEOUT, Some(hook))
            .unwrap_or_else(|e| panic!("{name} server: {e}; its stderr: {}", e.stderr_tail));
        let addr = process.printed.clone();
        assert!(addr.contains("/p2p/"), "{name} server address: {addr}");
        Self {
            process,
            addr,
            name: name.to_string(),
            lines,
        }
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the server process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The stderr lines so far.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The stderr so far, one string.
    pub(crate) fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The first stderr line so far containing `needle`.
    pub(crate) fn find(&self, needle: &str) -> Option<String> {
        self.nth_line(needle, 1)
    }

    fn nth_line(&self, needle: &str, n: usize) -> Option<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.contains(needle))
            .nth(n - 1)
            .cloned()
    }

    /// The first stderr line containing `needle`, waiting up to `timeout`; `None` if none came.
    pub(crate) fn wait_for(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.find(needle) {
                return Some(line);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The first stderr line containing `needle`, waiting up to `timeout`; panics (with the log)
    /// if none came.
    pub(crate) fn wait_for_line(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_nth_line(needle, 1, timeout)
    }

    /// The `n`th (from 1) stderr line containing `needle`, waiting up to `timeout`; panics (with
    /// the log) if it did not come.
    pub(crate) fn wait_for_nth_line(&self, needle: &str, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.nth_line(needle, n) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no {} server log line #{n} with {needle:?} within {timeout:?}; its stderr so far:\n{}",
                self.name,
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `IP:PORT` of the listen address, the form test-plans clients are given.
    pub(crate) fn host_port(&self) -> String {
        let parts: Vec<&str> = self.addr.split('/').collect();
        assert!(
            parts.len() >= 5 && parts[1] == "ip4" && parts[3] == "tcp",
            "{}",
            self.addr
        );
        format!("{}:{}", parts[2], parts[4])
    }
}

/// Our server on 127.0.0.1 (any port) with extra arguments; `rust_log` is its RUST_LOG (INFO at
/// least for the `connection closed` lines).
pub(crate) fn our_server(extra: &[&str], rust_log: &str) -> LoggedServer {
    our_server_on(TransportKind::Tcp, extra, rust_log)
}

/// [`our_server`] listening on `transport` (`/ip4/127.0.0.1/tcp/0` or `…/tcp/0/ws`).
pub(crate) fn our_server_on(
    transport: TransportKind,
    extra: &[&str],
    rust_log: &str,
) -> LoggedServer {
    let listen = Addr::new("127.0.0.1:0".parse().unwrap(), transport).to_multiaddr();
    let mut server = yamux_perf();
    server.args(["server", "--listen", &listen.to_string()]);
    server.args(extra);
    server.env("RUST_LOG", rust_log);
    LoggedServer::start("ours", server)
}

/// A test-plans peer's server on 127.0.0.1 (any port) with extra arguments.
pub(crate) fn peer_server(name: &str, peer: &Path, extra: &[&str]) -> LoggedServer {
    let mut server = Command::new(peer);
    server.args(["--run-server", "--server-address", "127.0.0.1:0"]);
    server.args(extra);
    LoggedServer::start(name, server)
}

/// Our client, not yet run: `client --server … --upload … --download … --no-progress` and
/// `extra`.
pub(crate) fn our_client_command(
    server: &str,
    upload: u64,
    download: u64,
    extra: &[&str],
) -> Command {
    let mut client = yamux_perf();
    client.env("NO_COLOR", "1");
    client.args(["client", "--server", server, "--no-progress"]);
    client.args(["--upload", &upload.to_string()]);
    client.args(["--download", &download.to_string()]);
    client.args(extra);
    client
}

/// Runs our client (`--timeout 150`, killed after 180 s) with extra arguments.
pub(crate) fn our_client(server: &str, upload: u64, download: u64, extra: &[&str]) -> Output {
    let mut client = our_client_command(server, upload, download, extra);
    client.args(["--timeout", "150"]);
    run_with_timeout(client, Duration::from_secs(180))
}

/// Runs our client and checks that it exits 0 with a `final` line carrying both counts; returns
/// that line and the client's stderr (its summary).
pub(crate) fn our_client_succeeds(
    server: &str,
    upload: u64,
    download: u64,
    extra: &[&str],
) -> (Value, String) {
    let out = our_client(server, upload, download, extra);
    let stderr = stderr_of(&out);
    assert!(
        out.status.success(),
        "our client failed ({}): {stderr}",
        out.status
    );
    (assert_final(&out.stdout, upload, download), stderr)
}

/// Runs a test-plans peer's client (`--timeout 150`, killed after 180 s) with extra arguments.
pub(crate) fn peer_client(
    peer: &Path,
    server: &str,
    upload: u64,
    download: u64,
    extra: &[&str],
) -> Output {
    let mut client = Command::new(peer);
    client.args(["--server-address", server]);
    client.args(["--upload-bytes", &upload.to_string()]);
    client.args(["--download-bytes", &download.to_string()]);
    client.args(["--timeout", "150"]);
    client.args(extra);
    run_with_timeout(client, Duration::from_secs(180))
}

/// Runs a test-plans peer's client and checks that it exits 0 with a `final` line carrying both
/// counts; returns that line and the client's stderr. `name` is for the failure message.
pub(crate) fn peer_client_succeeds(
    name: &str,
    peer: &Path,
    server: &str,
    upload: u64,
    download: u64,
) -> (Value, String) {
    let out = peer_client(peer, server, upload, download, &[]);
    let stderr = stderr_of(&out);
    assert!(
        out.status.success(),
        "{name} client failed ({}): {stderr}",
        out.status
    );
    (assert_final(&out.stdout, upload, download), stderr)
}

/// Runs a command to completion with a time limit; panics on timeout.
pub(crate) fn run_with_timeout(mut command: Command, limit: Duration) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("command starts");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => output.expect("wait for command"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("command did not finish within {limit:?}");
        }
    }
}

/// A finished command's stderr as text.
pub(crate) fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON objects of a test-plans stdout, one per line.
pub(crate) fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// The `final` line, checked to carry the expected totals.
pub(crate) fn assert_final(stdout: &[u8], upload: u64, download: u64) -> Value {
    let lines = json_lines(stdout);
    let last = lines.last().expect("at least one JSON line").clone();
    assert_eq!(last["type"], "final", "last line is the final one: {last}");
    // py-libp2p uses snake_case keys; everyone else camelCase.
    let get = |camel: &str, snake: &str| {
        last.get(camel)
            .or_else(|| last.get(snake))
            .and_then(Value::as_u64)
    };
    assert_eq!(get("uploadBytes", "upload_bytes"), Some(upload), "{last}");
    assert_eq!(
        get("downloadBytes", "download_bytes"),
        Some(download),
        "{last}"
    );
    last
}

/// Removes ANSI colour sequences (`ESC [ parameters final-byte`). Our logs carry none when
/// stderr is not a terminal, and the servers get `NO_COLOR=1`; this is for safety.
pub(crate) fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of the first `key=VALUE` word in a log line or text (VALUE up to the next space).
pub(crate) fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("{key}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(pattern.as_str()))
}

/// `field` as a number; panics when it is missing or not a number.
pub(crate) fn field_u64(line: &str, key: &str) -> u64 {
    parsed_field(line, key)
}

/// `field` as a number; panics when it is missing or not a number.
pub(crate) fn field_f64(line: &str, key: &str) -> f64 {
    parsed_field(line, key)
}

fn parsed_field<T: std::str::FromStr>(line: &str, key: &str) -> T {
    field(line, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key}= in {line:?}"))
}

/// The number just before `suffix` in our client's summary, e.g. `"peer pings answered"`.
pub(crate) fn summary_count(summary: &str, suffix: &str) -> u64 {
    let at = summary
        .find(suffix)
        .unwrap_or_else(|| panic!("no {suffix:?} in the summary:\n{summary}"));
    let before = summary[..at].trim_end();
    let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    before[before.len() - digits..]
        .parse()
        .unwrap_or_else(|_| panic!("no count before {suffix:?}:\n{summary}"))
}

/// The `N` of "… N peer pings answered" in our client's summary.
pub(crate) fn pings_answered(summary: &str) -> u64 {
    summary_count(summary, "peer pings answered")
}

/// `/ip4/…/tcp/…/p2p/<id>` with the id replaced.
pub(crate) fn with_peer_id(addr: &str, id: &str) -> String {
    let (transport, _) = addr.split_once("/p2p/").expect("address has /p2p/");
    format!("{transport}/p2p/{id}")
}

/// Where interop peers are built (by interop/build.sh).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A built interop peer, or `None` (with a message) when it is missing locally. Under CI=true a
/// missing peer fails the test: no silent skip.
pub(crate) fn interop_peer(relative: &str, how_to_build: &str) -> Option<PathBuf> {
    let path = repo_root().join(relative);
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "interop peer {} is not built; run `{how_to_build}`",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: interop tests must not be skipped)");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// A fresh directory under the system temp dir, removed when dropped.
pub(crate) struct ScratchDir(pub(crate) PathBuf);

impl ScratchDir {
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("yamux-perf-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Multistream bytes on top of the perf payload in our server's DATA counters: a peer's header,
/// `/perf/1.0.0` and `/ipfs/id/1.0.0` proposals and our answers come to well under this.
pub(crate) const MULTISTREAM_SLACK: u64 = 1024;

/// Checks our server's `connection closed` line after one perf run of `size` bytes each way:
/// the DATA counters are the perf bytes (plus the 8-byte request) and a little multistream.
pub(crate) fn assert_served_counters(line: &str, size: u64) {
    let received = field_u64(line, "received");
    let sent = field_u64(line, "sent");
    assert!(
        (size + 8..size + MULTISTREAM_SLACK).contains(&received),
        "{line}"
    );
    assert!((size..size + MULTISTREAM_SLACK).contains(&sent), "{line}");
}

/// Whether libp2p/unified-testing's perf/lib/run-single-test.sh keeps a line of the dialer's
/// output: `(upload:|download:|latency:|  (iterations|min|q1|median|q3|max|outliers|samples|unit):)`
/// right after the `| ` of the compose log prefix.
pub(crate) fn harness_keeps(content: &str) -> bool {
    ["upload:", "download:", "latency:"]
        .iter()
        .any(|block| content.starts_with(block))
        || yamux_perf::unified::stats::FIELDS
            .iter()
            .any(|field| content.starts_with(&format!("  {field}:")))
}

/// What run-single-test.sh makes of `docker compose logs dialer`:
/// `grep -E "dialer.*\| (…)" | sed 's/^.*| //'`, the kept lines without their prefix. (The
/// payload lines hold no `| `, so the last one is the prefix's.)
pub(crate) fn harness_filter_compose_logs(logs: &str) -> String {
    logs.lines()
        .filter_map(|line| {
            let (prefix, content) = line.rsplit_once("| ")?;
            (prefix.contains("dialer") && harness_keeps(content)).then(|| format!("{content}\n"))
        })
        .collect()
}

fn yaml_number(block: &yaml_rust2::Yaml, field: &str) -> f64 {
    match &block[field] {
        yaml_rust2::Yaml::Integer(i) => *i as f64,
        value => value
            .as_f64()
            .unwrap_or_else(|| panic!("{field} is not a number: {value:?}")),
    }
}

/// Checks one block of the harness's YAML: every field, the counts, ordered quartiles, samples
/// within min..max or listed as outliers, a median within `median_range`.
pub(crate) fn check_harness_block(
    doc: &yaml_rust2::Yaml,
    name: &str,
    iterations: i64,
    unit: &str,
    median_range: (f64, f64),
) {
    let block = &doc[name];
    assert!(!block.is_badvalue(), "no {name} block in {doc:?}");
    for field in yamux_perf::unified::stats::FIELDS {
        assert!(!block[field].is_badvalue(), "{name}.{field} missing");
    }
    assert_eq!(block["iterations"].as_i64(), Some(iterations), "{name}");
    assert_eq!(block["unit"].as_str(), Some(unit), "{name}");
    let [min, q1, median, q3, max] =
        ["min", "q1", "median", "q3", "max"].map(|f| yaml_number(block, f));
    // min and max leave out the outliers, so q1 may lie below min (a low outlier pulls it).
    assert!(
        q1 <= median && median <= q3 && min <= max,
        "{name}: {min} {q1} {median} {q3} {max}"
    );
    let samples = block["samples"].as_vec().expect("samples is a list");
    let outliers = block["outliers"].as_vec().expect("outliers is a list");
    assert_eq!(
        samples.len() as i64,
        iterations,
        "{name}: one sample per iteration"
    );
    let value = |v: &yaml_rust2::Yaml| v.as_f64().unwrap_or_else(|| panic!("{name}: {v:?}"));
    // The samples are the outliers plus the values within min..=max. Values are printed
    // rounded, so an outlier can print equal to min or max (0.136 below a fence of 0.13552
    // beside an inlier of 0.13553): take each outlier out of the samples once, then check the
    // rest.
    let mut rest: Vec<f64> = samples.iter().map(value).collect();
    for o in outliers.iter().map(value) {
        let Some(at) = rest.iter().position(|s| *s == o) else {
            panic!("{name}: outlier {o} is not among the samples");
        };
        rest.remove(at);
    }
    assert!(
        rest.iter().all(|s| (min..=max).contains(s)),
        "{name}: a sample outside {min}..{max} is not an outlier: {rest:?}"
    );
    for o in outliers.iter().map(value) {
        assert!(
            o <= min || o >= max,
            "{name}: outlier {o} inside {min}..{max}"
        );
    }
    assert!(
        (median_range.0..median_range.1).contains(&median),
        "{name} median {median} {unit} outside {median_range:?}"
    );
}

/// Checks the lines the harness kept: 3 blocks of 10 lines that parse as YAML, with
/// `iterations` (upload, download, latency) samples, throughput medians above `min_gbps` and a
/// latency median between 0 and 100 ms.
pub(crate) fn check_harness_yaml(kept: &str, iterations: [i64; 3], min_gbps: f64) {
    assert_eq!(
        kept.lines().count(),
        30,
        "3 blocks of 10 kept lines: {kept}"
    );
    let docs = yaml_rust2::YamlLoader::load_from_str(kept).expect("the kept lines are YAML");
    let doc = &docs[0];
    check_harness_block(doc, "upload", iterations[0], "Gbps", (min_gbps, 1000.0));
    check_harness_block(doc, "download", iterations[1], "Gbps", (min_gbps, 1000.0));
    check_harness_block(doc, "latency", iterations[2], "ms", (0.0, 100.0));
}

/// How a peer's server reports one perf stream: a needle of its log line and a parser of that
/// line into (upload bytes it received, bytes it sent).
pub(crate) struct ServedLine {
    /// A string only that line contains.
    pub(crate) needle: &'static str,
    /// (upload received, sent) from the line.
    pub(crate) counts: fn(&str) -> (u64, u64),
}

/// The cipher line our client's summary prints for `security`.
fn cipher_prefix(security: Security) -> &'static str {
    match security {
        Security::Noise => "cipher    Noise_XX_",
        Security::Tls => "cipher    TLS13_",
        Security::Plaintext => "cipher    none",
    }
}

/// Every (transport, security) the library's peer table says `name` speaks, in both roles, with
/// `size` bytes each way: the peer's server with our client, then our server (listening on that
/// transport only, accepting that secure channel only) with the peer's client. Byte counts are
/// checked on the client's `final` line and on the server's own log line; our side's log names
/// the secure channel it negotiated. Returns the layers it ran.
pub(crate) fn both_ways_over_every_stack(
    name: &str,
    peer: &Path,
    size: u64,
    served: &ServedLine,
) -> Vec<Layers> {
    let foreign = ForeignPeer::named(name).unwrap_or_else(|| panic!("no peer {name} in the table"));
    let stacks: Vec<Layers> = Layers::all()
        .into_iter()
        .filter(|l| foreign.check(*l).is_ok())
        .collect();
    assert!(!stacks.is_empty(), "{name} speaks nothing");
    let log_wait = Duration::from_secs(30);
    for layers in &stacks {
        let args = foreign.args(*layers);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let security = layers.security.as_str();
        eprintln!("== {name} over {layers}: {name} server, our client");
        let server = peer_server(name, peer, &args);
        let ws = server.addr.contains("/ws/");
        assert_eq!(ws, layers.transport == TransportKind::Ws, "{}", server.addr);
        let (_, summary) = our_client_succeeds(&server.addr, size, size, &["--security", security]);
        assert!(
            summary.contains(cipher_prefix(layers.security)),
            "{layers}: {summary}"
        );
        let line = server.wait_for_line(served.needle, log_wait);
        assert_eq!((served.counts)(&line), (size, size), "{layers}: {line}");
        drop(server);

        eprintln!("== {name} over {layers}: our server, {name} client");
        let server = our_server_on(
            layers.transport,
            &["--security", security],
            "info,yamux_perf::perf::server=debug",
        );
        let out = peer_client(peer, &server.addr, size, size, &args);
        assert!(
            out.status.success(),
            "{name} client over {layers} failed ({}): {}",
            out.status,
            stderr_of(&out)
        );
        assert_final(&out.stdout, size, size);
        let established = server.wait_for_line("connection established", log_wait);
        assert!(
            established.contains(&format!("security={security}")),
            "{layers}: {established}"
        );
        let closed = server.wait_for_line("connection closed", log_wait);
        assert_served_counters(&closed, size);
    }
    stacks
}
