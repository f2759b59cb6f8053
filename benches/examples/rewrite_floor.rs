//! The floor a `normalize` rewrite is measured against: a whole process that walks a
//! tree and, on every core, reads each `*.json` file, parses it into a
//! `serde_json::Value` and replaces it atomically with the same bytes (a temporary
//! file beside it, one `syncfs` for the run, then a rename), as `normalize` replaces a
//! changed file, and does nothing else: no rules, no serializing, no checks.
//!
//! ```sh
//! cargo build --release -p benches --example rewrite_floor --example make_tree -p normalize
//! target/release/examples/make_tree /tmp/fresh 10000 --fresh
//! target/release/examples/rewrite_floor /tmp/fresh
//! ```

use std::io::Write;
use std::path::PathBuf;

use rayon::prelude::*;

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: rewrite_floor <tree>");
        std::process::exit(2);
    };
    let paths: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    let staged: Vec<(tempfile::TempPath, &PathBuf)> = paths
        .par_iter()
        .map(|path| {
            let text = std::fs::read(path).unwrap_or_else(|err| panic!("{err}"));
            let parsed: serde_json::Value =
                serde_json::from_slice(&text).unwrap_or_else(|err| panic!("{err}"));
            drop(parsed);
            let dir = path.parent().unwrap_or(&root);
            let mut temp = tempfile::Builder::new()
                .prefix(".tmp-floor-")
                .tempfile_in(dir)
                .unwrap_or_else(|err| panic!("{err}"));
            temp.write_all(&text).unwrap_or_else(|err| panic!("{err}"));
            (temp.into_temp_path(), path)
        })
        .collect();
    let root_dir = std::fs::File::open(&root).unwrap_or_else(|err| panic!("{err}"));
    rustix::fs::syncfs(&root_dir).unwrap_or_else(|err| panic!("{err}"));
    staged.into_par_iter().for_each(|(temp, path)| {
        temp.persist(path).unwrap_or_else(|err| panic!("{err}"));
    });
    println!("{} files rewritten", paths.len());
}
