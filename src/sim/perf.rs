//! The two applications of a simulated perf run, driving the sans-IO sessions directly: the
//! client and the server of `/perf/1.0.0` (<https://github.com/libp2p/specs/blob/master/perf/perf.md>)
//! on each stream, with the lazy multistream-select negotiation our client and server use
//! (`crate::perf::run_stream`, `crate::multistream::listener_select`):
//!
//! - the client opens the stream and writes the proposal (`/multistream/1.0.0`, `/perf/1.0.0`),
//!   the 8-byte big-endian download size and the upload, then half-closes once the listener's
//!   echo has arrived; it reads to end of stream, counting the download;
//! - the server writes its multistream header when the stream arrives and the protocol echo
//!   once the proposal is read, reads the size, drains the upload to end of stream, then writes
//!   the download and half-closes.
//!
//! Payload is zeros from [`Payload::chunk`] (no copy per write); reads take one chunk at a time,
//! as a driver's stream handle hands them out, and every read runs the session's window rule.

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::SimError;
use crate::multistream::{self, EchoCheck, HEADER};
use crate::perf::payload::{CHUNK, Payload};
use crate::perf::{PROTOCOL_ID, StreamReport};
use crate::yamux::{Event, ReadOutcome, Role, Session, StreamError};

/// Bytes moved so far by the client's application, for the per-interval lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Moved {
    /// Upload bytes the session accepted.
    pub uploaded: u64,
    /// Download bytes read.
    pub downloaded: u64,
}

/// Data an application still has to hand to its session on one stream.
#[derive(Debug, Default)]
struct Outgoing {
    /// Bytes written by the protocol (requests, negotiation) before the payload.
    pending: Option<Bytes>,
    /// Payload bytes left to write.
    payload_left: u64,
    /// Payload bytes written so far.
    payload_written: u64,
    /// The last write took nothing: wait for `Event::Writable`, as a driver does.
    blocked: bool,
}

impl Outgoing {
    /// Hands as much as the session takes; returns the payload bytes accepted.
    fn write(
        &mut self,
        session: &mut Session,
        now: Instant,
        id: u32,
        side: Role,
    ) -> Result<u64, SimError> {
        let mut accepted = 0;
        while !self.blocked {
            let (chunk, is_payload) = match &self.pending {
                Some(p) => (p.clone(), false),
                None if self.payload_left > 0 => {
                    let len = self.payload_left.min(CHUNK as u64) as usize;
                    (Payload::Zeros.chunk(self.payload_written, len), true)
                }
                None => break,
            };
            let n = session
                .write(now, id, &chunk)
                .map_err(|e| stream_error(side, id, e))?;
            if n == 0 {
                self.blocked = true;
                break;
            }
            if is_payload {
                self.payload_left -= n as u64;
                self.payload_written += n as u64;
                accepted += n as u64;
            } else {
                self.pending = (n < chunk.len()).then(|| chunk.slice(n..));
            }
        }
        Ok(accepted)
    }

    fn is_done(&self) -> bool {
        self.pending.is_none() && self.payload_left == 0
    }
}

/// The session's events since the last call, by kind.
#[derive(Debug, Default)]
struct Events {
    any: bool,
    inbound: Vec<u32>,
    readable: Vec<u32>,
    writable: Vec<u32>,
}

fn take_events(session: &mut Session) -> Events {
    let mut events = Events::default();
    while let Some(event) = session.poll_event() {
        events.any = true;
        match event {
            Event::InboundStream(id) => events.inbound.push(id),
            Event::Readable(id) => events.readable.push(id),
            Event::Writable(id) => events.writable.push(id),
            Event::OutboundReady => {}
        }
    }
    events.readable.dedup();
    events
}

fn close_write(session: &mut Session, side: Role, id: u32) -> Result<(), SimError> {
    session
        .close_write(id)
        .map_err(|e| stream_error(side, id, e))
}

fn stream_error(side: Role, stream: u32, error: StreamError) -> SimError {
    SimError::Stream {
        side,
        stream,
        error: error.to_string(),
    }
}

/// The client's state on one perf stream.
#[derive(Debug)]
struct ClientStream {
    out: Outgoing,
    echo: EchoCheck,
    closed: bool,
    download: u64,
    received: u64,
    first_byte: Option<Instant>,
    finished: Option<Instant>,
}

/// The perf client: `streams` streams opened at the start, each uploading `upload` bytes and
/// asking for `download`.
#[derive(Debug)]
pub(super) struct Client {
    streams: BTreeMap<u32, ClientStream>,
    start: Instant,
    upload: u64,
    pub(super) moved: Moved,
}

