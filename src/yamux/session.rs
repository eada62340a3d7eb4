//! The yamux session as a pure state machine.
//!
//! No sockets, no clock: bytes and an explicit [`Instant`] go in, frames, a timer deadline and
//! events come out. Everything the session ever sends, pongs and window updates included, leaves
//! through [`Session::poll_transmit`] (or its zero-copy twin [`Session::poll_transmit_parts`]),
//! so one writer serializes every frame; nothing can bypass it (py-libp2p's yamux pull request
//! #1269 had PING frames written past its write lock).
//!
//! Call order for a driver:
//! - inputs: [`Session::handle_input`] with received plaintext, [`Session::handle_timeout`] when
//!   [`Session::poll_timeout`] has passed;
//! - commands: [`Session::open_stream`], [`Session::write`], [`Session::read`],
//!   [`Session::close_write`], [`Session::reset`], [`Session::detach`], [`Session::close`];
//! - outputs, after any of the above: [`Session::poll_transmit`] while
//!   [`Session::wants_transmit`], [`Session::poll_event`] until `None`, then re-arm the timer
//!   with [`Session::poll_timeout`].
//!
//! Behaviour follows go-yamux v5 (libp2p/go-yamux `session.go`, `stream.go`) where the spec is
//! silent: SYN/ACK/FIN/RST
//! travel on WINDOW_UPDATE frames and are accepted on DATA frames too; a RST's length is an error
//! code; inbound streams are ACKed at once; frames for unknown streams are drained and ignored;
//! pings are answered immediately, one RTT ping goes out at start and then periodically.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

use super::flow::{
    AutotuneRule, DEFAULT_MAX_WINDOW, DEFAULT_WINDOW, RecvWindow, WindowAccounting, WindowExceeded,
    WindowOverflow,
};
use super::frame::{Flags, FrameError, FrameType, HEADER_LEN, Header, go_away};
use super::stream::{StreamError, StreamState, WriteHalf};
use super::wire::{FrameParts, FrameSink};
use crate::units::ByteSize;

/// go-yamux's `MaxMessageSize`: the largest DATA frame we send, header included.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// Smallest frame cap that still carries payload (go validates `MaxMessageSize >= 1024`).
pub const MIN_MAX_FRAME: usize = 1024;

/// Largest frame cap [`Config::with_sizes`] accepts: the session buffers whole frames, so the cap
/// bounds the memory one frame may take.
pub const MAX_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Smallest receive window [`Config::with_sizes`] accepts: the spec's initial window, which every
/// stream has anyway.
pub const MIN_WINDOW: u32 = DEFAULT_WINDOW;

/// Largest receive window: window updates carry a 32-bit delta.
pub const MAX_WINDOW: u32 = u32::MAX;

/// Un-ACKed outbound streams allowed at once (spec: at most 256).
pub const MAX_ACK_BACKLOG: usize = 256;

/// Control frames (pongs, ACKs, RSTs, window updates) queued and not yet taken by
/// [`Session::poll_transmit`] above which [`Session::handle_input`] stops consuming input. A peer
/// that floods pings or SYNs without reading our answers then meets TCP backpressure instead of
/// growing our memory (go-yamux blocks its receive loop on a full send queue the same way).
pub const MAX_CONTROL_BACKLOG: usize = 1024;

/// Default of [`Config::max_connection_window`]: 256 MiB, enough for 1000 inbound streams at
/// 256 KiB (go-yamux's `MaxIncomingStreams`) or 16 streams at the 16 MiB maximum window.
pub const DEFAULT_MAX_CONNECTION_WINDOW: u64 = 256 * 1024 * 1024;

/// Session configuration. `Default` gives go-libp2p's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Receive window each stream starts with; above 256 KiB it is advertised on SYN/ACK.
    /// Default 256 KiB.
    pub initial_window: u32,
    /// Largest receive window auto-tuning may reach. Default 16 MiB.
    pub max_window: u32,
    /// Double the receive window per RTT epoch (go-yamux's auto-tuning). Default on.
    pub autotune: bool,
    /// How window update deltas are computed; see [`WindowAccounting`]. Default full.
    pub accounting: WindowAccounting,
    /// When the receive window grows (go-yamux's rule by default).
    pub autotune_rule: AutotuneRule,
    /// Largest DATA frame sent, header included (go's `MaxMessageSize`). Default 64 KiB.
    pub max_frame: usize,
    /// Inbound streams open at once; a SYN beyond this gets an RST. Default 1000 (go-yamux).
    pub max_inbound_streams: usize,
    /// Bytes an application may queue on one stream before writes wait. Default 1 MiB.
    pub send_buffer: usize,
    /// Interval of RTT pings after the first one at session start. Default 10 s.
    pub rtt_interval: Duration,
    /// Ping after this much inbound silence (go: 30 s). `None` disables keep-alive.
    pub keepalive_interval: Option<Duration>,
    /// A ping not answered within this is fatal (go: 10 s).
    pub ping_timeout: Duration,
    /// Record every window decision and credit change in [`Session::take_trace`].
    pub trace_windows: bool,
    /// Budget for the sum of the receive windows of all streams of the connection, i.e. for the
    /// received-but-unread bytes the peer may make us buffer. Every stream reserves its window:
    /// a new stream gets `initial_window` only as far as the budget allows (never less than the
    /// 256 KiB the protocol gives it); an inbound SYN is refused with RST when less than 256 KiB
    /// is left; auto-tuning grows a window only into what is left (the doubling is cut short, or
    /// skipped). Our own outbound streams always get their 256 KiB, even over the budget.
    /// Default [`DEFAULT_MAX_CONNECTION_WINDOW`].
    pub max_connection_window: u64,
    /// Close the connection (GoAway, normal) after it had no streams and received no stream
    /// frame for this long; pings do not count. `None` (the default) keeps it open.
    pub idle_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            initial_window: DEFAULT_WINDOW,
            max_window: DEFAULT_MAX_WINDOW,
            autotune: true,
            accounting: WindowAccounting::Full,
            autotune_rule: AutotuneRule::Go,
            max_frame: DEFAULT_MAX_FRAME,
            max_inbound_streams: 1000,
            send_buffer: 1024 * 1024,
            rtt_interval: Duration::from_secs(10),
            keepalive_interval: Some(Duration::from_secs(30)),
            ping_timeout: Duration::from_secs(10),
            trace_windows: false,
            max_connection_window: DEFAULT_MAX_CONNECTION_WINDOW,
            idle_timeout: None,
        }
    }
}

