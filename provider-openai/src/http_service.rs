//! `RecordingHttpService`: async-openai's own `Client` records and replays, with its
//! call sites unchanged: the service takes the place of its HTTP transport.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use recording_core::wire::{
    WireBody, WireResponse, encode, request_body, request_endpoint, request_method,
};
use recording_core::{ApiRequest, Error, InferenceClient, Recording};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};

use crate::OpenAiClient;
use crate::wire::WIRE;

/// A tower service for async-openai's [`Client::with_http_service`]: every request the
/// client makes goes through the recorder, in the mode and directory of
/// [`Recording::from_env`] (or the recorder given to [`RecordingHttpService::new`]).
///
/// An app keeps `async_openai::Client` and every call site; only its construction in
/// tests changes. Replay needs no server and opens no socket. In a recording mode the
/// request is forwarded to the URL and with the headers the client built (its base
/// URL and key), through [`OpenAiClient`]'s transport, so streams are recorded chunk by
/// chunk and checked for completeness exactly as everywhere else. Recordings are the
/// same files, with the same keys, as those of the typed API and the recording server.
///
/// ```no_run
/// use async_openai::{Client, config::OpenAIConfig};
/// use provider_openai::RecordingHttpService;
///
/// # fn run() -> Result<(), recording_core::Error> {
/// let client = Client::with_config(OpenAIConfig::new().with_api_base("http://127.0.0.1:8080/v1"))
///     .with_http_service(RecordingHttpService::from_env()?);
/// // client.chat().create(request).await? as before.
/// # Ok(())
/// # }
/// ```
///
/// The endpoint of a request is its URL's path from `/v1` on (`/v1/chat/completions`),
/// so a base URL with a prefix (`https://gateway/openai/v1`) records under the same
/// keys as any other. Bodies must be JSON (multipart uploads are not recorded: they
/// fail with a clear error). The recorder's own failures (a replay miss, a storage
/// error) reach the app as async-openai's `ApiError` with a message that says what
/// happened, with status 404 for a miss.
///
/// [`Client::with_http_service`]: async_openai::Client::with_http_service
#[derive(Clone, Debug)]
pub struct RecordingHttpService {
    recorder: Recording<()>,
    http: reqwest::Client,
}

impl RecordingHttpService {
    /// A service with the mode from `TEST_INFERENCE_MODE` and the directory from
    /// `TEST_RECORDING_DIR`, as [`Recording::from_env`] reads them.
    pub fn from_env() -> Result<RecordingHttpService, Error> {
        Ok(RecordingHttpService::new(Recording::from_env(())?))
    }

    /// A service that records and replays as `recorder` does (its mode, directory,
    /// scope and error policy; its inner client is not used).
    pub fn new<C>(recorder: Recording<C>) -> RecordingHttpService {
        RecordingHttpService {
            recorder: recorder.with_inner(()),
            http: OpenAiClient::http_client(),
        }
    }

    /// The recorder this service records with.
    pub fn recorder(&self) -> &Recording<()> {
        &self.recorder
    }

    async fn answer(self, factory: HttpRequestFactory) -> Result<reqwest::Response, OpenAIError> {
        let request = factory.build().await?;
        let (base, endpoint) = split_url(request.url()).map_err(OpenAIError::InvalidArgument)?;
        let Some(method) = request_method(request.method().as_str()) else {
            return Err(OpenAIError::InvalidArgument(format!(
                "the recorder does not record {} requests",
                request.method()
            )));
        };
        let bytes = request
            .body()
            .and_then(|body| body.as_bytes())
            .unwrap_or_default();
        let body = request_body(bytes).map_err(|err| {
            OpenAIError::InvalidArgument(format!(
                "the recorder records JSON bodies; {method} {endpoint} sent another ({err})"
            ))
        })?;
        let mut headers = request.headers().clone();
        headers.remove(CONTENT_TYPE);
        headers.remove(CONTENT_LENGTH);
        let upstream = OpenAiClient::forwarding(self.http.clone(), base, headers);
        let result = self
            .recorder
            .with_inner(upstream)
            .send(ApiRequest {
                method,
                endpoint,
                body,
            })
            .await;
        into_reqwest(encode(&WIRE, result))
    }
}

