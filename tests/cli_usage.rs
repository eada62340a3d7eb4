//! What a user meets first at the command line: addresses as people type them, output paths
//! checked before the work, the exit codes of docs/exit-codes.md, completions, the man page,
//! `--version`, `--quiet` and `--json-only`. Every test runs the real binary.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;

/// Exit code of a command line that cannot work (clap's, and ours before any work starts).
const EXIT_USAGE: i32 = 2;

fn run(args: &[&str]) -> Output {
    let mut cmd = yamux_perf();
    cmd.args(args).env("NO_COLOR", "1").current_dir(repo_root());
    run_with_timeout(cmd, Duration::from_secs(120))
}

/// Runs `args`, expects exit code `code`, returns stderr.
fn fails_with(args: &[&str], code: i32) -> String {
    let out = run(args);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

/// The port of a printed `/ip4/…/tcp/<port>/…` address.
fn port_of(addr: &str) -> String {
    addr.split('/')
        .nth(4)
        .expect("/ip4/<ip>/tcp/<port>")
        .to_string()
}

#[test]
fn server_and_client_take_host_port_bracketed_v6_and_dns_addresses() {
    // Listening on HOST:PORT prints the resolved multiaddr.
    let server = LoggedServer::start("ours", {
        let mut cmd = yamux_perf();
        cmd.args(["server", "--listen", "localhost:0", "--key-seed", "0"]);
        cmd
    });
    assert!(
        server.addr.starts_with("/ip4/127.0.0.1/tcp/"),
        "{}",
        server.addr
    );
    let port = port_of(&server.addr);
    for addr in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("/dns4/localhost/tcp/{port}"),
        format!("/dns/localhost/tcp/{port}/p2p/{SEED0_ID}"),
    ] {
        our_client_succeeds(&addr, 1 << 20, 1 << 20, &[]);
    }
    // A /p2p/ id after a name is checked like any other.
    let wrong = our_client(
        &format!(
            "/dns4/localhost/tcp/{port}/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
        ),
        1 << 20,
        0,
        &[],
    );
    assert!(!wrong.status.success());
    assert!(
        stderr_of(&wrong).contains("peer id"),
        "{}",
        stderr_of(&wrong)
    );

    // [v6]:port, and a name with /ws.
    let v6 = LoggedServer::start("ours v6", {
        let mut cmd = yamux_perf();
        cmd.args(["server", "--listen", "[::1]:0"]);
        cmd
    });
    assert!(v6.addr.starts_with("/ip6/::1/tcp/"), "{}", v6.addr);
    our_client_succeeds(&format!("[::1]:{}", port_of(&v6.addr)), 1 << 20, 0, &[]);
    let ws = LoggedServer::start("ours ws", {
        let mut cmd = yamux_perf();
        cmd.args(["server", "--listen", "/dns4/localhost/tcp/0/ws"]);
        cmd
    });
    assert!(ws.addr.contains("/ws/p2p/"), "{}", ws.addr);
    let (_, summary) = our_client_succeeds(
        &format!("/dns4/localhost/tcp/{}/ws", port_of(&ws.addr)),
        1 << 20,
        1 << 20,
        &[],
    );
    assert!(summary.contains("Gbit/s"), "{summary}");
}

#[test]
fn the_relay_takes_host_port_on_both_sides() {
    let server = our_server(&["--key-seed", "0"], "info");
    let port = port_of(&server.addr);
    let relay = LoggedServer::start("relay", {
        let mut cmd = yamux_perf();
        cmd.args(["relay", "--listen", "localhost:0"]);
        cmd.args([
            "--to",
            &format!("/dns4/localhost/tcp/{port}/p2p/{SEED0_ID}"),
        ]);
        cmd
    });
    assert!(relay.addr.ends_with(SEED0_ID), "{}", relay.addr);
    assert_ne!(port_of(&relay.addr), port);
    our_client_succeeds(&relay.addr, 1 << 20, 1 << 20, &[]);
}

