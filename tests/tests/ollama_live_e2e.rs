//! End to end against a real Ollama, whenever `OLLAMA_HOST` points at one: record
//! through the typed Ollama API, then replay against a closed port. Skipped, and said
//! so, otherwise (no Ollama can be installed on this project's machines).
//!
//! `OLLAMA_TEST_MODEL` names a pulled chat model (default `llama3.2`) and
//! `OLLAMA_TEST_EMBED_MODEL` an embedding model (default `all-minilm`).

use std::io::Write;

use futures::StreamExt;
use provider_ollama::ollama_rs::generation::chat::ChatMessage;
use provider_ollama::ollama_rs::generation::chat::request::ChatMessageRequest;
use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::ollama_rs::generation::embeddings::request::{
    EmbeddingsInput, GenerateEmbeddingsRequest,
};
use provider_ollama::ollama_rs::models::ModelOptions;
use provider_ollama::{EPOCH, OllamaApi, OllamaClient};
use recording_core::{InferenceClient, Mode, Recording};
use serde_json::Value;
use tests::llama_server::free_port;

/// What the suite saw, as JSON (ollama-rs's types have no `PartialEq`).
async fn run_suite(client: &dyn InferenceClient, model: &str, embed_model: &str) -> Vec<Value> {
    let options = || {
        ModelOptions::default()
            .temperature(0.0)
            .seed(42)
            .num_predict(8)
    };
    let generated = client
        .generate(GenerationRequest::new(model.into(), "Say hello.").options(options()))
        .await
        .expect("generate");
    let streamed: Vec<_> = client
        .generate_stream(GenerationRequest::new(model.into(), "Count to three.").options(options()))
        .await
        .expect("generate stream")
        .map(|c| c.expect("chunk"))
        .collect()
        .await;
    let chat = || {
        ChatMessageRequest::new(model.into(), vec![ChatMessage::user("Say hello.".into())])
            .options(options())
    };
    let chatted = client.send_chat_messages(chat()).await.expect("chat");
    let chat_streamed: Vec<_> = client
        .send_chat_messages_stream(chat())
        .await
        .expect("chat stream")
        .map(|c| c.expect("chunk"))
        .collect()
        .await;
    let embedded = client
        .generate_embeddings(GenerateEmbeddingsRequest::new(
            embed_model.into(),
            EmbeddingsInput::Single("The sky is blue.".into()),
        ))
        .await
        .expect("embed");
    let models = client.list_local_models().await.expect("tags");
    assert_eq!(generated.created_at, EPOCH);
    assert!(streamed.last().is_some_and(|c| c.done));
    vec![
        serde_json::to_value(&generated),
        serde_json::to_value(&streamed),
        serde_json::to_value(&chatted),
        serde_json::to_value(&chat_streamed),
        serde_json::to_value(&embedded),
        serde_json::to_value(&models),
    ]
    .into_iter()
    .map(|value| value.expect("serializable"))
    .collect()
}

#[tokio::test]
async fn record_against_a_real_ollama_then_replay() {
    let host = std::env::var("OLLAMA_HOST").unwrap_or_default();
    if host.trim().is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "record_against_a_real_ollama_then_replay: SKIPPED: OLLAMA_HOST is not set (no real Ollama to record from)"
        );
        return;
    }
    let model = std::env::var("OLLAMA_TEST_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let embed_model =
        std::env::var("OLLAMA_TEST_EMBED_MODEL").unwrap_or_else(|_| "all-minilm".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recording::new(OllamaClient::new(&host))
        .mode(Mode::Record)
        .dir(dir.path());
    let recorded = run_suite(&recorder, &model, &embed_model).await;

    let closed = format!("127.0.0.1:{}", free_port());
    let replay = Recording::new(OllamaClient::new(&closed))
        .mode(Mode::Replay)
        .dir(dir.path());
    let replayed = run_suite(&replay, &model, &embed_model).await;
    assert_eq!(replayed, recorded);
}
