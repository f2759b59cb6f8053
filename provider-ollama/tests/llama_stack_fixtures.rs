//! Real bodies from a real Ollama replay into ollama-rs's types: the `/api/*`
//! recordings that llama-stack's recorder made.

use std::fs;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use provider_ollama::ollama_rs::generation::completion::GenerationResponse;
use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::ollama_rs::generation::embeddings::request::{
    EmbeddingsInput, GenerateEmbeddingsRequest,
};
use provider_ollama::{EPOCH, OllamaApi, OllamaClient, OllamaNormalizer};
use recording_core::format::RecordedRequest;
use recording_core::{
    ApiRequest, Error, Mode, NormalizeContext, Normalizer, Recording, RecordingFile, Store,
};
use serde_json::{Value, json};

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/llama-stack")
        .join(name)
}

fn fixture(name: &str) -> RecordingFile {
    let path = fixture_path(name);
    let bytes = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    RecordingFile::from_slice(&bytes, &path).unwrap_or_else(|err| panic!("{err}"))
}

/// A replay-only client over a temporary directory holding `fixture`'s response as the
/// recording of `request`.
fn replaying(
    fixture_name: &str,
    request: ApiRequest,
) -> (tempfile::TempDir, Recording<OllamaClient>) {
    let dir = tempfile::tempdir().expect("tempdir");
    // Replay never calls the server: a closed port.
    let client = Recording::new(OllamaClient::new("127.0.0.1:9"))
        .mode(Mode::Replay)
        .dir(dir.path());
    let mut file = fixture(fixture_name);
    file.request = RecordedRequest::of("ollama", &request);
    Store::new(dir.path())
        .save(&client.hash_of(&request), &file)
        .expect("save");
    (dir, client)
}

fn with_stream(mut body: Value, stream: bool) -> Value {
    body["stream"] = Value::Bool(stream);
    body
}

fn guard_request() -> GenerationRequest<'static> {
    GenerationRequest::new("llama-guard3:1b".into(), "Task: check the conversation").raw(true)
}

#[tokio::test]
async fn generate_replays_into_the_typed_response() {
    let request = guard_request();
    let body = with_stream(ApiRequest::body_of(&request).expect("body"), false);
    let (_dir, client) = replaying("e96152610712.json", ApiRequest::post("/api/generate", body));
    let response = client.generate(request).await.expect("replayed");
    assert_eq!(response.model, "llama-guard3:1b");
    assert_eq!(response.response, "unsafe\nS2");
    assert!(response.done);
    assert_eq!(response.prompt_eval_count, Some(207));
    assert_eq!(response.total_duration, Some(300_698_625));
}

#[tokio::test]
async fn streamed_generate_replays_chunk_by_chunk() {
    let request =
        GenerationRequest::new("llama3.2:3b-instruct-fp16".into(), "Give me a sentence").raw(true);
    let body = with_stream(ApiRequest::body_of(&request).expect("body"), true);
    let (_dir, client) = replaying("80e4404d8987.json", ApiRequest::post("/api/generate", body));
    let chunks: Vec<GenerationResponse> = client
        .generate_stream(request)
        .await
        .expect("stream")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let expected = fixture("80e4404d8987.json").response.body;
    let expected = expected.as_array().expect("chunks");
    assert_eq!(chunks.len(), expected.len());
    let text: String = chunks.iter().map(|c| c.response.as_str()).collect();
    let expected_text: String = expected
        .iter()
        .map(|c| c["response"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(text, expected_text);
    assert!(text.starts_with("Hello"));
    assert!(chunks.last().is_some_and(|c| c.done));
    assert!(chunks[..chunks.len() - 1].iter().all(|c| !c.done));
}

#[tokio::test]
async fn embed_replays_into_the_typed_response() {
    let request = GenerateEmbeddingsRequest::new(
        "all-minilm:l6-v2".into(),
        EmbeddingsInput::Multiple(vec!["How do systems learn automatically?".into()]),
    );
    let body = ApiRequest::body_of(&request).expect("body");
    let (_dir, client) = replaying("a97477559b10.json", ApiRequest::post("/api/embed", body));
    let response = client.generate_embeddings(request).await.expect("replayed");
    assert_eq!(response.embeddings.len(), 1);
    assert_eq!(response.embeddings[0].len(), 384);
    assert!((response.embeddings[0][0] - 0.042_469_34).abs() < 1e-7);
}

#[tokio::test]
async fn local_models_replay_with_names_taken_from_model() {
    let (_dir, client) = replaying(
        "models-4a3a4447b16b-3057338f.json",
        ApiRequest::get("/api/tags"),
    );
    let models = client.list_local_models().await.expect("replayed");
    assert_eq!(models[0].name, "nomic-embed-text:latest");
    assert_eq!(models[0].size, 274_302_450);
    assert_eq!(models[0].modified_at, "2025-09-03T10:54:06.607913-07:00");
    assert!(models.iter().any(|m| m.name == "all-minilm:l6-v2"));
}

#[tokio::test]
async fn running_models_replay() {
    let (_dir, client) = replaying("d0ac68cbde69.json", ApiRequest::get("/api/ps"));
    let running = client.list_running_models().await.expect("replayed");
    assert!(running.models.is_empty());
}

#[tokio::test]
async fn pull_status_replays() {
    let body = json!({"model": "llama3.2:3b-instruct-fp16", "insecure": false, "stream": false});
    let (_dir, client) = replaying("3877ecf1bc62.json", ApiRequest::post("/api/pull", body));
    let status = client
        .pull_model("llama3.2:3b-instruct-fp16", false)
        .await
        .expect("replayed");
    assert_eq!(status.message, "success");
    assert_eq!(status.completed, None);
}

#[tokio::test]
async fn a_body_that_does_not_fit_names_the_file_and_the_field() {
    let request = guard_request();
    let body = with_stream(ApiRequest::body_of(&request).expect("body"), false);
    let api_request = ApiRequest::post("/api/generate", body);
    let (_dir, client) = replaying("e96152610712.json", api_request.clone());
    let path = client.path_of(&api_request);
    let mut raw: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
    raw["response"]["body"]["eval_count"] = json!("five");
    fs::write(&path, serde_json::to_vec(&raw).expect("json")).expect("write");

    let err = client
        .generate(request)
        .await
        .expect_err("a string is no count");
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&*path.to_string_lossy()), "{text}");
    assert!(text.contains("eval_count"), "{text}");
}

