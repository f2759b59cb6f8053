//! `AnthropicClient`: the real transport to any Messages-compatible server, with bodies
//! as JSON values and the named server-sent events read here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use http_transport::reqwest;
use http_transport::reqwest::header::{HeaderMap, HeaderValue};
use recording_core::transport::{end_at_first_error, snippet};
use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Normalizer};
use serde_json::Value;

use crate::normalize::AnthropicNormalizer;

/// The provider name written into recordings.
pub const PROVIDER: &str = "anthropic";

/// The environment variable the Anthropic SDKs read for the server's address (without
/// `/v1`).
pub const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";

/// The environment variable the Anthropic SDKs read for the key.
pub const API_KEY_ENV: &str = "ANTHROPIC_API_KEY";

/// Where [`AnthropicClient::from_env`] sends without `ANTHROPIC_BASE_URL`.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` sent unless [`AnthropicClient::version`] says otherwise: the
/// one the official SDKs send.
pub const VERSION: &str = "2023-06-01";

/// A client of any server that speaks Anthropic's Messages API (Anthropic, llama.cpp's
/// `llama-server`, a gateway), for any endpoint.
///
/// The base URL is the server root, as the Anthropic SDKs take it
/// (`https://api.anthropic.com`, `http://127.0.0.1:8080`), and endpoints are the API's
/// paths (`/v1/messages`), so recordings carry the same endpoint whatever server they
/// were made against. The key goes in `x-api-key`, never in a recording, a log or an
/// error, even when the server echoes it. HTTPS works out of the box, as for the
/// OpenAI client ([`http_transport::http_client`]).
///
/// A request whose body says `"stream": true` must be answered with an event stream
/// that ends with `message_stop`; an `error` event ends it as the [`Error::Api`] its
/// error type stands for ([`status_of_error_type`]: `overloaded_error` is a 529, and
/// transient, so never recorded). Any other request gets one JSON body. Anything else
/// (a stream cut short, an event whose name is not its data's `type`, a proxy's HTML
/// page) is an [`Error::Transport`] that says what arrived, so it is never recorded.
#[derive(Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    /// The server root, without a trailing slash.
    base: String,
    /// `x-api-key`, `anthropic-version` and what [`InferenceClient::with_headers`] adds.
    headers: HeaderMap,
    /// The key and the base URL's credentials, replaced wherever they would show.
    secrets: Vec<String>,
    /// Why the configuration cannot be sent (a key no HTTP header may hold), reported
    /// by every call instead of a panic.
    invalid: Option<String>,
    timeout: Option<Duration>,
}

impl AnthropicClient {
    /// A client of the server at `base_url` (its root, as `https://api.anthropic.com`)
    /// with `api_key`; an empty key sends no `x-api-key` (llama-server needs none).
    ///
    /// Requests are not retried: in record mode a retry would hide what the server
    /// really answered. A key that cannot go in an HTTP header (a trailing `\r` from a
    /// file written on Windows) makes every call fail with an [`Error::Config`] that
    /// says so without showing it; [`AnthropicClient::check`] reports it at once.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> AnthropicClient {
        let base: String = base_url.into();
        let key: String = api_key.into();
        let mut secrets = recording_core::redact::url_secrets(&base);
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-version", HeaderValue::from_static(VERSION));
        let mut invalid = None;
        if !key.is_empty() {
            match HeaderValue::from_str(&key) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    headers.insert("x-api-key", value);
                }
                Err(_) => {
                    invalid = Some(
                        "the API key holds a character that cannot go in an HTTP header (a trailing \\r or newline from the file it was read from?)"
                            .to_owned(),
                    );
                }
            }
            secrets.push(key);
        }
        AnthropicClient {
            http: http_transport::http_client(),
            base: base.trim_end_matches('/').to_owned(),
            headers,
            secrets,
            invalid,
            timeout: None,
        }
    }

    /// A client configured as the Anthropic SDKs are: `ANTHROPIC_BASE_URL` (default
    /// `https://api.anthropic.com`) and `ANTHROPIC_API_KEY`.
    pub fn from_env() -> AnthropicClient {
        let value = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        AnthropicClient::new(
            value(BASE_URL_ENV).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            value(API_KEY_ENV).unwrap_or_default(),
        )
    }

    /// Sends `anthropic-version: version` instead of [`VERSION`].
    pub fn version(mut self, version: &str) -> AnthropicClient {
        match HeaderValue::from_str(version) {
            Ok(value) => {
                self.headers.insert("anthropic-version", value);
            }
            Err(_) => {
                self.invalid = Some(format!(
                    "the anthropic-version {version:?} cannot go in an HTTP header"
                ));
            }
        }
        self
    }

    /// Gives up on a server that stays silent for `limit`: the answer (or a stream's
    /// start) must come within `limit`, then each event within `limit` of the last.
    /// Without it the limit is `TEST_INFERENCE_TIMEOUT` or five minutes
    /// ([`recording_core::timeout::configured`]); `Duration::MAX` is no limit.
    pub fn timeout(mut self, limit: Duration) -> AnthropicClient {
        self.timeout = Some(limit);
        self
    }

    /// The configuration error every call would fail with, if any.
    pub fn check(&self) -> Result<(), Error> {
        match &self.invalid {
            Some(why) => Err(Error::Config(why.clone())),
            None => Ok(()),
        }
    }

    /// Where `endpoint` is: below the server root. A base URL given with the `/v1` the
    /// OpenAI SDKs want still works.
    fn url(&self, endpoint: &str) -> String {
        match self.base.strip_suffix("/v1") {
            Some(root) if endpoint.starts_with("/v1/") => format!("{root}{endpoint}"),
            _ => format!("{}{endpoint}", self.base),
        }
    }
}

