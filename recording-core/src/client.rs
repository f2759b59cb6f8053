//! The one trait every client implements, and the JSON request/response it speaks.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, decode};
use crate::normalizer::Normalizer;

/// A stream of JSON chunks, as a streaming endpoint (SSE or NDJSON) delivers them.
///
/// An `Err` item ends the stream: either an API error the server sent mid-stream
/// ([`Error::Api`]) or a transport failure.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Value, Error>> + Send>>;

/// A stream of typed chunks, as the provider crates' typed APIs return them. An `Err`
/// item ends it.
pub type TypedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

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

    /// Serializes a typed request into a body, as the provider crates' typed APIs do.
    pub fn body_of<T: Serialize + ?Sized>(request: &T) -> Result<Value, Error> {
        serde_json::to_value(request)
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
}

/// A successful response, and where it came from.
pub struct ApiResponse {
    /// The body or the chunk stream.
    pub body: ResponseBody,
    /// The recording file this response was replayed from or recorded to, when there
    /// is one; decode errors name it so a bad recording is found at once.
    pub origin: Option<PathBuf>,
}

impl ApiResponse {
    /// A single JSON body with no recording behind it.
    pub fn json(body: Value) -> Self {
        Self {
            body: ResponseBody::Json(body),
            origin: None,
        }
    }

    /// A chunk stream with no recording behind it.
    pub fn stream(stream: ChunkStream) -> Self {
        Self {
            body: ResponseBody::Stream(stream),
            origin: None,
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

    /// The single JSON body; an error if the server answered with a stream.
    pub fn into_json(self) -> Result<Value, Error> {
        match self.body {
            ResponseBody::Json(value) => Ok(value),
            ResponseBody::Stream(_) => Err(Error::UnexpectedShape {
                expected: "a single JSON body",
                found: "a stream",
                origin: self.origin,
            }),
        }
    }

    /// Decodes the single body into `T`; a mismatch is [`Error::Decode`] naming the
    /// recording file (if any), `what` was decoded, and the field.
    pub fn decode_json<T: DeserializeOwned>(self, what: &str) -> Result<T, Error> {
        let origin = self.origin.clone();
        decode(self.into_json()?, what, origin.as_deref())
    }

    /// Decodes every chunk of the stream into `T`, as [`ApiResponse::decode_json`]
    /// does for a body.
    pub fn decode_stream<T: DeserializeOwned + Send + 'static>(
        self,
        what: &'static str,
    ) -> Result<TypedStream<T>, Error> {
        use futures::StreamExt;
        let origin = self.origin.clone();
        let chunks = self.into_stream()?;
        Ok(Box::pin(chunks.map(move |chunk| {
            chunk.and_then(|chunk| decode(chunk, what, origin.as_deref()))
        })))
    }

    /// The chunk stream; an error if the server answered with a single body.
    pub fn into_stream(self) -> Result<ChunkStream, Error> {
        match self.body {
            ResponseBody::Stream(stream) => Ok(stream),
            ResponseBody::Json(_) => Err(Error::UnexpectedShape {
                expected: "a stream",
                found: "a single JSON body",
                origin: self.origin,
            }),
        }
    }
}

impl fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body: &dyn fmt::Debug = match &self.body {
            ResponseBody::Json(value) => value,
            ResponseBody::Stream(_) => &"<stream>",
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

    /// Sends one request.
    ///
    /// An HTTP error status with a body is [`Error::Api`]; a failure to reach the
    /// server or read its answer is [`Error::Transport`].
    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error>;
}

/// `url` without what may hold a credential: the user-info (`user:password@`), the
/// query string (`?api_key=...`) and the fragment. For URLs that are shown or written
/// (recordings' `url`, `Debug` output), never for the URL a request goes to.
///
/// ```
/// use recording_core::strip_credentials;
/// assert_eq!(
///     strip_credentials("https://me:sk-secret@api.example.com/v1?key=sk-secret"),
///     "https://api.example.com/v1"
/// );
/// ```
pub fn strip_credentials(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.rsplit('@').next().unwrap_or(url).to_owned(),
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
            async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
                (**self).send(request).await
            }
        }
    )*};
}

forward_inference_client!(&T, Box<T>, Arc<T>);
