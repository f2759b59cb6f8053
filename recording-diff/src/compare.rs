//! Pairing a directory's recordings with its baseline's, and classifying each pair.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use recording_core::RecordingFile;
use recording_core::internals::to_sorted_pretty_json;
use recording_core::provider::Registry;
use serde_json::Value;
use similar::TextDiff;

use crate::changes::changes;
use crate::git::Repo;
use crate::{Baseline, DiffError, FileDiff, Report, Status, Summary};

/// Where recordings live below a recordings directory.
const RESPONSES: &str = "responses";

/// How alike (0 to 1, by lines of the sorted request bodies) a removed and an added
/// request must be to count as one call made differently. Both are already the same
/// provider, method, endpoint and scope; this keeps two unrelated calls of one endpoint
/// apart.
pub const REKEY_SIMILARITY: f32 = 0.5;

/// The most request pairs compared in one group when looking for rekeyed recordings;
/// a larger group (thousands removed and added at once) is reported as added and
/// removed.
const MAX_REKEY_COMPARISONS: usize = 40_000;

/// Compares the recordings in `dir` (the directory holding `responses/`) with
/// `against`, each provider's answers assembled through `registry`.
pub fn compare(dir: &Path, against: &Baseline, registry: &Registry) -> Result<Report, DiffError> {
    let now_names = list(dir)?;
    let mut old_bytes: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut touched: BTreeMap<String, Touched> = BTreeMap::new();
    let old_side = against.to_string();
    match against {
        Baseline::Revision(rev) => {
            let repo = Repo::open(dir)?;
            let commit = repo.resolve(rev)?;
            let mut old_names = repo.files(&commit, RESPONSES)?;
            old_names.retain(|path| is_recording(path));
            let modified = repo.modified(&commit, RESPONSES)?;
            for path in old_names.union(&now_names) {
                let how = match (old_names.contains(path), now_names.contains(path)) {
                    (true, false) => Touched::Deleted,
                    (false, _) => Touched::Added,
                    (true, true) if modified.contains(path) => Touched::Modified,
                    (true, true) => continue,
                };
                touched.insert(path.clone(), how);
            }
            let wanted: Vec<&str> = touched
                .iter()
                .filter(|(_, how)| **how != Touched::Added)
                .map(|(path, _)| path.as_str())
                .collect();
            old_bytes = repo.read_all(&commit, &wanted)?;
        }
        Baseline::Dir(old_dir) => {
            let old_names = list(old_dir)?;
            for path in old_names.symmetric_difference(&now_names) {
                if old_names.contains(path) {
                    old_bytes.insert(path.clone(), read(&old_dir.join(path))?);
                    touched.insert(path.clone(), Touched::Deleted);
                } else {
                    touched.insert(path.clone(), Touched::Added);
                }
            }
            let both: Vec<&String> = old_names.intersection(&now_names).collect();
            for (path, old) in differing(old_dir, dir, &both)? {
                old_bytes.insert(path.clone(), old);
                touched.insert(path, Touched::Modified);
            }
        }
    }

    let mut summary = Summary {
        unchanged: now_names
            .iter()
            .filter(|path| !touched.contains_key(*path))
            .count(),
        ..Summary::default()
    };
    let mut files = Vec::new();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for (path, how) in &touched {
        let new_bytes = match how {
            Touched::Deleted => None,
            _ => Some(read(&dir.join(path))?),
        };
        let old_bytes = old_bytes.remove(path);
        if old_bytes.is_some() && old_bytes == new_bytes {
            // Git's stat data was stale (a file touched, or re-recorded to the same bytes).
            summary.unchanged += 1;
            continue;
        }
        let old = match old_bytes {
            Some(bytes) => Some(Parsed::new(path, bytes, &old_side)?),
            None => None,
        };
        let new = match new_bytes {
            Some(bytes) => Some(Parsed::new(path, bytes, "work tree")?),
            None => None,
        };
        match (old, new) {
            (Some(old), Some(new)) if old.raw == new.raw => {
                summary.unchanged += 1;
                summary.formatting_only += 1;
                let mut diff = describe(Status::Unchanged, None, Some(&new), registry);
                diff.formatting_only = true;
                files.push(diff);
            }
            (Some(old), Some(new)) => {
                let mut diff = describe(Status::Changed, Some(&old), Some(&new), registry);
                diff.changes = changes(&old.file, &new.file, &old.raw, &new.raw, registry);
                files.push(diff);
            }
            (Some(old), None) => removed.push(old),
            (None, Some(new)) => added.push(new),
            (None, None) => {}
        }
    }
    let pairs = rekeyed(&removed, &added, registry);
    let (paired_old, paired_new): (BTreeSet<usize>, BTreeSet<usize>) =
        pairs.iter().copied().unzip();
    for (old, new) in pairs {
        let (old, new) = (&removed[old], &added[new]);
        let mut diff = describe(Status::Rekeyed, Some(old), Some(new), registry);
        diff.changes = changes(&old.file, &new.file, &old.raw, &new.raw, registry);
        files.push(diff);
    }
    for (index, old) in removed.iter().enumerate() {
        if !paired_old.contains(&index) {
            files.push(describe(Status::Removed, Some(old), None, registry));
        }
    }
    for (index, new) in added.iter().enumerate() {
        if !paired_new.contains(&index) {
            files.push(describe(Status::Added, None, Some(new), registry));
        }
    }
    for file in &files {
        match file.status {
            Status::Changed => summary.changed += 1,
            Status::Rekeyed => summary.rekeyed += 1,
            Status::Added => summary.added += 1,
            Status::Removed => summary.removed += 1,
            Status::Unchanged => {}
        }
    }
    files.sort_by(|a, b| (a.status, &a.path).cmp(&(b.status, &b.path)));
    Ok(Report {
        against: old_side,
        files,
        summary,
    })
}

