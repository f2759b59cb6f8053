//! What the reqwest-based provider clients (OpenAI-compatible, Anthropic) share, so
//! each provider crate keeps only its own wire format:
//!
//! - [`http_client`]: reqwest with rustls, on the app's crypto provider if it installed
//!   one, else ring, never installed for the process;
//! - [`send`]: a request sent, with a non-2xx answer turned into the
//!   [`Error::Api`] every front replays (its body, and the
//!   headers a client acts on);
//! - [`sse_events`]: a server-sent-event body as events (name and data), for the
//!   provider to judge which are chunks and where the stream ends;
//! - [`transport`]: a reqwest failure as a transport error, without its URL.
//!
//! Ollama's client stays on ollama-rs's own reqwest (another major version), so the
//! build gains no second HTTP stack.

use std::sync::Arc;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use recording_core::Error;
use recording_core::transport::{api_error, kept_headers};

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