/// A window or frame setting of [`Config`] (named as in the sweep matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// [`Config::initial_window`].
    InitialWindow,
    /// [`Config::max_window`].
    MaxWindow,
    /// [`Config::max_frame`].
    MaxFrame,
}

impl Setting {
    /// The sweep key (`initial_window`).
    pub fn name(self) -> &'static str {
        match self {
            Setting::InitialWindow => "initial_window",
            Setting::MaxWindow => "max_window",
            Setting::MaxFrame => "max_frame",
        }
    }

    /// The `client`/`server` flag (`--initial-window`).
    pub fn flag(self) -> &'static str {
        match self {
            Setting::InitialWindow => "--initial-window",
            Setting::MaxWindow => "--max-window",
            Setting::MaxFrame => "--max-frame",
        }
    }

    /// The accepted sizes, in words.
    pub fn range(self) -> String {
        match self {
            Setting::InitialWindow | Setting::MaxWindow => format!(
                "from {} to 4GiB - 1 (yamux windows are 32-bit)",
                ByteSize(MIN_WINDOW.into())
            ),
            Setting::MaxFrame => format!(
                "from {} to {}",
                ByteSize(MIN_MAX_FRAME as u64),
                ByteSize(MAX_MAX_FRAME as u64)
            ),
        }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A window or frame size that [`Config::with_sizes`] rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A size outside [`Setting::range`].
    #[error("{setting} must be {}, got {}", setting.range(), ByteSize(*bytes))]
    OutOfRange {
        /// The setting.
        setting: Setting,
        /// The size given.
        bytes: u64,
    },
    /// A cap below the window streams start with.
    #[error(
        "max_window {} is below initial_window {}",
        ByteSize(*max_window),
        ByteSize(*initial_window)
    )]
    MaxBelowInitial {
        /// The initial window given.
        initial_window: u64,
        /// The maximum window given.
        max_window: u64,
    },
}

impl ConfigError {
    /// The setting at fault (for `MaxBelowInitial`, the maximum window).
    pub fn setting(&self) -> Setting {
        match self {
            ConfigError::OutOfRange { setting, .. } => *setting,
            ConfigError::MaxBelowInitial { .. } => Setting::MaxWindow,
        }
    }
}

impl Config {
    /// The window and frame sizes, checked against their bounds ([`MIN_WINDOW`]..=[`MAX_WINDOW`],
    /// `max_window >= initial_window`, [`MIN_MAX_FRAME`]..=[`MAX_MAX_FRAME`]): the one place the
    /// CLI and the sweep validate them.
    pub fn with_sizes(
        self,
        initial_window: u64,
        max_window: u64,
        max_frame: u64,
    ) -> Result<Config, ConfigError> {
        let window = |setting, bytes: u64| {
            u32::try_from(bytes)
                .ok()
                .filter(|w| (MIN_WINDOW..=MAX_WINDOW).contains(w))
                .ok_or(ConfigError::OutOfRange { setting, bytes })
        };
        let initial = window(Setting::InitialWindow, initial_window)?;
        let max = window(Setting::MaxWindow, max_window)?;
        if max < initial {
            return Err(ConfigError::MaxBelowInitial {
                initial_window,
                max_window,
            });
        }
        let frame = usize::try_from(max_frame)
            .ok()
            .filter(|f| (MIN_MAX_FRAME..=MAX_MAX_FRAME).contains(f))
            .ok_or(ConfigError::OutOfRange {
                setting: Setting::MaxFrame,
                bytes: max_frame,
            })?;
        Ok(Config {
            initial_window: initial,
            max_window: max,
            max_frame: frame,
            ..self
        })
    }
}

/// Which end of the connection this session is. The dialer is the client and uses odd stream
/// ids; the listener uses even ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The connection's dialer.
    Client,
    /// The connection's listener.
    Server,
}

/// Something the driver should react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The peer opened a stream (already ACKed).
    InboundStream(u32),
    /// Data, FIN or RST arrived on a stream.
    Readable(u32),
    /// A stream has buffer space again, or was reset.
    Writable(u32),
    /// An outbound stream slot is free again (an ACK arrived or a stream ended).
    OutboundReady,
}

/// Why the session failed. After an error the session only drains what is queued (a GoAway).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The header could not be decoded.
    #[error("invalid frame")]
    Frame(#[from] FrameError),
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(ProtocolViolation),
    /// A ping was not answered in time.
    #[error("ping not answered within {0:?}")]
    PingTimeout(Duration),
    /// The peer sent GoAway with an error code.
    #[error("peer sent GoAway with error code {0}")]
    RemoteGoAway(u32),
    /// The peer sent GoAway (normal): no new streams.
    #[error("peer is going away")]
    GoingAway,
    /// The session was closed locally.
    #[error("session closed")]
    Closed,
    /// All stream ids of our parity are used.
    #[error("stream ids exhausted")]
    StreamIdsExhausted,
    /// The connection had no streams and no stream traffic for [`Config::idle_timeout`].
    #[error("idle for {0:?} without streams")]
    IdleTimeout(Duration),
}

/// The ways a peer can break the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// A SYN with an id of our own parity, or id 0.
    #[error("SYN for stream {0} with the wrong parity")]
    WrongParity(u32),
    /// A SYN for a stream that exists or existed.
    #[error("duplicate or reused stream id {0}")]
    DuplicateStream(u32),
    /// DATA beyond the window we granted.
    #[error("stream {stream}: {detail}")]
    WindowExceeded {
        /// Stream.
        stream: u32,
        /// Details.
        detail: WindowExceeded,
    },
    /// A window update that overflows the send window.
    #[error("stream {stream}: {detail}")]
    WindowOverflow {
        /// Stream.
        stream: u32,
        /// Details.
        detail: WindowOverflow,
    },
    /// A DATA or WINDOW_UPDATE frame on stream 0, or a Ping/GoAway on a stream.
    #[error("{0} on the wrong stream id")]
    WrongStreamId(String),
    /// A ping whose flags are neither exactly SYN nor exactly ACK.
    #[error("ping with flags {0:#x}")]
    InvalidPingFlags(u16),
}

