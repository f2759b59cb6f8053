//! Request identity: the canonical form of a request and its SHA-256 key.
//!
//! The key is SHA-256 over the RFC 8785 (JSON Canonicalization Scheme) serialization of
//!
//! ```json
//! {"body": <body>, "endpoint": "/v1/chat/completions", "method": "POST"}
//! ```
//!
//! with a `"scope"` member added when the recorder is scoped. RFC 8785 sorts object keys
//! by UTF-16 code units, drops insignificant whitespace and writes numbers the way
//! ECMAScript does, so any language can recompute a key. Host, port, headers and keys
//! are not part of it: a recording made against one server replays against any other.
//!
//! One consequence of RFC 8785 to know about: numbers are IEEE-754 doubles, so two
//! integers above 2^53 that round to the same double (a huge `seed`) share a key.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::client::ApiRequest;

/// The value whose canonical form is hashed.
pub fn identity_value(request: &ApiRequest, scope: Option<&str>) -> Value {
    let mut map = Map::new();
    map.insert("method".into(), Value::from(request.method.as_str()));
    map.insert("endpoint".into(), Value::from(request.endpoint.as_str()));
    map.insert("body".into(), request.body.clone());
    if let Some(scope) = scope {
        map.insert("scope".into(), Value::from(scope));
    }
    Value::Object(map)
}

/// The RFC 8785 canonical serialization of a JSON value.
pub fn canonical_json(value: &Value) -> String {
    // Serializing a `Value` cannot fail: its keys are strings and its numbers finite.
    serde_json_canonicalizer::to_string(value)
        .unwrap_or_else(|err| unreachable!("canonicalizing a serde_json::Value failed: {err}"))
}

/// The key of a request: 64 lowercase hex digits of SHA-256 over its canonical form.
pub fn request_hash(request: &ApiRequest, scope: Option<&str>) -> String {
    let canonical = canonical_json(&identity_value(request, scope));
    hex(&Sha256::digest(canonical.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Method;
    use serde_json::json;

    fn chat(body: Value) -> ApiRequest {
        ApiRequest::post("/v1/chat/completions", body)
    }

    /// Pins the canonical form and the key: if this test changes, every recording
    /// anyone has made stops replaying. The expected key was computed independently:
    /// `python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps(V, sort_keys=True,
    /// separators=(",", ":")).encode()).hexdigest())'` with `temperature` written as `0`.
    #[test]
    fn golden_hash_of_a_fixed_request() {
        let request = chat(json!({
            "model": "tiny",
            "messages": [{"role": "user", "content": "Hello, world!"}],
            "temperature": 0.0,
            "max_tokens": 16
        }));
        assert_eq!(
            canonical_json(&identity_value(&request, None)),
            r#"{"body":{"max_tokens":16,"messages":[{"content":"Hello, world!","role":"user"}],"model":"tiny","temperature":0},"endpoint":"/v1/chat/completions","method":"POST"}"#
        );
        assert_eq!(
            request_hash(&request, None),
            "70dc9074b92a28ea0a6d25d2acc78743f178ef14db13bb91554eec2c81bf6877"
        );
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = chat(json!({"model": "m", "stream": true, "options": {"a": 1, "b": [1, 2]}}));
        let b = chat(json!({"options": {"b": [1, 2], "a": 1}, "stream": true, "model": "m"}));
        assert_eq!(request_hash(&a, None), request_hash(&b, None));
    }

    #[test]
    fn number_spelling_does_not_change_the_hash() {
        let a = chat(json!({"temperature": 1}));
        let b = chat(serde_json::from_str(r#"{"temperature": 1.0}"#).expect("valid JSON"));
        assert_eq!(request_hash(&a, None), request_hash(&b, None));
    }

    #[test]
    fn any_value_change_changes_the_hash() {
        let base = chat(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}));
        let hash = request_hash(&base, None);
        let variants = [
            chat(json!({"model": "n", "messages": [{"role": "user", "content": "hi"}]})),
            chat(json!({"model": "m", "messages": [{"role": "user", "content": "hi!"}]})),
            chat(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1})),
            chat(json!({"model": "m", "messages": []})),
            ApiRequest::post("/v1/completions", base.body.clone()),
            ApiRequest {
                method: Method::Get,
                ..base.clone()
            },
        ];
        for variant in variants {
            assert_ne!(request_hash(&variant, None), hash, "{variant:?}");
        }
        assert_ne!(request_hash(&base, Some("a_test")), hash);
        assert_ne!(
            request_hash(&base, Some("a_test")),
            request_hash(&base, Some("another_test"))
        );
    }

    #[test]
    fn the_hash_is_64_lowercase_hex_digits() {
        let hash = request_hash(&ApiRequest::get("/v1/models"), None);
        assert_eq!(hash.len(), 64);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}
