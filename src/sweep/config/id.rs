//! Content-derived case ids: a hash of the [`CaseConfig`] as canonical JSON.

use crate::results::CaseConfig;

/// JSON with object keys sorted at every level and no whitespace: the same config always gives
/// the same text, whatever the field order of the struct or serde_json's map features.
pub fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String(k.clone()),
                        canonical_json(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The case id: the first 12 hex digits (48 bits) of the SHA-256 of the config's canonical JSON.
pub fn case_id(config: &CaseConfig) -> String {
    let value = serde_json::to_value(config).expect("a plain struct serializes");
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical_json(&value).as_bytes());
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::parse;
    use super::*;
    use crate::results::CaseResult;

    #[test]
    fn case_ids_are_stable_and_depend_only_on_the_config() {
        let a = parse("[matrix]\nupload = \"1MiB\"\nrtt = \"50ms\"").unwrap();
        let b = parse(
            "repetitions = 7\nwarmup = 2\n[matrix]\nrtt = \"50ms\"\nupload = \"1024KiB\"\npeer = \"ours\"",
        )
        .unwrap();
        assert_eq!(a.cases[0].id, b.cases[0].id, "same config, same id");
        assert_eq!(a.cases[0].id.len(), 12);
        assert!(a.cases[0].id.chars().all(|c| c.is_ascii_hexdigit()));
        // Pinned: changing the hash or the canonical form would orphan every committed result.
        assert_eq!(
            canonical_json(&serde_json::to_value(&a.cases[0].config).unwrap()),
            r#"{"autotune":true,"connections":1,"download_bytes":0,"initial_window_bytes":262144,"max_frame_bytes":65536,"max_window_bytes":16777216,"peer":"ours","queue_bytes":4194304,"rtt_ms":50.0,"streams":1,"upload_bytes":1048576,"window_accounting":"full"}"#
        );
        assert_eq!(a.cases[0].id, "740d21ba93b2");
        let c = parse("[matrix]\nupload = \"1MiB\"\nrtt = \"51ms\"").unwrap();
        assert_ne!(a.cases[0].id, c.cases[0].id);
    }

    /// Every committed case of these sweeps keeps its id: recomputed from its config as read
    /// (a field added since, such as `autotune_rule`, is left out at its default).
    #[test]
    fn committed_case_ids_are_recomputed_from_their_config() {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
        let mut checked = 0;
        for sweep in ["baseline", "window-autotune"] {
            let dir = results.join(sweep).join("cases");
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
                let path = entry.unwrap().path();
                if !path.to_string_lossy().ends_with(".json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let case: CaseResult = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(case_id(&case.config), case.id, "{}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} committed cases found");
    }
}
