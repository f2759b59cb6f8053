//! `OpenAiClient`: the real transport to any OpenAI-compatible server, with bodies as
//! JSON values and the server-sent-events framing read here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_openai::config::{Config, OpenAIConfig};
use async_trait::async_trait;
use futures::{Stream, StreamExt};
use recording_core::transport::{end_at_first_error, snippet};
use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Normalizer};
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::normalize::OpenAiNormalizer;

/// The provider name written into recordings.
pub const PROVIDER: &str = "openai";

/// The environment variable the OpenAI SDKs read for the base URL (with its `/v1`).
pub const BASE_URL_ENV: &str = "OPENAI_BASE_URL";

/// A client of any OpenAI-compatible server (OpenAI, llama.cpp's `llama-server`, vLLM,
/// Ollama's `/v1`), for any endpoint.
///
/// Endpoints are the OpenAI paths (`/v1/chat/completions`, `/v1/responses`, ...); the
/// base URL follows the OpenAI SDKs' convention and includes the `/v1`
/// (`http://127.0.0.1:8080/v1`), so recordings carry the same endpoint whatever server
/// they were made against. The key, organization and project come from async-openai's
/// [`OpenAIConfig`], as async-openai itself sends them. HTTPS works out of the box
/// (rustls on the process's crypto provider, else ring, and the platform's
/// certificate verifier).
///
/// A request whose body says `"stream": true` must be answered with a server-sent
/// event stream that ends the way OpenAI-compatible servers end one (see
/// [`stream_is_complete`]); any other request with a single JSON body. Anything else
/// (a JSON body from a server that ignores `"stream"`, a proxy's HTML page, a stream
/// cut short) is an [`Error::Transport`] that says what arrived, so it is never
/// recorded.
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    /// The base URL, `/v1` included.
    base: String,
    /// Authorization, organization and project, as async-openai sends them.
    headers: HeaderMap,
    query: Vec<(String, String)>,
    /// The key and the base URL's credentials, replaced wherever they would show.
    secrets: Vec<String>,
    /// Why the configuration cannot be sent (a key with a character no HTTP header may
    /// hold), reported by every call instead of a panic.
    invalid: Option<String>,
    normalizer: Arc<OpenAiNormalizer>,
    timeout: Option<Duration>,
}

impl OpenAiClient {
    /// A client for `config` (base URL, API key, organization, project).
    ///
    /// Requests are not retried: in record mode a retry would hide what the server
    /// really answered, and in tests a failure should show at once.
    ///
    /// The key is checked here: one that cannot go in an HTTP header (a trailing `\r`
    /// from a file written on Windows, a newline) makes every call fail with an
    /// [`Error::Config`] that says so without showing the key;
    /// [`OpenAiClient::check`] reports it at once.
    pub fn new(config: OpenAIConfig) -> OpenAiClient {
        let key = config.api_key().expose_secret().to_owned();
        let query: Vec<(String, String)> = config
            .query()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut secrets = recording_core::redact::url_secrets(config.api_base());
        secrets.extend(query.iter().map(|(_, value)| value.clone()));
        secrets.push(key.clone());
        let (headers, invalid) = headers_of(&config, &key);
        OpenAiClient {
            http: OpenAiClient::http_client(),
            base: config.api_base().to_owned(),
            headers,
            query,
            secrets,
            invalid,
            normalizer: Arc::new(OpenAiNormalizer),
            timeout: None,
        }
    }

    /// The configuration error every call would fail with, if any: a key,
    /// organization or project that cannot go in an HTTP header.
    pub fn check(&self) -> Result<(), Error> {
        match &self.invalid {
            Some(why) => Err(Error::Config(why.clone())),
            None => Ok(()),
        }
    }

    /// The HTTP client every OpenAI client uses (see [`http_transport::http_client`]).
    pub(crate) fn http_client() -> reqwest::Client {
        http_transport::http_client()
    }

    /// A client that sends to `base` with exactly `headers`: what an app's own
    /// async-openai client put on its request, for the HTTP service to forward.
    pub(crate) fn forwarding(http: reqwest::Client, base: String, headers: HeaderMap) -> Self {
        let mut secrets = recording_core::redact::url_secrets(&base);
        // The token of `Authorization: Bearer <key>`, and any other credential header.
        for (name, value) in &headers {
            let credential = name == reqwest::header::AUTHORIZATION
                || name.as_str().contains("key")
                || name.as_str().contains("token");
            if let (true, Ok(value)) = (credential, value.to_str()) {
                secrets.push(value.strip_prefix("Bearer ").unwrap_or(value).to_owned());
            }
        }
        OpenAiClient {
            http,
            base,
            headers,
            query: Vec::new(),
            secrets,
            invalid: None,
            normalizer: Arc::new(OpenAiNormalizer),
            timeout: None,
        }
    }

