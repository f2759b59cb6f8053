//! The floor a `normalize` rewrite is measured against, as a whole process: walks a
//! tree, then on every core reads each `*.json` file, parses it into a
//! `serde_json::Value` and replaces it atomically with the same bytes (a temporary
//! file beside it, one `syncfs` for the run, then a rename), as `normalize` replaces a
//! changed file, and does nothing else (`benches::floors::rewrite_all`).
//!
//! ```sh
//! cargo build --release -p benches -p inference-recorder-normalize --example rewrite_floor --example make_tree --bin normalize
//! target/release/examples/make_tree /tmp/fresh 10000 --fresh
//! target/release/examples/rewrite_floor /tmp/fresh
//! ```

use std::path::PathBuf;

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: rewrite_floor <tree>");
        std::process::exit(2);
    };
    let paths = benches::floors::json_files(&root);
    let files = benches::floors::rewrite_all(&root, &paths);
    println!("{files} files rewritten");
}
