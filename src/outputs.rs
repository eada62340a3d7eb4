//! Output paths, checked before the work that fills them: a report that cannot be written at the
//! end of a 1 GiB transfer, or a sweep directory that cannot be created, fails at once instead
//! of losing the run.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// An output path that cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", .path.display())]
pub struct NotWritable {
    /// The path as given.
    pub path: PathBuf,
    /// Why: the error creating, opening or probing it.
    #[source]
    pub source: io::Error,
}

fn not_writable(path: &Path) -> impl FnOnce(io::Error) -> NotWritable {
    let path = path.to_path_buf();
    move |source| NotWritable { path, source }
}

/// Checks that `path` can be written as a file: its directory exists and lets us create it, or
/// it exists and we may write it. Leaves the file system as it was (an existing file is opened
/// without truncating it; a file created for the check is removed).
pub fn check_file(path: &Path) -> Result<(), NotWritable> {
    let fail = not_writable(path);
    if path.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    let existed = path.exists();
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(fail)?;
    if !existed {
        // Created by the check only; the run writes it.
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Checks that `dir` can take output files: creates it (and its parents) if needed, then
/// creates and removes a probe file in it.
pub fn check_dir(dir: &Path) -> Result<(), NotWritable> {
    let fail = not_writable(dir);
    if dir.exists() && !dir.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::NotADirectory,
            "it exists and is not a directory",
        )));
    }
    std::fs::create_dir_all(dir).map_err(not_writable(dir))?;
    let probe = dir.join(format!(".yamux-perf-write-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(not_writable(dir))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("yamux-perf-outputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_check_leaves_no_trace_and_keeps_what_exists() {
        let dir = scratch("file");
        let new = dir.join("report.json");
        check_file(&new).unwrap();
        assert!(!new.exists(), "the check removes what it created");
        let old = dir.join("old.json");
        std::fs::write(&old, "keep me").unwrap();
        check_file(&old).unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "keep me");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn refuses_paths_that_cannot_be_written_naming_path_and_reason() {
        let dir = scratch("refuse");
        let file = dir.join("file");
        std::fs::write(&file, "").unwrap();
        let cases = [
            (dir.join("missing/report.json"), "No such file"),
            (dir.clone(), "directory"),
            (file.join("below-a-file.json"), "directory"),
            (PathBuf::from("/proc/nope/x.json"), "No such file"),
        ];
        for (path, reason) in cases {
            let error = check_file(&path).unwrap_err().to_string();
            assert!(error.contains(&path.display().to_string()), "{error}");
            assert!(error.contains(reason), "{path:?}: {error}");
        }
        let error = check_dir(&file).unwrap_err().to_string();
        assert!(error.contains("not a directory"), "{error}");
        let error = check_dir(Path::new("/proc/nope")).unwrap_err().to_string();
        assert!(error.contains("/proc/nope"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_dir_check_creates_the_directory_and_leaves_it_empty() {
        let dir = scratch("dir").join("a/b");
        check_dir(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap());
    }
}
