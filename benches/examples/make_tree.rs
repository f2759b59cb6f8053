//! Writes the trees the `normalize` figures are measured on, for whole-process
//! measurements against `parse_floor` and `rewrite_floor`:
//!
//! - generated (the `normalize_tree` bench's: a quarter each OpenAI body, OpenAI
//!   stream, Ollama body, Ollama stream, 1–4 KB), normalized or, with `--fresh`, every
//!   file still to be normalized;
//! - `--real`: the repository's real recordings replicated (see `benches::real_tree`),
//!   normalized.
//!
//! ```sh
//! cargo run --release -p benches --example make_tree -- /tmp/tree100k 100000
//! cargo run --release -p benches --example make_tree -- /tmp/real500 500 --real
//! ```

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|arg| arg == name);
    let positional: Vec<&String> = args.iter().filter(|arg| !arg.starts_with("--")).collect();
    let (Some(dir), Some(count)) = (
        positional.first(),
        positional.get(1).and_then(|n| n.parse().ok()),
    ) else {
        eprintln!("usage: make_tree <dir> <count> [--real | --fresh]");
        std::process::exit(2);
    };
    let dir = Path::new(dir.as_str());
    if flag("--real") {
        benches::real_tree(dir, count);
    } else {
        benches::normalize_tree(dir, count);
    }
    if !flag("--fresh") {
        let files = normalize::collect_files(&[dir.to_path_buf()])
            .unwrap_or_else(|err| panic!("{err}"))
            .files;
        let report = normalize::run(files, normalize::Settings::new(true), &|| {});
        assert_eq!(report.failed(), 0, "every file normalizes");
    }
}
