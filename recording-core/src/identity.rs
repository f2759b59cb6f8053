//! Request identity: the canonical form of a request and its SHA-256 key.
//!
//! The key is SHA-256 over the RFC 8785 (JSON Canonicalization Scheme) serialization of
//!
//! ```json
//! {"body": <body>, "endpoint": "/v1/chat/completions", "method": "POST"}
//! ```
//!
//! with a `"scope"` member added when the recorder is scoped, a `"provider"` member for
//! a provider whose rules ask for one ([`Normalizer::key_name`]: Anthropic, whose
//! `GET /v1/models` is byte for byte OpenAI's), and a `"query"` member when
//! the endpoint has a query string (`/v1/models?limit=1`: `"endpoint": "/v1/models"`,
//! `"query": "limit=1"`, its parameters sorted). RFC 8785 sorts object keys
//! by UTF-16 code units, drops insignificant whitespace and writes numbers the way
//! ECMAScript does, so any language can recompute a key. Host, port, headers and keys
//! are not part of it: a recording made against one server replays against any other.
//!
//! One consequence of RFC 8785 to know about: numbers are IEEE-754 doubles, so two
//! integers above 2^53 that round to the same double (a huge `seed`) share a key.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::api::client::{ApiRequest, Method};
use crate::canonical::{write_canonical, write_string};
#[cfg(doc)]
use crate::normalizer::Normalizer;

/// The value whose canonical form is hashed.
pub fn identity_value(request: &ApiRequest, scope: Option<&str>) -> Value {
    identity_value_of(request, scope, None)
}

/// [`identity_value`] with the `"provider"` member a provider's rules may add.
pub fn identity_value_of(
    request: &ApiRequest,
    scope: Option<&str>,
    provider: Option<&str>,
) -> Value {
    let (path, query) = path_and_query(&request.endpoint);
    let mut map = Map::new();
    map.insert("method".into(), Value::from(request.method.as_str()));
    map.insert("endpoint".into(), Value::from(path));
    if let Some(provider) = provider {
        map.insert("provider".into(), Value::from(provider));
    }
    if let Some(query) = query {
        map.insert("query".into(), Value::from(query));
    }
    map.insert("body".into(), request.body.clone());
    if let Some(scope) = scope {
        map.insert("scope".into(), Value::from(scope));
    }
    Value::Object(map)
}

/// The RFC 8785 canonical serialization of a JSON value.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out, 0);
    // Only valid UTF-8 is written: the input's strings and ASCII.
    String::from_utf8(out).unwrap_or_else(|err| unreachable!("canonical JSON is UTF-8: {err}"))
}

/// The key of a request: 64 lowercase hex digits of SHA-256 over its canonical form.
pub fn request_hash(request: &ApiRequest, scope: Option<&str>) -> String {
    sequence_hash(request, scope, 0)
}

/// The key of the `call`-th identical request in a scope, in sequence mode
/// (`Recording::in_sequence`): the first call (0) has the plain key, later ones add a
/// `"call"` member to the canonical form.
pub fn sequence_hash(request: &ApiRequest, scope: Option<&str>, call: u64) -> String {
    sequence_hash_of(request, scope, None, call)
}

/// [`sequence_hash`] with the `"provider"` member a provider's rules may add.
pub fn sequence_hash_of(
    request: &ApiRequest,
    scope: Option<&str>,
    provider: Option<&str>,
    call: u64,
) -> String {
    let (body, rest) = canonical_halves(request, scope, provider);
    hash_halves(&body, call, &rest)
}

/// Whether `key` is the key of one of the first `calls` identical requests in sequence
/// mode; the canonical form is written once for all of them.
pub(crate) fn is_sequence_hash(
    key: &str,
    request: &ApiRequest,
    scope: Option<&str>,
    provider: Option<&str>,
    calls: u64,
) -> bool {
    sequence_call(key, request, scope, provider, calls).is_some()
}

/// Which of the first `calls` identical requests in sequence mode `key` is the key of.
pub(crate) fn sequence_call(
    key: &str,
    request: &ApiRequest,
    scope: Option<&str>,
    provider: Option<&str>,
    calls: u64,
) -> Option<u64> {
    let (body, rest) = canonical_halves(request, scope, provider);
    (0..calls).find(|&call| hash_halves(&body, call, &rest) == key)
}

