//! The floor `normalize --check` and `--dry-run` are measured against: a whole process
//! that walks a tree, then reads every `*.json` file and parses it into a
//! `serde_json::Value` (the same parser and features) on every core, as `normalize`
//! does, and does nothing else.
//!
//! ```sh
//! cargo build --release -p benches --example parse_floor -p normalize
//! hyperfine -N 'target/release/examples/parse_floor TREE' 'target/release/normalize TREE --check'
//! ```

use std::path::PathBuf;

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: parse_floor <tree>");
        std::process::exit(2);
    };
    use rayon::prelude::*;
    let paths: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    let (files, bytes) = paths
        .par_iter()
        .filter_map(|path| {
            let text = std::fs::read(path).ok()?;
            let parsed: serde_json::Value = serde_json::from_slice(&text).ok()?;
            drop(parsed);
            Some((1usize, text.len()))
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("{files} files, {bytes} bytes parsed");
}
