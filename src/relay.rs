//! A user-space link emulator: a TCP relay that delays and rate-limits each direction.
//!
//! `tc netem` needs root and is not available on the machines this runs on, and on loopback the
//! RTT is tens of microseconds, so windows never matter. The relay sits between any two TCP
//! endpoints (so it works for foreign peers too) and gives each direction:
//!
//! - a one-way delay of RTT/2 (propagation);
//! - serialization at `rate` (a byte leaves the link's queue only when the link is free);
//! - a bounded queue: bytes waiting for serialization plus bytes in propagation may not exceed
//!   `queue + rate × delay`; past that the relay stops reading, so the sender's TCP backs off
//!   (backpressure, as a full router buffer would cause — but without loss).
//!
//! The schedule ([`Link`], the link model it shares with the simulated sweep in [`crate::sim`])
//! is pure arithmetic on a given clock; the tokio side only reads, sleeps and writes.
//!
//! Delivery times come from one timer thread (`precise_sleep_until`), not from tokio's timer:
//! tokio rounds every deadline up to its 1 ms wheel tick and then parks in `epoll_wait` with a
//! millisecond timeout, so each delayed hop arrived 1 to 2 ms late (a 20 ms RTT measured
//! 22.4 ms, 50 ms measured 52.6 ms). A thread waiting on a condition variable with a timeout
//! sleeps on a high-resolution timer and wakes within tens of microseconds.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};

use crate::transport::{self, TcpConfig};

pub use crate::sim::link::{CHUNK, LinkConfig, UNLIMITED_RATE_BUFFER};

/// Faults the relay injects on purpose, for fault tests. `Default` injects none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Abort each relayed connection once this many bytes have been relayed on it (both
    /// directions together): both sockets are closed at once with a TCP reset, as a crashed
    /// middlebox or a pulled cable followed by a timeout would look to the endpoints.
    pub drop_after: Option<u64>,
}

pub use crate::sim::link::Link;

/// Runs the relay: every connection accepted on `listener` is connected to `to` and relayed
/// until either side closes. Ends when `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    to: SocketAddr,
    config: LinkConfig,
    tcp: TcpConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run_with_faults(listener, to, config, tcp, Faults::default(), shutdown).await
}

/// [`run`], injecting `faults` into every relayed connection.
pub async fn run_with_faults(
    listener: TcpListener,
    to: SocketAddr,
    config: LinkConfig,
    tcp: TcpConfig,
    faults: Faults,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (inbound, from) = accepted?;
                let tcp = tcp.clone();
                tokio::spawn(async move {
                    if let Err(e) = relay_connection(inbound, to, config, &tcp, faults).await {
                        tracing::info!(%from, %to, "relay connection failed: {e}");
                    }
                });
            }
            () = &mut shutdown => return Ok(()),
        }
    }
}

async fn relay_connection(
    inbound: TcpStream,
    to: SocketAddr,
    config: LinkConfig,
    tcp: &TcpConfig,
    faults: Faults,
) -> io::Result<()> {
    transport::configure_accepted(&inbound, tcp)?;
    let outbound = transport::dial(to, tcp).await?;
    let drop = faults.drop_after.map(|limit| {
        // Closing with linger 0 sends a reset instead of a FIN.
        Arc::new(DropAfter {
            limit,
            relayed: AtomicU64::new(0),
            tripped: Notify::new(),
        })
    });
    if drop.is_some() {
        inbound.set_zero_linger()?;
        outbound.set_zero_linger()?;
    }
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let mut forward = AbortOnDrop(tokio::spawn(pipe(in_read, out_write, config, drop.clone())));
    let mut backward = AbortOnDrop(tokio::spawn(pipe(out_read, in_write, config, drop.clone())));
    let joined = async { tokio::join!(&mut forward.0, &mut backward.0) };
    let (f, b) = match &drop {
        None => joined.await,
        Some(drop) => tokio::select! {
            joined = joined => joined,
            () = drop.tripped.notified() => {
                // Dropping the pipes (and their writers) closes all four halves: both resets.
                tracing::info!(%to, after = drop.limit, "relay dropped the connection (--drop-after)");
                return Ok(());
            }
        },
    };
    let bytes = (f.map_err(io::Error::other)??, b.map_err(io::Error::other)??);
    tracing::debug!(%to, forward = bytes.0, backward = bytes.1, "relay connection done");
    Ok(())
}

