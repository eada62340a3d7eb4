//! The driver's one clock: every `Instant` the driver hands the session comes from [`now`].
//!
//! It reads tokio's clock, which is the system's monotonic clock unless a test paused it
//! (`#[tokio::test(start_paused = true)]`): then time only moves when every task is idle or a
//! test advances it, and timers (the keep-alive ping, the write timeout, the idle timeout) fire at
//! exactly their configured instants. clippy's `disallowed-methods` (clippy.toml) forbids reading
//! the clock anywhere else in `yamux`.

use std::time::Instant;

/// The current instant on tokio's clock; give it to [`Session::new`](crate::yamux::Session::new)
/// for a session the driver runs.
#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
