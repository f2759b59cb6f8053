//! `diff` and `stale`: reviewing re-recordings (what changed against a revision or a
//! directory) and finding recordings due for re-verification.

use std::path::PathBuf;

use recording_diff::{Baseline, render};

/// The arguments of `diff`.
#[derive(clap::Args)]
pub(crate) struct Diff {
    /// The git revision to compare with [default: HEAD]
    #[arg(value_name = "REV", conflicts_with = "against")]
    rev: Option<String>,
    /// Compare with another recordings directory instead of a revision.
    #[arg(long, value_name = "DIR")]
    against: Option<PathBuf>,
    /// The recordings directory [default: TEST_RECORDING_DIR, else recordings/ or
    /// tests/recordings/ under the current directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// text for a terminal, markdown for a pull request comment, json for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

/// The arguments of `stale`.
#[derive(clap::Args)]
pub(crate) struct Stale {
    /// How long since a recording last changed in git makes it stale: 90d, 12w, 36h.
    #[arg(long, value_name = "AGE")]
    older_than: String,
    /// The recordings directory [default: as for `diff`]
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `diff`: prints the report; exit 0 when nothing changed but formatting, 1 when
/// anything else did.
pub(crate) fn diff(args: Diff) -> Result<u8, String> {
    let dir = crate::recordings_dir(args.dir)?;
    let against = match args.against {
        Some(other) => Baseline::Dir(other),
        None => Baseline::revision(args.rev.unwrap_or_else(|| "HEAD".into())),
    };
    let report = recording_diff::compare(&dir, &against, &registry::PROVIDERS)
        .map_err(|err| err.to_string())?;
    let shown = match args.format {
        Format::Text => render::text(&report),
        Format::Markdown => render::markdown(&report),
        Format::Json => render::json(&report),
    };
    print!("{shown}");
    Ok(report.exit_code())
}

/// `stale`: lists the recordings not changed in git for longer than asked, oldest
/// first; exit 1 when any.
pub(crate) fn stale(args: Stale) -> Result<u8, String> {
    let dir = crate::recordings_dir(args.dir)?;
    let age = recording_diff::parse_age(&args.older_than).map_err(|err| err.to_string())?;
    let stale = recording_diff::stale(&dir, age).map_err(|err| err.to_string())?;
    for recording in &stale {
        println!(
            "{}  last changed {} ({} days ago)  {}",
            dir.join(&recording.path).display(),
            recording.last_changed,
            recording.age_days,
            recording.call
        );
    }
    println!(
        "Summary: {} of the recordings in {} last changed more than {} ago",
        stale.len(),
        dir.display(),
        args.older_than
    );
    Ok(u8::from(!stale.is_empty()))
}
