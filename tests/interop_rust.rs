//! Interop with a real rust-libp2p perf peer (crates.io libp2p 0.53 + libp2p-perf 0.3), built by
//! interop/build.sh: our client against its server, and its client against our server, 64 MiB
//! each way over TCP + Noise + yamux; then every transport and secure channel it speaks (TCP or
//! WebSocket, Noise, TLS or plaintext), both ways, 2 MiB each way.

mod common;

use common::*;

const PEER: &str = "target/interop/rust/release/rust-libp2p-perf";
const BUILD: &str = "interop/build.sh rust";
const SIZE: u64 = 64 << 20;

#[test]
fn ours_client_to_rust_libp2p_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = peer_server("rust", &peer, &[]);
    assert!(
        server.addr.contains("/p2p/"),
        "rust peer prints its full address: {}",
        server.addr
    );
    our_client_succeeds(&server.addr, SIZE, SIZE, &[]);
}

#[test]
fn rust_libp2p_client_to_ours_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let server = our_server(&[], "info");
    peer_client_succeeds("rust", &peer, &server.addr, SIZE, SIZE);
}

/// Every transport and secure channel the rust peer speaks (libp2p-tcp or libp2p-websocket,
/// with libp2p-noise, libp2p-tls or libp2p-plaintext), in both roles, 2 MiB each way.
#[test]
fn every_stack_both_ways_with_rust() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let served = ServedLine {
        needle: "perf stream served:",
        counts: |line| (field_u64(line, "received"), field_u64(line, "sent")),
    };
    let stacks = both_ways_over_every_stack("rust", &peer, 2 << 20, &served);
    assert_eq!(stacks.len(), 6, "rust speaks tcp/ws x noise/tls/plaintext");
}
