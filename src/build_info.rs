//! What the running binary was built from, embedded at compile time by `build.rs`.
//!
//! Result files record this rather than asking git at run time: the directory a binary runs in
//! need not be the tree it was built from, or may have moved on since.

use std::sync::LazyLock;

use crate::results::GitRevision;

/// The git revision of the tree this binary was built from and whether tracked files had
/// uncommitted changes then; `None` when it was built outside a git checkout of this crate.
pub fn git_revision() -> Option<GitRevision> {
    from_env(
        option_env!("YAMUX_PERF_GIT_REVISION"),
        option_env!("YAMUX_PERF_GIT_DIRTY"),
    )
}

/// The `--version` text: the crate version and the revision this binary was built from, e.g.
/// `0.1.0 (git 1cb816d)`, `0.1.0 (git 1cb816d-dirty)`, or, built outside a git checkout (a
/// source tarball, no git installed), `0.1.0 (git revision unknown: not built from a git
/// checkout)`.
pub fn version() -> &'static str {
    static VERSION: LazyLock<String> =
        LazyLock::new(|| version_text(env!("CARGO_PKG_VERSION"), git_revision().as_ref()));
    &VERSION
}

fn version_text(version: &str, git: Option<&GitRevision>) -> String {
    match git {
        Some(git) => format!(
            "{version} (git {}{})",
            git.revision,
            if git.dirty { "-dirty" } else { "" }
        ),
        None => format!("{version} (git revision unknown: not built from a git checkout)"),
    }
}

fn from_env(revision: Option<&str>, dirty: Option<&str>) -> Option<GitRevision> {
    Some(GitRevision {
        revision: revision.filter(|r| !r.is_empty())?.to_string(),
        dirty: dirty? == "true",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_build_script_sets() {
        assert_eq!(from_env(None, None), None);
        assert_eq!(from_env(Some("abc1234"), None), None);
        assert_eq!(
            from_env(Some("abc1234"), Some("false")),
            Some(GitRevision {
                revision: "abc1234".into(),
                dirty: false
            })
        );
        assert!(from_env(Some("abc1234"), Some("true")).unwrap().dirty);
    }

    #[test]
    fn the_version_names_the_revision_or_says_it_is_unknown() {
        let git = |dirty| GitRevision {
            revision: "abc1234".into(),
            dirty,
        };
        assert_eq!(
            version_text("0.1.0", Some(&git(false))),
            "0.1.0 (git abc1234)"
        );
        assert_eq!(
            version_text("0.1.0", Some(&git(true))),
            "0.1.0 (git abc1234-dirty)"
        );
        assert!(version_text("0.1.0", None).contains("unknown"));
        assert!(version().starts_with(env!("CARGO_PKG_VERSION")));
    }

    /// Built from this checkout, the embedded revision is the checkout's HEAD.
    #[test]
    fn matches_the_checkout_it_was_built_from() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let head = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        match (head, git_revision()) {
            (Some(head), Some(built)) => assert!(
                head.starts_with(&built.revision) && built.revision.len() >= 7,
                "built from {} but HEAD is {head}",
                built.revision
            ),
            (None, built) => assert_eq!(built, None, "no checkout, no revision"),
            (Some(head), None) => panic!("built inside the checkout at {head} but no revision"),
        }
    }
}