impl Client {
    /// Opens the streams and queues their requests.
    pub(super) fn open(
        session: &mut Session,
        now: Instant,
        streams: u32,
        upload: u64,
        download: u64,
    ) -> Result<Self, SimError> {
        let mut open = BTreeMap::new();
        for _ in 0..streams.max(1) {
            let id = session
                .open_stream(now)
                .map_err(|e| SimError::Session {
                    side: Role::Client,
                    error: e.to_string(),
                })?
                .ok_or(SimError::AckBacklog)?;
            let mut request = BytesMut::new();
            multistream::encode_proposal(PROTOCOL_ID, &mut request);
            request.extend_from_slice(&download.to_be_bytes());
            open.insert(
                id,
                ClientStream {
                    out: Outgoing {
                        pending: Some(request.freeze()),
                        payload_left: upload,
                        ..Outgoing::default()
                    },
                    echo: EchoCheck::new(PROTOCOL_ID),
                    closed: false,
                    download,
                    received: 0,
                    first_byte: None,
                    finished: None,
                },
            );
        }
        Ok(Self {
            streams: open,
            start: now,
            upload,
            moved: Moved::default(),
        })
    }

    /// Takes the session's events, reads what is readable, writes what is pending. Returns
    /// whether anything happened.
    pub(super) fn run(&mut self, session: &mut Session, now: Instant) -> Result<bool, SimError> {
        // The server opens nothing on a perf connection; a stream it did open is left alone,
        // as our client's `answer_inbound` would refuse it.
        let events = take_events(session);
        let mut progress = events.any;
        for id in events.writable {
            if let Some(s) = self.streams.get_mut(&id) {
                s.out.blocked = false;
            }
        }
        for id in events.readable {
            progress |= self.read(session, now, id)?;
        }
        for (&id, s) in &mut self.streams {
            let pending = s.out.pending.as_ref().map(Bytes::len);
            let n = s.out.write(session, now, id, Role::Client)?;
            self.moved.uploaded += n;
            progress |= n > 0 || s.out.pending.as_ref().map(Bytes::len) != pending;
            if !s.closed && s.out.is_done() && s.echo.is_done() {
                close_write(session, Role::Client, id)?;
                s.closed = true;
                progress = true;
            }
        }
        Ok(progress)
    }

    fn read(&mut self, session: &mut Session, now: Instant, id: u32) -> Result<bool, SimError> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(false);
        };
        let mut progress = false;
        while s.finished.is_none() {
            match session
                .read(now, id, usize::MAX)
                .map_err(|e| stream_error(Role::Client, id, e))?
            {
                ReadOutcome::Pending => break,
                ReadOutcome::Eof => {
                    progress = true;
                    if !s.echo.is_done() {
                        return Err(SimError::Protocol(format!(
                            "stream {id}: end of stream before the {PROTOCOL_ID} echo"
                        )));
                    }
                    if s.received != s.download {
                        return Err(SimError::Protocol(format!(
                            "stream {id}: download ended after {} of {} bytes",
                            s.received, s.download
                        )));
                    }
                    s.first_byte.get_or_insert(now);
                    s.finished = Some(now);
                }
                ReadOutcome::Data(data) => {
                    progress = true;
                    let mut len = data.len() as u64;
                    if !s.echo.is_done() {
                        let mut rest = BytesMut::from(&data[..]);
                        s.echo.consume(&mut rest).map_err(|e| {
                            SimError::Protocol(format!("stream {id}: {}", crate::error_chain(&e)))
                        })?;
                        len = rest.len() as u64;
                    }
                    if len > 0 {
                        s.first_byte.get_or_insert(now);
                        s.received += len;
                        self.moved.downloaded += len;
                        if s.received > s.download {
                            return Err(SimError::Protocol(format!(
                                "stream {id}: the server sent more than the {} bytes requested",
                                s.download
                            )));
                        }
                    }
                }
            }
        }
        Ok(progress)
    }

    /// Whether every stream has read its download to the end.
    pub(super) fn is_done(&self) -> bool {
        self.streams.values().all(|s| s.finished.is_some())
    }

    /// Each stream's report, timed as the real client times it ([`StreamReport::from_times`]),
    /// once [`Client::is_done`].
    pub(super) fn reports(&self) -> Vec<StreamReport> {
        self.streams
            .values()
            .filter_map(|s| {
                let end = s.finished?;
                Some(StreamReport::from_times(
                    self.upload,
                    s.download,
                    self.start,
                    s.first_byte.unwrap_or(end),
                    end,
                ))
            })
            .collect()
    }
}

