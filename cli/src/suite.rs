//! `unused` and `prune`: the recordings no test used in the run since the last
//! `unused --reset`.
//!
//! Every recorder notes the keys it replays or records in `<dir>/.used/` (see
//! `recording_core::used`). The run is the union of every process noted since the
//! reset (each `cargo test` binary, each nextest test, the shares of a partitioned
//! nextest run merged with `--used-from`, a `serve --track` for a Python suite). It
//! counts as full when none of them was filtered (`cargo test foo`, `--skip`,
//! `cargo nextest run -E ...`): otherwise these commands report nothing and say why,
//! because every recording outside the filter would look unused.

use std::fs;
use std::path::{Path, PathBuf};

use recording_core::RecordingFile;
use recording_core::internals::UsedSet;

/// The arguments of `unused`.
#[derive(clap::Args)]
pub(crate) struct Unused {
    /// The recordings directory [default: TEST_RECORDING_DIR, else recordings/ or
    /// tests/recordings/ under the current directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Forget what earlier runs used: run this before the full test run to judge.
    #[arg(long)]
    reset: bool,
    /// Also count what the used sets in these folders say: the `.used/` folders that
    /// other CI jobs saved (nextest `--partition` shares), or recordings directories.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    used_from: Vec<PathBuf>,
}

/// The arguments of `prune`.
#[derive(clap::Args)]
pub(crate) struct Prune {
    /// The recordings directory [default: as for `unused`]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// As for `unused`: also count these used sets.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    used_from: Vec<PathBuf>,
}

/// A recording no test used.
struct Orphan {
    path: PathBuf,
    summary: String,
    size: u64,
}

/// The recordings of `dir` that the last full run did not use; an error (saying
/// why, and nothing reported) when there is no run to judge or it was filtered.
fn orphans(dir: &Path, used_from: &[PathBuf]) -> Result<Vec<Orphan>, String> {
    let mut used = UsedSet::read(dir);
    for other in used_from {
        if !other.is_dir() {
            return Err(format!("--used-from {}: no such folder", other.display()));
        }
        used.merge_from(other);
    }
    used.judge().map_err(|why| {
        format!(
            "{why} (in {}); reporting nothing. Run `inference-recorder unused --reset`, then the whole suite (`cargo test`, `cargo nextest run`, or a client suite through `inference-recorder serve --track`)",
            dir.join(recording_core::internals::USED_DIR).display()
        )
    })?;
    let store = recording_core::Store::new(dir);
    let mut orphans = Vec::new();
    for path in store.list() {
        let key = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        if used.keys.contains(&key) {
            continue;
        }
        let size = fs::metadata(&path).map(|m| m.len()).unwrap_or_default();
        let summary = fs::read(&path)
            .ok()
            .and_then(|bytes| RecordingFile::from_slice(&bytes, &path).ok())
            .map(|file| {
                let model = if file.request.model.is_empty() {
                    "-".to_owned()
                } else {
                    file.request.model
                };
                let scope = file
                    .request
                    .scope
                    .map(|scope| format!("  scope {scope}"))
                    .unwrap_or_default();
                format!(
                    "{} {}  {model}{scope}",
                    file.request.method, file.request.endpoint
                )
            })
            .unwrap_or_else(|| "(not a readable recording)".into());
        orphans.push(Orphan {
            path,
            summary,
            size,
        });
    }
    Ok(orphans)
}

fn print(orphans: &[Orphan], verb: &str) {
    for orphan in orphans {
        println!(
            "{verb}{}  {}  {} bytes",
            orphan.path.display(),
            orphan.summary,
            orphan.size
        );
    }
}

/// `unused`: lists the orphans; exit 1 when there are any (a CI guard).
pub(crate) fn unused(args: Unused) -> Result<u8, String> {
    let dir = crate::recordings_dir(args.dir)?;
    if args.reset {
        UsedSet::clear(&dir).map_err(|err| format!("cannot reset {}: {err}", dir.display()))?;
        println!("Forgot what earlier runs used in {}", dir.display());
        return Ok(0);
    }
    let orphans = orphans(&dir, &args.used_from)?;
    print(&orphans, "");
    println!(
        "Summary: {} of the recordings in {} no test used",
        orphans.len(),
        dir.display()
    );
    Ok(u8::from(!orphans.is_empty()))
}

/// `prune`: deletes the orphans (or lists them, with `--dry-run`).
pub(crate) fn prune(args: Prune) -> Result<u8, String> {
    let dir = crate::recordings_dir(args.dir)?;
    let orphans = orphans(&dir, &args.used_from)?;
    if args.dry_run {
        print(&orphans, "[DRY RUN] Would delete: ");
        println!(
            "[DRY RUN] Summary: {} recording(s) would be deleted",
            orphans.len()
        );
        return Ok(0);
    }
    let mut failed = 0;
    for orphan in &orphans {
        match fs::remove_file(&orphan.path) {
            Ok(()) => println!("Deleted: {}  {}", orphan.path.display(), orphan.summary),
            Err(err) => {
                eprintln!("Error: {}: {err}", orphan.path.display());
                failed += 1;
            }
        }
    }
    println!("Summary: {} recording(s) deleted", orphans.len() - failed);
    Ok(if failed > 0 { 2 } else { 0 })
}
