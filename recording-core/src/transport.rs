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
pub fn api_error(status: u16, body: &[u8], headers: Vec<(String, String)>) -> Error {
    Error::api(status, json_or_text(body)).with_headers(headers)
}

/// The response headers an API error keeps, so a front can send them back: those a
/// client acts on. `retry-after` (and `retry-after-ms`), the rate-limit families
/// (`x-ratelimit-*`, `ratelimit-*`, `anthropic-ratelimit-*`), a request id
/// (`request-id`, `x-request-id`), and a `content-type` other than JSON (a proxy's
/// HTML page). Nothing else: headers can carry cookies and other secrets.
pub fn kept_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Vec<(String, String)> {
    const NAMES: [&str; 4] = [
        "retry-after",
        "retry-after-ms",
        "request-id",
        "x-request-id",
    ];
    const FAMILIES: [&str; 3] = ["x-ratelimit-", "ratelimit-", "anthropic-ratelimit-"];
    headers
        .into_iter()
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let value = std::str::from_utf8(value).ok()?.trim();
            let kept = NAMES.contains(&name.as_str())
                || FAMILIES.iter().any(|family| name.starts_with(family))
                || (name == "content-type"
                    && !value.to_ascii_lowercase().starts_with("application/json"));
            kept.then(|| (name, value.to_owned()))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_headers_a_client_acts_on_are_kept() {
        let headers: [(&str, &[u8]); 8] = [
            ("Retry-After", b"7"),
            ("X-RateLimit-Reset-Tokens", b"6m0s"),
            ("anthropic-ratelimit-requests-remaining", b"0"),
            ("request-id", b"req_1"),
            ("Content-Type", b"application/json; charset=utf-8"),
            ("set-cookie", b"session=secret"),
            ("authorization", b"Bearer sk-echoed"),
            ("x-ratelimit-bad", b"\xff"),
        ];
        assert_eq!(
            kept_headers(headers),
            [
                ("retry-after".to_owned(), "7".to_owned()),
                ("x-ratelimit-reset-tokens".to_owned(), "6m0s".to_owned()),
                (
                    "anthropic-ratelimit-requests-remaining".to_owned(),
                    "0".to_owned()
                ),
                ("request-id".to_owned(), "req_1".to_owned()),
            ]
        );
        let html: [(&str, &[u8]); 1] = [("content-type", b"text/html")];
        assert_eq!(
            kept_headers(html),
            [("content-type".to_owned(), "text/html".to_owned())]
        );
    }
}
