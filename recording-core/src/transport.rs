//! Helpers the HTTP transports share: what an error or a body shows in a message.

use serde_json::Value;

use crate::api::error::Error;

pub use crate::api::client::{ChunkStream, RecordedBody, ResponseBody, end_at_first_error};
pub use crate::api::error::decode;

/// At most the first 200 characters of a body, for error messages: enough to tell a
/// proxy's HTML page from a truncated JSON body, never a multi-kilobyte dump.
pub fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// The bytes of a request body as a transport sends them, with the JSON content type;
/// `None` for a request without a body (`null`, as a GET).
pub fn json_body(body: &Value) -> Result<Option<Vec<u8>>, Error> {
    if body.is_null() {
        return Ok(None);
    }
    serde_json::to_vec(body)
        .map(Some)
        .map_err(|err| Error::Config(format!("cannot serialize the request: {err}")))
}

/// An answer with a status other than 2xx, as the [`Error::Api`] every transport
/// reports: its body as JSON, or as a string when it is not JSON.
pub fn api_error(status: u16, body: &[u8]) -> Error {
    Error::api(status, json_or_text(body))
}

/// An error body as JSON, or as a JSON string when it is not JSON (an HTML page).
pub fn json_or_text(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// An HTTP client's failure as an [`Error::Transport`] with its causes on one line:
/// the client's own message alone ("error sending request") does not say that the
/// connection was refused. Transports pass errors without their URL (which could
/// carry a key).
pub fn transport_error(err: &dyn std::error::Error) -> Error {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    Error::Transport(text)
}
