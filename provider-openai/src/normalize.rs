//! Normalization rules for OpenAI-style bodies.

use recording_core::normalizer::{fields_mut, formats_as, set_string};
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

    /// See the `equivalence` module for the rules and why each holds.
    fn equivalent(&self, endpoint: &str, body: &mut Value) -> bool {
        crate::equivalence::equivalent(endpoint, body)
    }

    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) -> bool {
        let Some(map) = body.as_object_mut() else {
            return false;
        };
        let short = ctx.short_hash();
        let mut changed = false;
        let [
            object,
            id,
            created,
            choices,
            timings,
            data,
            kind,
            response,
            output_index,
            item,
            item_id,
            created_at,
            completed_at,
            output,
        ] = fields_mut(
            map,
            [
                "object",
                "id",
                "created",
                "choices",
                "timings",
                "data",
                "type",
                "response",
                "output_index",
                "item",
                "item_id",
                "created_at",
                "completed_at",
                "output",
            ],
        );
        let object = object.as_deref().and_then(Value::as_str);
        if object != Some("model") {
            if let Some(id) = id {
                changed |= set_string(id, format_args!("rec-{short}"));
            }
            if let Some(created) = created.filter(|c| c.is_number()) {
                set(created, Value::from(0), &mut changed);
            }
        }
        if let Some(choices) = choices.and_then(Value::as_array_mut) {
            for (position, choice) in choices.iter_mut().enumerate() {
                let Some(choice) = choice.as_object_mut() else {
                    continue;
                };
                let [index, message, delta] = fields_mut(choice, ["index", "message", "delta"]);
                let i = index
                    .as_deref()
                    .and_then(Value::as_u64)
                    .unwrap_or(position as u64);
                for holder in [message, delta].into_iter().flatten() {
                    if let Some(holder) = holder.as_object_mut()
                        && let [Some(calls)] = fields_mut(holder, ["tool_calls"])
                        && let Some(calls) = calls.as_array_mut()
                    {
                        normalize_tool_calls(short, i, calls, &mut changed);
                    }
                }
            }
        }
        if object == Some("response") {
            normalize_response(short, [created_at, completed_at, output], &mut changed);
        }
        let is_event = kind
            .as_deref()
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.starts_with("response."));
        if is_event {
            let index = output_index.as_deref().and_then(Value::as_u64).unwrap_or(0);
            normalize_event(short, index, [response, item, item_id], &mut changed);
        }
        if let Some(timings) = timings.and_then(Value::as_object_mut) {
            zero_timings(timings, &mut changed);
        }
        if let Some(models) = data.and_then(Value::as_array_mut) {
            for model in models.iter_mut().filter_map(Value::as_object_mut) {
                let [owned_by, created] = fields_mut(model, ["owned_by", "created"]);
                let llama_cpp = owned_by.as_deref().and_then(Value::as_str) == Some("llamacpp");
                if let Some(created) = created.filter(|c| c.is_number())
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

/// A Responses API stream event's `response`, `item` and `item_id`; `index` is the
/// event's `output_index`.
fn normalize_event(
    short: &str,
    index: u64,
    [response, item, item_id]: [Option<&mut Value>; 3],
    changed: &mut bool,
) {
    if let Some(response) = response.and_then(Value::as_object_mut) {
        let [id, created_at, completed_at, output] =
            fields_mut(response, ["id", "created_at", "completed_at", "output"]);
        if let Some(id) = id {
            *changed |= set_string(id, format_args!("rec-{short}"));
        }
        normalize_response(short, [created_at, completed_at, output], changed);
    }
    if let Some(item) = item.and_then(Value::as_object_mut) {
        normalize_item(short, index, item, changed);
    }
    if let Some(id) = item_id {
        rename_id(short, index, id, changed);
    }
}

/// A Responses API response object, given its `created_at`, `completed_at` and
/// `output`: its times and its output items' ids.
fn normalize_response(
    short: &str,
    [created_at, completed_at, output]: [Option<&mut Value>; 3],
    changed: &mut bool,
) {
    for time in [created_at, completed_at].into_iter().flatten() {
        if time.is_number() {
            set(time, Value::from(0), changed);
        }
    }
    if let Some(output) = output.and_then(Value::as_array_mut) {
        for (i, item) in output.iter_mut().enumerate() {
            if let Some(item) = item.as_object_mut() {
                normalize_item(short, i as u64, item, changed);
            }
        }
    }
}

fn normalize_item(short: &str, index: u64, item: &mut Map<String, Value>, changed: &mut bool) {
    let [id, call_id] = fields_mut(item, ["id", "call_id"]);
    if let Some(id) = id {
        rename_id(short, index, id, changed);
    }
    if let Some(call_id) = call_id.filter(|id| id.is_string()) {
        *changed |= set_string(call_id, format_args!("call_rec-{short}-{index}"));
    }
}

/// `msg_Ab12...` → `msg_rec-{short}-{index}`: the prefix says what the id names.
fn rename_id(short: &str, index: u64, id: &mut Value, changed: &mut bool) {
    let Some(text) = id.as_str() else {
        return;
    };
    let renamed = |rest: &str| formats_as(rest, format_args!("rec-{short}-{index}"));
    let prefix = match text.split_once('_') {
        Some((_, rest)) if renamed(rest) => return,
        Some((prefix, _)) => prefix,
        None => "item",
    };
    *id = Value::String(format!("{prefix}_rec-{short}-{index}"));
    *changed = true;
}

fn normalize_tool_calls(short: &str, choice: u64, calls: &mut [Value], changed: &mut bool) {
    for (position, call) in calls.iter_mut().enumerate() {
        let Some(call) = call.as_object_mut() else {
            continue;
        };
        let [index, id] = fields_mut(call, ["index", "id"]);
        let j = index
            .as_deref()
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        if let Some(id) = id.filter(|id| id.is_string()) {
            *changed |= set_string(id, format_args!("call_rec-{short}-{choice}-{j}"));
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
