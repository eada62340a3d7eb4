//! yamux 1.0.0 (`/yamux/1.0.0`): a sans-IO session and its tokio driver.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/yamux/README.md>. Behaviour where the spec
//! is silent follows go-yamux v5 (the implementation every libp2p peer is tested against), with
//! one correction: window updates carry the full delta ([`flow`]).
//!
//! - [`frame`]: the 12-byte header codec.
//! - [`flow`]: receive window auto-tuning and send credit, pure arithmetic on a given clock.
//! - [`stream`]: per-stream state inside the session.
//! - [`session`]: the protocol state machine: bytes and `Instant`s in, frames, events and a timer
//!   deadline out.
//! - [`wire`]: outgoing frames as parts (headers plus payload by reference) for zero-copy writes.
//! - [`driver`]: the tokio side: one reader task, one writer task, stream handles.
//!
//! Only the driver reads the clock, through one seam (tokio's clock, so tests can pause it);
//! clippy's `disallowed-methods` (clippy.toml) enforces that for all of `yamux`. Tests of the
//! sans-IO core take one `Instant` as their origin and move it by hand.
#![deny(clippy::disallowed_methods)]

pub mod driver;
pub mod flow;
pub mod frame;
pub mod session;
pub mod stream;
pub mod wire;

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use driver::{Connection, ConnectionError, DriverOptions, StreamHandle};
pub use flow::{AutotuneRule, DEFAULT_MAX_WINDOW, DEFAULT_WINDOW, WindowAccounting};
pub use frame::{Flags, FrameType, Header};
pub use session::{Config, Event, ReadOutcome, Role, Session, SessionError, Stats, TraceEvent};
pub use stream::StreamError;

/// The multistream-select protocol id of yamux.
pub const PROTOCOL_ID: &str = "/yamux/1.0.0";
