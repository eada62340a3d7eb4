//! Every committed plot under plots/ regenerates byte for byte from its committed results, and
//! every plot the results support is committed: a change to the plotting code or to the result
//! types that alters a published figure fails here (re-run `yamux-perf plot`, see
//! plots/README.md, and commit the new figures on purpose).

use std::collections::BTreeSet;
use std::path::Path;

use yamux_perf::plot::{self, ResultSet};

/// The result sets behind the plot folders (plots/README.md).
const SETS: &[&str] = &[
    "window-autotune",
    "go-vs-ours",
    "frame-caps",
    "stack-cost-2026-11-25",
    "stack-vs-go-2026-11-26",
    "window-autotune-sim",
    "ramp-sim",
];

#[test]
fn committed_plots_regenerate_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut folders = BTreeSet::new();
    let mut compared = 0;
    for name in SETS {
        let set = ResultSet::load(&root.join("results").join(name)).expect("results load");
        let svgs = plot::render_set(&set).expect("results plot");
        let dir = root.join("plots").join(&set.name);
        let committed: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".svg"))
            .collect();
        let rendered: BTreeSet<String> = svgs.iter().map(|s| s.file.clone()).collect();
        assert_eq!(
            rendered, committed,
            "{}: plots rendered vs committed",
            set.name
        );
        for svg in &svgs {
            let path = dir.join(&svg.file);
            let on_disk = std::fs::read_to_string(&path).unwrap();
            assert!(
                on_disk == svg.text,
                "{} no longer regenerates byte for byte from results/{name}",
                path.display()
            );
            compared += 1;
        }
        folders.insert(set.name.clone());
    }
    // Every plot folder is covered by a result set above (but the dashboard's, which
    // tests/dashboard.rs checks against results/history).
    let on_disk: BTreeSet<String> = std::fs::read_dir(root.join("plots"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir() && e.file_name() != "dashboard")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders, on_disk, "plot folders without a result set here");
    assert!(compared >= SETS.len(), "compared {compared} plots");
}
