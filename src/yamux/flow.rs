//! Per-stream flow control: the receive window with go-yamux's auto-tuning, and the send credit.
//!
//! Pure state: time comes in as an argument, so every decision can be replayed on a simulated
//! clock. The receive rules are go-yamux v5's (libp2p/go-yamux `stream.go` `sendWindowUpdate`,
//! `util.go` `GrowTo`):
//!
//! - every stream starts with 256 KiB of credit in each direction, whatever the configuration;
//! - after the application reads, a window update is sent once at least half of the target window
//!   is consumed (or unconditionally when a SYN/ACK has to go out);
//! - if the previous update went out less than 4 RTT ago, the peer used half a window within
//!   4 RTT, so the target window doubles, up to the maximum;
//! - the window never shrinks;
//! - growth is also bounded by what is left of the connection's receive-window budget
//!   ([`RecvWindow::poll_update_within`], `Config::max_connection_window` in the session): a
//!   doubling that does not fit is cut short at the budget, or skipped.
//!
//! One deliberate difference: go-yamux sends only the growth of the second `GrowTo` call and
//! loses the first delta: `sendWindowUpdate` calls `GrowTo` twice when the window doubles and
//! assigns the second call's delta over the first, although the first one already raised the
//! local capacity (go-yamux's own `session_test.go` `TestSession_PartialReadWindowUpdate`
//! expects exactly that). It turns a full-size go receiver into a stop-and-wait protocol with W/2
//! blocks and can stall it forever. We send the full delta.
//! [`WindowAccounting::Go`] reproduces go's arithmetic so its cost can be measured.

use std::time::{Duration, Instant};

/// Credit every stream starts with in both directions (spec: 256 KiB). A larger initial window
/// must be advertised with a window update; it is never assumed.
pub const DEFAULT_WINDOW: u32 = 256 * 1024;

/// go-libp2p's maximum stream window (`MaxStreamWindowSize`).
pub const DEFAULT_MAX_WINDOW: u32 = 16 * 1024 * 1024;

/// The window doubles when the previous update is younger than this many RTTs (go-yamux: 4).
pub const RTT_EPOCH_MULTIPLIER: u32 = 4;

/// The sender used a whole window within this many RTTs (the previous update is younger): under
/// [`AutotuneRule::Ramp`] the window then quadruples instead of doubling.
pub const RAMP_EPOCH_MULTIPLIER: u32 = 2;

/// When the receive window grows (`--autotune-rule`, the sweep's `autotune_rule`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum AutotuneRule {
    /// go-yamux v5: the window doubles when the previous update is younger than 4 RTT. While the
    /// sender is window-limited that is once per RTT, so 256 KiB needs 5 RTTs to reach a 6 MiB
    /// bandwidth-delay product.
    #[default]
    Go,
    /// go's rule, except that an update less than 2 RTT after the previous one (the sender
    /// consumed half a window within about one RTT: window-limited) quadruples the window: the
    /// same ramp in half the RTTs, like a slow start that grows by 4 per RTT. Still capped by the
    /// maximum window, and never growing without the peer using the window it has.
    Ramp,
    /// go's rule per stream, plus sharing what the connection learned: a stream's window is first
    /// raised to the largest window any stream of the connection has reached (within the maximum
    /// and the connection's window budget; no doubling in the same update). With go's rule each
    /// stream's window grows on its own reader's timing, so under CPU contention one stream can
    /// hold a window many times its siblings' and, behind a round-robin sender, that many times
    /// their share; equal windows leave the shares to the round robin.
    Shared,
}

/// How a window update's delta is computed when the window doubles (`--window-accounting`, the
/// sweep's `window_accounting`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum WindowAccounting {
    /// The update carries all the credit the receiver adds (rust-yamux and js do this).
    #[default]
    Full,
    /// go-yamux v5: the update carries only the doubling's growth; the first delta is counted
    /// locally but never sent, so the peer gets less credit than the receiver believes it has.
    Go,
}

