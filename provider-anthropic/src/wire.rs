//! How Anthropic's servers write answers: JSON bodies, and streams as server-sent
//! events, each named by its data's `type` (`event: content_block_delta`), ending with
//! `message_stop`.

use std::borrow::Cow;

use recording_core::wire::WireFormat;
use serde::Deserialize;
use serde_json::{Value, json};

/// Anthropic's wire format, for the fronts that answer over HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicWire;

/// The one instance the fronts use.
pub static WIRE: AnthropicWire = AnthropicWire;

/// The one field of an event the framing needs.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

impl WireFormat for AnthropicWire {
    fn stream_content_type(&self) -> &'static str {
        "text/event-stream; charset=utf-8"
    }

    /// `event: {type}` then `data: {json}`: the SDKs' parsers read both. Recordings
    /// keep the data; the client refused any event whose name was not its type, so
    /// the name written back is the one the server sent. Data without a `type` (not
    /// a Messages event) goes out unnamed.
    fn frame_chunk(&self, json: &str, out: &mut Vec<u8>) {
        if let Ok(Kind { kind: Some(kind) }) = serde_json::from_str::<Kind<'_>>(json) {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(kind.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(json.as_bytes());
        out.extend_from_slice(b"\n\n");
    }

    /// Nothing: `message_stop` is the end, and a recorded stream holds it.
    fn frame_end(&self, _last: Option<&str>, _out: &mut Vec<u8>) {}

    /// Anthropic's error shape, which its SDKs read: `{"type": "error", "error":
    /// {"type", "message"}}`.
    fn error_body(&self, message: &str, kind: &str) -> Value {
        json!({"type": "error", "error": {"type": kind, "message": message}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_named_by_their_type_and_nothing_follows_the_last() {
        let mut out = Vec::new();
        WIRE.frame_chunk(r#"{"type":"message_stop"}"#, &mut out);
        WIRE.frame_chunk(r#"{"type":"te\u0073t","a":"\"type\":\"x\""}"#, &mut out);
        WIRE.frame_chunk(r#"{"a":1}"#, &mut out);
        WIRE.frame_end(Some(r#"{"a":1}"#), &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n\
             event: test\ndata: {\"type\":\"te\\u0073t\",\"a\":\"\\\"type\\\":\\\"x\\\"\"}\n\n\
             data: {\"a\":1}\n\n"
        );
    }
}
