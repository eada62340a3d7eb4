//! A server process that prints its listen address as its first stdout line (ours, and every
//! test-plans perf peer): started once here for the sweep, the interop matrix and the tests.
//!
//! stdout is drained after the first line and stderr is read line by line (its tail kept, each
//! line optionally handed to a callback), on threads, so that the server never blocks on a full
//! pipe whatever the caller's runtime. The process is killed when its handle is dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::transport::{Addr, AddrSpec};

/// How long a server may take to print its address by default (a js or py peer starts slowly
/// on a busy machine).
pub const ADDRESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes of stderr kept.
pub const STDERR_TAIL: usize = 4000;

/// How long to wait, after stdout closed without an address, for stderr to say why.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The process could not be started.
    #[error("starting {program}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server printed no address in time.
    #[error("the server printed no address within {0:?}")]
    Silent(Duration),
    /// The server exited (or closed stdout) before printing its address.
    #[error("the server exited before printing its address")]
    Exited,
    /// The server's first line is not a TCP multiaddr.
    #[error("the server's first line {0:?} is not a /ip4|ip6/…/tcp/… multiaddr")]
    Addr(String),
}

/// A [`ServerError`] with the end of the server's stderr.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct StartFailure {
    /// What went wrong.
    #[source]
    pub error: ServerError,
    /// The last [`STDERR_TAIL`] bytes of stderr, trimmed (empty when there was none).
    pub stderr_tail: String,
}

/// Called with every stderr line (without its newline).
pub type LineHook = Box<dyn FnMut(&str) + Send>;

/// The end of a stream, kept as it is read.
#[derive(Debug, Clone, Default)]
pub struct Tail(Arc<Mutex<Vec<u8>>>);

impl Tail {
    fn push(&self, bytes: &[u8]) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        t.extend_from_slice(bytes);
        let excess = t.len().saturating_sub(STDERR_TAIL);
        t.drain(..excess);
    }

    /// The tail as text, trimmed.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).trim().to_string()
    }
}

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The address it listens on (with its `/p2p/` id, if it printed one).
    pub addr: Addr,
    /// Its first stdout line, trimmed.
    pub printed: String,
    stderr: Tail,
    stderr_done: mpsc::Receiver<()>,
}

/// A spawned server whose first line is awaited; killed when dropped.
struct Starting {
    child: Option<Child>,
    first_line: mpsc::Receiver<Option<String>>,
    stderr_done: mpsc::Receiver<()>,
    stderr: Tail,
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the first stdout line wait came to.
enum FirstLine {
    Line(String),
    Silent,
    Exited,
}

fn wait_first_line(
    first_line: &mpsc::Receiver<Option<String>>,
    stderr_done: &mpsc::Receiver<()>,
    limit: Duration,
) -> FirstLine {
    match first_line.recv_timeout(limit) {
        Ok(Some(line)) => FirstLine::Line(line),
        Err(mpsc::RecvTimeoutError::Timeout) => FirstLine::Silent,
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            // Give the stderr reader a moment to collect the reason.
            let _ = stderr_done.recv_timeout(EXIT_GRACE);
            FirstLine::Exited
        }
    }
}

fn spawn(mut command: Command, on_stderr: Option<LineHook>) -> Result<Starting, StartFailure> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| StartFailure {
            error: ServerError::Spawn { program, source },
            stderr_tail: String::new(),
        })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let tail = Tail::default();
    let (done_tx, stderr_done) = mpsc::channel();
    let sink = tail.clone();
    std::thread::spawn(move || {
        read_lines(stderr, &sink, on_stderr);
        let _ = done_tx.send(());
    });
    let (tx, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok));
        // Keep draining so that a chatty server never blocks on a full pipe.
        for _ in lines {}
    });
    Ok(Starting {
        child: Some(child),
        first_line,
        stderr_done,
        stderr: tail,
    })
}

fn read_lines(pipe: impl Read, tail: &Tail, mut hook: Option<LineHook>) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        tail.push(&line);
        if let Some(hook) = &mut hook {
            let text = String::from_utf8_lossy(&line);
            hook(text.trim_end_matches(['\n', '\r']));
        }
        line.clear();
    }
}

