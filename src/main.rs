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
    /// One static HTML page from a history of results (one set per commit): each metric over
    /// the commits as an SVG plot, regressions and improvements marked as compare judges them.
    Dashboard(cli::dashboard::DashboardOpt),
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
            init_logging(opt.output.log_level("info"));
            run_on_worker(&runtime, cli::server::run(opt))
        }
        Command::Client(opt) => {
            init_logging(opt.output.log_level("warn"));
            run_on_worker(&runtime, cli::client::run(opt))
        }
        Command::Relay(opt) => {
            init_logging(opt.output.log_level("info"));
            run_on_worker(&runtime, cli::relay::run(opt))
        }
        Command::Keygen(opt) => cli::keygen::run(opt),
        Command::Sweep(opt) => {
            init_logging(opt.output.log_level("warn"));
            runtime.block_on(cli::sweep::run(opt))
        }
        Command::Interop(opt) => {
            init_logging(opt.output.log_level("warn"));
            cli::interop::run(opt)
        }
        Command::Plot(opt) => cli::plot::run(opt),
        Command::Compare(opt) => return cli::compare::run(opt),
        Command::Dashboard(opt) => cli::dashboard::run(opt),
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

/// Every command example in README.md and docs/*.md parses with this command line: a renamed
/// flag or subcommand fails here, not in a reader's shell. (tests/readme.rs runs the README's
/// blocks marked runnable; this covers the others, which need peers, a second machine or
/// minutes.)
#[cfg(test)]
mod doc_examples {
    use std::path::{Path, PathBuf};

    use super::*;

    /// How the docs invoke the binary; what follows is its arguments.
    const INVOCATIONS: [&str; 3] = [
        "yamux-perf",
        "target/release/yamux-perf",
        "cargo run --release --",
    ];

    /// A command line of the docs.
    #[derive(Debug, PartialEq)]
    struct Example {
        /// The line it starts on.
        line: usize,
        command: String,
        /// In a ```console block, the output line right after it when that starts with
        /// `error:`: the example shows a command that fails.
        error: Option<String>,
    }

    /// The shell command lines of the ```sh blocks (every line but comments) and of the
    /// ```console blocks (the lines after a `$ ` prompt); a line ending in `\` continues on
    /// the next.
    fn examples(markdown: &str) -> Vec<Example> {
        let mut out: Vec<Example> = Vec::new();
        let mut block: Option<bool> = None; // Some(true): sh, Some(false): console or other.
        let mut pending: Option<(usize, String)> = None;
        let mut after_command = false;
        for (i, line) in markdown.lines().enumerate() {
            let trimmed = line.trim();
            let follows_command = std::mem::take(&mut after_command);
            if let Some(fence) = trimmed.strip_prefix("```") {
                block = match block {
                    None => Some(fence == "sh"),
                    Some(_) => None,
                };
                continue;
            }
            let Some(sh) = block else { continue };
            let text = match pending.take() {
                Some((start, head)) => Some((start, format!("{head} {trimmed}"))),
                None if sh && !trimmed.starts_with('#') => Some((i + 1, trimmed.to_string())),
                None => trimmed
                    .strip_prefix("$ ")
                    .map(|command| (i + 1, command.to_string())),
            };
            let Some((start, text)) = text else {
                if follows_command && trimmed.starts_with("error:") {
                    out.last_mut().expect("a command").error = Some(trimmed.to_string());
                }
                continue;
            };
            match text.strip_suffix('\\') {
                Some(head) => pending = Some((start, head.trim_end().to_string())),
                None if !text.is_empty() => {
                    out.push(Example {
                        line: start,
                        command: text,
                        error: None,
                    });
                    after_command = true;
                }
                None => {}
            }
        }
        out
    }

