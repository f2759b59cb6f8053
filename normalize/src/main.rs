//! `normalize [PATH ...] [--dry-run] [--check]`: re-applies the providers'
//! normalization rules to recordings on disk.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use normalize::{Outcome, collect_files, remove_leftovers, run};

/// Exit status when `--check` finds files that would change.
const EXIT_WOULD_CHANGE: u8 = 1;
/// Exit status when a path or a file could not be processed.
const EXIT_FAILED: u8 = 2;

/// Re-normalize recordings already on disk, so re-recording gives minimal diffs.
///
/// Every `*.json` under the given paths is a recording, in this project's format or
/// llama-stack's. Each is rewritten in place (atomically) when the rules change it.
#[derive(Debug, Parser)]
#[command(name = "normalize", version)]
struct Cli {
    /// Recordings directories, trees holding many, or single files
    /// [default: tests/recordings]
    paths: Vec<PathBuf>,

    /// Report what would change; change nothing.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,

    /// Change nothing; exit 1 when any file would change (for CI).
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = if cli.paths.is_empty() {
        let default = PathBuf::from("tests/recordings");
        if !default.is_dir() {
            eprintln!(
                "Error: no path given and {} is not a directory here; run from the workspace root or name the recordings",
                default.display()
            );
            return ExitCode::from(EXIT_FAILED);
        }
        vec![default]
    } else {
        cli.paths
    };
    let collected = match collect_files(&paths) {
        Ok(collected) => collected,
        Err(err) => {
            eprintln!("Error: {err}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    for (path, why) in &collected.skipped {
        eprintln!("Error: {}: {why}", path.display());
    }
    let files = collected.files;
    if files.is_empty() {
        // A check that checked nothing must not pass as a clean one.
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "Error: no recordings (*.json files) under {}; nothing was checked",
            names.join(", ")
        );
        return ExitCode::from(EXIT_FAILED);
    }
    if !(cli.dry_run || cli.check) {
        let removed = remove_leftovers(&files);
        if removed > 0 {
            eprintln!("Removed {removed} temporary file(s) an interrupted run left behind");
        }
    }

    let bar = ProgressBar::new(files.len() as u64);
    if std::io::stderr().is_terminal() && files.len() >= 1000 {
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let write = !(cli.dry_run || cli.check);
    let report = run(&files, write, &|| bar.inc(1));
    bar.finish_and_clear();

    let prefix = if cli.dry_run {
        "[DRY RUN] "
    } else if cli.check {
        "[CHECK] "
    } else {
        ""
    };
    for file in &report.files {
        match &file.outcome {
            Outcome::Unchanged => {}
            Outcome::Changed if write => println!("Normalized: {}", file.path.display()),
            Outcome::Changed => println!("{prefix}Would normalize: {}", file.path.display()),
            Outcome::Failed(reason) => eprintln!("Error: {}: {reason}", file.path.display()),
        }
    }
    println!(
        "{prefix}Summary: {}/{} files modified",
        report.modified(),
        report.files.len()
    );
    if !collected.skipped.is_empty() {
        eprintln!(
            "{} path(s) were passed over; a check that skips a path does not pass",
            collected.skipped.len()
        );
        ExitCode::from(EXIT_FAILED)
    } else if report.failed() > 0 {
        eprintln!(
            "{} file(s) could not be processed and were left untouched",
            report.failed()
        );
        ExitCode::from(EXIT_FAILED)
    } else if cli.check && report.modified() > 0 {
        ExitCode::from(EXIT_WOULD_CHANGE)
    } else {
        ExitCode::SUCCESS
    }
}
