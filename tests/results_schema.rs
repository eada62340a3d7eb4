//! Every committed sweep result under results/ parses with the current schema types, so a schema
//! change that would orphan old results fails here (bump `SCHEMA_VERSION` and migrate them).
//!
//! Sweep outputs are recognised by name: `summary.json`, `cases/<12 hex>.json`,
//! `cases/*.window.jsonl` and `cases/*.hgrm`. Other files under results/ (older hand-made runs)
//! are not sweep outputs and are skipped. The files checked must be exactly the ones the
//! summaries reference (their cases, and the cases' traces and histograms): nothing orphaned,
//! nothing missing, and an empty results/ fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yamux_perf::results::{CaseResult, SCHEMA_VERSION, Summary, WindowTraceLine};
use yamux_perf::sweep::config::case_id;
use yamux_perf::sweep::hgrm;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn is_case_json(path: &Path) -> bool {
    let in_cases = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "cases");
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    in_cases
        && name.len() == 17
        && name.ends_with(".json")
        && name[..12].chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn committed_results_parse_with_the_current_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let mut checked = BTreeSet::new();
    let mut referenced = BTreeSet::new();
    for path in &all {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text =
            || std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if name == "summary.json" {
            let summary: Summary =
                serde_json::from_str(&text()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(summary.schema_version, SCHEMA_VERSION, "{}", path.display());
            referenced.insert(path.clone());
            for row in &summary.cases {
                let case = path
                    .with_file_name("cases")
                    .join(format!("{}.json", row.id));
                assert!(
                    case.exists(),
                    "{}: row {} has no case file",
                    path.display(),
                    row.id
                );
                referenced.insert(case);
            }
        } else if is_case_json(path) {
            let case: CaseResult =
                serde_json::from_str(&text()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(case.schema_version, SCHEMA_VERSION, "{}", path.display());
            assert_eq!(format!("{}.json", case.id), name, "{}", path.display());
            assert_eq!(
                case_id(&case.config),
                case.id,
                "{}: the case id no longer matches its config's hash",
                path.display()
            );
            for run in case.runs.iter().chain(&case.latency) {
                if let Some(trace) = &run.window_trace {
                    assert!(path.with_file_name(trace).exists(), "{trace}");
                    referenced.insert(path.with_file_name(trace));
                }
            }
            for h in case.histograms.values() {
                assert!(path.with_file_name(&h.file).exists(), "{}", h.file);
                referenced.insert(path.with_file_name(&h.file));
            }
        } else if name.ends_with(".window.jsonl") {
            for (i, line) in text().lines().enumerate() {
                serde_json::from_str::<WindowTraceLine>(line)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
            }
        } else if name.ends_with(".hgrm") {
            hgrm::parse(&text()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        } else {
            continue;
        }
        checked.insert(path.clone());
    }
    eprintln!(
        "checked {} result files under {}",
        checked.len(),
        root.display()
    );
    let orphans: Vec<_> = checked.difference(&referenced).collect();
    assert!(orphans.is_empty(), "no summary refers to {orphans:?}");
    assert_eq!(
        checked.len(),
        referenced.len(),
        "every file the summaries refer to was checked"
    );
    let summaries = checked
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "summary.json"))
        .count();
    let sweep_dirs = all
        .iter()
        .filter_map(|p| p.parent().filter(|d| d.ends_with("cases")))
        .collect::<BTreeSet<_>>()
        .len();
    assert_eq!(summaries, sweep_dirs, "one summary.json per cases/ folder");
    assert!(
        checked.contains(&root.join("baseline").join("summary.json")),
        "results/baseline, the reference of `yamux-perf compare`, was checked"
    );
}

#[test]
fn committed_interop_matrices_parse_with_the_current_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("interop-") && name.ends_with(".json")) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let file: yamux_perf::interop::InteropFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            file.schema_version,
            yamux_perf::interop::SCHEMA_VERSION,
            "{name}"
        );
        assert_eq!(
            file.runs.len(),
            file.table.len() * file.repetitions as usize,
            "{name}"
        );
        checked += 1;
    }
    assert!(checked > 0, "results/ holds at least one interop matrix");
}
