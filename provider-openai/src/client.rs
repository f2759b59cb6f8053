//! `OpenAiClient`: the real transport, async-openai with bodies as `serde_json::Value`.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::{Config, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_trait::async_trait;
use futures::StreamExt;
use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Method, Normalizer};
use serde_json::Value;

use crate::normalize::OpenAiNormalizer;

/// The provider name written into recordings.
pub const PROVIDER: &str = "openai";

/// The endpoints [`OpenAiClient`] can send, as `(method, endpoint)`.
pub const SUPPORTED_ENDPOINTS: [(Method, &str); 4] = [
    (Method::Post, crate::CHAT_COMPLETIONS),
    (Method::Post, crate::COMPLETIONS),
    (Method::Post, crate::EMBEDDINGS),
    (Method::Get, crate::MODELS),
];

/// A client of any OpenAI-compatible server (OpenAI, llama.cpp's `llama-server`, vLLM,
/// Ollama's `/v1`), with async-openai as the transport.
///
/// Endpoints are the OpenAI paths (`/v1/chat/completions`, ...); the base URL follows
/// the OpenAI SDKs' convention and includes the `/v1` (`http://127.0.0.1:8080/v1`), so
/// recordings carry the same endpoint whatever server they were made against.
///
/// HTTPS needs the crate's `rustls` feature; without it only `http://` URLs work.
#[derive(Clone)]
pub struct OpenAiClient {
    client: Client<OpenAIConfig>,
    normalizer: Arc<OpenAiNormalizer>,
    timeout: Option<Duration>,
}

impl OpenAiClient {
    /// A client for `config` (base URL, API key, organization, project).
    ///
    /// Requests are not retried: in record mode a retry would hide what the server
    /// really answered, and in tests a failure should show at once.
    pub fn new(config: OpenAIConfig) -> OpenAiClient {
        let service = CaptureApiErrors(ReqwestService::new(reqwest::Client::new()));
        OpenAiClient {
            client: Client::with_config(config).with_http_service(service),
            normalizer: Arc::new(OpenAiNormalizer),
            timeout: None,
        }
    }

    /// Gives up on a server that stays silent for `limit`: the answer (or a stream's
    /// start) must come within `limit`, then each chunk within `limit` of the last, so
    /// a long generation that keeps streaming is never cut. A timeout is a transport
    /// error that says so, and nothing is recorded. There is no limit by default.
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

    /// The async-openai client underneath, for calls this crate does not wrap.
    pub fn async_openai(&self) -> &Client<OpenAIConfig> {
        &self.client
    }

    fn api_base(&self) -> &str {
        self.client.config().api_base()
    }
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the config: it holds the key.
        f.debug_struct("OpenAiClient")
            .field(
                "base_url",
                &recording_core::strip_credentials(self.api_base()),
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
        let base = recording_core::strip_credentials(self.api_base());
        let base = base.trim_end_matches('/');
        Some(base.strip_suffix("/v1").unwrap_or(base).to_owned())
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        recording_core::timeout::limit(self.timeout, self.send_now(request)).await
    }
}

impl OpenAiClient {
    async fn send_now(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let streaming = request.body.get("stream").and_then(Value::as_bool) == Some(true);
        let body = request.body;
        match (request.method, request.endpoint.as_str(), streaming) {
            (Method::Post, crate::CHAT_COMPLETIONS, false) => {
                json(self.client.chat().create_byot(body).await)
            }
            (Method::Post, crate::CHAT_COMPLETIONS, true) => {
                stream(self.client.chat().create_stream_byot(body).await)
            }
            (Method::Post, crate::COMPLETIONS, false) => {
                json(self.client.completions().create_byot(body).await)
            }
            (Method::Post, crate::COMPLETIONS, true) => {
                stream(self.client.completions().create_stream_byot(body).await)
            }
            (Method::Post, crate::EMBEDDINGS, _) => {
                json(self.client.embeddings().create_byot(body).await)
            }
            (Method::Get, crate::MODELS, _) => json(self.client.models().list_byot().await),
            (method, endpoint, _) => Err(Error::Config(format!(
                "provider-openai cannot send {method} {endpoint}; it sends {}",
                SUPPORTED_ENDPOINTS
                    .map(|(method, endpoint)| format!("{method} {endpoint}"))
                    .join(", ")
            ))),
        }
    }
}

fn json(result: Result<Value, OpenAIError>) -> Result<ApiResponse, Error> {
    result.map(ApiResponse::json).map_err(map_error)
}

fn stream(
    result: Result<async_openai::types::stream::StreamResponse<Value>, OpenAIError>,
) -> Result<ApiResponse, Error> {
    let events = result.map_err(map_error)?;
    let chunks = events.map(|event| event.map_err(map_error).and_then(error_event));
    Ok(ApiResponse::stream(Box::pin(chunks)))
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
    Err(Error::Api {
        status,
        body: chunk,
    })
}

/// Turns async-openai's errors into the core's, keeping the HTTP status and the raw
/// error body, and keeping URLs (which may carry a key) out of messages.
fn map_error(err: OpenAIError) -> Error {
    match err {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpStatusError>() {
            Ok(http) => Error::Api {
                status: http.status,
                body: http.body,
            },
            Err(other) => Error::Transport(other.to_string()),
        },
        OpenAIError::ApiError(api) => Error::Api {
            status: api.status_code.as_u16(),
            body: serde_json::json!({ "error": api.api_error }),
        },
        OpenAIError::Reqwest(err) => Error::Transport(describe(&err.without_url())),
        OpenAIError::JSONDeserialize(err, _) => {
            Error::Transport(format!("the server sent invalid JSON: {err}"))
        }
        OpenAIError::StreamError(err) => Error::Transport(format!("stream failed: {err}")),
        OpenAIError::InvalidArgument(message) => Error::Config(message),
        other => Error::Transport(other.to_string()),
    }
}

/// An error and its causes on one line: reqwest's own message alone ("error sending
/// request") does not say that the connection was refused.
fn describe(err: &dyn StdError) -> String {
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
    text
}

/// An HTTP error status with its body exactly as the server sent it.
#[derive(Debug)]
struct HttpStatusError {
    status: u16,
    body: Value,
}

impl fmt::Display for HttpStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.body)
    }
}

impl StdError for HttpStatusError {}

/// A tower service around async-openai's own transport that turns an error status into
/// [`HttpStatusError`] before async-openai parses the body: async-openai keeps only the
/// fields of OpenAI's error schema and fails on servers whose `error.code` is a
/// number (llama.cpp), losing the status. Recordings need the body as sent.
#[derive(Clone, Debug)]
struct CaptureApiErrors(ReqwestService);

type HttpFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower_service::Service<HttpRequestFactory> for CaptureApiErrors {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = HttpFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> HttpFuture {
        let response = self.0.call(request);
        Box::pin(async move {
            let response = response.await?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let bytes = response.bytes().await.map_err(OpenAIError::Reqwest)?;
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            Err(OpenAIError::Boxed(Box::new(HttpStatusError {
                status: status.as_u16(),
                body,
            })))
        })
    }
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
    async fn unsupported_endpoints_are_a_clear_error() {
        let client = OpenAiClient::with_base_url("http://127.0.0.1:9/v1", "sk-x");
        let err = client
            .send(ApiRequest::post("/v1/images/generations", json!({})))
            .await
            .expect_err("not wrapped");
        let text = err.to_string();
        assert!(text.contains("POST /v1/images/generations"), "{text}");
        assert!(text.contains("POST /v1/chat/completions"), "{text}");
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
