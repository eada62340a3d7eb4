//! Micro-benchmarks of the hot path, all in memory: the yamux frame codec, Noise seal/open of one
//! full message and of a chunked 1 MiB batch, and a pair of sans-IO sessions moving 64 MiB
//! (plain, and through Noise as the driver's writer and reader do).
//!
//! `cargo bench --bench hot_path` (criterion; `-- <filter>` to pick one).

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use yamux_perf::noise::{MAX_PLAINTEXT_LEN, Opener, Sealer};
use yamux_perf::yamux::driver::{Batch, Identity, Open, Seal};
use yamux_perf::yamux::{Config, Event, Flags, Header, ReadOutcome, Role, Session};

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

/// Moves `total` bytes from a client stream to the server through two sessions, the wire
/// transformed by `seal`/`open` (the driver's batch path). Returns the bytes the server read.
fn pump<S: Seal, O: Open>(total: usize, mut seal: S, mut open: O) -> usize {
    let now = Instant::now();
    let config = Config {
        initial_window: 16 << 20,
        ..Config::default()
    };
    let mut client = Session::new(Role::Client, config.clone(), now);
    let mut server = Session::new(Role::Server, config, now);
    let id = client.open_stream(now).unwrap().unwrap();
    let payload = Bytes::from(vec![5u8; 1 << 20]);
    let (mut written, mut read) = (0, 0);
    let mut batch = Batch::with_capacity(512 << 10);
    let mut inbound = BytesMut::with_capacity(512 << 10);
    let mut plaintext = BytesMut::with_capacity(512 << 10);
    let mut server_stream = None;
    while read < total {
        while written < total {
            let n = client
                .write(
                    now,
                    id,
                    &payload.slice(..(total - written).min(payload.len())),
                )
                .unwrap();
            if n == 0 {
                break;
            }
            written += n;
        }
        let mut transfer = |from: &mut Session, to: &mut Session| {
            while from.wants_transmit() {
                batch.fill(from, now, &seal, 256 << 10);
                inbound.extend_from_slice(batch.seal(&mut seal).unwrap());
                batch.clear();
                while let Some(unit) = open.open_next(&mut inbound).unwrap() {
                    plaintext.extend_from_slice(&unit);
                    to.handle_input(now, &mut plaintext).unwrap();
                }
            }
        };
        transfer(&mut client, &mut server);
        transfer(&mut server, &mut client);
        while let Some(event) = server.poll_event() {
            if let Event::InboundStream(sid) = event {
                server_stream = Some(sid);
            }
        }
        while let Some(event) = client.poll_event() {
            black_box(event);
        }
        if let Some(sid) = server_stream {
            while let ReadOutcome::Data(chunk) = server.read(now, sid, usize::MAX).unwrap() {
                read += chunk.len();
            }
        }
    }
    read
}

fn session(c: &mut Criterion) {
    const TOTAL: usize = 64 << 20;
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    group.bench_function("64MiB/plain", |b| {
        b.iter(|| assert_eq!(pump(TOTAL, Identity, Identity), TOTAL))
    });
    group.bench_function("64MiB/noise", |b| {
        b.iter(|| assert_eq!(pump(TOTAL, Sealer::new(&KEY), Opener::new(&KEY)), TOTAL))
    });
    group.finish();
}

criterion_group!(benches, frame_codec, noise, session);
criterion_main!(benches);
