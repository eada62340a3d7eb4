//! A deterministic harness for the sans-IO [`Session`]: two sessions joined by a simulated link.
//!
//! Modelled on quinn-proto's `Pair` (`quinn-proto/src/tests/util.rs`: two endpoints, one
//! simulated clock, `drive` until idle) and s2n-quic netbench's `Testing::advance_pair`
//! (`netbench/netbench/src/timer.rs`: both sides' clocks jump to the earlier of their next
//! deadlines). A [`Pair`] owns a client and a server session, a simulated clock and, per
//! direction, a one-way latency and an optional link rate. Bytes a session emits through
//! [`Session::poll_transmit`] are in flight: they arrive after the serialization time at the link
//! rate plus the latency, in order (a TCP-like pipe that never loses or reorders): the link
//! model of [`crate::sim::link`], which the relay and the simulated sweep use too. Each side runs
//! a tiny application that reads as soon as data arrives and writes pattern bytes it was told to
//! write, so a test is a script: open, write, drive, assert.
//!
//! Nothing here reads the wall clock: `Instant::now()` is taken once as the origin and every later
//! time is that origin plus simulated durations.
//!
//! Modelling choices, each one the simplest that still lets the tests fail:
//! - On a rate-limited link a side pulls one `poll_transmit` batch ([`Side::transmit_limit`],
//!   64 KiB) when the link is free, and the batch arrives whole once its last byte is serialized.
//!   Frames therefore queue in the session, where control frames can jump ahead, not in the link.
//! - The application reads on `Event::Readable` and retries a full write only after
//!   `Event::Writable`, as a driver does, so a missing event shows up as a deadlock.
//! - [`Pair::drive`] stops when the network is quiet; timers alone don't keep it going (they
//!   never stop), [`Pair::advance`] lets time pass with timers firing.
//!
//! The harness checks, on every transmission, the invariants every test relies on:
//! - each `poll_transmit` output is a clean sequence of whole frames;
//! - no DATA frame exceeds the sender's `max_frame`, header included;
//! - no stream ever sends more DATA than the credit it was granted by window updates it actually
//!   received (256 KiB initial plus the deltas), which is the peer-independent form of "the sender
//!   never exceeds the window".
//!
//! A caller that moves the bytes itself (the hot-path bench, through the driver's batch path)
//! uses only the sessions and the applications: [`Pair::run_apps`] runs both applications once,
//! and the link with its checks stays out of the way.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::frames::decode_frames;
use super::{PATTERN_CHUNK, is_pattern_at, pattern_at};
use crate::sim::link::Link;
use crate::yamux::flow::DEFAULT_WINDOW;
use crate::yamux::frame::{Flags, FrameType, HEADER_LEN, Header};
use crate::yamux::session::{Config, Event, ReadOutcome, Role, Session, SessionError};
use crate::yamux::stream::{StreamError, WriteHalf};

/// Bytes per `poll_transmit` call, like a driver's write batch: on a rate-limited link the next
/// batch is pulled only when the previous one is serialized, so a pong waits for at most one batch.
pub const DEFAULT_TRANSMIT_LIMIT: usize = 64 * 1024;

/// `drive()` gives up (and panics) after this many steps: a test that needs more is broken.
const DRIVE_STEP_LIMIT: u64 = 2_000_000;

/// A frame one side emitted, as the harness decoded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentFrame {
    /// When it left `poll_transmit`, since the pair started.
    pub at: Duration,
    /// The frame's header.
    pub header: Header,
    /// DATA payload length (0 for the other types).
    pub payload_len: usize,
}

impl std::fmt::Display for SentFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>10.3?} {}", self.at, self.header)
    }
}

/// What the application did on one stream.
#[derive(Debug, Default)]
pub struct AppStream {
    /// Bytes the application wants to write in total.
    pub to_write: u64,
    /// Bytes the session accepted so far.
    pub written: u64,
    /// Close the write half once everything is written.
    pub close_when_written: bool,
    /// The write half was closed.
    pub closed_write: bool,
    /// The last write returned 0: like a real driver, wait for `Event::Writable` before trying
    /// again (so a missing event shows up as a deadlock instead of being papered over).
    pub blocked: bool,
    /// Bytes read so far.
    pub read: u64,
    /// The bytes read, when the side keeps them.
    pub data: Vec<u8>,
    /// The read half reached end of stream.
    pub eof: bool,
    /// The first error a read or write returned.
    pub error: Option<StreamError>,
    /// (time since start, bytes read so far) after every read, for goodput curves.
    pub read_log: Vec<(Duration, u64)>,
}

