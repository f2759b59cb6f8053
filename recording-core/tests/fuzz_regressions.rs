//! The fuzz targets' checks (fuzz/checks.rs) over every input the fuzzers found
//! interesting enough to keep (fuzz/regressions/), and over real recordings: a crash
//! found once stays fixed, and the checks themselves run in every `cargo test`.

#[path = "../../fuzz/checks.rs"]
#[allow(unreachable_pub)] // Its functions are the fuzz targets' too.
mod checks;

use std::fs;
use std::path::{Path, PathBuf};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file() && !path.ends_with("README.md"))
        .collect();
    files.sort();
    files
}

fn regressions(target: &str) -> Vec<PathBuf> {
    files_in(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions")
            .join(target),
    )
}

#[test]
fn the_recording_reader_survives_every_kept_input_and_real_recordings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = regressions("read_recording");
    let kept = inputs.len();
    inputs.extend(files_in(&root.join("../tests/recordings/responses")));
    inputs.extend(files_in(&root.join("../tests/fixtures/llama-stack")));
    assert!(kept > 0, "no kept fuzz inputs were found");
    assert!(inputs.len() > kept + 10, "no real recordings were found");
    for input in inputs {
        let bytes = fs::read(&input).expect("readable");
        checks::read_recording(&bytes);
        // Every prefix is a torn file, as a crash mid-write would leave without the
        // atomic rename; each is an error, never a panic.
        for cut in (0..bytes.len()).step_by(97) {
            checks::read_recording(&bytes[..cut]);
        }
    }
}

#[test]
fn the_canonicaliser_survives_every_kept_input() {
    let inputs = regressions("canonicalize");
    assert!(!inputs.is_empty(), "no kept fuzz inputs were found");
    for input in inputs {
        checks::canonicalize(&fs::read(&input).expect("readable"));
    }
}
