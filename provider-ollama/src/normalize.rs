//! Normalization rules for Ollama-style bodies.

use recording_core::normalizer::{fields_mut, set_string};
use recording_core::{NormalizeContext, Normalizer};
use serde_json::Value;

/// The fixed timestamp every `created_at` becomes.
pub const EPOCH: &str = "1970-01-01T00:00:00.000000Z";

/// The Ollama-style rules, applied to a body or to one stream chunk:
///
/// - `created_at` → [`EPOCH`], and `total_duration`, `load_duration`,
///   `prompt_eval_duration`, `eval_duration` → `0`, where present and not null.
/// - `/api/ps`: each running model's `expires_at` → [`EPOCH`]: it is the time of the
///   request plus the keep-alive, different on every run.
///
/// Left alone on purpose: `modified_at` in model lists (the model file's date: stable
/// until the model is re-pulled, and then a change worth seeing in a diff), token
/// counts and `context` (deterministic for the same model and prompt), and `digest`.
/// The number of progress lines `/api/pull` streams depends on the network and cannot
/// be normalized away; re-record pulls only when you must.
///
/// The rules are idempotent.
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaNormalizer;

impl Normalizer for OllamaNormalizer {
    /// `/keep_alive`: how long Ollama keeps the model loaded afterwards; it never
    /// changes the answer.
    fn volatile_request_fields(&self) -> &[&'static str] {
        &["/keep_alive"]
    }

    /// Ollama's error shape: `{"error": "..."}`, with no rate-limit headers.
    fn fault_error(&self, status: u16, retry_after: u64) -> (Value, Vec<(String, String)>) {
        let _ = retry_after;
        let message = match status {
            429 => "server busy, please try again.  maximum pending requests exceeded",
            503 => "server busy, please try again.  maximum pending requests exceeded",
            _ => "an error was encountered while running the model",
        };
        (serde_json::json!({"error": message}), Vec::new())
    }

    /// The line an Ollama stream ends with when the model fails mid-stream.
    fn fault_stream_error(&self) -> (u16, Value) {
        (
            500,
            serde_json::json!({"error": "an error was encountered while running the model: unexpected EOF"}),
        )
    }

    fn fault_malformed_chunk(&self) -> &'static str {
        r#"{"model":"m","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"#
    }

    /// See the `equivalence` module for the rules and why each holds.
    fn equivalent(&self, endpoint: &str, body: &mut Value) -> bool {
        crate::equivalence::equivalent(endpoint, body)
    }

    fn normalize(&self, _ctx: &NormalizeContext<'_>, body: &mut Value) -> bool {
        let Some(map) = body.as_object_mut() else {
            return false;
        };
        let [created_at, models, durations @ ..] = fields_mut(
            map,
            [
                "created_at",
                "models",
                "total_duration",
                "load_duration",
                "prompt_eval_duration",
                "eval_duration",
            ],
        );
        let mut changed = epoch_if_set(created_at);
        for slot in durations.into_iter().flatten() {
            if !slot.is_null() && *slot != 0 {
                *slot = Value::from(0);
                changed = true;
            }
        }
        // Only `/api/ps` entries carry `expires_at`; no endpoint check needed.
        if let Some(models) = models.and_then(Value::as_array_mut) {
            for model in models.iter_mut().filter_map(Value::as_object_mut) {
                let [expires_at] = fields_mut(model, ["expires_at"]);
                changed |= epoch_if_set(expires_at);
            }
        }
        changed
    }
}

/// Sets a field to [`EPOCH`] when it is set (present and not null) and differs; says
/// whether it did.
fn epoch_if_set(slot: Option<&mut Value>) -> bool {
    slot.filter(|slot| !slot.is_null())
        .is_some_and(|slot| set_string(slot, format_args!("{EPOCH}")))
}
