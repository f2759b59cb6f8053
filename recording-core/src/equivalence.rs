//! The pieces providers build their equivalence rules from
//! ([`Normalizer::equivalent`](crate::Normalizer::equivalent)): each rewrites one
//! spelling of a request into the one its API treats it as, and says whether it
//! changed anything.

use serde_json::{Map, Value};

/// Removes the members of `map` whose value is `null`: an API that reads `null` as
/// "not given" answers both alike.
pub fn drop_nulls(map: &mut Map<String, Value>) -> bool {
    let before = map.len();
    map.retain(|_, value| !value.is_null());
    map.len() != before
}

/// [`drop_nulls`] on each message of `map`'s `messages` array (chat, Messages and
/// Ollama bodies alike).
pub fn drop_nulls_in_messages(map: &mut Map<String, Value>) -> bool {
    let Some(messages) = map.get_mut("messages").and_then(Value::as_array_mut) else {
        return false;
    };
    messages
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .fold(false, |changed, message| drop_nulls(message) | changed)
}

/// Removes `name` from `map` when it holds `default`, the value the API documents for
/// it when absent. Numbers compare by value (`1` and `1.0` alike).
pub fn drop_default(map: &mut Map<String, Value>, name: &str, default: &Value) -> bool {
    let is_default = match (map.get(name), default) {
        (Some(Value::Number(held)), Value::Number(default)) => held.as_f64() == default.as_f64(),
        (Some(held), default) => held == default,
        (None, _) => false,
    };
    if is_default {
        map.remove(name);
    }
    is_default
}

/// Replaces a content array of exactly one text part (`[{"type": "text", "text": X}]`,
/// with no other member: no cache control, no citations) with the string X, which
/// both OpenAI's and Anthropic's APIs define as that one part.
pub fn single_text_part(content: &mut Value) -> bool {
    let text = match content.as_array().map(Vec::as_slice) {
        Some([part]) => match part.as_object() {
            Some(part) if part.len() == 2 && part.get("type") == Some(&Value::from("text")) => {
                part.get("text").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        },
        _ => None,
    };
    match text {
        Some(text) => {
            *content = Value::String(text);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_piece_changes_only_its_own_spelling() {
        let mut part = json!([{"type": "text", "text": "Hi"}]);
        assert!(single_text_part(&mut part));
        assert_eq!(part, "Hi");
        for other in [
            json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
            json!([{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}]),
            json!([{"type": "image_url", "image_url": {"url": "x"}}]),
            json!("already a string"),
        ] {
            let mut kept = other.clone();
            assert!(!single_text_part(&mut kept));
            assert_eq!(kept, other);
        }
        let mut body = json!({"n": 1.0, "stream": false, "tools": null, "seed": 1});
        let map = body.as_object_mut().unwrap_or_else(|| unreachable!());
        assert!(drop_nulls(map));
        assert!(drop_default(map, "n", &json!(1)));
        assert!(drop_default(map, "stream", &json!(false)));
        assert!(!drop_default(map, "seed", &json!(0)));
        assert_eq!(body, json!({"seed": 1}));
    }
}
