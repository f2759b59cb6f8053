//! Ollama's equivalence rules: spellings of one request that it answers alike, read as
//! one when a suite turns equivalence on. Each rule is in the guide with its reason.

use recording_core::equivalence::{drop_default, drop_nulls, drop_nulls_in_messages};
use serde_json::{Value, json};

/// The normal form of a body: `null` members ≡ absent, at the top and in each
/// message; `stream: true` ≡ absent (Ollama streams unless told not to); an empty
/// `options` object ≡ absent.
pub(crate) fn equivalent(_endpoint: &str, body: &mut Value) -> bool {
    let Some(map) = body.as_object_mut() else {
        return false;
    };
    let mut changed = drop_nulls(map) | drop_nulls_in_messages(map);
    changed |= drop_default(map, "stream", &json!(true));
    changed |= drop_default(map, "options", &json!({}));
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_a_generate_request_have_one_normal_form() {
        let mut plain = json!({"model": "m", "prompt": "Hi"});
        let mut spelled_out = json!({"model": "m", "prompt": "Hi", "stream": true,
            "options": {}, "images": null});
        assert!(equivalent("/api/generate", &mut spelled_out));
        assert!(!equivalent("/api/generate", &mut plain));
        assert_eq!(plain, spelled_out);
    }
}
