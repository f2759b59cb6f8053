//! What a replay miss tells the user: what was asked, what is closest, how to record it.

use std::fmt;
use std::fs;
use std::path::PathBuf;

use serde_json::{Map, Value};
use similar::TextDiff;

use crate::client::{ApiRequest, Method};
use crate::format::{RecordingFile, to_pretty_json};
use crate::mode::{MODE_ENV, Mode};
use crate::store::Store;

/// A request that has no recording, with everything needed to act on it.
#[derive(Debug, Clone)]
pub struct ReplayMiss {
    /// The request's key.
    pub hash: String,
    /// The provider the client speaks.
    pub provider: String,
    /// The request's method.
    pub method: Method,
    /// The request's endpoint.
    pub endpoint: String,
    /// The request's model (`""` when it has none).
    pub model: String,
    /// The recorder's scope, if any.
    pub scope: Option<String>,
    /// The mode the recorder ran in.
    pub mode: Mode,
    /// The recordings directory that was searched.
    pub dir: PathBuf,
    /// The file that would have held the recording.
    pub expected_path: PathBuf,
    /// The most similar existing recording, if any.
    pub closest: Option<Closest>,
}

/// The existing recording most similar to a missed request.
#[derive(Debug, Clone)]
pub struct Closest {
    /// Its file.
    pub path: PathBuf,
    /// Whether it has the same model (otherwise only the same endpoint).
    pub same_model: bool,
    /// Its scope, when it differs from the missed request's.
    pub scope: Option<String>,
    /// A unified diff from its request body to the missed one, keys sorted.
    pub diff: String,
}

impl ReplayMiss {
    /// Builds the miss report for `request`, searching `store` for the closest
    /// recording of the same method and endpoint, preferring the same model.
    pub(crate) fn new(
        request: &ApiRequest,
        hash: String,
        provider: &str,
        scope: Option<&str>,
        mode: Mode,
        store: &Store,
    ) -> ReplayMiss {
        ReplayMiss {
            expected_path: store.path_for(&hash),
            closest: find_closest(request, scope, store),
            hash,
            provider: provider.to_owned(),
            method: request.method,
            endpoint: request.endpoint.clone(),
            model: request.model().to_owned(),
            scope: scope.map(str::to_owned),
            mode,
            dir: store.dir().to_path_buf(),
        }
    }
}

fn find_closest(request: &ApiRequest, scope: Option<&str>, store: &Store) -> Option<Closest> {
    let wanted = pretty_sorted(&request.body);
    let mut best: Option<(bool, f32, PathBuf, RecordingFile)> = None;
    for path in store.list() {
        // Unreadable files are someone else's problem here: a miss report must not
        // fail because of a neighbour.
        let Ok(bytes) = fs::read(&path) else { continue };
        let Ok(file) = RecordingFile::from_slice(&bytes, &path) else {
            continue;
        };
        let recorded = &file.request;
        if recorded.method != request.method || recorded.endpoint != request.endpoint {
            continue;
        }
        let same_model = recorded.model == request.model();
        let recorded_body = pretty_sorted(&recorded.body);
        let ratio = TextDiff::from_lines(&recorded_body, &wanted).ratio();
        let better = match &best {
            None => true,
            Some((best_same, best_ratio, ..)) => (same_model, ratio) > (*best_same, *best_ratio),
        };
        if better {
            best = Some((same_model, ratio, path, file));
        }
    }
    let (same_model, _, path, file) = best?;
    let recorded = pretty_sorted(&file.request.body);
    let diff = TextDiff::from_lines(&recorded, &wanted)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "requested")
        .to_string();
    let scope = file
        .request
        .scope
        .filter(|theirs| Some(theirs.as_str()) != scope);
    Some(Closest {
        path,
        same_model,
        scope,
        diff,
    })
}

/// Pretty JSON with keys sorted at every level, so a diff shows changed values rather
/// than reordered keys.
fn pretty_sorted(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    to_pretty_json(&sort(value))
}

impl fmt::Display for ReplayMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let model = if self.model.is_empty() {
            "(none)"
        } else {
            &self.model
        };
        writeln!(f, "replay miss: no recording for this request")?;
        writeln!(f, "  request:   {} {}", self.method, self.endpoint)?;
        writeln!(f, "  provider:  {}", self.provider)?;
        writeln!(f, "  model:     {model}")?;
        if let Some(scope) = &self.scope {
            writeln!(f, "  scope:     {scope}")?;
        }
        writeln!(f, "  hash:      {}", self.hash)?;
        writeln!(f, "  mode:      {}", self.mode)?;
        writeln!(f, "  directory: {}", self.dir.display())?;
        writeln!(f, "  expected:  {}", self.expected_path.display())?;
        match &self.closest {
            Some(closest) => {
                let what = if closest.same_model {
                    "same endpoint and model"
                } else {
                    "same endpoint, other model"
                };
                writeln!(f)?;
                writeln!(f, "closest recording ({what}): {}", closest.path.display())?;
                if let Some(scope) = &closest.scope {
                    writeln!(f, "  recorded in scope: {scope}")?;
                }
                if closest.diff.is_empty() {
                    writeln!(
                        f,
                        "  (the bodies are identical; the scope or method differs)"
                    )?;
                } else {
                    for line in closest.diff.lines() {
                        writeln!(f, "  {line}")?;
                    }
                }
            }
            None => {
                writeln!(f)?;
                writeln!(
                    f,
                    "no recording for {} {} exists in this directory",
                    self.method, self.endpoint
                )?;
            }
        }
        writeln!(f)?;
        // A scope made by `test_name!()` is the test's path; its last segment is a
        // filter `cargo test` accepts.
        let filter = self
            .scope
            .as_deref()
            .and_then(|scope| scope.rsplit("::").next())
            .unwrap_or("...");
        writeln!(f, "to record it, run the test against a server with:")?;
        write!(
            f,
            "  {MODE_ENV}={} cargo test {filter}",
            Mode::RecordIfMissing.as_str()
        )
    }
}