impl AppStream {
    /// Whether the application still has something to hand to the session.
    fn wants_write(&self) -> bool {
        self.error.is_none()
            && (self.written < self.to_write || (self.close_when_written && !self.closed_write))
    }

    /// Whether the application would call write or close now.
    fn ready_to_write(&self) -> bool {
        self.wants_write() && !self.blocked
    }

    /// Bytes read by `t` (time since start).
    pub fn read_by(&self, t: Duration) -> u64 {
        match self.read_log.partition_point(|(at, _)| *at <= t) {
            0 => 0,
            i => self.read_log[i - 1].1,
        }
    }

    /// When the last byte was read.
    pub fn last_read_at(&self) -> Option<Duration> {
        self.read_log.last().map(|(t, _)| *t)
    }
}

/// Bytes on the wire from one side to the other.
#[derive(Debug)]
struct Packet {
    arrival: Instant,
    bytes: Bytes,
    headers: Vec<Header>,
}

/// One end of the pair: a session plus its application and its outgoing link.
#[derive(Debug)]
pub struct Side {
    /// The sans-IO session under test.
    pub session: Session,
    /// Every frame this side sent, in order.
    pub sent: Vec<SentFrame>,
    /// Every event this side's session produced, with its time since start.
    pub events: Vec<(Duration, Event)>,
    /// Inbound streams, in the order they were announced.
    pub inbound: Vec<u32>,
    /// The application's view of every stream it touched, by id.
    pub streams: BTreeMap<u32, AppStream>,
    /// Read every stream as soon as it is readable (go's reader goroutine). Off: the application
    /// never reads, the test does with [`Pair::read_all`].
    pub auto_read: bool,
    /// Largest read (go returns at most one received segment per `Read`).
    pub read_chunk: usize,
    /// Keep the bytes read in [`AppStream::data`] (off for big transfers).
    pub keep_data: bool,
    /// Check that what is read is the pattern the harness writes.
    pub verify_pattern: bool,
    /// The error `handle_input` or `handle_timeout` returned, with its time since start.
    pub error: Option<(Duration, SessionError)>,
    /// One-way delay of bytes leaving this side.
    pub latency: Duration,
    /// Serialization rate of bytes leaving this side, in bytes per second (`None`: infinite).
    pub link_rate: Option<u64>,
    /// `limit` passed to `poll_transmit`.
    pub transmit_limit: usize,
    /// The outgoing link's schedule ([`crate::sim::link`], the model the relay and the
    /// simulated sweep use), with `latency` and `link_rate` applied at each transmission.
    link: Link,
    in_flight: VecDeque<Packet>,
    /// Received bytes the session left unconsumed (an incomplete header).
    inbox: BytesMut,
    /// Per stream: credit the peer granted us, from the window updates that reached us.
    granted: HashMap<u32, u64>,
    /// Per stream: DATA payload bytes we sent.
    data_sent: HashMap<u32, u64>,
}

impl Side {
    fn new(role: Role, config: Config, now: Instant) -> Self {
        Self {
            session: Session::new(role, config, now),
            sent: Vec::new(),
            events: Vec::new(),
            inbound: Vec::new(),
            streams: BTreeMap::new(),
            auto_read: true,
            read_chunk: usize::MAX,
            keep_data: true,
            verify_pattern: true,
            error: None,
            latency: Duration::ZERO,
            link_rate: None,
            transmit_limit: DEFAULT_TRANSMIT_LIMIT,
            link: Link::with(Duration::ZERO, None),
            in_flight: VecDeque::new(),
            inbox: BytesMut::new(),
            granted: HashMap::new(),
            data_sent: HashMap::new(),
        }
    }

    /// The application's view of stream `id` (empty if it never touched it).
    pub fn stream(&self, id: u32) -> &AppStream {
        static EMPTY: LazyLock<AppStream> = LazyLock::new(AppStream::default);
        self.streams.get(&id).unwrap_or(&EMPTY)
    }