/// A record of window growth or send credit, for the RTT-epoch window trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TraceEvent {
    /// A receive-side window decision (an update was sent).
    RecvWindow {
        /// Time since the session started.
        t: Duration,
        /// Stream.
        stream: u32,
        /// Smoothed RTT at the decision.
        rtt: Option<Duration>,
        /// Target window after the decision.
        window: u32,
        /// Delta sent.
        delta: u32,
        /// Time since the previous update of this stream.
        since_last_update: Duration,
        /// Whether the window doubled.
        doubled: bool,
    },
    /// The peer granted send credit.
    SendCredit {
        /// Time since the session started.
        t: Duration,
        /// Stream.
        stream: u32,
        /// Credit after the update.
        credit: u32,
        /// How long the stream had been blocked on credit before this update.
        blocked: Option<Duration>,
    },
}

/// Counters over the session's life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames sent, indexed by [`FrameType`] as `usize`.
    pub frames_sent: [u64; 4],
    /// Frames received, indexed by [`FrameType`] as `usize`.
    pub frames_received: [u64; 4],
    /// DATA payload bytes sent.
    pub data_bytes_sent: u64,
    /// DATA payload bytes received.
    pub data_bytes_received: u64,
    /// Window updates that carried credit (delta > 0) sent.
    pub credit_updates_sent: u64,
    /// Window updates that carried credit received.
    pub credit_updates_received: u64,
    /// Largest receive window any stream reached.
    pub max_recv_window: u32,
    /// Largest send credit any stream was granted.
    pub max_send_credit: u32,
    /// Pings the peer sent (each answered with a pong).
    pub pings_answered: u64,
    /// Pongs that matched no ping of ours (ignored, like go-yamux does).
    pub unexpected_pongs: u64,
    /// Inbound streams refused with RST (over the limit, or while going away).
    pub streams_refused: u64,
    /// DATA bytes for unknown or closed streams, drained and dropped.
    pub bytes_dropped: u64,
    /// Window updates whose growth the connection's window budget cut short or prevented.
    pub window_growth_limited: u64,
}

#[derive(Debug)]
struct PingState {
    next_opaque: u32,
    /// The ping in flight: opaque value and when it left the session.
    outstanding: Option<(u32, Instant)>,
    /// A ping is due and waits for `poll_transmit`.
    due: bool,
    next_measure: Instant,
    last_rx: Instant,
    rtt: Option<Duration>,
    samples: Vec<Duration>,
}

/// A DATA body that is still arriving.
#[derive(Debug, Clone, Copy)]
struct BodyInProgress {
    stream: u32,
    remaining: usize,
    /// FIN/RST of the frame, applied once the body is complete.
    flags: Flags,
    /// Whether the payload is to be discarded (unknown, refused or detached stream).
    discard: bool,
    /// Whether the body was counted against the window of a live stream when the header arrived.
    /// Only then are dropped bytes credited back and the frame's FIN/RST applied: the stream
    /// under this id may appear while the body is arriving (the peer sent DATA for an id of our
    /// parity that we open mid-body), and must not be charged for, or closed by, a frame that
    /// was never its own.
    counted: bool,
}

/// Result of [`Session::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Payload bytes, in order.
    Data(Bytes),
    /// The peer half-closed and everything was read.
    Eof,
    /// Nothing yet: wait for [`Event::Readable`].
    Pending,
}

/// What the session has decided to send, plus the counters and trace that go with it. Kept apart
/// from the stream map so a stream and the outbox can be borrowed at the same time.
#[derive(Debug)]
struct Outbox {
    /// Frames without payload, in the order they were decided.
    control: VecDeque<Header>,
    stats: Stats,
    trace: Vec<TraceEvent>,
    trace_enabled: bool,
    created: Instant,
    /// Sum of the receive windows of the streams in the map (see
    /// [`Config::max_connection_window`]).
    window_reserved: u64,
    /// [`Config::max_connection_window`].
    window_budget: u64,
}

impl Outbox {
    /// What is left of the connection's receive-window budget (saturated to `u32`).
    fn window_headroom(&self) -> u32 {
        u32::try_from(self.window_budget.saturating_sub(self.window_reserved)).unwrap_or(u32::MAX)
    }

    /// Runs the window rule for a stream and queues an update if one is due. `flags` (SYN/ACK)
    /// force an update.
    fn window_update(
        &mut self,
        now: Instant,
        id: u32,
        stream: &mut StreamState,
        flags: Flags,
        rtt: Option<Duration>,
    ) {
        let before = stream.recv.window();
        let Some(update) = stream.recv.poll_update_within(
            now,
            rtt,
            !flags.is_empty(),
            self.window_headroom(),
            self.stats.max_recv_window,
        ) else {
            return;
        };
        self.window_reserved += u64::from(update.window - before);
        if update.budget_limited {
            self.stats.window_growth_limited += 1;
            tracing::debug!(
                stream = id,
                window = update.window,
                reserved = self.window_reserved,
                "yamux window growth limited by the connection window budget"
            );
        }
        self.control
            .push_back(Header::window_update(id, flags, update.delta));
        if update.delta > 0 {
            self.stats.credit_updates_sent += 1;
        }
        self.stats.max_recv_window = self.stats.max_recv_window.max(update.window);
        if update.doubled {
            tracing::debug!(
                stream = id,
                window = update.window,
                "yamux receive window doubled"
            );
        }
        if update.lifted {
            tracing::debug!(
                stream = id,
                window = update.window,
                "yamux receive window lifted to the connection's largest"
            );
        }
        if self.trace_enabled {
            self.trace.push(TraceEvent::RecvWindow {
                t: now.saturating_duration_since(self.created),
                stream: id,
                rtt,
                window: update.window,
                delta: update.delta,
                since_last_update: update.since_last_update,
                doubled: update.doubled,
            });
        }
    }
}