    /// Words of a command as `sh` splits them (single and double quotes; no expansion).
    fn words(command: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote: Option<char> = None;
        for c in command.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.get_or_insert_default().push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    word.get_or_insert_default();
                }
                (None, c) if c.is_whitespace() => words.extend(word.take()),
                (None, c) => word.get_or_insert_default().push(c),
            }
        }
        assert!(quote.is_none(), "unbalanced quote in {command:?}");
        words.extend(word);
        words
    }

    /// The argument lists of the yamux-perf invocations in a command line: each part between
    /// `&&`, `;` and `|`, up to a redirection, a trailing `&` or a comment, with leading
    /// `NAME=value` words dropped.
    fn invocations(command: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let words = words(command);
        for part in words.split(|w| ["&&", "||", ";", "|"].contains(&w.as_str())) {
            let part: Vec<&str> = part
                .iter()
                .map(String::as_str)
                .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                .take_while(|w| !w.starts_with('>') && !w.starts_with('#') && *w != "&")
                .collect();
            let line = part.join(" ");
            for invocation in INVOCATIONS {
                if let Some(rest) = line.strip_prefix(invocation)
                    && (rest.is_empty() || rest.starts_with(' '))
                {
                    let skip = invocation.split(' ').count();
                    let mut args = vec!["yamux-perf".to_string()];
                    args.extend(part[skip..].iter().map(|w| w.to_string()));
                    out.push(args);
                    break;
                }
            }
        }
        out
    }

    fn markdown_files() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
            .expect("docs/")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        files.sort();
        files.insert(0, root.join("README.md"));
        files
    }

    #[test]
    fn every_documented_command_parses() {
        let mut checked = 0;
        let mut failures = Vec::new();
        for file in markdown_files() {
            let text = std::fs::read_to_string(&file).unwrap();
            for example in examples(&text) {
                for args in invocations(&example.command) {
                    checked += 1;
                    let parsed = command()
                        .try_get_matches_from(&args)
                        .and_then(|matches| Cli::from_arg_matches(&matches).map(drop));
                    let at = format!("{}:{}: {}", file.display(), example.line, example.command);
                    match (parsed, &example.error) {
                        (Ok(()), _) => {}
                        (Err(e), _)
                            if matches!(
                                e.kind(),
                                clap::error::ErrorKind::DisplayHelp
                                    | clap::error::ErrorKind::DisplayVersion
                            ) => {}
                        // A documented error shows what the command line says.
                        (Err(e), Some(shown)) => {
                            let said = e.render().to_string();
                            let said = said.lines().next().unwrap_or_default();
                            if said != shown {
                                failures.push(format!("{at}\nshown: {shown}\nsays:  {said}"));
                            }
                        }
                        (Err(e), None) => failures.push(format!("{at}\n{}", e.render())),
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // README alone has 11; fewer means the extraction broke.
        assert!(checked >= 40, "only {checked} commands found");
    }

    #[test]
    fn the_extraction_finds_commands_as_written() {
        let md = "```sh\n# a comment\nyamux-perf keygen k\ninterop/build.sh && cargo run --release -- client --upload 1MiB\n```\n\
                  ```console\n$ RUST_LOG=debug yamux-perf sweep c.toml --out 'a b' > log &\nyamux-perf 0.1.0 (git x)\n\
                  $ target/release/yamux-perf client \\\n  --latency 5 | jq .\n```\nyamux-perf prose\n";
        let found: Vec<Vec<Vec<String>>> = examples(md)
            .iter()
            .map(|e| invocations(&e.command))
            .collect();
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            found,
            [
                vec![strings(&["yamux-perf", "keygen", "k"])],
                vec![strings(&["yamux-perf", "client", "--upload", "1MiB"])],
                vec![strings(&["yamux-perf", "sweep", "c.toml", "--out", "a b"])],
                vec![strings(&["yamux-perf", "client", "--latency", "5"])],
            ]
        );
        assert_eq!(
            examples(md)[3].line,
            9,
            "the line a continued command starts on"
        );
        let failing = examples("```console\n$ yamux-perf client --server x\nerror: no\n```\n");
        assert_eq!(failing[0].error.as_deref(), Some("error: no"));
    }
}
