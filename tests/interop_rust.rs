//! Interop with a real rust-libp2p perf peer (crates.io libp2p 0.53 + libp2p-perf 0.3, TCP +
//! Noise + yamux), built by interop/build.sh: our client against its server, and its client
//! against our server, 64 MiB each way.

mod common;

use std::time::Duration;

use common::*;

const PEER: &str = "target/interop/rust/release/rust-libp2p-perf";
const BUILD: &str = "interop/build.sh rust";
const SIZE: u64 = 64 << 20;

#[test]
fn ours_client_to_rust_libp2p_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let mut server = std::process::Command::new(peer);
    server.args(["--run-server", "--server-address", "127.0.0.1:0"]);
    let (_server, addr) = start_server(server);
    assert!(
        addr.contains("/p2p/"),
        "rust peer prints its full address: {addr}"
    );
    assert_our_client_succeeds(&addr, 64 << 20);
}

#[test]
fn rust_libp2p_client_to_ours_server() {
    let Some(peer) = interop_peer(PEER, BUILD) else {
        return;
    };
    let mut server = yamux_perf();
    server.args(["server", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    let (_server, addr) = start_server(server);
    let mut client = std::process::Command::new(peer);
    client.args([
        "--server-address",
        &addr,
        "--upload-bytes",
        &SIZE.to_string(),
        "--download-bytes",
        &SIZE.to_string(),
    ]);
    client.args(["--timeout", "150"]);
    let out = run_with_timeout(client, Duration::from_secs(180));
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_final(&out.stdout, SIZE, SIZE);
}
