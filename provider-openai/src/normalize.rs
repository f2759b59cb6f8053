//! Normalization rules for OpenAI-style bodies.

use recording_core::{NormalizeContext, Normalizer};
use serde_json::{Map, Value};

/// The OpenAI-style rules, applied to a body or to one stream chunk:
///
/// - `id` → `rec-{hash[:12]}` and `created` → `0` on the top-level object, unless its
///   `object` is `"model"` (a model's id is its name).
/// - Tool-call ids (`choices[i].message.tool_calls[j].id`, and in chunks
///   `choices[i].delta.tool_calls[k].id` where `k` is the call's `index`) →
///   `call_rec-{hash[:12]}-{i}-{j}`, so a follow-up request that echoes them hashes the
///   same on every run.
/// - llama.cpp's `timings` (in bodies and final chunks): every `*_ms` and
///   `*_per_second` figure → `0`; token counts stay.
/// - llama.cpp's model list: `created` → `0` on `data[*]` entries owned by `llamacpp`,
///   whose `created` is the time of the request. Other servers' model entries keep
///   theirs: there it is a real date that does not change between runs.
///
/// The rules are idempotent.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiNormalizer;

impl Normalizer for OpenAiNormalizer {
    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) {
        let Some(map) = body.as_object_mut() else {
            return;
        };
        let short = &ctx.hash[..ctx.hash.len().min(12)];
        if map.get("object").and_then(Value::as_str) != Some("model") {
            if map.contains_key("id") {
                map.insert("id".into(), Value::String(format!("rec-{short}")));
            }
            if map.get("created").is_some_and(Value::is_number) {
                map.insert("created".into(), Value::from(0));
            }
        }
        if let Some(choices) = map.get_mut("choices").and_then(Value::as_array_mut) {
            for (position, choice) in choices.iter_mut().enumerate() {
                let i = choice
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(position as u64);
                for holder in ["message", "delta"] {
                    if let Some(calls) = choice
                        .get_mut(holder)
                        .and_then(|m| m.get_mut("tool_calls"))
                        .and_then(Value::as_array_mut)
                    {
                        normalize_tool_calls(short, i, calls);
                    }
                }
            }
        }
        if let Some(timings) = map.get_mut("timings").and_then(Value::as_object_mut) {
            zero_timings(timings);
        }
        if let Some(models) = map.get_mut("data").and_then(Value::as_array_mut) {
            for model in models.iter_mut().filter_map(Value::as_object_mut) {
                let llama_cpp = model.get("owned_by").and_then(Value::as_str) == Some("llamacpp");
                if llama_cpp && model.get("created").is_some_and(Value::is_number) {
                    model.insert("created".into(), Value::from(0));
                }
            }
        }
    }
}

fn normalize_tool_calls(short: &str, choice: u64, calls: &mut [Value]) {
    for (position, call) in calls.iter_mut().enumerate() {
        let j = call
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        if let Some(id) = call.get_mut("id").filter(|id| id.is_string()) {
            *id = Value::String(format!("call_rec-{short}-{choice}-{j}"));
        }
    }
}

fn zero_timings(timings: &mut Map<String, Value>) {
    for (key, value) in timings.iter_mut() {
        if value.is_number() && (key.ends_with("_ms") || key.ends_with("_per_second")) {
            *value = Value::from(0);
        }
    }
}
