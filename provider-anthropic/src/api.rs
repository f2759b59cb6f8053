//! `AnthropicApi`: typed Messages calls, for every `InferenceClient`.

use async_trait::async_trait;
use recording_core::{ApiRequest, Error, InferenceClient, TypedRequest, TypedStream};

use crate::types::{Message, MessageRequest, ModelList, StreamEvent, TokenCount};

/// Typed Messages API calls, available on every [`InferenceClient`]: on
/// [`AnthropicClient`](crate::AnthropicClient) itself, on `Recording<AnthropicClient>`,
/// and on `&dyn InferenceClient`. Requests and answers are this crate's
/// [`types`](crate::types), which keep every field; a body that does not fit fails with
/// [`Error::Decode`], naming the recording file and the field.
///
/// ```
/// use provider_anthropic::types::{InputMessage, MessageRequest};
/// use provider_anthropic::{AnthropicApi, AnthropicClient};
/// use recording_core::{Error, Mode, Recording};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Replay never calls the server, so an unreachable URL is fine.
/// let dir = tempfile::tempdir()?;
/// let client = Recording::new(AnthropicClient::new("http://127.0.0.1:9", ""))
///     .mode(Mode::Replay)
///     .dir(dir.path());
/// let request = MessageRequest::new("claude-sonnet-4-5", 64, vec![InputMessage::user("Hi")]);
/// // Nothing is recorded in this empty directory: the miss says how to record it.
/// let err = client.message(request).await.expect_err("a miss");
/// assert!(matches!(err, Error::ReplayMiss(_)));
/// assert!(err.to_string().contains("POST /v1/messages"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait AnthropicApi: InferenceClient {
    /// `POST /v1/messages`.
    async fn message(&self, mut request: MessageRequest) -> Result<Message, Error> {
        request.stream = None;
        let response = self
            .send_typed(TypedRequest::post(crate::MESSAGES, &request))
            .await?;
        response.decode_json("message")
    }

    /// `POST /v1/messages` with `"stream": true` (set for you): the events in order,
    /// `message_stop` last; an `error` event ends the stream as the
    /// [`Error::Api`] it stands for.
    async fn message_stream(
        &self,
        mut request: MessageRequest,
    ) -> Result<TypedStream<StreamEvent>, Error> {
        request.stream = Some(true);
        let response = self
            .send_typed(TypedRequest::post(crate::MESSAGES, &request))
            .await?;
        response.decode_stream("message stream event")
    }

    /// `POST /v1/messages/count_tokens`: what `request` would count as input (its
    /// `max_tokens` and `stream` are not sent, as the API takes neither).
    async fn count_tokens(&self, request: MessageRequest) -> Result<TokenCount, Error> {
        let mut body = ApiRequest::body_of(&request)?;
        if let Some(body) = body.as_object_mut() {
            body.remove("max_tokens");
            body.remove("stream");
        }
        let response = self
            .send(ApiRequest::post(crate::COUNT_TOKENS, body))
            .await?;
        response.decode_json("token count")
    }

    /// `GET /v1/models`.
    async fn models(&self) -> Result<ModelList, Error> {
        let response = self.send(ApiRequest::get(crate::MODELS)).await?;
        response.decode_json("model list")
    }
}

impl<T: InferenceClient + ?Sized> AnthropicApi for T {}
