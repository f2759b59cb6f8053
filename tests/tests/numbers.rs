//! Numbers survive exactly: a replayed body decodes to the values its file's text says,
//! and a typed request goes on the wire (and into its key) the way its own crate writes
//! it, so the same request from Python or curl finds the same recording.

use std::fs;

use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::ollama_rs::generation::embeddings::request::{
    EmbeddingsInput, GenerateEmbeddingsRequest,
};
use provider_ollama::ollama_rs::models::ModelOptions;
use provider_ollama::{OllamaApi, OllamaClient};
use provider_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
};
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{ApiRequest, InferenceClient, Mode, Recording, RecordingFile, Store};
use serde_json::json;
use tests::captured_ollama::fixtures_dir;
use tests::numbers::{HARD, exact, literals, with_values};

/// A replay-only recorder over a temporary directory in which `file` is the recording
/// of `request`.
fn replaying<C: InferenceClient>(
    inner: C,
    request: &ApiRequest,
    mut file: RecordingFile,
) -> (tempfile::TempDir, Recording<C>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(inner).mode(Mode::Replay).dir(dir.path());
    file.request.method = request.method;
    file.request.endpoint = request.endpoint.clone();
    file.request.body = request.body.clone();
    Store::new(dir.path())
        .save(&client.hash_of(request), &file)
        .expect("save");
    (dir, client)
}

#[tokio::test]
async fn a_replayed_embedding_decodes_to_the_exact_values_of_its_file() {
    // A real Ollama embedding: 384 floats as Ollama wrote them, the first three
    // replaced by values that are hard to keep exact.
    let path = fixtures_dir().join("a97477559b10.json");
    let text = with_values(&fs::read_to_string(&path).expect("fixture"), &HARD);
    let file = RecordingFile::from_slice(text.as_bytes(), &path).expect("readable");
    let start = text.find("\"embeddings\"").expect("an embedding");
    let expected: Vec<f64> = literals(&text[start..])
        .into_iter()
        .take(384)
        .map(exact)
        .collect();

    let request = GenerateEmbeddingsRequest::new(
        "all-minilm:l6-v2".into(),
        EmbeddingsInput::Multiple(vec!["How do systems learn automatically?".into()]),
    );
    let api = ApiRequest::post("/api/embed", ApiRequest::body_of(&request).expect("body"));
    let (_dir, client) = replaying(OllamaClient::new("127.0.0.1:9"), &api, file);

    // As values: every f64 bit for bit, through parse, write and replay.
    let body = client
        .send(api)
        .await
        .expect("hit")
        .into_json()
        .expect("json");
    let values: Vec<f64> = body["embeddings"][0]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    assert_eq!(values.len(), 384);
    for (got, want) in values.iter().zip(&expected) {
        assert_eq!(got.to_bits(), want.to_bits(), "{got} is not {want}");
    }
    // Typed: ollama-rs keeps f32s, each the nearest f32 of the exact value.
    let typed = client.generate_embeddings(request).await.expect("hit");
    for (got, want) in typed.embeddings[0].iter().zip(&expected) {
        assert_eq!(
            got.to_bits(),
            (*want as f32).to_bits(),
            "{got} is not {want}"
        );
    }
}

#[tokio::test]
async fn a_typed_openai_request_has_the_key_of_its_json_written_by_hand() {
    let by_hand = json!({
        "messages": [{"role": "user", "content": "Hi"}],
        "model": "tiny",
        "temperature": 0.7,
        "top_p": 0.9,
        "frequency_penalty": 0.1
    });
    let request = CreateChatCompletionRequestArgs::default()
        .model("tiny")
        .messages(vec![
            ChatCompletionRequestUserMessageArgs::default()
                .content("Hi")
                .build()
                .expect("message")
                .into(),
        ])
        .temperature(0.7)
        .top_p(0.9)
        .frequency_penalty(0.1)
        .build()
        .expect("request");
    let typed = ApiRequest::body_of(&request).expect("body");
    assert_eq!(
        typed["temperature"].to_string(),
        "0.7",
        "not widened: {typed}"
    );
    assert_eq!(typed, by_hand);

    let api = ApiRequest::post("/v1/chat/completions", by_hand);
    let mut file = RecordingFile::from_slice(
        &fs::read(fixtures_dir().join("3c0bf9ba81b2.json")).expect("fixture"),
        std::path::Path::new("3c0bf9ba81b2.json"),
    )
    .expect("readable");
    file.request.model = "tiny".into();
    let inner = OpenAiClient::with_base_url("http://127.0.0.1:9/v1", "unused");
    let (_dir, client) = replaying(inner, &api, file);
    // Replay only: the typed request finds the recording keyed by the hand-written JSON.
    client.chat(request).await.expect("the same key");
}

#[tokio::test]
async fn a_typed_ollama_request_has_the_key_of_its_json_written_by_hand() {
    let by_hand = json!({
        "model": "llama-guard3:1b",
        "prompt": "Hi",
        "options": {"temperature": 0.7, "top_p": 0.9},
        "stream": false
    });
    let request = GenerationRequest::new("llama-guard3:1b".into(), "Hi")
        .options(ModelOptions::default().temperature(0.7).top_p(0.9));
    let api = ApiRequest::post("/api/generate", by_hand);
    let file = RecordingFile::from_slice(
        &fs::read(fixtures_dir().join("e96152610712.json")).expect("fixture"),
        std::path::Path::new("e96152610712.json"),
    )
    .expect("readable");
    let (_dir, client) = replaying(OllamaClient::new("127.0.0.1:9"), &api, file);
    // Replay only: a widened `temperature` would miss, and the miss shows the diff.
    let response = client.generate(request).await;
    let response = response.unwrap_or_else(|err| panic!("{err}"));
    assert!(!response.response.is_empty());
}