    /// Gives up on a server that stays silent for `limit`: the answer (or a stream's
    /// start) must come within `limit`, then each chunk within `limit` of the last, so
    /// a long generation that keeps streaming is never cut. A timeout is a transport
    /// error that says so, and nothing is recorded. Without it the limit is
    /// `TEST_INFERENCE_TIMEOUT` or five minutes
    /// ([`recording_core::timeout::configured`]); `Duration::MAX` is no limit.
    pub fn timeout(mut self, limit: Duration) -> OpenAiClient {
        self.timeout = Some(limit);
        self
    }

    /// A client configured from `OPENAI_BASE_URL` (default `https://api.openai.com/v1`)
    /// and `OPENAI_API_KEY`, as the OpenAI SDKs read them.
    pub fn from_env() -> OpenAiClient {
        OpenAiClient::new(OpenAIConfig::new())
    }

    /// A client of the server at `base_url` (including `/v1`) with `api_key`.
    pub fn with_base_url(base_url: impl Into<String>, api_key: impl Into<String>) -> OpenAiClient {
        OpenAiClient::new(
            OpenAIConfig::new()
                .with_api_base(base_url)
                .with_api_key(api_key),
        )
    }

    fn api_base(&self) -> &str {
        &self.base
    }

    /// Where `endpoint` is: below the base URL for `/v1/...` paths (so a base without
    /// `/v1`, such as a gateway's, still works), below the server root otherwise.
    fn url(&self, endpoint: &str) -> String {
        match endpoint.strip_prefix("/v1") {
            Some(rest) if rest.starts_with('/') => {
                format!("{}{rest}", self.base.trim_end_matches('/'))
            }
            _ => format!("{}{endpoint}", root(&self.base)),
        }
    }
}

/// The headers async-openai would send for `config`, or why they cannot be sent.
/// async-openai builds them with `unwrap`, so a value no header may hold is checked
/// first; the key itself never enters the message.
fn headers_of(config: &OpenAIConfig, key: &str) -> (HeaderMap, Option<String>) {
    let unfit = |value: &str| reqwest::header::HeaderValue::from_str(value).is_err();
    let problem = if unfit(&format!("Bearer {key}")) {
        Some(
            "the API key holds a character that cannot go in an HTTP header (a trailing \\r or newline from the file it was read from?)",
        )
    } else if unfit(config.org_id()) {
        Some("the organization id holds a character that cannot go in an HTTP header")
    } else {
        None
    };
    if let Some(problem) = problem {
        return (HeaderMap::new(), Some(problem.to_owned()));
    }
    // What is left unchecked (the project id, which async-openai does not expose)
    // still must not panic the caller.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.headers())) {
        Ok(headers) => (headers, None),
        Err(_) => (
            HeaderMap::new(),
            Some("the OpenAI configuration holds a value that cannot go in an HTTP header".into()),
        ),
    }
}

/// `base` without a trailing `/v1`: the server root.
fn root(base: &str) -> &str {
    let base = base.trim_end_matches('/');
    base.strip_suffix("/v1").unwrap_or(base)
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the config: it holds the key.
        f.debug_struct("OpenAiClient")
            .field(
                "base_url",
                &recording_core::redact::strip_credentials(self.api_base()),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl InferenceClient for OpenAiClient {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        self.normalizer.clone()
    }

    /// The server root: the base URL without its `/v1`, so that root + endpoint is the
    /// URL the request went to.
    fn base_url(&self) -> Option<String> {
        let base = recording_core::redact::strip_credentials(self.api_base());
        Some(root(&base).to_owned())
    }

    fn secrets(&self) -> Vec<String> {
        self.secrets.clone()
    }

    /// A copy that also sends `headers` (a client's `OpenAI-Beta`, say); one that
    /// cannot be an HTTP header is left out.
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

impl OpenAiClient {
    async fn send_now(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let wants_stream = request.body.get("stream").and_then(Value::as_bool) == Some(true);
        let url = self.url(&request.endpoint);
        let builder = http_transport::request(
            &self.http,
            request.method,
            url,
            self.headers.clone(),
            &request.body,
        )?
        .query(&self.query);
        let response = http_transport::send(builder).await?;
        http_transport::answer(response, wants_stream, |response| {
            Box::pin(end_at_first_error(sse_chunks(response.bytes_stream())))
        })
        .await
    }
}

/// Whether a stream whose last data chunk is `last` ended the way it should, when no
/// `data: [DONE]` came: the Responses API (`response.completed`, `response.failed`,
/// `response.incomplete`, `error`) and Anthropic-style messages (`message_stop`) end
/// with a typed event instead. Chat and legacy completions always end with
/// `data: [DONE]`; a stream that ends any other way was cut short.
pub fn stream_is_complete(last: Option<&Value>) -> bool {
    let kind = last
        .and_then(|chunk| chunk.get("type"))
        .and_then(Value::as_str);
    ends_a_stream(kind)
}

/// Whether a chunk of this `type` is one a stream ends with instead of `data: [DONE]`
/// (see [`stream_is_complete`]).
pub(crate) fn ends_a_stream(kind: Option<&str>) -> bool {
    matches!(
        kind,
        Some(
            "response.completed"
                | "response.failed"
                | "response.incomplete"
                | "error"
                | "message_stop"
        )
    )
}

/// The JSON chunks of a server-sent-event body, in order, ending at `data: [DONE]`.
/// Comments and blank data (keep-alives) are skipped; a `data` that is not JSON, a
/// broken connection, or an end without its marker is a transport error.
fn sse_chunks<S, B>(bytes: S) -> impl Stream<Item = Result<Value, Error>> + Send + 'static
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
{
    // After an error item the caller's end_at_first_error stops polling, so the
    // state needs no "ended" flag of its own.
    struct State<E> {
        events: E,
        last: Option<Value>,
    }
    let state = State {
        events: Box::pin(http_transport::sse_events(bytes)),
        last: None,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            let item = match state.events.next().await {
                Some(Ok(event)) if event.data.trim() == "[DONE]" => return None,
                Some(Ok(event)) if event.data.trim().is_empty() => continue,
                Some(Ok(event)) => match serde_json::from_str::<Value>(&event.data) {
                    Ok(chunk) => {
                        state.last = Some(chunk.clone());
                        error_event(chunk)
                    }
                    Err(err) => Err(Error::Transport(format!(
                        "the server sent a stream event whose data is not JSON ({err}): {}",
                        snippet(event.data.as_bytes())
                    ))),
                },
                Some(Err(err)) => Err(err),
                None if stream_is_complete(state.last.as_ref()) => return None,
                None => Err(Error::Transport(
                    "the stream ended without `data: [DONE]`: the server or a proxy cut it \
                         short, so it is incomplete"
                        .into(),
                )),
            };
            return Some((item, state));
        }
    })
}

