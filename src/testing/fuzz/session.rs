//! The yamux session target: two sans-IO sessions driven by an interpreted script.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::Input;
use crate::perf::payload::Payload;
use crate::yamux::session::{Config, ReadOutcome, Role, Session, SessionError};

/// The `len` bytes stream `id` carries from `offset` on, so the receiver can check every byte
/// it reads (the stream id shifts the phase: streams cannot pass off each other's bytes). Writes
/// are at most `u16::MAX` bytes, within one [`Payload::chunk`].
fn pattern(id: u32, offset: u64, len: usize) -> Bytes {
    Payload::Pattern.chunk(offset + u64::from(id), len)
}

/// One side of the session pair and what the harness knows about it.
struct Side {
    session: Session,
    /// Bytes in flight towards this side.
    inbound: BytesMut,
    /// Stream ids this side has seen (opened or accepted), in order.
    streams: Vec<u32>,
    /// Payload bytes written per stream.
    written: HashMap<u32, u64>,
    /// Payload bytes read per stream.
    read: HashMap<u32, u64>,
    /// Total payload bytes read on all streams.
    read_total: u64,
}

impl Side {
    fn new(role: Role, config: Config, now: Instant) -> Self {
        Self {
            session: Session::new(role, config, now),
            inbound: BytesMut::new(),
            streams: Vec::new(),
            written: HashMap::new(),
            read: HashMap::new(),
            read_total: 0,
        }
    }

    fn pick_stream(&self, input: &mut Input<'_>) -> u32 {
        let i = usize::from(input.u8());
        if self.streams.is_empty() {
            // A made-up id: exercises the unknown-stream paths.
            return i as u32;
        }
        self.streams[i % self.streams.len()]
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            if let crate::yamux::Event::InboundStream(id) = event {
                self.streams.push(id);
            }
        }
    }
}

