//! Volatile patterns: text inside a request's strings that changes on every run
//! without changing the answer (a timestamp or a generated id in a tool's result), masked
//! before the request is keyed. The file keeps the real text; only the key sees the
//! mask, so a run whose tool returns another id replays the recording of the first.

use std::borrow::Cow;
use std::fmt;

use regex::Regex;
use serde_json::Value;

use crate::api::error::Error;

/// The named patterns, as `uuid`, `iso8601`, `unix-ms` and `hex` select them.
const PRESETS: [(&str, &str); 4] = [
    (
        "uuid",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    ),
    (
        "iso8601",
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?",
    ),
    // Milliseconds since the epoch, 2001 to 2286: thirteen digits starting with 1.
    ("unix-ms", r"\b1[0-9]{12}\b"),
    ("hex", r"\b[0-9a-fA-F]{16,}\b"),
];

/// One volatile pattern: a preset or a regular expression of the user's, and the mask
/// its matches become in the key (`<uuid>`, `<re>`).
#[derive(Clone)]
pub struct VolatilePattern {
    name: String,
    regex: Regex,
    mask: String,
}

impl VolatilePattern {
    /// A pattern as the builder, the environment and `serve --volatile-pattern` spell
    /// it: a preset name (`uuid`, `iso8601`, `unix-ms`, `hex`), or `re:` and a regular
    /// expression (the `regex` crate's syntax). Anything else is an [`Error::Config`]
    /// that names it and lists the presets.
    pub fn parse(spec: &str) -> Result<VolatilePattern, Error> {
        let spec = spec.trim();
        if let Some(expression) = spec.strip_prefix("re:") {
            let regex = Regex::new(expression).map_err(|err| {
                Error::Config(format!(
                    "volatile pattern {spec:?}: not a regular expression: {err}"
                ))
            })?;
            if regex.is_match("") {
                return Err(Error::Config(format!(
                    "volatile pattern {spec:?} matches the empty string, so it would mask between every character"
                )));
            }
            return Ok(VolatilePattern {
                name: spec.to_owned(),
                regex,
                mask: "<re>".to_owned(),
            });
        }
        let (name, expression) =
            PRESETS
                .iter()
                .find(|(name, _)| *name == spec)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "unknown volatile pattern {spec:?}: use a preset ({}) or re:REGEX",
                        preset_names()
                    ))
                })?;
        let regex = Regex::new(expression)
            .unwrap_or_else(|err| unreachable!("the preset {name} is a valid expression: {err}"));
        Ok(VolatilePattern {
            name: (*name).to_owned(),
            regex,
            mask: format!("<{name}>"),
        })
    }

    /// A list of patterns as `TEST_INFERENCE_VOLATILE_PATTERNS` holds it:
    /// comma-separated, where a `re:` expression runs on over commas up to the next
    /// preset name or `re:` (so `re:[0-9]{1,3}` stays whole).
    pub fn parse_list(list: &str) -> Result<Vec<VolatilePattern>, Error> {
        let mut specs: Vec<String> = Vec::new();
        for part in list.split(',') {
            let starts_one = {
                let part = part.trim();
                part.starts_with("re:") || PRESETS.iter().any(|(name, _)| *name == part)
            };
            match specs.last_mut() {
                Some(open) if !starts_one && open.starts_with("re:") => {
                    open.push(',');
                    open.push_str(part);
                }
                _ if part.trim().is_empty() => {}
                _ => specs.push(part.trim().to_owned()),
            }
        }
        specs
            .iter()
            .map(|spec| VolatilePattern::parse(spec))
            .collect()
    }

    /// Its name: the preset's, or `re:` and the expression.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `text` with every match replaced by the mask; borrowed when nothing matched.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.regex.replace_all(text, self.mask.as_str())
    }
}

impl fmt::Debug for VolatilePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VolatilePattern({})", self.name)
    }
}