/// An SSE event whose data is `{"error": {...}}` is the server reporting a failure after
/// the stream began (OpenAI and llama.cpp do this); it becomes an API error, with the
/// status from `error.code` when that is an HTTP status, else 500.
fn error_event(chunk: Value) -> Result<Value, Error> {
    let Some(error) = chunk
        .get("error")
        .filter(|error| error.is_object() && chunk.get("choices").is_none())
    else {
        return Ok(chunk);
    };
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..600).contains(code))
        .unwrap_or(500);
    Err(Error::api(status, chunk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_events_become_api_errors_with_their_status() {
        let err = error_event(json!({"error": {"code": 400, "message": "bad"}}))
            .expect_err("an error event");
        assert_eq!(err.status(), Some(400));
        let err = error_event(json!({"error": {"code": "overloaded", "message": "busy"}}))
            .expect_err("an error event");
        assert_eq!(err.status(), Some(500));
        for chunk in [
            json!({"choices": [], "error": {"code": 1}}),
            json!({"error": null}),
        ] {
            assert_eq!(error_event(chunk.clone()).ok(), Some(chunk));
        }
    }

    #[test]
    fn the_base_url_for_recordings_is_the_server_root() {
        let client = OpenAiClient::with_base_url("http://127.0.0.1:8080/v1/", "sk-x");
        assert_eq!(client.base_url().as_deref(), Some("http://127.0.0.1:8080"));
        assert!(!format!("{client:?}").contains("sk-x"));
    }

    #[tokio::test]
    async fn a_key_no_header_can_hold_is_a_clear_error_not_a_panic() {
        // As read from a file written on Windows.
        let client = OpenAiClient::with_base_url("http://127.0.0.1:9/v1", "sk-windows-key\r");
        let err = client.check().expect_err("invalid");
        assert!(err.to_string().contains("HTTP header"), "{err}");
        let err = client
            .send(ApiRequest::post(
                crate::CHAT_COMPLETIONS,
                json!({"model": "m"}),
            ))
            .await
            .expect_err("refused before sending");
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(!err.to_string().contains("sk-windows-key"), "{err}");
    }

    #[test]
    fn keys_in_the_url_never_show() {
        let client = OpenAiClient::with_base_url(
            "http://user:pa55word-x1@127.0.0.1:9/key/Zq8xY2kP9sLm4Tn7Wv1/v1?api-key=q-secret-123",
            "sk-header-secret-1",
        );
        let shown = format!("{client:?} {:?}", client.base_url());
        for secret in [
            "pa55word-x1",
            "Zq8xY2kP9sLm4Tn7Wv1",
            "q-secret-123",
            "sk-header-secret-1",
        ] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(
                client.secrets().iter().any(|s| s == secret),
                "{secret} is known"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_error_without_the_key() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let client = OpenAiClient::with_base_url(
            format!("http://127.0.0.1:{port}/v1?api_key=sk-query-secret"),
            "sk-header-secret",
        );
        let err = client
            .send(ApiRequest::post(
                crate::CHAT_COMPLETIONS,
                json!({"model": "m"}),
            ))
            .await
            .expect_err("nothing listens there");
        let text = err.to_string();
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        assert!(text.to_lowercase().contains("connect"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