/// A yamux session; see the module documentation for the call order.
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: Config,
    next_outbound_id: u32,
    last_inbound_id: u32,
    streams: HashMap<u32, StreamState>,
    inbound_open: usize,
    unacked_outbound: usize,
    out: Outbox,
    /// Streams that may have DATA or a FIN to send, served round-robin.
    sendable: VecDeque<u32>,
    events: VecDeque<Event>,
    body: Option<BodyInProgress>,
    ping: PingState,
    go_away_sent: bool,
    go_away_received: Option<u32>,
    failed: Option<SessionError>,
    /// Since when the session has had no stream and no stream frame arrived (for
    /// [`Config::idle_timeout`]).
    idle_since: Instant,
}

impl Session {
    /// A new session. The first RTT ping is due at once.
    pub fn new(role: Role, mut config: Config, now: Instant) -> Self {
        config.max_frame = config.max_frame.max(MIN_MAX_FRAME);
        config.initial_window = config.initial_window.max(DEFAULT_WINDOW);
        config.max_window = config.max_window.max(config.initial_window);
        Self {
            role,
            next_outbound_id: match role {
                Role::Client => 1,
                Role::Server => 2,
            },
            last_inbound_id: 0,
            streams: HashMap::new(),
            inbound_open: 0,
            unacked_outbound: 0,
            out: Outbox {
                control: VecDeque::new(),
                stats: Stats::default(),
                trace: Vec::new(),
                trace_enabled: config.trace_windows,
                created: now,
                window_reserved: 0,
                window_budget: config.max_connection_window,
            },
            sendable: VecDeque::new(),
            events: VecDeque::new(),
            body: None,
            ping: PingState {
                next_opaque: 1,
                outstanding: None,
                due: false,
                next_measure: now,
                last_rx: now,
                rtt: None,
                samples: Vec::new(),
            },
            go_away_sent: false,
            go_away_received: None,
            failed: None,
            idle_since: now,
            config,
        }
    }

    /// This session's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Smoothed ping RTT (go's EWMA with α = 1/2), once a pong arrived.
    pub fn rtt(&self) -> Option<Duration> {
        self.ping.rtt
    }

    /// Every RTT sample measured so far.
    pub fn rtt_samples(&self) -> &[Duration] {
        &self.ping.samples
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.out.stats
    }

