//! The typed requests the end-to-end and committed-replay tests send, so that both
//! agree on what a recording's key is.

use provider_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use provider_openai::types::completions::{CreateCompletionRequest, CreateCompletionRequestArgs};
use provider_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingRequestArgs};

/// The model alias the test servers serve.
pub const MODEL: &str = "tiny";

/// A short chat completion; `max_tokens` keeps it fast on a CPU.
pub fn chat(question: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(MODEL)
        .messages(vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content("You are a terse assistant.")
                .build()
                .expect("a valid system message")
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(question)
                .build()
                .expect("a valid user message")
                .into(),
        ])
        .max_completion_tokens(8u32)
        .temperature(0.0)
        .seed(42)
        .build()
        .expect("a valid chat request")
}

/// A short legacy completion.
pub fn completion(prompt: &str) -> CreateCompletionRequest {
    CreateCompletionRequestArgs::default()
        .model(MODEL)
        .prompt(prompt)
        .max_tokens(8u32)
        .temperature(0.0)
        .seed(42)
        .build()
        .expect("a valid completion request")
}

/// Embeddings of two inputs.
pub fn embeddings() -> CreateEmbeddingRequest {
    CreateEmbeddingRequestArgs::default()
        .model(MODEL)
        .input(vec![
            "The sky is blue.",
            "Recordings make tests deterministic.",
        ])
        .build()
        .expect("a valid embeddings request")
}

/// A request the server rejects: a prompt longer than the 512-token context is a 400.
pub fn rejected() -> CreateCompletionRequest {
    CreateCompletionRequestArgs::default()
        .model(MODEL)
        .prompt("word ".repeat(600))
        .max_tokens(4u32)
        .build()
        .expect("a valid request shape")
}

/// A short Responses API request.
pub fn response(input: &str) -> provider_openai::types::responses::CreateResponse {
    provider_openai::types::responses::CreateResponseArgs::default()
        .model(MODEL)
        .input(input)
        .max_output_tokens(8u32)
        .temperature(0.0)
        .build()
        .expect("a valid Responses API request")
}
