//! The one trait every client implements, and the JSON request/response it speaks.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::error::{Error, decode, decode_text};
use crate::api::texts::Texts;
use crate::api::typed_request::TypedRequest;
use crate::normalizer::Normalizer;

/// A stream of JSON chunks, as a streaming endpoint (SSE or NDJSON) delivers them.
///
/// An `Err` item ends the stream: either an API error the server sent mid-stream
/// ([`Error::Api`]) or a transport failure.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Value, Error>> + Send>>;

/// A stream of typed chunks, as the provider crates' typed APIs return them. An `Err`
/// item ends it.
pub type TypedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// Ends `stream` at its first error: the error is the last item, nothing follows it.
/// Transports wrap their streams in it, so that after a bad line or a failed read a
/// caller never sees chunks that may belong to a broken answer.
pub fn end_at_first_error<T, S>(stream: S) -> TypedStream<T>
where
    S: Stream<Item = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    use futures::StreamExt;
    Box::pin(stream.scan(false, |failed, item| {
        let next = (!*failed).then(|| {
            *failed = item.is_err();
            item
        });
        futures::future::ready(next)
    }))
}

/// The HTTP method of a request. Part of the request's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`: model lists and other reads; the body is `null`.
    Get,
    /// `POST`: every inference call.
    Post,
    /// `DELETE`: model deletion and similar.
    Delete,
}

impl Method {
    /// The method as it appears on the wire and in recordings.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request as the recorder sees it: everything that identifies it, nothing that
/// does not (no host, no headers, no credentials).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path below the client's base URL, such as `/v1/chat/completions` or `/api/chat`.
    pub endpoint: String,
    /// The JSON body exactly as it is sent; `null` for requests without a body.
    pub body: Value,
}

impl ApiRequest {
    /// A `POST` of `body` to `endpoint`.
    pub fn post(endpoint: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::Post,
            endpoint: endpoint.into(),
            body,
        }
    }

    /// A `GET` of `endpoint`, without a body.
    pub fn get(endpoint: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            endpoint: endpoint.into(),
            body: Value::Null,
        }
    }

    /// Serializes a typed request into a body exactly as its own crate would put it on
    /// the wire, as the provider crates' typed APIs do.
    ///
    /// The body is the value its JSON text parses to, not [`serde_json::to_value`]'s:
    /// `to_value` widens an `f32` to the nearest `f64` (`0.7` becomes
    /// `0.699999988079071`), which would give the request a key that the same request
    /// sent from Python or curl never has, and put the wrong number in the recording.
    /// The text writes an `f32` with the shortest digits that round-trip (`0.7`). The
    /// value is built as serde_json's serializer writes the text, without writing or
    /// parsing it.
    ///
    /// ```
    /// # use recording_core::ApiRequest;
    /// #[derive(serde::Serialize)]
    /// struct Typed { temperature: f32 }
    /// let body = ApiRequest::body_of(&Typed { temperature: 0.7 })?;
    /// assert_eq!(body.to_string(), r#"{"temperature":0.7}"#);
    /// # Ok::<(), recording_core::Error>(())
    /// ```
    pub fn body_of<T: Serialize + ?Sized>(request: &T) -> Result<Value, Error> {
        // Built as serde_json writes it, without the text (see `typed_body`).
        crate::api::typed_body::value_of(request)
            .map_err(|err| Error::Config(format!("cannot serialize the request: {err}")))
    }

    /// The `model` field of the body, or `""` when there is none.
    pub fn model(&self) -> &str {
        self.body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// What a successful call returned: one JSON body or a stream of JSON chunks.
pub enum ResponseBody {
    /// A single JSON document.
    Json(Value),
    /// Chunks in the order the server sent them.
    Stream(ChunkStream),
    /// A replayed body or stream, kept as the recording's JSON text: the typed APIs
    /// decode straight from the text, which costs half of building `Value`s first
    /// (benches/README.md). [`ApiResponse::into_json`] and
    /// [`ApiResponse::into_stream`] give it as values like the other two.
    Recorded(RecordedBody),
}

/// A replayed body as the recording's JSON text: a single body, or a stream's chunks
/// and the API error that ended the stream, if one did.
pub struct RecordedBody(pub(crate) Recorded);

pub(crate) enum Recorded {
    /// One text.
    Json(Texts),
    Stream {
        chunks: Texts,
        tail: Option<Error>,
        /// The wait before each chunk, for a paced replay.
        delays: Option<Vec<Duration>>,
    },
}

/// `items` as a stream; with `delays`, each item after its delay (a paced replay).
pub(crate) fn paced<T, I>(
    items: I,
    delays: Option<Vec<Duration>>,
) -> Pin<Box<dyn Stream<Item = T> + Send>>
where
    T: Send + 'static,
    I: Iterator<Item = T> + Send + 'static,
{
    use futures::StreamExt;
    match delays {
        None => Box::pin(futures::stream::iter(items)),
        Some(delays) => {
            let mut delays = delays.into_iter();
            Box::pin(futures::stream::iter(items).then(move |item| {
                let delay = delays.next().unwrap_or_default();
                async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    item
                }
            }))
        }
    }
}

