//! `OllamaClient`: the real transport, Ollama's HTTP API with the wire JSON kept whole.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use recording_core::transport::{api_error, end_at_first_error, json_body, kept_headers, snippet};
use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Method, Normalizer};
use serde_json::Value;

use crate::normalize::OllamaNormalizer;

/// The provider name written into recordings.
pub const PROVIDER: &str = "ollama";

/// The environment variable Ollama itself reads for its address.
pub const HOST_ENV: &str = "OLLAMA_HOST";

/// Where Ollama listens unless told otherwise.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:11434";

/// A client of Ollama's HTTP API (`/api/generate`, `/api/chat`, ...).
///
/// Bodies travel as JSON values and come back exactly as Ollama sent them, every
/// field: ollama-rs's own calls decode into its types, which drop wire fields such as
/// `done_reason`, so a recording made through them would not be faithful. A streaming
/// answer (`application/x-ndjson`) is read line by line as it arrives, and is complete
/// only when it ends the way Ollama ends one (see [`stream_is_complete`]). A request
/// that says `"stream": false` must get a single JSON body, and one that says
/// `"stream": true` a stream. Anything else is an [`Error::Transport`] that says what
/// arrived, so it is never recorded. HTTPS works out of the box (rustls).
#[derive(Clone)]
pub struct OllamaClient {
    http: reqwest::Client,
    base: String,
    normalizer: Arc<OllamaNormalizer>,
    timeout: Option<Duration>,
}

impl OllamaClient {
    /// A client of the Ollama at `host`: a URL (`http://10.0.0.5:11434`), or a bare
    /// `host:port` or `host` as `OLLAMA_HOST` accepts (`http://` and port 11434 are
    /// assumed).
    pub fn new(host: &str) -> OllamaClient {
        OllamaClient {
            http: reqwest::Client::new(),
            base: host_url(host),
            normalizer: Arc::new(OllamaNormalizer),
            timeout: None,
        }
    }

    /// Gives up on a server that stays silent for `limit`: the answer (or a stream's
    /// start) must come within `limit`, then each line of a stream within `limit` of
    /// the last, so a long generation or pull that keeps streaming is never cut. A
    /// timeout is a transport error that says so, and nothing is recorded. Without it
    /// the limit is `TEST_INFERENCE_TIMEOUT` or five minutes
    /// ([`recording_core::timeout::configured`]); `Duration::MAX` is no limit.
    pub fn timeout(mut self, limit: Duration) -> OllamaClient {
        self.timeout = Some(limit);
        self
    }

    /// A client of the Ollama named by `OLLAMA_HOST`, or [`DEFAULT_HOST`].
    pub fn from_env() -> OllamaClient {
        let host = std::env::var(HOST_ENV).unwrap_or_default();
        OllamaClient::new(&host)
    }

    /// The URL requests go to, without a trailing slash, credentials included: do not
    /// log it (its `Debug` output and [`InferenceClient::base_url`] strip them).
    pub fn url(&self) -> &str {
        &self.base
    }
}

impl fmt::Debug for OllamaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The host may carry `user:password@`.
        f.debug_struct("OllamaClient")
            .field(
                "url",
                &recording_core::redact::strip_credentials(&self.base),
            )
            .finish_non_exhaustive()
    }
}

/// Ollama's rules for `OLLAMA_HOST`: blank is the default; without a scheme, `http://`
/// and port 11434 are assumed; with one, the scheme's own default port applies.
fn host_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.is_empty() {
        return DEFAULT_HOST.to_owned();
    }
    if host.contains("://") {
        return host.to_owned();
    }
    let (authority, path) = host.split_at(host.find('/').unwrap_or(host.len()));
    // An IPv6 literal's colons are inside brackets; a port follows the last `]`.
    let after_brackets = authority.rsplit(']').next().unwrap_or(authority);
    if after_brackets.contains(':') {
        format!("http://{authority}{path}")
    } else {
        format!("http://{authority}:11434{path}")
    }
}

#[async_trait]
impl InferenceClient for OllamaClient {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        self.normalizer.clone()
    }

    fn base_url(&self) -> Option<String> {
        Some(recording_core::redact::strip_credentials(&self.base))
    }

    /// The password and query values of the host URL.
    fn secrets(&self) -> Vec<String> {
        recording_core::redact::url_secrets(&self.base)
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        recording_core::timeout::guarded(self.timeout, self.secrets(), self.send_now(request)).await
    }
}

impl OllamaClient {
    async fn send_now(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        // Ollama streams unless told not to, so only an explicit flag is checked.
        let asked = request.body.get("stream").and_then(Value::as_bool);
        let url = format!("{}{}", self.base, request.endpoint);
        let builder = match request.method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url),
            Method::Delete => self.http.delete(url),
        };
        let builder = match json_body(&request.body)? {
            None => builder,
            Some(bytes) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes),
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let headers = kept_headers(
                response
                    .headers()
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_bytes())),
            );
            let bytes = response.bytes().await.map_err(transport)?;
            return Err(api_error(status.as_u16(), &bytes, headers));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        if content_type.starts_with("application/x-ndjson") {
            if asked == Some(false) {
                return Err(Error::Transport(format!(
                    "the request said \"stream\": false, but Ollama answered with a stream \
                     ({content_type})"
                )));
            }
            let lines = ndjson_lines(response.bytes_stream());
            let chunks = lines.map(|line| line.and_then(parse_line).and_then(error_line));
            return Ok(ApiResponse::stream(end_at_first_error(complete(chunks))));
        }
        let bytes = response.bytes().await.map_err(transport)?;
        let body = serde_json::from_slice(&bytes).map_err(|err| {
            Error::Transport(format!(
                "Ollama answered {status} with a body that is not JSON ({content_type}, {err}): {}",
                snippet(&bytes)
            ))
        })?;
        if asked == Some(true) {
            return Err(Error::Transport(format!(
                "the request said \"stream\": true, but Ollama answered with a single JSON \
                 body ({content_type}): {}",
                snippet(&bytes)
            )));
        }
        Ok(ApiResponse::json(body))
    }
}

