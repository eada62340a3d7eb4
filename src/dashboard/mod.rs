//! A history of result sets, one per commit, as one static HTML page (`yamux-perf dashboard
//! HISTORY_DIR --out DIR`): every metric of every case over the commits as an inline SVG plot,
//! each point marked with the verdict of [`compare::compare`] against the previous commit that
//! has the same results. Reads result files only; it never runs a benchmark.
//!
//! # The history directory
//!
//! One directory per commit (files beside them, such as a README, are ignored), each holding
//! [`COMMIT_FILE`] ([`CommitInfo`]: the revision and its commit time; the result files record the
//! revision but not when it was committed) and the results, read with [`Input::load`]:
//!
//! - either the commit directory itself is a sweep output directory (`summary.json`, `cases/`),
//!   a series named `.`;
//! - or each subdirectory and each other `*.json` file in it is one result set (a sweep output
//!   directory, an interop JSON, an icount JSON), a series named by its file name (`sim`,
//!   `smoke`, `icount.json`).
//!
//! A series must be of one kind in every commit; a commit may lack a series. Commits are ordered
//! by commit time (then by directory name). A result that records its revision must record the
//! one [`COMMIT_FILE`] names.
//!
//! # The page
//!
//! [`html::render`] turns a [`Dashboard`] into the page; [`write()`] writes it as `index.html` and
//! copies each point's details beside it (`cases/<commit>/<series>/<id>.json` for a sweep case,
//! `cases/<commit>/<series>` for a whole interop or icount file), so the page's links work
//! offline. The page loads nothing from the network.

pub mod html;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::compare::{
    self, CompareError, Input, InputError, Metric, Options, Threshold, Verdict, case_metrics,
};
use crate::results::Spread;

/// The file in each commit directory that names the commit.
pub const COMMIT_FILE: &str = "commit.json";

/// The series name of a commit directory that is itself a sweep output directory.
pub const SELF_SERIES: &str = ".";

/// Why a history could not be read or its page written (the cause, where there is one, is the
/// error's source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// A directory or file could not be read.
    #[error("reading {path}")]
    Io {
        /// What was read.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The history directory holds no commit directory.
    #[error(
        "{0}: no commit directories (expected one directory per commit, each with {COMMIT_FILE} \
         and its results)"
    )]
    NoCommits(PathBuf),
    /// A commit directory without [`COMMIT_FILE`].
    #[error(
        "{0}: no {COMMIT_FILE} (write {{\"revision\": …, \"committed_unix_s\": …}}, e.g. from \
         `git show -s --format=%ct REV`)"
    )]
    NoCommitFile(PathBuf),
    /// [`COMMIT_FILE`] does not parse.
    #[error("{path}: not a valid {COMMIT_FILE}")]
    CommitFile {
        /// The file.
        path: PathBuf,
        /// serde's message.
        source: serde_json::Error,
    },
    /// A commit directory without results.
    #[error(
        "{0}: no results (expected summary.json and cases/, or result directories and JSON files)"
    )]
    NoResults(PathBuf),
    /// A result set could not be read.
    #[error("loading {path}")]
    Set {
        /// The set.
        path: PathBuf,
        /// Why.
        source: InputError,
    },
    /// A series is of different kinds in two commits.
    #[error(
        "series {series:?} holds {first_kind} results in {first} but {kind} results in {path} \
         (sets of different kinds cannot be compared)"
    )]
    KindMismatch {
        /// The series.
        series: String,
        /// The first set of the series.
        first: PathBuf,
        /// Its kind.
        first_kind: &'static str,
        /// The set of another kind.
        path: PathBuf,
        /// Its kind.
        kind: &'static str,
    },
    /// A result records another revision than its commit directory names.
    #[error("{path}: made by revision {recorded}, but {COMMIT_FILE} names {named}")]
    RevisionMismatch {
        /// The set.
        path: PathBuf,
        /// The revision the results record.
        recorded: String,
        /// The revision [`COMMIT_FILE`] names.
        named: String,
    },
    /// Two consecutive sets could not be compared.
    #[error("comparing {current} with {baseline}")]
    Compare {
        /// The earlier set.
        baseline: PathBuf,
        /// The later set.
        current: PathBuf,
        /// Why.
        source: CompareError,
    },
    /// An output file could not be written.
    #[error("writing {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// [`COMMIT_FILE`]: which commit a directory's results were made by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitInfo {
    /// `git rev-parse --short` of the commit.
    pub revision: String,
    /// Its committer time, seconds since the Unix epoch (`git show -s --format=%ct`).
    pub committed_unix_s: i64,
    /// Its subject line (`%s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// One commit's results.