impl RecordedBody {
    pub(crate) fn json(body: Texts) -> RecordedBody {
        RecordedBody(Recorded::Json(body))
    }

    pub(crate) fn stream(
        chunks: Texts,
        tail: Option<Error>,
        delays: Option<Vec<Duration>>,
    ) -> RecordedBody {
        RecordedBody(Recorded::Stream {
            chunks,
            tail,
            delays,
        })
    }
}

/// A body as values: what `into_json` and `into_stream` hand out.
pub(crate) enum Values {
    Json(Value),
    Stream(ChunkStream),
}

impl ResponseBody {
    pub(crate) fn into_values(self, origin: Option<&Path>) -> Result<Values, Error> {
        Ok(match self {
            ResponseBody::Json(value) => Values::Json(value),
            ResponseBody::Stream(stream) => Values::Stream(stream),
            ResponseBody::Recorded(RecordedBody(Recorded::Json(text))) => {
                Values::Json(decode_text(text.get(0), "recorded body", origin)?)
            }
            ResponseBody::Recorded(RecordedBody(Recorded::Stream {
                chunks,
                tail,
                delays,
            })) => {
                let origin = origin.map(Path::to_path_buf);
                let values = chunks
                    .map_each(move |text| decode_text(text, "recorded chunk", origin.as_deref()));
                Values::Stream(paced(values.chain(tail.map(Err)), delays))
            }
        })
    }
}

/// A successful response, and where it came from.
pub struct ApiResponse {
    /// The body or the chunk stream.
    pub body: ResponseBody,
    /// The recording file this response was replayed from or recorded to, when there
    /// is one; decode errors name it so a bad recording is found at once.
    pub origin: Option<PathBuf>,
    /// How an HTTP front ends the stream: as the provider does, or as an injected
    /// fault asks (no end marker, a malformed last chunk).
    pub(crate) ending: Ending,
    /// The fault rule injected into this answer, if any.
    pub(crate) fault: Option<String>,
}

/// How an HTTP front ends a stream (see [`crate::fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Ending {
    /// With the provider's end marker.
    #[default]
    Marker,
    /// Cleanly, without the end marker.
    Cut,
    /// With this malformed chunk, in place of the error item the stream ends with.
    Malformed(&'static str),
}

impl ApiResponse {
    /// A single JSON body with no recording behind it.
    pub fn json(body: Value) -> Self {
        Self {
            body: ResponseBody::Json(body),
            origin: None,
            ending: Ending::Marker,
            fault: None,
        }
    }

    /// A chunk stream with no recording behind it.
    pub fn stream(stream: ChunkStream) -> Self {
        Self {
            body: ResponseBody::Stream(stream),
            origin: None,
            ending: Ending::Marker,
            fault: None,
        }
    }

    /// Sets the recording file this response belongs to.
    pub fn with_origin(mut self, origin: impl Into<PathBuf>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The recording file this response belongs to, if any.
    pub fn origin(&self) -> Option<&Path> {
        self.origin.as_deref()
    }

    /// The fault rule a [`FaultPlan`](crate::fault::FaultPlan) injected into this
    /// answer (`cut=2`), for a front's log.
    pub fn injected_fault(&self) -> Option<&str> {
        self.fault.as_deref()
    }

    /// The single JSON body; an error if the server answered with a stream.
    pub fn into_json(self) -> Result<Value, Error> {
        match self.body.into_values(self.origin.as_deref())? {
            Values::Json(value) => Ok(value),
            Values::Stream(_) => Err(shape("a single JSON body", "a stream", self.origin)),
        }
    }

    /// The chunk stream; an error if the server answered with a single body.
    pub fn into_stream(self) -> Result<ChunkStream, Error> {
        match self.body.into_values(self.origin.as_deref())? {
            Values::Stream(stream) => Ok(stream),
            Values::Json(_) => Err(shape("a stream", "a single JSON body", self.origin)),
        }
    }

    /// Decodes the single body into `T`; a mismatch is [`Error::Decode`] naming the
    /// recording file (if any), `what` was decoded, and the field.
    pub fn decode_json<T: DeserializeOwned>(self, what: &str) -> Result<T, Error> {
        let origin = self.origin.as_deref();
        match self.body {
            ResponseBody::Json(value) => decode(value, what, origin),
            ResponseBody::Recorded(RecordedBody(Recorded::Json(text))) => {
                decode_text(text.get(0), what, origin)
            }
            ResponseBody::Stream(_) | ResponseBody::Recorded(_) => Err(shape(
                "a single JSON body",
                "a stream",
                origin.map(Path::to_path_buf),
            )),
        }
    }

    /// Decodes every chunk of the stream into `T`, as [`ApiResponse::decode_json`]
    /// does for a body.
    pub fn decode_stream<T: DeserializeOwned + Send + 'static>(
        self,
        what: &'static str,
    ) -> Result<TypedStream<T>, Error> {
        use futures::StreamExt;
        let origin = self.origin;
        match self.body {
            ResponseBody::Stream(chunks) => {
                Ok(end_at_first_error(chunks.map(move |chunk| {
                    chunk.and_then(|chunk| decode(chunk, what, origin.as_deref()))
                })))
            }
            ResponseBody::Recorded(RecordedBody(Recorded::Stream {
                chunks,
                tail,
                delays,
            })) => {
                let typed = chunks.map_each(move |text| decode_text(text, what, origin.as_deref()));
                Ok(end_at_first_error(paced(
                    typed.chain(tail.map(Err)),
                    delays,
                )))
            }
            ResponseBody::Json(_) | ResponseBody::Recorded(_) => {
                Err(shape("a stream", "a single JSON body", origin))
            }
        }
    }
}

