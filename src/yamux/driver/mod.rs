//! The tokio driver of a yamux [`Session`](super::Session): one reader task, one writer task,
//! stream handles.
//!
//! The session sits behind a mutex. The reader task owns the socket's read half: it decrypts
//! what arrives and feeds it to the session. The writer task owns the write half and is the only
//! code that writes: it drains [`Session::poll_transmit`](super::Session::poll_transmit) (pongs,
//! window updates, GoAway and DATA alike), encrypts and writes, and it runs the session's timer.
//! [`StreamHandle`]s implement `AsyncRead`/`AsyncWrite` by calling session commands and waking
//! the writer.
//!
//! The byte transform below yamux (Noise, or nothing) comes in through [`Seal`] and [`Open`], so
//! the driver depends on no security protocol, and it knows nothing about the negotiation that
//! picked yamux: its [`Channel`] starts with yamux frames.
//!
//! - [`seal`]: [`Seal`], [`Open`], [`Framing`] and [`Passthrough`] (no transform).
//! - [`batch`]: [`Batch`], the writer's frames sealed for one socket write.
//! - `shared`: the session behind its lock, the wakers, and the write side that a stream's task
//!   may write from inline, without waking the writer task.
//! - `reader` and `writer`: the two tasks.
//! - `handle`: [`StreamHandle`].
//! - `connection`: [`Connection`], [`Channel`], [`Tasks`] and the spawn.
//! - `clock`: `now()`, the only clock the driver reads (tokio's, so tests can pause it).

use std::io;
use std::time::Duration;

use super::session::SessionError;

pub mod batch;
mod clock;
mod connection;
mod handle;
mod reader;
pub mod seal;
mod shared;
mod writer;

#[cfg(test)]
mod tests;

pub use batch::Batch;
pub use clock::now;
pub use connection::{Channel, Connection, Tasks};
pub use handle::StreamHandle;
pub use seal::{Framing, Open, Passthrough, Seal};

/// Plaintext bytes the writer takes from the session per batch (one socket write).
const WRITE_BATCH: usize = 256 * 1024;

/// Bytes the reader asks the socket for per read.
const READ_CHUNK: usize = 256 * 1024;

/// Settings of the driver itself (the session's are in [`Config`](super::Config)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverOptions {
    /// Close the connection when the socket takes none of the bytes we have to send for this
    /// long (a peer that stopped reading: TCP's window is shut, so no keep-alive ping gets
    /// through either). Progress, however slow, restarts the clock; a stall is noticed between
    /// one and two timeouts after the last byte went out. `None` (the default) waits forever.
    pub write_timeout: Option<Duration>,
}

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The yamux session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The socket or the security layer failed.
    #[error("i/o: {0}")]
    Io(String),
    /// The peer closed the connection.
    #[error("connection closed by peer")]
    Eof,
    /// The connection was closed locally.
    #[error("connection closed")]
    Closed,
}

impl From<ConnectionError> for io::Error {
    fn from(e: ConnectionError) -> io::Error {
        let kind = match e {
            ConnectionError::Eof => io::ErrorKind::UnexpectedEof,
            ConnectionError::Closed => io::ErrorKind::NotConnected,
            _ => io::ErrorKind::ConnectionReset,
        };
        io::Error::new(kind, e)
    }
}
