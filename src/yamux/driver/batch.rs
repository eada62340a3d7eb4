//! [`Batch`]: the frames the writer takes from the session, sealed for one socket write.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::AsyncWrite;

use super::seal::Seal;
use crate::yamux::session::Session;
use crate::yamux::wire::FrameParts;

/// Most slices per vectored write (Linux's `IOV_MAX` is 1024).
pub(super) const MAX_IOV: usize = 512;

/// The writer's batch: yamux frames taken from the session and sealed for the socket.
///
/// With a [`Seal::framing`], [`Batch::fill`] takes frames as [`FrameParts`] (headers, and the
/// payload as references into the streams' send buffers: no copy under the session lock),
/// split into units of at most [`Framing::max_plaintext`](super::Framing::max_plaintext) bytes
/// that each hold whole frames.
/// [`Batch::seal`] then seals every unit from its pieces straight into the wire buffer
/// ([`Seal::seal_pieces`]: with Noise one pass of encryption, no copy first). A
/// [`Seal::passthrough`] seal needs no wire buffer: [`Batch::poll_send`] writes the parts
/// themselves with vectored writes. Without a framing, frames are copied into a plaintext
/// buffer that [`Seal::seal`] copies into the wire buffer. The buffers are reused: no
/// allocation per batch once they have grown.
#[derive(Debug, Default)]
pub struct Batch {
    /// Sealed bytes: `wire[..wire_len]`. In framing mode the buffer only grows and is never
    /// cleared, so sealing into it does not write zeros first.
    wire: BytesMut,
    wire_len: usize,
    plaintext: BytesMut,
    /// Frames taken in framing mode.
    parts: FrameParts,
    /// Plaintext length of each unit of `parts`, in order (framing mode, not passthrough).
    units: Vec<usize>,
    /// Bytes of `wire` that [`Batch::poll_send`] has written.
    sent: usize,
    /// The part of `parts` that [`Batch::poll_send`] writes next, and how much of it is written.
    part_at: (usize, usize),
    /// Bytes [`Batch::poll_send`] has written over the batch's life.
    written: u64,
}

impl Batch {
    /// An empty batch with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            wire: BytesMut::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Takes frames from `session` until about `limit` plaintext bytes are in the batch or the
    /// session has nothing more to send. Cheap: call it under the session lock, then
    /// [`Batch::seal`] outside.
    pub fn fill<S: Seal>(&mut self, session: &mut Session, now: Instant, seal: &S, limit: usize) {
        let Some(framing) = seal.framing() else {
            session.poll_transmit(now, &mut self.plaintext, limit);
            return;
        };
        if seal.passthrough() {
            // No buffer to bound: take everything that is ready (as the copying path did, whose
            // single unit was unbounded), so one vectored write carries it all.
            session.poll_transmit_parts(now, &mut self.parts, limit.max(framing.max_plaintext));
            return;
        }
        while self.parts.len() < limit {
            let start = self.parts.len();
            session.poll_transmit_parts(now, &mut self.parts, start + framing.max_plaintext);
            let mut taken = self.parts.len() - start;
            if taken == 0 {
                break;
            }
            // Only control frames ignore the limit (a long queue of them): the excess goes into
            // units of its own.
            while taken > framing.max_plaintext {
                self.units.push(framing.max_plaintext);
                taken -= framing.max_plaintext;
            }
            self.units.push(taken);
        }
    }

    /// Whether the batch holds nothing to send.
    pub fn is_empty(&self) -> bool {
        self.wire_len == self.sent && self.plaintext.is_empty() && self.parts.is_empty()
    }

    /// Seals what [`Batch::fill`] took; [`Batch::poll_send`] then writes it.
    pub fn seal<S: Seal>(&mut self, seal: &mut S) -> io::Result<()> {
        if !self.plaintext.is_empty() {
            self.wire.clear();
            seal.seal(&self.plaintext, &mut self.wire)?;
            self.wire_len = self.wire.len();
            self.plaintext.clear();
            return Ok(());
        }
        if self.units.is_empty() {
            return Ok(());
        }
        let framing = seal
            .framing()
            .ok_or_else(|| io::Error::other("units taken for a Seal without framing"))?;
        let overhead = framing.prefix + framing.suffix;
        let total = self.parts.len() + self.units.len() * overhead;
        if self.wire.len() < total {
            self.wire.resize(total, 0);
        }
        // Walk the parts once, cutting them at unit boundaries.
        let mut parts = self.parts.iter();
        let mut current: &[u8] = &[];
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(self.parts.part_count() + 1);
        let mut at = 0;
        for &len in &self.units {
            pieces.clear();
            let mut need = len;
            while need > 0 {
                if current.is_empty() {
                    current = parts.next().expect("units cover exactly the parts");
                }
                let n = need.min(current.len());
                pieces.push(&current[..n]);
                current = &current[n..];
                need -= n;
            }
            seal.seal_pieces(&pieces, &mut self.wire[at..at + overhead + len])?;
            at += overhead + len;
        }
        drop((pieces, parts));
        self.wire_len = total;
        self.units.clear();
        self.parts.clear();
        Ok(())
    }

