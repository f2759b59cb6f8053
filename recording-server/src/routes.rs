//! Routing: an HTTP request becomes an `ApiRequest` for the provider its path names,
//! and the engine's answer goes back in that provider's wire format.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use recording_core::fault::{FAULT_HEADER, FaultPlan, INJECTED};
use recording_core::provider::Provider;
use recording_core::wire::{
    WireBody, WireResponse, encode, request_body, request_endpoint, request_method,
};
use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, Mode, Normalizer, Recording,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::guard::Guard;
use crate::known::{self, KnownRequests};

/// The header that sets the scope of one request (see `Recording::scope`).
pub const SCOPE_HEADER: &str = "x-recording-scope";

/// The largest request body accepted by default: 32 MiB, room for a large embeddings
/// batch; a larger body is answered `413 Payload Too Large`.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The recorder around one provider's upstream.
pub(crate) type Engine = Recording<Arc<dyn InferenceClient>>;

/// The engine once per registered provider, each around its upstream.
#[derive(Clone)]
pub(crate) struct Engines {
    /// In the registry's order, each provider with its engine.
    pub(crate) providers: Vec<(&'static dyn Provider, Engine)>,
    /// What a miss tells the client to run to record it, without the upstream flag;
    /// `None`: the `cargo test` line of a Rust test.
    pub(crate) record_command: Option<String>,
    /// Who may use the server.
    pub(crate) guard: Guard,
    /// The largest request body taken, in bytes.
    pub(crate) max_body: usize,
    /// How long a client may take to send its body.
    pub(crate) body_timeout: Duration,
    /// Held by every engine call in flight, so shutdown can wait for them.
    pub(crate) in_flight: mpsc::Sender<()>,
    /// The requests replayed so far, by their bytes.
    pub(crate) known: Arc<KnownRequests>,
}

pub(crate) fn router(engines: Engines) -> Router {
    Router::new().fallback(answer).with_state(Arc::new(engines))
}

async fn answer(State(engines): State<Arc<Engines>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let routed = registry::PROVIDERS.route(uri.path(), |name| headers.contains_key(name));
    let Some((provider, engine, path)) = routed.and_then(|(provider, path)| {
        let (_, engine) = engines
            .providers
            .iter()
            .find(|(known, _)| known.name() == provider.name())?;
        Some((provider, engine, path))
    }) else {
        let served: Vec<String> = engines
            .providers
            .iter()
            .flat_map(|(provider, _)| {
                let mount = provider
                    .mount()
                    .map(|mount| format!("{mount}/* ({})", provider.name()));
                let paths = provider
                    .path_prefixes()
                    .iter()
                    .map(|prefix| format!("{prefix}/* ({})", provider.name()));
                mount.into_iter().chain(paths)
            })
            .collect();
        let message = format!(
            "the recording server serves {}; {} is none of them",
            served.join(", "),
            uri.path()
        );
        return plain(StatusCode::NOT_FOUND, json!({"error": message}));
    };
    let wire = provider.wire();
    let refuse = |status: StatusCode, message: String| {
        plain(status, wire.error_body(&message, "invalid_request"))
    };
    // Who asks, before a byte of the body is read.
    if let Err(refusal) = engines.guard.admits(&headers) {
        tracing::warn!("{method} {path} refused: {}", refusal.message);
        return refuse(refusal.status, refusal.message);
    }
    let body = match read_body(&engines, &method, path, &headers, body).await {
        Ok(body) => body,
        Err((status, message)) => return refuse(status, message),
    };
    let has_body = !body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&body)
        .iter()
        .all(u8::is_ascii_whitespace);
    if let Err(refusal) = Guard::json_body(&headers, has_body) {
        tracing::warn!("{method} {path} refused: {}", refusal.message);
        return refuse(refusal.status, refusal.message);
    }
    let Some(method) = request_method(method.as_str()) else {
        let message = format!("the recording server records GET, POST and DELETE, not {method}");
        return refuse(StatusCode::METHOD_NOT_ALLOWED, message);
    };
    let endpoint = match request_endpoint(path, uri.query()) {
        Ok(endpoint) => endpoint,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let scope = match headers.get(SCOPE_HEADER).map(|value| value.to_str()) {
        None => None,
        Some(Ok(scope)) => Some(scope),
        Some(Err(_)) => {
            let message = format!("the {SCOPE_HEADER} header is not visible ASCII");
            return refuse(StatusCode::BAD_REQUEST, message);
        }
    };
    let scoped;
    let engine = match scope {
        None => engine,
        Some(scope) => {
            scoped = engine.clone().scope(scope);
            &scoped
        }
    };
    // The same bytes as a request replayed before: the same key, so replayed without
    // parsing or keying them again. A fault header takes the whole way.
    let seen = (!headers.contains_key(FAULT_HEADER))
        .then(|| known::identity(provider.name(), method.as_str(), &endpoint, scope, &body));
    if let Some(keyed) = seen.as_deref().and_then(|id| engines.known.get(id))
        && let Some(result) = engine.replay_keyed(&keyed)
    {
        tracing::info!("{method} {path} {} hit", &keyed.key()[..12]);
        return into_axum(encode(wire, result));
    }
    let body = match request_body(&body) {
        Ok(body) => body,
        Err(err) => {
            let message = format!("the body of {method} {path} is not JSON: {err}");
            return refuse(StatusCode::BAD_REQUEST, message);
        }
    };
    // A fault plan for this one request, over the server's own (see
    // `recording_core::fault`).
    let with_fault;
    let engine = match headers.get(FAULT_HEADER).map(|value| value.to_str()) {
        None => engine,
        Some(Ok(text)) => match text.parse::<FaultPlan>() {
            Ok(plan) => {
                with_fault = engine.clone().faults(plan);
                &with_fault
            }
            Err(err) => {
                let message = format!("the X-Recording-Fault header: {err}");
                return refuse(StatusCode::BAD_REQUEST, message);
            }
        },
        Some(Err(_)) => {
            let message = "the X-Recording-Fault header is not visible ASCII".to_owned();
            return refuse(StatusCode::BAD_REQUEST, message);
        }
    };
    // The headers that change the upstream's answer, forwarded by a copy of its
    // client; the key does not include them.
    let forwarded: Vec<(String, String)> = provider
        .forwarded_headers()
        .iter()
        .filter_map(|&name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    let with_headers;
    let upstream = (!forwarded.is_empty())
        .then(|| engine.inner().with_headers(&forwarded))
        .flatten();
    let engine = match upstream {
        Some(upstream) => {
            with_headers = engine.with_inner(upstream);
            &with_headers
        }
        None => engine,
    };
    let request = ApiRequest {
        method,
        endpoint,
        body,
    };
    let keyed = engine.keyed(&request);
    let existed =
        engine.current_mode() == Mode::RecordIfMissing && engine.path_of(&request).exists();
    // A call that may reach the upstream runs in a task of its own: a client that
    // leaves before the answer starts (its timeout shorter than the model's) does not
    // cancel it, so the answer it paid for is still recorded and its retry replays it.
    // A replay pays for nothing, and is answered in place.
    let mut result = if engine.current_mode() == Mode::Replay {
        engine.send(request).await
    } else {
        let engine = engine.clone();
        let in_flight = engines.in_flight.clone();
        let call = tokio::spawn(async move {
            let result = engine.send(request).await;
            drop(in_flight);
            result
        });
        match call.await {
            Ok(result) => result,
            Err(err) => Err(Error::Transport(format!(
                "the recording call failed: {err}"
            ))),
        }
    };
    if let (Err(Error::ReplayMiss(miss)), Some(command)) = (&mut result, &engines.record_command) {
        miss.record_with = Some(format!(
            "{command} --{name}-upstream URL (or {env}=URL), then run the client's tests again",
            name = provider.name(),
            env = provider.upstream_env()
        ));
    }
    let fault = match &result {
        Ok(response) => response.injected_fault().map(str::to_owned),
        Err(Error::Api {
            not_recorded: Some(why),
            ..
        }) => why.strip_prefix(INJECTED).map(str::to_owned),
        Err(Error::ReplayMiss(miss)) => miss.fault.clone(),
        Err(_) => None,
    };
    let fault = fault
        .map(|fault| format!(" fault={fault}"))
        .unwrap_or_default();
    let outcome = outcome(engine.current_mode(), existed, &result);
    tracing::info!("{method} {path} {} {outcome}{fault}", &keyed.key()[..12]);
    if let (Some(seen), "hit", "") = (seen, outcome, fault.as_str()) {
        engines.known.put(seen, keyed);
    }
    into_axum(encode(wire, result))
}

/// A request's body, within the size limit and the read deadline, or the status and
/// message to refuse it with. An announced length over the limit is refused before a
/// byte is read: an `Expect: 100-continue` client gets no `100 Continue`, and sends
/// nothing.
async fn read_body(
    engines: &Engines,
    method: &axum::http::Method,
    path: &str,
    headers: &axum::http::HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, (StatusCode, String)> {
    let limit = engines.max_body;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let Some(length) = announced.filter(|&length| length > limit as u64) {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body of {method} {path} is {length} bytes; the recording server takes at most {limit} (RecordingServer::max_body)"
            ),
        ));
    }
    match tokio::time::timeout(engines.body_timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        // The limit, for a body sent without a length (chunked), or a broken body.
        Ok(Err(err)) => Err(
            match std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            {
                true => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body of {method} {path} is over {limit} bytes, the most the recording server takes (RecordingServer::max_body)"
                    ),
                ),
                false => (
                    StatusCode::BAD_REQUEST,
                    format!("the body of {method} {path} could not be read: {err}"),
                ),
            },
        ),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body of {method} {path} did not arrive within {:?} (RecordingServer::read_timeout)",
                engines.body_timeout
            ),
        )),
    }
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
    for (name, value) in wire.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The client behind a provider that has no upstream: replay never calls it; a miss
/// in a recording mode gets a clear error that says how to give it one.
pub(crate) struct NoUpstream {
    provider: &'static dyn Provider,
}

impl NoUpstream {
    pub(crate) fn of(provider: &'static dyn Provider) -> NoUpstream {
        NoUpstream { provider }
    }
}

#[async_trait]
impl InferenceClient for NoUpstream {
    fn provider(&self) -> &str {
        self.provider.name()
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        Arc::new(self.provider.rules())
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let name = self.provider.name();
        Err(Error::Config(format!(
            "no {name} upstream to record {} {} from: start the server with --{name}-upstream URL (RecordingServer::{name}_upstream)",
            request.method, request.endpoint
        )))
    }
}