fn shape(expected: &'static str, found: &'static str, origin: Option<PathBuf>) -> Error {
    Error::UnexpectedShape {
        expected,
        found,
        origin,
    }
}

impl fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body: &dyn fmt::Debug = match &self.body {
            ResponseBody::Json(value) => value,
            ResponseBody::Stream(_) => &"<stream>",
            ResponseBody::Recorded(RecordedBody(Recorded::Json(text))) => text,
            ResponseBody::Recorded(RecordedBody(Recorded::Stream { .. })) => &"<recorded stream>",
        };
        f.debug_struct("ApiResponse")
            .field("body", body)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A client of an inference API: JSON in, a JSON body or a chunk stream out.
///
/// Real transports (`OpenAiClient`, `OllamaClient`) implement it, and so does the
/// [`Recording`](crate::Recording) decorator that wraps them, so application code that
/// takes `&dyn InferenceClient` never knows whether it talks to a server or to
/// recordings. The trait is object-safe.
#[async_trait]
pub trait InferenceClient: Send + Sync {
    /// The provider this client speaks, such as `"openai"` or `"ollama"`; written into
    /// every recording so tools can pick the provider's rules.
    fn provider(&self) -> &str;

    /// The provider's normalization rules, applied before a response is recorded.
    fn normalizer(&self) -> Arc<dyn Normalizer>;

    /// The base URL requests go to, for the informational `url` field of recordings.
    /// Implementations must not include credentials in it.
    fn base_url(&self) -> Option<String> {
        None
    }

    /// The credentials this client was given (an API key, a URL's password or query
    /// key, a key-like segment of its URL's path). The recorder replaces each wherever
    /// it would be written or shown: recordings, error messages, logs. See
    /// [`redact`](crate::redact).
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// Sends one request.
    ///
    /// An HTTP error status with a body is [`Error::Api`]; a failure to reach the
    /// server or read its answer is [`Error::Transport`].
    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error>;

    /// Sends one request whose body is still a typed value, as the provider crates'
    /// typed APIs do. By default its body is made a value ([`TypedRequest::to_request`])
    /// and [`InferenceClient::send`] sends it; a [`Recording`](crate::Recording) that
    /// replays the request keys it from the typed value and never builds the value.
    /// A client that wraps another forwards this too, or its typed calls lose that.
    async fn send_typed(&self, request: TypedRequest<'_>) -> Result<ApiResponse, Error> {
        self.send(request.to_request()?).await
    }

    /// This client sending `headers` (lower-case names) as well, for a front that
    /// forwards a client's headers (see `Provider::forwarded_headers`); `None` when it
    /// cannot, the default.
    fn with_headers(&self, headers: &[(String, String)]) -> Option<Arc<dyn InferenceClient>> {
        let _ = headers;
        None
    }
}

macro_rules! forward_inference_client {
    ($($ptr:ty),*) => {$(
        #[async_trait]
        impl<T: InferenceClient + ?Sized> InferenceClient for $ptr {
            fn provider(&self) -> &str {
                (**self).provider()
            }
            fn normalizer(&self) -> Arc<dyn Normalizer> {
                (**self).normalizer()
            }
            fn base_url(&self) -> Option<String> {
                (**self).base_url()
            }
            fn secrets(&self) -> Vec<String> {
                (**self).secrets()
            }
            async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
                (**self).send(request).await
            }
            async fn send_typed(&self, request: TypedRequest<'_>) -> Result<ApiResponse, Error> {
                (**self).send_typed(request).await
            }
            fn with_headers(&self, headers: &[(String, String)]) -> Option<Arc<dyn InferenceClient>> {
                (**self).with_headers(headers)
            }
        }
    )*};
}

forward_inference_client!(&T, Box<T>, Arc<T>);
