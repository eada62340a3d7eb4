//! `yamux-perf interop`: the interop matrix as a table and a JSON file.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use yamux_perf::interop::{self, Direction, InteropFile, Layers, Peer, Row, Run};
use yamux_perf::results::Hosts;
use yamux_perf::security::Security;
use yamux_perf::sweep::host;
use yamux_perf::transport::TransportKind;
use yamux_perf::units::{ByteSize, UtcTime};

use super::common::{OutputOpt, check_output_dir, check_output_files, seconds, usage};

#[derive(Debug, Args)]
pub(crate) struct InteropOpt {
    /// Bytes per run; each pair runs an upload and a download of this size.
    #[arg(long, default_value = "256MiB")]
    size: ByteSize,
    /// Runs per pair and direction; the table shows medians.
    #[arg(long, default_value_t = 1)]
    repetitions: u32,
    /// Only these peers (comma-separated from go, rust, js, py); default: every built peer.
    /// A named peer must speak every --transport and --security asked for.
    #[arg(long, value_delimiter = ',')]
    peers: Vec<String>,
    /// Transports, comma-separated (tcp, ws); each pair runs over every one.
    #[arg(long, value_delimiter = ',', default_value = "tcp")]
    transport: Vec<TransportKind>,
    /// Secure channels, comma-separated (noise, tls, plaintext); each pair runs over every one
    /// on every --transport.
    #[arg(long, value_delimiter = ',', default_value = "noise")]
    security: Vec<Security>,
    /// Where `interop/build.sh` put the peers.
    #[arg(long, default_value = "target/interop")]
    peers_dir: PathBuf,
    /// JSON output; default results/interop-<date>.json.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run every client and server in their own network namespace, joined by a veth pair
    /// (fresh for each run; needs root): a real path with a 1500-byte MTU instead of loopback.
    #[arg(long)]
    netns: bool,
    /// Seconds one run may take.
    #[arg(long, default_value_t = 300.0)]
    timeout: f64,
    #[command(flatten)]
    pub(crate) output: OutputOpt,
}

/// Every (transport, security) asked for, each once, in flag order.
fn layers(opt: &InteropOpt) -> Vec<Layers> {
    let mut all = Vec::new();
    for &transport in &opt.transport {
        for &security in &opt.security {
            let layers = Layers {
                transport,
                security,
            };
            if !all.contains(&layers) {
                all.push(layers);
            }
        }
    }
    all
}

/// One client, server and the layers between them.
type Cell = (Layers, Peer, Peer);

/// The (layers, client, server) cells to run, and the reasons for those left out. A pair with a
/// peer that does not speak the layers is refused when that peer was named in `--peers`, and
/// skipped (with the reason) when it only came in as one of every built peer.
fn cells(opt: &InteropOpt, pairs: &[(Peer, Peer)]) -> Result<(Vec<Cell>, Vec<String>)> {
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for layers in layers(opt) {
        for (client, server) in pairs {
            let unsupported = [client, server]
                .into_iter()
                .find_map(|p| p.check(layers).err());
            match unsupported {
                None => cells.push((layers, client.clone(), server.clone())),
                Some(why) if opt.peers.iter().any(|p| p == why.peer) => {
                    bail!("refusing --peers {}: {why}", opt.peers.join(","))
                }
                Some(why) => {
                    let why = why.to_string();
                    if !skipped.contains(&why) {
                        skipped.push(why);
                    }
                }
            }
        }
    }
    Ok((cells, skipped))
}

