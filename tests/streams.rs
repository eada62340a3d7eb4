//! Many streams on one connection: our server's limit of inbound streams (`--max-streams`,
//! default 1000 as go-yamux's) and a client whose streams are refused saying why.

mod common;

use common::*;

#[test]
fn streams_beyond_the_limit_are_refused_and_the_client_says_why() {
    let server = our_server(&["--max-streams", "4"], "info");
    let out = our_client(&server.addr, 0, 4 << 20, &["--streams", "6"]);
    let stderr = stderr_of(&out);
    assert!(
        !out.status.success(),
        "6 streams against a limit of 4: {stderr}"
    );
    assert!(
        stderr.contains("stream refused by peer (reset before it was accepted"),
        "{stderr}"
    );
    assert!(stderr.contains("--max-streams"), "{stderr}");
    // Within the limit the same server serves them all (the final line has the totals).
    let mut client = our_client_command(&server.addr, 0, 4 << 20, &["--streams", "4"]);
    client.args(["--timeout", "60"]);
    let out = run_with_timeout(client, std::time::Duration::from_secs(90));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_final(&out.stdout, 0, 4 * (4 << 20));
}

#[test]
fn max_streams_raises_the_default_limit_of_1000() {
    // 1 MiB each, four initial windows: no stream can finish before the server has heard
    // from the client again, so all 1010 are open at once (about 1 GiB in total).
    const EACH: u64 = 1 << 20;
    let default = our_server(&[], "info");
    let out = our_client(&default.addr, 0, EACH, &["--streams", "1010"]);
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("stream refused by peer"), "{stderr}");
    let raised = our_server(&["--max-streams", "1100"], "info");
    let out = our_client(&raised.addr, 0, EACH, &["--streams", "1010"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_final(&out.stdout, 0, 1010 * EACH);
}

#[test]
fn max_streams_zero_is_refused() {
    let mut server = yamux_perf();
    server.args([
        "server",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--max-streams",
        "0",
    ]);
    let out = run_with_timeout(server, std::time::Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("--max-streams must be at least 1"));
}
