//! Helpers shared by the integration tests: child processes that die with the test, and the
//! test-plans JSON lines.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

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

/// Starts a server command and returns it with the first line it printed on stdout (its
/// multiaddr). The rest of stdout is drained in the background.
pub(crate) fn start_server(mut command: Command) -> (ChildGuard, String) {
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = ChildGuard(command.spawn().expect("server starts"));
    let stdout = child.0.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server printed its address within 60 s");
    (child, line.trim().to_string())
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

/// Runs our client against `server` (a multiaddr) with `size` bytes each way and checks that it
/// exits 0 with a `final` line carrying both counts.
pub(crate) fn assert_our_client_succeeds(server: &str, size: u64) {
    let mut client = yamux_perf();
    let size_text = size.to_string();
    client.args([
        "client",
        "--server",
        server,
        "--upload",
        &size_text,
        "--download",
        &size_text,
    ]);
    let out = run_with_timeout(client, Duration::from_secs(180));
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_final(&out.stdout, size, size);
}
