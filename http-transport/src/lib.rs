//! What the reqwest-based provider clients (OpenAI-compatible, Anthropic) share, so
//! each provider crate keeps only its own wire format:
//!
//! - [`http_client`]: reqwest with rustls, on the app's crypto provider if it installed
//!   one, else ring, never installed for the process;
//! - [`request`], [`insert_headers`]: a request built the one way both clients send
//!   it;
//! - [`send`]: a request sent, with a non-2xx answer turned into the
//!   [`Error::Api`] every front replays (its body, and the
//!   headers a client acts on);
//! - [`answer`]: a 2xx answer read as the request asked, a stream or one JSON body,
//!   anything else a transport error that says what arrived;
//! - [`sse_events`]: a server-sent-event body as events (name and data), for the
//!   provider to judge which are chunks and where the stream ends;
//! - [`transport`]: a reqwest failure as a transport error, without its URL.
//!
//! Ollama's client stays on ollama-rs's own reqwest (another major version), so the
//! build gains no second HTTP stack.

use std::sync::Arc;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use recording_core::transport::{ChunkStream, api_error, json_body, kept_headers, snippet};
use recording_core::{ApiResponse, Error, Method};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

pub use reqwest;

/// The HTTP client: reqwest with rustls, on the crypto provider the application
/// installed for the process if it did, else on ring, which this crate builds. The
/// provider is handed to this client only, never installed for the process: the
/// recorder, a test dependency, must not change what the app's own clients use.
/// Without the platform's certificate verifier (no root certificates), HTTPS
/// upstreams fail verification and say so; `http://` ones work.
pub fn http_client() -> reqwest::Client {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let versions = || {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("rustls's providers support its default protocol versions")
    };
    let tls = versions()
        .with_platform_verifier()
        .map(|builder| builder.with_no_client_auth())
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "no certificate verifier for HTTPS upstreams");
            versions()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
    // As `reqwest::Client::new` does: building fails only on a broken TLS setup.
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("reqwest takes a rustls ClientConfig")
}

/// A request of `method` to `url` with `headers`, and `body` as JSON (none for `null`,
/// as a GET sends).
pub fn request(
    http: &reqwest::Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: &Value,
) -> Result<reqwest::RequestBuilder, Error> {
    let builder = match method {
        Method::Get => http.get(url),
        Method::Post => http.post(url),
        Method::Delete => http.delete(url),
    }
    .headers(headers);
    Ok(match json_body(body)? {
        None => builder,
        Some(bytes) => builder
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes),
    })
}

/// Adds `headers` to `map`, each replacing one of its name; one that cannot be an HTTP
/// header is left out.
pub fn insert_headers(map: &mut HeaderMap, headers: &[(String, String)]) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(name, value);
        }
    }
}

/// A 2xx answer read as the request asked: when `wants_stream`, an event stream read
/// by `stream` (the provider's framing); otherwise one JSON body. A stream where a body
/// was asked for, a body where a stream was (a server that ignores `"stream"`), or a
/// body that is not JSON (a proxy's HTML page) is a transport error that says what
/// arrived, so it is never recorded.
pub async fn answer(
    response: reqwest::Response,
    wants_stream: bool,
    stream: impl FnOnce(reqwest::Response) -> ChunkStream,
) -> Result<ApiResponse, Error> {
    let status = response.status();
    let content_type = content_type(&response);
    match (content_type.starts_with("text/event-stream"), wants_stream) {
        (true, true) => return Ok(ApiResponse::stream(stream(response))),
        (true, false) => {
            return Err(Error::Transport(format!(
                "the request asked for a single JSON body, but the server answered with a \
                 stream ({content_type}); set \"stream\": true to receive one"
            )));
        }
        _ => {}
    }
    let bytes = response.bytes().await.map_err(transport)?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|err| {
        Error::Transport(format!(
            "the server answered {status} with a body that is not JSON ({content_type}, {err}): {}",
            snippet(&bytes)
        ))
    })?;
    if wants_stream {
        return Err(Error::Transport(format!(
            "the request asked for a stream (\"stream\": true), but the server answered \
             with a single JSON body ({content_type}): {}",
            snippet(&bytes)
        )));
    }
    Ok(ApiResponse::json(body))
}

/// Sends `request`; a 2xx answer is returned for the provider to read, any other is
/// the [`Error::Api`] with the answer's body (JSON, or its text) and the headers
/// [`kept_headers`] keeps.
pub async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = kept_headers(
        response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    );
    let bytes = response.bytes().await.map_err(transport)?;
    Err(api_error(status.as_u16(), &bytes, headers))
}

/// The answer's content type, or `no content type`, for checks and messages.
pub fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("no content type")
        .to_owned()
}

/// One server-sent event: its `event:` name (`message` when it has none, as the SSE
/// standard says) and its data lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field.
    pub event: String,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

/// The events of a server-sent-event body, in order; comments are skipped. A broken
/// connection or a body that is not SSE is a transport error; where the stream ends
/// is for the provider to judge (the body simply ends).
pub fn sse_events<S, B>(bytes: S) -> impl Stream<Item = Result<SseEvent, Error>> + Send + 'static
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
{
    bytes.eventsource().map(|event| match event {
        Ok(event) => Ok(SseEvent {
            event: event.event,
            data: event.data,
        }),
        Err(err) => Err(Error::Transport(format!("the stream failed: {err}"))),
    })
}

/// A reqwest failure as a transport error, without the URL (which could carry a key).
pub fn transport(err: reqwest::Error) -> Error {
    recording_core::transport::transport_error(&err.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_keep_their_names_and_data_in_order() {
        let body = "event: message_start\ndata: {\"a\":1}\n\n: a comment\n\ndata: {\"b\":2}\n\nevent: ping\ndata: {}\n\n";
        let bytes = futures::stream::iter([Ok::<_, reqwest::Error>(body.as_bytes())]);
        let events: Vec<SseEvent> = sse_events(bytes)
            .map(|event| event.expect("an event"))
            .collect()
            .await;
        let pairs: Vec<(&str, &str)> = events
            .iter()
            .map(|event| (event.event.as_str(), event.data.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("message_start", "{\"a\":1}"),
                ("message", "{\"b\":2}"),
                ("ping", "{}")
            ]
        );
    }
}