impl fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the headers: they hold the key.
        f.debug_struct("AnthropicClient")
            .field(
                "base_url",
                &recording_core::redact::strip_credentials(&self.base),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl InferenceClient for AnthropicClient {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        Arc::new(AnthropicNormalizer)
    }

    fn base_url(&self) -> Option<String> {
        let base = recording_core::redact::strip_credentials(&self.base);
        Some(base.strip_suffix("/v1").unwrap_or(&base).to_owned())
    }

    fn secrets(&self) -> Vec<String> {
        self.secrets.clone()
    }

    /// A copy that also sends `headers` (a client's `anthropic-beta`, or its own
    /// `anthropic-version`); one that cannot be an HTTP header is left out.
    fn with_headers(&self, headers: &[(String, String)]) -> Option<Arc<dyn InferenceClient>> {
        let mut client = self.clone();
        http_transport::insert_headers(&mut client.headers, headers);
        Some(Arc::new(client))
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        self.check()?;
        recording_core::timeout::guarded(self.timeout, self.secrets.clone(), self.send_now(request))
            .await
    }
}

impl AnthropicClient {
    async fn send_now(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let wants_stream = request.body.get("stream").and_then(Value::as_bool) == Some(true);
        let url = self.url(&request.endpoint);
        let builder = http_transport::request(
            &self.http,
            request.method,
            url,
            self.headers.clone(),
            &request.body,
        )?;
        let response = http_transport::send(builder).await?;
        http_transport::answer(response, wants_stream, |response| {
            Box::pin(end_at_first_error(events(response.bytes_stream())))
        })
        .await
    }
}

