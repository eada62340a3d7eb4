//! The link model: one direction of a reliable pipe with a one-way delay, a rate and a bounded
//! buffer. The one definition of that arithmetic: the relay ([`crate::relay`]) schedules real
//! bytes with it, the simulated sweep ([`super`]) and the test harness (`testing::Pair`)
//! schedule simulated ones.
//!
//! Pure arithmetic on a given clock, in integer nanoseconds (the same inputs give the same
//! times on every run and machine):
//!
//! - a byte handed to the link waits until the link has serialized everything before it, takes
//!   `8 / rate` seconds itself, and arrives one-way delay (RTT/2) after its serialization ends;
//! - without a rate, serialization takes no time: the link is a delay line;
//! - nothing overtakes: a batch never arrives before the one handed over before it;
//! - the bytes one direction holds (waiting for serialization plus in propagation) are bounded
//!   by [`LinkConfig::buffer_limit`]; the relay stops reading from the sender at that bound and
//!   the simulation stops taking batches from the sending session (backpressure, no loss).

use std::time::{Duration, Instant};

/// Bytes the relay reads from a socket per chunk, and the batch a simulated sender hands to the
/// link: the granularity of the schedule.
pub const CHUNK: usize = 64 * 1024;

/// Bound on buffered bytes when no rate is set (the link is then only a delay line).
pub const UNLIMITED_RATE_BUFFER: usize = 256 * 1024 * 1024;

/// The emulated link, the same in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// Round-trip time; each direction gets half.
    pub rtt: Duration,
    /// Bits per second each way; `None` for no limit.
    pub rate_bits_per_second: Option<u64>,
    /// Bytes that may wait for serialization before the link stops taking more.
    pub queue: usize,
}

impl LinkConfig {
    /// One-way delay.
    pub fn one_way_delay(&self) -> Duration {
        self.rtt / 2
    }

    /// Most bytes one direction holds: the queue plus what is in propagation at full rate.
    pub fn buffer_limit(&self) -> usize {
        match self.rate_bits_per_second {
            Some(rate) => {
                let in_flight = u128::from(rate) * self.one_way_delay().as_nanos() / 8_000_000_000;
                self.queue
                    .saturating_add(usize::try_from(in_flight).unwrap_or(usize::MAX))
                    .max(CHUNK)
            }
            None => self.queue.max(UNLIMITED_RATE_BUFFER),
        }
    }
}

/// Time to serialize `len` bytes at `rate_bits_per_second` (zero without a rate), rounded down
/// to the nanosecond.
pub fn serialization_time(len: usize, rate_bits_per_second: Option<u64>) -> Duration {
    match rate_bits_per_second {
        Some(rate) if rate > 0 => {
            let nanos = len as u128 * 8 * 1_000_000_000 / u128::from(rate);
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
        _ => Duration::ZERO,
    }
}

/// The schedule of one direction: when each batch is delivered.
#[derive(Debug, Clone)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// Bits per second; `None` for no limit.
    pub rate_bits_per_second: Option<u64>,
    /// When the link finishes serializing what it has been given.
    free_at: Option<Instant>,
    /// When the last batch handed over arrives.
    last_arrival: Option<Instant>,
}

impl Link {
    /// A link with the configuration's delay and rate.
    pub fn new(config: &LinkConfig) -> Self {
        Self::with(config.one_way_delay(), config.rate_bits_per_second)
    }

    /// A link with a one-way delay and a rate.
    pub fn with(delay: Duration, rate_bits_per_second: Option<u64>) -> Self {
        Self {
            delay,
            rate_bits_per_second,
            free_at: None,
            last_arrival: None,
        }
    }

    /// `len` bytes handed over at `now`: returns when their last byte reaches the other side
    /// (never before an earlier batch, even if the delay was changed in between).
    pub fn schedule(&mut self, now: Instant, len: usize) -> Instant {
        let start = self.free_at.map_or(now, |free| free.max(now));
        let done = start + serialization_time(len, self.rate_bits_per_second);
        self.free_at = Some(done);
        let arrival = self
            .last_arrival
            .map_or(done + self.delay, |last| last.max(done + self.delay));
        self.last_arrival = Some(arrival);
        arrival
    }

    /// Whether a batch handed over at `now` would start serializing at once (always true
    /// without a rate).
    pub fn is_free(&self, now: Instant) -> bool {
        self.rate_bits_per_second.is_none() || self.free_at.is_none_or(|free| free <= now)
    }

    /// When the link has serialized everything it was given (`None`: never given anything).
    pub fn free_at(&self) -> Option<Instant> {
        self.free_at
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the tests take one origin from the clock
mod tests {
    use super::*;

    fn config(rtt_ms: u64, rate: Option<u64>) -> LinkConfig {
        LinkConfig {
            rtt: Duration::from_millis(rtt_ms),
            rate_bits_per_second: rate,
            queue: 4 << 20,
        }
    }

    #[test]
    fn delay_only_link_delivers_after_half_the_rtt() {
        let t0 = Instant::now();
        let mut link = Link::new(&config(50, None));
        assert_eq!(link.schedule(t0, 1_000_000), t0 + Duration::from_millis(25));
        assert_eq!(
            link.schedule(t0, 1),
            t0 + Duration::from_millis(25),
            "no serialization without a rate"
        );
        assert!(link.is_free(t0));
    }

    #[test]
    fn rate_serializes_back_to_back_chunks() {
        let t0 = Instant::now();
        // 8 Mbit/s = 1 byte per microsecond.
        let mut link = Link::new(&config(0, Some(8_000_000)));
        assert_eq!(link.schedule(t0, 1000), t0 + Duration::from_micros(1000));
        assert!(!link.is_free(t0));
        assert_eq!(
            link.schedule(t0, 1000),
            t0 + Duration::from_micros(2000),
            "queued behind the first"
        );
        // After an idle gap the link starts at the arrival time again.
        let later = t0 + Duration::from_millis(10);
        assert!(link.is_free(later));
        assert_eq!(
            link.schedule(later, 500),
            later + Duration::from_micros(500)
        );
    }

    #[test]
    fn a_shorter_delay_never_reorders() {
        let t0 = Instant::now();
        let mut link = Link::with(Duration::from_millis(50), None);
        assert_eq!(link.schedule(t0, 10), t0 + Duration::from_millis(50));
        link.delay = Duration::from_millis(1);
        assert_eq!(link.schedule(t0, 10), t0 + Duration::from_millis(50));
    }

    #[test]
    fn buffer_limit_covers_the_queue_and_the_bytes_in_flight() {
        // 1 Gbit/s for 25 ms one way is 3.125 MB in flight.
        let c = config(50, Some(1_000_000_000));
        assert_eq!(c.buffer_limit(), (4 << 20) + 3_125_000);
        assert_eq!(config(50, None).buffer_limit(), UNLIMITED_RATE_BUFFER);
    }
}
