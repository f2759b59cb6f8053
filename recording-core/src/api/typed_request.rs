//! A typed request on its way to a client: serialized only as far as that client needs.
//! A transport needs the body's `Value` to send it; a recorder replaying it needs only
//! its key, which it writes straight from the typed body (`canonical::typed`).

use serde::Serialize;
use serde_json::Value;

use crate::api::client::{ApiRequest, Method};
use crate::api::error::Error;
use crate::canonical::typed::{Fields, with_canonical};

/// A request whose body is still the caller's typed value (async-openai's, ollama-rs's,
/// the Anthropic crate's request types), as the provider crates' typed APIs send it
/// with [`InferenceClient::send_typed`](crate::InferenceClient::send_typed).
///
/// ```
/// # use recording_core::{Method, TypedRequest};
/// #[derive(serde::Serialize)]
/// struct Typed { temperature: f32 }
/// let typed = Typed { temperature: 0.7 };
/// let request = TypedRequest::post("/v1/chat/completions", &typed);
/// assert_eq!(request.method(), Method::Post);
/// // As a transport sends it: the body `ApiRequest::body_of` gives.
/// assert_eq!(request.to_request()?.body.to_string(), r#"{"temperature":0.7}"#);
/// # Ok::<(), recording_core::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct TypedRequest<'a> {
    method: Method,
    endpoint: &'a str,
    body: &'a dyn TypedBody,
}

impl<'a> TypedRequest<'a> {
    /// A `POST` of the typed `body` to `endpoint`.
    pub fn post<T: Serialize + Sync>(endpoint: &'a str, body: &'a T) -> TypedRequest<'a> {
        TypedRequest {
            method: Method::Post,
            endpoint,
            body,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path below the client's base URL.
    pub fn endpoint(&self) -> &'a str {
        self.endpoint
    }

    /// The request with its body as a value ([`ApiRequest::body_of`]): what
    /// [`InferenceClient::send`](crate::InferenceClient::send) takes.
    pub fn to_request(&self) -> Result<ApiRequest, Error> {
        Ok(ApiRequest {
            method: self.method,
            endpoint: self.endpoint.to_owned(),
            body: self.body.value()?,
        })
    }

    /// `with` called on the body's canonical form, `fields` dropped or refused; `None`
    /// where only its value can say (see `canonical::typed`).
    pub(crate) fn with_canonical_body<R>(
        &self,
        fields: &Fields<'_>,
        with: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        let mut with = Some(with);
        let mut result = None;
        self.body.canonical(fields, &mut |bytes| {
            result = with.take().map(|with| with(bytes));
        });
        result
    }
}

impl std::fmt::Debug for TypedRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body is the caller's type, which need not be `Debug`.
        f.debug_struct("TypedRequest")
            .field("method", &self.method)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A serializable body seen through one object-safe face, so that
/// [`InferenceClient`](crate::InferenceClient) stays usable as `dyn`.
trait TypedBody: Sync {
    fn value(&self) -> Result<Value, Error>;
    fn canonical(&self, fields: &Fields<'_>, with: &mut dyn FnMut(&[u8]));
}

impl<T: Serialize + Sync> TypedBody for T {
    fn value(&self) -> Result<Value, Error> {
        ApiRequest::body_of(self)
    }

    fn canonical(&self, fields: &Fields<'_>, with: &mut dyn FnMut(&[u8])) {
        with_canonical(self, fields, with);
    }
}
