//! The Ollama provider of Inference Recorder.
//!
//! - [`OllamaClient`]: the real transport over Ollama's HTTP API, keeping the wire
//!   JSON whole; implements [`InferenceClient`](recording_core::InferenceClient).
//! - [`OllamaApi`]: typed calls on ollama-rs's types (generate, chat, embeddings, model
//!   list, running models, model info, pull; streaming where Ollama streams), for every
//!   client, `Recording<_>` included.
//! - [`OllamaNormalizer`]: the rules that make re-recorded bodies diff cleanly.
//!
//! ```no_run
//! use provider_ollama::{OllamaApi, OllamaClient};
//! use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
//! use recording_core::Recording;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Recording::from_env(OllamaClient::from_env())?;
//! let response = client
//!     .generate(GenerationRequest::new("llama3.2".into(), "Why is the sky blue?"))
//!     .await?;
//! println!("{}", response.response);
//! # Ok(())
//! # }
//! ```

mod answer;
mod api;
mod client;
mod equivalence;
mod normalize;
mod provider;
pub mod wire;

pub use api::{
    LegacyEmbeddingsRequest, LegacyEmbeddingsResponse, OllamaApi, RunningModel, RunningModels,
};
pub use client::{DEFAULT_HOST, HOST_ENV, OllamaClient, PROVIDER, stream_is_complete};
pub use normalize::{EPOCH, OllamaNormalizer};
/// ollama-rs, whose request and response types the typed API uses, re-exported so
/// callers need no separate dependency on the same version.
pub use ollama_rs;
pub use provider::{DESCRIPTOR, OllamaProvider};
pub use recording_core::TypedStream;

/// `POST`: text generation, streaming or not.
pub const GENERATE: &str = "/api/generate";
/// `POST`: chat, streaming or not.
pub const CHAT: &str = "/api/chat";
/// `POST`: embeddings, one vector per input.
pub const EMBED: &str = "/api/embed";
/// `POST`: the older embeddings call, one prompt.
pub const EMBEDDINGS: &str = "/api/embeddings";
/// `GET`: the local model list.
pub const TAGS: &str = "/api/tags";
/// `GET`: the running models.
pub const PS: &str = "/api/ps";
/// `POST`: model details.
pub const SHOW: &str = "/api/show";
/// `POST`: pull a model, streaming progress or not.
pub const PULL: &str = "/api/pull";
