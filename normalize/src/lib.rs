//! Re-normalizes recordings already on disk with the provider crates' own rules.
//!
//! The `normalize` binary is a thin command line over [`run`]. The rules are never
//! re-implemented here: [`rules_for`] picks `provider-openai`'s or `provider-ollama`'s
//! `Normalizer` by the recording's `request.provider`, or, for llama-stack's files,
//! which have none, by endpoint (`/api/...` is Ollama, the rest OpenAI-style).

use std::fs;
use std::path::{Path, PathBuf};

use provider_ollama::OllamaNormalizer;
use provider_openai::OpenAiNormalizer;
use rayon::prelude::*;
use recording_core::format::{RecordedRequest, raw_bodies_mut, to_pretty_json};
use recording_core::store::{AtomicBatch, write_atomically};
use recording_core::{NormalizeContext, Normalizer};
use serde::Deserialize;
use serde_json::Value;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already normalized.
    Unchanged,
    /// Normalized (or, when not writing, would be).
    Changed,
    /// Not a usable recording; left untouched.
    Failed(String),
}

/// One file and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResult {
    /// The file.
    pub path: PathBuf,
    /// What happened.
    pub outcome: Outcome,
}

/// The results of a run, sorted by path.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per recording file found.
    pub files: Vec<FileResult>,
}

impl Report {
    /// How many files changed (or would).
    pub fn modified(&self) -> usize {
        self.count(|o| *o == Outcome::Changed)
    }

    /// How many files could not be processed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    fn count(&self, test: impl Fn(&Outcome) -> bool) -> usize {
        self.files.iter().filter(|f| test(&f.outcome)).count()
    }
}

