//! `inference-recorder diff` on a suite of 10 000 recordings with a handful
//! re-recorded: against `HEAD` (git says which files differ; only those are parsed)
//! and against a copy of the directory (every pair of files read and compared). Each
//! beside its floor: `git status` of the directory, and reading every file of both
//! directories on every core.

use std::path::{Path, PathBuf};
use std::process::Command;

use benches::floors;
use divan::Bencher;
use recording_diff::{Baseline, compare};

fn main() {
    divan::main();
}

/// The suite's size and how many of its recordings the re-recording changed.
const FILES: usize = 10_000;
const CHANGED: usize = 5;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|err| panic!("git: {err}"));
    assert!(status.success(), "git {args:?}");
}

/// A repository whose `recordings/responses/` holds [`FILES`] real recordings (copied
/// round-robin, one key each), committed, then [`CHANGED`] of them re-recorded with
/// another answer; and a copy of the directory as committed.
struct Suite {
    _repo: tempfile::TempDir,
    dir: PathBuf,
    before: tempfile::TempDir,
}

fn suite() -> Suite {
    let sources = benches::real_recordings();
    let repo = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let dir = repo.path().join("recordings");
    let before = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    for root in [&dir, &before.path().to_path_buf()] {
        std::fs::create_dir_all(root.join("responses")).unwrap_or_else(|err| panic!("{err}"));
    }
    let name = |i: usize| format!("responses/{i:064x}.json");
    for i in 0..FILES {
        let source = &sources[i % sources.len()];
        for root in [&dir, &before.path().to_path_buf()] {
            std::fs::copy(source, root.join(name(i))).unwrap_or_else(|err| panic!("{err}"));
        }
    }
    git(repo.path(), &["init", "--quiet"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "suite"]);
    for i in 0..CHANGED {
        let path = dir.join(name(i * 997));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{err}"));
        let mut file: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}"));
        file["response"]["status"] = serde_json::json!(503);
        let text = serde_json::to_string_pretty(&file).unwrap_or_else(|err| panic!("{err}"));
        std::fs::write(&path, text).unwrap_or_else(|err| panic!("{err}"));
    }
    // Git's index learns the files' stat data, as in any checkout.
    git(repo.path(), &["status", "--short"]);
    Suite {
        _repo: repo,
        dir,
        before,
    }
}

#[divan::bench(sample_count = 10)]
fn diff_against_head(bencher: Bencher) {
    let suite = suite();
    bencher.bench_local(|| {
        let report = compare(
            &suite.dir,
            &Baseline::revision("HEAD"),
            &registry::PROVIDERS,
        )
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(report.summary.changed, CHANGED);
        report
    });
}

/// The floor: `git status` of the directory, git's own account of what differs.
#[divan::bench(sample_count = 10)]
fn git_status_floor(bencher: Bencher) {
    let suite = suite();
    bencher.bench_local(|| {
        git(
            &suite.dir,
            &[
                "status",
                "--porcelain",
                "--untracked-files=all",
                "--",
                "responses",
            ],
        );
    });
}

#[divan::bench(sample_count = 10)]
fn diff_against_dir(bencher: Bencher) {
    let suite = suite();
    let against = Baseline::Dir(suite.before.path().to_path_buf());
    bencher.bench_local(|| {
        let report = compare(&suite.dir, &against, &registry::PROVIDERS)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(report.summary.changed, CHANGED);
        report
    });
}

/// The floor of comparing two directories: reading every file of both.
#[divan::bench(sample_count = 10)]
fn read_both_floor(bencher: Bencher) {
    let suite = suite();
    let mut paths = floors::json_files(&suite.dir);
    paths.extend(floors::json_files(suite.before.path()));
    bencher.bench_local(|| floors::read_all(&paths));
}