impl AutotuneRule {
    /// The flag, matrix and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            AutotuneRule::Go => "go",
            AutotuneRule::Ramp => "ramp",
            AutotuneRule::Shared => "shared",
        }
    }

    /// The default (left out of a case's JSON, so older case ids stay).
    pub fn is_go(&self) -> bool {
        *self == AutotuneRule::Go
    }
}

impl WindowAccounting {
    /// The flag, matrix and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowAccounting::Full => "full",
            WindowAccounting::Go => "go",
        }
    }
}

/// A window update decided by [`RecvWindow::poll_update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The delta to put on the wire.
    pub delta: u32,
    /// The target window after this decision.
    pub window: u32,
    /// Whether this decision doubled the window.
    pub doubled: bool,
    /// Time since the previous update (the epoch length).
    pub since_last_update: Duration,
    /// The window would have grown further but the connection's window budget
    /// ([`RecvWindow::poll_update_within`]'s `headroom`) did not allow it.
    pub budget_limited: bool,
    /// [`AutotuneRule::Shared`] raised the window to the connection's largest.
    pub lifted: bool,
}

/// The peer sent more than it was allowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("received {received} bytes with only {credit} bytes of window left")]
pub struct WindowExceeded {
    /// Bytes in the offending frame.
    pub received: u32,
    /// Credit the peer had.
    pub credit: u32,
}

/// The receive side of one stream.
#[derive(Debug, Clone)]
pub struct RecvWindow {
    /// Target window (go: `recvWindow`).
    window: u32,
    /// Largest target window auto-tuning may reach.
    max_window: u32,
    /// Bytes the peer may still send, as this side counts them (go: `recvBuf.cap`). Equal to the
    /// peer's real credit with [`WindowAccounting::Full`]; larger with [`WindowAccounting::Go`].
    credit: u32,
    /// Received bytes the application has not read yet (go: `recvBuf.len`).
    buffered: u32,
    /// When the last update was sent (go: `epochStart`).
    epoch_start: Instant,
    autotune: bool,
    accounting: WindowAccounting,
    rule: AutotuneRule,
}

impl RecvWindow {
    /// A new receive window. `initial` above 256 KiB takes effect through the SYN/ACK update.
    pub fn new(
        initial: u32,
        max_window: u32,
        autotune: bool,
        accounting: WindowAccounting,
        now: Instant,
    ) -> Self {
        let initial = initial.max(DEFAULT_WINDOW);
        Self {
            window: initial,
            max_window: max_window.max(initial),
            credit: DEFAULT_WINDOW,
            buffered: 0,
            epoch_start: now,
            autotune,
            accounting,
            rule: AutotuneRule::Go,
        }
    }

    /// The same window with another growth rule.
    pub fn with_rule(mut self, rule: AutotuneRule) -> Self {
        self.rule = rule;
        self
    }

    /// The target window.
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Credit the peer has left, as this side counts it.
    pub fn credit(&self) -> u32 {
        self.credit
    }

    /// Received bytes not yet read.
    pub fn buffered(&self) -> u32 {
        self.buffered
    }

    /// Accounts for `len` received DATA bytes. More than the credit is a protocol error.
    pub fn on_data(&mut self, len: u32) -> Result<(), WindowExceeded> {
        if len > self.credit {
            return Err(WindowExceeded {
                received: len,
                credit: self.credit,
            });
        }
        self.credit -= len;
        self.buffered += len;
        Ok(())
    }

    /// Accounts for `len` bytes the application read (or that were discarded unread).
    pub fn on_read(&mut self, len: u32) {
        debug_assert!(len <= self.buffered, "read more than was buffered");
        self.buffered = self.buffered.saturating_sub(len);
    }

    /// go's `GrowTo`: raise `credit + buffered` to `target` if that adds at least half of
    /// `target`, or in any case when `force` is set. Returns whether an update is due, and the
    /// growth added to the credit.
    fn grow_to(&mut self, target: u32, force: bool) -> (bool, u32) {
        let current = self.credit.saturating_add(self.buffered);
        if current >= target {
            return (force, 0);
        }
        let delta = target - current;
        if delta < target / 2 && !force {
            return (false, 0);
        }
        self.credit += delta;
        (true, delta)
    }

