//! What a replay miss tells the user: what was asked, what is closest, how to record
//! it. A plain value: the recorder fills it in (`closest` searches the recordings).

use std::fmt;
use std::path::PathBuf;

use crate::api::client::Method;
use crate::mode::{MODE_ENV, Mode};

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
    /// The volatile patterns masked in the key (and in the comparison with the closest
    /// recording), by name.
    pub masked_by: Vec<String>,
    /// Whether the key was of the request's equivalent normal form.
    pub equivalence: bool,
    /// The fault rule that was to be injected into this call's answer, if any.
    pub fault: Option<String>,
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
    /// When the bodies differ only in a few values (1 to 3), their JSON Pointers.
    pub differing_fields: Vec<String>,
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
        if !self.masked_by.is_empty() {
            writeln!(
                f,
                "  masked:    volatile patterns {} (in the key, and in the comparison below)",
                self.masked_by.join(", ")
            )?;
        }
        if let Some(fault) = &self.fault {
            writeln!(
                f,
                "  fault:     {fault} was to be injected into this answer (the fault plan)"
            )?;
        }
        if self.equivalence {
            writeln!(
                f,
                "  keyed by:  the provider's equivalence rules (TEST_INFERENCE_EQUIVALENCE)"
            )?;
        }
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
                            "  the request changed in {fields}: what the app sends is different, so it needs its own recording (below). If that text changes on every run (a time or an id inside it), mask it with a volatile pattern (Recording::volatile_pattern(\"uuid\"), TEST_INFERENCE_VOLATILE_PATTERNS=uuid,iso8601 or re:REGEX), or give each test its own scope (Recording::scope, the X-Recording-Scope header)"
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
