//! Anthropic's equivalence rules: spellings of one Messages request that its API
//! answers alike, read as one when a suite turns equivalence on. Each rule is in the
//! guide with its reason.

use recording_core::equivalence::{
    drop_default, drop_nulls, drop_nulls_in_messages, single_text_part,
};
use serde_json::{Value, json};

/// The normal form of a Messages body (`/v1/messages`, `/v1/messages/count_tokens`):
/// `null` members ≡ absent, at the top and in each message; a `content` or `system`
/// of one text block ≡ its text (the API defines the string as that block);
/// `stream: false` and, with tools, `tool_choice: {"type": "auto"}` ≡ absent (the
/// documented defaults).
pub(crate) fn equivalent(endpoint: &str, body: &mut Value) -> bool {
    let path = endpoint.split('?').next().unwrap_or(endpoint);
    if !path.starts_with("/v1/messages") {
        return false;
    }
    let Some(map) = body.as_object_mut() else {
        return false;
    };
    let mut changed = drop_nulls(map) | drop_nulls_in_messages(map);
    if let Some(messages) = map.get_mut("messages").and_then(Value::as_array_mut) {
        for message in messages.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(content) = message.get_mut("content") {
                changed |= single_text_part(content);
            }
        }
    }
    if let Some(system) = map.get_mut("system") {
        changed |= single_text_part(system);
    }
    changed |= drop_default(map, "stream", &json!(false));
    let has_tools = map
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    if has_tools {
        changed |= drop_default(map, "tool_choice", &json!({"type": "auto"}));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_a_message_have_one_normal_form() {
        let mut plain = json!({"model": "m", "max_tokens": 8, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}]});
        let mut spelled_out = json!({"model": "m", "max_tokens": 8, "stream": false,
            "metadata": null, "system": [{"type": "text", "text": "Be brief."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]});
        assert!(!equivalent("/v1/messages", &mut plain));
        assert!(equivalent("/v1/messages", &mut spelled_out));
        assert_eq!(plain, spelled_out);
        let mut models = json!({"data": null});
        assert!(
            !equivalent("/v1/models", &mut models),
            "only Messages bodies"
        );
    }
}
