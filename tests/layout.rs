//! The two maps of the source tree stay true: src/lib.rs's `# Layout` names every public
//! module of the library, and docs/layout.md names every file and folder under src/.

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn lib_layout_names_every_public_module() {
    let lib = read("src/lib.rs");
    let start = lib
        .find("//! # Layout")
        .expect("src/lib.rs has a `# Layout` section");
    let layout: String = lib[start..]
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    assert!(modules.len() >= 20, "found only {modules:?}");
    let missing: Vec<&&str> = modules
        .iter()
        .filter(|m| !layout.contains(&format!("[`{m}`]")) && !layout.contains(&format!("`{m}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "src/lib.rs `# Layout` does not describe {missing:?}"
    );
}

#[test]
fn docs_layout_names_every_entry_of_src() {
    let doc = read("docs/layout.md");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let shown = if entry.file_type().unwrap().is_dir() {
            format!("{name}/")
        } else {
            name
        };
        if !doc.contains(&shown) {
            missing.push(shown);
        }
        checked += 1;
    }
    assert!(checked >= 25, "read only {checked} entries of src/");
    assert!(
        missing.is_empty(),
        "docs/layout.md does not name {missing:?}"
    );
}