fn normalized(name: &str) -> Value {
    let file = fixture(name);
    let hash = "0123456789abcdef".repeat(4);
    let ctx = NormalizeContext {
        hash: &hash,
        endpoint: &file.request.endpoint,
    };
    let mut body = file.response.body;
    match &mut body {
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            OllamaNormalizer.normalize(&ctx, item) | changed
        }),
        single => OllamaNormalizer.normalize(&ctx, single),
    };
    body
}

#[test]
fn normalized_generate() {
    let body = normalized("e96152610712.json");
    assert_eq!(body["created_at"], EPOCH);
    assert_eq!(body["prompt_eval_count"], 207, "counts stay");
    insta::assert_json_snapshot!(body);
}

#[test]
fn normalized_generate_stream_keeps_null_durations_null() {
    let body = normalized("80e4404d8987.json");
    let chunks = body.as_array().expect("chunks");
    assert!(chunks.iter().all(|c| c["created_at"] == EPOCH));
    assert!(chunks[0]["total_duration"].is_null());
    let last = chunks.last().expect("last");
    assert_eq!(last["total_duration"], 0);
    assert_eq!(last["eval_duration"], 0);
    assert_eq!(last["done_reason"], "stop", "done_reason is kept");
    insta::assert_json_snapshot!(last);
}

#[test]
fn normalized_embeddings_keep_a_null_created_at() {
    let body = normalized("a97477559b10.json");
    assert!(body["created_at"].is_null());
    assert_eq!(body["total_duration"], 0);
    assert_eq!(body["load_duration"], 0);
}

#[test]
fn running_models_expire_at_the_epoch() {
    let hash = "f".repeat(64);
    let ctx = NormalizeContext {
        hash: &hash,
        endpoint: "/api/ps",
    };
    let mut body = json!({"models": [{"name": "m", "expires_at": "2026-11-25T10:00:00.1+01:00", "size_vram": 5}]});
    OllamaNormalizer.normalize(&ctx, &mut body);
    assert_eq!(body["models"][0]["expires_at"], EPOCH);
    assert_eq!(body["models"][0]["size_vram"], 5);
}

#[test]
fn model_lists_keep_their_dates() {
    let body = normalized("models-4a3a4447b16b-3057338f.json");
    assert_eq!(
        body,
        fixture("models-4a3a4447b16b-3057338f.json").response.body
    );
}

#[test]
fn the_rules_are_idempotent_on_every_ollama_fixture() {
    let mut checked = 0;
    for entry in fs::read_dir(fixture_path("")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !name.ends_with(".json") || !fixture(&name).request.endpoint.starts_with("/api/") {
            continue;
        }
        let once = normalized(&name);
        let hash = "0123456789abcdef".repeat(4);
        let ctx = NormalizeContext {
            hash: &hash,
            endpoint: "/api/generate",
        };
        let mut twice = once.clone();
        let changed = match &mut twice {
            Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                OllamaNormalizer.normalize(&ctx, item) | changed
            }),
            single => OllamaNormalizer.normalize(&ctx, single),
        };
        assert!(!changed, "the second pass says it changed nothing: {name}");
        assert_eq!(once, twice, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}
