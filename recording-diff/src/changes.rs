//! What changed between two recordings, as a person reviewing a re-recording cares:
//! the answer's text, its tool calls, why it stopped, status and error, the number of
//! chunks, usage, and which request fields differ. Never the JSON of the chunks.

use std::collections::BTreeSet;

use recording_core::RecordingFile;
use recording_core::provider::{Answer, Registry};
use serde::Serialize;
use serde_json::Value;

use crate::words::word_diff;

/// The most request fields or response paths one change lists.
pub const MAX_FIELDS: usize = 10;

/// One difference between an old recording and a new one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Change {
    /// The request differs in these fields (for a rekeyed recording, what the test now
    /// sends differently).
    Request {
        /// The fields, by JSON Pointer into the body.
        fields: Vec<FieldChange>,
        /// How many more differ than are listed.
        more: usize,
    },
    /// The HTTP status.
    Status {
        /// The old status.
        was: u16,
        /// The new one.
        now: u16,
    },
    /// Whether the answer is streamed.
    Streamed {
        /// Before.
        was: bool,
        /// Now.
        now: bool,
    },
    /// The API error's body, or the error that ended a stream.
    Error {
        /// The old error, as compact JSON.
        was: Option<String>,
        /// The new one.
        now: Option<String>,
    },
    /// The answer's text.
    Text {
        /// The old text.
        was: String,
        /// The new text.
        now: String,
        /// The two as one word diff (see [`word_diff`](crate::word_diff)).
        word_diff: String,
    },
    /// The tool calls, each as `name(arguments)`.
    ToolCalls {
        /// The old calls.
        was: Vec<String>,
        /// The new calls.
        now: Vec<String>,
    },
    /// Why the answer stopped.
    StopReason {
        /// The old reason.
        was: Option<String>,
        /// The new one.
        now: Option<String>,
    },
    /// How many chunks the stream has.
    Chunks {
        /// Before.
        was: usize,
        /// Now.
        now: usize,
    },
    /// The token counts that differ.
    Usage {
        /// Each count that changed.
        counts: Vec<CountChange>,
    },
    /// Nothing above differs, yet the responses do: where (embeddings, a model list,
    /// headers).
    Other {
        /// JSON Pointers into the file; a numeric array counts as one place.
        paths: Vec<String>,
        /// How many more differ than are listed.
        more: usize,
    },
}

/// One request field that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Its JSON Pointer in the request body.
    pub pointer: String,
    /// The old value; absent when the field is new.
    pub was: Option<Value>,
    /// The new value; absent when the field is gone.
    pub now: Option<Value>,
}

/// One token count that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountChange {
    /// The provider's name for it (`completion_tokens`).
    pub name: String,
    /// The old count.
    pub was: Option<u64>,
    /// The new count.
    pub now: Option<u64>,
}

/// What differs between `old` and `new` (the same call: one key, or a rekeyed pair),
/// given both files as parsed JSON too (`old_raw`, `new_raw`) for what no field above
/// covers.
pub(crate) fn changes(
    old: &RecordingFile,
    new: &RecordingFile,
    old_raw: &Value,
    new_raw: &Value,
    registry: &Registry,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut fields = Vec::new();
    field_changes(&old.request.body, &new.request.body, "", &mut fields);
    if !fields.is_empty() {
        let more = fields.len().saturating_sub(MAX_FIELDS);
        fields.truncate(MAX_FIELDS);
        changes.push(Change::Request { fields, more });
    }
    let (was, now) = (&old.response, &new.response);
    if was.status != now.status {
        changes.push(Change::Status {
            was: was.status,
            now: now.status,
        });
    }
    if was.is_streaming != now.is_streaming {
        changes.push(Change::Streamed {
            was: was.is_streaming,
            now: now.is_streaming,
        });
    }
    let error = |file: &RecordingFile| {
        let response = &file.response;
        if response.is_error {
            Some(response.body.to_string())
        } else {
            response
                .stream_error
                .as_ref()
                .map(|error| format!("HTTP {}: {}", error.status, error.body))
        }
    };
    let (old_error, new_error) = (error(old), error(new));
    if old_error != new_error {
        changes.push(Change::Error {
            was: old_error,
            now: new_error,
        });
    }
    let (old_answer, new_answer) = (answer(old, registry), answer(new, registry));
    if old_answer.text != new_answer.text {
        changes.push(Change::Text {
            word_diff: word_diff(&old_answer.text, &new_answer.text),
            was: old_answer.text.clone(),
            now: new_answer.text.clone(),
        });
    }
    let calls = |answer: &Answer| -> Vec<String> {
        answer
            .tool_calls
            .iter()
            .map(|call| format!("{}({})", call.name, call.arguments))
            .collect()
    };
    if old_answer.tool_calls != new_answer.tool_calls {
        changes.push(Change::ToolCalls {
            was: calls(&old_answer),
            now: calls(&new_answer),
        });
    }
    if old_answer.stop_reason != new_answer.stop_reason {
        changes.push(Change::StopReason {
            was: old_answer.stop_reason.clone(),
            now: new_answer.stop_reason.clone(),
        });
    }
    let (old_chunks, new_chunks) = (chunks(old), chunks(new));
    if was.is_streaming && now.is_streaming && old_chunks != new_chunks {
        changes.push(Change::Chunks {
            was: old_chunks,
            now: new_chunks,
        });
    }
    let names: BTreeSet<&String> = old_answer
        .usage
        .keys()
        .chain(new_answer.usage.keys())
        .collect();
    let counts: Vec<CountChange> = names
        .into_iter()
        .filter_map(|name| {
            let (was, now) = (old_answer.usage.get(name), new_answer.usage.get(name));
            (was != now).then(|| CountChange {
                name: name.clone(),
                was: was.copied(),
                now: now.copied(),
            })
        })
        .collect();
    if !counts.is_empty() {
        changes.push(Change::Usage { counts });
    }
    let explained = changes
        .iter()
        .any(|change| !matches!(change, Change::Request { .. }));
    if !explained && old_raw["response"] != new_raw["response"] {
        let mut paths = Vec::new();
        differing_paths(
            &old_raw["response"],
            &new_raw["response"],
            "/response",
            &mut paths,
        );
        let more = paths.len().saturating_sub(MAX_FIELDS);
        paths.truncate(MAX_FIELDS);
        changes.push(Change::Other { paths, more });
    }
    changes
}

