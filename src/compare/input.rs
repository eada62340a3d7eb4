//! Reading result files for `compare` and `report`: a sweep directory (its `summary.json` and
//! `cases/<id>.json`), a `summary.json`, a single case JSON, an interop JSON ([`InteropFile`])
//! or an instruction-count JSON ([`IcountFile`]). The kind is told apart by the document's
//! top-level keys.

use std::path::{Path, PathBuf};

use crate::icount::IcountFile;
use crate::interop::InteropFile;
use crate::results::{CaseResult, GitRevision, Machine, Summary};
use crate::sweep::run::summary_row;

/// Why a path could not be read as results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// What was read.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The JSON does not match the schema of the kind its keys suggest.
    #[error("{path}: not a valid {what}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The kind it looked like.
        what: &'static str,
        /// serde's message.
        source: serde_json::Error,
    },
    /// Neither a sweep directory, a summary, a case, an interop nor an icount JSON.
    #[error(
        "{0}: not a result (expected a sweep directory with summary.json or cases/*.json, a \
         summary.json, a cases/<id>.json, an interop JSON or an icount JSON)"
    )]
    NotAResult(PathBuf),
    /// A sweep directory or summary without any case.
    #[error("{0}: holds no cases")]
    Empty(PathBuf),
}

/// One sweep's results.
#[derive(Debug, Clone)]
pub struct SweepInput {
    /// The path given.
    pub path: PathBuf,
    /// The summary (built from the case files when there is no `summary.json`).
    pub summary: Summary,
    /// The case files found, in summary order (a summary row whose file is missing has none).
    pub cases: Vec<CaseResult>,
}

impl SweepInput {
    /// The case file of a summary row.
    pub fn case(&self, id: &str) -> Option<&CaseResult> {
        self.cases.iter().find(|c| c.id == id)
    }

    /// The `yamux-perf sweep` command line of the first case that recorded one.
    pub fn command(&self) -> Option<&[String]> {
        self.cases
            .iter()
            .map(|c| c.sweep_command.as_slice())
            .find(|c| !c.is_empty())
    }
}

/// Results of a sweep or of `yamux-perf interop`.
#[derive(Debug, Clone)]
pub enum Input {
    /// `yamux-perf sweep` output.
    Sweep(Box<SweepInput>),
    /// `yamux-perf interop` output, and the path it was read from.
    Interop(PathBuf, Box<InteropFile>),
    /// `yamux-perf icount` output (instruction counts), and the path it was read from.
    Icount(PathBuf, Box<IcountFile>),
}

impl Input {
    /// Reads `path`: a directory is a sweep output directory; a file is told apart by its keys.
    pub fn load(path: &Path) -> Result<Input, InputError> {
        if path.is_dir() {
            return load_sweep_dir(path).map(|s| Input::Sweep(Box::new(s)));
        }
        let value: serde_json::Value = read_json(path, "JSON document")?;
        let has = |key: &str| value.get(key).is_some();
        if has("table") && has("runs") {
            let file: InteropFile = parse(path, value, "interop JSON")?;
            Ok(Input::Interop(path.to_path_buf(), Box::new(file)))
        } else if has("icount") && has("workloads") {
            let file: IcountFile = parse(path, value, "icount JSON")?;
            if file.workloads.is_empty() {
                return Err(InputError::Empty(path.to_path_buf()));
            }
            Ok(Input::Icount(path.to_path_buf(), Box::new(file)))
        } else if has("cases") && has("sweep") {
            let summary: Summary = parse(path, value, "sweep summary.json")?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let cases = summary_cases(dir, &summary)?;
            sweep_input(path, summary, cases).map(|s| Input::Sweep(Box::new(s)))
        } else if has("runs") && has("config") && has("id") {
            let case: CaseResult = parse(path, value, "case JSON")?;
            let summary = Summary {
                schema_version: case.schema_version,
                sweep: case.sweep.clone(),
                engine: case.plan.engine,
                model: case.model.clone(),
                machine: case.machine.clone(),
                git: case.git.clone(),
                cases: vec![summary_row(&case)],
            };
            sweep_input(path, summary, vec![case]).map(|s| Input::Sweep(Box::new(s)))
        } else {
            Err(InputError::NotAResult(path.to_path_buf()))
        }
    }

