//! Instruction counts of fixed in-memory workloads under Valgrind (callgrind), with gungraun:
//! the workloads of `yamux_perf::icount::WORKLOADS` (their units are defined there), each one
//! thread, fixed keys and seeds, no sockets and no clock, so a count repeats to the instruction.
//!
//! Needs `valgrind` and `gungraun-runner` of the same version as the `gungraun` dev-dependency
//! (`cargo install gungraun-runner --version 0.20.0`):
//!
//! `cargo bench --bench icount -- --save-summary=json`, then
//! `yamux-perf icount --from target/gungraun --out icount.json` (docs/icount.md).

use std::hint::black_box;

use bytes::BytesMut;
use gungraun::{library_benchmark, library_benchmark_group, main};
use libp2p_identity::Keypair;
use yamux_perf::icount::{SESSION_BYTES, workload};
use yamux_perf::identity::keypair_from_seed;
use yamux_perf::multistream::{self, EchoCheck};
use yamux_perf::noise::handshake::Handshake;
use yamux_perf::noise::{Opener, Sealer};
use yamux_perf::testing::{Pump, pump};
use yamux_perf::tls::record::AeadAlgorithm;
use yamux_perf::tls::stage as tls;
use yamux_perf::yamux::driver::Passthrough;
use yamux_perf::yamux::{Config, Flags, Header, Role};

const NOISE_KEY: [u8; 32] = [9; 32];
const TLS_KEY: [u8; 16] = [3; 16];
const TLS_IV: [u8; 12] = [1; 12];

/// How many units `id` does (the table is the one definition).
fn units(id: &str) -> u64 {
    workload(id)
        .expect("a workload of yamux_perf::icount")
        .units
}

#[library_benchmark]
fn frame_codec() -> u64 {
    let mut buf = BytesMut::with_capacity(64);
    let mut sum = 0u64;
    for i in 0..units("frame_codec") as u32 {
        buf.clear();
        black_box(Header::data(i | 1, Flags::NONE, i & 0xffff)).encode_into(&mut buf);
        let raw: &[u8; 12] = black_box(&buf[..]).try_into().expect("12 bytes");
        sum += u64::from(Header::decode(raw).expect("a valid header").length);
    }
    sum
}

#[library_benchmark]
fn session_plain() -> u64 {
    assert_eq!(units("session_plain"), SESSION_BYTES);
    pump(SESSION_BYTES, Passthrough, Passthrough)
}

#[library_benchmark]
fn session_noise() -> u64 {
    assert_eq!(units("session_noise"), SESSION_BYTES);
    pump(
        SESSION_BYTES,
        Sealer::new(&NOISE_KEY),
        Opener::new(&NOISE_KEY),
    )
}

#[library_benchmark]
fn session_tls() -> u64 {
    assert_eq!(units("session_tls"), SESSION_BYTES);
    let alg = AeadAlgorithm::Aes128Gcm;
    let sealer = tls::Sealer::new(alg, &TLS_KEY, &TLS_IV, 0, u64::MAX).expect("a sealer");
    let opener = tls::Opener::new(alg, &TLS_KEY, &TLS_IV, 0, u64::MAX).expect("an opener");
    pump(SESSION_BYTES, sealer, opener)
}

// Each stream: the client opens it and closes its write half at once (SYN|FIN), the server
// sees it, closes its half (ACK|FIN) and drops its handle, the client drops its handle; one
// stream at a time, so the session's tables stay small.
#[library_benchmark]
fn streams_open_close() -> u64 {
    let mut pump = Pump::new(Config::default(), Passthrough, Passthrough);
    let mut done = 0;
    for _ in 0..units("streams_open_close") {
        let id = pump.pair.open(Role::Client);
        pump.pair.write_and_close(Role::Client, id, 0);
        pump.settle();
        assert_eq!(pump.pair.server.inbound.pop(), Some(id));
        pump.pair.write_and_close(Role::Server, id, 0);
        pump.pair.detach(Role::Server, id);
        pump.settle();
        assert!(pump.pair.client.stream(id).eof, "stream {id} not closed");
        pump.pair.detach(Role::Client, id);
        pump.settle();
        for side in [&mut pump.pair.client, &mut pump.pair.server] {
            side.streams.remove(&id);
            side.events.clear();
        }
        done += 1;
    }
    done
}

// A dialer proposes `/noise`, the listener reads the header and the proposal and echoes both,
// the dialer checks the echo: the sans-IO parts of one negotiation.
#[library_benchmark]
fn multistream_select() -> usize {
    let protocol = "/noise";
    let mut agreed = 0;
    let mut wire = BytesMut::with_capacity(64);
    for _ in 0..units("multistream_select") {
        wire.clear();
        multistream::encode_proposal(black_box(protocol), &mut wire);
        let header = multistream::decode_message(&mut wire).expect("valid");
        let proposal = multistream::decode_message(&mut wire).expect("valid");
        assert_eq!(header.as_deref(), Some(multistream::HEADER));
        let proposal = proposal.expect("a proposal");
        multistream::encode_message(multistream::HEADER, &mut wire);
        multistream::encode_message(&proposal, &mut wire);
        let mut check = EchoCheck::new(protocol);
        agreed += usize::from(check.consume(&mut wire).expect("the echo"));
    }
    agreed
}

/// Fixed identity keys (made outside the count).
fn identities() -> (Keypair, Keypair) {
    (keypair_from_seed(1), keypair_from_seed(2))
}

// Both sides of an XX handshake with fixed X25519 keys, the muxer list in the payloads, until
// both have the transport ciphers.
#[library_benchmark]
#[bench::fixed_keys(identities())]
fn noise_handshake((client, server): (Keypair, Keypair)) -> usize {
    let muxers = ["/yamux/1.0.0"];
    let mut finished = 0;
    for i in 0..units("noise_handshake") as u8 {
        let mut dialer =
            Handshake::initiator_with_keys(&client, None, &muxers, &[i; 32], &[i ^ 0x55; 32])
                .expect("initiator");
        let mut listener =
            Handshake::responder_with_keys(&server, &muxers, &[i ^ 0xaa; 32], &[i ^ 0xff; 32])
                .expect("responder");
        let mut wire = BytesMut::with_capacity(1024);
        while !(dialer.is_finished() && listener.is_finished()) {
            let (from, to) = if dialer.is_my_turn() {
                (&mut dialer, &mut listener)
            } else {
                (&mut listener, &mut dialer)
            };
            from.write_message(&mut wire).expect("write");
            assert!(to.read_message(&mut wire).expect("read"));
        }
        let a = dialer.into_established().expect("dialer established");
        let b = listener.into_established().expect("listener established");
        assert_eq!(a.muxer, b.muxer);
        finished += 2;
    }
    finished
}

library_benchmark_group!(
    name = data_path;
    benchmarks = frame_codec, session_plain, session_noise, session_tls
);

library_benchmark_group!(
    name = control;
    benchmarks = streams_open_close, multistream_select, noise_handshake
);

main!(library_benchmark_groups = data_path, control);