/// The answer a recording holds, assembled by its provider.
pub(crate) fn answer(file: &RecordingFile, registry: &Registry) -> Answer {
    let response = &file.response;
    let bodies: Vec<&Value> = match response.body.as_array() {
        Some(chunks) if response.is_streaming => chunks.iter().collect(),
        _ => vec![&response.body],
    };
    registry
        .for_recording(file.request.provider.as_deref(), &file.request.endpoint)
        .map(|provider| provider.answer(&bodies))
        .unwrap_or_default()
}

fn chunks(file: &RecordingFile) -> usize {
    file.response.body.as_array().map_or(0, Vec::len)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every leaf of the request bodies that differs, with both values: objects by their
/// members, arrays by position (extra elements as added or removed).
fn field_changes(old: &Value, new: &Value, at: &str, out: &mut Vec<FieldChange>) {
    let change = |pointer: String, was: Option<&Value>, now: Option<&Value>| FieldChange {
        pointer,
        was: was.cloned(),
        now: now.cloned(),
    };
    // A member or element on one side only is a change of its own; on both, compared.
    let mut pair = |here: String, was: Option<&Value>, now: Option<&Value>| match (was, now) {
        (Some(l), Some(r)) => field_changes(l, r, &here, out),
        (was, now) => out.push(change(here, was, now)),
    };
    match (old, new) {
        (Value::Object(left), Value::Object(right)) => {
            let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
            for key in keys {
                pair(
                    format!("{at}/{}", escape(key)),
                    left.get(key),
                    right.get(key),
                );
            }
        }
        (Value::Array(left), Value::Array(right)) => {
            for index in 0..left.len().max(right.len()) {
                pair(format!("{at}/{index}"), left.get(index), right.get(index));
            }
        }
        _ if old != new => {
            let pointer = if at.is_empty() { "/".into() } else { at.into() };
            out.push(change(pointer, Some(old), Some(new)));
        }
        _ => {}
    }
}

/// The places where two responses differ; an array of numbers (an embedding) is one
/// place, however many of its numbers changed.
fn differing_paths(old: &Value, new: &Value, at: &str, out: &mut Vec<String>) {
    let numbers = |items: &[Value]| items.iter().all(Value::is_number);
    match (old, new) {
        (Value::Object(left), Value::Object(right)) => {
            let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
            for key in keys {
                let here = format!("{at}/{}", escape(key));
                match (left.get(key), right.get(key)) {
                    (Some(l), Some(r)) => differing_paths(l, r, &here, out),
                    _ => out.push(here),
                }
            }
        }
        (Value::Array(left), Value::Array(right))
            if left.len() == right.len() && !(numbers(left) && numbers(right)) =>
        {
            for (index, (l, r)) in left.iter().zip(right).enumerate() {
                differing_paths(l, r, &format!("{at}/{index}"), out);
            }
        }
        _ if old != new => out.push(at.to_owned()),
        _ => {}
    }
}
