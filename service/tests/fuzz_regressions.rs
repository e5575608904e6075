//! Every input a fuzz run ever flagged, kept under
//! `tests/fuzz-regressions/TARGET/`, through the same checks the fuzz target
//! runs (`flipframe::fuzzing`), in a plain build: CI keeps them fixed without
//! a sanitizer build. The repo's fixtures go through every target too, so
//! the harness itself is exercised on inputs that decode.

use flipframe::fuzzing::{TARGETS, run};
use std::path::{Path, PathBuf};

fn files_in(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn tests_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

#[test]
fn saved_fuzz_findings_stay_fixed() {
    let saved = tests_folder().join("fuzz-regressions");
    let folders = std::fs::read_dir(&saved).expect("tests/fuzz-regressions");
    for folder in folders.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let target = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(TARGETS.contains(&target), "{target} is no fuzz target");
        for input in files_in(&folder) {
            // A panic names the input through the test's output.
            eprintln!("{target}: {}", input.display());
            run(target, &std::fs::read(&input).unwrap());
        }
    }
}

#[test]
fn every_target_takes_the_fixtures_and_their_truncations() {
    let fixtures = files_in(&tests_folder().join("fixtures"));
    assert!(fixtures.len() > 5, "the fixtures are missing");
    for target in TARGETS {
        for fixture in &fixtures {
            let data = std::fs::read(fixture).unwrap();
            for cut in [data.len(), data.len() / 2, data.len() / 7, 16, 0] {
                run(target, &data[..cut.min(data.len())]);
            }
        }
    }
}
