//! `engine = "sim"`: a case run by [`crate::sim`] instead of processes and the relay, written to
//! the same files (case JSON, window trace, histograms) as [`super::run`] writes.
//!
//! A simulated case is deterministic, so it runs once whatever the plan's `repetitions` (the
//! case says so in a note, and its plan records the one run). Its file records no machine, no
//! revision, no start time and no wall-clock seconds: two runs of one model write the same
//! bytes. CPU and RSS are absent (nothing is measured), and so are the connection setup and
//! the peer id.

use std::time::Duration;

use super::config::{Case, Sweep};
use super::run::{
    Observer, RunOptions, SweepError, clear_case, window_growth, write_histograms, write_json,
};
use crate::perf::report::{trace_line, write_trace};
use crate::results::{
    CaseConfig, CaseResult, RunKind, RunPlan, RunResult, SCHEMA_VERSION, WindowTraceLine,
};
use crate::sim::{self, SimSpec, link::LinkConfig};
use crate::yamux;

/// The simulation of a case: its link and both ends' yamux settings (ours at both ends, as the
/// relay sweep runs `ours`).
pub(super) fn spec(c: &CaseConfig, plan: &RunPlan) -> Result<SimSpec, yamux::session::ConfigError> {
    let config = yamux::Config {
        autotune: c.autotune,
        accounting: c.window_accounting,
        autotune_rule: c.autotune_rule,
        ..yamux::Config::default()
    }
    .with_sizes(
        c.initial_window_bytes,
        c.max_window_bytes,
        c.max_frame_bytes,
    )?;
    Ok(SimSpec {
        link: LinkConfig {
            rtt: Duration::from_secs_f64(c.rtt_ms / 1e3),
            rate_bits_per_second: c.rate_bits_per_second,
            queue: usize::try_from(c.queue_bytes).unwrap_or(usize::MAX),
        },
        client: config.clone(),
        server: config,
        streams: c.streams,
        upload: c.upload_bytes,
        download: c.download_bytes,
        interval: Duration::from_secs_f64(plan.interval_s),
        time_limit: Duration::from_secs_f64(plan.timeout_s),
    })
}

/// Runs `case` in the simulation and writes its files.
pub(super) fn run_case(
    case: &Case,
    sweep: &Sweep,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<CaseResult, SweepError> {
    let plan = &sweep.plan;
    let cases_dir = options.out_dir.join("cases");
    std::fs::create_dir_all(&cases_dir).map_err(|source| SweepError::Io {
        action: "creating",
        path: cases_dir.clone(),
        source,
    })?;
    clear_case(&cases_dir, &case.id)?;
    let mut run = RunResult::new(RunKind::Measured, 1, Vec::new());
    observer.run_started(RunKind::Measured, 1, 1);
    let outcome = spec(&case.config, plan)
        .map_err(|e| e.to_string())
        .and_then(|spec| sim::run(&spec).map_err(|e| e.to_string()));
    match outcome {
        Ok(sim) => {
            let name = format!("{}.rep1.window.jsonl", case.id);
            let path = cases_dir.join(&name);
            let file = std::fs::File::create(&path).map_err(|source| SweepError::Io {
                action: "creating",
                path: path.clone(),
                source,
            })?;
            write_trace(&sim.trace, std::io::BufWriter::new(file)).map_err(|source| {
                SweepError::Io {
                    action: "writing",
                    path,
                    source,
                }
            })?;
            let lines: Vec<WindowTraceLine> =
                sim.trace.iter().map(|(c, e)| trace_line(*c, e)).collect();
            run.window_growth = window_growth(&lines, &sim.report, &case.config);
            run.window_trace = Some(name);
            run.client = Some(sim.report);
            run.ok = true;
        }
        Err(error) => run.error = Some(error),
    }
    observer.run_finished(case, &run);
    let measured: Vec<&RunResult> = std::iter::once(&run).filter(|r| r.ok).collect();
    let histograms = write_histograms(&cases_dir, &case.id, plan.interval_s, &measured, None)?;
    let mut notes = case.notes.clone();
    if plan.repetitions > 1 || plan.warmup > 0 {
        notes.push(format!(
            "simulated: deterministic, so one run stands for the {} repetitions (and {} \
             warm-ups) of the plan",
            plan.repetitions, plan.warmup
        ));
    }
    let result = CaseResult {
        schema_version: SCHEMA_VERSION,
        id: case.id.clone(),
        label: case.label.clone(),
        sweep: sweep.name.clone(),
        config: case.config.clone(),
        plan: RunPlan {
            repetitions: 1,
            warmup: 0,
            ..plan.clone()
        },
        peer: case.peer.clone(),
        notes,
        model: Some(sim::MODEL.to_string()),
        machine: None,
        git: None,
        sweep_command: options.sweep_command.clone(),
        started_unix_s: None,
        runs: vec![run],
        latency: None,
        histograms,
    };
    write_json(&cases_dir.join(format!("{}.json", case.id)), &result)?;
    Ok(result)
}