/// A URL's base (up to and including `/v1`) and the endpoint below it (`/v1/...`, with
/// the URL's query), as every front reads a request's endpoint. Without a `/v1`
/// segment the base is the origin and the endpoint the whole path.
fn split_url(url: &reqwest::Url) -> Result<(String, String), String> {
    let path = request_endpoint(url.path(), None)?;
    let origin = url.origin().ascii_serialization();
    let (base, path) = match path
        .find("/v1/")
        .or_else(|| path.ends_with("/v1").then(|| path.len() - 3))
    {
        Some(at) => (format!("{origin}{}", &path[..at + 3]), &path[at..]),
        None => (origin, path.as_str()),
    };
    Ok((base, request_endpoint(path, url.query())?))
}

fn into_reqwest(wire: WireResponse) -> Result<reqwest::Response, OpenAIError> {
    let body = match wire.body {
        WireBody::Full(bytes) => reqwest::Body::from(bytes),
        WireBody::Stream(chunks) => reqwest::Body::wrap_stream(chunks),
    };
    let mut response = http::Response::builder()
        .status(wire.status)
        .header(CONTENT_TYPE, wire.content_type)
        .body(body)
        .map_err(|err| OpenAIError::InvalidArgument(format!("cannot build a response: {err}")))?;
    // What an API error kept of the upstream's headers: async-openai reads
    // `retry-after` and the rate limits from them as from the server's own answer.
    for (name, value) in wire.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(reqwest::Response::from(response))
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower_service::Service<HttpRequestFactory> for RecordingHttpService {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> ResponseFuture {
        Box::pin(self.clone().answer(factory))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_errors_kept_headers_reach_the_sdk() {
        let err = recording_core::transport::api_error(
            429,
            br#"{"error": {"message": "slow down"}}"#,
            vec![
                ("retry-after".to_owned(), "7".to_owned()),
                ("x-ratelimit-remaining-requests".to_owned(), "0".to_owned()),
            ],
        );
        let response = into_reqwest(encode(&WIRE, Err(err))).expect("a response");
        assert_eq!(response.status(), 429);
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header("retry-after"), Some("7"));
        assert_eq!(header("x-ratelimit-remaining-requests"), Some("0"));
        assert_eq!(header("content-type"), Some("application/json"));
    }

    #[test]
    fn urls_split_at_v1() {
        let split = |url: &str| split_url(&reqwest::Url::parse(url).expect("url"));
        let both = |base: &str, endpoint: &str| Ok((base.to_owned(), endpoint.to_owned()));
        assert_eq!(
            split("http://127.0.0.1:8080/v1/chat/completions"),
            both("http://127.0.0.1:8080/v1", "/v1/chat/completions")
        );
        // The query stays part of the request (it used to be dropped).
        assert_eq!(
            split("https://gw.example/openai/v1/embeddings?x=1"),
            both("https://gw.example/openai/v1", "/v1/embeddings?x=1")
        );
        assert_eq!(
            split("http://127.0.0.1:9/health"),
            both("http://127.0.0.1:9", "/health")
        );
        // A base URL ending in `/v1/`: the endpoint the typed API gives.
        assert_eq!(
            split("http://127.0.0.1:8080/v1//chat/completions"),
            both("http://127.0.0.1:8080/v1", "/v1/chat/completions")
        );
        // The URL parser resolves dot segments (`%2e` too) before the service sees them.
        assert_eq!(
            split("http://127.0.0.1:8080/v1/%2e%2e/admin"),
            both("http://127.0.0.1:8080", "/admin")
        );
    }
}
