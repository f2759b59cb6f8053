//! The floors the `normalize` figures are measured against: the least work a tool that
//! reads (and rewrites) every recording of a tree must do, on every core, as
//! `normalize` works, and nothing else. Used by the `normalize_tree` bench in process
//! and by the `parse_floor` and `rewrite_floor` examples as whole processes.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// Every `*.json` file under `root`, in the order of their inode numbers, as
/// `normalize` takes them (the order they were written in, on the usual file systems,
/// which is the quickest to read and rewrite them in).
pub fn json_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(u64, PathBuf)> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
        .map(|entry| (inode(&entry), entry.into_path()))
        .collect();
    files.sort_by_key(|(inode, _)| *inode);
    files.into_iter().map(|(_, path)| path).collect()
}

fn inode(entry: &walkdir::DirEntry) -> u64 {
    #[cfg(unix)]
    return walkdir::DirEntryExt::ino(entry);
    #[cfg(not(unix))]
    {
        let _ = entry;
        0
    }
}

/// Reads every file; returns the bytes read.
pub fn read_all(paths: &[PathBuf]) -> usize {
    paths.par_iter().map(|path| read(path).len()).sum()
}

/// Reads every file and parses it into a `serde_json::Value` (the same parser and
/// features as `normalize`); returns the bytes parsed.
pub fn parse_all(paths: &[PathBuf]) -> usize {
    paths
        .par_iter()
        .map(|path| {
            let text = read(path);
            drop(parse(path, &text));
            text.len()
        })
        .sum()
}

/// Reads and parses every file, then replaces each atomically with the same bytes, as
/// `normalize` replaces a changed file: a temporary file beside it, one `syncfs` for
/// the run, then a rename. No rules, no serializing, no checks. Returns the files
/// replaced.
pub fn rewrite_all(root: &Path, paths: &[PathBuf]) -> usize {
    let staged: Vec<(tempfile::TempPath, &PathBuf)> = paths
        .par_iter()
        .map(|path| {
            let text = read(path);
            drop(parse(path, &text));
            let dir = path.parent().unwrap_or(root);
            let mut temp = tempfile::Builder::new()
                .prefix(".tmp-floor-")
                .tempfile_in(dir)
                .unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
            temp.write_all(&text)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (temp.into_temp_path(), path)
        })
        .collect();
    #[cfg(unix)]
    {
        let root_dir = std::fs::File::open(root).unwrap_or_else(|err| panic!("{err}"));
        rustix::fs::syncfs(&root_dir).unwrap_or_else(|err| panic!("{err}"));
    }
    staged.into_par_iter().for_each(|(temp, path)| {
        temp.persist(path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    });
    paths.len()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn parse(path: &Path, text: &[u8]) -> serde_json::Value {
    serde_json::from_slice(text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
