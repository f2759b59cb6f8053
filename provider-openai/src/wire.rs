//! How OpenAI-compatible servers write answers: JSON bodies, and streams as
//! server-sent events, each chunk a `data:` line, the end `data: [DONE]`.

use recording_core::wire::WireFormat;
use serde_json::{Value, json};

/// The OpenAI-compatible wire format, for the fronts that answer over HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiWire;

/// The one instance the fronts use.
pub static WIRE: OpenAiWire = OpenAiWire;

impl WireFormat for OpenAiWire {
    fn stream_content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn frame_chunk(&self, json: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(json.as_bytes());
        out.extend_from_slice(b"\n\n");
    }

    /// `data: [DONE]`, except after a typed end event (the Responses API's
    /// `response.completed` and the like), which is how those streams end.
    fn frame_end(&self, last: Option<&str>, out: &mut Vec<u8>) {
        // Only its `type` is read: the chunk is not built as a value.
        #[derive(serde::Deserialize)]
        struct Typed<'a> {
            #[serde(rename = "type", borrow, default)]
            kind: Option<std::borrow::Cow<'a, str>>,
        }
        let last = last.and_then(|text| serde_json::from_str::<Typed>(text).ok());
        if !crate::client::ends_a_stream(last.as_ref().and_then(|typed| typed.kind.as_deref())) {
            out.extend_from_slice(b"data: [DONE]\n\n");
        }
    }

    /// OpenAI's error shape, which every OpenAI SDK reads: `{"error": {"message",
    /// "type", "code"}}`.
    fn error_body(&self, message: &str, kind: &str) -> Value {
        json!({"error": {"message": message, "type": kind, "code": kind, "param": null}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_data_lines_and_the_end_is_done_unless_typed() {
        let mut out = Vec::new();
        WIRE.frame_chunk(r#"{"a":1}"#, &mut out);
        WIRE.frame_end(Some(r#"{"a":1}"#), &mut out);
        assert_eq!(out, b"data: {\"a\":1}\n\ndata: [DONE]\n\n");
        let mut out = Vec::new();
        WIRE.frame_end(Some(r#"{"type":"response.completed"}"#), &mut out);
        assert!(out.is_empty());
    }
}
