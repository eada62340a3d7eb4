//! Faults mid-transfer: a client killed with SIGKILL, the server killed with SIGKILL, and the
//! relay dropping the connection (`relay --drop-after`). Whoever survives reports a clear error
//! (one line, no panic) and the server keeps serving.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{
    LoggedServer, our_client_command, our_client_succeeds, our_server, run_with_timeout, stderr_of,
    yamux_perf,
};

/// A client process that is killed if the test fails before it has been waited for.
struct Client(Option<Child>);

impl Client {
    fn take(mut self) -> Child {
        self.0.take().expect("not taken yet")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Large enough that no transfer ends before the fault (loopback moves ~1 GiB/s at best here).
const BIG: u64 = 16 << 30;

/// Starts our client for a long verified transfer (perf uploads first, then downloads: 32 MiB
/// up, then a practically endless download) and returns once the download is under way (an
/// `intermediary` line with download bytes), so the fault hits mid-transfer.
fn client_mid_transfer(server: &str, timeout_s: &str) -> Client {
    let (child, under_way) = spawn_long_client(server, timeout_s);
    under_way
        .recv_timeout(Duration::from_secs(60))
        .expect("the client's download was under way within 60 s");
    child
}

/// Starts the client of [`client_mid_transfer`] and returns it with a channel that gets a message
/// once its download is under way (its stdout is drained by a thread).
fn spawn_long_client(server: &str, timeout_s: &str) -> (Client, std::sync::mpsc::Receiver<()>) {
    let mut client = our_client_command(
        server,
        32 << 20,
        BIG,
        &["--verify", "--interval", "0.1", "--timeout", timeout_s],
    );
    client.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Client(Some(client.spawn().expect("client starts")));
    let stdout = child
        .0
        .as_mut()
        .unwrap()
        .stdout
        .take()
        .expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let down = value["downloadBytes"].as_u64().unwrap_or(0);
            if !sent && down > 0 {
                let _ = tx.send(());
                sent = true;
            }
        }
    });
    (child, rx)
}

/// Waits for a child whose stdout is drained elsewhere; returns its status and stderr.
fn wait_stderr(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String) {
    let stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the client did not exit within {limit:?} of the fault");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, reader.join().expect("stderr reader"))
}

/// Asserts that a client failed with exactly one `error: …` line that says the peer went away
/// (a reset, a broken pipe when our write met the reset first, or an end of stream when the
/// peer's kernel had nothing unread to reset), and no panic.
fn assert_one_line_error(status: std::process::ExitStatus, stderr: &str) -> String {
    assert!(!status.success(), "client succeeded despite the fault");
    assert_eq!(
        status.code(),
        Some(1),
        "client exit status {status}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "client panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got:\n{stderr}");
    let line = lines[0];
    assert!(
        line.starts_with("error: perf run against /ip4/127.0.0.1/tcp/"),
        "{line}"
    );
    assert!(
        line.contains(": perf stream failed: ")
            && (line.ends_with("i/o: Connection reset by peer (os error 104)")
                || line.ends_with("i/o: Broken pipe (os error 32)")
                || line.ends_with("connection closed by peer")),
        "{line:?} does not say that the peer went away"
    );
    line.to_string()
}

/// The server serves a fresh verified client after a fault.
fn serves_next_client(server: &mut LoggedServer) {
    assert!(server.is_running(), "the server died");
    our_client_succeeds(&server.addr, 8 << 20, 8 << 20, &["--verify"]);
    assert!(server.is_running(), "the server died");
}

#[test]
fn client_killed_mid_transfer_server_carries_on() {
    let mut server = our_server(&["--verify"], "info");
    let client = client_mid_transfer(&server.addr, "120");
    let mut child = client.take();
    child.kill().expect("SIGKILL the client");
    let _ = child.wait();
    let closed = server.wait_for_line("connection closed remote=", Duration::from_secs(30));
    eprintln!("server after the client was killed: {closed}");
    assert!(
        closed.contains("reason=") && !closed.ends_with("reason= connection closed"),
        "the server names why the connection ended: {closed}"
    );
    serves_next_client(&mut server);
}

#[test]
fn server_killed_mid_transfer_client_fails_cleanly() {
    let server = our_server(&["--verify"], "info");
    let client = client_mid_transfer(&server.addr, "120");
    drop(server); // SIGKILL
    let child = client.take();
    let (status, stderr) = wait_stderr(child, Duration::from_secs(30));
    let line = assert_one_line_error(status, &stderr);
    eprintln!("client after the server was killed: {line}");
}

#[test]
fn relay_drops_connection_both_ends_report_it_server_carries_on() {
    let mut server = our_server(&["--verify"], "info");
    let mut relay = yamux_perf();
    relay.args(["relay", "--to", &server.addr, "--drop-after", "48MiB"]);
    relay.env("RUST_LOG", "info");
    let relay = LoggedServer::start("relay", relay);
    // The drop point is the relay's byte count (48 MiB = the 32 MiB upload + 16 MiB of the
    // download), not a time: on a quiet machine the whole run to it takes ~0.2 s, before the
    // client's first intermediary line. The server's counters below show where it hit.
    let (client, _under_way) = spawn_long_client(&relay.addr, "120");
    let child = client.take();
    let (status, stderr) = wait_stderr(child, Duration::from_secs(60));
    let line = assert_one_line_error(status, &stderr);
    eprintln!("client after the relay dropped it: {line}");
    relay.wait_for_line("relay dropped the connection", Duration::from_secs(5));
    let closed = server.wait_for_line("connection closed remote=", Duration::from_secs(30));
    eprintln!("server after the relay dropped it: {closed}");
    let received = common::field_u64(&closed, "received");
    let sent = common::field_u64(&closed, "sent");
    assert!(
        received >= 32 << 20 && sent > 0 && sent < 48 << 20,
        "the drop hit mid-download: {closed}"
    );
    assert!(
        !closed.ends_with("reason= connection closed"),
        "the server names why the connection ended: {closed}"
    );
    serves_next_client(&mut server);
    // And through the relay again: only the dropped connection was affected.
    let out = run_with_timeout(
        our_client_command(&relay.addr, 1 << 20, 1 << 20, &["--verify"]),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
}
