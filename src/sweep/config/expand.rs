//! Expansion: the run plan, the matrix multiplied out in [`Key::ALL`] order, the overrides and
//! excludes applied, each assignment built into a [`Case`]. A pure function of the file and the
//! host facts.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::keys::{Key, SAME_AS_MAX_WINDOW};
use super::peers::PeerTable;
use super::schema::{Matrix, SweepFile};
use super::{
    Case, ConfigError, DEFAULT_INTERVAL_S, DEFAULT_REPETITIONS, DEFAULT_TIMEOUT_S, Skipped, Sweep,
    case_from_config,
};
use crate::results::{CaseConfig, RunPlan, Stack};
use crate::sweep::host::HostFacts;
use crate::units::parse_duration;

fn plan_value(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Value {
        key: key.into(),
        value: format!("{value:?}"),
        reason: reason.into(),
    }
}

fn seconds(key: &str, text: Option<&str>, default: f64, min: f64) -> Result<f64, ConfigError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let d = parse_duration(text).map_err(|e| plan_value(key, text, &e.to_string()))?;
    let s = d.as_secs_f64();
    if s < min {
        return Err(plan_value(key, text, &format!("at least {min} s")));
    }
    Ok(s)
}

/// The run plan of a file.
fn plan(file: &SweepFile) -> Result<RunPlan, ConfigError> {
    let repetitions = file.repetitions.unwrap_or(DEFAULT_REPETITIONS);
    if !(1..=1000).contains(&repetitions) {
        return Err(plan_value(
            "repetitions",
            &repetitions.to_string(),
            "from 1 to 1000",
        ));
    }
    let warmup = file.warmup.unwrap_or(0);
    if warmup > 100 {
        return Err(plan_value("warmup", &warmup.to_string(), "at most 100"));
    }
    Ok(RunPlan {
        engine: file.engine.unwrap_or_default(),
        repetitions,
        warmup,
        timeout_s: seconds("timeout", file.timeout.as_deref(), DEFAULT_TIMEOUT_S, 1.0)?,
        interval_s: seconds(
            "interval",
            file.interval.as_deref(),
            DEFAULT_INTERVAL_S,
            0.01,
        )?,
    })
}