/// How a file differs between the baseline and the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touched {
    /// In both, with other bytes.
    Modified,
    /// Only in the baseline.
    Deleted,
    /// Only in the directory.
    Added,
}

/// One side's recording, read.
struct Parsed {
    path: String,
    key: String,
    raw: Value,
    file: RecordingFile,
}

impl Parsed {
    fn new(path: &str, bytes: Vec<u8>, side: &str) -> Result<Parsed, DiffError> {
        let bad = |reason: String| DiffError::NotARecording {
            path: path.to_owned(),
            side: side.to_owned(),
            reason,
        };
        let raw: Value = serde_json::from_slice(&bytes).map_err(|err| bad(err.to_string()))?;
        // The typed read checks what replay checks; its errors name the file again.
        let file = RecordingFile::from_slice(&bytes, Path::new(path)).map_err(|err| {
            let reason = err.to_string();
            let prefix = format!("{path}: ");
            bad(reason.strip_prefix(&prefix).unwrap_or(&reason).to_owned())
        })?;
        let key = Path::new(path)
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Parsed {
            path: path.to_owned(),
            key,
            raw,
            file,
        })
    }

    /// The provider, method, endpoint and scope: a rekeyed call keeps all four.
    fn call(&self, registry: &Registry) -> (String, String, String, Option<String>) {
        let request = &self.file.request;
        (
            provider_name(&self.file, registry),
            request.method.to_string(),
            request.endpoint.clone(),
            request.scope.clone(),
        )
    }
}

fn provider_name(file: &RecordingFile, registry: &Registry) -> String {
    let request = &file.request;
    registry
        .for_recording(request.provider.as_deref(), &request.endpoint)
        .map(|provider| provider.name().to_owned())
        .unwrap_or_else(|_| request.provider.clone().unwrap_or_default())
}

/// The pairs (index into `removed`, index into `added`) that are one call made
/// differently: within each group of the same call, the most alike requests first,
/// each file in one pair at most.
fn rekeyed(removed: &[Parsed], added: &[Parsed], registry: &Registry) -> Vec<(usize, usize)> {
    type Call = (String, String, String, Option<String>);
    let mut groups: BTreeMap<Call, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (index, old) in removed.iter().enumerate() {
        groups.entry(old.call(registry)).or_default().0.push(index);
    }
    for (index, new) in added.iter().enumerate() {
        groups.entry(new.call(registry)).or_default().1.push(index);
    }
    let mut pairs = Vec::new();
    for (olds, news) in groups.values() {
        if olds.is_empty() || news.is_empty() || olds.len() * news.len() > MAX_REKEY_COMPARISONS {
            continue;
        }
        let text = |parsed: &Parsed| to_sorted_pretty_json(&parsed.file.request.body);
        let new_texts: Vec<String> = news.iter().map(|&index| text(&added[index])).collect();
        // (same model, similarity, old, new), best first.
        let mut candidates = Vec::new();
        for &old in olds {
            let old_text = text(&removed[old]);
            for (&new, new_text) in news.iter().zip(&new_texts) {
                let similarity = TextDiff::from_lines(&old_text, new_text).ratio();
                if similarity >= REKEY_SIMILARITY {
                    let same_model =
                        removed[old].file.request.model == added[new].file.request.model;
                    candidates.push((same_model, similarity, old, new));
                }
            }
        }
        candidates.sort_by(|a, b| {
            (b.0, b.1)
                .partial_cmp(&(a.0, a.1))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then((a.2, a.3).cmp(&(b.2, b.3)))
        });
        let (mut used_old, mut used_new) = (BTreeSet::new(), BTreeSet::new());
        for (_, _, old, new) in candidates {
            if !used_old.contains(&old) && !used_new.contains(&new) {
                used_old.insert(old);
                used_new.insert(new);
                pairs.push((old, new));
            }
        }
    }
    pairs
}

