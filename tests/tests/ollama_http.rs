//! `OllamaClient`'s real HTTP path (requests, NDJSON streaming, error bodies) against
//! `CapturedOllama`, a loopback stand-in that plays back real captured Ollama
//! responses: no real Ollama can be installed here.

use std::fs;

use futures::StreamExt;
use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::{EPOCH, OllamaApi, OllamaClient};
use recording_core::{Error, InferenceClient, Mode, Recording};
use serde_json::Value;
use tests::captured_ollama::{CapturedOllama, chunk_lines, fixture_body};

fn generation() -> GenerationRequest<'static> {
    GenerationRequest::new("llama3.2:3b-instruct-fp16".into(), "Give me a sentence").raw(true)
}

#[tokio::test]
async fn record_over_http_then_replay_with_the_server_gone() {
    let server = CapturedOllama::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recording::new(OllamaClient::new(&server.host()))
        .mode(Mode::Record)
        .dir(dir.path());

    let single = recorder
        .generate(GenerationRequest::new("llama-guard3:1b".into(), "check"))
        .await
        .expect("generate");
    let streamed: Vec<_> = recorder
        .generate_stream(generation())
        .await
        .expect("stream")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let models = recorder.list_local_models().await.expect("tags");
    assert_eq!(server.requests(), 3);
    assert_eq!(single.response, "unsafe\nS2");
    assert_eq!(
        single.created_at, EPOCH,
        "the caller sees normalized values"
    );
    assert_eq!(
        streamed.len(),
        chunk_lines(&fixture_body("80e4404d8987.json")).len()
    );
    assert!(models.iter().any(|m| m.name == "all-minilm:l6-v2"));

    // The recording holds the wire JSON, fields ollama-rs drops included.
    let path = recorder.path_of(&recording_core::ApiRequest::post("/api/generate", {
        let mut body = recording_core::ApiRequest::body_of(&generation()).expect("body");
        body["stream"] = Value::Bool(true);
        body
    }));
    let file: Value = serde_json::from_slice(&fs::read(&path).expect("recorded")).expect("json");
    let chunks = file["response"]["body"].as_array().expect("chunks");
    assert_eq!(
        chunks.last().map(|c| c["done_reason"].clone()),
        Some(Value::from("stop"))
    );
    assert_eq!(file["request"]["provider"], "ollama");
    assert_eq!(
        file["request"]["url"],
        format!("http://{}/api/generate", server.host())
    );

    server.stop().await;
    let replay = Recording::new(OllamaClient::new(&server_host_gone()))
        .mode(Mode::Replay)
        .dir(dir.path());
    let again: Vec<_> = replay
        .generate_stream(generation())
        .await
        .expect("replay")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let text =
        |chunks: &[provider_ollama::ollama_rs::generation::completion::GenerationResponse]| {
            chunks
                .iter()
                .map(|c| c.response.clone())
                .collect::<String>()
        };
    assert_eq!(text(&again), text(&streamed));
    assert_eq!(
        replay.list_local_models().await.expect("tags").len(),
        models.len()
    );
}

/// A port nothing listens on.
fn server_host_gone() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("127.0.0.1:{}", listener.local_addr().expect("addr").port())
}

#[tokio::test]
async fn ollama_error_bodies_are_api_errors_and_are_recorded() {
    let server = CapturedOllama::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recording::new(OllamaClient::new(&server.host()))
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    for _ in 0..2 {
        match recorder.show_model_info("nope").await {
            Err(Error::Api { status, body, .. }) => {
                assert_eq!(status, 404);
                assert_eq!(body["error"], "model 'nope' not found");
            }
            other => panic!("expected the 404, got {other:?}"),
        }
    }
    assert_eq!(
        server.requests(),
        1,
        "the error was replayed the second time"
    );
}

#[tokio::test]
async fn an_error_line_mid_stream_ends_the_stream_with_an_api_error() {
    let server = CapturedOllama::start().await;
    let client = OllamaClient::new(&server.host());
    let request = GenerationRequest::new("broken".into(), "hi");
    let items: Vec<_> = client
        .generate_stream(request)
        .await
        .expect("stream")
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(Result::is_ok));
    match &items[2] {
        Err(Error::Api {
            status: 500, body, ..
        }) => {
            assert_eq!(
                body["error"],
                "an error was encountered while running the model"
            );
        }
        other => panic!("expected the API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let client = OllamaClient::new(&server_host_gone());
    let err = client
        .send(recording_core::ApiRequest::get("/api/tags"))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}
