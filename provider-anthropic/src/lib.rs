//! The Anthropic provider of Inference Recorder: the Messages API (`POST /v1/messages`),
//! as Anthropic serves it and as llama.cpp's `llama-server` implements it.
//!
//! - [`AnthropicClient`]: the real transport to any Messages-compatible server and any
//!   of its endpoints (`x-api-key`, `anthropic-version`), with the SSE framing read
//!   here; implements [`InferenceClient`](recording_core::InferenceClient).
//! - [`AnthropicApi`]: typed calls (a message, a streamed message as typed events, a
//!   token count, the model list) on this crate's [`types`], for every client,
//!   `Recording<_>` included.
//! - [`AnthropicNormalizer`]: the rules that make re-recorded bodies diff cleanly.
//! - [`wire::AnthropicWire`]: answers as Anthropic's servers write them, `event:` names
//!   included, for the HTTP fronts.
//!
//! ```no_run
//! use provider_anthropic::types::{InputMessage, MessageRequest};
//! use provider_anthropic::{AnthropicApi, AnthropicClient};
//! use recording_core::Recording;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Recording::from_env(AnthropicClient::from_env())?;
//! let request = MessageRequest::new("claude-sonnet-4-5", 256, vec![InputMessage::user("Hello!")]);
//! let message = client.message(request).await?;
//! println!("{}", message.text());
//! # Ok(())
//! # }
//! ```

mod answer;
mod api;
mod client;
mod equivalence;
mod normalize;
mod provider;
pub mod types;
pub mod wire;

pub use api::AnthropicApi;
pub use client::{
    API_KEY_ENV, AnthropicClient, BASE_URL_ENV, DEFAULT_BASE_URL, PROVIDER, VERSION,
    status_of_error_type,
};
pub use normalize::AnthropicNormalizer;
pub use provider::{AnthropicProvider, DESCRIPTOR, MOUNT};
pub use recording_core::TypedStream;

/// `POST`: a message, streaming or not.
pub const MESSAGES: &str = "/v1/messages";
/// `POST`: the input tokens a message would count.
pub const COUNT_TOKENS: &str = "/v1/messages/count_tokens";
/// `GET`: the model list.
pub const MODELS: &str = "/v1/models";