/// Whether a stream whose last line is `last` ended the way Ollama ends one: a line
/// with `"done": true` (generate, chat), or `"status": "success"` (pull, push,
/// create). A stream that ends any other way was cut short.
pub fn stream_is_complete(last: Option<&Value>) -> bool {
    last.is_some_and(|line| {
        line.get("done").and_then(Value::as_bool) == Some(true)
            || line.get("status").and_then(Value::as_str) == Some("success")
    })
}

/// Passes `chunks` through, and adds a transport error at the end when the stream
/// ended without its final line.
fn complete<S>(chunks: S) -> impl Stream<Item = Result<Value, Error>> + Send + 'static
where
    S: Stream<Item = Result<Value, Error>> + Send + 'static,
{
    let state = (Box::pin(chunks), None::<Value>, false);
    futures::stream::unfold(state, |(mut chunks, mut last, ended)| async move {
        if ended {
            return None;
        }
        match chunks.next().await {
            Some(Ok(chunk)) => {
                last = Some(chunk.clone());
                Some((Ok(chunk), (chunks, last, false)))
            }
            Some(Err(err)) => Some((Err(err), (chunks, last, true))),
            None if stream_is_complete(last.as_ref()) => None,
            None => Some((
                Err(Error::Transport(
                    "Ollama's stream ended without its final line (`\"done\": true`): it was \
                     cut short, so it is incomplete"
                        .into(),
                )),
                (chunks, last, true),
            )),
        }
    })
}

fn parse_line(line: Vec<u8>) -> Result<Value, Error> {
    serde_json::from_slice(&line).map_err(|err| {
        Error::Transport(format!(
            "Ollama sent a stream line that is not JSON ({err}): {}",
            String::from_utf8_lossy(&line)
        ))
    })
}

/// Ollama reports a failure after a stream began as a line `{"error": "..."}`; it
/// becomes an API error at that point of the stream (status 500: the HTTP status was
/// already 200).
fn error_line(line: Value) -> Result<Value, Error> {
    let is_error = line
        .as_object()
        .is_some_and(|map| map.contains_key("error") && !map.contains_key("done"));
    if is_error {
        Err(Error::api(500, line))
    } else {
        Ok(line)
    }
}

/// Splits a byte stream into its non-empty lines, as they complete. A last line
/// without a newline is still a line; a broken connection is a transport error.
fn ndjson_lines<S, B>(bytes: S) -> impl Stream<Item = Result<Vec<u8>, Error>> + Send
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + Unpin,
    B: AsRef<[u8]>,
{
    struct State<S> {
        bytes: S,
        buffer: Vec<u8>,
        done: bool,
    }
    let state = State {
        bytes,
        buffer: Vec::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(end) = state.buffer.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = state.buffer.drain(..=end).collect();
                line.pop();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some((Ok(line), state));
            }
            if state.done {
                let rest = std::mem::take(&mut state.buffer);
                if rest.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                return Some((Ok(rest), state));
            }
            match state.bytes.next().await {
                Some(Ok(chunk)) => state.buffer.extend_from_slice(chunk.as_ref()),
                Some(Err(err)) => {
                    state.done = true;
                    state.buffer.clear();
                    return Some((Err(transport(err)), state));
                }
                None => state.done = true,
            }
        }
    })
}

/// A reqwest failure as a transport error, without the URL (which could carry a key).
fn transport(err: reqwest::Error) -> Error {
    recording_core::transport::transport_error(&err.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_are_read_the_way_ollama_reads_them() {
        assert_eq!(host_url(""), "http://127.0.0.1:11434");
        assert_eq!(host_url("0.0.0.0"), "http://0.0.0.0:11434");
        assert_eq!(host_url("example.com:8080"), "http://example.com:8080");
        assert_eq!(
            host_url("https://ollama.example.com/"),
            "https://ollama.example.com"
        );
        assert_eq!(
            host_url("http://127.0.0.1:9/prefix"),
            "http://127.0.0.1:9/prefix"
        );
        assert_eq!(host_url("[::1]"), "http://[::1]:11434");
        assert_eq!(host_url("[::1]:5000"), "http://[::1]:5000");
    }

    #[tokio::test]
    async fn ndjson_lines_are_split_across_chunk_boundaries() {
        let chunks: Vec<Result<&'static [u8], reqwest::Error>> =
            vec![Ok(b"{\"a\":1}\n{\"b\""), Ok(b":2}\n\n"), Ok(b"{\"c\":3}")];
        let lines: Vec<Value> = ndjson_lines(futures::stream::iter(chunks))
            .map(|line| parse_line(line.expect("line")).expect("json"))
            .collect()
            .await;
        assert_eq!(
            lines,
            vec![json!({"a": 1}), json!({"b": 2}), json!({"c": 3})]
        );
    }

    #[test]
    fn an_error_line_mid_stream_is_an_api_error() {
        let err = error_line(json!({"error": "model crashed"})).expect_err("error line");
        assert_eq!(err.status(), Some(500));
        assert!(error_line(json!({"done": true, "error": null})).is_ok());
    }
}