    /// Decides whether a window update goes out now (go: `sendWindowUpdate`). Called after every
    /// read, and with `force` when a SYN or ACK must be sent (the update then carries the
    /// advertisement of an initial window above 256 KiB, and never doubles).
    pub fn poll_update(
        &mut self,
        now: Instant,
        rtt: Option<Duration>,
        force: bool,
    ) -> Option<WindowUpdate> {
        self.poll_update_within(now, rtt, force, u32::MAX, 0)
    }

    /// [`poll_update`](Self::poll_update) where the window may grow by at most `headroom`
    /// bytes: what is left of the connection's receive-window budget. A doubling that does not
    /// fit grows the window only up to the budget (and not at all when none is left); the
    /// update then reports [`WindowUpdate::budget_limited`]. `shared` is the largest window of
    /// the connection's streams, which [`AutotuneRule::Shared`] lifts this one to (also within
    /// `headroom`); the other rules ignore it.
    pub fn poll_update_within(
        &mut self,
        now: Instant,
        rtt: Option<Duration>,
        force: bool,
        headroom: u32,
        shared: u32,
    ) -> Option<WindowUpdate> {
        let mut budget_limited = false;
        let mut lifted = false;
        if self.rule == AutotuneRule::Shared && self.autotune && !force {
            let wanted = shared.min(self.max_window);
            let target = wanted.min(self.window.saturating_add(headroom));
            if target > self.window {
                self.window = target;
                lifted = true;
            }
            budget_limited = target < wanted;
        }
        // A lift has already raised the target, so its update goes out whatever its size.
        let (needed, mut delta) = self.grow_to(self.window, force || lifted);
        if !needed {
            return None;
        }
        let since_last_update = now.saturating_duration_since(self.epoch_start);
        let mut doubled = false;
        if let Some(rtt) = rtt.filter(|rtt| !force && !lifted && self.autotune && !rtt.is_zero())
            && since_last_update < rtt * RTT_EPOCH_MULTIPLIER
        {
            {
                let factor = match self.rule {
                    AutotuneRule::Ramp if since_last_update < rtt * RAMP_EPOCH_MULTIPLIER => 4,
                    _ => 2,
                };
                let wanted = self.window.saturating_mul(factor).min(self.max_window);
                let grown = wanted.min(self.window.saturating_add(headroom));
                budget_limited = grown < wanted;
                if grown > self.window {
                    self.window = grown;
                    doubled = true;
                    let (_, growth) = self.grow_to(grown, true);
                    delta = match self.accounting {
                        WindowAccounting::Full => delta + growth,
                        WindowAccounting::Go => growth,
                    };
                }
            }
        }
        self.epoch_start = now;
        Some(WindowUpdate {
            delta,
            window: self.window,
            doubled,
            since_last_update,
            budget_limited,
            lifted,
        })
    }
}

/// The send side of one stream: credit granted by the peer.
#[derive(Debug, Clone)]
pub struct SendWindow {
    credit: u32,
    /// Since when the stream has had data to send but no credit.
    blocked_since: Option<Instant>,
}

/// A window update would push the send credit past `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("window update of {delta} overflows the send window of {credit}")]
pub struct WindowOverflow {
    /// Credit before the update.
    pub credit: u32,
    /// The delta received.
    pub delta: u32,
}

impl Default for SendWindow {
    fn default() -> Self {
        Self {
            credit: DEFAULT_WINDOW,
            blocked_since: None,
        }
    }
}

impl SendWindow {
    /// Credit left.
    pub fn credit(&self) -> u32 {
        self.credit
    }