#[test]
fn an_address_that_is_none_of_the_forms_shows_them_with_an_example() {
    for (args, reason) in [
        (vec!["client", "--server", "localhost"], "no port"),
        (vec!["client", "--server", "::1:4001"], "needs brackets"),
        (vec!["client", "--server", "/ip4/127.0.0.1/udp/1"], "UDP"),
        (vec!["client", "--server", "http://localhost:80"], "URLs"),
        (vec!["server", "--listen", "0.0.0.0"], "no port"),
        (vec!["relay", "--to", "nowhere"], "no port"),
        (
            vec!["relay", "--listen", "4001", "--to", "127.0.0.1:1"],
            "a port alone",
        ),
    ] {
        let stderr = fails_with(&args, EXIT_USAGE);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert!(stderr.contains("accepted:"), "{args:?}: {stderr}");
        assert!(stderr.contains("127.0.0.1:4001"), "an example: {stderr}");
        assert!(stderr.contains("/dns4/"), "the DNS form: {stderr}");
    }
    // A name that does not resolve is a runtime failure, named (`.invalid`: RFC 6761).
    let stderr = fails_with(
        &[
            "client",
            "--server",
            "nothing.invalid:4001",
            "--upload",
            "1MiB",
        ],
        1,
    );
    assert!(stderr.contains("resolving nothing.invalid"), "{stderr}");
}

#[test]
fn an_unwritable_report_fails_before_the_transfer() {
    // 64 GiB would take minutes: a quick exit shows nothing was transferred.
    for flag in ["--report", "--window-trace"] {
        let start = Instant::now();
        let stderr = fails_with(
            &["client", "--upload", "64GiB", flag, "/proc/nope/x.json"],
            EXIT_USAGE,
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{flag}: took {:?}",
            start.elapsed()
        );
        assert!(stderr.contains("/proc/nope/x.json"), "{stderr}");
        assert!(stderr.contains("No such file or directory"), "{stderr}");
    }
    let dir = ScratchDir::new("cli-usage-dir-report");
    let stderr = fails_with(
        &[
            "client",
            "--upload",
            "64GiB",
            "--report",
            dir.0.to_str().unwrap(),
        ],
        EXIT_USAGE,
    );
    assert!(stderr.contains("is a directory"), "{stderr}");
    for args in [
        vec!["sweep", "bench-configs/smoke.toml", "--out", "/proc/nope"],
        vec!["plot", "results/baseline", "--out", "/proc/nope"],
        vec!["report", "results/baseline", "--out", "/proc/nope/r.md"],
        vec!["interop", "--out", "/proc/nope/i.json"],
        vec![
            "compare",
            "results/baseline",
            "results/baseline",
            "--out",
            "/proc/nope/c.json",
        ],
        vec![
            "compare",
            "results/baseline",
            "results/baseline",
            "--format",
            "github-action-benchmark",
            "--out",
            "/proc/nope",
        ],
        vec![
            "icount",
            "--from",
            "target/no-gungraun",
            "--out",
            "/proc/nope/i.json",
        ],
        vec!["dashboard", "results/history", "--out", "/proc/nope"],
        vec!["manpage", "--out-dir", "/proc/nope"],
    ] {
        let stderr = fails_with(&args, EXIT_USAGE);
        assert!(
            stderr.contains("cannot write /proc/nope"),
            "{args:?}: {stderr}"
        );
    }
}

fn tiny_sweep(dir: &Path, name: &str, upload: &str) -> String {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "repetitions = 1\nwarmup = 0\ntimeout = \"60s\"\n[matrix]\nupload = \"{upload}\"\n"
        ),
    )
    .unwrap();
    config.to_str().unwrap().to_string()
}

