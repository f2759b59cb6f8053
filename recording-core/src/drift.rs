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

/// One difference in shape between a recorded answer and a live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The status changed.
    Status {
        /// The recorded status.
        was: u16,
        /// The live one.
        now: u16,
    },
    /// A stream has another number of chunks.
    Chunks {
        /// How many were recorded.
        was: usize,
        /// How many came live.
        now: usize,
    },
    /// A single body is now a stream.
    BecameStream {
        /// The recorded status.
        status: u16,
    },
    /// A stream is now a single body.
    BecameBody {
        /// The live status.
        status: u16,
    },
    /// A field (a JSON Pointer, `*` for every array index) is gone.
    Removed {
        /// Where.
        path: String,
    },
    /// A field holds values of other JSON types.
    Changed {
        /// Where.
        path: String,
        /// The types recorded (`string`, `number or string` ...).
        was: String,
        /// The types now.
        now: String,
    },
    /// A field is new.
    Added {
        /// Where.
        path: String,
        /// Its types.
        types: String,
    },
}

impl Difference {
    /// The field it is about, if it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Difference::Removed { path }
            | Difference::Changed { path, .. }
            | Difference::Added { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether it is about `prefix` or a field below it, segment by segment: `/usage`
    /// covers `/usage/total_tokens` but not `/usage_extra`.
    pub fn is_under(&self, prefix: &str) -> bool {
        let prefix = prefix.trim_end_matches('/');
        self.path().is_some_and(|path| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Status { was, now } => write!(f, "status {was} is now {now}"),
            Difference::Chunks { was, now } => write!(f, "{was} stream chunks are now {now}"),
            Difference::BecameStream { status } => {
                write!(f, "a single body (status {status}) is now a stream")
            }
            Difference::BecameBody { status } => {
                write!(f, "a stream is now a single body (status {status})")
            }
            Difference::Removed { path } => write!(f, "removed {}", shown(path)),
            Difference::Changed { path, was, now } => {
                write!(f, "changed {} from {was} to {now}", shown(path))
            }
            Difference::Added { path, types } => write!(f, "added {} ({types})", shown(path)),
        }
    }
}

/// The differences in shape between a recorded answer and a live one. Differences
/// about a field under one of `harmless` are left out.
pub fn drift(recorded: &Answer<'_>, live: &Answer<'_>, harmless: &[String]) -> Vec<Difference> {
    let mut out = Vec::new();
    let (old, new) = match (recorded, live) {
        (Answer::Body(old_status, old), Answer::Body(new_status, new)) => {
            if old_status != new_status {
                out.push(Difference::Status {
                    was: *old_status,
                    now: *new_status,
                });
            }
            (shape_of([*old]), shape_of([*new]))
        }
        (Answer::Stream(old), Answer::Stream(new)) => {
            if old.len() != new.len() {
                out.push(Difference::Chunks {
                    was: old.len(),
                    now: new.len(),
                });
            }
            (shape_of(old.iter()), shape_of(new.iter()))
        }
        (Answer::Body(status, _), Answer::Stream(_)) => {
            return vec![Difference::BecameStream { status: *status }];
        }
        (Answer::Stream(_), Answer::Body(status, _)) => {
            return vec![Difference::BecameBody { status: *status }];
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
            None if !types.is_empty() => out.push(Difference::Removed { path: path.clone() }),
            Some(now) if !types.is_empty() && !now.is_empty() && types.is_disjoint(&now) => {
                out.push(Difference::Changed {
                    path: path.clone(),
                    was: join(&types),
                    now: join(&now),
                });
            }
            _ => {}
        }
    }
    for (path, types) in &new {
        let types = set(types);
        if !old.contains_key(path) && !types.is_empty() {
            out.push(Difference::Added {
                path: path.clone(),
                types: join(&types),
            });
        }
    }
    out.retain(|difference| !harmless.iter().any(|prefix| difference.is_under(prefix)));
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
        let found: Vec<String> = drift(&Answer::Body(200, &old), &Answer::Body(400, &new), &[])
            .iter()
            .map(ToString::to_string)
            .collect();
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
            !found.iter().any(|d| d.to_string().contains("/usage")),
            "{found:?}"
        );
    }

    #[test]
    fn a_harmless_path_covers_its_fields_and_no_other_name() {
        let old = json!({"usage": {"n": 1}, "usage_extra": 1, "a b": 1});
        let new = json!({"usage": {"n": "x"}, "usage_extra": "x", "a b": "x"});
        let changed = |harmless: &[&str]| -> Vec<String> {
            let harmless: Vec<String> = harmless.iter().map(|h| (*h).to_owned()).collect();
            drift(
                &Answer::Body(200, &old),
                &Answer::Body(200, &new),
                &harmless,
            )
            .iter()
            .filter_map(|d| d.path().map(str::to_owned))
            .collect()
        };
        assert_eq!(changed(&[]), ["/a b", "/usage/n", "/usage_extra"]);
        // `/usage` is a segment: it hides `/usage/n`, never `/usage_extra`.
        assert_eq!(changed(&["/usage"]), ["/a b", "/usage_extra"]);
        // A field whose name has a space is matched too (the text lines of old split
        // at spaces, so it never was).
        assert_eq!(changed(&["/a b"]), ["/usage/n", "/usage_extra"]);
    }
}
