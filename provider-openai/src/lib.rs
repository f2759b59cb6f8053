//! The OpenAI-compatible provider of Inference Recorder.
//!
//! - [`OpenAiClient`]: the real transport to any OpenAI-compatible server and any of
//!   its endpoints, with async-openai's configuration and the SSE framing read here;
//!   implements [`InferenceClient`](recording_core::InferenceClient).
//! - [`OpenAiApi`]: typed calls (chat, streaming chat, completions, embeddings, the
//!   model list) on async-openai's types, for every client, `Recording<_>` included.
//! - [`OpenAiNormalizer`]: the rules that make re-recorded bodies diff cleanly.
//!
//! ```no_run
//! use provider_openai::{OpenAiApi, OpenAiClient};
//! use provider_openai::types::chat::{
//!     ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
//! };
//! use recording_core::Recording;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Recording::from_env(OpenAiClient::from_env())?;
//! let request = CreateChatCompletionRequestArgs::default()
//!     .model("tiny")
//!     .messages(vec![ChatCompletionRequestUserMessageArgs::default()
//!         .content("Hello!")
//!         .build()?
//!         .into()])
//!     .build()?;
//! let response = client.chat(request).await?;
//! println!("{:?}", response.choices[0].message.content);
//! # Ok(())
//! # }
//! ```

mod answer;
mod api;
mod client;
mod equivalence;
mod http_service;
mod normalize;
mod provider;
pub mod wire;

pub use api::OpenAiApi;
pub use async_openai::config::OpenAIConfig;
/// async-openai's request and response types, re-exported so callers need no
/// separate dependency on the same version.
pub use async_openai::types;
pub use client::{BASE_URL_ENV, OpenAiClient, PROVIDER, stream_is_complete};
pub use http_service::RecordingHttpService;
pub use normalize::OpenAiNormalizer;
pub use provider::{DESCRIPTOR, OpenAiProvider};
pub use recording_core::TypedStream;

/// `POST`: chat completions, streaming or not.
pub const CHAT_COMPLETIONS: &str = "/v1/chat/completions";
/// `POST`: legacy text completions, streaming or not.
pub const COMPLETIONS: &str = "/v1/completions";
/// `POST`: embeddings.
pub const EMBEDDINGS: &str = "/v1/embeddings";
/// `POST`: the Responses API, streaming or not.
pub const RESPONSES: &str = "/v1/responses";
/// `GET`: the model list.
pub const MODELS: &str = "/v1/models";
