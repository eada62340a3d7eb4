//! The README stays a true front page: at most 250 lines, every command block marked
//! `<!-- runnable -->` runs and exits 0 (in order, from the repository root, with this build's
//! `yamux-perf` first on PATH), and every relative link in README.md and docs/*.md names a file
//! that exists (and, for `file.md#anchor`, a heading of that file).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MAX_README_LINES: usize = 250;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The commands of every ```sh block right after a `<!-- runnable -->` line.
fn runnable_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() != "<!-- runnable -->" {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert_eq!(
            fence.trim(),
            "```sh",
            "a runnable marker must precede a ```sh block"
        );
        for line in lines.by_ref() {
            let line = line.trim();
            if line.starts_with("```") {
                break;
            }
            if !line.is_empty() && !line.starts_with('#') {
                commands.push(line.to_string());
            }
        }
    }
    commands
}

/// GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown text outside code fences.
fn outside_fences(markdown: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    markdown.lines().filter(move |line| {
        if line.starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The anchors of a Markdown file's headings.
fn anchors(markdown: &str) -> Vec<String> {
    outside_fences(markdown)
        .filter(|line| line.starts_with('#'))
        .map(|line| slug(line.trim_start_matches('#')))
        .collect()
}

/// Relative link targets `[text](target)` and `![alt](target)`.
fn relative_links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in outside_fences(markdown) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                out.push(target.to_string());
            }
            rest = &rest[end..];
        }
    }
    out
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn readme_is_a_front_page() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= MAX_README_LINES,
        "README.md has {lines} lines: move reference material to docs/ (at most {MAX_README_LINES})"
    );
}

#[test]
fn every_relative_link_resolves() {
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        let dir = file.parent().unwrap();
        for link in relative_links(&text) {
            let (path, anchor) = match link.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            assert!(
                target.exists(),
                "{}: link {link} points to {}, which does not exist",
                file.display(),
                target.display()
            );
            if let Some(anchor) = anchor {
                let headings = anchors(&read(&target));
                assert!(
                    headings.iter().any(|h| h == anchor),
                    "{}: link {link}: no heading #{anchor} in {} (has {headings:?})",
                    file.display(),
                    target.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} links checked: is the parser broken?"
    );
}

#[test]
fn runnable_readme_commands_exit_zero() {
    let commands = runnable_commands(&read(&root().join("README.md")));
    assert!(!commands.is_empty(), "no runnable block found in README.md");
    let scratch = root().join("target/readme");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    // `yamux-perf` resolves to this build through a bin dir first on PATH.
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_yamux-perf"), bin.join("yamux-perf")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (i, command) in commands.iter().enumerate() {
        let log = scratch.join(format!("command-{i}.stderr"));
        let mut child = Command::new("sh")
            .args(["-c", command])
            .current_dir(root())
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > COMMAND_TIMEOUT {
                let _ = child.kill();
                panic!("README command did not finish in {COMMAND_TIMEOUT:?}: {command}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = read(&log);
        assert!(
            status.success(),
            "README command failed ({status}): {command}\n{stderr}"
        );
    }
}

#[test]
fn the_parsers_find_what_they_should() {
    let md = "# Top `x`\n<!-- runnable -->\n```sh\n# comment\nyamux-perf keygen k\n```\n\
              [a](docs/a.md#top-x) ![b](b.svg) [c](https://x/y)\n```\n[d](inside.md)\n```\n";
    assert_eq!(runnable_commands(md), ["yamux-perf keygen k"]);
    assert_eq!(relative_links(md), ["docs/a.md#top-x", "b.svg"]);
    assert_eq!(anchors(md), ["top-x"]);
    assert_eq!(slug(" `yamux-perf relay`"), "yamux-perf-relay");
}