/// The canonical form around where a `"call"` member goes: `{"body":...` and
/// `,"endpoint":...}`. The same bytes as `canonical_json(&identity_value(..))`, without
/// cloning the body: the members are written in their sorted order (body, call,
/// endpoint, method, provider, query, scope).
fn canonical_halves(
    request: &ApiRequest,
    scope: Option<&str>,
    provider: Option<&str>,
) -> (Vec<u8>, Vec<u8>) {
    let mut body = Vec::with_capacity(512);
    body.extend_from_slice(b"{\"body\":");
    write_canonical(&request.body, &mut body, 0);
    (
        body,
        canonical_rest(request.method, &request.endpoint, scope, provider),
    )
}

/// The key of a request whose body's canonical form is `body` (written by
/// `canonical::typed` from a typed request): [`sequence_hash_of`]'s first call.
pub(crate) fn hash_of_canonical_body(
    body: &[u8],
    method: Method,
    endpoint: &str,
    scope: Option<&str>,
    provider: Option<&str>,
) -> String {
    let mut digest = Sha256::new();
    digest.update(b"{\"body\":");
    digest.update(body);
    write_rest(method, endpoint, scope, provider, &mut |bytes| {
        digest.update(bytes)
    });
    hex(&digest.finalize())
}

/// The canonical form after the body (and the `"call"` member): `,"endpoint":...}`.
fn canonical_rest(
    method: Method,
    endpoint: &str,
    scope: Option<&str>,
    provider: Option<&str>,
) -> Vec<u8> {
    let mut rest = Vec::with_capacity(128);
    write_rest(method, endpoint, scope, provider, &mut |bytes| {
        rest.extend_from_slice(bytes);
    });
    rest
}

/// Gives [`canonical_rest`] to `out` piece by piece: to a buffer, or to a digest.
fn write_rest(
    method: Method,
    endpoint: &str,
    scope: Option<&str>,
    provider: Option<&str>,
    out: &mut dyn FnMut(&[u8]),
) {
    let (path, query) = path_and_query(endpoint);
    let mut buffer = Vec::with_capacity(64);
    let mut member = |name: &[u8], value: &str| {
        buffer.clear();
        buffer.extend_from_slice(name);
        write_string(value, &mut buffer);
        out(&buffer);
    };
    member(b",\"endpoint\":", path);
    member(b",\"method\":", method.as_str());
    if let Some(provider) = provider {
        member(b",\"provider\":", provider);
    }
    if let Some(query) = &query {
        member(b",\"query\":", query);
    }
    if let Some(scope) = scope {
        member(b",\"scope\":", scope);
    }
    out(b"}");
}

/// SHA-256 of the canonical form, with `"call"` between its halves after the first.
fn hash_halves(body: &[u8], call: u64, rest: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(body);
    if call > 0 {
        digest.update(b",\"call\":");
        digest.update(call.to_string().as_bytes());
    }
    digest.update(rest);
    hex(&digest.finalize())
}

/// An endpoint's path, and its query string in canonical order (its `&`-separated
/// parameters sorted as they are written, empty ones dropped), `None` when it has none:
/// `?a=1&b=2` and `?b=2&a=1` are one request, and an endpoint without a query keys as
/// it always has.
pub(crate) fn path_and_query(endpoint: &str) -> (&str, Option<String>) {
    let Some((path, query)) = endpoint.split_once('?') else {
        return (endpoint, None);
    };
    let mut parameters: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if parameters.is_empty() {
        return (path, None);
    }
    parameters.sort_unstable();
    (path, Some(parameters.join("&")))
}