    /// Frames this side sent that match `pred`.
    pub fn sent_where(&self, pred: impl Fn(&Header) -> bool) -> Vec<SentFrame> {
        self.sent
            .iter()
            .filter(|f| pred(&f.header))
            .copied()
            .collect()
    }

    /// Whether this side still has data to send (in the application or in the session).
    fn has_unsent(&self) -> bool {
        if self.error.is_some() || self.session.error().is_some() {
            return false;
        }
        self.streams.values().any(AppStream::wants_write)
            || self.session.stream_ids().into_iter().any(|id| {
                let s = self.session.stream_state(id).expect("listed");
                s.reset.is_none() && (s.send_buffered > 0 || s.write == WriteHalf::Closing)
            })
    }

    /// Delivers the packets of `from` that are due to `self`.
    fn receive_from(&mut self, from: &mut Side, now: Instant, start: Instant) -> bool {
        let mut progress = false;
        // Input the session left while paused (MAX_CONTROL_BACKLOG) goes in once it may.
        if !self.inbox.is_empty() && self.error.is_none() && !self.session.input_paused() {
            let before = self.inbox.len();
            if let Err(e) = self.session.handle_input(now, &mut self.inbox) {
                self.error = Some((now - start, e));
            }
            progress = self.inbox.len() != before;
        }
        while from.in_flight.front().is_some_and(|p| p.arrival <= now) {
            let packet = from.in_flight.pop_front().expect("checked");
            progress = true;
            for h in &packet.headers {
                if h.typ == FrameType::WindowUpdate && !h.flags.contains(Flags::RST) {
                    *self
                        .granted
                        .entry(h.stream_id)
                        .or_insert(DEFAULT_WINDOW.into()) += u64::from(h.length);
                }
            }
            if self.error.is_some() {
                continue;
            }
            self.inbox.extend_from_slice(&packet.bytes);
            if let Err(e) = self.session.handle_input(now, &mut self.inbox) {
                self.error = Some((now - start, e));
            }
        }
        progress
    }

    fn run_timer(&mut self, now: Instant, start: Instant) -> bool {
        match self.session.poll_timeout() {
            Some(t) if t <= now && self.error.is_none() => {
                if let Err(e) = self.session.handle_timeout(now) {
                    self.error = Some((now - start, e));
                }
                true
            }
            _ => false,
        }
    }

