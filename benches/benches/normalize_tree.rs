//! `normalize` over generated trees: a realistic mix of OpenAI and Ollama recordings,
//! single bodies and streams. Target: over 10 000 files per second on 2 cores.

use benches::{normalize_tree, settle};
use divan::Bencher;
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

/// Every file needs rewriting: read, parse, normalize, compare, atomic write.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 3, sample_size = 1)]
fn normalize_fresh_tree(bencher: Bencher, files: usize) {
    bencher
        .counter(ItemsCount::new(files))
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
            normalize_tree(dir.path(), files);
            let found = normalize::collect_files(&[dir.path().to_path_buf()])
                .unwrap_or_else(|err| panic!("{err}"))
                .files;
            settle();
            (dir, found)
        })
        .bench_local_values(|(dir, found)| {
            let report = normalize::run(found, true, &|| {});
            assert_eq!(report.modified(), files);
            // Returned, so deleting the tree happens after the timing.
            dir
        });
}

/// Nothing to change (`--check` on a clean tree): read, parse, normalize, compare.
#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5, sample_size = 1)]
fn check_clean_tree(bencher: Bencher, files: usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    normalize_tree(dir.path(), files);
    let found = normalize::collect_files(&[dir.path().to_path_buf()])
        .unwrap_or_else(|err| panic!("{err}"))
        .files;
    normalize::run(found.clone(), true, &|| {});
    settle();
    bencher
        .counter(ItemsCount::new(files))
        .with_inputs(|| found.clone())
        .bench_local_values(|found| {
            let report = normalize::run(found, false, &|| {});
            assert_eq!(report.modified(), 0);
        });
}