impl PartialEq for VolatilePattern {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The presets' names, as `uuid, iso8601, unix-ms, hex`.
pub fn preset_names() -> String {
    PRESETS.map(|(name, _)| name).join(", ")
}

/// Masks every string value of `body` (object keys stay) with each of `patterns`, in
/// order; returns whether anything changed.
pub(crate) fn mask_strings(body: &mut Value, patterns: &[VolatilePattern]) -> bool {
    match body {
        Value::String(text) => {
            let mut changed = false;
            for pattern in patterns {
                if let Cow::Owned(masked) = pattern.mask(text) {
                    *text = masked;
                    changed = true;
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            mask_strings(item, patterns) | changed
        }),
        Value::Object(map) => map.values_mut().fold(false, |changed, item| {
            mask_strings(item, patterns) | changed
        }),
        _ => false,
    }
}

/// Whether any of `patterns` matches a string of `body`.
pub(crate) fn matches_any(body: &Value, patterns: &[VolatilePattern]) -> bool {
    match body {
        Value::String(text) => patterns.iter().any(|pattern| pattern.regex.is_match(text)),
        Value::Array(items) => items.iter().any(|item| matches_any(item, patterns)),
        Value::Object(map) => map.values().any(|item| matches_any(item, patterns)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn masked(spec: &str, text: &str) -> String {
        let pattern = VolatilePattern::parse(spec).unwrap_or_else(|err| panic!("{err}"));
        pattern.mask(text).into_owned()
    }

    #[test]
    fn each_preset_masks_what_it_names_and_nothing_else() {
        assert_eq!(
            masked("uuid", "id 0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e done"),
            "id <uuid> done"
        );
        assert_eq!(
            masked(
                "iso8601",
                "at 2026-12-03T08:31:52.123Z and 2026-12-03 08:31+01:00."
            ),
            "at <iso8601> and <iso8601>."
        );
        assert_eq!(
            masked("iso8601", "on 2026-12-03 only"),
            "on 2026-12-03 only"
        );
        assert_eq!(
            masked("unix-ms", "t=1764750712123 n=42 s=1764750712"),
            "t=<unix-ms> n=42 s=1764750712"
        );
        assert_eq!(
            masked("hex", "trace 9f86d081884c7d65 short abc123"),
            "trace <hex> short abc123"
        );
        assert_eq!(masked(r"re:req_[a-z0-9]+", "id req_x1y2 ok"), "id <re> ok");
    }

    #[test]
    fn lists_keep_commas_inside_expressions_and_bad_parts_are_named() {
        let patterns = VolatilePattern::parse_list("uuid, re:[0-9]{1,3}ms ,iso8601")
            .unwrap_or_else(|err| panic!("{err}"));
        let names: Vec<&str> = patterns.iter().map(VolatilePattern::name).collect();
        assert_eq!(names, ["uuid", "re:[0-9]{1,3}ms", "iso8601"]);
        for (bad, says) in [
            ("uuid,guid", "unknown volatile pattern \"guid\""),
            ("re:(", "\"re:(\": not a regular expression"),
            ("re:x*", "matches the empty string"),
        ] {
            let err = VolatilePattern::parse_list(bad).expect_err(bad).to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn strings_are_masked_everywhere_and_keys_are_not() {
        let uuid = VolatilePattern::parse("uuid").unwrap_or_else(|err| panic!("{err}"));
        let id = "0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e";
        let mut body = json!({"messages": [{"role": "tool", "content": format!("made {id}")}],
            "n": 2});
        body[id] = json!(1);
        assert!(matches_any(&body, std::slice::from_ref(&uuid)));
        assert!(mask_strings(&mut body, std::slice::from_ref(&uuid)));
        assert_eq!(body["messages"][0]["content"], "made <uuid>");
        assert_eq!(body[id], 1, "an object key is not masked");
        assert!(!mask_strings(&mut body, &[uuid]), "masked already");
    }
}
