//! `OllamaApi`: typed calls on ollama-rs's types, for every `InferenceClient`.

use async_trait::async_trait;
use ollama_rs::generation::chat::ChatMessageResponse;
use ollama_rs::generation::chat::request::ChatMessageRequest;
use ollama_rs::generation::completion::GenerationResponse;
use ollama_rs::generation::completion::request::GenerationRequest;
use ollama_rs::generation::embeddings::GenerateEmbeddingsResponse;
use ollama_rs::generation::embeddings::request::GenerateEmbeddingsRequest;
use ollama_rs::models::pull::PullModelStatus;
use ollama_rs::models::{LocalModel, ModelInfo};
use recording_core::transport::decode;
use recording_core::{ApiRequest, Error, InferenceClient, TypedRequest, TypedStream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `POST /api/embeddings`, the older single-prompt embeddings call, which ollama-rs
/// does not wrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyEmbeddingsRequest {
    /// The model.
    pub model: String,
    /// The text to embed.
    pub prompt: String,
}

/// The answer to [`LegacyEmbeddingsRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyEmbeddingsResponse {
    /// One vector.
    pub embedding: Vec<f64>,
}

/// `GET /api/ps`: the models loaded in memory, which ollama-rs does not wrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningModels {
    /// The loaded models.
    pub models: Vec<RunningModel>,
}

/// One loaded model in [`RunningModels`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningModel {
    /// The model's name, such as `llama3.2:latest`.
    #[serde(default)]
    pub name: String,
    /// The model, as in requests.
    #[serde(default)]
    pub model: String,
    /// Its size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Its digest.
    #[serde(default)]
    pub digest: String,
    /// When Ollama unloads it (normalized to the epoch in recordings).
    #[serde(default)]
    pub expires_at: String,
    /// How much of it sits in GPU memory.
    #[serde(default)]
    pub size_vram: u64,
    /// Format, family, parameter size and quantization, as Ollama reports them.
    #[serde(default)]
    pub details: Value,
}

/// Typed Ollama calls, available on every [`InferenceClient`]: on [`OllamaClient`]
/// itself, on `Recording<OllamaClient>`, and on `&dyn InferenceClient`.
///
/// Method names follow ollama-rs's, so code moving from `Ollama` to a recorded client
/// keeps its calls. Requests and responses are ollama-rs's types where it has them;
/// bodies are recorded as Ollama's HTTP API sends them, so a recording reads like the
/// Ollama API docs. A body that does not fit fails with [`Error::Decode`], naming the
/// recording file and the field.
///
/// ```
/// use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
/// use provider_ollama::{OllamaApi, OllamaClient};
/// use recording_core::{Error, Mode, Recording};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Replay never calls the server, so an address where nothing listens is fine.
/// let dir = tempfile::tempdir()?;
/// let client = Recording::new(OllamaClient::new("127.0.0.1:9"))
///     .mode(Mode::Replay)
///     .dir(dir.path());
/// let request = GenerationRequest::new("llama3.2".into(), "Why is the sky blue?");
/// // Nothing is recorded in this empty directory: the miss says how to record it.
/// let err = client.generate(request).await.expect_err("a miss");
/// assert!(matches!(err, Error::ReplayMiss(_)));
/// assert!(err.to_string().contains("POST /api/generate"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// [`OllamaClient`]: crate::OllamaClient
#[async_trait]
pub trait OllamaApi: InferenceClient {
    /// `POST /api/generate` with `"stream": false`.
    async fn generate(&self, request: GenerationRequest<'_>) -> Result<GenerationResponse, Error> {
        let body = with_stream(&request, false)?;
        let response = self.send(ApiRequest::post(crate::GENERATE, body)).await?;
        response.decode_json("generate response")
    }

    /// `POST /api/generate` with `"stream": true`.
    async fn generate_stream(
        &self,
        request: GenerationRequest<'_>,
    ) -> Result<TypedStream<GenerationResponse>, Error> {
        let body = with_stream(&request, true)?;
        let response = self.send(ApiRequest::post(crate::GENERATE, body)).await?;
        response.decode_stream("generate chunk")
    }