    /// Writes what is left of the sealed batch to `writer`, keeping track of partial writes;
    /// `Ready(Ok)` once everything is written, and the batch is then empty. Passthrough frames
    /// go out with vectored writes of at most 512 slices (copied into one buffer first
    /// when `writer` has no vectored write).
    pub fn poll_send<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.parts.is_empty() && !writer.is_write_vectored() {
            self.flatten_parts();
        }
        while self.part_at.0 < self.parts.part_count() {
            let mut iov = [io::IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, part) in iov.iter_mut().zip(self.unsent_parts()) {
                *slot = io::IoSlice::new(part);
                count += 1;
            }
            let n = ready!(Pin::new(&mut *writer).poll_write_vectored(cx, &iov[..count]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance_parts(n);
            self.written += n as u64;
        }
        while self.sent < self.wire_len {
            let n = ready!(
                Pin::new(&mut *writer).poll_write(cx, &self.wire[self.sent..self.wire_len])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
            self.written += n as u64;
        }
        self.clear();
        Poll::Ready(Ok(()))
    }

    /// Bytes written to the socket over the batch's life (not reset by [`Batch::clear`]).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Moves the write position `n` bytes on through the parts.
    fn advance_parts(&mut self, mut n: usize) {
        while n > 0 {
            let (index, offset) = self.part_at;
            let left = self.parts.part(index).len() - offset;
            if n < left {
                self.part_at.1 += n;
                return;
            }
            n -= left;
            self.part_at = (index + 1, 0);
        }
    }

    /// The parts not yet written, the first one without its written bytes.
    fn unsent_parts(&self) -> impl Iterator<Item = &[u8]> {
        let (first, offset) = self.part_at;
        (first..self.parts.part_count()).map(move |index| {
            let skip = if index == first { offset } else { 0 };
            &self.parts.part(index)[skip..]
        })
    }

    /// Replaces the unsent parts by a copy in `wire` (for a writer without vectored writes,
    /// where every slice would cost a write call).
    fn flatten_parts(&mut self) {
        let mut wire = std::mem::take(&mut self.wire);
        wire.clear();
        self.unsent_parts()
            .for_each(|part| wire.extend_from_slice(part));
        self.wire = wire;
        self.wire_len = self.wire.len();
        self.sent = 0;
        self.part_at = (0, 0);
        self.parts.clear();
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.wire_len = 0;
        self.sent = 0;
        self.part_at = (0, 0);
        self.plaintext.clear();
        self.parts.clear();
        self.units.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use bytes::Bytes;

    use super::*;
    use crate::yamux::driver::clock::now;
    use crate::yamux::driver::seal::{Framing, Passthrough};
    use crate::yamux::driver::tests::pattern;
    use crate::yamux::frame::HEADER_LEN;
    use crate::yamux::session::{Config, Event, ReadOutcome, Role, Session};

    /// An in-place "cipher" with a small unit: prefix = plaintext length (u16 BE), suffix =
    /// three 0xAA bytes, plaintext XORed with 0x55.
    struct TinyUnits;

    const TINY: Framing = Framing {
        prefix: 2,
        suffix: 3,
        max_plaintext: 100,
    };

    impl Seal for TinyUnits {
        fn seal(&mut self, _: &[u8], _: &mut BytesMut) -> io::Result<()> {
            unreachable!("TinyUnits only seals in place")
        }
        fn framing(&self) -> Option<Framing> {
            Some(TINY)
        }
        fn seal_in_place(&mut self, unit: &mut [u8]) -> io::Result<()> {
            let len = unit.len() - TINY.prefix - TINY.suffix;
            assert!(len <= TINY.max_plaintext);
            unit[..2].copy_from_slice(&(len as u16).to_be_bytes());
            unit[2..2 + len].iter_mut().for_each(|b| *b ^= 0x55);
            unit[2 + len..].fill(0xAA);
            Ok(())
        }
    }

    /// Undoes [`TinyUnits`], checking every unit's framing.
    fn open_tiny(mut wire: &[u8]) -> (BytesMut, usize) {
        let (mut plain, mut units) = (BytesMut::new(), 0);
        while !wire.is_empty() {
            let len = usize::from(u16::from_be_bytes([wire[0], wire[1]]));
            assert!((1..=TINY.max_plaintext).contains(&len));
            plain.extend(wire[2..2 + len].iter().map(|b| b ^ 0x55));
            assert_eq!(&wire[2 + len..5 + len], &[0xAA; 3]);
            wire = &wire[5 + len..];
            units += 1;
        }
        (plain, units)
    }

    /// A writer that takes a few bytes per call, alternating with `Pending` (and waking), so
    /// every write is partial and ends inside a slice; it records how it was called.
    struct Choppy {
        out: Vec<u8>,
        vectored: bool,
        calls: usize,
        max_slices: usize,
        pending: bool,
    }

    impl Choppy {
        fn new(vectored: bool) -> Self {
            Self {
                out: Vec::new(),
                vectored,
                calls: 0,
                max_slices: 0,
                pending: false,
            }
        }

        fn take(
            &mut self,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.pending = !self.pending;
            if self.pending {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.calls += 1;
            self.max_slices = self.max_slices.max(bufs.len());
            // 1, 7, 13, ... 70,003 bytes: small cuts inside headers and large ones across parts.
            let mut budget = [1, 7, 13, 4099, 70_003][self.calls % 5];
            let mut n = 0;
            for buf in bufs {
                let k = buf.len().min(budget);
                self.out.extend_from_slice(&buf[..k]);
                (n, budget) = (n + k, budget - k);
            }
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Choppy {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().take(cx, &[io::IoSlice::new(buf)])
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().take(cx, bufs)
        }
        fn is_write_vectored(&self) -> bool {
            self.vectored
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes the sealed batch with [`Batch::poll_send`] through a [`Choppy`] writer.
    fn send_all(batch: &mut Batch, vectored: bool) -> Vec<u8> {
        send_through(batch, &mut Choppy::new(vectored))
    }

    fn send_through(batch: &mut Batch, writer: &mut Choppy) -> Vec<u8> {
        let mut cx = Context::from_waker(Waker::noop());
        let start = writer.out.len();
        for _ in 0..1_000_000 {
            if let Poll::Ready(result) = batch.poll_send(writer, &mut cx) {
                result.unwrap();
                assert!(batch.is_empty());
                return writer.out[start..].to_vec();
            }
        }
        panic!("poll_send made no progress");
    }

    /// Two sessions in the same state: 20 streams opened (240 bytes of control frames), and
    /// payload in pieces of many sizes queued on three of them.
    fn twin_sessions(now: Instant) -> [Session; 2] {
        [0, 1].map(|_| {
            let mut s = Session::new(Role::Client, Config::default(), now);
            s.handle_timeout(now).unwrap();
            let ids: Vec<u32> = (0..20)
                .map(|_| s.open_stream(now).unwrap().unwrap())
                .collect();
            let data = Bytes::from(pattern(300_000, 9));
            for (i, id) in ids[..3].iter().enumerate() {
                let mut at = 0;
                for len in [1, 100, 1023, 1024, 50_000, 3, 70_000, 12] {
                    let piece = data.slice(at..at + len);
                    assert_eq!(s.write(now, *id, &piece).unwrap(), len);
                    at += len + i;
                }
            }
            // Three more streams with a full window of 1 KiB pieces: over 512 parts in all.
            for id in &ids[3..6] {
                for j in 0..256 {
                    let piece = data.slice(j * 1024..(j + 1) * 1024);
                    assert_eq!(s.write(now, *id, &piece).unwrap(), 1024);
                }
            }
            s
        })
    }

    #[test]
    fn passthrough_batch_writes_the_frames_vectored_across_partial_writes() {
        for vectored in [true, false] {
            let now = now();
            let [mut reference, mut session] = twin_sessions(now);
            let mut batch = Batch::with_capacity(0);
            let mut writer = Choppy::new(vectored);
            let (mut expected, mut sent) = (BytesMut::new(), Vec::new());
            while session.wants_transmit() {
                // A passthrough batch takes everything ready, whatever the limit.
                reference.poll_transmit(now, &mut expected, usize::MAX / 2);
                batch.fill(&mut session, now, &Passthrough, 100_000);
                batch.seal(&mut Passthrough).unwrap();
                sent.extend(send_through(&mut batch, &mut writer));
            }
            assert!(!reference.wants_transmit());
            assert!(sent == expected[..], "vectored {vectored}: bytes differ");
            assert_eq!(session.stats(), reference.stats());
            // Vectored: up to MAX_IOV slices per call. Not vectored: one contiguous copy.
            assert_eq!(writer.max_slices, if vectored { MAX_IOV } else { 1 });
        }
    }

    #[test]
    fn noise_batch_seals_the_same_messages_as_sealing_in_place() {
        use crate::noise::{MAX_PLAINTEXT_LEN, Opener, Sealer};
        let key = [5; 32];
        let now = now();
        let [mut reference, mut session] = twin_sessions(now);
        let (mut reference_seal, mut seal) = (Sealer::new(&key), Sealer::new(&key));
        let mut batch = Batch::with_capacity(0);
        let (mut expected, mut plain, mut wire) = (BytesMut::new(), BytesMut::new(), Vec::new());
        while session.wants_transmit() {
            // What the writer did before: whole frames per message, sealed in place.
            let mut round = BytesMut::new();
            while round.len() < 200_000 {
                let start = round.len();
                reference.poll_transmit(now, &mut round, start + MAX_PLAINTEXT_LEN);
                if round.len() == start {
                    break;
                }
                reference_seal.seal(&round[start..], &mut expected).unwrap();
            }
            plain.extend_from_slice(&round);
            batch.fill(&mut session, now, &seal, 200_000);
            batch.seal(&mut seal).unwrap();
            wire.extend(send_all(&mut batch, true));
        }
        assert!(wire == expected[..], "sealed bytes differ");
        let mut input = BytesMut::from(&wire[..]);
        let mut opened = BytesMut::new();
        Opener::new(&key).open(&mut input, &mut opened).unwrap();
        assert_eq!(opened, plain);
    }

    #[test]
    fn batch_lays_frames_into_units_in_place() {
        let now = now();
        let mut client = Session::new(Role::Client, Config::default(), now);
        let mut server = Session::new(Role::Server, Config::default(), now);
        // 20 stream openings queue 240 bytes of control frames, more than one unit holds.
        let ids: Vec<u32> = (0..20)
            .map(|_| client.open_stream(now).unwrap().unwrap())
            .collect();
        let data = pattern(1000, 3);
        assert_eq!(client.write_slice(now, ids[0], &data).unwrap(), data.len());
        let mut batch = Batch::with_capacity(0);
        let mut seal = TinyUnits;
        let mut received = Vec::new();
        while client.wants_transmit() {
            batch.fill(&mut client, now, &seal, 300);
            batch.seal(&mut seal).unwrap();
            let (mut plain, units) = open_tiny(&send_all(&mut batch, true));
            assert!(units >= 1);
            batch.clear();
            server.handle_input(now, &mut plain).unwrap();
            assert!(plain.is_empty());
        }
        let mut accepted = 0;
        while let Some(event) = server.poll_event() {
            if let Event::InboundStream(id) = event {
                accepted += 1;
                while let ReadOutcome::Data(chunk) = server.read(now, id, usize::MAX).unwrap() {
                    received.extend_from_slice(&chunk);
                }
            }
        }
        assert_eq!(accepted, 20);
        assert_eq!(received, data);
    }

    #[test]
    fn batch_without_framing_seals_a_copy() {
        /// Only `seal`: the default framing is `None`.
        struct CopySeal;
        impl Seal for CopySeal {
            fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()> {
                out.extend_from_slice(&[0xFF]);
                out.extend_from_slice(plaintext);
                Ok(())
            }
        }
        let now = now();
        let mut client = Session::new(Role::Client, Config::default(), now);
        client.open_stream(now).unwrap().unwrap();
        let mut batch = Batch::with_capacity(0);
        batch.fill(&mut client, now, &CopySeal, 1 << 20);
        assert!(!batch.is_empty());
        batch.seal(&mut CopySeal).unwrap();
        let wire = send_all(&mut batch, false);
        assert!(batch.is_empty());
        assert_eq!(wire[0], 0xFF);
        assert_eq!(wire.len(), 1 + HEADER_LEN);
        assert!(CopySeal.seal_in_place(&mut []).is_err());
    }
}
