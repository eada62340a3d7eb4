//! Micro-benchmarks of the hot path, all in memory: the yamux frame codec, Noise seal/open of one
//! full message and of a chunked 1 MiB batch, and the pair of sans-IO sessions of
//! `yamux_perf::testing::pump` moving 64 MiB (plain, and through Noise as the driver's writer and
//! reader do).
//!
//! `cargo bench --bench hot_path` (criterion; `-- <filter>` to pick one).

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use yamux_perf::noise::{MAX_PLAINTEXT_LEN, Opener, Sealer};
use yamux_perf::testing::pump;
use yamux_perf::yamux::driver::Passthrough;
use yamux_perf::yamux::{Flags, Header};

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

fn session(c: &mut Criterion) {
    const TOTAL: u64 = 64 << 20;
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Bytes(TOTAL));
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
