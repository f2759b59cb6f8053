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
/// - The Responses API (`object: "response"`, as a body or as the `response` of a
///   stream event): `created_at` and `completed_at` → `0`, and each output item's ids
///   → `{prefix}_rec-{hash[:12]}-{i}` (`msg_`, `fc_`, ...; `call_id` →
///   `call_rec-{hash[:12]}-{i}`), `i` being the item's place in `output`. Stream
///   events name items by `output_index` when the server sends it, else 0: llama.cpp
///   sends none, and streams one item.
///
/// The rules are idempotent.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiNormalizer;

impl Normalizer for OpenAiNormalizer {
    /// `/user`: OpenAI's end-user identifier, often a session or request id that
    /// changes on every run; it never changes the answer.
    fn volatile_request_fields(&self) -> &[&'static str] {
        &["/user"]
    }

    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) -> bool {
        let Some(map) = body.as_object_mut() else {
            return false;
        };
        let short = ctx.short_hash();
        let mut changed = false;
        if map.get("object").and_then(Value::as_str) != Some("model") {
            if let Some(id) = map.get_mut("id") {
                set(id, Value::String(format!("rec-{short}")), &mut changed);
            }
            if let Some(created) = map.get_mut("created").filter(|c| c.is_number()) {
                set(created, Value::from(0), &mut changed);
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
                        normalize_tool_calls(short, i, calls, &mut changed);
                    }
                }
            }
        }
        normalize_responses_api(short, map, &mut changed);
        if let Some(timings) = map.get_mut("timings").and_then(Value::as_object_mut) {
            zero_timings(timings, &mut changed);
        }
        if let Some(models) = map.get_mut("data").and_then(Value::as_array_mut) {
            for model in models.iter_mut().filter_map(Value::as_object_mut) {
                let llama_cpp = model.get("owned_by").and_then(Value::as_str) == Some("llamacpp");
                if let Some(created) = model.get_mut("created").filter(|c| c.is_number())
                    && llama_cpp
                {
                    set(created, Value::from(0), &mut changed);
                }
            }
        }
        changed
    }
}

/// Sets `slot` to `value`, noting whether that changed it: how the rules tell the
/// `normalize` tool that a file needs rewriting, without comparing copies.
fn set(slot: &mut Value, value: Value, changed: &mut bool) {
    if *slot != value {
        *slot = value;
        *changed = true;
    }
}

fn normalize_responses_api(short: &str, map: &mut Map<String, Value>, changed: &mut bool) {
    if map.get("object").and_then(Value::as_str) == Some("response") {
        normalize_response(short, map, changed);
    }
    let is_event = map
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.starts_with("response."));
    if !is_event {
        return;
    }
    if let Some(response) = map.get_mut("response").and_then(Value::as_object_mut) {
        if let Some(id) = response.get_mut("id") {
            set(id, Value::String(format!("rec-{short}")), changed);
        }
        normalize_response(short, response, changed);
    }
    let index = map.get("output_index").and_then(Value::as_u64).unwrap_or(0);
    if let Some(item) = map.get_mut("item").and_then(Value::as_object_mut) {
        normalize_item(short, index, item, changed);
    }
    if let Some(id) = map.get_mut("item_id") {
        rename_id(short, index, id, changed);
    }
}

/// A Responses API response object: its times and its output items' ids.
fn normalize_response(short: &str, response: &mut Map<String, Value>, changed: &mut bool) {
    for key in ["created_at", "completed_at"] {
        if let Some(time) = response.get_mut(key).filter(|t| t.is_number()) {
            set(time, Value::from(0), changed);
        }
    }
    if let Some(output) = response.get_mut("output").and_then(Value::as_array_mut) {
        for (i, item) in output.iter_mut().enumerate() {
            if let Some(item) = item.as_object_mut() {
                normalize_item(short, i as u64, item, changed);
            }
        }
    }
}

fn normalize_item(short: &str, index: u64, item: &mut Map<String, Value>, changed: &mut bool) {
    if let Some(id) = item.get_mut("id") {
        rename_id(short, index, id, changed);
    }
    if let Some(call_id) = item.get_mut("call_id").filter(|id| id.is_string()) {
        set(
            call_id,
            Value::String(format!("call_rec-{short}-{index}")),
            changed,
        );
    }
}

/// `msg_Ab12...` → `msg_rec-{short}-{index}`: the prefix says what the id names.
fn rename_id(short: &str, index: u64, id: &mut Value, changed: &mut bool) {
    let Some(text) = id.as_str() else {
        return;
    };
    let prefix = text.split_once('_').map_or("item", |(prefix, _)| prefix);
    let renamed = Value::String(format!("{prefix}_rec-{short}-{index}"));
    set(id, renamed, changed);
}

fn normalize_tool_calls(short: &str, choice: u64, calls: &mut [Value], changed: &mut bool) {
    for (position, call) in calls.iter_mut().enumerate() {
        let j = call
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        if let Some(id) = call.get_mut("id").filter(|id| id.is_string()) {
            set(
                id,
                Value::String(format!("call_rec-{short}-{choice}-{j}")),
                changed,
            );
        }
    }
}

fn zero_timings(timings: &mut Map<String, Value>, changed: &mut bool) {
    for (key, value) in timings.iter_mut() {
        if value.is_number() && (key.ends_with("_ms") || key.ends_with("_per_second")) {
            set(value, Value::from(0), changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalized(mut body: Value) -> Value {
        let ctx = NormalizeContext {
            hash: "0123456789abcdef",
            endpoint: "/v1/responses",
        };
        OpenAiNormalizer.normalize(&ctx, &mut body);
        let once = body.clone();
        let changed = OpenAiNormalizer.normalize(&ctx, &mut body);
        assert_eq!(body, once, "idempotent");
        assert!(!changed, "and says it changed nothing");
        body
    }

    #[test]
    fn responses_api_ids_and_times_are_normalized_in_bodies_and_events() {
        let body = normalized(json!({
            "id": "resp_Ok29", "object": "response", "created_at": 17, "completed_at": 18,
            "output": [
                {"type": "message", "id": "msg_WDIx", "content": []},
                {"type": "function_call", "id": "fc_9", "call_id": "call_x", "name": "f"}
            ]
        }));
        assert_eq!(body["id"], "rec-0123456789ab");
        assert_eq!(
            (body["created_at"].clone(), body["completed_at"].clone()),
            (json!(0), json!(0))
        );
        assert_eq!(body["output"][0]["id"], "msg_rec-0123456789ab-0");
        assert_eq!(body["output"][1]["id"], "fc_rec-0123456789ab-1");
        assert_eq!(body["output"][1]["call_id"], "call_rec-0123456789ab-1");

        let event = normalized(json!({
            "type": "response.completed",
            "response": {"id": "resp_K", "object": "response", "created_at": 5,
                         "output": [{"type": "message", "id": "msg_r"}]}
        }));
        assert_eq!(event["response"]["id"], "rec-0123456789ab");
        assert_eq!(
            event["response"]["output"][0]["id"],
            "msg_rec-0123456789ab-0"
        );
        let delta = normalized(
            json!({"type": "response.output_text.delta", "item_id": "msg_r", "delta": "hi"}),
        );
        assert_eq!(delta["item_id"], "msg_rec-0123456789ab-0");
        let added = normalized(
            json!({"type": "response.output_item.added", "output_index": 1,
                                      "item": {"id": "fc_z", "call_id": "call_q"}}),
        );
        assert_eq!(added["item"]["id"], "fc_rec-0123456789ab-1");
        assert_eq!(added["item"]["call_id"], "call_rec-0123456789ab-1");
    }
}