/// Drives two sessions (a client and a server) wired back to back with calls decoded from
/// `data`, and checks after every step that
/// - nothing panics;
/// - no receive window grows past the configured maximum, and (while no foreign bytes were
///   injected) no send credit exceeds what the peer may grant;
/// - no side reads more payload bytes than it received, nor more on a stream than the peer
///   wrote on it, and every byte read is the byte written at that offset (while no foreign bytes
///   were injected);
/// - while no foreign bytes were injected, neither session reports a frame or protocol error:
///   our own sessions never break the protocol towards each other.
pub fn session(data: &[u8]) {
    let mut input = Input { data };
    let flags = input.u8();
    let config = Config {
        max_window: [256 * 1024, 1024 * 1024, 16 * 1024 * 1024][usize::from(flags & 3) % 3],
        max_inbound_streams: 1 + usize::from((flags >> 2) & 7),
        send_buffer: [4096, 64 * 1024, 1024 * 1024][usize::from((flags >> 5) & 3) % 3],
        autotune: flags & 0x80 == 0,
        ..Config::default()
    };
    let start = Instant::now();
    let mut now = start;
    let mut sides = [
        Side::new(Role::Client, config.clone(), now),
        Side::new(Role::Server, config.clone(), now),
    ];
    // Whether foreign bytes went into either session: then only the panic-freedom and window
    // bounds are checked.
    let mut tainted = false;
    let mut steps = 0;
    while !input.is_empty() && steps < 4096 {
        steps += 1;
        let op = input.u8();
        let who = usize::from(op & 1);
        let (me, peer) = if who == 0 { (0, 1) } else { (1, 0) };
        let mut result: Result<(), SessionError> = Ok(());
        match (op >> 1) % 12 {
            0 => {
                if let Ok(Some(id)) = sides[me].session.open_stream(now) {
                    sides[me].streams.push(id);
                }
            }
            1 => {
                let side = &mut sides[me];
                let id = side.pick_stream(&mut input);
                let len = usize::from(input.u16());
                let offset = side.written.get(&id).copied().unwrap_or(0);
                let payload = pattern(id, offset, len);
                if let Ok(n) = side.session.write(now, id, &payload) {
                    assert!(n <= len);
                    *side.written.entry(id).or_default() += n as u64;
                }
            }
            2 => {
                let id = sides[me].pick_stream(&mut input);
                let max = usize::from(input.u16()).max(1);
                if let Ok(ReadOutcome::Data(bytes)) = sides[me].session.read(now, id, max) {
                    assert!(!bytes.is_empty() && bytes.len() <= max);
                    let side = &mut sides[me];
                    let offset = side.read.entry(id).or_default();
                    if !tainted {
                        let expected = pattern(id, *offset, bytes.len());
                        assert!(bytes == expected, "stream {id} corrupt at {offset}");
                    }
                    *offset += bytes.len() as u64;
                    side.read_total += bytes.len() as u64;
                    let read_on_stream = *offset;
                    if !tainted {
                        let written = sides[peer].written.get(&id).copied().unwrap_or(0);
                        assert!(
                            read_on_stream <= written,
                            "stream {id}: read more than written"
                        );
                    }
                }
            }
            3 => {
                let id = sides[me].pick_stream(&mut input);
                let _ = sides[me].session.close_write(id);
            }
            4 => {
                let id = sides[me].pick_stream(&mut input);
                let code = u32::from(input.u8());
                let _ = sides[me].session.reset(id, code);
            }
            5 => {
                let id = sides[me].pick_stream(&mut input);
                sides[me].session.detach(now, id);
            }
            6 => {
                // Transmit towards the peer, up to a limit.
                let limit = usize::from(input.u16()).max(1) * 16;
                let mut out = BytesMut::new();
                sides[me].session.poll_transmit(now, &mut out, limit);
                sides[peer].inbound.extend_from_slice(&out);
            }
            7 => {
                // Deliver part of what is in flight towards `me`.
                let side = &mut sides[me];
                let n = (usize::from(input.u16()) * 8).min(side.inbound.len());
                let mut chunk = side.inbound.split_to(n);
                result = side.session.handle_input(now, &mut chunk);
                // What the session left unconsumed (a partial header) goes back in front.
                chunk.unsplit(std::mem::take(&mut side.inbound));
                side.inbound = chunk;
            }
            8 => {
                // Foreign bytes, as a hostile or broken peer would send them.
                let n = usize::from(input.u8());
                let mut garbage = BytesMut::from(input.bytes(n));
                tainted = true;
                result = sides[me].session.handle_input(now, &mut garbage);
            }
            9 => {
                now += Duration::from_millis(u64::from(input.u16()) * 4);
                for side in &mut sides {
                    if side.session.poll_timeout().is_some_and(|t| t <= now) {
                        let _ = side.session.handle_timeout(now);
                    }
                }
            }
            10 => {
                let code = u32::from(input.u8() & 3);
                sides[me].session.close(code);
            }
            _ => sides[me].drain_events(),
        }
        if let Err(e) = &result
            && !tainted
        {
            assert!(
                !matches!(e, SessionError::Frame(_) | SessionError::Protocol(_)),
                "our own peer caused {e}"
            );
        }
        for i in 0..2 {
            check_session_bounds(&sides[i], &sides[1 - i], tainted);
        }
    }
}

fn check_session_bounds(side: &Side, peer: &Side, tainted: bool) {
    let stats = side.session.stats();
    let max_window = side.session.config().max_window;
    assert!(
        stats.max_recv_window <= max_window,
        "receive window {} above the maximum {max_window}",
        stats.max_recv_window
    );
    assert!(
        side.read_total <= stats.data_bytes_received,
        "read {} bytes but received {}",
        side.read_total,
        stats.data_bytes_received
    );
    if !tainted {
        let peer_max = peer.session.config().max_window;
        assert!(
            stats.max_send_credit <= peer_max,
            "send credit {} above the peer's maximum window {peer_max}",
            stats.max_send_credit
        );
        // Every payload byte sent was either counted by the peer or is still in flight (the
        // in-flight bytes include headers, so this is an upper bound).
        if peer.session.error().is_none() {
            let in_flight = peer.inbound.len() as u64;
            assert!(
                stats.data_bytes_sent <= peer.session.stats().data_bytes_received + in_flight,
                "sent payload unaccounted for"
            );
        }
    }
}