/// The HTTP status an `error` event's `error.type` stands for, as Anthropic documents
/// them ("Errors"): what the event would have been had it come before the stream began.
/// An unknown type is a 500.
pub fn status_of_error_type(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// The events of a Messages stream, each as its data, in order, ending at
/// `message_stop`. An event's name must be its data's `type` (the fronts write the name
/// back from the `type`); `ping`s are kept, as the server sent them; an `error` event
/// is the API error it names. Blank data (keep-alives) is skipped; data that is not
/// JSON, a broken connection, or an end before `message_stop` is a transport error.
pub(crate) fn events<S, B>(bytes: S) -> impl Stream<Item = Result<Value, Error>> + Send + 'static
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
{
    events_of(http_transport::sse_events(bytes))
}

fn events_of<E>(events: E) -> impl Stream<Item = Result<Value, Error>> + Send + 'static
where
    E: Stream<Item = Result<http_transport::SseEvent, Error>> + Send + 'static,
{
    // After an error item the caller's end_at_first_error stops polling.
    let state = (Box::pin(events), false);
    futures::stream::unfold(state, |(mut events, stopped)| async move {
        if stopped {
            return None;
        }
        loop {
            let item = match events.next().await {
                Some(Ok(event)) if event.data.trim().is_empty() => continue,
                Some(Ok(event)) => chunk_of(&event.event, &event.data),
                Some(Err(err)) => Err(err),
                None => Err(Error::Transport(
                    "the stream ended without `message_stop`: the server or a proxy cut it \
                     short, so it is incomplete"
                        .into(),
                )),
            };
            let stops = matches!(&item, Ok(chunk) if chunk["type"] == "message_stop");
            return Some((item, (events, stops)));
        }
    })
}

/// One event's data as a chunk, or the error it is.
fn chunk_of(name: &str, data: &str) -> Result<Value, Error> {
    let chunk: Value = serde_json::from_str(data).map_err(|err| {
        Error::Transport(format!(
            "the server sent a `{name}` event whose data is not JSON ({err}): {}",
            snippet(data.as_bytes())
        ))
    })?;
    let kind = chunk
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // `message` is the name of an event sent without one.
    if name != kind && name != "message" {
        return Err(Error::Transport(format!(
            "the server sent an event named `{name}` whose data's type is {kind:?}; a Messages stream names each event by its type"
        )));
    }
    if kind == "error" {
        let status = chunk["error"]["type"]
            .as_str()
            .map_or(500, status_of_error_type);
        return Err(Error::api(status, chunk));
    }
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_transport::SseEvent;

    fn event(name: &str, data: &str) -> Result<SseEvent, Error> {
        Ok(SseEvent {
            event: name.to_owned(),
            data: data.to_owned(),
        })
    }

    async fn read(events: Vec<Result<SseEvent, Error>>) -> Vec<Result<Value, Error>> {
        end_at_first_error(events_of(futures::stream::iter(events)))
            .collect()
            .await
    }

    #[tokio::test]
    async fn a_stream_ends_at_message_stop_and_keeps_pings() {
        let items = read(vec![
            event("message_start", r#"{"type":"message_start","message":{}}"#),
            event("ping", r#"{"type":"ping"}"#),
            event("message_stop", r#"{"type":"message_stop"}"#),
            event("ping", r#"{"type":"ping"}"#),
        ])
        .await;
        let kinds: Vec<String> = items
            .iter()
            .map(|item| item.as_ref().expect("a chunk")["type"].to_string())
            .collect();
        assert_eq!(kinds, ["\"message_start\"", "\"ping\"", "\"message_stop\""]);
    }

    #[tokio::test]
    async fn a_stream_without_message_stop_is_incomplete() {
        let items = read(vec![event(
            "message_start",
            r#"{"type":"message_start","message":{}}"#,
        )])
        .await;
        let err = items.last().and_then(|item| item.as_ref().err());
        assert!(
            matches!(err, Some(Error::Transport(text)) if text.contains("message_stop")),
            "{items:?}"
        );
    }

    #[tokio::test]
    async fn an_error_event_is_the_api_error_its_type_names() {
        let items = read(vec![
            event("message_start", r#"{"type":"message_start","message":{}}"#),
            event(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ),
        ])
        .await;
        let err = items[1].as_ref().expect_err("the error event");
        assert_eq!(err.status(), Some(529));
        assert_eq!(items.len(), 2);
    }

    #[tokio::test]
    async fn an_event_named_other_than_its_type_is_refused() {
        let items = read(vec![event("content_block_delta", r#"{"type":"ping"}"#)]).await;
        assert!(
            matches!(&items[0], Err(Error::Transport(text)) if text.contains("content_block_delta")),
            "{items:?}"
        );
    }

    #[test]
    fn the_key_never_shows_and_a_bad_one_is_a_clear_error() {
        let client = AnthropicClient::new("http://127.0.0.1:9/", "sk-ant-secret-1");
        assert!(!format!("{client:?}").contains("sk-ant-secret-1"));
        assert!(client.secrets().iter().any(|s| s == "sk-ant-secret-1"));
        assert_eq!(client.base_url().as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(client.url("/v1/messages"), "http://127.0.0.1:9/v1/messages");
        let with_v1 = AnthropicClient::new("http://127.0.0.1:9/v1", "");
        assert_eq!(
            with_v1.url("/v1/messages"),
            "http://127.0.0.1:9/v1/messages"
        );
        let err = AnthropicClient::new("http://127.0.0.1:9", "sk-ant-windows\r")
            .check()
            .expect_err("invalid");
        assert!(err.to_string().contains("HTTP header"), "{err}");
        assert!(!err.to_string().contains("sk-ant-windows"), "{err}");
        let err = AnthropicClient::new("http://127.0.0.1:9", "")
            .version("2023-06-01\n")
            .check()
            .expect_err("invalid");
        assert!(err.to_string().contains("anthropic-version"), "{err}");
    }
}