#[derive(Debug, Clone)]
pub struct CommitSet {
    /// The directory name.
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
    /// Its [`COMMIT_FILE`].
    pub commit: CommitInfo,
    /// Whether any of its results was made from a tree with uncommitted changes.
    pub dirty: bool,
    /// Its result sets by series name.
    pub series: BTreeMap<String, Input>,
}

/// Every commit's results, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    /// The history directory.
    pub root: PathBuf,
    /// The commits, by commit time.
    pub commits: Vec<CommitSet>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DashboardError + '_ {
    move |source| DashboardError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The non-hidden entries of `dir`, by name.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, DashboardError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.starts_with('.') {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

fn load_set(path: &Path) -> Result<Input, DashboardError> {
    Input::load(path).map_err(|source| DashboardError::Set {
        path: path.to_path_buf(),
        source,
    })
}

impl CommitSet {
    /// Reads one commit directory.
    pub fn load(dir: &Path) -> Result<CommitSet, DashboardError> {
        let commit_path = dir.join(COMMIT_FILE);
        if !commit_path.is_file() {
            return Err(DashboardError::NoCommitFile(dir.to_path_buf()));
        }
        let text = std::fs::read_to_string(&commit_path).map_err(io(&commit_path))?;
        let commit: CommitInfo =
            serde_json::from_str(&text).map_err(|source| DashboardError::CommitFile {
                path: commit_path.clone(),
                source,
            })?;
        let mut series = BTreeMap::new();
        if dir.join("summary.json").is_file() || dir.join("cases").is_dir() {
            series.insert(SELF_SERIES.to_string(), load_set(dir)?);
        } else {
            for (name, path) in entries(dir)? {
                let json = path.is_file() && name.ends_with(".json") && name != COMMIT_FILE;
                if path.is_dir() || json {
                    series.insert(name, load_set(&path)?);
                }
            }
        }
        if series.is_empty() {
            return Err(DashboardError::NoResults(dir.to_path_buf()));
        }
        let mut dirty = false;
        for input in series.values() {
            if let Some(git) = input.git() {
                let (a, b) = (&git.revision, &commit.revision);
                if !(a.starts_with(b.as_str()) || b.starts_with(a.as_str())) {
                    return Err(DashboardError::RevisionMismatch {
                        path: input.path().to_path_buf(),
                        recorded: a.clone(),
                        named: b.clone(),
                    });
                }
                dirty |= git.dirty;
            }
        }
        Ok(CommitSet {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: dir.to_path_buf(),
            commit,
            dirty,
            series,
        })
    }
}

impl History {
    /// Reads every commit directory of `root` and orders them by commit time.
    pub fn load(root: &Path) -> Result<History, DashboardError> {
        let mut commits = Vec::new();
        for (_, path) in entries(root)? {
            if path.is_dir() {
                commits.push(CommitSet::load(&path)?);
            }
        }
        if commits.is_empty() {
            return Err(DashboardError::NoCommits(root.to_path_buf()));
        }
        commits.sort_by(|a, b| {
            (a.commit.committed_unix_s, &a.name).cmp(&(b.commit.committed_unix_s, &b.name))
        });
        let mut first: HashMap<&str, &Input> = HashMap::new();
        for set in &commits {
            for (name, input) in &set.series {
                let seen = *first.entry(name).or_insert(input);
                if seen.kind() != input.kind() {
                    return Err(DashboardError::KindMismatch {
                        series: name.clone(),
                        first: seen.path().to_path_buf(),
                        first_kind: seen.kind(),
                        path: input.path().to_path_buf(),
                        kind: input.kind(),
                    });
                }
            }
        }
        Ok(History {
            root: root.to_path_buf(),
            commits,
        })
    }
}

/// How a point compares with the previous commit that has its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// The first commit with the series: nothing to compare with.
    First,
    /// The series was there before, this case or metric was not.
    New,
    /// [`Verdict::Unchanged`].
    Unchanged,
    /// [`Verdict::Improved`].
    Improvement,
    /// [`Verdict::Regressed`].
    Regression,
}

impl Mark {
    /// The CSS class (beside `mark`).
    pub fn class(self) -> &'static str {
        match self {
            Mark::First => "first",
            Mark::New => "new",
            Mark::Unchanged => "unchanged",
            Mark::Improvement => "improvement",
            Mark::Regression => "regression",
        }
    }

    fn of(verdict: Verdict) -> Mark {
        match verdict {
            Verdict::Improved => Mark::Improvement,
            Verdict::Unchanged => Mark::Unchanged,
            Verdict::Regressed => Mark::Regression,
            Verdict::Missing => Mark::New,
        }
    }
}