/// A report entry for `old` and `new` (the one present when only one is), with no
/// changes yet.
fn describe(
    status: Status,
    old: Option<&Parsed>,
    new: Option<&Parsed>,
    registry: &Registry,
) -> FileDiff {
    let Some(shown) = new.or(old) else {
        unreachable!("an entry describes at least one recording")
    };
    let request = &shown.file.request;
    FileDiff {
        status,
        key: shown.key.clone(),
        old_key: old.map(|old| old.key.clone()),
        new_key: new.map(|new| new.key.clone()),
        provider: provider_name(&shown.file, registry),
        method: request.method.to_string(),
        endpoint: request.endpoint.clone(),
        model: request.model.clone(),
        scope: request.scope.clone(),
        path: shown.path.clone(),
        asked: first_question(&request.body),
        formatting_only: false,
        changes: Vec::new(),
    }
}

/// The recording files of `dir`: `responses/*.json`, relative to it.
fn list(dir: &Path) -> Result<BTreeSet<String>, DiffError> {
    if !dir.is_dir() {
        return Err(DiffError::NoDirectory(dir.to_path_buf()));
    }
    let responses = dir.join(RESPONSES);
    let entries = match fs::read_dir(&responses) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(source) => {
            return Err(DiffError::Read {
                path: responses,
                source,
            });
        }
    };
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|source| DiffError::Read {
            path: responses.clone(),
            source,
        })?;
        let path = format!("{RESPONSES}/{}", entry.file_name().to_string_lossy());
        if is_recording(&path) && entry.file_type().is_ok_and(|kind| !kind.is_dir()) {
            names.insert(path);
        }
    }
    Ok(names)
}

/// Whether `path` (relative to a recordings directory) is where a recording lives.
fn is_recording(path: &str) -> bool {
    path.strip_prefix("responses/")
        .is_some_and(|name| !name.contains('/') && name.ends_with(".json"))
}

fn read(path: &Path) -> Result<Vec<u8>, DiffError> {
    fs::read(path).map_err(|source| DiffError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Of `paths` (in both directories), those whose bytes differ, with their old bytes.
/// Every pair is read, so the work is spread over the machine's cores.
fn differing(
    old_dir: &Path,
    new_dir: &Path,
    paths: &[&String],
) -> Result<Vec<(String, Vec<u8>)>, DiffError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let share = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for path in chunk {
                        let old = read(&old_dir.join(path))?;
                        if old != read(&new_dir.join(path))? {
                            found.push(((*path).clone(), old));
                        }
                    }
                    Ok(found)
                })
            })
            .collect();
        let mut found = Vec::new();
        for worker in workers {
            match worker.join() {
                Ok(result) => found.extend(result?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(found)
    })
}

/// The first user message of a request (what a test asked first, which names it
/// better than an agent loop's last turn), else its prompt or input.
pub fn first_question(body: &Value) -> Option<String> {
    question(body, false)
}

/// The last user message of a request (what this turn asked), else its prompt or input.
pub fn last_question(body: &Value) -> Option<String> {
    question(body, true)
}

fn question(body: &Value, last: bool) -> Option<String> {
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        let is_user = |message: &&Value| message["role"] == "user";
        let message = if last {
            messages.iter().rev().find(is_user)
        } else {
            messages.iter().find(is_user)
        };
        // A string, or (Anthropic, OpenAI's parts) text blocks and tool results.
        return match &message?["content"] {
            Value::String(text) => Some(text.clone()),
            Value::Array(blocks) => Some(
                blocks
                    .iter()
                    .map(|block| match &block["text"] {
                        Value::String(text) => text.clone(),
                        _ => block.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        };
    }
    ["prompt", "input"]
        .iter()
        .find_map(|field| body.get(*field))
        .map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
}
