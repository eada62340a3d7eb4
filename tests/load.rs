//! Load: 64 concurrent client processes, each uploading and downloading with `--verify` (every
//! byte checked against the pattern), against one `yamux-perf server` process. All must succeed
//! with the exact byte counts, and the server's peak RSS must stay within what its windows and
//! buffers can hold for that many streams.
//!
//! `cargo test --release` runs the full size of the issue, 64 clients × 64 MiB each way (about
//! 20 s on the 2-core machine). `YAMUX_PERF_LOAD_MIB=N` changes the bytes per direction:
//!
//! ```text
//! YAMUX_PERF_LOAD_MIB=64 cargo test --release --test load -- --nocapture
//! ```

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{assert_final, our_client_command, our_server, run_with_timeout, stderr_of};

/// Concurrent clients (each its own process and connection, one perf stream each).
const CLIENTS: usize = 64;

/// The server's `--max-window`: the most one stream may have buffered unread at the server.
const MAX_WINDOW: u64 = 4 << 20;

/// The yamux send buffer per stream (`yamux::Config::default().send_buffer`): what the server
/// may have queued for one stream before its writes wait.
const SEND_BUFFER: u64 = 1 << 20;

/// Per-connection I/O buffers around the session (Noise read buffer and plaintext, the writer's
/// batch, the perf server's 256 KiB chunks in flight); a generous allowance.
const IO_SLACK: u64 = 1 << 20;

fn mib_from_env() -> u64 {
    std::env::var("YAMUX_PERF_LOAD_MIB")
        .ok()
        .map(|v| v.parse().expect("YAMUX_PERF_LOAD_MIB is a number of MiB"))
        .unwrap_or(64)
}

#[test]
fn sixty_four_verified_clients_against_one_server() {
    let bytes = mib_from_env() << 20;
    let server = our_server(
        &["--verify", "--max-window", &MAX_WINDOW.to_string()],
        "info",
    );
    let pid = server.pid();
    // Give the server a moment to settle, then take its baseline peak RSS (idle, listening).
    std::thread::sleep(Duration::from_millis(200));
    let base = yamux_perf::procstat::read(Some(pid))
        .expect("server /proc readable")
        .peak_rss_bytes;

    let start = Instant::now();
    // One thread per client process; each is killed if it outlives the limit.
    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let client = our_client_command(
                    &server.addr,
                    bytes,
                    bytes,
                    &["--verify", "--timeout", "600"],
                );
                scope.spawn(move || run_with_timeout(client, Duration::from_secs(660)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let mut failures = Vec::new();
    for out in &outputs {
        if out.status.success() {
            assert_final(&out.stdout, bytes, bytes);
        } else {
            failures.push(format!("{}: {}", out.status, stderr_of(out).trim()));
        }
    }
    let wall = start.elapsed();
    let peak = yamux_perf::procstat::read(Some(pid))
        .expect("server still running")
        .peak_rss_bytes;
    // The server logs every stream it could not serve (a corrupt upload among them).
    let stream_failures = server
        .lines()
        .iter()
        .filter(|l| l.contains("perf stream failed"))
        .count();
    let limit = base + CLIENTS as u64 * (MAX_WINDOW + SEND_BUFFER + IO_SLACK);
    eprintln!(
        "load: {CLIENTS} clients x {} MiB up + {} MiB down, --verify: {} failures, \
         server peak RSS {:.1} MiB (baseline {:.1} MiB, limit {:.1} MiB), wall {:.1} s",
        bytes >> 20,
        bytes >> 20,
        failures.len(),
        peak as f64 / (1 << 20) as f64,
        base as f64 / (1 << 20) as f64,
        limit as f64 / (1 << 20) as f64,
        wall.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "failed clients:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        stream_failures,
        0,
        "the server failed streams:\n{}",
        server.text()
    );
    assert!(
        peak <= limit,
        "server peak RSS {peak} above {limit} = baseline + {CLIENTS} x (window + send buffer + I/O)"
    );
}