/// Every `*.json` file under `paths` (directories are walked; files are taken as
/// they are), sorted. A path that does not exist is an error naming it.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
        if meta.is_file() {
            files.push(path.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(path).follow_links(false) {
            let entry = entry.map_err(|err| err.to_string())?;
            let is_json = entry.path().extension().is_some_and(|ext| ext == "json");
            if entry.file_type().is_file() && is_json {
                files.push(entry.into_path());
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Normalizes `files` in parallel; rewrites changed files when `write`. `progress` is
/// called once per file done, from any thread.
///
/// Rewrites go through one [`AtomicBatch`]: every changed file is staged beside its
/// target, one file-system sync makes them all durable, then each is renamed into
/// place. One fsync per file would cap a run at the disk's flush rate (benches/README.md).
pub fn run(files: &[PathBuf], write: bool, progress: &(dyn Fn() + Sync)) -> Report {
    let batch = AtomicBatch::new();
    let stage =
        |path: &Path, original: &[u8], contents: &[u8]| batch.stage(path, original, contents);
    let mut results: Vec<FileResult> = files
        .par_iter()
        .map(|path| {
            let outcome = normalize_with(path, write.then_some(&stage));
            progress();
            FileResult {
                path: path.clone(),
                outcome,
            }
        })
        .collect();
    results.sort_by(|a, b| a.path.cmp(&b.path));
    let failed: std::collections::HashMap<PathBuf, String> = batch
        .commit()
        .into_iter()
        .filter_map(|(path, result)| result.err().map(|err| (path, err.to_string())))
        .collect();
    for result in &mut results {
        if let Some(reason) = failed.get(&result.path) {
            result.outcome = Outcome::Failed(reason.clone());
        }
    }
    Report { files: results }
}

/// Normalizes one file; writes it back (atomically) when it changed and `write` is
/// set. A file counts as changed only when its parsed JSON changes; a rewritten file
/// keeps its key order and gets two-space indent and a trailing newline.
pub fn normalize_file(path: &Path, write: bool) -> Outcome {
    let write_now = |path: &Path, _: &[u8], contents: &[u8]| write_atomically(path, contents);
    normalize_with(path, write.then_some(&write_now))
}

/// Writes a file's new contents; given what the file held when it was read, so a
/// batch can leave alone a file that changed since.
type Writer<'a> = &'a (dyn Fn(&Path, &[u8], &[u8]) -> Result<(), recording_core::Error> + Sync);

/// Normalizes one file and, when it changed, hands its new contents to `write`.
fn normalize_with(path: &Path, write: Option<Writer<'_>>) -> Outcome {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return Outcome::Failed(format!("cannot read: {err}")),
    };
    let mut raw: Value = match serde_json::from_slice(&bytes) {
        Ok(raw) => raw,
        Err(err) => return Outcome::Failed(format!("not valid JSON: {err}")),
    };
    match normalize_value(&mut raw, &hash_from_file_name(path)) {
        Ok(false) => Outcome::Unchanged,
        Ok(true) => match write.map(|write| write(path, &bytes, to_pretty_json(&raw).as_bytes())) {
            Some(Err(err)) => Outcome::Failed(err.to_string()),
            _ => Outcome::Changed,
        },
        Err(reason) => Outcome::Failed(reason),
    }
}

/// Applies the recording's provider rules to a parsed recording (either format) in
/// place, with `hash` for replacement ids. Returns whether anything changed, or why
/// the value is not a recording.
pub fn normalize_value(raw: &mut Value, hash: &str) -> Result<bool, String> {
    let request = raw
        .get("request")
        .ok_or_else(|| "not a recording: no `request`".to_owned())?;
    let request = RecordedRequest::deserialize(request)
        .map_err(|err| format!("not a recording: `request`: {err}"))?;
    if raw.get("response").and_then(|r| r.get("body")).is_none() {
        return Err("not a recording: no `response.body`".into());
    }
    let rules = rules_for(request.provider.as_deref(), &request.endpoint)?;
    let ctx = NormalizeContext {
        hash,
        endpoint: &request.endpoint,
    };
    let mut changed = false;
    for body in raw_bodies_mut(raw) {
        let before = body.clone();
        rules.normalize(&ctx, body);
        changed |= *body != before;
    }
    Ok(changed)
}

/// The rules for a recording: by `provider` when it names one, else by endpoint
/// (`/api/...` is Ollama, the rest OpenAI-style).
pub fn rules_for(
    provider: Option<&str>,
    endpoint: &str,
) -> Result<&'static dyn Normalizer, String> {
    match provider {
        Some(provider_openai::PROVIDER) => Ok(&OpenAiNormalizer),
        Some(provider_ollama::PROVIDER) => Ok(&OllamaNormalizer),
        Some(other) => Err(format!(
            "unknown provider {other:?} in `request.provider` (known: {}, {})",
            provider_openai::PROVIDER,
            provider_ollama::PROVIDER
        )),
        None if endpoint.starts_with("/api/") => Ok(&OllamaNormalizer),
        None => Ok(&OpenAiNormalizer),
    }
}

/// The request hash a file's name carries: the stem (`<hash>.json`), or, for
/// llama-stack's model-list files `models-<hash>-<digest>.json`, the `<hash>` part.
pub fn hash_from_file_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.strip_prefix("models-") {
        Some(rest) => rest.split('-').next().unwrap_or(rest).to_owned(),
        None => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_come_from_file_names() {
        assert_eq!(
            hash_from_file_name(Path::new("a/3c0bf9ba81b2.json")),
            "3c0bf9ba81b2"
        );
        assert_eq!(
            hash_from_file_name(Path::new("models-bd032f995f2a-abd54ea0.json")),
            "bd032f995f2a"
        );
    }

    #[test]
    fn rules_are_chosen_by_provider_then_endpoint() {
        let name = |r: Result<&'static dyn Normalizer, String>| r.map(|n| format!("{n:?}"));
        assert_eq!(
            name(rules_for(Some("ollama"), "/v1/chat/completions")),
            Ok("OllamaNormalizer".into())
        );
        assert_eq!(
            name(rules_for(None, "/api/generate")),
            Ok("OllamaNormalizer".into())
        );
        assert_eq!(
            name(rules_for(None, "/v1/models")),
            Ok("OpenAiNormalizer".into())
        );
        assert!(
            name(rules_for(Some("anthropic"), "/v1/messages"))
                .is_err_and(|e| e.contains("anthropic"))
        );
    }
}