/// Where the server is in one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the dialer's header and proposal.
    Proposal,
    /// Reading the 8-byte download size.
    Size,
    /// Draining the upload to end of stream.
    Drain,
    /// Writing the download; the FIN follows it.
    Send,
    /// Half-closed.
    Done,
}

#[derive(Debug)]
struct ServerStream {
    phase: Phase,
    /// Bytes read while negotiating (the proposal and the size).
    buf: BytesMut,
    uploaded: u64,
    /// The download size asked for.
    requested: u64,
    out: Outgoing,
}

/// The perf server: answers every inbound stream.
#[derive(Debug, Default)]
pub(super) struct Server {
    streams: BTreeMap<u32, ServerStream>,
}

impl Server {
    /// Takes the session's events, reads what is readable, writes what is pending. Returns
    /// whether anything happened.
    pub(super) fn run(&mut self, session: &mut Session, now: Instant) -> Result<bool, SimError> {
        let events = take_events(session);
        let mut progress = events.any;
        for &id in &events.inbound {
            // `listener_select` writes its header before it reads the proposal.
            let mut header = BytesMut::new();
            multistream::encode_message(HEADER, &mut header);
            self.streams.insert(
                id,
                ServerStream {
                    phase: Phase::Proposal,
                    buf: BytesMut::new(),
                    uploaded: 0,
                    requested: 0,
                    out: Outgoing {
                        pending: Some(header.freeze()),
                        ..Outgoing::default()
                    },
                },
            );
        }
        for id in events.writable {
            if let Some(s) = self.streams.get_mut(&id) {
                s.out.blocked = false;
            }
        }
        for id in events.inbound.into_iter().chain(events.readable) {
            progress |= self.read(session, now, id)?;
        }
        for (&id, s) in &mut self.streams {
            if s.phase == Phase::Done {
                continue;
            }
            let pending = s.out.pending.as_ref().map(Bytes::len);
            let n = s.out.write(session, now, id, Role::Server)?;
            progress |= n > 0 || s.out.pending.as_ref().map(Bytes::len) != pending;
            if s.phase == Phase::Send && s.out.is_done() {
                close_write(session, Role::Server, id)?;
                s.phase = Phase::Done;
                progress = true;
            }
        }
        Ok(progress)
    }

    fn read(&mut self, session: &mut Session, now: Instant, id: u32) -> Result<bool, SimError> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(false);
        };
        let mut progress = false;
        while matches!(s.phase, Phase::Proposal | Phase::Size | Phase::Drain) {
            let outcome = session
                .read(now, id, usize::MAX)
                .map_err(|e| stream_error(Role::Server, id, e))?;
            match outcome {
                ReadOutcome::Pending => break,
                ReadOutcome::Eof => {
                    progress = true;
                    if s.phase != Phase::Drain {
                        return Err(SimError::Protocol(format!(
                            "stream {id}: end of stream before the 8-byte request"
                        )));
                    }
                    s.out.payload_left = s.requested;
                    s.phase = Phase::Send;
                }
                ReadOutcome::Data(data) => {
                    progress = true;
                    if s.phase == Phase::Drain {
                        s.uploaded += data.len() as u64;
                        continue;
                    }
                    s.buf.extend_from_slice(&data);
                    s.negotiate(id)?;
                }
            }
        }
        Ok(progress)
    }
}

impl ServerStream {
    /// Advances through the proposal and the size with the bytes in `buf`.
    fn negotiate(&mut self, id: u32) -> Result<(), SimError> {
        let bad = |what: String| SimError::Protocol(format!("stream {id}: {what}"));
        while self.phase == Phase::Proposal {
            let message = multistream::decode_message(&mut self.buf)
                .map_err(|e| bad(crate::error_chain(&e)))?;
            match message.as_deref() {
                None => return Ok(()),
                Some(HEADER) => {}
                Some(PROTOCOL_ID) => {
                    let mut echo = BytesMut::new();
                    multistream::encode_message(PROTOCOL_ID, &mut echo);
                    let echo = echo.freeze();
                    self.out.pending = Some(match self.out.pending.take() {
                        // The header has not gone out yet: the echo follows it.
                        Some(header) => [header, echo].concat().into(),
                        None => echo,
                    });
                    self.phase = Phase::Size;
                }
                Some(other) => return Err(bad(format!("unexpected proposal {other:?}"))),
            }
        }
        if self.phase == Phase::Size && self.buf.len() >= 8 {
            self.requested = self.buf.get_u64();
            self.uploaded = self.buf.len() as u64;
            self.buf = BytesMut::new();
            self.phase = Phase::Drain;
        }
        Ok(())
    }
}
