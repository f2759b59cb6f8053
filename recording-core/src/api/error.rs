//! The one error type of clients and the recorder.

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::miss::ReplayMiss;

/// Everything a call through an [`InferenceClient`](crate::InferenceClient) can fail with.
///
/// Messages never contain credentials: transports must strip keys and headers before
/// building a [`Error::Transport`], and the recorder never sees them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an HTTP error status and a body. Errors a request
    /// provokes on purpose (400, 404, 422 ...) are recorded and replayed as the same
    /// error; transient and credential errors are passed on but not recorded (see
    /// [`Recording::record_errors`](crate::Recording::record_errors)).
    #[error(
        "API error: HTTP {status}: {body}{}",
        not_recorded.as_ref().map(|why| format!(" (not recorded: {why})")).unwrap_or_default()
    )]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The error body as the server sent it (JSON, or a JSON string for a text body).
        body: Value,
        /// Set by a record run that did not write this error, saying why.
        not_recorded: Option<String>,
        /// The response headers a client acts on (`retry-after`, `x-ratelimit-*`, the
        /// content type of a body that is not JSON, a request id), lower case, as
        /// [`transport::kept_headers`](crate::transport::kept_headers) keeps them. The
        /// HTTP fronts send them back, so an SDK backs off as it would from the server.
        /// Boxed: an error is returned often and should stay small.
        headers: Box<[(String, String)]>,
    },

    /// The server could not be reached or its answer could not be read (connection
    /// refused, reset, timeout, malformed stream). Never recorded.
    #[error("transport error: {0}")]
    Transport(String),

    /// A configuration value is wrong, such as an unknown `TEST_INFERENCE_MODE`.
    #[error("configuration error: {0}")]
    Config(String),

    /// Replay found no recording for the request. The message explains what differs
    /// from the closest recording and how to record it.
    #[error("{0}")]
    ReplayMiss(Box<ReplayMiss>),

    /// A recording file exists but cannot be used. It is left untouched.
    #[error("invalid recording {}: {reason}", path.display())]
    InvalidRecording {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading or writing the recordings directory failed.
    ///
    /// When a response was fetched from the server but could not be written, `fetched`
    /// carries it (the normalized body, or the error body), so it is not lost.
    #[error("cannot {action} {}: {source}", path.display())]
    Storage {
        /// What was being done: "read", "write", "create directory".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
        /// The response that was fetched but not recorded, if any.
        fetched: Option<Box<Value>>,
    },

    /// In `verify` mode, the live answer's shape differs from the recording's.
    #[error(
        "drift: the live answer differs from {} in shape:\n{}",
        path.display(),
        differences.iter().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
    )]
    Drift {
        /// The recording compared.
        path: PathBuf,
        /// One line per difference, such as `added /usage/details (object)`.
        differences: Vec<String>,
    },

    /// A response body does not have the shape of the type it was decoded into.
    #[error(
        "cannot decode {what}{} at `{field}`: {message}",
        origin.as_ref().map(|p| format!(" from {}", p.display())).unwrap_or_default()
    )]
    Decode {
        /// What was being decoded, such as "chat completion".
        what: String,
        /// The recording file the body came from, if any.
        origin: Option<PathBuf>,
        /// The path of the offending field, such as `choices[0].message.role`.
        field: String,
        /// The decoder's message.
        message: String,
    },

    /// The server answered with a stream where a single body was expected, or the
    /// other way round.
    #[error(
        "expected {expected} but the response is {found}{}",
        origin.as_ref().map(|p| format!(" (from {})", p.display())).unwrap_or_default()
    )]
    UnexpectedShape {
        /// The shape the caller asked for.
        expected: &'static str,
        /// The shape the response has.
        found: &'static str,
        /// The recording file the response came from, if any.
        origin: Option<PathBuf>,
    },
}

impl Error {
    /// An API error with `status` and `body`, as a transport reports it.
    pub fn api(status: u16, body: Value) -> Error {
        Error::Api {
            status,
            body,
            not_recorded: None,
            headers: Box::default(),
        }
    }

    /// This error with `headers` as its response headers, when it is an API error.
    pub fn with_headers(mut self, kept: Vec<(String, String)>) -> Error {
        if let Error::Api { headers, .. } = &mut self {
            *headers = kept.into_boxed_slice();
        }
        self
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Decodes a response body into a typed value; on failure the error names the
/// recording file (if any) and the path of the field that did not fit.
///
/// Provider crates use it for every typed call so a body that a server sent and a
/// client library rejects is found at once.
pub fn decode<T: DeserializeOwned>(
    value: Value,
    what: &str,
    origin: Option<&Path>,
) -> Result<T, Error> {
    // Tracking the field path costs on every field; only a failure needs it, so the
    // value is decoded again with tracking to explain one. Decoding from a reference
    // copies only the strings the type keeps; decoding an owned value would first need
    // a clone of the whole tree, maps rebuilt key by key (benches/README.md).
    T::deserialize(&value).or_else(|_| {
        serde_path_to_error::deserialize::<_, T>(&value)
            .map_err(|err| decode_error(err, what, origin))
    })
}

/// Decodes JSON text into a typed value, as [`decode`] does a `Value`: replayed bodies
/// are decoded straight from the recording's text, without a `Value` in between.
pub(crate) fn decode_text<T: DeserializeOwned>(
    text: &str,
    what: &str,
    origin: Option<&Path>,
) -> Result<T, Error> {
    serde_json::from_str::<T>(text).or_else(|_| {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize::<_, T>(&mut deserializer)
            .map_err(|err| decode_error(err, what, origin))
    })
}

fn decode_error(
    err: serde_path_to_error::Error<serde_json::Error>,
    what: &str,
    origin: Option<&Path>,
) -> Error {
    Error::Decode {
        what: what.to_owned(),
        origin: origin.map(Path::to_path_buf),
        field: err.path().to_string(),
        message: shortened(err.into_inner().to_string()),
    }
}

/// The longest decoder message kept whole. serde quotes the offending value, which can
/// be a multi-kilobyte string (a base64 vector where floats were expected); the field
/// path says where it is, so the middle of the message is cut.
const MESSAGE_LIMIT: usize = 300;

fn shortened(message: String) -> String {
    if message.chars().count() <= MESSAGE_LIMIT {
        return message;
    }
    let head: String = message.chars().take(MESSAGE_LIMIT / 2).collect();
    let tail: String = {
        let mut tail: Vec<char> = message.chars().rev().take(MESSAGE_LIMIT / 2).collect();
        tail.reverse();
        tail.into_iter().collect()
    };
    let cut = message.chars().count() - head.chars().count() - tail.chars().count();
    format!("{head}[... {cut} characters cut ...]{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn decode_errors_name_the_file_and_the_field() {
        let err = decode::<Outer>(
            json!({"items": [{"n": 1}, {"n": "two"}]}),
            "thing",
            Some(Path::new("recordings/responses/abc.json")),
        )
        .expect_err("a string is not a u32");
        let text = err.to_string();
        assert!(text.contains("recordings/responses/abc.json"), "{text}");
        assert!(text.contains("`items[1].n`"), "{text}");
        assert!(text.starts_with("cannot decode thing"), "{text}");
    }

    #[test]
    fn a_huge_value_is_never_quoted_whole() {
        let huge = "A".repeat(20_000);
        let err = decode::<Outer>(json!({"items": [{"n": huge}]}), "thing", None)
            .expect_err("a string is not a u32");
        let text = err.to_string();
        assert!(text.len() < 1_000, "{} characters", text.len());
        assert!(
            text.contains("`items[0].n`") && text.contains("characters cut"),
            "{text}"
        );
    }
}
