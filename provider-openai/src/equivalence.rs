//! OpenAI's equivalence rules: spellings of one request that its API answers alike,
//! read as one when a suite turns equivalence on. Each rule is in the guide with its
//! reason.

use recording_core::equivalence::{
    drop_default, drop_nulls, drop_nulls_in_messages, single_text_part,
};
use serde_json::{Value, json};

/// The normal form of a body bound for `endpoint`:
///
/// - every endpoint: a `null` top-level member ≡ absent (the API reads `null` as not
///   given);
/// - chat completions: each message's `null` members ≡ absent, and a `content` of one
///   text part ≡ its text; the documented defaults ≡ absent: `n: 1`, `stream: false`,
///   `temperature: 1`, `top_p: 1`, `presence_penalty: 0`, `frequency_penalty: 0`,
///   `logprobs: false`, `parallel_tool_calls: true`, and `tool_choice` `"auto"` with
///   tools or `"none"` without;
/// - the Responses API: `stream: false`, `parallel_tool_calls: true`, and
///   `tool_choice: "auto"` with tools ≡ absent.
pub(crate) fn equivalent(endpoint: &str, body: &mut Value) -> bool {
    let Some(map) = body.as_object_mut() else {
        return false;
    };
    let mut changed = drop_nulls(map);
    let path = endpoint.split('?').next().unwrap_or(endpoint);
    let has_tools = map
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    if path.ends_with("/chat/completions") {
        changed |= drop_nulls_in_messages(map);
        if let Some(messages) = map.get_mut("messages").and_then(Value::as_array_mut) {
            for message in messages.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(content) = message.get_mut("content") {
                    changed |= single_text_part(content);
                }
            }
        }
        for (name, default) in [
            ("n", json!(1)),
            ("stream", json!(false)),
            ("temperature", json!(1)),
            ("top_p", json!(1)),
            ("presence_penalty", json!(0)),
            ("frequency_penalty", json!(0)),
            ("logprobs", json!(false)),
            ("parallel_tool_calls", json!(true)),
        ] {
            changed |= drop_default(map, name, &default);
        }
        let tool_default = if has_tools { "auto" } else { "none" };
        changed |= drop_default(map, "tool_choice", &json!(tool_default));
    } else if path.ends_with("/responses") {
        changed |= drop_default(map, "stream", &json!(false));
        changed |= drop_default(map, "parallel_tool_calls", &json!(true));
        if has_tools {
            changed |= drop_default(map, "tool_choice", &json!("auto"));
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_a_chat_request_have_one_normal_form() {
        let mut plain = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
        let mut spelled_out = json!({"model": "m", "n": 1, "stream": false, "user": null,
            "tool_choice": "none", "temperature": 1.0,
            "messages": [{"role": "user", "name": null, "content": [{"type": "text", "text": "Hi"}]}]});
        assert!(
            !equivalent("/v1/chat/completions", &mut plain),
            "already normal"
        );
        assert!(equivalent("/v1/chat/completions", &mut spelled_out));
        assert_eq!(plain, spelled_out);
        let mut with_tools =
            json!({"messages": [], "tools": [{"type": "function"}], "tool_choice": "auto"});
        assert!(equivalent("/v1/chat/completions", &mut with_tools));
        assert!(with_tools.get("tool_choice").is_none());
        let mut forced =
            json!({"messages": [], "tools": [{"type": "function"}], "tool_choice": "none"});
        assert!(
            !equivalent("/v1/chat/completions", &mut forced),
            "not the default with tools"
        );
    }
}
