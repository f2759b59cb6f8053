//! The typed Ollama requests the committed-replay tests and the quickstart send: the
//! requests of the captured Ollama fixtures, so that recordings made through
//! `CapturedOllama` pair each request with the answer Ollama really gave it.

use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::ollama_rs::generation::embeddings::request::{
    EmbeddingsInput, GenerateEmbeddingsRequest,
};
use provider_ollama::ollama_rs::models::ModelOptions;

use crate::captured_ollama::fixture_request;

fn captured_generation(fixture: &str) -> GenerationRequest<'static> {
    let body = fixture_request(fixture);
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
    let temperature = body["options"]["temperature"].as_f64().unwrap_or_default() as f32;
    GenerationRequest::new(text("model"), text("prompt"))
        .raw(true)
        .options(ModelOptions::default().temperature(temperature))
}

/// llama-guard's verdict on a conversation (answered with a single body).
pub fn guard() -> GenerationRequest<'static> {
    captured_generation("e96152610712.json")
}

/// A sentence with the word "hello" (answered as a stream).
pub fn sentence() -> GenerationRequest<'static> {
    captured_generation("80e4404d8987.json")
}

/// Embeddings of one question.
pub fn embed() -> GenerateEmbeddingsRequest {
    let body = fixture_request("a97477559b10.json");
    let inputs = body["input"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    GenerateEmbeddingsRequest::new(
        body["model"].as_str().unwrap_or_default().to_owned(),
        EmbeddingsInput::Multiple(inputs),
    )
}
