//! JSON Pointers (RFC 6901) with one addition: a segment `*` matches every array index
//! and every object key. Recorders use them to name request fields to redact.

use serde_json::Value;

use crate::api::error::Error;

/// A parsed JSON Pointer such as `/metadata/request_id` or `/messages/*/content`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Any,
    Name(String),
}

impl Pointer {
    /// Parses `text`: empty (the whole document) or `/`-separated segments, with RFC
    /// 6901's escapes (`~0` for `~`, `~1` for `/`) and `*` for any index or key. Anything
    /// else is an [`Error::Config`] naming the pointer and what is accepted.
    pub fn parse(text: &str) -> Result<Pointer, Error> {
        if text.is_empty() {
            return Ok(Pointer {
                text: String::new(),
                segments: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(bad(text, "it must start with `/`"));
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            if raw == "*" {
                segments.push(Segment::Any);
                continue;
            }
            let mut name = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, true) => match chars.next() {
                        Some('0') => name.push('~'),
                        Some('1') => name.push('/'),
                        _ => return Err(bad(text, "`~` must be followed by 0 or 1")),
                    },
                    (c, false) => name.push(c),
                }
            }
            segments.push(Segment::Name(name));
        }
        Ok(Pointer {
            text: text.to_owned(),
            segments,
        })
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Calls `visit` on every value the pointer names in `root`; returns how many.
    pub fn visit_mut(&self, root: &mut Value, visit: &mut dyn FnMut(&mut Value)) -> usize {
        visit_at(&self.segments, root, visit)
    }

    /// Removes every member the pointer names from `root` (an array element becomes
    /// `null`, so other indices keep their meaning); returns how many.
    pub fn remove(&self, root: &mut Value) -> usize {
        let Some((last, parents)) = self.segments.split_last() else {
            return 0;
        };
        let mut removed = 0;
        visit_at(parents, root, &mut |parent| match (last, parent) {
            (Segment::Any, Value::Object(map)) => {
                removed += map.len();
                map.clear();
            }
            (Segment::Any, Value::Array(items)) => {
                removed += items.len();
                items.iter_mut().for_each(|item| *item = Value::Null);
            }
            (Segment::Name(name), Value::Object(map)) => {
                removed += usize::from(map.shift_remove(name.as_str()).is_some());
            }
            (Segment::Name(name), Value::Array(items)) => {
                if let Some(item) = name.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    *item = Value::Null;
                    removed += 1;
                }
            }
            _ => {}
        });
        removed
    }

    /// The member names the pointer goes down, when it names one object member through
    /// objects only: no wildcard, no segment that could be an array index, not the
    /// whole document. What a writer that sees only object members can test it by.
    pub(crate) fn member_path(&self) -> Option<Vec<&str>> {
        if self.segments.is_empty() {
            return None;
        }
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Name(name) if name.parse::<usize>().is_err() => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Whether the pointer names anything in `root`.
    pub fn matches(&self, root: &Value) -> bool {
        matches_at(&self.segments, root)
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn bad(text: &str, why: &str) -> Error {
    Error::Config(format!(
        "{text:?} is not a JSON Pointer: {why} (such as /user, /metadata/request_id, /messages/*/content)"
    ))
}

fn visit_at(segments: &[Segment], value: &mut Value, visit: &mut dyn FnMut(&mut Value)) -> usize {
    let Some((first, rest)) = segments.split_first() else {
        visit(value);
        return 1;
    };
    match (first, value) {
        (Segment::Any, Value::Array(items)) => items
            .iter_mut()
            .map(|item| visit_at(rest, item, visit))
            .sum(),
        (Segment::Any, Value::Object(map)) => map
            .values_mut()
            .map(|item| visit_at(rest, item, visit))
            .sum(),
        (Segment::Name(name), Value::Object(map)) => map
            .get_mut(name.as_str())
            .map_or(0, |item| visit_at(rest, item, visit)),
        (Segment::Name(name), Value::Array(items)) => name
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get_mut(index))
            .map_or(0, |item| visit_at(rest, item, visit)),
        _ => 0,
    }
}

fn matches_at(segments: &[Segment], value: &Value) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return true;
    };
    match (first, value) {
        (Segment::Any, Value::Array(items)) => items.iter().any(|item| matches_at(rest, item)),
        (Segment::Any, Value::Object(map)) => map.values().any(|item| matches_at(rest, item)),
        (Segment::Name(name), Value::Object(map)) => map
            .get(name.as_str())
            .is_some_and(|item| matches_at(rest, item)),
        (Segment::Name(name), Value::Array(items)) => name
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get(index))
            .is_some_and(|item| matches_at(rest, item)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_name_fields_with_wildcards_and_escapes() {
        let mut doc = json!({"a/b": 1, "m": [{"k": 1}, {"k": 2}, {"j": 3}], "x": {"y": {"k": 4}}});
        let mut seen = Vec::new();
        let count = Pointer::parse("/m/*/k")
            .expect("valid")
            .visit_mut(&mut doc, &mut |v| seen.push(v.clone()));
        assert_eq!((count, seen), (2, vec![json!(1), json!(2)]));
        assert!(Pointer::parse("/a~1b").expect("valid").matches(&doc));
        assert!(Pointer::parse("/m/2/j").expect("valid").matches(&doc));
        assert!(Pointer::parse("/*/y/k").expect("valid").matches(&doc));
        assert!(!Pointer::parse("/m/9").expect("valid").matches(&doc));
        let removed = Pointer::parse("/m/*/k").expect("valid").remove(&mut doc);
        assert_eq!(removed, 2);
        assert_eq!(doc["m"], json!([{}, {}, {"j": 3}]));
        for bad in ["user", "/a~2", "/a~"] {
            let err = Pointer::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