/// Parses every value of a table (`[matrix]`, a `when`, a `set`, an `[[exclude]]`).
fn parse_table(matrix: &Matrix, table: &str) -> Result<Vec<(Key, Vec<Value>)>, ConfigError> {
    matrix
        .entries()
        .into_iter()
        .map(|(key, values)| {
            let name = format!("{table}.{}", key.name());
            let values = values.as_slice();
            if values.is_empty() {
                return Err(ConfigError::EmptyList { key: name });
            }
            let typed = values
                .iter()
                .map(|v| {
                    key.parse(v).map_err(|reason| ConfigError::Value {
                        key: name.clone(),
                        value: v.to_string(),
                        reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((key, typed))
        })
        .collect()
}

/// A value for every key.
type Assignment = BTreeMap<Key, Value>;

fn matches(assignment: &Assignment, condition: &[(Key, Vec<Value>)]) -> bool {
    condition
        .iter()
        .all(|(key, values)| assignment.get(key).is_some_and(|v| values.contains(v)))
}

/// Expands a parsed file; `stem` names the sweep when the file does not; `host` gives the
/// limits the notes compare settings with.
pub fn expand(file: &SweepFile, stem: &str, host: &HostFacts) -> Result<Sweep, ConfigError> {
    let plan = plan(file)?;
    let peers = PeerTable::with_file(&file.peers)?;
    let axes = parse_table(&file.matrix, "matrix")?;
    let overrides = file
        .overrides
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let when = parse_table(&o.when, &format!("override[{i}].when"))?;
            let set = parse_table(&o.set, &format!("override[{i}].set"))?
                .into_iter()
                .map(|(key, mut values)| {
                    if values.len() != 1 {
                        return Err(ConfigError::Value {
                            key: format!("override[{i}].set.{}", key.name()),
                            value: format!("a list of {}", values.len()),
                            reason: "an override sets one value".into(),
                        });
                    }
                    Ok((key, values.remove(0)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((when, set))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let excludes = file
        .exclude
        .iter()
        .enumerate()
        .map(|(i, m)| parse_table(m, &format!("exclude[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;

    let mut assignments: Vec<Assignment> = vec![Assignment::new()];
    for &key in Key::ALL {
        let values = axes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| vec![key.default_value()]);
        assignments = assignments
            .into_iter()
            .flat_map(|a| {
                values.iter().map(move |v| {
                    let mut a = a.clone();
                    a.insert(key, v.clone());
                    a
                })
            })
            .collect();
    }

    let mut cases = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut seen = HashSet::new();
    for mut assignment in assignments {
        for (when, set) in &overrides {
            if matches(&assignment, when) {
                for (key, value) in set {
                    assignment.insert(*key, value.clone());
                }
            }
        }
        if excludes.iter().any(|e| matches(&assignment, e)) {
            continue;
        }
        let case = match build_case(&assignment, &peers, host) {
            Ok(case) => case,
            Err(ConfigError::Unsupported { label, reason }) => {
                let skip = Skipped { label, reason };
                if !skipped.contains(&skip) {
                    skipped.push(skip);
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if seen.insert(case.id.clone()) {
            cases.push(case);
        }
    }
    if cases.is_empty()
        && let Some(first) = skipped.first().cloned()
    {
        return Err(ConfigError::Unsupported {
            label: first.label,
            reason: format!("{} (and no other case is left to run)", first.reason),
        });
    }
    let sweep = Sweep {
        name: file.name.clone().unwrap_or_else(|| stem.to_string()),
        description: file.description.clone(),
        plan,
        cases,
        skipped,
    };
    if sweep.plan.engine == crate::results::Engine::Sim {
        super::sim::check(file, &sweep)?;
    }
    Ok(sweep)
}

/// The config of an assignment: each key's value is the JSON of its field, so the config is
/// the assignment deserialized (an absent option, `null`, is left out).
fn case_config(a: &Assignment) -> Result<CaseConfig, ConfigError> {
    let stack = if a.get(&Key::Stack) == Some(&Value::from(Stack::Tcp.as_str())) {
        Stack::Tcp
    } else {
        Stack::Yamux
    };
    let value = |key: Key| match a.get(&key) {
        Some(v) if key.applies_to(stack) => v.clone(),
        _ => key.default_value(),
    };
    let mut fields = serde_json::Map::new();
    for &key in Key::ALL {
        let mut v = value(key);
        if key == Key::InitialWindow && v == SAME_AS_MAX_WINDOW {
            v = value(Key::MaxWindow);
        }
        if !v.is_null() {
            fields.insert(key.field().to_string(), v);
        }
    }
    let json = Value::Object(fields);
    serde_json::from_value(json.clone()).map_err(|e| ConfigError::Value {
        key: "matrix".into(),
        value: json.to_string(),
        reason: format!("not a case config: {e}"),
    })
}

fn build_case(a: &Assignment, peers: &PeerTable, host: &HostFacts) -> Result<Case, ConfigError> {
    let config = case_config(a)?;
    let peer = peers.get(&config.peer)?.clone();
    case_from_config(config, peer, host)
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;
    use crate::results::LatencyMode;
    use crate::security::Security;
    use crate::yamux::{AutotuneRule, WindowAccounting};

    #[test]
    fn every_list_multiplies_and_scalars_apply_to_all() {
        let sweep = parse(
            r#"
            [matrix]
            rtt = ["0ms", "10ms", "50ms"]
            max_window = ["1MiB", "16MiB"]
            autotune = [true, false]
            upload = "1MiB"
            download = 1048576
            "#,
        )
        .unwrap();
        assert_eq!(sweep.cases.len(), 12);
        assert_eq!(sweep.name, "inline");
        assert!(sweep.cases.iter().all(|c| c.config.upload_bytes == 1 << 20
            && c.config.download_bytes == 1 << 20
            && c.config.peer == "ours"));
        // First key outermost: rtt changes slowest, autotune fastest.
        let first: Vec<_> = sweep.cases[..4]
            .iter()
            .map(|c| {
                (
                    c.config.rtt_ms,
                    c.config.max_window_bytes,
                    c.config.autotune,
                )
            })
            .collect();
        assert_eq!(
            first,
            [
                (0.0, 1 << 20, true),
                (0.0, 1 << 20, false),
                (0.0, 16 << 20, true),
                (0.0, 16 << 20, false)
            ]
        );
        assert_eq!(sweep.plan.repetitions, DEFAULT_REPETITIONS);
    }

    #[test]
    fn overrides_excludes_and_max_window_initial() {
        let sweep = parse(
            r#"
            [matrix]
            rtt = ["0ms", "100ms"]
            max_window = ["256KiB", "4MiB"]
            autotune = [true, false]
            window_accounting = ["full", "go"]
            upload = "64MiB"

            [[override]]
            when = { rtt = "100ms", max_window = ["256KiB"] }
            set = { upload = "4MiB" }

            [[override]]
            when = { autotune = false }
            set = { initial_window = "max_window" }

            [[exclude]]
            autotune = false
            window_accounting = "go"
            "#,
        )
        .unwrap();
        assert_eq!(sweep.cases.len(), 2 * 2 * 3);
        for c in &sweep.cases {
            let slow = c.config.rtt_ms == 100.0 && c.config.max_window_bytes == 256 << 10;
            assert_eq!(c.config.upload_bytes, if slow { 4 << 20 } else { 64 << 20 });
            if !c.config.autotune {
                assert_eq!(c.config.initial_window_bytes, c.config.max_window_bytes);
                assert_eq!(c.config.window_accounting, WindowAccounting::Full);
                assert!(c.label.contains("fixed"), "{}", c.label);
            }
        }
    }

    #[test]
    fn identical_cases_are_merged() {
        let sweep = parse("[matrix]\nupload = [\"1MiB\", \"1024KiB\"]").unwrap();
        assert_eq!(sweep.cases.len(), 1);
    }

    #[test]
    fn tcp_cases_do_not_multiply_yamux_axes() {
        let sweep = parse(
            r#"
            [matrix]
            stack = ["tcp", "yamux"]
            security = ["noise", "plaintext"]
            max_window = ["1MiB", "16MiB"]
            autotune = [true, false]
            autotune_rule = ["go", "ramp"]
            max_frame = ["16KiB", "64KiB"]
            upload = "1MiB"
            "#,
        )
        .unwrap();
        let (tcp, yamux): (Vec<_>, Vec<_>) = sweep
            .cases
            .iter()
            .partition(|c| c.config.stack == Stack::Tcp);
        assert_eq!(
            tcp.len(),
            1,
            "security and the yamux keys merge into one tcp case"
        );
        assert_eq!(yamux.len(), 2 * 2 * 2 * 2 * 2);
        let t = &tcp[0].config;
        assert_eq!(
            (
                t.security,
                t.max_window_bytes,
                t.autotune,
                t.autotune_rule,
                t.max_frame_bytes
            ),
            (Security::Noise, 16 << 20, true, AutotuneRule::Go, 64 << 10),
            "kept at their defaults"
        );
        assert_eq!(tcp[0].label, "ours rtt=0ms stack=tcp 1sx1c up=1MiB down=0B");
        assert!(tcp[0].notes.iter().any(|n| n.contains("do not apply")));
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(json["stack"], "tcp");
        assert!(json.get("security").is_none());
        let plain = yamux
            .iter()
            .find(|c| c.config.security == Security::Plaintext)
            .unwrap();
        assert!(plain.label.contains(" sec=plaintext "), "{}", plain.label);
        let json = serde_json::to_value(&plain.config).unwrap();
        assert_eq!(json["security"], "plaintext");
        assert!(json.get("stack").is_none());
        // The defaults, written out, give the ids of configs without the keys.
        let explicit = parse(
            "[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nstack = \"yamux\"\nsecurity = \"noise\"\nsend_buffer = \"auto\"\nautotune_rule = \"go\"",
        )
        .unwrap();
        assert_eq!(explicit.cases[0].id, "740d21ba93b2");
    }

    #[test]
    fn autotune_rule_is_swept_and_keeps_old_ids_at_go() {
        let sweep = parse(
            "[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nautotune_rule = [\"go\", \"ramp\"]",
        )
        .unwrap();
        let (go, ramp) = (&sweep.cases[0], &sweep.cases[1]);
        assert_eq!(
            go.id, "740d21ba93b2",
            "go is the default and leaves the id alone"
        );
        assert_eq!(ramp.config.autotune_rule, AutotuneRule::Ramp);
        assert_ne!(ramp.id, go.id);
        assert!(!go.label.contains("rule="), "{}", go.label);
        assert!(
            ramp.label.contains(" frame=64KiB rule=ramp 1sx1c "),
            "{}",
            ramp.label
        );
        assert!(
            serde_json::to_value(&go.config)
                .unwrap()
                .get("autotune_rule")
                .is_none()
        );
        assert_eq!(
            serde_json::to_value(&ramp.config).unwrap()["autotune_rule"],
            "ramp"
        );
    }

    #[test]
    fn latency_mode_picks_the_latency_run_and_keeps_old_ids() {
        let sweep = parse(
            "[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nlatency_rounds = 10\nlatency_mode = [\"perf\", \"ping\"]",
        )
        .unwrap();
        let (perf, ping) = (&sweep.cases[0], &sweep.cases[1]);
        assert_eq!(perf.config.latency_mode, LatencyMode::Perf);
        assert_eq!(ping.config.latency_mode, LatencyMode::Ping);
        assert!(perf.label.ends_with(" lat=10"), "{}", perf.label);
        assert!(ping.label.ends_with(" lat=10 ping"), "{}", ping.label);
        assert!(
            serde_json::to_value(&perf.config)
                .unwrap()
                .get("latency_mode")
                .is_none()
        );
        assert_eq!(
            serde_json::to_value(&ping.config).unwrap()["latency_mode"],
            "ping"
        );
        let without =
            parse("[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"\nlatency_rounds = 10").unwrap();
        assert_eq!(
            without.cases[0].id, perf.id,
            "perf is the default and leaves the id alone"
        );
        assert_ne!(ping.id, perf.id);
        assert!(
            super::super::tests::error("[matrix]\nlatency_mode = \"echo\"")
                .contains("\"perf\" or \"ping\"")
        );
    }

    #[test]
    fn probe_key_adds_the_probe_and_keeps_old_ids() {
        let sweep = parse("[matrix]\ndownload = \"64MiB\"\nprobe = [\"none\", \"ping\"]").unwrap();
        let (none, ping) = (&sweep.cases[0], &sweep.cases[1]);
        assert_eq!(none.config.probe, None);
        assert_eq!(ping.config.probe, Some(crate::probe::ProbeKind::Ping));
        assert!(ping.label.contains(" probe=ping"), "{}", ping.label);
        assert!(!none.label.contains("probe"), "{}", none.label);
        assert!(
            serde_json::to_value(&none.config)
                .unwrap()
                .get("probe")
                .is_none()
        );
        assert_eq!(serde_json::to_value(&ping.config).unwrap()["probe"], "ping");
        let without = parse("[matrix]\ndownload = \"64MiB\"").unwrap();
        assert_eq!(without.cases[0].id, none.id, "no probe leaves the id alone");
        let e = super::super::tests::error("[matrix]\nprobe = \"echo\"");
        assert!(e.contains("\"ping\" or \"none\""), "{e}");
    }

    #[test]
    fn stagger_and_short_flows_keys_reach_the_config_and_keep_old_ids() {
        let sweep = parse(
            "[matrix]\ndownload = \"64MiB\"\nstreams = 4\nstagger = [0, \"200ms\"]\nshort_flows = [\"none\", \"20:64KiB\"]",
        )
        .unwrap();
        let configs: Vec<_> = sweep.cases.iter().map(|c| &c.config).collect();
        assert_eq!(configs.len(), 4);
        assert!(configs.iter().any(|c| c.stagger_ms == Some(200.0)));
        let flows = configs.iter().find_map(|c| c.short_flows).unwrap();
        assert_eq!(flows.to_string(), "20:64KiB");
        let staggered = sweep
            .cases
            .iter()
            .find(|c| c.config.stagger_ms.is_some())
            .unwrap();
        let label = super::super::label::label(&staggered.config);
        assert!(
            label.contains(" stagger=200ms"),
            "the label has the unit: {label}"
        );
        let plain = &sweep.cases[0];
        assert_eq!(
            (plain.config.stagger_ms, plain.config.short_flows),
            (None, None)
        );
        let without = parse("[matrix]\ndownload = \"64MiB\"\nstreams = 4").unwrap();
        assert_eq!(
            without.cases[0].id, plain.id,
            "the defaults leave the id alone"
        );
        let e = super::super::tests::error("[matrix]\nshort_flows = \"0:1KiB\"");
        assert!(e.contains("COUNT:SIZE"), "{e}");
        let e = super::super::tests::error("[matrix]\nstagger = \"-1s\"");
        assert!(e.contains("duration"), "{e}");
    }
}
