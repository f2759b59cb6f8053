//! Record the requests a test suite sends to LLM inference APIs and replay the real
//! answers: deterministic, offline and free. This crate is the one dependency a suite
//! adds; it re-exports the engine and, by feature, the providers and the server.
//!
//! ```toml
//! [dev-dependencies]
//! inference-recorder = { version = "0.1", features = ["openai", "ollama", "server"] }
//! ```
//!
//! | feature | what it adds | what it compiles |
//! |---|---|---|
//! | `openai` (default) | `openai`: `OpenAiClient`, the typed `OpenAiApi`, `RecordingHttpService` for an unchanged `async_openai::Client` | async-openai (the API features only, never `byot`), reqwest 0.13 |
//! | `ollama` | `ollama`: `OllamaClient`, the typed `OllamaApi` on ollama-rs's types | ollama-rs, reqwest 0.12 |
//! | `anthropic` | `anthropic`: `AnthropicClient`, the typed `AnthropicApi` on the Messages API's types | reqwest 0.13 (shared with `openai`) |
//! | `server` | `server`: `RecordingServer`, for any client with a base URL | axum, and every provider |
//!
//! The engine is at the root: [`Recording`] (the decorator: wraps a client, is a
//! client), [`Mode`], [`InferenceClient`], [`test_name!`].
//!
//! ```no_run
//! # #[cfg(feature = "openai")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use inference_recorder::Recording;
//! use inference_recorder::openai::{OpenAiApi, OpenAiClient, RecordingHttpService};
//!
//! // Code on the trait: the one-line swap, here recorded per test.
//! let client = Recording::from_env(OpenAiClient::from_env())?
//!     .scope(inference_recorder::test_name!());
//! # let _ = client;
//!
//! // An app that keeps async-openai's own Client: swap its HTTP service in the tests.
//! let service = RecordingHttpService::from_env()?;
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! What the recorder changes in the crates an app also uses (it turns no feature on
//! that changes their behaviour) is listed in the guide, "What adding the recorder
//! changes in your build".

pub use recording_core::*;

/// OpenAI-compatible servers (chat, completions, embeddings, Responses, models): the
/// real client, the typed API, and the HTTP service for an unchanged
/// `async_openai::Client`. The whole of the provider crate.
#[cfg(feature = "openai")]
pub mod openai {
    pub use provider_openai::*;
}

/// Ollama (generate, chat, embed, tags): the real client and the typed API on
/// ollama-rs's types. The whole of the provider crate.
#[cfg(feature = "ollama")]
pub mod ollama {
    pub use provider_ollama::*;
}

/// Anthropic's Messages API (messages, streamed as typed events, token counts, models):
/// the real client and the typed API. The whole of the provider crate.
#[cfg(feature = "anthropic")]
pub mod anthropic {
    pub use provider_anthropic::*;
}

/// The recording server: the engine behind an address, for clients that keep their own
/// code (ollama-rs, any SDK, any language).
#[cfg(feature = "server")]
pub mod server {
    pub use recording_server::*;
}