    /// Adds a received delta (never sets: the delta on a SYN/ACK also adds). Returns how long the
    /// sender had been blocked, if it was.
    pub fn on_window_update(
        &mut self,
        delta: u32,
        now: Instant,
    ) -> Result<Option<Duration>, WindowOverflow> {
        self.credit = self.credit.checked_add(delta).ok_or(WindowOverflow {
            credit: self.credit,
            delta,
        })?;
        Ok(match self.blocked_since {
            Some(since) if delta > 0 => {
                self.blocked_since = None;
                Some(now.saturating_duration_since(since))
            }
            _ => None,
        })
    }

    /// Takes `n` bytes of credit for a DATA frame.
    pub fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.credit, "sent beyond the peer's window");
        self.credit -= n;
    }

    /// Notes that data is waiting and no credit is left.
    pub fn mark_blocked(&mut self, now: Instant) {
        if self.credit == 0 && self.blocked_since.is_none() {
            self.blocked_since = Some(now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the tests take one origin from the clock
mod tests {
    use super::*;

    const KIB: u32 = 1024;
    const MIB: u32 = 1024 * 1024;

    fn window(accounting: WindowAccounting, now: Instant) -> RecvWindow {
        RecvWindow::new(DEFAULT_WINDOW, DEFAULT_MAX_WINDOW, true, accounting, now)
    }

    #[test]
    fn no_update_before_half_the_window_is_consumed() {
        let t0 = Instant::now();
        let mut w = window(WindowAccounting::Full, t0);
        w.on_data(128 * KIB - 1).unwrap();
        w.on_read(128 * KIB - 1);
        assert_eq!(w.poll_update(t0, None, false), None);
        w.on_data(1).unwrap();
        w.on_read(1);
        let update = w.poll_update(t0, None, false).unwrap();
        assert_eq!(update.delta, 128 * KIB);
        assert!(
            !update.doubled,
            "no RTT known yet: go never doubles without one"
        );
        assert_eq!(w.credit(), 256 * KIB);
    }

    #[test]
    fn unread_data_holds_back_credit() {
        let t0 = Instant::now();
        let mut w = window(WindowAccounting::Full, t0);
        w.on_data(200 * KIB).unwrap();
        assert_eq!(
            w.poll_update(t0, None, false),
            None,
            "nothing read, nothing to grant"
        );
        w.on_read(100 * KIB);
        // credit 56 KiB + 100 KiB buffered: only 100 KiB free, below half: no update yet.
        assert_eq!(w.poll_update(t0, None, false), None);
        w.on_read(100 * KIB);
        assert_eq!(w.poll_update(t0, None, false).unwrap().delta, 200 * KIB);
    }

    #[test]
    fn sending_beyond_the_window_is_an_error() {
        let t0 = Instant::now();
        let mut w = window(WindowAccounting::Full, t0);
        w.on_data(DEFAULT_WINDOW).unwrap();
        assert_eq!(
            w.on_data(1),
            Err(WindowExceeded {
                received: 1,
                credit: 0
            })
        );
    }

    #[test]
    fn syn_ack_update_advertises_a_larger_initial_window() {
        let t0 = Instant::now();
        let mut w = RecvWindow::new(MIB, DEFAULT_MAX_WINDOW, true, WindowAccounting::Full, t0);
        let update = w
            .poll_update(t0, Some(Duration::from_millis(1)), true)
            .unwrap();
        assert_eq!(update.delta, MIB - DEFAULT_WINDOW);
        assert!(!update.doubled, "an update carrying SYN/ACK never doubles");
        // With the default initial window the forced update carries a zero delta, as go's does.
        let mut w = window(WindowAccounting::Full, t0);
        assert_eq!(w.poll_update(t0, None, true).unwrap().delta, 0);
    }

    #[test]
    fn recv_window_doubles_once_per_rtt_epoch() {
        let t0 = Instant::now();
        let rtt = Some(Duration::from_millis(10));
        let mut w = window(WindowAccounting::Full, t0);
        // Half the window consumed 30 ms after the last update (< 4 RTT): double.
        w.on_data(128 * KIB).unwrap();
        w.on_read(128 * KIB);
        let t1 = t0 + Duration::from_millis(30);
        let u = w.poll_update(t1, rtt, false).unwrap();
        assert!(u.doubled);
        assert_eq!(u.window, 512 * KIB);
        assert_eq!(u.since_last_update, Duration::from_millis(30));
        // The next half window takes 50 ms (> 4 RTT): the window stays.
        w.on_data(256 * KIB).unwrap();
        w.on_read(256 * KIB);
        let u = w
            .poll_update(t1 + Duration::from_millis(50), rtt, false)
            .unwrap();
        assert!(!u.doubled);
        assert_eq!(u.window, 512 * KIB);
        assert_eq!(u.delta, 256 * KIB);
    }

    /// The connection budget's headroom caps growth: a doubling that does not fit grows only up
    /// to the budget, and with none left the window stays (the update still carries the credit
    /// for what was read).
    #[test]
    fn growth_is_cut_to_the_headroom_and_stops_without_any() {
        let t0 = Instant::now();
        let rtt = Some(Duration::from_millis(10));
        let mut w = window(WindowAccounting::Full, t0);
        w.on_data(128 * KIB).unwrap();
        w.on_read(128 * KIB);
        let u = w.poll_update_within(t0, rtt, false, 100 * KIB, 0).unwrap();
        assert!(u.budget_limited);
        assert_eq!(u.window, 356 * KIB);
        assert_eq!(
            u.delta,
            228 * KIB,
            "the 128 KiB read plus the 100 KiB growth"
        );
        assert_eq!(w.credit(), 356 * KIB);
        w.on_data(200 * KIB).unwrap();
        w.on_read(200 * KIB);
        let u = w.poll_update_within(t0, rtt, false, 0, 0).unwrap();
        assert!(u.budget_limited && !u.doubled);
        assert_eq!((u.window, u.delta), (356 * KIB, 200 * KIB));
        // Enough headroom: a full doubling, not flagged.
        w.on_data(200 * KIB).unwrap();
        w.on_read(200 * KIB);
        let u = w.poll_update_within(t0, rtt, false, MIB, 0).unwrap();
        assert!(u.doubled && !u.budget_limited);
        assert_eq!(u.window, 712 * KIB);
    }

    #[test]
    fn recv_window_never_exceeds_max_and_autotune_off_never_grows() {
        let t0 = Instant::now();
        let rtt = Some(Duration::from_secs(10));
        let mut w = RecvWindow::new(DEFAULT_WINDOW, MIB, true, WindowAccounting::Full, t0);
        for _ in 0..10 {
            let half = w.window() / 2 + 1;
            w.on_data(half.min(w.credit())).unwrap();
            w.on_read(half.min(w.buffered()));
            w.poll_update(t0, rtt, false);
        }
        assert_eq!(w.window(), MIB);
        let mut w = RecvWindow::new(DEFAULT_WINDOW, MIB, false, WindowAccounting::Full, t0);
        w.on_data(DEFAULT_WINDOW).unwrap();
        w.on_read(DEFAULT_WINDOW);
        assert!(!w.poll_update(t0, rtt, false).unwrap().doubled);
        assert_eq!(w.window(), DEFAULT_WINDOW);
    }

    /// go-yamux's lost delta (see the module doc), idealized: 256 KiB window, the peer sent
    /// 200 KiB, the app reads all of it at once, within 4 RTT. go sends 256 KiB and the peer ends with 312 KiB of
    /// credit while go counts 512 KiB; we send 456 KiB.
    #[test]
    fn go_accounting_loses_the_first_delta_and_full_accounting_does_not() {
        let t0 = Instant::now();
        let rtt = Some(Duration::from_secs(10));
        for (accounting, wire_delta) in [
            (WindowAccounting::Go, 262_144),
            (WindowAccounting::Full, 466_944),
        ] {
            let mut w = window(accounting, t0);
            let mut peer = SendWindow::default();
            w.on_data(204_800).unwrap();
            peer.consume(204_800);
            assert_eq!(w.credit(), 57_344);
            w.on_read(204_800);
            let u = w.poll_update(t0, rtt, false).unwrap();
            peer.on_window_update(u.delta, t0).unwrap();
            assert_eq!(u.delta, wire_delta, "{accounting:?}");
            assert_eq!(u.window, 524_288);
            assert_eq!(w.credit(), 524_288, "local view: the whole window is free");
            let lost = w.credit() - peer.credit();
            match accounting {
                WindowAccounting::Go => assert_eq!((peer.credit(), lost), (319_488, 204_800)),
                WindowAccounting::Full => assert_eq!((peer.credit(), lost), (524_288, 0)),
            }
        }
    }

    /// The lost delta with real frame sizes, as measured against go-yamux v5.1.0: the
    /// sender writes 200 KiB in frames of at most 65524 bytes and the receiver reads one frame
    /// per read, RTT pinned at 10 s. go's wire shows `ACK delta=0` then `delta=262144`; the
    /// receiver ends at window 524288, local cap 516060, peer credit 319488 (gap 196572).
    #[test]
    fn reproduces_go_yamux_partial_read_numbers_frame_by_frame() {
        let t0 = Instant::now();
        let rtt = Some(Duration::from_secs(10));
        let frames = [65_524u32, 65_524, 65_524, 8_228];
        for (accounting, deltas, local_credit, peer_credit) in [
            (WindowAccounting::Go, vec![0, 262_144], 516_060, 319_488),
            (WindowAccounting::Full, vec![0, 458_716], 516_060, 516_060),
        ] {
            let mut w = window(accounting, t0);
            let mut peer = SendWindow::default();
            let mut wire = vec![w.poll_update(t0, rtt, true).unwrap().delta];
            peer.on_window_update(wire[0], t0).unwrap();
            for len in frames {
                w.on_data(len).unwrap();
                peer.consume(len);
            }
            for len in frames {
                w.on_read(len);
                if let Some(u) = w.poll_update(t0, rtt, false) {
                    peer.on_window_update(u.delta, t0).unwrap();
                    wire.push(u.delta);
                }
            }
            assert_eq!(wire, deltas, "{accounting:?}");
            assert_eq!(w.window(), 524_288);
            assert_eq!(w.credit(), local_credit);
            assert_eq!(peer.credit(), peer_credit, "{accounting:?}");
        }
    }

    /// The bug of py-libp2p's yamux pull request #1269: a window update is a delta that ADDS to
    /// the credit, also on SYN/ACK frames. Setting it instead would shrink or inflate the window.
    #[test]
    fn window_delta_adds_never_sets() {
        let t0 = Instant::now();
        let mut send = SendWindow::default();
        send.on_window_update(0, t0).unwrap();
        assert_eq!(
            send.credit(),
            DEFAULT_WINDOW,
            "a zero delta on an ACK leaves 256 KiB"
        );
        send.consume(100);
        send.on_window_update(1000, t0).unwrap();
        assert_eq!(send.credit(), DEFAULT_WINDOW - 100 + 1000);
    }

    #[test]
    fn send_window_overflow_is_rejected() {
        let t0 = Instant::now();
        let mut send = SendWindow::default();
        let err = send.on_window_update(u32::MAX, t0).unwrap_err();
        assert_eq!(
            err,
            WindowOverflow {
                credit: DEFAULT_WINDOW,
                delta: u32::MAX
            }
        );
        assert_eq!(send.credit(), DEFAULT_WINDOW);
    }

    #[test]
    fn blocked_time_is_reported_on_the_next_credit() {
        let t0 = Instant::now();
        let mut send = SendWindow::default();
        send.consume(DEFAULT_WINDOW);
        send.mark_blocked(t0);
        let blocked = send
            .on_window_update(10, t0 + Duration::from_millis(7))
            .unwrap();
        assert_eq!(blocked, Some(Duration::from_millis(7)));
        assert_eq!(send.on_window_update(10, t0).unwrap(), None);
    }
}
