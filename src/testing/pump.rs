//! The in-memory pump of the benches: a [`Pair`]'s two sans-IO sessions joined by the driver's
//! batch path (fill, seal, vectored write, open, feed) instead of the pair's simulated link, so
//! the payload goes through a security layer's transport cipher as it does in the driver's
//! writer and reader, without sockets, threads or a clock.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;

use super::Pair;
use crate::yamux::driver::{Batch, Open, Seal};
use crate::yamux::{Config, Role, Session};

/// The socket of the pump: appends what is written (vectored writes included) to a buffer, as
/// the kernel copies it into the socket buffer.
pub struct MemoryWriter<'a>(pub &'a mut BytesMut);

impl tokio::io::AsyncWrite for MemoryWriter<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let out = &mut self.get_mut().0;
        bufs.iter().for_each(|b| out.extend_from_slice(b));
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A [`Pair`] whose two sessions are joined by the driver's batch path: what a session
/// transmits is filled into a [`Batch`] (up to 256 KiB), sealed by `seal`, written to memory,
/// opened unit by unit by `open` and fed to the other session. One `seal`/`open` pair serves
/// both directions (its nonces simply run on). The pair's own link and clock stand still.
pub struct Pump<S, O> {
    /// The sessions and their applications.
    pub pair: Pair,
    seal: S,
    open: O,
    batch: Batch,
    inbound: BytesMut,
    plaintext: BytesMut,
}

impl<S: Seal, O: Open> Pump<S, O> {
    /// Both sides with `config`, their applications neither keeping nor checking the payload.
    pub fn new(config: Config, seal: S, open: O) -> Self {
        let mut pair = Pair::new(config.clone(), config);
        for side in [&mut pair.client, &mut pair.server] {
            side.keep_data = false;
            side.verify_pattern = false;
        }
        Self {
            pair,
            seal,
            open,
            batch: Batch::with_capacity(512 << 10),
            inbound: BytesMut::with_capacity(512 << 10),
            plaintext: BytesMut::with_capacity(512 << 10),
        }
    }

    /// Moves everything the client wants to send to the server, then everything the server
    /// wants to send to the client, then runs both applications once. Returns whether an
    /// application did anything.
    pub fn round(&mut self) -> bool {
        let now = self.pair.now;
        let Self {
            pair,
            seal,
            open,
            batch,
            inbound,
            plaintext,
        } = self;
        let mut transfer = |from: &mut Session, to: &mut Session| {
            while from.wants_transmit() {
                batch.fill(from, now, seal, 256 << 10);
                batch.seal(seal).expect("sealing a batch");
                let mut cx = Context::from_waker(Waker::noop());
                let sent = batch.poll_send(&mut MemoryWriter(inbound), &mut cx);
                assert!(matches!(sent, Poll::Ready(Ok(()))));
                while let Some(unit) = open.open_next(inbound).expect("opening a unit") {
                    plaintext.extend_from_slice(&unit);
                    to.handle_input(now, plaintext).expect("session input");
                }
            }
        };
        transfer(&mut pair.client.session, &mut pair.server.session);
        transfer(&mut pair.server.session, &mut pair.client.session);
        pair.run_apps()
    }

    /// Rounds until neither application has anything to do and neither session anything to
    /// send.
    pub fn settle(&mut self) {
        while self.round()
            || self.pair.client.session.wants_transmit()
            || self.pair.server.session.wants_transmit()
        {}
    }
}

/// Moves `total` bytes from a client stream to the server through a [`Pump`] with 16 MiB
/// windows (its applications write and read the payload). Returns the bytes the server read.
pub fn pump<S: Seal, O: Open>(total: u64, seal: S, open: O) -> u64 {
    let config = Config {
        initial_window: 16 << 20,
        ..Config::default()
    };
    let mut pump = Pump::new(config, seal, open);
    let id = pump.pair.open(Role::Client);
    pump.pair.write(Role::Client, id, total);
    while pump.pair.server.stream(id).read < total {
        pump.round();
    }
    pump.pair.server.stream(id).read
}