#[test]
fn a_sweep_refuses_an_out_dir_of_another_config_without_force() {
    let dir = ScratchDir::new("cli-usage-sweep");
    let out = dir.0.join("out");
    let out = out.to_str().unwrap();
    let a = tiny_sweep(&dir.0, "a", "1MiB");
    let b = tiny_sweep(&dir.0, "b", "2MiB");
    let sweep = |config: &str, extra: &[&str]| {
        let mut args = vec!["sweep", config, "--out", out, "--no-progress"];
        args.extend(extra);
        run(&args)
    };
    let first = sweep(&a, &[]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    // The same config again: as before, its case is run again in place.
    let again = sweep(&a, &[]);
    assert!(again.status.success(), "{}", stderr_of(&again));

    // Another config (another case id, another sweep name): refused, naming what is there.
    let refused = sweep(&b, &[]);
    let stderr = stderr_of(&refused);
    assert_eq!(refused.status.code(), Some(EXIT_USAGE), "{stderr}");
    assert!(
        stderr.contains("holds results of another config"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(sweep a)") && stderr.contains("--force"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(Path::new(out).join("summary.json")).unwrap();
    assert!(summary.contains("\"sweep\": \"a\""), "untouched: {summary}");

    let forced = sweep(&b, &["--force"]);
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(out).join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["sweep"], "b");
    assert_eq!(
        summary["cases"].as_array().unwrap().len(),
        1,
        "b's case only"
    );
}

/// The subcommands `--help` lists.
fn subcommands() -> Vec<String> {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    for expected in [
        "server",
        "client",
        "sweep",
        "compare",
        "completions",
        "manpage",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    names
}

#[test]
fn completions_name_every_subcommand() {
    let names = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr_of(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks {name}"
            );
        }
        // Flags of a subcommand are completed too.
        assert!(script.contains("json-only"), "{shell}");
    }
    let bash = String::from_utf8(run(&["completions", "bash"]).stdout).unwrap();
    assert!(
        bash.contains("complete -F _yamux__perf"),
        "registers itself"
    );
    let stderr = fails_with(&["completions", "tcsh"], EXIT_USAGE);
    assert!(stderr.contains("bash"), "{stderr}");
}

/// Roff request names the man page uses (man(7) plus the groff conditionals clap_mangen emits).
const ROFF_REQUESTS: &[&str] = &[
    "TH", "SH", "SS", "TP", "TQ", "PP", "LP", "P", "IP", "HP", "RS", "RE", "B", "I", "BR", "IR",
    "br", "sp", "nf", "fi", "ie", "el", "ds", "EX", "EE", "UR", "UE", "\\\"",
];

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let out = run(&["manpage"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH yamux-perf 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS", ".SH VERSION"] {
        assert!(page.contains(section), "{section}");
    }
    for line in page
        .lines()
        .filter(|l| l.starts_with('.') || l.starts_with('\''))
    {
        let request = line[1..].split_whitespace().next().unwrap_or("");
        assert!(
            ROFF_REQUESTS.contains(&request),
            "unknown roff request: {line}"
        );
    }
    for name in subcommands() {
        assert!(
            page.contains(&format!("yamux\\-perf\\-{}(1)", name.replace('-', "\\-"))),
            "the page names {name}"
        );
    }
    // groff itself (groff-base, installed by .ci/run; -k: UTF-8 input, as man reads it) reads
    // it without a warning.
    let groff = std::process::Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    match groff {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(page.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            assert_eq!(stderr_of(&out), "", "groff warnings");
        }
        Err(e) => eprintln!("SKIPPED the groff check: groff not found ({e})"),
    }
    // One page per subcommand into a directory.
    let dir = ScratchDir::new("cli-usage-man");
    let out = run(&["manpage", "--out-dir", dir.0.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    for name in subcommands() {
        let page = std::fs::read_to_string(dir.0.join(format!("yamux-perf-{name}.1"))).unwrap();
        assert!(page.contains(".TH yamux-perf-"), "{name}");
    }
}

#[test]
fn version_names_the_git_revision() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.starts_with(&format!("yamux-perf {} (git ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        // Built from this checkout: its revision, with or without -dirty.
        Some(head) => assert!(
            version.contains(&format!("(git {head})"))
                || version.contains(&format!("(git {head}-dirty)")),
            "{version} vs HEAD {head}"
        ),
        None => assert!(version.contains("git revision unknown"), "{version}"),
    }
}

#[test]
fn json_only_prints_one_json_document_and_quiet_prints_nothing_on_stderr() {
    let client = |extra: &[&str]| {
        let mut cmd = yamux_perf();
        cmd.env_remove("RUST_LOG");
        cmd.args(["client", "--interval", "0.01"]);
        cmd.args(extra);
        run_with_timeout(cmd, Duration::from_secs(120))
    };
    const SIZES: [&str; 4] = ["--upload", "4MiB", "--download", "4MiB"];
    let out = client(&[&SIZES[..], &["--json-only"]].concat());
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "nothing on stderr");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document: {e}"));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["total"]["upload"]["bytes"], 4 << 20, "{report}");
    assert!(report["total_seconds"].as_f64().unwrap() > 0.0);

    let out = client(&["--quiet", "--latency", "5"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "no percentiles on stderr");
    let out = client(&[&SIZES[..], &["-q"]].concat());
    assert!(out.status.success());
    assert_eq!(stderr_of(&out), "", "no summary on stderr");
    assert_final(&out.stdout, 4 << 20, 4 << 20);

    // The sweep: stdout is the summary, stderr empty.
    let dir = ScratchDir::new("cli-usage-json-sweep");
    let config = tiny_sweep(&dir.0, "quiet", "1MiB");
    let out_dir = dir.0.join("out");
    let mut cmd = yamux_perf();
    cmd.env_remove("RUST_LOG");
    cmd.args([
        "sweep",
        &config,
        "--json-only",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["sweep"], "quiet");
    assert_eq!(summary["cases"][0]["ok"], 1);

    // interop: stdout is the JSON file's content; no "not built" notes, progress or "wrote".
    let interop = |extra: &[&str]| {
        let mut cmd = yamux_perf();
        cmd.env_remove("RUST_LOG");
        cmd.args(["interop", "--size", "1MiB", "--peers-dir"]);
        cmd.arg(dir.0.join("no-peers")).arg("--out");
        cmd.arg(dir.0.join("interop.json")).args(extra);
        run_with_timeout(cmd, Duration::from_secs(120))
    };
    let out = interop(&["--json-only"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
    let file: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        out.stdout,
        std::fs::read(dir.0.join("interop.json")).unwrap(),
        "the file's content"
    );
    assert_eq!(
        file["table"].as_array().unwrap().len(),
        2,
        "ours -> ours both ways"
    );
    assert!(!file["missing_peers"].as_array().unwrap().is_empty());
    let out = interop(&["--quiet"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ours -> ours"),
        "the table stays on stdout"
    );
    // Without them, stderr has the notes.
    let out = interop(&[]);
    assert!(stderr_of(&out).contains("not built"), "{}", stderr_of(&out));
}

#[test]
fn the_exit_code_table_covers_every_subcommand() {
    let doc = std::fs::read_to_string(repo_root().join("docs/exit-codes.md")).unwrap();
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
    for name in subcommands() {
        assert!(
            rows.iter()
                .any(|r| r.split('|').nth(1).unwrap().contains(&format!("`{name}`"))),
            "docs/exit-codes.md has no row for {name}"
        );
    }
    // Spot checks of the table against the binary (the other rows: the tests above,
    // tests/compare.rs and tests/sweep.rs).
    fails_with(&["client", "--streams", "0"], EXIT_USAGE);
    fails_with(&["client", "--no-such-flag"], EXIT_USAGE);
    fails_with(
        &[
            "server",
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/0/p2p/{SEED0_ID}"),
        ],
        EXIT_USAGE,
    );
    fails_with(&["sweep", "no-such-config.toml"], EXIT_USAGE);
    fails_with(&["interop", "--repetitions", "0"], EXIT_USAGE);
    fails_with(
        &[
            "icount",
            "--from",
            "no-such-dir",
            "--out",
            "target/icount.json",
        ],
        EXIT_USAGE,
    );
    // keygen's work is writing the file: a path it cannot write fails that work.
    fails_with(&["keygen", "/proc/nope/k"], 1);
    let mut unified = yamux_perf();
    unified.env_clear().arg("unified");
    let out = run_with_timeout(unified, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("IS_DIALER"), "{}", stderr_of(&out));
    fails_with(&["plot", "no-such-results"], EXIT_USAGE);
    fails_with(&["report", "no-such-results"], EXIT_USAGE);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    fails_with(
        &[
            "client",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--upload",
            "1MiB",
        ],
        1,
    );
}

#[test]
fn quiet_server_and_relay_print_their_address_and_log_nothing() {
    let start = |name: &str, args: &[&str]| {
        let mut cmd = yamux_perf();
        cmd.env_remove("RUST_LOG").args(args);
        LoggedServer::start(name, cmd)
    };
    let listen = ["server", "--listen", "127.0.0.1:0", "--key-seed", "0"];
    let loud = start("loud", &listen);
    let quiet = start("quiet", &[&listen[..], &["--quiet"]].concat());
    let relay = |server: &LoggedServer, extra: &[&str]| {
        start(
            "relay",
            &[&["relay", "--to", server.addr.as_str()], extra].concat(),
        )
    };
    let loud_relay = relay(&loud, &[]);
    let quiet_relay = relay(&quiet, &["-q"]);
    for relay in [&loud_relay, &quiet_relay] {
        assert!(relay.addr.ends_with(SEED0_ID), "{}", relay.addr);
        our_client_succeeds(&relay.addr, 1 << 20, 1 << 20, &[]);
    }
    // Without --quiet both log at info; once those lines are in, the quiet ones had their time.
    loud.wait_for_line("listening on", Duration::from_secs(10));
    loud_relay.wait_for_line("relaying", Duration::from_secs(10));
    assert_eq!(quiet.text(), "", "the quiet server's stderr");
    assert_eq!(quiet_relay.text(), "", "the quiet relay's stderr");
}
