//! Simulated links: the real sans-IO yamux sessions of both ends on a virtual clock, over a
//! modelled link, running the perf protocol (the sweep's `engine = "sim"`).
//!
//! One run is a client [`Session`] and a server [`Session`] (the same code the tokio driver
//! runs), each with its perf application (`perf`), joined by two [`link::Link`]s, one per
//! direction: one-way delay RTT/2, a rate (or none) and a bounded buffer, a reliable in-order
//! pipe. A sender hands its session's output to the link in batches of at most
//! [`link::CHUNK`] bytes (the relay's read size) while the link takes more; each batch arrives
//! whole after its serialization and the delay, and the receiver handles it and lets its
//! application read before the next batch arrives, as a receiver reading a TCP stream does.
//!
//! Not modelled, and said so in every result ([`MODEL`]): TCP itself (no congestion control,
//! slow start or loss: the link is a pipe of fixed delay and rate), the transport, security and
//! multistream-select's connection setup (the sessions start established at time 0), CPU time
//! (every step takes no time, so goodput is what windows, the RTT and the rate allow).
//!
//! Determinism: the clock is an origin [`Instant`] taken once plus simulated durations; nothing
//! reads the wall clock afterwards (clippy's `disallowed-methods` is denied in this module), every
//! choice between simultaneous events is made in a fixed order, and all times are integer
//! nanoseconds, so a run's result depends on its configuration alone.
#![deny(clippy::disallowed_methods)]

pub mod link;
mod perf;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::perf::StreamReport;
use crate::perf::report::{Line, LineKind, REPORT_SCHEMA_VERSION, RunReport, StreamSummary};
use crate::yamux::frame::HEADER_LEN;
use crate::yamux::{Config, Role, Session, TraceEvent};
use link::{CHUNK, Link, LinkConfig};

/// What a simulated result leaves out, recorded with every case it produced.
pub const MODEL: &str = "simulated: both yamux sessions on a virtual clock over a modelled link \
(one-way delay RTT/2 each way, rate, bounded queue; a reliable in-order pipe). TCP's congestion \
control, the transport, security and connection setup, and CPU time are not modelled.";

/// Most loop turns of one run: a bound against a bug, far above any real case (a 1 GiB transfer
/// takes about 50 000).
const MAX_TURNS: u64 = 100_000_000;

/// One simulated run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    /// The link, the same each way.
    pub link: LinkConfig,
    /// The client's yamux settings (`trace_windows` is turned on for the trace).
    pub client: Config,
    /// The server's yamux settings.
    pub server: Config,
    /// Perf streams, opened at the start.
    pub streams: u32,
    /// Bytes each stream uploads.
    pub upload: u64,
    /// Bytes each stream downloads.
    pub download: u64,
    /// Length of the per-interval lines (the client's `--interval`).
    pub interval: Duration,
    /// Simulated time after which the run fails (the plan's timeout).
    pub time_limit: Duration,
}

/// What a simulated run measured.
#[derive(Debug, Clone)]
pub struct SimRun {
    /// The client's report, in the shape `yamux-perf client --report` writes (no process usage,
    /// no connection setup, no peer id: none is modelled).
    pub report: RunReport,
    /// The client session's window trace (connection 0).
    pub trace: Vec<(usize, TraceEvent)>,
}

/// Why a simulated run failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A session failed.
    #[error("{side:?} session failed: {error}")]
    Session {
        /// Which end.
        side: Role,
        /// The session's error.
        error: String,
    },
    /// A stream command failed.
    #[error("{side:?} stream {stream}: {error}")]
    Stream {
        /// Which end.
        side: Role,
        /// The stream.
        stream: u32,
        /// The stream's error.
        error: String,
    },
    /// The perf exchange went wrong.
    #[error("perf: {0}")]
    Protocol(String),
    /// More than 256 streams opened at once.
    #[error("more than 256 streams opened before any was acknowledged")]
    AckBacklog,
    /// The run did not end within the time limit (simulated time).
    #[error(
        "not done after {limit:?} of simulated time ({uploaded} bytes uploaded, {downloaded} \
         downloaded)"
    )]
    TimeLimit {
        /// The limit.
        limit: Duration,
        /// Upload bytes the client had handed over.
        uploaded: u64,
        /// Download bytes the client had read.
        downloaded: u64,
    },
    /// Nothing more can happen and the run is not done (a deadlock).
    #[error("stalled at {at:?} of simulated time with nothing in flight")]
    Stalled {
        /// When.
        at: Duration,
    },
}

