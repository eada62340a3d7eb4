//! Accuracy of the link emulator: what a TCP endpoint measures through `relay::run` must match
//! the setting within 10% (RTT at 20 ms and 50 ms, rate at 100 Mbit/s), or the sweep's numbers
//! describe the emulator rather than the stack.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use yamux_perf::relay::{self, LinkConfig};
use yamux_perf::transport::TcpConfig;

/// Starts a relay in front of `to`; it stops when the returned sender is dropped.
async fn start_relay(to: SocketAddr, link: LinkConfig) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(relay::run(
        listener,
        to,
        link,
        TcpConfig::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop)
}

/// An echo server for one connection, byte by byte as it arrives.
async fn start_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    addr
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Round trips of 1 byte through a relay with `rtt`: (first exchange, median of the next 20).
async fn ping_pong(rtt: Duration) -> (Duration, Duration) {
    let echo = start_echo().await;
    let link = LinkConfig {
        rtt,
        rate_bits_per_second: None,
        queue: 4 << 20,
    };
    let (relay, _stop) = start_relay(echo, link).await;
    let mut c = TcpStream::connect(relay).await.unwrap();
    c.set_nodelay(true).unwrap();
    let mut samples = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        c.write_all(&[7]).await.unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).await.unwrap();
        samples.push(start.elapsed());
    }
    let first = samples.remove(0);
    (first, median(samples))
}

/// The first exchange also pays for the relay's upstream connect and the timer thread's first
/// wake-up, and the three tests of this file run at once on 2 cores (one pumps 100 Mbit/s): a
/// few ms of slack (seen: 23.8 ms at 20 ms on a clean CI run) while an extra RTT (+100%) or a
/// missed timer tick still fails.
const FIRST_TOLERANCE: f64 = 0.25;

fn error(measured: Duration, setting: Duration) -> f64 {
    (measured.as_secs_f64() - setting.as_secs_f64()).abs() / setting.as_secs_f64()
}

/// Up to [`ATTEMPTS`] runs of [`ping_pong`] through a fresh relay: the first one within both
/// tolerances (median 10%, first exchange [`FIRST_TOLERANCE`]) passes. A load spike on the
/// shared 2-core machine lifts one run (seen: 57 ms at 20 ms with the load average at 13); a
/// relay that is wrong (an extra RTT, a missed timer tick, a wrong delay) is wrong every time.
async fn assert_rtt(rtt: Duration) {
    const ATTEMPTS: usize = 3;
    let mut tries = Vec::new();
    for _ in 0..ATTEMPTS {
        let (first, median) = ping_pong(rtt).await;
        eprintln!("rtt {rtt:?}: first exchange {first:?}, median {median:?}");
        if error(median, rtt) <= 0.10 && error(first, rtt) <= FIRST_TOLERANCE {
            return;
        }
        tries.push((first, median));
    }
    panic!(
        "RTT through the relay at {rtt:?} off in {ATTEMPTS} runs out of {ATTEMPTS} \
         (tolerance: median 10%, first exchange {:.0}%): (first, median) = {tries:?}",
        FIRST_TOLERANCE * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtt_through_the_relay_matches_20ms() {
    assert_rtt(Duration::from_millis(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtt_through_the_relay_matches_50ms() {
    assert_rtt(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_through_the_relay_matches_100mbit() {
    const RATE: u64 = 100_000_000;
    // About 2 s at 100 Mbit/s.
    const BYTES: usize = 25_000_000;
    let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_addr = sink.local_addr().unwrap();
    // The receiver times from its first byte to its last: that excludes the one-way delay and
    // the connection setup, and leaves the serialization of everything after the first chunk.
    let receiver = tokio::spawn(async move {
        let (mut s, _) = sink.accept().await.unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut first: Option<(Instant, usize)> = None;
        let mut total = 0usize;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
            if first.is_none() {
                first = Some((Instant::now(), n));
            }
        }
        let (t0, first_len) = first.unwrap();
        (total, total - first_len, t0.elapsed())
    });
    let link = LinkConfig {
        rtt: Duration::ZERO,
        rate_bits_per_second: Some(RATE),
        queue: 1 << 20,
    };
    let (relay, _stop) = start_relay(sink_addr, link).await;
    let mut c = TcpStream::connect(relay).await.unwrap();
    let data = vec![0u8; BYTES];
    c.write_all(&data).await.unwrap();
    c.shutdown().await.unwrap();
    let (total, timed_bytes, elapsed) = receiver.await.unwrap();
    assert_eq!(total, BYTES);
    let rate = timed_bytes as f64 * 8.0 / elapsed.as_secs_f64();
    eprintln!("rate 100Mbit: {:.2} Mbit/s over {elapsed:?}", rate / 1e6);
    let off = (rate - RATE as f64).abs() / RATE as f64;
    assert!(
        off <= 0.10,
        "rate at 100 Mbit/s: measured {:.2} Mbit/s, error {:.1}% > 10%",
        rate / 1e6,
        off * 100.0
    );
}
