//! Reviewing re-recordings: what changed between a recordings directory and a git
//! revision (or another directory), told as a reviewer reads answers rather than as
//! JSON; and which recordings have not been re-recorded for a long time.
//!
//! Files are paired by key (their name). Each difference is one [`FileDiff`]:
//!
//! - [`Status::Unchanged`]: equal as parsed JSON, listed only when the bytes differ
//!   ("formatting only");
//! - [`Status::Changed`]: the same key with other content, as [`Change`]s: the answer
//!   text as a word diff, tool calls, stop reason, status, error, chunks, usage;
//! - [`Status::Rekeyed`]: a removed and an added recording that are the same call made
//!   differently (same provider, method, endpoint and scope, the closest request),
//!   with the request's changed fields and the answer's changes together;
//! - [`Status::Added`], [`Status::Removed`]: the rest.
//!
//! Only files whose bytes differ are read as JSON (git tells which, from its index),
//! so a suite of ten thousand recordings with a handful changed is compared in
//! milliseconds. Each provider assembles its answers through the
//! [`Registry`](recording_core::provider::Registry) the caller passes, so every dialect
//! is read the same way.
//!
//! ```no_run
//! use recording_diff::{Baseline, compare, render};
//! # let registry = recording_core::provider::Registry::new(&[]);
//! let report = compare("tests/recordings".as_ref(), &Baseline::revision("HEAD"), &registry)?;
//! print!("{}", render::text(&report));
//! std::process::exit(report.exit_code().into());
//! # Ok::<(), recording_diff::DiffError>(())
//! ```

mod changes;
mod compare;
mod git;
pub mod render;
mod stale;
mod words;

use std::path::PathBuf;

use serde::Serialize;

pub use changes::{Change, CountChange, FieldChange, MAX_FIELDS};
pub use compare::{REKEY_SIMILARITY, compare, first_question, last_question};
pub use stale::{StaleRecording, parse_age, stale};
pub use words::{CONTEXT_WORDS, MAX_CHANGED_WORDS, word_diff};

/// What the recordings directory is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// The same directory at a git revision (`HEAD`, `origin/main`, a commit), read
    /// through git without touching the work tree.
    Revision(String),
    /// Another recordings directory (the one holding `responses/`).
    Dir(PathBuf),
}

impl Baseline {
    /// The directory at git revision `rev`.
    pub fn revision(rev: impl Into<String>) -> Baseline {
        Baseline::Revision(rev.into())
    }
}

impl std::fmt::Display for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Baseline::Revision(rev) => write!(f, "{rev}"),
            Baseline::Dir(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// How a recording differs from its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The same key, other content.
    Changed,
    /// The same call under a new key: its request changed.
    Rekeyed,
    /// Only in the directory.
    Added,
    /// Only in the baseline.
    Removed,
    /// Equal as parsed JSON; listed only when the bytes differ.
    Unchanged,
}

impl Status {
    /// The status as the reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Rekeyed => "rekeyed",
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// One recording that differs from its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileDiff {
    /// How it differs.
    pub status: Status,
    /// The key it has now, else the one it had.
    pub key: String,
    /// Its key in the baseline, when it was there.
    pub old_key: Option<String>,
    /// Its key in the directory, when it is there.
    pub new_key: Option<String>,
    /// The provider whose rules it follows.
    pub provider: String,
    /// The request's HTTP method.
    pub method: String,
    /// The request's endpoint.
    pub endpoint: String,
    /// The request's model.
    pub model: String,
    /// The test scope, when it has one.
    pub scope: Option<String>,
    /// The file, relative to the recordings directory (`responses/<key>.json`): the
    /// new one, else the old one.
    pub path: String,
    /// The first user message, prompt or input of the request.
    pub asked: Option<String>,
    /// Whether the only difference is the bytes (a reformatted file).
    pub formatting_only: bool,
    /// What changed, for `changed` and `rekeyed`.
    pub changes: Vec<Change>,
}

/// The counts of a [`Report`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Recordings whose answer or request changed under the same key.
    pub changed: usize,
    /// Recordings that moved to a new key.
    pub rekeyed: usize,
    /// New recordings.
    pub added: usize,
    /// Recordings that are gone.
    pub removed: usize,
    /// Recordings equal as JSON, the reformatted ones included.
    pub unchanged: usize,
    /// Of the unchanged, those whose bytes differ.
    pub formatting_only: usize,
}

/// The comparison of a recordings directory with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// What the directory was compared with (`HEAD`, a directory).
    pub against: String,
    /// Each recording that differs, by status, then by path; byte-identical ones are
    /// only counted.
    pub files: Vec<FileDiff>,
    /// The counts.
    pub summary: Summary,
}

impl Report {
    /// 0 when nothing changed but formatting, 1 when an answer or a request did (as
    /// `diff` exits).
    pub fn exit_code(&self) -> u8 {
        let summary = &self.summary;
        u8::from(summary.changed + summary.rekeyed + summary.added + summary.removed > 0)
    }
}

/// Why a comparison or a staleness check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The recordings directory does not exist.
    #[error("{0}: no such recordings directory")]
    NoDirectory(PathBuf),
    /// Git failed, or the directory is in no repository.
    #[error("git {command} in {dir}: {message}")]
    Git {
        /// The git command.
        command: String,
        /// Where it ran.
        dir: PathBuf,
        /// What git said.
        message: String,
    },
    /// The revision names no commit.
    #[error(
        "{rev}: not a revision of the repository {dir} is in (give a commit, a branch or a tag, or --against DIR)"
    )]
    UnknownRevision {
        /// The revision given.
        rev: String,
        /// The recordings directory.
        dir: PathBuf,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a recording.
    #[error("{path} ({side}): not a recording: {reason}")]
    NotARecording {
        /// The file, relative to the recordings directory.
        path: String,
        /// Which side it is on (`HEAD`, `work tree`, a directory).
        side: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An age such as `90d` could not be read.
    #[error("{0:?}: not an age; give a number and a unit: 90d, 12w, 36h, 30m")]
    BadAge(String),
}
