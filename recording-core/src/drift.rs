//! Drift: how the shape of a live answer differs from its recording (`verify` mode).
//!
//! Values are compared by shape, not content: which fields exist, and of what JSON
//! type. A new answer's words, numbers and ids differ on every run; a field that
//! appears, disappears or changes type is a change in the API that replay-only tests
//! would never see. Arrays are compared through their elements (`*`), and a stream as
//! the union of its chunks' shapes, plus the number of chunks.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

type Shape = BTreeMap<String, BTreeSet<&'static str>>;

/// Every path in `value` (array indices as `*`) with the types seen there, `null`
/// included: an optional field is `null` in one answer and set in the next, which the
/// comparison does not count as drift.
fn shape_into(value: &Value, at: &str, shape: &mut Shape) {
    shape.entry(at.to_owned()).or_default().insert(kind(value));
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                shape_into(item, &format!("{at}/{key}"), shape);
            }
        }
        Value::Array(items) => {
            for item in items {
                shape_into(item, &format!("{at}/*"), shape);
            }
        }
        _ => {}
    }
}

fn shape_of<'a>(bodies: impl IntoIterator<Item = &'a Value>) -> Shape {
    let mut shape = Shape::new();
    for body in bodies {
        shape_into(body, "", &mut shape);
    }
    shape
}

/// One side of a comparison: a status and a body, or the chunks of a stream.
pub enum Answer<'a> {
    /// A single body (or an API error's body) with its status.
    Body(u16, &'a Value),
    /// A stream's chunks.
    Stream(&'a [Value]),
}

/// The differences in shape between a recorded answer and a live one, each a line
/// such as `added /usage/completion_tokens_details (object)`. Differences whose path
/// starts with one of `harmless` are left out.
pub fn drift(recorded: &Answer<'_>, live: &Answer<'_>, harmless: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let (old, new) = match (recorded, live) {
        (Answer::Body(old_status, old), Answer::Body(new_status, new)) => {
            if old_status != new_status {
                out.push(format!("status {old_status} is now {new_status}"));
            }
            (shape_of([*old]), shape_of([*new]))
        }
        (Answer::Stream(old), Answer::Stream(new)) => {
            if old.len() != new.len() {
                out.push(format!("{} stream chunks are now {}", old.len(), new.len()));
            }
            (shape_of(old.iter()), shape_of(new.iter()))
        }
        (Answer::Body(status, _), Answer::Stream(_)) => {
            return vec![format!("a single body (status {status}) is now a stream")];
        }
        (Answer::Stream(_), Answer::Body(status, _)) => {
            return vec![format!("a stream is now a single body (status {status})")];
        }
    };
    let set = |types: &BTreeSet<&'static str>| {
        let mut types = types.clone();
        types.remove("null");
        types
    };
    for (path, types) in &old {
        let (types, now) = (set(types), new.get(path).map(set));
        match now {
            None if !types.is_empty() => out.push(format!("removed {}", shown(path))),
            Some(now) if !types.is_empty() && !now.is_empty() && types.is_disjoint(&now) => {
                out.push(format!(
                    "changed {} from {} to {}",
                    shown(path),
                    join(&types),
                    join(&now)
                ));
            }
            _ => {}
        }
    }
    for (path, types) in &new {
        let types = set(types);
        if !old.contains_key(path) && !types.is_empty() {
            out.push(format!("added {} ({})", shown(path), join(&types)));
        }
    }
    out.retain(|line| {
        !harmless.iter().any(|prefix| {
            line.split(' ')
                .nth(1)
                .is_some_and(|path| path.starts_with(prefix.as_str()))
        })
    });
    out
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn join(types: &BTreeSet<&'static str>) -> String {
    types.iter().copied().collect::<Vec<_>>().join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_not_contents_are_compared() {
        let old = json!({"id": "a", "choices": [{"text": "x"}], "usage": {"n": 1}, "opt": null});
        let same = json!({"id": "b", "choices": [{"text": "y"}, {"text": "z"}], "usage": {"n": 7}, "opt": "set"});
        assert!(drift(&Answer::Body(200, &old), &Answer::Body(200, &same), &[]).is_empty());
        let new = json!({"id": 5, "choices": [{"text": "x", "logprobs": {}}]});
        let found = drift(&Answer::Body(200, &old), &Answer::Body(400, &new), &[]);
        assert_eq!(
            found,
            [
                "status 200 is now 400",
                "changed /id from string to number",
                "removed /usage",
                "removed /usage/n",
                "added /choices/*/logprobs (object)",
            ]
        );
        let harmless = ["/usage".to_owned()];
        let found = drift(
            &Answer::Body(200, &old),
            &Answer::Body(200, &new),
            &harmless,
        );
        assert!(
            !found.iter().any(|line| line.contains("/usage")),
            "{found:?}"
        );
    }
}
