//! Embeds the git revision of the source tree into the binary, so every result file records the
//! revision and dirty flag of the binary that made it (not of whatever checkout it runs in).
//!
//! Sets `YAMUX_PERF_GIT_REVISION` (`git rev-parse --short HEAD`) and `YAMUX_PERF_GIT_DIRTY`
//! (`true` when tracked files have uncommitted changes; untracked files do not count). Outside a
//! git checkout of this crate (a source tarball, a CI copy without `.git`, git not installed)
//! neither is set and `build_info::git_revision()` is `None`.
//!
//! The script runs again when HEAD moves, the current branch's ref or the packed refs change, the
//! index changes (staging, committing, checking out) or the crate's own sources change (so editing
//! a source file after a clean build flips the dirty flag).

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    for input in ["build.rs", "Cargo.toml", "Cargo.lock", "src"] {
        println!("cargo:rerun-if-changed={input}");
    }
    // Only this crate's own checkout: a crate copied into some other repository must not record
    // that repository's revision.
    let toplevel = git(&manifest, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !toplevel.is_some_and(|t| same(&t, &manifest)) {
        return;
    }
    // `--git-path` resolves linked worktrees too, where HEAD and the index are per worktree and
    // branch refs live in the common directory.
    let mut watched = vec![
        "HEAD".to_string(),
        "index".to_string(),
        "packed-refs".into(),
    ];
    if let Some(branch) = git(&manifest, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        // A path that does not exist would make cargo run the script on every build.
        if let Some(path) = git(&manifest, &["rev-parse", "--git-path", &name])
            .map(|p| manifest.join(p))
            .filter(|p| p.exists())
        {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let Some(revision) =
        git(&manifest, &["rev-parse", "--short", "HEAD"]).filter(|r| !r.is_empty())
    else {
        return;
    };
    let Some(status) = git(
        &manifest,
        &["status", "--porcelain", "--untracked-files=no"],
    ) else {
        return;
    };
    println!("cargo:rustc-env=YAMUX_PERF_GIT_REVISION={revision}");
    println!(
        "cargo:rustc-env=YAMUX_PERF_GIT_DIRTY={}",
        !status.is_empty()
    );
}