    /// Takes the recorded window trace (empty unless [`Config::trace_windows`]).
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.out.trace)
    }

    /// The error that ended the session, if any.
    pub fn error(&self) -> Option<&SessionError> {
        self.failed.as_ref()
    }

    /// Number of streams the session still tracks.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Whether [`Session::handle_input`] stopped consuming input because
    /// [`MAX_CONTROL_BACKLOG`] control frames wait for [`Session::poll_transmit`]: the driver
    /// should read nothing more from the peer until the writer has taken them.
    pub fn input_paused(&self) -> bool {
        self.failed.is_none() && self.out.control.len() >= MAX_CONTROL_BACKLOG
    }

    /// Sum of the receive windows of the current streams, bounded by
    /// [`Config::max_connection_window`] except for our own outbound streams' first 256 KiB.
    pub fn window_reserved(&self) -> u64 {
        self.out.window_reserved
    }

    /// Whether [`Session::poll_transmit`] has something to send.
    pub fn wants_transmit(&self) -> bool {
        !self.out.control.is_empty() || self.ping.due || !self.sendable.is_empty()
    }

    /// Whether the session is over and everything queued went out: the driver may close the
    /// socket. After a local GoAway, streams still flush their buffered data first.
    pub fn is_closed(&self) -> bool {
        self.out.control.is_empty()
            && (self.failed.is_some() || (self.go_away_sent && self.sendable.is_empty()))
    }

    /// Next event for the driver.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn fail(&mut self, error: SessionError) -> SessionError {
        if self.failed.is_none() {
            let code = match error {
                SessionError::Frame(_) | SessionError::Protocol(_) => Some(go_away::PROTOCOL_ERROR),
                SessionError::PingTimeout(_) => Some(go_away::INTERNAL_ERROR),
                SessionError::IdleTimeout(_) => Some(go_away::NORMAL),
                _ => None,
            };
            if let Some(code) = code.filter(|_| !self.go_away_sent) {
                self.out.control.push_back(Header::go_away(code));
                self.go_away_sent = true;
            }
            tracing::debug!(%error, "yamux session failed");
            self.failed = Some(error.clone());
        }
        self.sendable.clear();
        error
    }

    fn protocol_error(&mut self, violation: ProtocolViolation) -> SessionError {
        self.fail(SessionError::Protocol(violation))
    }

    fn check_usable(&self) -> Result<(), SessionError> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None if self.go_away_sent => Err(SessionError::Closed),
            None => Ok(()),
        }
    }

    fn is_remote_id(&self, id: u32) -> bool {
        id != 0
            && match self.role {
                Role::Client => id.is_multiple_of(2),
                Role::Server => !id.is_multiple_of(2),
            }
    }

    // ------------------------------------------------------------------------------------------
    // Inputs
    // ------------------------------------------------------------------------------------------

    /// Consumes received plaintext from the front of `input`. Complete headers are processed;
    /// DATA payload is handed to its stream as it arrives (a 16 MiB frame from a js peer is not
    /// buffered whole). An incomplete header stays in `input`.
    pub fn handle_input(&mut self, now: Instant, input: &mut BytesMut) -> Result<(), SessionError> {
        if let Some(e) = &self.failed {
            input.clear();
            return Err(e.clone());
        }
        if !input.is_empty() {
            self.ping.last_rx = now;
        }
        loop {
            if self.out.control.len() >= MAX_CONTROL_BACKLOG {
                // Backpressure: the rest waits until the writer has taken our answers.
                break;
            }
            if let Some(mut body) = self.body {
                if input.is_empty() {
                    break;
                }
                let n = body.remaining.min(input.len());
                let chunk = input.split_to(n).freeze();
                body.remaining -= n;
                self.deliver(now, &body, chunk);
                if body.remaining == 0 {
                    self.body = None;
                    if body.counted {
                        self.finish_frame_flags(body.stream, body.flags, None);
                    }
                } else {
                    self.body = Some(body);
                }
                continue;
            }
            if input.len() < HEADER_LEN {
                break;
            }
            let mut raw = [0u8; HEADER_LEN];
            raw.copy_from_slice(&input[..HEADER_LEN]);
            let header = match Header::decode(&raw) {
                Ok(h) => h,
                Err(e) => {
                    input.clear();
                    return Err(self.fail(e.into()));
                }
            };
            input.advance(HEADER_LEN);
            tracing::trace!(%header, "yamux recv");
            if matches!(header.typ, FrameType::Data | FrameType::WindowUpdate) {
                self.idle_since = now;
            }
            self.out.stats.frames_received[header.typ as usize] += 1;
            let result = match header.typ {
                FrameType::Data => self.on_data_header(now, header),
                FrameType::WindowUpdate => self.on_window_update(now, header),
                FrameType::Ping => self.on_ping(now, header),
                FrameType::GoAway => self.on_go_away(header),
            };
            if let Err(e) = result {
                input.clear();
                return Err(e);
            }
        }
        Ok(())
    }

    fn on_open_flags(&mut self, now: Instant, header: &Header) -> Result<bool, SessionError> {
        let id = header.stream_id;
        if id == 0 {
            return Err(self.protocol_error(ProtocolViolation::WrongStreamId(header.to_string())));
        }
        if header.flags.contains(Flags::SYN) {
            return self.on_syn(now, id);
        }
        if header.flags.contains(Flags::ACK)
            && let Some(s) = self.streams.get_mut(&id)
            && s.awaiting_ack
        {
            s.awaiting_ack = false;
            self.unacked_outbound -= 1;
            self.events.push_back(Event::OutboundReady);
        }
        Ok(true)
    }

    /// Handles a SYN. Returns whether the stream was accepted.
    fn on_syn(&mut self, now: Instant, id: u32) -> Result<bool, SessionError> {
        if !self.is_remote_id(id) {
            return Err(self.protocol_error(ProtocolViolation::WrongParity(id)));
        }
        if self.streams.contains_key(&id) || id <= self.last_inbound_id {
            return Err(self.protocol_error(ProtocolViolation::DuplicateStream(id)));
        }
        self.last_inbound_id = id;
        let no_budget = self.out.window_headroom() < DEFAULT_WINDOW;
        if self.go_away_sent || self.inbound_open >= self.config.max_inbound_streams || no_budget {
            // go-yamux and js answer an unwanted SYN with WU+RST (rust kills the connection);
            // go-yamux also refuses a stream whose 256 KiB its memory manager cannot reserve.
            if no_budget {
                tracing::debug!(
                    stream = id,
                    reserved = self.out.window_reserved,
                    "yamux: no window budget left, refusing inbound stream"
                );
            }
            self.out.stats.streams_refused += 1;
            self.out
                .control
                .push_back(Header::window_update(id, Flags::RST, 0));
            return Ok(false);
        }
        let mut stream = StreamState::new(self.new_recv_window(now), false);
        // ACK at once: go blocks after 256 un-ACKed SYNs and hashicorp kills the session after
        // 75 s without one. The update also advertises an initial window above 256 KiB.
        self.out
            .window_update(now, id, &mut stream, Flags::ACK, self.ping.rtt);
        self.insert_stream(id, stream);
        self.inbound_open += 1;
        self.events.push_back(Event::InboundStream(id));
        Ok(true)
    }

    /// Adds a stream to the map, reserving its receive window from the budget.
    fn insert_stream(&mut self, id: u32, stream: StreamState) {
        self.out.window_reserved += u64::from(stream.recv.window());
        self.streams.insert(id, stream);
    }

    /// A receive window for a new stream: `initial_window` as far as the budget allows, never
    /// less than the 256 KiB every stream has by protocol.
    fn new_recv_window(&self, now: Instant) -> RecvWindow {
        RecvWindow::new(
            self.config
                .initial_window
                .min(self.out.window_headroom().max(DEFAULT_WINDOW)),
            self.config.max_window,
            self.config.autotune,
            self.config.accounting,
            now,
        )
        .with_rule(self.config.autotune_rule)
    }

    fn on_data_header(&mut self, now: Instant, header: Header) -> Result<(), SessionError> {
        let id = header.stream_id;
        let accepted = self.on_open_flags(now, &header)?;
        let len = header.length;
        let (discard, counted) = match self.streams.get_mut(&id) {
            Some(s) if accepted && s.reset.is_none() => {
                if let Err(detail) = s.recv.on_data(len) {
                    return Err(self
                        .protocol_error(ProtocolViolation::WindowExceeded { stream: id, detail }));
                }
                (s.detached, true)
            }
            _ => (true, false),
        };
        self.out.stats.data_bytes_received += u64::from(len);
        let body = BodyInProgress {
            stream: id,
            remaining: len as usize,
            flags: header.flags,
            discard,
            counted,
        };
        if len == 0 {
            self.finish_frame_flags(id, header.flags, None);
        } else {
            self.body = Some(body);
        }
        Ok(())
    }

    /// Hands a piece of DATA payload to its stream, or drops it.
    fn deliver(&mut self, now: Instant, body: &BodyInProgress, chunk: Bytes) {
        let n = chunk.len() as u32;
        let Some(stream) = self.streams.get_mut(&body.stream) else {
            self.out.stats.bytes_dropped += u64::from(n);
            return;
        };
        if body.discard || stream.detached || stream.reset.is_some() {
            self.out.stats.bytes_dropped += u64::from(n);
            if body.counted && stream.reset.is_none() {
                // Nobody will read it; credit it back so the peer is not stalled.
                stream.recv.on_read(n);
                self.out
                    .window_update(now, body.stream, stream, Flags::NONE, self.ping.rtt);
            }
            return;
        }
        stream.recv_buf.push_back(chunk);
        if stream.recv_buf.len() == 1 {
            self.events.push_back(Event::Readable(body.stream));
        }
    }

    /// Applies FIN/RST of a frame whose payload is complete. `code` is the RST error code.
    fn finish_frame_flags(&mut self, id: u32, flags: Flags, code: Option<u32>) {
        if flags.contains(Flags::RST) {
            self.on_remote_reset(id, code.unwrap_or(0));
        } else if flags.contains(Flags::FIN) {
            if let Some(s) = self.streams.get_mut(&id)
                && !s.fin_received
            {
                s.fin_received = true;
                self.events.push_back(Event::Readable(id));
            }
            self.remove_if_finished(id);
        }
    }

    fn on_remote_reset(&mut self, id: u32, code: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.reset.is_none() {
            s.reset = Some(if s.awaiting_ack {
                StreamError::Refused { code }
            } else {
                StreamError::Reset { remote: true, code }
            });
            s.clear_buffers();
            self.events.push_back(Event::Readable(id));
            self.events.push_back(Event::Writable(id));
        }
        self.remove_if_finished(id);
    }

    fn on_window_update(&mut self, now: Instant, header: Header) -> Result<(), SessionError> {
        let id = header.stream_id;
        let accepted = self.on_open_flags(now, &header)?;
        if header.flags.contains(Flags::RST) {
            // go-yamux v5: on WU+RST the length is an error code, never credit.
            self.finish_frame_flags(id, header.flags, Some(header.length));
            return Ok(());
        }
        if accepted && let Some(s) = self.streams.get_mut(&id) {
            let blocked = match s.send.on_window_update(header.length, now) {
                Ok(blocked) => blocked,
                Err(detail) => {
                    return Err(self
                        .protocol_error(ProtocolViolation::WindowOverflow { stream: id, detail }));
                }
            };
            if header.length > 0 {
                self.out.stats.credit_updates_received += 1;
            }
            let credit = s.send.credit();
            self.out.stats.max_send_credit = self.out.stats.max_send_credit.max(credit);
            let enqueue = !s.queued && s.has_sendable();
            if enqueue {
                s.queued = true;
                self.sendable.push_back(id);
            }
            if self.out.trace_enabled {
                self.out.trace.push(TraceEvent::SendCredit {
                    t: now.saturating_duration_since(self.out.created),
                    stream: id,
                    credit,
                    blocked,
                });
            }
        }
        self.finish_frame_flags(id, header.flags, None);
        Ok(())
    }

    fn on_ping(&mut self, now: Instant, header: Header) -> Result<(), SessionError> {
        if header.stream_id != 0 {
            return Err(self.protocol_error(ProtocolViolation::WrongStreamId(header.to_string())));
        }
        if header.flags == Flags::SYN {
            // Answered through the same queue as every other frame: one writer, in order.
            self.out
                .control
                .push_back(Header::ping(Flags::ACK, header.length));
            self.out.stats.pings_answered += 1;
        } else if header.flags == Flags::ACK {
            match self.ping.outstanding {
                Some((opaque, sent)) if opaque == header.length => {
                    self.ping.outstanding = None;
                    let sample = now.saturating_duration_since(sent);
                    self.ping.samples.push(sample);
                    self.ping.rtt = Some(match self.ping.rtt {
                        None => sample,
                        Some(prev) => prev / 2 + sample / 2,
                    });
                    tracing::debug!(?sample, rtt = ?self.ping.rtt, "yamux RTT sample");
                }
                _ => self.out.stats.unexpected_pongs += 1,
            }
        } else {
            return Err(self.protocol_error(ProtocolViolation::InvalidPingFlags(header.flags.0)));
        }
        Ok(())
    }

    fn on_go_away(&mut self, header: Header) -> Result<(), SessionError> {
        if header.stream_id != 0 {
            return Err(self.protocol_error(ProtocolViolation::WrongStreamId(header.to_string())));
        }
        self.go_away_received = Some(header.length);
        if header.length != go_away::NORMAL {
            return Err(self.fail(SessionError::RemoteGoAway(header.length)));
        }
        tracing::debug!("peer sent GoAway(normal)");
        Ok(())
    }

    /// Handles the timer: RTT and keep-alive pings, and the ping timeout.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Some(idle) = self.idle_deadline()
            && now >= idle
        {
            let timeout = self.config.idle_timeout.unwrap_or_default();
            return Err(self.fail(SessionError::IdleTimeout(timeout)));
        }
        if let Some((_, sent)) = self.ping.outstanding {
            if now >= sent + self.config.ping_timeout {
                return Err(self.fail(SessionError::PingTimeout(self.config.ping_timeout)));
            }
            return Ok(());
        }
        let keepalive_due = self
            .config
            .keepalive_interval
            .is_some_and(|interval| now >= self.ping.last_rx + interval);
        if now >= self.ping.next_measure || keepalive_due {
            self.ping.due = true;
            self.ping.next_measure = now + self.config.rtt_interval;
        }
        Ok(())
    }

    /// When the idle timeout fires, if it is enabled and the session has no streams.
    fn idle_deadline(&self) -> Option<Instant> {
        let timeout = self.config.idle_timeout?;
        (self.streams.is_empty() && !self.go_away_sent).then(|| self.idle_since + timeout)
    }

    /// When [`Session::handle_timeout`] should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        let ping = if let Some((_, sent)) = self.ping.outstanding {
            Some(sent + self.config.ping_timeout)
        } else if self.ping.due {
            None
        } else {
            let keepalive = self
                .config
                .keepalive_interval
                .map(|i| self.ping.last_rx + i);
            Some(keepalive.map_or(self.ping.next_measure, |k| k.min(self.ping.next_measure)))
        };
        match (ping, self.idle_deadline()) {
            (Some(p), Some(i)) => Some(p.min(i)),
            (p, i) => p.or(i),
        }
    }

    // ------------------------------------------------------------------------------------------
    // Commands
    // ------------------------------------------------------------------------------------------

    /// Opens an outbound stream: a WINDOW_UPDATE with SYN goes out at once, and data may follow
    /// before the ACK. `Ok(None)` when 256 opens are un-ACKed: wait for [`Event::OutboundReady`].
    pub fn open_stream(&mut self, now: Instant) -> Result<Option<u32>, SessionError> {
        self.check_usable()?;
        if self.go_away_received.is_some() {
            return Err(SessionError::GoingAway);
        }
        if self.unacked_outbound >= MAX_ACK_BACKLOG {
            return Ok(None);
        }
        let id = self.next_outbound_id;
        if id >= u32::MAX - 1 {
            return Err(SessionError::StreamIdsExhausted);
        }
        self.next_outbound_id += 2;
        self.idle_since = now;
        let mut stream = StreamState::new(self.new_recv_window(now), true);
        self.out
            .window_update(now, id, &mut stream, Flags::SYN, self.ping.rtt);
        self.insert_stream(id, stream);
        self.unacked_outbound += 1;
        Ok(Some(id))
    }

    fn stream_mut(&mut self, id: u32) -> Result<&mut StreamState, StreamError> {
        stream_in(&mut self.streams, &self.failed, id)
    }

    /// Queues `data` for sending. Returns how many bytes were taken (zero-copy: a prefix of
    /// `data` is kept); 0 means the stream's buffer is full: wait for [`Event::Writable`].
    pub fn write(&mut self, now: Instant, id: u32, data: &Bytes) -> Result<usize, StreamError> {
        let n = self.writable_len(id, data.len())?;
        if n > 0 {
            self.push_send(now, id, data.slice(..n));
        }
        Ok(n)
    }

    /// Like [`Session::write`], copying the accepted prefix of `data`.
    pub fn write_slice(
        &mut self,
        now: Instant,
        id: u32,
        data: &[u8],
    ) -> Result<usize, StreamError> {
        let n = self.writable_len(id, data.len())?;
        if n > 0 {
            self.push_send(now, id, Bytes::copy_from_slice(&data[..n]));
        }
        Ok(n)
    }

    /// How many of `len` bytes the stream's send buffer takes now; registers interest in
    /// [`Event::Writable`] when that is none.
    fn writable_len(&mut self, id: u32, len: usize) -> Result<usize, StreamError> {
        let limit = self.config.send_buffer;
        let stream = self.stream_mut(id)?;
        if let Some(e) = stream.reset {
            return Err(e);
        }
        if stream.write != WriteHalf::Open {
            return Err(StreamError::WriteClosed);
        }
        let n = len.min(limit.saturating_sub(stream.send_buffered));
        if n == 0 && len > 0 {
            stream.want_writable = true;
        }
        Ok(n)
    }

    fn push_send(&mut self, now: Instant, id: u32, data: Bytes) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.send_buffered += data.len();
        stream.send_buf.push_back(data);
        if !stream.queued && stream.has_sendable() {
            stream.queued = true;
            self.sendable.push_back(id);
        } else if stream.send.credit() == 0 {
            stream.send.mark_blocked(now);
        }
    }

    /// Reads up to `max` bytes. Runs the window rule afterwards, as go does after every read.
    pub fn read(&mut self, now: Instant, id: u32, max: usize) -> Result<ReadOutcome, StreamError> {
        let stream = stream_in(&mut self.streams, &self.failed, id)?;
        if let Some(e) = stream.reset {
            return Err(e);
        }
        let Some(front) = stream.recv_buf.front_mut() else {
            return Ok(if stream.fin_received {
                ReadOutcome::Eof
            } else {
                ReadOutcome::Pending
            });
        };
        let data = if front.len() <= max {
            stream.recv_buf.pop_front().expect("front exists")
        } else {
            front.split_to(max)
        };
        stream.recv.on_read(data.len() as u32);
        self.out
            .window_update(now, id, stream, Flags::NONE, self.ping.rtt);
        Ok(ReadOutcome::Data(data))
    }

    /// Half-closes the write side: a FIN follows the buffered data.
    pub fn close_write(&mut self, id: u32) -> Result<(), StreamError> {
        let stream = self.stream_mut(id)?;
        if let Some(e) = stream.reset {
            return Err(e);
        }
        if stream.write == WriteHalf::Open {
            stream.write = WriteHalf::Closing;
            if !stream.queued {
                stream.queued = true;
                self.sendable.push_back(id);
            }
        }
        Ok(())
    }

    /// Resets a stream with an error code (sent as WU+RST, go-yamux v5 style).
    pub fn reset(&mut self, id: u32, code: u32) -> Result<(), StreamError> {
        let stream = self.stream_mut(id)?;
        if stream.reset.is_some() {
            return Ok(());
        }
        stream.reset = Some(StreamError::Reset {
            remote: false,
            code,
        });
        stream.clear_buffers();
        self.out
            .control
            .push_back(Header::window_update(id, Flags::RST, code));
        self.remove_if_finished(id);
        Ok(())
    }

    /// The application dropped its handle. An open write side is closed gracefully (FIN after
    /// the buffered data, like go's `Close`); unread and later data is discarded and credited
    /// back so the peer can finish. The state goes once both FINs have passed.
    pub fn detach(&mut self, now: Instant, id: u32) {
        self.idle_since = now;
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.detached = true;
        if stream.reset.is_none() {
            let unread = stream.clear_unread();
            stream.recv.on_read(unread);
            if stream.write == WriteHalf::Open {
                stream.write = WriteHalf::Closing;
                if !stream.queued {
                    stream.queued = true;
                    self.sendable.push_back(id);
                }
            }
            if unread > 0 {
                self.out
                    .window_update(now, id, stream, Flags::NONE, self.ping.rtt);
            }
        }
        self.remove_if_finished(id);
    }

    fn remove_if_finished(&mut self, id: u32) {
        if self.streams.get(&id).is_some_and(StreamState::is_finished) {
            let s = self.streams.remove(&id).expect("present");
            self.out.window_reserved -= u64::from(s.recv.window());
            if self.is_remote_id(id) {
                self.inbound_open -= 1;
            } else if s.awaiting_ack {
                self.unacked_outbound -= 1;
                self.events.push_back(Event::OutboundReady);
            }
        }
    }

    /// Ends the session with a GoAway carrying `code`. Already queued frames still go out first.
    pub fn close(&mut self, code: u32) {
        if !self.go_away_sent && self.failed.is_none() {
            self.out.control.push_back(Header::go_away(code));
            self.go_away_sent = true;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------------------------------

    /// Appends frames to `buf` until about `limit` bytes are there or nothing is left: control
    /// frames first (pongs, window updates, RSTs, GoAway), then DATA round-robin over streams,
    /// each frame at most [`Config::max_frame`] bytes and within the stream's send credit.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut BytesMut, limit: usize) {
        self.transmit(now, buf, limit);
    }

    /// Like [`Session::poll_transmit`], without copying the payload: the same frames (the same
    /// flow-control accounting and `limit`, counted in wire bytes of `parts`) are appended to
    /// `parts` as headers plus the payload `Bytes` taken from the streams' send buffers. The
    /// concatenation of the parts is byte for byte what [`Session::poll_transmit`] writes.
    pub fn poll_transmit_parts(&mut self, now: Instant, parts: &mut FrameParts, limit: usize) {
        self.transmit(now, parts, limit);
    }

    fn transmit<S: FrameSink>(&mut self, now: Instant, buf: &mut S, limit: usize) {
        while let Some(header) = self.out.control.pop_front() {
            self.emit(buf, header);
        }
        if self.ping.due && self.failed.is_none() {
            self.ping.due = false;
            let opaque = self.ping.next_opaque;
            self.ping.next_opaque = opaque.wrapping_add(1);
            // The RTT clock starts when the ping leaves the session, as go-yamux's does.
            self.ping.outstanding = Some((opaque, now));
            self.emit(buf, Header::ping(Flags::SYN, opaque));
        }
        let max_body = self.config.max_frame - HEADER_LEN;
        // Every turn either drops a stream from the queue or sends at least one byte or a FIN,
        // so the loop ends.
        while buf.len() + HEADER_LEN < limit {
            let Some(id) = self.sendable.pop_front() else {
                break;
            };
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            stream.queued = false;
            if !stream.has_sendable() {
                if stream.send_buffered > 0 {
                    stream.send.mark_blocked(now);
                }
                continue;
            }
            let mut frame = None;
            if stream.send_buffered > 0 && stream.send.credit() > 0 {
                let n = stream
                    .send_buffered
                    .min(stream.send.credit() as usize)
                    .min(max_body)
                    .min(limit - buf.len() - HEADER_LEN);
                buf.reserve(HEADER_LEN + n);
                buf.header(&Header::data(id, Flags::NONE, n as u32));
                stream.take_send(n, |chunk| buf.payload(chunk));
                stream.send.consume(n as u32);
                frame = Some(n);
                if stream.want_writable && stream.send_buffered < self.config.send_buffer {
                    stream.want_writable = false;
                    self.events.push_back(Event::Writable(id));
                }
            }
            let fin = stream.write == WriteHalf::Closing && stream.send_buffered == 0;
            if fin {
                stream.write = WriteHalf::Closed;
            } else if stream.has_sendable() {
                stream.queued = true;
                self.sendable.push_back(id);
            } else if stream.send_buffered > 0 {
                stream.send.mark_blocked(now);
            }
            if let Some(n) = frame {
                self.out.stats.frames_sent[FrameType::Data as usize] += 1;
                self.out.stats.data_bytes_sent += n as u64;
                tracing::trace!(stream = id, len = n, "yamux send data");
            }
            if fin {
                self.emit(buf, Header::window_update(id, Flags::FIN, 0));
                self.remove_if_finished(id);
            }
        }
    }

    fn emit<S: FrameSink>(&mut self, buf: &mut S, header: Header) {
        tracing::trace!(%header, "yamux send");
        self.out.stats.frames_sent[header.typ as usize] += 1;
        buf.header(&header);
    }
}