/// What travels from the reading half to the writing half of one direction.
#[derive(Debug)]
enum Segment {
    Data(Instant, Bytes),
    /// The source closed its write side (delivered after the delay, like a FIN).
    Eof(Instant),
}

#[derive(Debug, Default)]
struct Queue {
    segments: std::sync::Mutex<VecDeque<Segment>>,
    ready: Notify,
}

/// The `--drop-after` state of one relayed connection, shared by its two directions.
#[derive(Debug)]
struct DropAfter {
    limit: u64,
    relayed: AtomicU64,
    tripped: Notify,
}

impl DropAfter {
    /// Counts `n` more bytes read; returns how many of them may still be relayed (fewer than
    /// `n` once the limit is reached, which trips the drop).
    fn take(&self, n: usize) -> usize {
        let before = self.relayed.fetch_add(n as u64, Ordering::Relaxed);
        let allowed = self.limit.saturating_sub(before).min(n as u64) as usize;
        if before + n as u64 >= self.limit {
            self.tripped.notify_one();
        }
        allowed
    }
}

/// A task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Relays one direction; returns the number of bytes relayed.
async fn pipe(
    mut src: OwnedReadHalf,
    mut dst: OwnedWriteHalf,
    config: LinkConfig,
    drop: Option<Arc<DropAfter>>,
) -> io::Result<u64> {
    let limit = config.buffer_limit();
    let budget = Arc::new(Semaphore::new(limit));
    let queue = Arc::new(Queue::default());
    let writer = {
        let (budget, queue) = (budget.clone(), queue.clone());
        AbortOnDrop(tokio::spawn(async move {
            loop {
                let next = queue
                    .segments
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop_front();
                match next {
                    None => queue.ready.notified().await,
                    Some(Segment::Data(at, data)) => {
                        sleep_until(at).await;
                        dst.write_all(&data).await?;
                        budget.add_permits(data.len());
                    }
                    Some(Segment::Eof(at)) => {
                        sleep_until(at).await;
                        dst.shutdown().await?;
                        return Ok::<(), io::Error>(());
                    }
                }
            }
        }))
    };
    let mut link = Link::new(&config);
    let mut total = 0u64;
    let mut buf = BytesMut::new();
    let reader: io::Result<()> = async {
        loop {
            // Wait for room before reading: this is the backpressure.
            let mut permit = budget
                .clone()
                .acquire_many_owned(CHUNK as u32)
                .await
                .map_err(io::Error::other)?;
            buf.reserve(CHUNK);
            let mut n = (&mut src).take(CHUNK as u64).read_buf(&mut buf).await?;
            if let Some(drop) = &drop
                && n > 0
            {
                n = drop.take(n);
                buf.truncate(n);
                if n == 0 {
                    // Past the limit: relay nothing more and wait to be dropped.
                    std::future::pending::<()>().await;
                }
            }
            let now = Instant::now();
            let segment = if n == 0 {
                Segment::Eof(link.schedule(now, 0))
            } else {
                // Keep the permits for the bytes read; the writer returns them on delivery.
                permit.split(n).expect("n <= CHUNK").forget();
                total += n as u64;
                Segment::Data(link.schedule(now, n), buf.split().freeze())
            };
            let eof = matches!(segment, Segment::Eof(_));
            queue
                .segments
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(segment);
            queue.ready.notify_one();
            if eof {
                return Ok(());
            }
        }
    }
    .await;
    let mut writer = writer;
    let written = (&mut writer.0).await.map_err(io::Error::other)?;
    reader?;
    written?;
    Ok(total)
}

async fn sleep_until(at: Instant) {
    if at > Instant::now() {
        precise_sleep_until(at).await;
    }
}

/// One deadline waiting in the timer thread; ordered so that the heap's top is the earliest.
#[derive(Debug)]
struct Deadline {
    at: Instant,
    /// Insertion order, so that equal deadlines fire in the order they were set.
    seq: u64,
    wake: tokio::sync::oneshot::Sender<()>,
}

impl PartialEq for Deadline {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Deadline {}

impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Debug, Default)]
struct TimerQueue {
    heap: std::collections::BinaryHeap<Deadline>,
    next_seq: u64,
}