    /// `POST /api/chat` with `"stream": false`. Tool calls travel in the messages.
    async fn send_chat_messages(
        &self,
        request: ChatMessageRequest,
    ) -> Result<ChatMessageResponse, Error> {
        let body = with_stream(&request, false)?;
        let response = self.send(ApiRequest::post(crate::CHAT, body)).await?;
        response.decode_json("chat response")
    }

    /// `POST /api/chat` with `"stream": true`.
    async fn send_chat_messages_stream(
        &self,
        request: ChatMessageRequest,
    ) -> Result<TypedStream<ChatMessageResponse>, Error> {
        let body = with_stream(&request, true)?;
        let response = self.send(ApiRequest::post(crate::CHAT, body)).await?;
        response.decode_stream("chat chunk")
    }

    /// `POST /api/embed`: one vector per input.
    async fn generate_embeddings(
        &self,
        request: GenerateEmbeddingsRequest,
    ) -> Result<GenerateEmbeddingsResponse, Error> {
        let response = self
            .send_typed(TypedRequest::post(crate::EMBED, &request))
            .await?;
        response.decode_json("embed response")
    }

    /// `POST /api/embeddings`: the older call, one prompt, one vector.
    async fn legacy_embeddings(
        &self,
        request: LegacyEmbeddingsRequest,
    ) -> Result<LegacyEmbeddingsResponse, Error> {
        let response = self
            .send_typed(TypedRequest::post(crate::EMBEDDINGS, &request))
            .await?;
        response.decode_json("embeddings response")
    }

    /// `GET /api/tags`: the models pulled to this Ollama.
    ///
    /// An entry without `name` takes it from `model`: llama-stack's recorder stored
    /// model lists as its Python client parsed them, which renames `name` to `model`.
    async fn list_local_models(&self) -> Result<Vec<LocalModel>, Error> {
        let response = self.send(ApiRequest::get(crate::TAGS)).await?;
        let origin = response.origin.clone();
        let mut body = response.into_json()?;
        if let Some(models) = body.get_mut("models").and_then(Value::as_array_mut) {
            for model in models.iter_mut().filter_map(Value::as_object_mut) {
                if !model.contains_key("name")
                    && let Some(name) = model.get("model").cloned()
                {
                    model.insert("name".into(), name);
                }
            }
        }
        let models = body
            .get_mut("models")
            .map(Value::take)
            .unwrap_or(Value::Null);
        decode(models, "model list (`models`)", origin.as_deref())
    }

    /// `GET /api/ps`: the models loaded in memory.
    async fn list_running_models(&self) -> Result<RunningModels, Error> {
        let response = self.send(ApiRequest::get(crate::PS)).await?;
        response.decode_json("running models")
    }

    /// `POST /api/show`: a model's details, template and parameters.
    async fn show_model_info(&self, model: &str) -> Result<ModelInfo, Error> {
        let body = json!({ "model": model });
        let response = self.send(ApiRequest::post(crate::SHOW, body)).await?;
        response.decode_json("model info")
    }

    /// `POST /api/pull` with `"stream": false`: the final status only.
    async fn pull_model(&self, model: &str, insecure: bool) -> Result<PullModelStatus, Error> {
        let body = json!({ "model": model, "insecure": insecure, "stream": false });
        let response = self.send(ApiRequest::post(crate::PULL, body)).await?;
        response.decode_json("pull status")
    }

    /// `POST /api/pull` with `"stream": true`: every progress status.
    async fn pull_model_stream(
        &self,
        model: &str,
        insecure: bool,
    ) -> Result<TypedStream<PullModelStatus>, Error> {
        let body = json!({ "model": model, "insecure": insecure, "stream": true });
        let response = self.send(ApiRequest::post(crate::PULL, body)).await?;
        response.decode_stream("pull status")
    }
}

impl<T: InferenceClient + ?Sized> OllamaApi for T {}

fn with_stream<T: Serialize>(request: &T, stream: bool) -> Result<Value, Error> {
    let mut body = ApiRequest::body_of(request)?;
    if let Some(map) = body.as_object_mut() {
        map.insert("stream".into(), Value::Bool(stream));
    }
    Ok(body)
}
