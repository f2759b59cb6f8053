//! The floor `normalize --check` and `--dry-run` are measured against, as a whole
//! process: walks a tree, then reads every `*.json` file and parses it into a
//! `serde_json::Value` on every core (`benches::floors::parse_all`), and does nothing
//! else. With `--read-only`, only reads them.
//!
//! ```sh
//! cargo build --release -p benches -p inference-recorder-normalize --example parse_floor --bin normalize
//! target/release/examples/parse_floor TREE; target/release/normalize TREE --check
//! ```

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let read_only = args.iter().any(|arg| arg == "--read-only");
    let Some(root) = args
        .iter()
        .find(|arg| !arg.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: parse_floor <tree> [--read-only]");
        std::process::exit(2);
    };
    let paths = benches::floors::json_files(&root);
    let bytes = if read_only {
        benches::floors::read_all(&paths)
    } else {
        benches::floors::parse_all(&paths)
    };
    println!("{} files, {bytes} bytes", paths.len());
}