/// One commit's value of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Index into [`History::commits`].
    pub commit: usize,
    /// The case id in that commit.
    pub case: String,
    /// Median and spread.
    pub value: Spread,
    /// Against the previous commit.
    pub mark: Mark,
    /// current median / previous median.
    pub ratio: Option<f64>,
    /// The comparison's note ("worse past the threshold, inside the spread").
    pub note: Option<String>,
    /// Where its details are copied to, relative to the page.
    pub detail: Option<String>,
}

/// One metric of one case over the commits.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// The metric.
    pub metric: Metric,
    /// The case's id in the first commit that has it (ids may change; cases are followed
    /// across commits as `compare` pairs them).
    pub case: String,
    /// Its label in the last commit that has it.
    pub label: String,
    /// Its points, oldest first.
    pub points: Vec<Point>,
}

/// One series: its plots, by metric (in [`Metric::ALL`] order), then by case.
#[derive(Debug, Clone)]
pub struct Series {
    /// The series name.
    pub name: String,
    /// `sweep`, `interop` or `icount`.
    pub kind: &'static str,
    /// What its newest set says about itself (sweep name, engine, model).
    pub about: String,
    /// Its plots.
    pub plots: Vec<Plot>,
}

impl Series {
    /// Whether a point is a regression or an improvement.
    pub fn changed(&self) -> bool {
        self.plots
            .iter()
            .flat_map(|p| &p.points)
            .any(|p| matches!(p.mark, Mark::Regression | Mark::Improvement))
    }
}

/// A file to copy beside the page.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Detail {
    /// The result file.
    pub source: PathBuf,
    /// Its path relative to the page.
    pub href: String,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The history.
    pub history: History,
    /// The threshold the verdicts used.
    pub threshold: Threshold,
    /// Every series: those with a regression or improvement first, then by name.
    pub series: Vec<Series>,
    /// The files the points link to.
    pub details: BTreeSet<Detail>,
}

impl Dashboard {
    /// Points with a given mark, over every plot.
    pub fn count(&self, mark: Mark) -> usize {
        self.plots()
            .flat_map(|(_, p)| &p.points)
            .filter(|p| p.mark == mark)
            .count()
    }

    /// Every plot with its series.
    pub fn plots(&self) -> impl Iterator<Item = (&Series, &Plot)> {
        self.series
            .iter()
            .flat_map(|s| s.plots.iter().map(move |p| (s, p)))
    }
}

/// The page-relative path of a series' details in a commit.
fn detail_dir(commit: &str, series: &str) -> String {
    if series == SELF_SERIES {
        format!("cases/{commit}")
    } else {
        format!("cases/{commit}/{series}")
    }
}

/// The result file behind one case of a set, and where it goes beside the page.
fn detail(input: &Input, commit: &str, series: &str, case: &str) -> Option<Detail> {
    match input {
        Input::Sweep(s) => {
            s.case(case)?;
            let path = &s.path;
            let source = if path.is_dir() {
                path.join("cases").join(format!("{case}.json"))
            } else if path.file_name().is_some_and(|n| n == "summary.json") {
                path.parent()?.join("cases").join(format!("{case}.json"))
            } else {
                path.clone()
            };
            Some(Detail {
                source,
                href: format!("{}/{case}.json", detail_dir(commit, series)),
            })
        }
        Input::Interop(path, _) | Input::Icount(path, _) => Some(Detail {
            source: path.clone(),
            href: detail_dir(commit, series),
        }),
    }
}

fn about(input: &Input) -> String {
    match input {
        Input::Sweep(s) => {
            let mut text = format!(
                "sweep {}, engine {}, {} cases",
                s.summary.sweep,
                s.summary.engine.as_str(),
                s.summary.cases.len()
            );
            if let Some(model) = &s.summary.model {
                text.push_str(". ");
                text.push_str(model);
            }
            text
        }
        Input::Interop(_, f) => format!("interop, {} runs", f.runs.len()),
        Input::Icount(_, f) => format!("instruction counts, {}", f.icount.tool),
    }
}