impl Starting {
    fn finish(
        mut self,
        outcome: FirstLine,
        limit: Duration,
    ) -> Result<ServerProcess, StartFailure> {
        let fail = |error, tail: &Tail| StartFailure {
            error,
            stderr_tail: tail.text(),
        };
        let line = match outcome {
            FirstLine::Line(line) => line.trim().to_string(),
            FirstLine::Silent => return Err(fail(ServerError::Silent(limit), &self.stderr)),
            FirstLine::Exited => return Err(fail(ServerError::Exited, &self.stderr)),
        };
        let Some(addr) = line.parse::<AddrSpec>().ok().and_then(|a| a.to_addr().ok()) else {
            return Err(fail(ServerError::Addr(line), &self.stderr));
        };
        Ok(ServerProcess {
            child: self.child.take().expect("not finished yet"),
            addr,
            printed: line,
            stderr: self.stderr.clone(),
            stderr_done: std::mem::replace(&mut self.stderr_done, mpsc::channel().1),
        })
    }
}

impl ServerProcess {
    /// Starts `command` (its stdio is set here) and waits up to `limit` for its first stdout
    /// line, which must be a TCP multiaddr. `on_stderr` sees every stderr line. Blocks the thread.
    pub fn start(
        command: Command,
        limit: Duration,
        on_stderr: Option<LineHook>,
    ) -> Result<ServerProcess, StartFailure> {
        let starting = spawn(command, on_stderr)?;
        let outcome = wait_first_line(&starting.first_line, &starting.stderr_done, limit);
        starting.finish(outcome, limit)
    }

    /// [`ServerProcess::start`] for async callers: the wait runs on tokio's blocking pool, and
    /// dropping the future kills the server.
    pub async fn start_async(
        command: Command,
        limit: Duration,
        on_stderr: Option<LineHook>,
    ) -> Result<ServerProcess, StartFailure> {
        let mut starting = spawn(command, on_stderr)?;
        // The blocking task borrows the receivers, not the child: dropping this future drops
        // `starting`, which kills the server, which ends the wait.
        let (_, empty_line) = mpsc::channel();
        let (_, empty_done) = mpsc::channel();
        let first_line = std::mem::replace(&mut starting.first_line, empty_line);
        let stderr_done = std::mem::replace(&mut starting.stderr_done, empty_done);
        let waited = tokio::task::spawn_blocking(move || {
            let outcome = wait_first_line(&first_line, &stderr_done, limit);
            (outcome, stderr_done)
        })
        .await;
        let outcome = match waited {
            Ok((outcome, stderr_done)) => {
                starting.stderr_done = stderr_done;
                outcome
            }
            Err(_) => FirstLine::Exited,
        };
        starting.finish(outcome, limit)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The end of its stderr so far, trimmed.
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// Kills it and returns the end of its stderr (waiting up to 100 ms for the last lines).
    pub fn stop(mut self) -> String {
        self.kill();
        let _ = self.stderr_done.recv_timeout(Duration::from_millis(100));
        self.stderr.text()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn reads_the_address_and_keeps_stderr() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let hook: LineHook = Box::new(move |l| sink.lock().unwrap().push(l.to_string()));
        let mut server = ServerProcess::start(
            sh("echo starting >&2; echo /ip4/127.0.0.1/tcp/4001; exec sleep 30"),
            Duration::from_secs(10),
            Some(hook),
        )
        .unwrap();
        assert_eq!(server.addr.socket.port(), 4001);
        assert_eq!(server.printed, "/ip4/127.0.0.1/tcp/4001");
        assert!(server.is_running());
        assert_eq!(server.stop(), "starting");
        assert_eq!(*lines.lock().unwrap(), ["starting"]);
    }

    #[test]
    fn failures_name_the_cause_with_the_stderr_tail() {
        let e = ServerProcess::start(
            sh("echo no port >&2; exit 3"),
            Duration::from_secs(10),
            None,
        )
        .unwrap_err();
        assert!(matches!(e.error, ServerError::Exited), "{e}");
        assert_eq!(e.stderr_tail, "no port");
        let e = ServerProcess::start(
            sh("echo hello; exec sleep 30"),
            Duration::from_secs(10),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e.error, ServerError::Addr(l) if l == "hello"),
            "{e}"
        );
        let e = ServerProcess::start(sh("exec sleep 30"), Duration::from_millis(200), None)
            .unwrap_err();
        assert_eq!(e.to_string(), "the server printed no address within 200ms");
        let e = ServerProcess::start(
            Command::new("/nonexistent/server"),
            Duration::from_secs(1),
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "starting /nonexistent/server");
    }

    #[tokio::test]
    async fn starts_from_async_code_too() {
        let server = ServerProcess::start_async(
            sh("echo /ip4/127.0.0.1/tcp/4002; exec sleep 30"),
            Duration::from_secs(10),
            None,
        )
        .await
        .unwrap();
        assert_eq!(server.addr.socket.port(), 4002);
    }
}