pub(crate) fn run(opt: InteropOpt) -> Result<()> {
    if opt.repetitions == 0 {
        usage!("--repetitions must be at least 1");
    }
    let limit = seconds(opt.timeout, "--timeout")?;
    if let Some(unknown) = opt
        .peers
        .iter()
        .find(|p| !interop::foreign_names().any(|n| n == p.as_str()))
    {
        usage!(
            "--peers: unknown peer {unknown:?} (known: {})",
            interop::foreign_names().collect::<Vec<_>>().join(", ")
        );
    }
    let out = opt.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("results/interop-{}.json", UtcTime::now().date()))
    });
    // Before the matrix, not after it.
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        check_output_dir(dir)?;
    }
    check_output_files([out.as_path()])?;
    let ours = std::env::current_exe().context("locating our own binary")?;
    let quiet = opt.output.quiet();
    let (peers, missing) = interop::discover(ours, &opt.peers_dir, &opt.peers);
    for name in missing.iter().filter(|_| !quiet) {
        eprintln!(
            "{name}: not built under {} (run interop/build.sh {name}); skipped",
            opt.peers_dir.display()
        );
    }
    let bytes = opt.size.bytes();
    let hosts = if opt.netns {
        Hosts::Netns
    } else {
        Hosts::Loopback
    };
    let pairs = interop::pairs(&peers);
    let (cells, skipped) = cells(&opt, &pairs)?;
    for why in skipped.iter().filter(|_| !quiet) {
        eprintln!("skipped: {why}");
    }
    let mut runs = Vec::new();
    for repetition in 1..=opt.repetitions {
        for (layers, client, server) in &cells {
            for direction in [Direction::Upload, Direction::Download] {
                let (up, down) = match direction {
                    Direction::Upload => (bytes, 0),
                    Direction::Download => (0, bytes),
                };
                let result = interop::run_once(client, server, *layers, up, down, limit, hosts);
                let bps = result.as_ref().ok().map(|s| bytes as f64 * 8.0 / s);
                // A failure is in the table and the JSON, with its error.
                if !quiet {
                    eprintln!(
                        "{:>4} -> {:<4} {:<15} {:<8} rep {repetition}: {}",
                        client.name,
                        server.name,
                        layers.to_string(),
                        format!("{direction:?}").to_lowercase(),
                        match &result {
                            Ok(_) => format!("{:.2} Gbit/s", bps.unwrap_or(0.0) / 1e9),
                            Err(e) => format!("FAILED: {e}"),
                        }
                    );
                }
                runs.push(Run {
                    client: client.name.clone(),
                    server: server.name.clone(),
                    transport: layers.transport,
                    security: layers.security,
                    direction,
                    bytes,
                    repetition,
                    seconds: result.as_ref().ok().copied(),
                    bits_per_second: bps,
                    error: result.err().map(|e| e.to_string()),
                });
            }
        }
    }
    let mut table = Vec::new();
    // stdout: this table, or with --json-only the JSON file's content.
    let mut text = String::new();
    writeln!(
        text,
        "{:<16} {:<15} {:<9} {:>10} {:>10} {:>9}  result",
        "client -> server", "stack", "direction", "bytes", "Gbit/s", "MiB/s"
    )?;
    for (layers, client, server) in &cells {
        for direction in [Direction::Upload, Direction::Download] {
            let of_pair = |r: &&Run| r.is_of(&client.name, &server.name, *layers, direction);
            let ok = runs
                .iter()
                .filter(of_pair)
                .filter(|r| r.error.is_none())
                .count();
            let failed = runs.iter().filter(of_pair).count() - ok;
            let median = interop::median_bits_per_second(
                &runs,
                &client.name,
                &server.name,
                *layers,
                direction,
            );
            writeln!(
                text,
                "{:<16} {:<15} {:<9} {:>10} {:>10} {:>9}  {}",
                format!("{} -> {}", client.name, server.name),
                layers.to_string(),
                format!("{direction:?}").to_lowercase(),
                ByteSize(bytes).to_string(),
                median.map_or("-".into(), |b| format!("{:.2}", b / 1e9)),
                median.map_or("-".into(), |b| format!("{:.0}", b / 8.0 / (1 << 20) as f64)),
                if failed == 0 {
                    "ok".to_string()
                } else {
                    format!("FAIL ({failed} of {})", ok + failed)
                },
            )?;
            table.push(Row {
                client: client.name.clone(),
                server: server.name.clone(),
                transport: layers.transport,
                security: layers.security,
                direction,
                median_bits_per_second: median,
                ok,
                failed,
            });
        }
    }
    let file = InteropFile {
        schema_version: interop::SCHEMA_VERSION,
        command: std::env::args().collect(),
        machine: host::machine(),
        git: yamux_perf::build_info::git_revision(),
        bytes,
        repetitions: opt.repetitions,
        hosts,
        missing_peers: missing,
        skipped,
        table,
        runs,
    };
    let json = serde_json::to_string_pretty(&file)? + "\n";
    std::fs::write(&out, &json).with_context(|| format!("writing {}", out.display()))?;
    print!("{}", if opt.output.json_only { &json } else { &text });
    if !quiet {
        eprintln!("wrote {}", out.display());
    }
    if file.table.iter().any(|r| r.failed > 0) {
        bail!("some runs failed (see the table or {})", out.display());
    }
    Ok(())
}
