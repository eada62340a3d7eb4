//! The writer task: runs the session's timer and writes what the session has to send, bounded by
//! the write timeout.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::clock::now;
use super::shared::Shared;
use super::{ConnectionError, DriverOptions};

/// Runs [`Pump::poll_pump`] until the session has nothing more to send. With a `timeout`, fails
/// with `TimedOut` once the socket has taken no byte for that long.
async fn pump_watched(shared: &Shared, timeout: Option<Duration>) -> io::Result<()> {
    let pump = std::future::poll_fn(|cx| shared.lock_outbound().poll_pump(shared, cx));
    let Some(timeout) = timeout else {
        return pump.await;
    };
    tokio::pin!(pump);
    let mut seen = shared.lock_outbound().written();
    loop {
        tokio::select! {
            // Pump first: most pumps finish at once, and then the timer is never polled, so it
            // never enters the timer wheel.
            biased;
            result = &mut pump => return result,
            () = tokio::time::sleep(timeout) => {
                let written = shared.lock_outbound().written();
                if written == seen {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the peer took no byte for {timeout:?} (write timeout)"),
                    ));
                }
                seen = written;
            }
        }
    }
}

pub(super) async fn write_loop(
    shared: Arc<Shared>,
    options: DriverOptions,
    abort_reader: tokio::task::AbortHandle,
) {
    let write_timeout = options.write_timeout;
    let mut write_failed = false;
    loop {
        let deadline = {
            let mut inner = shared.lock();
            let now = now();
            if inner.session.poll_timeout().is_some_and(|t| t <= now) {
                // A failure queues a GoAway, which goes out below.
                let _ = inner.session.handle_timeout(now);
            }
            inner.session.poll_timeout()
        };
        let sent = pump_watched(&shared, write_timeout).await;
        if let Err(e) = sent {
            shared.lock().shut(ConnectionError::Io(e.to_string()));
            write_failed = true;
            break;
        }
        {
            // Everything the session had is on the socket now; once it is closed (our GoAway is
            // out) or the connection failed, we are done.
            let inner = shared.lock();
            if inner.session.is_closed() || inner.closed.is_some() {
                break;
            }
        }
        match deadline {
            Some(t) => {
                tokio::select! {
                    _ = shared.writer.notified() => {}
                    _ = tokio::time::sleep_until(t.into()) => {}
                }
            }
            None => shared.writer.notified().await,
        }
    }
    let _ = std::future::poll_fn(|cx| shared.lock_outbound().poll_shut(cx)).await;
    let mut inner = shared.lock();
    let session_done = inner.session.is_closed();
    inner.shut(ConnectionError::Closed);
    drop(inner);
    shared.reader.notify_one();
    // After our GoAway the peer has nothing to say that we need; after a failed write (an error,
    // or a peer that stopped reading and may never send again) neither. On a peer EOF the
    // reader is already done.
    if session_done || write_failed {
        abort_reader.abort();
    }
}
