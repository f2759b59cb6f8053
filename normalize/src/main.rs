//! `normalize [PATH ...] [--dry-run] [--check] [--no-name-check]`: re-applies the providers'
//! normalization rules to recordings on disk. The same command as
//! `inference-recorder normalize`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Re-normalize recordings already on disk, so re-recording gives minimal diffs.
///
/// Every `*.json` under the given paths is a recording, in this project's format or
/// llama-stack's. Each is rewritten in place (atomically) when the rules change it.
#[derive(Debug, Parser)]
#[command(name = "normalize", version)]
struct Cli {
    /// Recordings directories, trees holding many, or single files [default:
    /// recordings/ or tests/recordings/ under the current directory]
    paths: Vec<PathBuf>,

    /// Report what would change; change nothing.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,

    /// Change nothing; exit 1 when any file would change (for CI).
    #[arg(long)]
    check: bool,

    /// Do not report files whose name is not the key of the request they hold (for a
    /// suite whose recorder keeps fields of its own out of the key).
    #[arg(long)]
    no_name_check: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(normalize::command(
        cli.paths,
        cli.dry_run,
        cli.check,
        !cli.no_name_check,
    ))
}
