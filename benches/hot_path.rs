//! Micro-benchmarks of the hot path, all in memory: the yamux frame codec, Noise seal/open of one
//! full message and of a chunked 1 MiB batch, and the pair of sans-IO sessions of
//! `yamux_perf::testing::Pair` moving 64 MiB (plain, and through Noise as the driver's writer and
//! reader do).
//!
//! `cargo bench --bench hot_path` (criterion; `-- <filter>` to pick one).

use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use yamux_perf::noise::{MAX_PLAINTEXT_LEN, Opener, Sealer};
use yamux_perf::testing::Pair;
use yamux_perf::yamux::driver::{Batch, Open, Passthrough, Seal};
use yamux_perf::yamux::{Config, Flags, Header, Role, Session};

/// The socket of the in-memory pump: appends what is written (vectored writes included) to a
/// buffer, as the kernel copies it into the socket buffer.
struct MemoryWriter<'a>(&'a mut BytesMut);

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

const KEY: [u8; 32] = [9; 32];

fn frame_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Elements(1));
    let header = Header::data(7, Flags::NONE, 65_000);
    let mut buf = BytesMut::with_capacity(64);
    group.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&header).encode_into(&mut buf);
            black_box(&buf);
        })
    });
    let raw = header.encode();
    group.bench_function("decode", |b| {
        b.iter(|| black_box(Header::decode(black_box(&raw)).unwrap()))
    });
    group.finish();
}

fn noise(c: &mut Criterion) {
    let mut group = c.benchmark_group("noise");
    for (name, len) in [("64KiB", MAX_PLAINTEXT_LEN), ("1MiB-chunked", 1 << 20)] {
        let plaintext = vec![3u8; len];
        group.throughput(Throughput::Bytes(len as u64));
        let mut sealer = Sealer::new(&KEY);
        let mut wire = BytesMut::with_capacity(2 * len);
        group.bench_function(format!("seal/{name}"), |b| {
            b.iter(|| {
                wire.clear();
                sealer.seal(&plaintext, &mut wire).unwrap();
                black_box(&wire);
            })
        });
        // The writer's path: a yamux header and payload pieces sealed from where they lie into
        // the wire buffer, one message (at most MAX_PLAINTEXT_LEN) at a time.
        let header = [1u8; 12];
        let mut message = vec![0u8; 2 + MAX_PLAINTEXT_LEN + 16];
        group.bench_function(format!("seal-pieces/{name}"), |b| {
            b.iter(|| {
                for chunk in plaintext.chunks(MAX_PLAINTEXT_LEN - header.len()) {
                    let len = 2 + header.len() + chunk.len() + 16;
                    sealer
                        .seal_pieces(&[&header, chunk], &mut message[..len])
                        .unwrap();
                }
                black_box(&message);
            })
        });
        // Open needs the nonces in order: seal a long run once, replay it with fresh openers.
        let mut sealer = Sealer::new(&KEY);
        let mut sealed = BytesMut::new();
        sealer.seal(&plaintext, &mut sealed).unwrap();
        let mut input = BytesMut::with_capacity(2 * len);
        let mut out = BytesMut::with_capacity(2 * len);
        group.bench_function(format!("open/{name}"), |b| {
            b.iter(|| {
                let mut opener = Opener::new(&KEY);
                input.clear();
                input.extend_from_slice(&sealed);
                out.clear();
                opener.open(&mut input, &mut out).unwrap();
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// Moves `total` bytes from a client stream to the server through the two sessions of a
/// [`Pair`] (its applications write and read the payload), the wire transformed by `seal`/`open`
/// (the driver's batch path) instead of the pair's simulated link. Returns the bytes the server
/// read.
fn pump<S: Seal, O: Open>(total: usize, mut seal: S, mut open: O) -> usize {
    let config = Config {
        initial_window: 16 << 20,
        ..Config::default()
    };
    let mut pair = Pair::new(config.clone(), config);
    for side in [&mut pair.client, &mut pair.server] {
        side.keep_data = false;
        side.verify_pattern = false;
    }
    let now = pair.now;
    let id = pair.open(Role::Client);
    pair.write(Role::Client, id, total as u64);
    let mut batch = Batch::with_capacity(512 << 10);
    let mut inbound = BytesMut::with_capacity(512 << 10);
    let mut plaintext = BytesMut::with_capacity(512 << 10);
    while pair.server.stream(id).read < total as u64 {
        let mut transfer = |from: &mut Session, to: &mut Session| {
            while from.wants_transmit() {
                batch.fill(from, now, &seal, 256 << 10);
                batch.seal(&mut seal).unwrap();
                let mut cx = Context::from_waker(Waker::noop());
                let sent = batch.poll_send(&mut MemoryWriter(&mut inbound), &mut cx);
                assert!(matches!(sent, Poll::Ready(Ok(()))));
                while let Some(unit) = open.open_next(&mut inbound).unwrap() {
                    plaintext.extend_from_slice(&unit);
                    to.handle_input(now, &mut plaintext).unwrap();
                }
            }
        };
        transfer(&mut pair.client.session, &mut pair.server.session);
        transfer(&mut pair.server.session, &mut pair.client.session);
        pair.run_apps();
    }
    pair.server.stream(id).read as usize
}

fn session(c: &mut Criterion) {
    const TOTAL: usize = 64 << 20;
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    group.bench_function("64MiB/plain", |b| {
        b.iter(|| assert_eq!(pump(TOTAL, Passthrough, Passthrough), TOTAL))
    });
    group.bench_function("64MiB/noise", |b| {
        b.iter(|| assert_eq!(pump(TOTAL, Sealer::new(&KEY), Opener::new(&KEY)), TOTAL))
    });
    group.finish();
}

criterion_group!(benches, frame_codec, noise, session);
criterion_main!(benches);