/// Whether two endpoints are one in a key: the same path, the same query parameters.
pub(crate) fn same_endpoint(a: &str, b: &str) -> bool {
    a == b || path_and_query(a) == path_and_query(b)
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
    use crate::api::client::Method;
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
    fn a_query_is_part_of_the_key_in_any_order_and_absent_when_empty() {
        let models = |endpoint: &str| request_hash(&ApiRequest::get(endpoint), None);
        let plain = models("/v1/models");
        assert_eq!(models("/v1/models?"), plain);
        assert_ne!(models("/v1/models?limit=1"), plain);
        assert_ne!(
            models("/v1/models?limit=1"),
            models("/v1/models?limit=2&after=m")
        );
        assert_eq!(models("/v1/models?a=1&b=2"), models("/v1/models?b=2&a=1&"));
        let request = ApiRequest::get("/v1/models?limit=1");
        assert_eq!(
            canonical_json(&identity_value(&request, Some("t"))),
            r#"{"body":null,"endpoint":"/v1/models","method":"GET","query":"limit=1","scope":"t"}"#
        );
        assert_eq!(
            sequence_hash(&request, Some("t"), 0),
            hex(&Sha256::digest(
                canonical_json(&identity_value(&request, Some("t"))).as_bytes()
            ))
        );
        // A later call in sequence mode: the same form with a `call` member.
        let mut with_call = identity_value(&request, Some("t"));
        with_call["call"] = Value::from(2);
        let expected = hex(&Sha256::digest(canonical_json(&with_call).as_bytes()));
        assert_eq!(sequence_hash(&request, Some("t"), 2), expected);
        assert!(is_sequence_hash(&expected, &request, Some("t"), None, 3));
        assert!(!is_sequence_hash(&expected, &request, Some("t"), None, 2));
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

    /// Our writer against an independent RFC 8785 implementation, on values that
    /// exercise sorting, escaping and number formatting.
    #[test]
    #[allow(clippy::excessive_precision)] // 333333333.33333329 is RFC 8785's own example
    fn agrees_with_the_reference_implementation() {
        let values = [
            json!({"b": 1, "a": [1.5, -0.0, 1e21, 1e-7, 0.1, 123456789012345678u64, -9007199254740993i64]}),
            json!({"\u{e9}": 1, "z": 2, "\u{1F600}": 3, "\u{ff61}": 4, "": 5}),
            json!(["quote \" back \\ nl \n tab \t ctl \u{1} \u{1f} del \u{7f} ls \u{2028} /"]),
            json!({"nested": {"y": null, "x": [true, false, {"k": 3.0}]}}),
            json!([
                1e300,
                5e-324,
                2.5e-8,
                333333333.33333329,
                4.35,
                0.000001,
                1e-6
            ]),
        ];
        // Objects up to 16 members are sorted on the stack, larger ones on the heap: both
        // sides of the line, members given out of order.
        let wide = |n: usize| {
            Value::Object(
                (0..n)
                    .map(|i| {
                        (
                            format!("k{}{}", (i * 7) % n, if i % 5 == 0 { "é" } else { "" }),
                            json!(i),
                        )
                    })
                    .collect(),
            )
        };
        let values = values.into_iter().chain([
            wide(15),
            wide(16),
            wide(17),
            wide(40),
            json!([wide(16), {"z": wide(17)}]),
        ]);
        for value in values {
            let reference =
                serde_json_canonicalizer::to_string(&value).expect("the reference serializes");
            assert_eq!(canonical_json(&value), reference, "{value}");
        }
    }

    #[test]
    fn the_hash_is_over_the_canonical_identity_value() {
        let request = chat(json!({"model": "m", "temperature": 0.5, "messages": []}));
        for scope in [None, Some("tests::a_test")] {
            let canonical = canonical_json(&identity_value(&request, scope));
            assert_eq!(
                request_hash(&request, scope),
                hex(&Sha256::digest(canonical.as_bytes()))
            );
        }
    }

    #[test]
    fn a_provider_member_tells_apart_requests_on_a_shared_path() {
        let request = ApiRequest::get("/v1/models?limit=2");
        for scope in [None, Some("t")] {
            let canonical = canonical_json(&identity_value_of(&request, scope, Some("anthropic")));
            assert!(canonical.contains(r#""method":"GET","provider":"anthropic","query""#));
            let named = sequence_hash_of(&request, scope, Some("anthropic"), 0);
            assert_eq!(named, hex(&Sha256::digest(canonical.as_bytes())));
            assert_ne!(named, request_hash(&request, scope));
            assert_eq!(
                sequence_hash_of(&request, scope, None, 0),
                request_hash(&request, scope)
            );
        }
    }
}
