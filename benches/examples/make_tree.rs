//! Writes the generated tree the `normalize_tree` bench uses (a quarter each OpenAI
//! body, OpenAI stream, Ollama body, Ollama stream, 1–4 KB), for whole-process
//! measurements against `parse_floor`.
//!
//! ```sh
//! cargo run --release -p benches --example make_tree -- /tmp/tree100k 100000
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(count)) = (args.next(), args.next().and_then(|n| n.parse().ok())) else {
        eprintln!("usage: make_tree <dir> <count>");
        std::process::exit(2);
    };
    benches::normalize_tree(std::path::Path::new(&dir), count);
}
