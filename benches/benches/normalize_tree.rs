//! `normalize` over generated trees (a realistic mix of OpenAI and Ollama recordings,
//! single bodies and streams), each figure beside its floor from `benches::floors`:
//! reading every file, reading and parsing every file, and parsing plus an atomic
//! rewrite of every file.

use benches::{floors, normalize_tree, settle};
use divan::Bencher;
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

/// A generated tree and its files, as `normalize` would collect them.
fn tree(files: usize) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    normalize_tree(dir.path(), files);
    let found = normalize::collect_files(&[dir.path().to_path_buf()])
        .unwrap_or_else(|err| panic!("{err}"))
        .files;
    (dir, found)
}

/// A tree with its writes on the disk, so the timing does not pay for them.
fn settled<T>(tree: T) -> T {
    settle();
    tree
}

/// Every file needs rewriting: read, parse, normalize, atomic write.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 3, sample_size = 1)]
fn normalize_fresh_tree(bencher: Bencher, files: usize) {
    bencher
        .counter(ItemsCount::new(files))
        .with_inputs(|| settled(tree(files)))
        .bench_local_values(|(dir, found)| {
            let report = normalize::run(found, normalize::Settings::new(true), &|| {});
            assert_eq!(report.modified(), files);
            // Returned, so deleting the tree happens after the timing.
            dir
        });
}

/// The floor of `normalize_fresh_tree`: every file read, parsed and replaced
/// atomically with its own bytes.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 3, sample_size = 1)]
fn rewrite_floor(bencher: Bencher, files: usize) {
    bencher
        .counter(ItemsCount::new(files))
        .with_inputs(|| settled(tree(files)))
        .bench_local_values(|(dir, found)| {
            assert_eq!(floors::rewrite_all(dir.path(), &found), files);
            dir
        });
}

/// A clean tree, normalized once, with its files.
fn clean_tree(files: usize) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let (dir, found) = tree(files);
    normalize::run(found.clone(), normalize::Settings::new(true), &|| {});
    settled((dir, found))
}

/// Nothing to change (`--check` on a clean tree): read, parse, normalize, compare.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5, sample_size = 1)]
fn check_clean_tree(bencher: Bencher, files: usize) {
    let (_dir, found) = clean_tree(files);
    bencher
        .counter(ItemsCount::new(files))
        .with_inputs(|| found.clone())
        .bench_local_values(|found| {
            let report = normalize::run(found, normalize::Settings::new(false), &|| {});
            assert_eq!(report.modified(), 0);
        });
}

/// `check_clean_tree` without the check that each file is named by its request's key
/// (`--no-name-check`): what that check costs.
#[divan::bench(args = [10_000], sample_count = 5, sample_size = 1)]
fn check_clean_tree_without_names(bencher: Bencher, files: usize) {
    let (_dir, found) = clean_tree(files);
    let settings = normalize::Settings {
        write: false,
        check_names: false,
    };
    bencher
        .counter(ItemsCount::new(files))
        .with_inputs(|| found.clone())
        .bench_local_values(|found| {
            let report = normalize::run(found, settings, &|| {});
            assert_eq!(report.modified(), 0);
        });
}

/// The floor of `check_clean_tree`: every file read and parsed.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5, sample_size = 1)]
fn parse_floor(bencher: Bencher, files: usize) {
    let (_dir, found) = clean_tree(files);
    bencher
        .counter(ItemsCount::new(files))
        .bench_local(|| floors::parse_all(&found));
}

/// Below that: every file read, nothing parsed.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5, sample_size = 1)]
fn read_floor(bencher: Bencher, files: usize) {
    let (_dir, found) = clean_tree(files);
    bencher
        .counter(ItemsCount::new(files))
        .bench_local(|| floors::read_all(&found));
}
