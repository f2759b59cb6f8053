//! How Ollama writes answers: JSON bodies, and streams as NDJSON, one chunk a line,
//! the last one `"done": true`.

use recording_core::wire::WireFormat;
use serde_json::{Value, json};

/// Ollama's wire format, for the fronts that answer over HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaWire;

/// The one instance the fronts use.
pub static WIRE: OllamaWire = OllamaWire;

impl WireFormat for OllamaWire {
    fn stream_content_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    fn frame_chunk(&self, json: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(json.as_bytes());
        out.push(b'\n');
    }

    /// Nothing: the last line (`"done": true`) is the end.
    fn frame_end(&self, _last: Option<&str>, _out: &mut Vec<u8>) {}

    /// Ollama's error shape: `{"error": "..."}`.
    fn error_body(&self, message: &str, _kind: &str) -> Value {
        json!({ "error": message })
    }
}