#[derive(Debug, Default)]
struct PreciseTimer {
    queue: std::sync::Mutex<TimerQueue>,
    changed: std::sync::Condvar,
}

/// The process's timer thread, started on first use; it sleeps in the condition variable while
/// nothing is due.
fn precise_timer() -> &'static PreciseTimer {
    static TIMER: std::sync::OnceLock<&'static PreciseTimer> = std::sync::OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static PreciseTimer = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("relay-timer".into())
            .spawn(move || timer_thread(timer))
            .expect("spawning the relay timer thread");
        timer
    })
}

fn timer_thread(timer: &PreciseTimer) {
    let mut queue = timer.queue.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        while queue.heap.peek().is_some_and(|d| d.at <= now) {
            if let Some(due) = queue.heap.pop() {
                // The waiting task may be gone (connection closed): nothing to do then.
                let _ = due.wake.send(());
            }
        }
        queue = match queue.heap.peek().map(|d| d.at - now) {
            Some(wait) => {
                timer
                    .changed
                    .wait_timeout(queue, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => timer.changed.wait(queue).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

/// Waits until `at` with sub-millisecond accuracy (see the module doc for why not tokio's timer).
async fn precise_sleep_until(at: Instant) {
    let timer = precise_timer();
    let (wake, woken) = tokio::sync::oneshot::channel();
    {
        let mut queue = timer.queue.lock().unwrap_or_else(|e| e.into_inner());
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.heap.push(Deadline { at, seq, wake });
    }
    timer.changed.notify_one();
    // The sender is never dropped before it sends: the thread runs for the whole process.
    let _ = woken.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::payload::pattern_byte;
    use std::time::Duration;

    #[test]
    fn drop_after_lets_exactly_the_limit_through_then_trips() {
        use futures_util::FutureExt;
        let drop = DropAfter {
            limit: 100,
            relayed: AtomicU64::new(0),
            tripped: Notify::new(),
        };
        assert_eq!(drop.take(60), 60);
        assert!(drop.tripped.notified().now_or_never().is_none(), "not yet");
        // The other direction crosses the limit: only the rest passes, and the drop trips.
        assert_eq!(drop.take(60), 40);
        assert!(drop.tripped.notified().now_or_never().is_some(), "tripped");
        assert_eq!(drop.take(10), 0);
    }

    fn config(rtt_ms: u64, rate: Option<u64>) -> LinkConfig {
        LinkConfig {
            rtt: Duration::from_millis(rtt_ms),
            rate_bits_per_second: rate,
            queue: 4 << 20,
        }
    }

    #[tokio::test]
    async fn precise_sleeps_wake_at_their_deadline_never_before() {
        let t0 = Instant::now();
        let deadlines = [7u64, 3, 5].map(|ms| t0 + Duration::from_millis(ms));
        let woken = futures_util::future::join_all(deadlines.iter().map(|&at| async move {
            precise_sleep_until(at).await;
            Instant::now()
        }))
        .await;
        for (at, woke) in deadlines.iter().zip(&woken) {
            assert!(woke >= at, "woke before its deadline");
            // Generous: the machine may be loaded; tokio's timer alone is 1-2 ms late.
            assert!(*woke - *at < Duration::from_millis(20), "{:?}", *woke - *at);
        }
    }

    #[tokio::test]
    async fn relays_both_directions_and_the_close() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = echo.accept().await.unwrap();
            let mut data = Vec::new();
            s.read_to_end(&mut data).await.unwrap();
            s.write_all(&data).await.unwrap();
            s.shutdown().await.unwrap();
        });
        let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay_addr = relay.local_addr().unwrap();
        tokio::spawn(run(
            relay,
            echo_addr,
            config(20, None),
            TcpConfig::default(),
            std::future::pending(),
        ));
        let start = Instant::now();
        let mut c = TcpStream::connect(relay_addr).await.unwrap();
        let sent: Vec<u8> = (0..300_000).map(pattern_byte).collect();
        c.write_all(&sent).await.unwrap();
        c.shutdown().await.unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).await.unwrap();
        assert!(got == sent, "bytes arrive intact and in order");
        // There and back through the relay: at least one RTT.
        assert!(
            start.elapsed() >= Duration::from_millis(20),
            "{:?}",
            start.elapsed()
        );
    }
}
