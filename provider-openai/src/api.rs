//! `OpenAiApi`: typed calls on async-openai's own types, for every `InferenceClient`.

use async_openai::types::chat::{
    CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::completions::{CreateCompletionRequest, CreateCompletionResponse};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse, EncodingFormat,
};
use async_openai::types::models::ListModelResponse;
use async_openai::types::responses::{CreateResponse, Response, ResponseStreamEvent};
use async_trait::async_trait;
use recording_core::transport::decode;
use recording_core::{ApiRequest, Error, InferenceClient, TypedRequest, TypedStream};
use serde_json::{Value, json};

/// Typed OpenAI calls, available on every [`InferenceClient`]: on [`OpenAiClient`]
/// itself, on `Recording<OpenAiClient>`, and on `&dyn InferenceClient`.
///
/// Requests are async-openai's request types, serialized as they are (tool calls and
/// `response_format` pass through untouched); responses are decoded into
/// async-openai's response types. A body that does not fit fails with
/// [`Error::Decode`], naming the recording file and the field.
///
/// ```
/// use provider_openai::{OpenAiApi, OpenAiClient};
/// use provider_openai::types::chat::CreateChatCompletionRequestArgs;
/// use recording_core::{Error, Mode, Recording};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Replay never calls the server, so a dummy key and an unreachable URL are fine.
/// let dir = tempfile::tempdir()?;
/// let client = Recording::new(OpenAiClient::with_base_url("http://127.0.0.1:9/v1", "unused"))
///     .mode(Mode::Replay)
///     .dir(dir.path());
/// let request = CreateChatCompletionRequestArgs::default()
///     .model("tiny")
///     .messages(vec![])
///     .build()?;
/// // Nothing is recorded in this empty directory: the miss says how to record it.
/// let err = client.chat(request).await.expect_err("a miss");
/// assert!(matches!(err, Error::ReplayMiss(_)));
/// assert!(err.to_string().contains("POST /v1/chat/completions"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// [`OpenAiClient`]: crate::OpenAiClient
#[async_trait]
pub trait OpenAiApi: InferenceClient {
    /// `POST /v1/chat/completions`.
    async fn chat(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, Error> {
        let response = self
            .send_typed(TypedRequest::post(crate::CHAT_COMPLETIONS, &request))
            .await?;
        response.decode_json("chat completion")
    }

    /// `POST /v1/chat/completions` with `"stream": true` (set for you).
    async fn chat_stream(
        &self,
        mut request: CreateChatCompletionRequest,
    ) -> Result<TypedStream<CreateChatCompletionStreamResponse>, Error> {
        request.stream = Some(true);
        let response = self
            .send_typed(TypedRequest::post(crate::CHAT_COMPLETIONS, &request))
            .await?;
        response.decode_stream("chat completion chunk")
    }

    /// `POST /v1/completions` (the legacy text completion).
    async fn completion(
        &self,
        request: CreateCompletionRequest,
    ) -> Result<CreateCompletionResponse, Error> {
        let response = self
            .send_typed(TypedRequest::post(crate::COMPLETIONS, &request))
            .await?;
        response.decode_json("completion")
    }

    /// `POST /v1/completions` with `"stream": true` (set for you).
    async fn completion_stream(
        &self,
        mut request: CreateCompletionRequest,
    ) -> Result<TypedStream<CreateCompletionResponse>, Error> {
        request.stream = Some(true);
        let response = self
            .send_typed(TypedRequest::post(crate::COMPLETIONS, &request))
            .await?;
        response.decode_stream("completion chunk")
    }

    /// `POST /v1/embeddings`.
    async fn embeddings(
        &self,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, Error> {
        let response = self
            .send_typed(TypedRequest::post(crate::EMBEDDINGS, &request))
            .await?;
        response.decode_json("embeddings response")
    }

    /// `POST /v1/embeddings` with `"encoding_format": "base64"` (set for you): each
    /// vector as base64 little-endian `f32`s, as the OpenAI SDKs ask by default and
    /// hosted providers send. `Vec::<f32>::from(item.embedding)` decodes one.
    async fn embeddings_base64(
        &self,
        mut request: CreateEmbeddingRequest,
    ) -> Result<CreateBase64EmbeddingResponse, Error> {
        request.encoding_format = Some(EncodingFormat::Base64);
        let response = self
            .send_typed(TypedRequest::post(crate::EMBEDDINGS, &request))
            .await?;
        response.decode_json("base64 embeddings response")
    }

    /// `POST /v1/responses`: the Responses API.
    async fn response(&self, request: CreateResponse) -> Result<Response, Error> {
        let response = self
            .send_typed(TypedRequest::post(crate::RESPONSES, &request))
            .await?;
        response.decode_json("response")
    }

    /// `POST /v1/responses` with `"stream": true` (set for you): typed stream events,
    /// ending with `response.completed` (or `response.failed`, `response.incomplete`).
    async fn response_stream(
        &self,
        mut request: CreateResponse,
    ) -> Result<TypedStream<ResponseStreamEvent>, Error> {
        request.stream = Some(true);
        let response = self
            .send_typed(TypedRequest::post(crate::RESPONSES, &request))
            .await?;
        response.decode_stream("response stream event")
    }

    /// `GET /v1/models`. A bare array of models (as llama-stack's recorder stored model
    /// lists) is accepted as the list's `data`.
    async fn list_models(&self) -> Result<ListModelResponse, Error> {
        let response = self.send(ApiRequest::get(crate::MODELS)).await?;
        let origin = response.origin.clone();
        let body = match response.into_json()? {
            Value::Array(models) => json!({"object": "list", "data": models}),
            body => body,
        };
        decode(body, "model list", origin.as_deref())
    }
}

impl<T: InferenceClient + ?Sized> OpenAiApi for T {}
