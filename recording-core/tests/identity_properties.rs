//! Properties of request identity, over generated JSON: the key ignores how a body's
//! objects were built (key order, insertion order) and changes with any value, the
//! endpoint or the method; the canonical form round-trips and agrees with the
//! reference RFC 8785 implementation.

use proptest::prelude::*;
use recording_core::key::canonical_json;
use recording_core::{ApiRequest, Method, request_hash};
use serde_json::{Map, Number, Value};

/// Integers ECMAScript holds exactly: beyond 2^53, RFC 8785 itself makes neighbours
/// equal (documented in the identity module), so "any change changes the key" holds
/// for these.
const SAFE: i64 = 1 << 53;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-SAFE..=SAFE).prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        // Escapes, controls, astral characters and UTF-16 ordering traps.
        "[\"\\\\\u{0}-\u{1f}\u{7f}é€😀\u{fffd}]{0,6}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zé😀_]{0,4}", inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// The same value with every object's members inserted in another order.
fn reordered(value: &Value, seed: usize) -> Value {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.reverse();
            if !members.is_empty() {
                let len = members.len();
                members.rotate_left(seed % len);
            }
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.clone(), reordered(v, seed / 2 + 1)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| reordered(v, seed)).collect()),
        other => other.clone(),
    }
}

/// How many leaves (scalars, empty arrays and empty objects) `value` has.
fn leaves(value: &Value) -> usize {
    match value {
        Value::Object(map) if !map.is_empty() => map.values().map(leaves).sum(),
        Value::Array(items) if !items.is_empty() => items.iter().map(leaves).sum(),
        _ => 1,
    }
}

/// `value` with its `target`-th leaf replaced by something of another canonical form.
fn mutated(value: &Value, target: usize) -> Value {
    fn walk(value: &Value, target: &mut Option<usize>) -> Value {
        match value {
            Value::Object(map) if !map.is_empty() => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, target)))
                    .collect(),
            ),
            Value::Array(items) if !items.is_empty() => {
                Value::Array(items.iter().map(|v| walk(v, target)).collect())
            }
            leaf => match target {
                Some(0) => {
                    *target = None;
                    match leaf {
                        Value::String(text) => Value::String(format!("{text}~")),
                        Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() < 1e15) => {
                            Value::from(n.as_f64().unwrap_or_default() + 1.0)
                        }
                        Value::Bool(b) => Value::Bool(!b),
                        Value::Null => Value::Bool(false),
                        _ => Value::Null,
                    }
                }
                Some(n) => {
                    *n -= 1;
                    leaf.clone()
                }
                None => leaf.clone(),
            },
        }
    }
    walk(value, &mut Some(target % leaves(value)))
}

fn post(body: Value) -> ApiRequest {
    ApiRequest::post("/v1/chat/completions", body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn key_and_insertion_order_never_change_the_key(body in json(), seed in 0usize..64) {
        let again = reordered(&body, seed);
        prop_assert_eq!(request_hash(&post(body), None), request_hash(&post(again), None));
    }

    #[test]
    fn any_value_change_changes_the_key(body in json(), target in 0usize..1000) {
        let changed = mutated(&body, target);
        prop_assert_ne!(canonical_json(&body), canonical_json(&changed));
        prop_assert_ne!(request_hash(&post(body), None), request_hash(&post(changed), None));
    }

    #[test]
    fn endpoint_method_and_scope_are_part_of_the_key(body in json(), scope in "\\PC{0,8}") {
        let key = request_hash(&post(body.clone()), None);
        let elsewhere = ApiRequest::post("/v1/completions", body.clone());
        let other_method = ApiRequest { method: Method::Get, ..post(body.clone()) };
        prop_assert_ne!(&key, &request_hash(&elsewhere, None));
        prop_assert_ne!(&key, &request_hash(&other_method, None));
        prop_assert_ne!(&key, &request_hash(&post(body), Some(&scope)));
    }

    #[test]
    fn canonical_json_round_trips(value in json()) {
        let canonical = canonical_json(&value);
        let parsed: Value = serde_json::from_str(&canonical).expect("canonical JSON parses");
        prop_assert_eq!(canonical_json(&parsed), canonical.clone());
        prop_assert_eq!(
            serde_json_canonicalizer::to_string(&value).expect("the reference serializes it"),
            canonical
        );
    }
}