    /// The application: take events, read what is readable, write what is pending.
    fn run_app(&mut self, now: Instant, start: Instant) -> bool {
        let mut progress = false;
        let mut readable = Vec::new();
        while let Some(event) = self.session.poll_event() {
            progress = true;
            self.events.push((now - start, event));
            match event {
                Event::InboundStream(id) => {
                    self.inbound.push(id);
                    self.streams.entry(id).or_default();
                    readable.push(id);
                }
                Event::Readable(id) => readable.push(id),
                Event::Writable(id) => self.streams.entry(id).or_default().blocked = false,
                Event::OutboundReady => {}
            }
        }
        if self.auto_read {
            readable.dedup();
            for id in readable {
                progress |= self.read_stream(now, start, id);
            }
        }
        let writers: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.ready_to_write())
            .map(|(id, _)| *id)
            .collect();
        for id in writers {
            progress |= self.write_stream(now, id);
        }
        progress
    }

    /// Reads stream `id` until nothing is left. Returns whether anything happened.
    fn read_stream(&mut self, now: Instant, start: Instant, id: u32) -> bool {
        let app = self.streams.entry(id).or_default();
        if app.eof || app.error.is_some() {
            return false;
        }
        let mut progress = false;
        loop {
            match self.session.read(now, id, self.read_chunk) {
                Ok(ReadOutcome::Data(b)) => {
                    assert!(!b.is_empty(), "stream {id}: read returned empty data");
                    if self.verify_pattern {
                        assert!(
                            is_pattern_at(app.read, &b),
                            "stream {id}: corrupted payload at offset {}",
                            app.read
                        );
                    }
                    if self.keep_data {
                        app.data.extend_from_slice(&b);
                    }
                    app.read += b.len() as u64;
                    app.read_log.push((now - start, app.read));
                    progress = true;
                }
                Ok(ReadOutcome::Eof) => {
                    app.eof = true;
                    return true;
                }
                Ok(ReadOutcome::Pending) => return progress,
                Err(e) => {
                    app.error = Some(e);
                    return true;
                }
            }
        }
    }

    /// Hands pending pattern bytes of stream `id` to the session, then the close if asked for.
    fn write_stream(&mut self, now: Instant, id: u32) -> bool {
        let app = self.streams.entry(id).or_default();
        let mut progress = false;
        while app.written < app.to_write {
            let len = (app.to_write - app.written).min(PATTERN_CHUNK as u64) as usize;
            match self.session.write(now, id, &pattern_at(app.written, len)) {
                Ok(0) => {
                    app.blocked = true;
                    break;
                }
                Ok(n) => {
                    app.written += n as u64;
                    app.blocked = false;
                    progress = true;
                }
                Err(e) => {
                    app.error = Some(e);
                    return true;
                }
            }
        }
        if app.close_when_written && !app.closed_write && app.written == app.to_write {
            if let Err(e) = self.session.close_write(id) {
                app.error = Some(e);
            }
            app.closed_write = true;
            progress = true;
        }
        progress
    }

    /// Pulls frames from `poll_transmit` onto the link. With a link rate, one batch per free
    /// link slot; without one, everything at once.
    fn transmit(&mut self, now: Instant, start: Instant) -> bool {
        let mut progress = false;
        self.link.delay = self.latency;
        self.link.rate_bits_per_second = self.link_rate.map(|r| r.saturating_mul(8));
        while self.session.wants_transmit() && self.link.is_free(now) {
            let mut buf = BytesMut::new();
            self.session
                .poll_transmit(now, &mut buf, self.transmit_limit);
            if buf.is_empty() {
                break;
            }
            progress = true;
            let bytes = buf.freeze();
            let frames = decode_frames(&bytes);
            let max_frame = self.session.config().max_frame;
            for (header, body) in &frames {
                if header.typ == FrameType::Data {
                    assert!(
                        HEADER_LEN + body.len() <= max_frame,
                        "{header}: DATA frame over max_frame {max_frame}"
                    );
                    let sent = self.data_sent.entry(header.stream_id).or_default();
                    *sent += body.len() as u64;
                    let granted = self
                        .granted
                        .get(&header.stream_id)
                        .copied()
                        .unwrap_or(DEFAULT_WINDOW.into());
                    assert!(
                        *sent <= granted,
                        "stream {}: sent {} bytes with only {granted} granted",
                        header.stream_id,
                        *sent
                    );
                }
                self.sent.push(SentFrame {
                    at: now - start,
                    header: *header,
                    payload_len: body.len(),
                });
            }
            // In order, even if a test changes the latency mid-run.
            let arrival = self.link.schedule(now, bytes.len());
            self.in_flight.push_back(Packet {
                arrival,
                bytes,
                headers: frames.into_iter().map(|(h, _)| h).collect(),
            });
        }
        progress
    }

    /// The next time something leaves or arrives on this side's outgoing link.
    fn next_link_event(&self) -> Option<Instant> {
        let arrival = self.in_flight.front().map(|p| p.arrival);
        let departure =
            (self.link_rate.is_some() && self.error.is_none() && self.session.wants_transmit())
                .then(|| self.link.free_at())
                .flatten();
        match (arrival, departure) {
            (Some(a), Some(d)) => Some(a.min(d)),
            (a, d) => a.or(d),
        }
    }

    fn dump(&self, name: &str, out: &mut String, start: Instant) {
        let _ = writeln!(out, "=== {name} ===");
        let _ = writeln!(out, "error: {:?}", self.error);
        let _ = writeln!(out, "session error: {:?}", self.session.error());
        let _ = writeln!(out, "stats: {:?}", self.session.stats());
        let _ = writeln!(
            out,
            "link: {} packets in flight, link free at {:?}",
            self.in_flight.len(),
            self.link
                .free_at()
                .map(|t| t.saturating_duration_since(start))
        );
        for id in self.session.stream_ids() {
            let s = self.session.stream_state(id).expect("listed");
            let _ = writeln!(
                out,
                "session stream {id}: send credit {} buffered {} write {:?} | recv window {} \
                 credit {} buffered {} fin {} reset {:?} detached {}",
                s.send.credit(),
                s.send_buffered,
                s.write,
                s.recv.window(),
                s.recv.credit(),
                s.recv.buffered(),
                s.fin_received,
                s.reset,
                s.detached,
            );
        }
        for (id, s) in &self.streams {
            let _ = writeln!(
                out,
                "app stream {id}: written {}/{} read {} eof {} error {:?}",
                s.written, s.to_write, s.read, s.eof, s.error
            );
        }
        let skip = self.sent.len().saturating_sub(60);
        let _ = writeln!(
            out,
            "frames sent: {} (last {}):",
            self.sent.len(),
            self.sent.len() - skip
        );
        for f in &self.sent[skip..] {
            let _ = writeln!(out, "  {f}");
        }
    }
}

