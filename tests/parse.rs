//! The `parse` command against the public corpus in fixtures/: golden JSON
//! for every file.

use dsmr_engine::Zone;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// Every fixture against its golden JSON (tests/golden/*.jsonl), as the
/// `parse` command prints it. `UPDATE_GOLDEN=1` rewrites them; each golden
/// file was checked by hand against its telegram.
#[test]
fn golden_json_for_every_fixture() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let files = fixtures();
    assert!(files.len() >= 34, "the corpus is in fixtures/");
    let mut failures = Vec::new();
    for path in files {
        let input = std::fs::read(&path).expect("read fixture");
        let mut out = Vec::new();
        let _ = dsmr_exporter::cmd::parse::run(&mut &input[..], &mut out, Zone::CET);
        let name = path.file_stem().and_then(|s| s.to_str()).expect("name");
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("{name}.jsonl"));
        if update {
            std::fs::write(&golden, &out).expect("write golden");
            continue;
        }
        let want = std::fs::read(&golden).unwrap_or_default();
        if want != out {
            failures.push(name.to_owned());
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (UPDATE_GOLDEN=1 to rewrite, then check by hand): {failures:?}"
    );
}
