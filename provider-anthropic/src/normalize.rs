//! Normalization rules for Messages API bodies and stream events.

use recording_core::normalizer::{fields_mut, set_string};
use recording_core::{NormalizeContext, Normalizer};
use serde_json::{Map, Value};

/// The Messages API rules, applied to a body or to one stream event:
///
/// - A message (`"type": "message"`, as a body or as `message_start`'s `message`):
///   `id` → `msg_rec-{hash[:12]}`, and each tool-use block's `id` (`tool_use`,
///   `server_tool_use`) → `toolu_rec-{hash[:12]}-{i}`, `i` its place in `content`.
/// - `content_block_start`: a tool-use block's `id` → `toolu_rec-{hash[:12]}-{index}`,
///   the same id the whole body would give it, so a follow-up request that echoes it
///   in its `tool_result` hashes the same on every run, streamed or not.
/// - llama.cpp's model list: `created` → `0` on `data[*]` entries owned by `llamacpp`
///   (the time of the request there; a real date elsewhere).
///
/// Its keys carry `"provider": "anthropic"` ([`Normalizer::key_name`]).
///
/// Nothing else in llama-server's answers changes between runs with a fixed seed (no
/// timings in this API). The rules are idempotent.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicNormalizer;

impl Normalizer for AnthropicNormalizer {
    /// `/metadata/user_id`: an end-user identifier, often a session id that changes on
    /// every run; it never changes the answer.
    fn volatile_request_fields(&self) -> &[&'static str] {
        &["/metadata/user_id"]
    }

    /// `anthropic`: its model list is `GET /v1/models`, as OpenAI's is, and the two
    /// answers differ, so its keys name it.
    fn key_name(&self) -> Option<&'static str> {
        Some(crate::PROVIDER)
    }

    /// Anthropic's error shape (its API reference, "Errors"): `{"type": "error",
    /// "error": {"type", "message"}}`, `rate_limit_error` (429, with `retry-after` and
    /// the `anthropic-ratelimit-*` headers), `api_error` (500), `overloaded_error`
    /// (529, and 503).
    fn fault_error(&self, status: u16, retry_after: u64) -> (Value, Vec<(String, String)>) {
        let (kind, message) = match status {
            429 => (
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
            529 | 503 => ("overloaded_error", "Overloaded"),
            500 => ("api_error", "Internal server error"),
            401 => ("authentication_error", "invalid x-api-key"),
            _ => ("api_error", "The request failed"),
        };
        let body =
            serde_json::json!({"type": "error", "error": {"type": kind, "message": message}});
        let mut headers = Vec::new();
        if matches!(status, 429 | 503 | 529) {
            headers.push(("retry-after".to_owned(), retry_after.to_string()));
        }
        if status == 429 {
            for (name, value) in [
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:01Z"),
                ("anthropic-ratelimit-tokens-limit", "40000"),
                ("anthropic-ratelimit-tokens-remaining", "0"),
            ] {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        (body, headers)
    }

    /// The `error` event of a Messages stream (its streaming reference):
    /// `overloaded_error`.
    fn fault_stream_error(&self) -> (u16, Value) {
        (
            529,
            serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )
    }

    fn fault_malformed_chunk(&self) -> &'static str {
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"#
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
        let [kind] = fields_mut(map, ["type"]);
        match kind.as_deref().and_then(Value::as_str) {
            Some("message") => normalize_message(short, map),
            Some("message_start") => {
                let [message] = fields_mut(map, ["message"]);
                message
                    .and_then(Value::as_object_mut)
                    .is_some_and(|message| normalize_message(short, message))
            }
            Some("content_block_start") => {
                let [index, block] = fields_mut(map, ["index", "content_block"]);
                let index = index.as_deref().and_then(Value::as_u64).unwrap_or(0);
                block
                    .and_then(Value::as_object_mut)
                    .is_some_and(|block| normalize_tool_use(short, index, block))
            }
            _ => {
                let [data] = fields_mut(map, ["data"]);
                data.and_then(Value::as_array_mut)
                    .is_some_and(|models| normalize_models(models))
            }
        }
    }
}

fn normalize_message(short: &str, message: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    let [id, content] = fields_mut(message, ["id", "content"]);
    if let Some(id) = id.filter(|id| id.is_string()) {
        changed |= set_string(id, format_args!("msg_rec-{short}"));
    }
    for (i, block) in content
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(block) = block.as_object_mut() {
            changed |= normalize_tool_use(short, i as u64, block);
        }
    }
    changed
}

fn normalize_tool_use(short: &str, index: u64, block: &mut Map<String, Value>) -> bool {
    let [kind, id] = fields_mut(block, ["type", "id"]);
    let is_tool_use = matches!(
        kind.as_deref().and_then(Value::as_str),
        Some("tool_use" | "server_tool_use")
    );
    match id.filter(|id| is_tool_use && id.is_string()) {
        Some(id) => set_string(id, format_args!("toolu_rec-{short}-{index}")),
        None => false,
    }
}

fn normalize_models(models: &mut [Value]) -> bool {
    let mut changed = false;
    for model in models.iter_mut().filter_map(Value::as_object_mut) {
        let [owner, created] = fields_mut(model, ["owned_by", "created"]);
        if owner.is_some_and(|owner| *owner == "llamacpp")
            && let Some(created) = created.filter(|created| **created != 0)
        {
            *created = Value::from(0);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn normalized(mut body: Value) -> (Value, bool) {
        let ctx = NormalizeContext {
            hash: HASH,
            endpoint: crate::MESSAGES,
        };
        let changed = AnthropicNormalizer.normalize(&ctx, &mut body);
        let again = AnthropicNormalizer.normalize(&ctx, &mut body);
        assert!(!again, "idempotent: {body}");
        (body, changed)
    }

    #[test]
    fn message_and_tool_use_ids_are_derived_from_the_key_in_bodies_and_events() {
        let (body, changed) = normalized(json!({
            "id": "chatcmpl-x", "type": "message", "content": [
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "UMdOrp1N", "name": "get_weather", "input": {}}
            ]
        }));
        assert!(changed);
        assert_eq!(body["id"], "msg_rec-0123456789ab");
        assert_eq!(body["content"][1]["id"], "toolu_rec-0123456789ab-1");
        let (start, _) = normalized(json!({"type": "message_start", "message": {
            "id": "msg_01", "type": "message", "content": []}}));
        assert_eq!(start["message"]["id"], "msg_rec-0123456789ab");
        let (block, _) = normalized(json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_01", "name": "f"}}));
        assert_eq!(
            block["content_block"]["id"], body["content"][1]["id"],
            "a stream gives a tool use the id its body would"
        );
        let (text, changed) = normalized(json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}));
        assert!(!changed, "{text}");
    }

    #[test]
    fn only_llama_cpps_model_times_are_zeroed() {
        let (list, changed) = normalized(json!({"data": [
            {"id": "a", "owned_by": "llamacpp", "created": 1796231118},
            {"id": "claude", "type": "model", "created_at": "2025-02-19T00:00:00Z"}
        ]}));
        assert!(changed);
        assert_eq!(list["data"][0]["created"], 0);
        assert_eq!(list["data"][1]["created_at"], "2025-02-19T00:00:00Z");
    }
}