    /// The path given to [`Input::load`].
    pub fn path(&self) -> &Path {
        match self {
            Input::Sweep(s) => &s.path,
            Input::Interop(path, _) | Input::Icount(path, _) => path,
        }
    }

    /// `sweep`, `interop` or `icount`.
    pub fn kind(&self) -> &'static str {
        match self {
            Input::Sweep(_) => "sweep",
            Input::Interop(..) => "interop",
            Input::Icount(..) => "icount",
        }
    }

    /// Where the results come from.
    pub fn machine(&self) -> Option<&Machine> {
        match self {
            Input::Sweep(s) => s.summary.machine.as_ref(),
            Input::Interop(_, f) => Some(&f.machine),
            Input::Icount(_, f) => Some(&f.machine),
        }
    }

    /// The revision of yamux-perf that made them.
    pub fn git(&self) -> Option<&GitRevision> {
        match self {
            Input::Sweep(s) => s.summary.git.as_ref(),
            Input::Interop(_, f) => f.git.as_ref(),
            Input::Icount(_, f) => f.git.as_ref(),
        }
    }

    /// The command line that made them.
    pub fn command(&self) -> Option<&[String]> {
        match self {
            Input::Sweep(s) => s.command(),
            Input::Interop(_, f) => Some(&f.command),
            Input::Icount(_, f) => Some(&f.command),
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| InputError::Parse {
        path: path.to_path_buf(),
        what,
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    value: serde_json::Value,
    what: &'static str,
) -> Result<T, InputError> {
    serde_json::from_value(value).map_err(|source| InputError::Parse {
        path: path.to_path_buf(),
        what,
        source,
    })
}

fn sweep_input(
    path: &Path,
    summary: Summary,
    cases: Vec<CaseResult>,
) -> Result<SweepInput, InputError> {
    if summary.cases.is_empty() {
        return Err(InputError::Empty(path.to_path_buf()));
    }
    Ok(SweepInput {
        path: path.to_path_buf(),
        summary,
        cases,
    })
}

/// The case files of the summary's rows that exist under `dir/cases`.
fn summary_cases(dir: &Path, summary: &Summary) -> Result<Vec<CaseResult>, InputError> {
    let mut cases = Vec::new();
    for row in &summary.cases {
        let path = dir.join("cases").join(format!("{}.json", row.id));
        if path.is_file() {
            cases.push(read_json(&path, "case JSON")?);
        }
    }
    Ok(cases)
}

fn load_sweep_dir(dir: &Path) -> Result<SweepInput, InputError> {
    let summary_path = dir.join("summary.json");
    if summary_path.is_file() {
        let summary: Summary = read_json(&summary_path, "sweep summary.json")?;
        let cases = summary_cases(dir, &summary)?;
        return sweep_input(dir, summary, cases);
    }
    // No summary (a sweep that was interrupted): every cases/<id>.json, by start time.
    let cases_dir = dir.join("cases");
    let entries = std::fs::read_dir(&cases_dir).map_err(|source| InputError::Io {
        path: cases_dir.clone(),
        source,
    })?;
    let mut cases: Vec<CaseResult> = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| InputError::Io {
                path: cases_dir.clone(),
                source,
            })?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // `<id>.json` only: histograms and traces have a second dot.
        if name.ends_with(".json") && name.matches('.').count() == 1 {
            cases.push(read_json(&path, "case JSON")?);
        }
    }
    cases.sort_by_key(|c| c.started_unix_s);
    let last = cases.last().ok_or_else(|| InputError::Empty(dir.into()))?;
    let summary = Summary {
        schema_version: last.schema_version,
        sweep: last.sweep.clone(),
        engine: last.plan.engine,
        model: last.model.clone(),
        machine: last.machine.clone(),
        git: last.git.clone(),
        cases: cases.iter().map(summary_row).collect(),
    };
    sweep_input(dir, summary, cases)
}