/// The origin of a run's clock: the only clock read.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

/// One end: its session and its outgoing link.
#[derive(Debug)]
struct End {
    role: Role,
    session: Session,
    link: Link,
    limit: usize,
    /// Batches on the link: arrival time and bytes.
    in_flight: VecDeque<(Instant, BytesMut)>,
    /// Bytes on the link (waiting or in propagation).
    held: usize,
    /// Received bytes the session left unconsumed (an incomplete header, or paused input).
    inbox: BytesMut,
}

impl End {
    fn new(role: Role, config: Config, link: &LinkConfig, now: Instant) -> Self {
        Self {
            role,
            session: Session::new(role, config, now),
            link: Link::new(link),
            limit: link.buffer_limit(),
            in_flight: VecDeque::new(),
            held: 0,
            inbox: BytesMut::new(),
        }
    }

    fn session_error(&self, error: impl std::fmt::Display) -> SimError {
        SimError::Session {
            side: self.role,
            error: error.to_string(),
        }
    }

    /// Hands the session's output to the link while it takes more. Returns whether anything
    /// went out.
    fn transmit(&mut self, now: Instant) -> bool {
        let mut sent = false;
        while self.session.wants_transmit()
            && self.link.is_free(now)
            && self.held + CHUNK <= self.limit
        {
            let mut batch = BytesMut::with_capacity(CHUNK + HEADER_LEN);
            self.session.poll_transmit(now, &mut batch, CHUNK);
            if batch.is_empty() {
                break;
            }
            let arrival = self.link.schedule(now, batch.len());
            self.held += batch.len();
            self.in_flight.push_back((arrival, batch));
            sent = true;
        }
        sent
    }

    /// Feeds input the session left for later, once it takes input again.
    fn feed(&mut self, now: Instant) -> Result<bool, SimError> {
        if self.inbox.is_empty() || self.session.input_paused() {
            return Ok(false);
        }
        let before = self.inbox.len();
        self.session
            .handle_input(now, &mut self.inbox)
            .map_err(|e| self.session_error(e))?;
        Ok(self.inbox.len() != before)
    }

