//! Staleness: recordings whose last change in git is older than an age, for a
//! scheduled job that re-verifies them against the live API. The dates are git's own,
//! so nothing is written into the files and re-recording still gives empty diffs.

use std::path::Path;
use std::time::Duration;

use recording_core::internals::request_from_prefix;
use serde::Serialize;

use crate::DiffError;
use crate::git::Repo;

/// A recording not changed in git for longer than asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleRecording {
    /// The file, relative to the recordings directory.
    pub path: String,
    /// The committer date of its last change, `YYYY-MM-DD`.
    pub last_changed: String,
    /// Whole days since then.
    pub age_days: u64,
    /// `POST /v1/chat/completions  model`, as `unused` lists recordings.
    pub call: String,
}

/// The recordings of `dir` whose last commit at `HEAD` is older than `older_than`,
/// oldest first. Files changed in the work tree or not yet committed are fresh.
pub fn stale(dir: &Path, older_than: Duration) -> Result<Vec<StaleRecording>, DiffError> {
    let repo = Repo::open(dir)?;
    let head = repo.resolve("HEAD")?;
    let fresh = repo.modified(&head, "responses")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    let mut stale = Vec::new();
    for (path, (when, day)) in repo.last_changed(&head, "responses")? {
        let age = now.saturating_sub(when).max(0) as u64;
        let on_disk = dir.join(&path);
        if fresh.contains(&path) || !on_disk.is_file() || age < older_than.as_secs() {
            continue;
        }
        let call = std::fs::read(&on_disk)
            .ok()
            .and_then(|bytes| request_from_prefix(&bytes))
            .map(|request| {
                let model = if request.model.is_empty() {
                    String::new()
                } else {
                    format!("  {}", request.model)
                };
                format!("{} {}{model}", request.method, request.endpoint)
            })
            .unwrap_or_else(|| "(not a readable recording)".into());
        stale.push(StaleRecording {
            path,
            last_changed: day,
            age_days: age / 86_400,
            call,
        });
    }
    stale.sort_by(|a, b| (b.age_days, &a.path).cmp(&(a.age_days, &b.path)));
    Ok(stale)
}

/// An age as people write it: a whole number and a unit, `90d`, `12w`, `36h`, `30m`,
/// `45s`.
pub fn parse_age(text: &str) -> Result<Duration, DiffError> {
    let bad = || DiffError::BadAge(text.to_owned());
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_written_and_bad_ones_are_named() {
        assert_eq!(
            parse_age("90d").ok(),
            Some(Duration::from_secs(90 * 86_400))
        );
        assert_eq!(parse_age("2w").ok(), Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("36h").ok(), Some(Duration::from_secs(36 * 3_600)));
        for bad in ["90", "d", "90 days", "-1d", "1y", ""] {
            let err = parse_age(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
