//! The TLS 1.3 record layer (`yamux_perf::tls::record`) with each crypto provider's AEAD: ring
//! and aws-lc-rs, the two rustls ships. Seals 64 MiB in 16 KiB records in place, then opens
//! them, for each suite; five interleaved runs, medians printed in GB/s.
//!
//! `cargo bench --bench tls_record`

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use yamux_perf::tls::record::{
    AeadAlgorithm, HEADER_LEN, MAX_PLAINTEXT_LEN, Opener, RecordAead, SUFFIX_LEN, Sealer,
};
use yamux_perf::tls::{AwsLcAead, RingAead};

const TOTAL: usize = 64 << 20;
const RUNS: usize = 5;
const IV: [u8; 12] = [1; 12];

/// Seconds to seal and to open `TOTAL` bytes in full records with `A`.
fn run<A: RecordAead>(algorithm: AeadAlgorithm, key: &[u8]) -> (f64, f64) {
    let records = TOTAL / MAX_PLAINTEXT_LEN;
    let unit = HEADER_LEN + MAX_PLAINTEXT_LEN + SUFFIX_LEN;
    let mut wire = vec![7u8; records * unit];
    let mut sealer = Sealer::<A>::new(algorithm, key, &IV, 0, u64::MAX).unwrap();
    let start = Instant::now();
    for record in wire.chunks_mut(unit) {
        sealer.seal_in_place(record).unwrap();
    }
    let seal = start.elapsed().as_secs_f64();
    let mut opener = Opener::<A>::new(algorithm, key, &IV, 0, u64::MAX).unwrap();
    let mut input = BytesMut::from(&wire[..]);
    let start = Instant::now();
    let mut opened = 0;
    while let Some(data) = opener.open_next(&mut input).unwrap() {
        opened += black_box(data).len();
    }
    let open = start.elapsed().as_secs_f64();
    assert_eq!(opened, TOTAL);
    (seal, open)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let gbps = |secs: f64| TOTAL as f64 / secs / 1e9;
    for (name, algorithm, key) in [
        ("AES-128-GCM", AeadAlgorithm::Aes128Gcm, &[3u8; 16][..]),
        ("AES-256-GCM", AeadAlgorithm::Aes256Gcm, &[3u8; 32][..]),
        (
            "ChaCha20-Poly1305",
            AeadAlgorithm::Chacha20Poly1305,
            &[3u8; 32][..],
        ),
    ] {
        let (mut ring, mut aws) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for _ in 0..RUNS {
            let (s, o) = run::<RingAead>(algorithm, key);
            ring.0.push(gbps(s));
            ring.1.push(gbps(o));
            let (s, o) = run::<AwsLcAead>(algorithm, key);
            aws.0.push(gbps(s));
            aws.1.push(gbps(o));
        }
        println!(
            "{name:<18} ring      seal {:.2} GB/s  open {:.2} GB/s",
            median(ring.0),
            median(ring.1)
        );
        println!(
            "{name:<18} aws-lc-rs seal {:.2} GB/s  open {:.2} GB/s",
            median(aws.0),
            median(aws.1)
        );
    }
}