    /// When this end next needs the clock: a batch arriving at the peer, the link becoming free
    /// for output that waits, or the session's timer.
    fn next_event(&self) -> Option<Instant> {
        let arrival = self.in_flight.front().map(|(at, _)| *at);
        let departure = self
            .session
            .wants_transmit()
            .then(|| self.link.free_at())
            .flatten();
        [arrival, departure, self.session.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Per-interval lines, as the client's ticker prints them.
#[derive(Debug)]
struct Intervals {
    every: Duration,
    next: Instant,
    last: perf::Moved,
    lines: Vec<Line>,
}

impl Intervals {
    /// Closes every interval that ended by `now` (before what happens at `now` is counted).
    fn tick(&mut self, now: Instant, moved: perf::Moved) {
        while self.next <= now {
            self.lines.push(Line {
                kind: LineKind::Intermediary,
                time_seconds: self.every.as_secs_f64(),
                upload_bytes: moved.uploaded - self.last.uploaded,
                download_bytes: moved.downloaded - self.last.downloaded,
            });
            self.last = moved;
            self.next += self.every;
        }
    }
}

/// Runs one perf exchange on simulated links.
pub fn run(spec: &SimSpec) -> Result<SimRun, SimError> {
    let start = origin();
    let mut now = start;
    let client_config = Config {
        trace_windows: true,
        ..spec.client.clone()
    };
    let mut client = End::new(Role::Client, client_config, &spec.link, now);
    let mut server = End::new(Role::Server, spec.server.clone(), &spec.link, now);
    let mut client_app = perf::Client::open(
        &mut client.session,
        now,
        spec.streams,
        spec.upload,
        spec.download,
    )?;
    let mut server_app = perf::Server::default();
    let mut intervals = Intervals {
        every: spec.interval.max(Duration::from_millis(1)),
        next: start + spec.interval.max(Duration::from_millis(1)),
        last: perf::Moved::default(),
        lines: Vec::new(),
    };
    let deadline = start + spec.time_limit;
    for _ in 0..MAX_TURNS {
        intervals.tick(now, client_app.moved);
        let mut progress = false;
        // Everything due now: timers, then the batches that arrived, one at a time in arrival
        // order (client to server first on a tie), each followed by both applications and
        // transmissions until neither has anything more to do at this instant.
        for end in [&mut client, &mut server] {
            if end.session.poll_timeout().is_some_and(|t| t <= now) {
                end.session
                    .handle_timeout(now)
                    .map_err(|e| end.session_error(e))?;
                progress = true;
            }
        }
        loop {
            progress |= settle(
                now,
                &mut client,
                &mut server,
                &mut client_app,
                &mut server_app,
            )?;
            let due = |e: &End| {
                e.in_flight
                    .front()
                    .map(|(at, _)| *at)
                    .filter(|at| *at <= now)
            };
            let (from, to) = match (due(&client), due(&server)) {
                (Some(c), Some(s)) if s < c => (&mut server, &mut client),
                (Some(_), _) => (&mut client, &mut server),
                (None, Some(_)) => (&mut server, &mut client),
                (None, None) => break,
            };
            let (_, bytes) = from.in_flight.pop_front().expect("due");
            from.held -= bytes.len();
            if to.inbox.is_empty() {
                to.inbox = bytes;
            } else {
                to.inbox.extend_from_slice(&bytes);
            }
            to.feed(now)?;
            progress = true;
        }
        if client_app.is_done() {
            return Ok(finish(start, now, &mut client, &client_app, intervals));
        }
        let next = [client.next_event(), server.next_event()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t > deadline => {
                return Err(SimError::TimeLimit {
                    limit: spec.time_limit,
                    uploaded: client_app.moved.uploaded,
                    downloaded: client_app.moved.downloaded,
                });
            }
            Some(t) if t > now || progress => now = now.max(t),
            _ => return Err(SimError::Stalled { at: now - start }),
        }
    }
    Err(SimError::Stalled { at: now - start })
}

/// Runs both applications, pending input and both transmissions until nothing changes at
/// `now`. Returns whether anything happened.
fn settle(
    now: Instant,
    client: &mut End,
    server: &mut End,
    client_app: &mut perf::Client,
    server_app: &mut perf::Server,
) -> Result<bool, SimError> {
    let mut any = false;
    loop {
        let mut p = client.feed(now)?;
        p |= server.feed(now)?;
        p |= client_app.run(&mut client.session, now)?;
        p |= server_app.run(&mut server.session, now)?;
        p |= client.transmit(now);
        p |= server.transmit(now);
        if !p {
            return Ok(any);
        }
        any = true;
    }
}

/// The client's report of a finished run.
fn finish(
    start: Instant,
    end: Instant,
    client: &mut End,
    app: &perf::Client,
    mut intervals: Intervals,
) -> SimRun {
    intervals.tick(end, app.moved);
    let streams = app.reports();
    let total = StreamReport::aggregate(&streams).expect("at least one stream");
    let session = &mut client.session;
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    let report = RunReport {
        schema_version: REPORT_SCHEMA_VERSION,
        remote_peer: String::new(),
        cipher: None,
        connect_ms: None,
        total_seconds: (end - start).as_secs_f64(),
        total: StreamSummary::from(&total),
        streams: streams.iter().map(StreamSummary::from).collect(),
        rtt_ms: session.rtt().map(millis),
        rtt_samples_ms: session.rtt_samples().iter().copied().map(millis).collect(),
        intervals: intervals.lines,
        yamux: session.stats().into(),
        latency_ms: Vec::new(),
        latency_under_load: None,
        fairness: None,
        short_flows: None,
        churn: None,
        process: None,
        git: None,
    };
    let trace = session.take_trace().into_iter().map(|e| (0, e)).collect();
    SimRun { report, trace }
}
