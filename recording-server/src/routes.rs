//! Routing: an HTTP request becomes an `ApiRequest` for the provider its path names,
//! and the engine's answer goes back in that provider's wire format.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::Response;
use recording_core::wire::{WireBody, WireFormat, WireResponse, encode};
use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, Method, Mode, NoNormalization, Normalizer,
    Recording,
};
use serde_json::{Value, json};

/// The header that sets the scope of one request (see `Recording::scope`).
pub const SCOPE_HEADER: &str = "x-recording-scope";

/// The largest request body accepted by default: 32 MiB, room for a large embeddings
/// batch; a larger body is answered `413 Payload Too Large`.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The engine once per provider, each around its upstream.
#[derive(Clone)]
pub(crate) struct Engines {
    pub(crate) openai: Recording<Arc<dyn InferenceClient>>,
    pub(crate) ollama: Recording<Arc<dyn InferenceClient>>,
    /// What a miss tells the client to run to record it, without the upstream flag;
    /// `None`: the `cargo test` line of a Rust test.
    pub(crate) record_command: Option<String>,
}

pub(crate) fn router(engines: Engines, max_body: usize) -> Router {
    Router::new()
        .fallback(answer)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(Arc::new(engines))
}

async fn answer(
    State(engines): State<Arc<Engines>>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let (engine, wire, upstream): (
        &Recording<Arc<dyn InferenceClient>>,
        &'static dyn WireFormat,
        &str,
    ) = if path == "/v1" || path.starts_with("/v1/") {
        (
            &engines.openai,
            &provider_openai::wire::WIRE,
            "--openai-upstream URL (or OPENAI_BASE_URL=URL)",
        )
    } else if path.starts_with("/api/") {
        (
            &engines.ollama,
            &provider_ollama::wire::WIRE,
            "--ollama-upstream HOST (or OLLAMA_HOST=HOST)",
        )
    } else {
        let message = format!(
            "the recording server serves /v1/* (OpenAI-compatible) and /api/* (Ollama); {path} is neither"
        );
        return plain(StatusCode::NOT_FOUND, json!({"error": message}));
    };
    let refuse = |status: StatusCode, message: String| {
        plain(status, wire.error_body(&message, "invalid_request"))
    };
    let method = match method {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::DELETE => Method::Delete,
        other => {
            let message = format!("the recording server records GET, POST and DELETE, not {other}");
            return refuse(StatusCode::METHOD_NOT_ALLOWED, message);
        }
    };
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(err) => {
                let message = format!("the body of {method} {path} is not JSON: {err}");
                return refuse(StatusCode::BAD_REQUEST, message);
            }
        }
    };
    let scoped;
    let engine = match headers.get(SCOPE_HEADER).map(|value| value.to_str()) {
        None => engine,
        Some(Ok(scope)) => {
            scoped = engine.clone().scope(scope);
            &scoped
        }
        Some(Err(_)) => {
            let message = format!("the {SCOPE_HEADER} header is not visible ASCII");
            return refuse(StatusCode::BAD_REQUEST, message);
        }
    };
    let request = ApiRequest {
        method,
        endpoint: path.to_owned(),
        body,
    };
    let key = engine.hash_of(&request);
    let existed =
        engine.current_mode() == Mode::RecordIfMissing && engine.path_of(&request).exists();
    let mut result = engine.send(request).await;
    if let (Err(Error::ReplayMiss(miss)), Some(command)) = (&mut result, &engines.record_command) {
        miss.record_with = Some(format!(
            "{command} {upstream}, then run the client's tests again"
        ));
    }
    tracing::info!(
        "{method} {path} {} {}",
        &key[..12],
        outcome(engine.current_mode(), existed, &result)
    );
    into_axum(encode(wire, result))
}

/// What the engine did, for the log line.
fn outcome(mode: Mode, existed: bool, result: &Result<ApiResponse, Error>) -> &'static str {
    match (result, mode) {
        (Err(Error::ReplayMiss(_)), _) => "miss",
        (
            Err(Error::Api {
                not_recorded: Some(_),
                ..
            }),
            _,
        ) => "not recorded",
        (Ok(_) | Err(Error::Api { .. }), Mode::Replay) => "hit",
        (Ok(_) | Err(Error::Api { .. }), Mode::RecordIfMissing) if existed => "hit",
        (Ok(_) | Err(Error::Api { .. }), Mode::Live) => "live",
        (Ok(_) | Err(Error::Api { .. }), Mode::Verify) => "verified",
        (Err(Error::Drift { .. }), _) => "drift",
        (Ok(_) | Err(Error::Api { .. }), _) => "recorded",
        (Err(_), _) => "failed",
    }
}

fn plain(status: StatusCode, body: Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn into_axum(wire: WireResponse) -> Response {
    let body = match wire.body {
        WireBody::Full(bytes) => Body::from(bytes),
        WireBody::Stream(chunks) => Body::from_stream(chunks),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(wire.content_type),
    );
    response
}

/// The client behind a provider that has no upstream: replay never calls it; a miss
/// in a recording mode gets a clear error that says how to give it one.
pub(crate) struct NoUpstream {
    provider: &'static str,
    flag: &'static str,
}

impl NoUpstream {
    pub(crate) fn openai() -> NoUpstream {
        NoUpstream {
            provider: "openai",
            flag: "--openai-upstream URL (RecordingServer::openai_upstream)",
        }
    }

    pub(crate) fn ollama() -> NoUpstream {
        NoUpstream {
            provider: "ollama",
            flag: "--ollama-upstream HOST (RecordingServer::ollama_upstream)",
        }
    }
}

#[async_trait]
impl InferenceClient for NoUpstream {
    fn provider(&self) -> &str {
        self.provider
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        match self.provider {
            "openai" => Arc::new(provider_openai::OpenAiNormalizer),
            "ollama" => Arc::new(provider_ollama::OllamaNormalizer),
            _ => Arc::new(NoNormalization),
        }
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        Err(Error::Config(format!(
            "no {} upstream to record {} {} from: start the server with {}",
            self.provider, request.method, request.endpoint, self.flag
        )))
    }
}
