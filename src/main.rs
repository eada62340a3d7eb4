//! `yamux-perf`: the command line. Library errors become `anyhow` errors here, printed with
//! their causes; the exit codes are in docs/exit-codes.md.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "yamux-perf", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve `/perf/1.0.0`; prints the listen multiaddr (with /p2p/) as the first stdout line.
    Server(cli::server::ServerOpt),
    /// Run one perf transfer; JSON lines on stdout (test-plans format), a summary on stderr.
    Client(cli::client::ClientOpt),
    /// Emulate a link between two TCP endpoints: delay (RTT/2 each way), rate, bounded queue.
    Relay(cli::relay::RelayOpt),
    /// Write an Ed25519 key file (libp2p protobuf encoding) for --key; prints its peer id.
    Keygen(cli::keygen::KeygenOpt),
    /// Run a bench config's matrix (server, relay, client per run); JSON, .hgrm and traces.
    Sweep(cli::sweep::SweepOpt),
    /// Run every pair of implementations (ours, go, rust, js, py) both ways; table and JSON.
    Interop(cli::interop::InteropOpt),
    /// Draw SVG plots from sweep results (never runs a benchmark).
    Plot(cli::plot::PlotOpt),
    /// Compare two result sets per case and metric; exit 1 on a regression past the threshold,
    /// 2 on bad input.
    Compare(cli::compare::CompareOpt),
    /// Convert gungraun's summaries of the instruction-count bench (benches/icount.rs) into the
    /// JSON that compare reads.
    Icount(cli::icount::IcountOpt),
    /// Summarize results as Markdown (ours vs go-yamux and the other peers) or test-plans JSON.
    Report(cli::report::ReportOpt),
    /// Entry point of the libp2p/unified-testing perf image: role and stack from the
    /// environment (IS_DIALER, REDIS_ADDR, TEST_KEY, TRANSPORT, SECURE_CHANNEL, MUXER, …).
    Unified(cli::unified::UnifiedOpt),
    /// Print a shell completion script to stdout (bash, zsh, fish, elvish, powershell).
    Completions(cli::shell::CompletionsOpt),
    /// Print the man page (roff) to stdout, or write one page per subcommand with --out-dir.
    Manpage(cli::shell::ManpageOpt),
}

/// The clap command, with `--version` naming the git revision the binary was built from.
fn command() -> clap::Command {
    Cli::command().version(yamux_perf::build_info::version())
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Runs a command on a worker thread of the runtime rather than on the main thread: a future
/// given to `block_on` runs on the main thread, so every wake-up from a connection's tasks
/// crosses threads (a futex wake and a context switch, several per round trip in the latency
/// modes); as a spawned task it is woken where those tasks run.
fn run_on_worker<F>(runtime: &tokio::runtime::Runtime, command: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    runtime.block_on(async {
        tokio::spawn(command)
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the command's task failed: {e}")))
    })
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(cli::FAILURE);
        }
    };
    let result = match cli.command {
        Command::Server(opt) => {
            init_logging("info");
            run_on_worker(&runtime, cli::server::run(opt))
        }
        Command::Client(opt) => {
            init_logging(opt.output.log_level("warn"));
            run_on_worker(&runtime, cli::client::run(opt))
        }
        Command::Relay(opt) => {
            init_logging("info");
            run_on_worker(&runtime, cli::relay::run(opt))
        }
        Command::Keygen(opt) => cli::keygen::run(opt),
        Command::Sweep(opt) => {
            init_logging(opt.output.log_level("warn"));
            runtime.block_on(cli::sweep::run(opt))
        }
        Command::Interop(opt) => {
            init_logging("warn");
            cli::interop::run(opt)
        }
        Command::Plot(opt) => cli::plot::run(opt),
        Command::Compare(opt) => return cli::compare::run(opt),
        Command::Report(opt) => cli::report::run(opt),
        Command::Icount(opt) => cli::icount::run(opt),
        Command::Completions(opt) => cli::shell::completions(opt, command()),
        Command::Manpage(opt) => cli::shell::manpage(opt, command()),
        Command::Unified(opt) => {
            init_logging(if cli::unified::debug_requested() {
                "debug"
            } else {
                "info"
            });
            run_on_worker(&runtime, cli::unified::run(opt))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let usage = e.chain().any(|c| c.is::<cli::common::UsageError>());
            ExitCode::from(if usage { cli::USAGE } else { cli::FAILURE })
        }
    }
}
