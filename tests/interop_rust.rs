//! Interop with a real rust-libp2p perf peer (crates.io libp2p 0.53 + libp2p-perf 0.3, TCP +
//! Noise + yamux), built by interop/build.sh: our client against its server, and its client
//! against our server, 64 MiB each way.

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
