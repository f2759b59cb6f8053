//! Replays the committed Ollama recordings in `tests/recordings/` through the typed
//! Ollama API, streaming included, with no server.
//!
//! The client points at `OLLAMA_HOST` when it is set (a real Ollama: re-record with
//! `TEST_INFERENCE_MODE=record`), else at `CapturedOllama`, the loopback stand-in that
//! answers with real captured Ollama responses; the committed files were recorded
//! through it. In replay mode each test checks that the stand-in saw no request.

use futures::StreamExt;
use provider_ollama::{EPOCH, OllamaApi, OllamaClient};
use recording_core::{Mode, Recording};
use tests::captured_ollama::CapturedOllama;
use tests::ollama_requests;

struct Fixture {
    client: Recording<OllamaClient>,
    stand_in: Option<CapturedOllama>,
}

impl Fixture {
    async fn new() -> Fixture {
        let (host, stand_in) = match std::env::var("OLLAMA_HOST") {
            Ok(host) if !host.trim().is_empty() => (host, None),
            _ => {
                let server = CapturedOllama::start().await;
                (server.host(), Some(server))
            }
        };
        let client =
            Recording::from_env(OllamaClient::new(&host)).unwrap_or_else(|err| panic!("{err}"));
        Fixture { client, stand_in }
    }

    /// Replay must not have touched the server.
    fn check_no_traffic(&self) {
        if let (Mode::Replay, Some(server)) = (self.client.current_mode(), &self.stand_in) {
            assert_eq!(server.requests(), 0, "replay contacted the server");
        }
    }
}

#[tokio::test]
async fn generate() {
    let fixture = Fixture::new().await;
    let response = fixture
        .client
        .generate(ollama_requests::guard())
        .await
        .expect("recorded");
    assert_eq!(response.model, "llama-guard3:1b");
    assert!(response.done);
    assert!(
        response.response.starts_with("unsafe"),
        "{}",
        response.response
    );
    assert_eq!(response.created_at, EPOCH);
    assert_eq!(response.total_duration, Some(0));
    fixture.check_no_traffic();
}

#[tokio::test]
async fn streamed_generate() {
    let fixture = Fixture::new().await;
    let chunks: Vec<_> = fixture
        .client
        .generate_stream(ollama_requests::sentence())
        .await
        .expect("recorded")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    assert!(chunks.len() > 2);
    assert!(chunks.iter().all(|c| c.created_at == EPOCH));
    assert_eq!(chunks.iter().filter(|c| c.done).count(), 1);
    assert!(chunks.last().is_some_and(|c| c.done));
    let text: String = chunks.iter().map(|c| c.response.as_str()).collect();
    assert!(text.to_lowercase().contains("hello"), "{text}");
    fixture.check_no_traffic();
}

#[tokio::test]
async fn embed() {
    let fixture = Fixture::new().await;
    let response = fixture
        .client
        .generate_embeddings(ollama_requests::embed())
        .await
        .expect("recorded");
    assert_eq!(response.embeddings.len(), 1);
    assert_eq!(response.embeddings[0].len(), 384);
    fixture.check_no_traffic();
}

#[tokio::test]
async fn local_and_running_models() {
    let fixture = Fixture::new().await;
    let models = fixture.client.list_local_models().await.expect("recorded");
    assert!(models.iter().any(|m| m.name == "all-minilm:l6-v2"));
    let running = fixture
        .client
        .list_running_models()
        .await
        .expect("recorded");
    assert!(running.models.iter().all(|m| m.expires_at == EPOCH));
    fixture.check_no_traffic();
}

#[tokio::test]
async fn pull() {
    let fixture = Fixture::new().await;
    let status = fixture
        .client
        .pull_model("all-minilm:l6-v2", false)
        .await
        .expect("recorded");
    assert_eq!(status.message, "success");
    fixture.check_no_traffic();
}
