//! ChaCha20-Poly1305 backends side by side at the Noise message size (65519 plaintext bytes) and
//! at the size of a ping's message (44 bytes: a 12-byte yamux header and 32 bytes): ring,
//! aws-lc-rs, RustCrypto `chacha20poly1305` and OpenSSL (the libcrypto the `openssl` crate
//! links: built from source by its `vendored` feature). Each seals (or opens) one message per
//! iteration with a fresh nonce. The large size is about throughput; the small one shows the
//! fixed cost per message, which is what a round trip pays.
//!
//! `cargo bench --bench aead`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Plaintext sizes measured: a ping's message, three sizes between (16 KiB is a TLS record), a
/// full Noise message.
const SIZES: [usize; 5] = [44, 1024, 8192, 16384, 65519];
const KEY: [u8; 32] = [7; 32];

fn nonce(counter: u64) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_le_bytes());
    bytes
}

/// ring and aws-lc-rs share one API (`aead::LessSafeKey`), so one body benches both.
macro_rules! bench_ring_api {
    ($fn_name:ident, $krate:ident, $label:literal) => {
        fn $fn_name(c: &mut Criterion) {
            use $krate::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
            let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &KEY).unwrap());
            let mut group = c.benchmark_group("aead");
            #[allow(non_snake_case)]
            for MESSAGE in SIZES {
                group.throughput(Throughput::Bytes(MESSAGE as u64));
                let mut buf = vec![1u8; MESSAGE];
                let mut n = 0u64;
                group.bench_function(format!("{}/seal/{MESSAGE}", $label), |b| {
                    b.iter(|| {
                        n += 1;
                        let tag = key
                            .seal_in_place_separate_tag(
                                Nonce::assume_unique_for_key(nonce(n)),
                                Aad::empty(),
                                &mut buf,
                            )
                            .unwrap();
                        black_box(tag.as_ref()[0]);
                    })
                });
                let mut sealed = vec![1u8; MESSAGE];
                key.seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(nonce(0)),
                    Aad::empty(),
                    &mut sealed,
                )
                .unwrap();
                let mut work = sealed.clone();
                group.bench_function(format!("{}/open/{MESSAGE}", $label), |b| {
                    b.iter(|| {
                        work.copy_from_slice(&sealed);
                        let plain = key
                            .open_in_place(
                                Nonce::assume_unique_for_key(nonce(0)),
                                Aad::empty(),
                                &mut work,
                            )
                            .unwrap();
                        black_box(plain.len());
                    })
                });
            }
            group.finish();
        }
    };
}

bench_ring_api!(bench_ring, ring, "ring");
bench_ring_api!(bench_aws_lc, aws_lc_rs, "aws-lc-rs");

fn bench_rustcrypto(c: &mut Criterion) {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Nonce};
    let cipher = ChaCha20Poly1305::new((&KEY).into());
    let mut group = c.benchmark_group("aead");
    #[allow(non_snake_case)]
    for MESSAGE in SIZES {
        group.throughput(Throughput::Bytes(MESSAGE as u64));
        let mut buf = vec![1u8; MESSAGE];
        let mut n = 0u64;
        group.bench_function(format!("rustcrypto/seal/{MESSAGE}"), |b| {
            b.iter(|| {
                n += 1;
                let tag = cipher
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce(n)), &[], &mut buf)
                    .unwrap();
                black_box(tag[0]);
            })
        });
        let mut sealed = vec![1u8; MESSAGE];
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce(0)), &[], &mut sealed)
            .unwrap();
        let mut work = sealed.clone();
        group.bench_function(format!("rustcrypto/open/{MESSAGE}"), |b| {
            b.iter(|| {
                work.copy_from_slice(&sealed);
                cipher
                    .decrypt_in_place_detached(Nonce::from_slice(&nonce(0)), &[], &mut work, &tag)
                    .unwrap();
                black_box(work.len());
            })
        });
    }
    group.finish();
}

fn bench_openssl(c: &mut Criterion) {
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;
    let mut group = c.benchmark_group("aead");
    #[allow(non_snake_case)]
    for MESSAGE in SIZES {
        group.throughput(Throughput::Bytes(MESSAGE as u64));
        let input = vec![1u8; MESSAGE];
        let mut out = vec![0u8; MESSAGE + 16];
        let mut ctx = CipherCtx::new().unwrap();
        ctx.encrypt_init(Some(Cipher::chacha20_poly1305()), Some(&KEY), None)
            .unwrap();
        let mut n = 0u64;
        let mut tag = [0u8; 16];
        group.bench_function(format!("openssl/seal/{MESSAGE}"), |b| {
            b.iter(|| {
                n += 1;
                ctx.encrypt_init(None, None, Some(&nonce(n))).unwrap();
                let written = ctx.cipher_update(&input, Some(&mut out)).unwrap();
                ctx.cipher_final(&mut out[written..]).unwrap();
                ctx.tag(&mut tag).unwrap();
                black_box(&tag);
            })
        });
        ctx.encrypt_init(None, None, Some(&nonce(0))).unwrap();
        let mut sealed = vec![0u8; MESSAGE];
        let written = ctx.cipher_update(&input, Some(&mut sealed)).unwrap();
        ctx.cipher_final(&mut sealed[written..]).unwrap();
        ctx.tag(&mut tag).unwrap();
        let mut open = CipherCtx::new().unwrap();
        open.decrypt_init(Some(Cipher::chacha20_poly1305()), Some(&KEY), None)
            .unwrap();
        let mut plain = vec![0u8; MESSAGE + 16];
        group.bench_function(format!("openssl/open/{MESSAGE}"), |b| {
            b.iter(|| {
                open.decrypt_init(None, None, Some(&nonce(0))).unwrap();
                open.set_tag(&tag).unwrap();
                let written = open.cipher_update(&sealed, Some(&mut plain)).unwrap();
                // cipher_final checks the tag: a wrong one is an error, so this opens for real.
                open.cipher_final(&mut plain[written..]).unwrap();
                black_box(plain[0]);
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_ring,
    bench_aws_lc,
    bench_rustcrypto,
    bench_openssl
);
criterion_main!(benches);