/// One series over the commits.
fn series(
    history: &History,
    name: &str,
    threshold: Threshold,
    details: &mut BTreeSet<Detail>,
) -> Result<Series, DashboardError> {
    let options = Options {
        threshold,
        metrics: Vec::new(),
    };
    // Plot index by (metric, case track); the track of each case id of the previous set.
    let mut plots: Vec<Plot> = Vec::new();
    let mut index: HashMap<(Metric, String), usize> = HashMap::new();
    let mut previous: Option<(&Input, HashMap<String, String>)> = None;
    let mut newest = None;
    for (ci, set) in history.commits.iter().enumerate() {
        let Some(input) = set.series.get(name) else {
            continue;
        };
        newest = Some(input);
        // (case id, metric) -> (verdict, ratio, note); case id -> the previous set's case id.
        let mut verdicts = HashMap::new();
        let mut paired: HashMap<String, String> = HashMap::new();
        if let Some((before, _)) = &previous {
            match compare::compare(before, input, &options) {
                Ok(c) => {
                    for row in c.rows.into_iter().filter(|r| r.current.is_some()) {
                        if row.matched_by != compare::MatchedBy::Unmatched {
                            let old = row.baseline_case.clone().unwrap_or(row.case.clone());
                            paired.insert(row.case.clone(), old);
                        }
                        verdicts.insert((row.case, row.metric), (row.verdict, row.ratio, row.note));
                    }
                }
                // Nothing to pair: every case is new.
                Err(CompareError::NothingInCommon) => {}
                Err(source) => {
                    return Err(DashboardError::Compare {
                        baseline: before.path().to_path_buf(),
                        current: input.path().to_path_buf(),
                        source,
                    });
                }
            }
        }
        let mut tracks = HashMap::new();
        for case in case_metrics(input) {
            let track = previous
                .as_ref()
                .zip(paired.get(&case.id))
                .and_then(|((_, before), old)| before.get(old).cloned())
                .unwrap_or_else(|| case.id.clone());
            let link = detail(input, &set.name, name, &case.id);
            if let Some(d) = &link {
                details.insert(d.clone());
            }
            for (metric, value) in &case.metrics {
                let (mark, ratio, note) =
                    match (&previous, verdicts.get(&(case.id.clone(), *metric))) {
                        (None, _) => (Mark::First, None, None),
                        (Some(_), Some((v, r, n))) => (Mark::of(*v), *r, n.clone()),
                        (Some(_), None) => (Mark::New, None, None),
                    };
                let at = *index.entry((*metric, track.clone())).or_insert_with(|| {
                    plots.push(Plot {
                        metric: *metric,
                        case: track.clone(),
                        label: case.label.clone(),
                        points: Vec::new(),
                    });
                    plots.len() - 1
                });
                let plot = &mut plots[at];
                plot.label = case.label.clone();
                plot.points.push(Point {
                    commit: ci,
                    case: case.id.clone(),
                    value: value.clone(),
                    mark,
                    ratio,
                    note,
                    detail: link.as_ref().map(|d| d.href.clone()),
                });
            }
            tracks.insert(case.id, track);
        }
        previous = Some((input, tracks));
    }
    // By metric in display order, then by first appearance.
    let order = |m: Metric| Metric::ALL.iter().position(|&x| x == m);
    let mut numbered: Vec<(usize, Plot)> = plots.into_iter().enumerate().collect();
    numbered.sort_by_key(|(i, p)| (order(p.metric), *i));
    let newest = newest.expect("a series is in at least one commit");
    Ok(Series {
        name: name.to_string(),
        kind: newest.kind(),
        about: about(newest),
        plots: numbered.into_iter().map(|(_, p)| p).collect(),
    })
}

/// Compares each commit's sets with the previous commit's, series by series.
pub fn build(history: History, threshold: Threshold) -> Result<Dashboard, DashboardError> {
    let names: BTreeSet<&String> = history
        .commits
        .iter()
        .flat_map(|c| c.series.keys())
        .collect();
    let mut details = BTreeSet::new();
    let mut series = names
        .into_iter()
        .map(|name| series(&history, name, threshold, &mut details))
        .collect::<Result<Vec<_>, _>>()?;
    // Series with a regression or improvement first, then by name.
    series.sort_by_key(|s| !s.changed());
    Ok(Dashboard {
        history,
        threshold,
        series,
        details,
    })
}

/// Writes `out/index.html` and copies the details beside it; returns the page's path.
pub fn write(dashboard: &Dashboard, out: &Path) -> Result<PathBuf, DashboardError> {
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DashboardError::Write { path, source }
    };
    for d in &dashboard.details {
        let to = out.join(&d.href);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(fail(dir))?;
        }
        std::fs::copy(&d.source, &to).map_err(fail(&to))?;
    }
    let page = out.join("index.html");
    std::fs::write(&page, html::render(dashboard)).map_err(fail(&page))?;
    Ok(page)
}