/// A client and a server session on a simulated link. See the module documentation.
#[derive(Debug)]
pub struct Pair {
    /// The origin of the simulated clock (read once from the wall clock).
    pub start: Instant,
    /// The simulated clock.
    pub now: Instant,
    /// The client end.
    pub client: Side,
    /// The server end.
    pub server: Side,
    /// Session errors are expected: don't panic on them.
    pub allow_errors: bool,
    /// Steps taken so far.
    pub steps: u64,
}

impl Pair {
    /// Two sessions with the given configurations on a zero-latency, infinite-rate link.
    pub fn new(client: Config, server: Config) -> Self {
        let start = Instant::now();
        Self {
            start,
            now: start,
            client: Side::new(Role::Client, client, start),
            server: Side::new(Role::Server, server, start),
            allow_errors: false,
            steps: 0,
        }
    }

    /// Two sessions with default configurations.
    pub fn default_pair() -> Self {
        Self::new(Config::default(), Config::default())
    }

    /// Sets the one-way latency of both directions (RTT = 2 × latency).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.client.latency = latency;
        self.server.latency = latency;
        self
    }

    /// Sets the link rate of both directions, in bytes per second.
    pub fn with_link_rate(mut self, bytes_per_second: u64) -> Self {
        self.client.link_rate = Some(bytes_per_second);
        self.server.link_rate = Some(bytes_per_second);
        self
    }

    /// Time since the pair started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The end that plays `role`.
    pub fn side(&mut self, role: Role) -> &mut Side {
        match role {
            Role::Client => &mut self.client,
            Role::Server => &mut self.server,
        }
    }

    /// Opens a stream on `role`'s side; panics if the session refuses.
    pub fn open(&mut self, role: Role) -> u32 {
        let now = self.now;
        let side = self.side(role);
        let id = side
            .session
            .open_stream(now)
            .expect("open_stream failed")
            .expect("ACK backlog full");
        side.streams.entry(id).or_default();
        id
    }

    /// Has `role`'s application write `n` more pattern bytes on stream `id` (handed to the
    /// session at once as far as its buffer allows, the rest as it drains).
    pub fn write(&mut self, role: Role, id: u32, n: u64) {
        let now = self.now;
        let side = self.side(role);
        side.streams.entry(id).or_default().to_write += n;
        side.write_stream(now, id);
    }

    /// Like [`Pair::write`], then closes the write half once everything is written.
    pub fn write_and_close(&mut self, role: Role, id: u32, n: u64) {
        let now = self.now;
        let side = self.side(role);
        let app = side.streams.entry(id).or_default();
        app.to_write += n;
        app.close_when_written = true;
        side.write_stream(now, id);
    }

    /// Reads everything buffered on `role`'s stream `id` now (for sides without `auto_read`).
    /// Returns the bytes read by this call.
    pub fn read_all(&mut self, role: Role, id: u32) -> u64 {
        let (now, start) = (self.now, self.start);
        let side = self.side(role);
        let before = side.stream(id).read;
        side.read_stream(now, start, id);
        side.stream(id).read - before
    }

    /// `role`'s application drops its handle of stream `id`.
    pub fn detach(&mut self, role: Role, id: u32) {
        let now = self.now;
        self.side(role).session.detach(now, id);
    }

    /// `role`'s application resets stream `id` with `code`.
    pub fn reset(&mut self, role: Role, id: u32, code: u32) {
        self.side(role)
            .session
            .reset(id, code)
            .expect("reset of a known stream");
    }

    /// Runs both sides' applications once at the current time (events, reads, writes) and
    /// leaves the link alone: for a caller that moves the bytes between the two sessions itself.
    /// Returns whether either application did anything.
    pub fn run_apps(&mut self) -> bool {
        let (now, start) = (self.now, self.start);
        let client = self.client.run_app(now, start);
        self.server.run_app(now, start) | client
    }

    /// Does everything due at `now`: deliveries, timers, then application and transmissions
    /// until neither side has anything more to do at this instant.
    fn work(&mut self) -> bool {
        let (now, start) = (self.now, self.start);
        let mut progress = false;
        progress |= self.server.receive_from(&mut self.client, now, start);
        progress |= self.client.receive_from(&mut self.server, now, start);
        progress |= self.client.run_timer(now, start);
        progress |= self.server.run_timer(now, start);
        // Reading produces window updates, sending produces Writable events: loop until quiet.
        for _ in 0..10_000 {
            let mut p = self.client.run_app(now, start);
            p |= self.server.run_app(now, start);
            p |= self.client.transmit(now, start);
            p |= self.server.transmit(now, start);
            if !p {
                break;
            }
            progress = true;
        }
        if !self.allow_errors && (self.client.error.is_some() || self.server.error.is_some()) {
            panic!("unexpected session error\n{}", self.dump());
        }
        progress
    }

    /// The next network event (arrival or link slot) and the next timer.
    fn next_events(&self) -> (Option<Instant>, Option<Instant>) {
        let net = [self.client.next_link_event(), self.server.next_link_event()]
            .into_iter()
            .flatten()
            .min();
        let timer = [&self.client, &self.server]
            .into_iter()
            .filter(|s| s.error.is_none())
            .filter_map(|s| s.session.poll_timeout())
            .min();
        (net, timer)
    }

    /// One step: everything due now, then the clock jumps to the next event, a delivery, a link
    /// slot or a timer that comes before them. Returns false when the network is quiet (nothing
    /// in flight, nothing to send, nothing done): timers alone don't keep a pair busy, use
    /// [`Pair::advance`] to let time pass.
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        let progress = self.work();
        let (net, timer) = self.next_events();
        match net {
            Some(net) => {
                let next = timer.map_or(net, |t| t.min(net));
                self.now = self.now.max(next);
                true
            }
            None => progress,
        }
    }

    /// Steps until the network is quiet. Returns the number of steps. A stalled transfer ends
    /// here too; [`Pair::drive_bounded`] is the variant that treats that as a failure.
    pub fn drive(&mut self) -> u64 {
        let mut n = 0;
        while self.step() {
            n += 1;
            if n > DRIVE_STEP_LIMIT {
                panic!("drive(): no end after {n} steps\n{}", self.dump());
            }
        }
        n
    }

    /// Steps until the network is quiet and every write went out, within `max_steps` steps.
    /// Panics with both sides' frame logs if it goes quiet with data still unsent (a deadlock)
    /// or if it needs more steps.
    pub fn drive_bounded(&mut self, max_steps: u64) {
        for _ in 0..max_steps {
            if !self.step() {
                if self.client.has_unsent() || self.server.has_unsent() {
                    panic!(
                        "deadlock at {:?}: quiet network with data unsent\n{}",
                        self.elapsed(),
                        self.dump()
                    );
                }
                return;
            }
        }
        panic!(
            "still busy after {max_steps} steps at {:?}\n{}",
            self.elapsed(),
            self.dump()
        );
    }

    /// Lets simulated time pass until `now + d`, with timers firing on the way.
    pub fn advance(&mut self, d: Duration) {
        let deadline = self.now + d;
        for _ in 0..DRIVE_STEP_LIMIT {
            let progress = self.work();
            let (net, timer) = self.next_events();
            let next = [net, timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= deadline => {
                    if t <= self.now && !progress {
                        panic!(
                            "advance(): event at {t:?} makes no progress\n{}",
                            self.dump()
                        );
                    }
                    self.now = self.now.max(t);
                }
                _ => {
                    self.now = deadline;
                    self.work();
                    return;
                }
            }
        }
        panic!("advance(): no end\n{}", self.dump());
    }

    /// Both sides' state and recent frames, for panic messages.
    pub fn dump(&self) -> String {
        let mut out = format!("pair at {:?} after {} steps\n", self.elapsed(), self.steps);
        self.client.dump("client", &mut out, self.start);
        self.server.dump("server", &mut out, self.start);
        out
    }
}
