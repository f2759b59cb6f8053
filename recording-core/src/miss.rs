//! What a replay miss tells the user: what was asked, what is closest, how to record it.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use similar::TextDiff;

use crate::client::{ApiRequest, Method};
use crate::format::{RecordedRequest, request_from_prefix, to_pretty_json};
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
    /// Set when the search for the closest recording stopped early, saying where.
    pub search_stopped: Option<String>,
    /// In sequence mode, past the recorded calls: this call's number (counting from
    /// 1) and how many were recorded.
    pub beyond_sequence: Option<(u64, u64)>,
    /// The test that missed, as libtest named its thread (when the miss happened on
    /// it), for the command that records it.
    pub test: Option<String>,
    /// What to run to record it, when the front knows better than the `cargo test`
    /// line (the recording server run as `inference-recorder serve` for a Python
    /// suite). Set by the front.
    pub record_with: Option<String>,
}

/// How much of each recording a miss reads: the request comes first in a file, so the
/// response (often most of it) is never read.
pub const MISS_HEAD_BYTES: u64 = 64 * 1024;
/// The most recordings a miss compares.
pub const MISS_SEARCH_FILES: usize = 2_000;
/// The longest a miss spends looking for the closest recording.
pub const MISS_SEARCH_TIME: Duration = Duration::from_millis(100);

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
    /// When the bodies differ only in a few values (1 to 3), their JSON Pointers.
    pub differing_fields: Vec<String>,
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
        let (closest, search_stopped) = find_closest(request, scope, store);
        ReplayMiss {
            closest,
            search_stopped,
            ..ReplayMiss::bare(request, hash, provider, scope, mode, store)
        }
    }

    /// The miss of call `call` (counting from 0) of a request in sequence mode, when
    /// only `call` calls were recorded.
    pub(crate) fn beyond_sequence(
        request: &ApiRequest,
        hash: String,
        provider: &str,
        scope: Option<&str>,
        call: u64,
        store: &Store,
    ) -> ReplayMiss {
        ReplayMiss {
            beyond_sequence: Some((call + 1, call)),
            ..ReplayMiss::bare(request, hash, provider, scope, Mode::Replay, store)
        }
    }

    /// What every miss report says: the request, where its recording was looked for.
    fn bare(
        request: &ApiRequest,
        hash: String,
        provider: &str,
        scope: Option<&str>,
        mode: Mode,
        store: &Store,
    ) -> ReplayMiss {
        ReplayMiss {
            expected_path: store.path_for(&hash),
            closest: None,
            search_stopped: None,
            beyond_sequence: None,
            test: crate::scope::current_test(),
            record_with: None,
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

/// The JSON Pointers of the values that differ between `a` and `b`, up to `limit`
/// (one more means "more than that").
fn differing_leaves(a: &Value, b: &Value, at: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() > limit {
        return;
    }
    match (a, b) {
        (Value::Object(left), Value::Object(right)) => {
            let keys: std::collections::BTreeSet<&String> =
                left.keys().chain(right.keys()).collect();
            for key in keys {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let here = format!("{at}/{escaped}");
                match (left.get(key), right.get(key)) {
                    (Some(l), Some(r)) => differing_leaves(l, r, &here, out, limit),
                    _ => out.push(here),
                }
            }
        }
        (Value::Array(left), Value::Array(right)) if left.len() == right.len() => {
            for (i, (l, r)) in left.iter().zip(right).enumerate() {
                differing_leaves(l, r, &format!("{at}/{i}"), out, limit);
            }
        }
        _ if a != b => out.push(if at.is_empty() {
            "/".into()
        } else {
            at.to_owned()
        }),
        _ => {}
    }
}

/// The existing recording of the same method and endpoint whose body is most like
/// the request's, preferring the same scope, then the same model. Bounded: only each file's request is read
/// (its first [`MISS_HEAD_BYTES`]), at most [`MISS_SEARCH_FILES`] files, for at most
/// [`MISS_SEARCH_TIME`]; when it stops early it says so.
fn find_closest(
    request: &ApiRequest,
    scope: Option<&str>,
    store: &Store,
) -> (Option<Closest>, Option<String>) {
    let started = Instant::now();
    let wanted = pretty_sorted(&request.body);
    // (same scope, same model, similarity): a test's own recordings first, since its
    // request changed; another test's identical body says less.
    let mut best: Option<((bool, bool, f32), PathBuf, RecordedRequest)> = None;
    let paths = store.list();
    let mut stopped = None;
    for (looked, path) in paths.iter().enumerate() {
        if looked == MISS_SEARCH_FILES || started.elapsed() > MISS_SEARCH_TIME {
            stopped = Some(format!(
                "the search stopped after {looked} of {} recordings (limits: {MISS_SEARCH_FILES} files, {MISS_SEARCH_TIME:?})",
                paths.len()
            ));
            break;
        }
        // Unreadable files are someone else's problem here: a miss report must not
        // fail because of a neighbour.
        let Some(recorded) = read_request(path) else {
            continue;
        };
        if recorded.method != request.method || recorded.endpoint != request.endpoint {
            continue;
        }
        let same_scope = recorded.scope.as_deref() == scope;
        let same_model = recorded.model == request.model();
        let recorded_body = pretty_sorted(&recorded.body);
        let ratio = TextDiff::from_lines(&recorded_body, &wanted).ratio();
        let rank = (same_scope, same_model, ratio);
        if best
            .as_ref()
            .is_none_or(|(best_rank, ..)| rank > *best_rank)
        {
            best = Some((rank, path.clone(), recorded));
        }
    }
    let Some(((_, same_model, _), path, recorded)) = best else {
        return (None, stopped);
    };
    let diff = TextDiff::from_lines(&pretty_sorted(&recorded.body), &wanted)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "requested")
        .to_string();
    let mut differing_fields = Vec::new();
    differing_leaves(&recorded.body, &request.body, "", &mut differing_fields, 3);
    if differing_fields.len() > 3 || differing_fields.iter().any(|f| f == "/") {
        differing_fields.clear();
    }
    let scope = recorded
        .scope
        .filter(|theirs| Some(theirs.as_str()) != scope);
    let closest = Closest {
        path,
        same_model,
        scope,
        diff,
        differing_fields,
    };
    (Some(closest), stopped)
}

/// The request of a recording file, from its first [`MISS_HEAD_BYTES`]; only regular
/// files are opened.
fn read_request(path: &Path) -> Option<RecordedRequest> {
    if !fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(MISS_HEAD_BYTES)
        .read_to_end(&mut head)
        .ok()?;
    request_from_prefix(&head)
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
        if let Some((call, recorded)) = self.beyond_sequence {
            writeln!(
                f,
                "  sequence:  this is call {call} of this request in its scope, but {recorded} were recorded"
            )?;
        }
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
                        "  (the bodies are identical; the scope differs, or the file's name is not its request's key)"
                    )?;
                } else {
                    for line in closest.diff.lines() {
                        writeln!(f, "  {line}")?;
                    }
                }
                if !closest.differing_fields.is_empty() {
                    let fields = closest.differing_fields.join(", ");
                    if closest.differing_fields.iter().any(|f| is_content(f)) {
                        // What the app said changed: that needs a new answer, never a
                        // key that ignores it.
                        writeln!(
                            f,
                            "  the request changed in {fields}: what the app sends is different, so it needs its own recording (below). If that text changes on every run (a time or an id inside it), keep the changing part out of the prompt, or give each test its own scope (Recording::scope, the X-Recording-Scope header)"
                        )?;
                    } else {
                        writeln!(
                            f,
                            "  the bodies differ only in {fields}: if that changes on every run without changing the answer, declare it volatile: Recording::volatile(\"{}\") or TEST_INFERENCE_VOLATILE={}",
                            closest.differing_fields[0],
                            closest.differing_fields.join(",")
                        )?;
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
        if let Some(stopped) = &self.search_stopped {
            writeln!(f, "({stopped})")?;
        }
        writeln!(f)?;
        writeln!(f, "to record it, run it against a server with:")?;
        if let Some(command) = &self.record_with {
            return writeln!(f, "  {command}");
        }
        // A scope made by `test_name!()` is the test's path, and so is libtest's name
        // for the thread of an unscoped test; the last segment is a filter `cargo test`
        // accepts.
        let filter = self
            .scope
            .as_deref()
            .or(self.test.as_deref())
            .and_then(|test| test.rsplit("::").next())
            .unwrap_or("<the test's name>");
        // On a line of its own, and ended: what a client library appends to the
        // message (async-openai's ` (code: replay_miss)`) goes on the next line.
        writeln!(
            f,
            "  {MODE_ENV}={} cargo test {filter}",
            Mode::RecordIfMissing.as_str()
        )
    }
}

/// Whether the JSON Pointer `field` is part of what the app says to the model (the
/// conversation, the prompt, the tools), in the request bodies of the APIs recorded
/// here. Such a field is never worth keeping out of the key.
fn is_content(field: &str) -> bool {
    const CONTENT: [&str; 10] = [
        "messages",
        "prompt",
        "input",
        "instructions",
        "system",
        "contents",
        "tools",
        "functions",
        "suffix",
        "images",
    ];
    let first = field
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    CONTENT.contains(&first)
}