/// A stream of a session that has not failed.
fn stream_in<'a>(
    streams: &'a mut HashMap<u32, StreamState>,
    failed: &Option<SessionError>,
    id: u32,
) -> Result<&'a mut StreamState, StreamError> {
    if failed.is_some() {
        return Err(StreamError::ConnectionClosed);
    }
    streams.get_mut(&id).ok_or(StreamError::Unknown(id))
}

/// Read-only access to per-stream state for the test harness (`crate::testing::pair`).
#[cfg(any(test, feature = "testing"))]
impl Session {
    /// The state of stream `id`, if the session still tracks it.
    pub(crate) fn stream_state(&self, id: u32) -> Option<&StreamState> {
        self.streams.get(&id)
    }

    /// Ids of every stream the session tracks, sorted.
    pub(crate) fn stream_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod bounds_tests {
    use super::*;

    #[test]
    fn sizes_are_checked_against_their_bounds() {
        let ok = Config::default()
            .with_sizes(1 << 20, 16 << 20, 16 << 10)
            .unwrap();
        assert_eq!(
            (ok.initial_window, ok.max_window, ok.max_frame),
            (1 << 20, 16 << 20, 16 << 10)
        );
        let err = |i, m, f| Config::default().with_sizes(i, m, f).unwrap_err();
        let e = err(128 << 10, 16 << 20, 64 << 10);
        assert_eq!(e.setting(), Setting::InitialWindow);
        assert_eq!(
            e.to_string(),
            "initial_window must be from 256KiB to 4GiB - 1 (yamux windows are 32-bit), got 128KiB"
        );
        assert_eq!(
            err(256 << 10, 8 << 30, 64 << 10).setting(),
            Setting::MaxWindow
        );
        let e = err(1 << 20, 512 << 10, 64 << 10);
        assert_eq!(
            e.to_string(),
            "max_window 512KiB is below initial_window 1MiB"
        );
        let e = err(256 << 10, 256 << 10, 100);
        assert_eq!(e.setting().flag(), "--max-frame");
        assert_eq!(
            e.to_string(),
            "max_frame must be from 1KiB to 16MiB, got 100B"
        );
        assert!(
            Config::default()
                .with_sizes(256 << 10, u32::MAX.into(), 16 << 20)
                .is_ok()
        );
    }
}
