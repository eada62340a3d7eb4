//! SVG plots of sweep results, drawn with `plotters`; plotting only reads result files and never
//! runs a benchmark.
//!
//! Input is a sweep's output directory (or its `summary.json`, or one `cases/<id>.json`), read
//! through the types of [`crate::results`]. [`plot_set`] writes every plot the data supports into
//! `<out>/<sweep name>/`:
//!
//! - [`goodput`]: `goodput-vs-rtt.svg` (with the W/RTT ceiling of each window) and
//!   `goodput-vs-frame-cap.svg`, when the sweep varies the RTT or the frame cap;
//! - [`window`]: `window-growth-rtt<R>ms.svg`, the window trace of repetition 1 as a step plot:
//!   the send credit the server granted our client (upload) and our client's receive window
//!   (download);
//! - [`latency`]: `latency-cdf.svg` from the `latency_ms.hgrm` histograms;
//! - [`intervals`]: `throughput-rtt<R>ms.svg`, the per-interval goodput of repetition 1.
//!
//! Each series is one case; its label names only what differs between the cases of the plot
//! (peer, RTT, window, accounting, frame cap, streams). Text is laid out by the SVG viewer
//! (plotters' `ttf` feature is off, so plotters only estimates text widths), which is why
//! legends are drawn in a column of their own.

pub mod fairness;
pub mod goodput;
pub mod intervals;
pub mod latency;
pub(crate) mod style;
pub mod window;

use std::fs;
use std::path::{Path, PathBuf};

use crate::results::{CaseResult, Spread, Summary};
use crate::sweep::hgrm::HgrmError;

/// Why a plot could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The input path does not exist.
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    /// A directory without `summary.json`.
    #[error(
        "{0}: not a sweep output directory (no summary.json; give a directory written by `yamux-perf sweep`, its summary.json or a cases/<id>.json)"
    )]
    NoSummary(PathBuf),
    /// A file could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file is not a summary or case result of this schema.
    #[error("{path} is not a sweep summary.json or case JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A window trace line did not parse.
    #[error("{path}:{line}: not a window trace line")]
    Trace {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A histogram file did not parse.
    #[error("{path}: not an HdrHistogram percentile distribution")]
    Hgrm {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: HgrmError,
    },
    /// The input holds no case with a passing measured run.
    #[error("{0}: no case to plot")]
    Empty(PathBuf),
    /// plotters failed.
    #[error("drawing {plot}: {message}")]
    Draw {
        /// The plot's file name.
        plot: String,
        /// plotters' error.
        message: String,
    },
    /// An output file or directory could not be written.
    #[error("writing {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// One case and the directory its relative file names (`window_trace`, histograms) start from.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case JSON.
    pub result: CaseResult,
    /// The directory of the case JSON.
    pub dir: PathBuf,
}

impl Case {
    /// Upload goodput of the passing measured runs, Gbit/s.
    pub fn upload_gbit_s(&self) -> Option<Spread> {
        Spread::of(self.result.measured().filter_map(|r| r.upload_gbit_s()))
    }

    /// Download goodput of the passing measured runs, Gbit/s.
    pub fn download_gbit_s(&self) -> Option<Spread> {
        Spread::of(self.result.measured().filter_map(|r| r.download_gbit_s()))
    }
}

/// The cases of one sweep output (or a single case), in the summary's order.
#[derive(Debug, Clone)]
pub struct ResultSet {
    /// The sweep's name, or `<sweep>-<id>` for a single case: the output subdirectory.
    pub name: String,
    /// Where it was read from.
    pub source: PathBuf,
    /// The cases.
    pub cases: Vec<Case>,
}

fn read(path: &Path) -> Result<String, PlotError> {
    fs::read_to_string(path).map_err(|source| PlotError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, PlotError> {
    serde_json::from_str(&read(path)?).map_err(|source| PlotError::Json {
        path: path.to_path_buf(),
        source,
    })
}

impl ResultSet {
    /// Reads a sweep output directory, its `summary.json`, or one `cases/<id>.json`.
    pub fn load(path: &Path) -> Result<ResultSet, PlotError> {
        if !path.exists() {
            return Err(PlotError::Missing(path.to_path_buf()));
        }
        let summary_path = if path.is_dir() {
            let s = path.join("summary.json");
            if !s.is_file() {
                return Err(PlotError::NoSummary(path.to_path_buf()));
            }
            s
        } else if path.file_name().is_some_and(|n| n == "summary.json") {
            path.to_path_buf()
        } else {
            let result: CaseResult = parse_json(path)?;
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            return Ok(ResultSet {
                name: format!("{}-{}", result.sweep, result.id),
                source: path.to_path_buf(),
                cases: vec![Case { result, dir }],
            });
        };
        let summary: Summary = parse_json(&summary_path)?;
        let dir = summary_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("cases");
        let cases = summary
            .cases
            .iter()
            .map(|row| {
                let result = parse_json(&dir.join(format!("{}.json", row.id)))?;
                Ok(Case {
                    result,
                    dir: dir.clone(),
                })
            })
            .collect::<Result<Vec<_>, PlotError>>()?;
        if cases.is_empty() {
            return Err(PlotError::Empty(path.to_path_buf()));
        }
        Ok(ResultSet {
            name: summary.sweep,
            source: path.to_path_buf(),
            cases,
        })
    }
}

/// The set's cases grouped by RTT, in order of first appearance.
pub(crate) fn by_rtt<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Vec<(f64, Vec<&'a Case>)> {
    let mut groups: Vec<(f64, Vec<&Case>)> = Vec::new();
    for case in cases {
        let rtt = case.result.config.rtt_ms;
        match groups.iter_mut().find(|(r, _)| *r == rtt) {
            Some((_, g)) => g.push(case),
            None => groups.push((rtt, vec![case])),
        }
    }
    groups
}

/// A rendered plot: its file name and the SVG text.
#[derive(Debug, Clone)]
pub struct Svg {
    /// File name under the set's output directory.
    pub file: String,
    /// The document.
    pub text: String,
}

/// Every plot the set's data supports, rendered in memory.
pub fn render_set(set: &ResultSet) -> Result<Vec<Svg>, PlotError> {
    let mut out = Vec::new();
    out.extend(goodput::render(set, goodput::Axis::Rtt)?);
    out.extend(goodput::render(set, goodput::Axis::FrameCap)?);
    out.extend(window::render(set)?);
    out.extend(latency::render(set)?);
    out.extend(intervals::render(set)?);
    out.extend(fairness::render(set)?);
    Ok(out)
}

/// Renders every plot of `set` into `<out>/<set name>/` and returns the files written.
pub fn plot_set(set: &ResultSet, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let svgs = render_set(set)?;
    let dir = out.join(&set.name);
    fs::create_dir_all(&dir).map_err(|source| PlotError::Write {
        path: dir.clone(),
        source,
    })?;
    svgs.into_iter()
        .map(|svg| {
            let path = dir.join(&svg.file);
            fs::write(&path, svg.text).map_err(|source| PlotError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}
