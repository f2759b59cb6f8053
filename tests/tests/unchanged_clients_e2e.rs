//! End to end against a real llama.cpp `llama-server`, with the app's own client
//! unchanged: an `async_openai::Client` pointed at the in-process recording server,
//! and one with `RecordingHttpService` swapped in, record chat, streamed chat,
//! embeddings and a `/v1/responses` call; then both replay them with llama-server
//! stopped.
//!
//! Skipped (and said so) without `LLAMA_SERVER_BIN` and `LLAMA_TEST_MODEL`; CI sets
//! them and `INFERENCE_RECORDER_REQUIRE_SERVERS=1`, so there it cannot skip.

use std::path::Path;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use futures::StreamExt;
use provider_openai::RecordingHttpService;
use provider_openai::types::chat::{
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use provider_openai::types::embeddings::CreateEmbeddingResponse;
use recording_core::{Mode, Recording};
use recording_server::RecordingServer;
use serde_json::Value;
use tests::llama_server::{LlamaServer, Role, dead_base_url};
use tests::requests;

#[derive(Debug, PartialEq)]
struct Answers {
    chat: CreateChatCompletionResponse,
    chunks: Vec<CreateChatCompletionStreamResponse>,
    embeddings: CreateEmbeddingResponse,
    /// What async-openai made of the `/v1/responses` answer. Its `Response` type requires
    /// usage fields llama.cpp does not send, so this is a decode error, the same in
    /// every run; the recorded answer itself is checked on disk. (async-openai's `byot`
    /// calls would read it untyped, but that feature changes `create_stream` for the
    /// whole build, so neither the recorder nor its tests turn it on.)
    response: String,
}

fn client(base: &str) -> Client<OpenAIConfig> {
    tests::tls::install();
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key("sk-e2e"),
    )
}

/// The app's own calls, on its own clients (one per llama-server: llama.cpp serves
/// embeddings from a separate instance).
async fn app(completions: &Client<OpenAIConfig>, embeddings: &Client<OpenAIConfig>) -> Answers {
    let chat = completions
        .chat()
        .create(requests::chat("Say hello."))
        .await
        .expect("chat");
    let chunks = completions
        .chat()
        .create_stream(requests::chat("Count to three."))
        .await
        .expect("stream")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let embeddings = embeddings
        .embeddings()
        .create(requests::embeddings())
        .await
        .expect("embeddings");
    let response = match completions
        .responses()
        .create(requests::response("Say hello."))
        .await
    {
        Ok(response) => format!("{response:?}"),
        Err(err) => err.to_string(),
    };
    Answers {
        chat,
        chunks,
        embeddings,
        response,
    }
}

async fn server(
    mode: Mode,
    dir: &Path,
    upstream: Option<String>,
) -> recording_server::RunningServer {
    let server = RecordingServer::new().mode(mode).dir(dir);
    let server = match upstream {
        Some(url) => server.openai_upstream(url).openai_api_key("sk-e2e"),
        None => server,
    };
    server.start().await.expect("starts")
}

/// The response body of the one recording in `dir` made at `endpoint`.
fn recorded_answer(dir: &Path, endpoint: &str) -> Value {
    let mut answers = std::fs::read_dir(dir.join("responses"))
        .expect("recordings")
        .map(|entry| {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("readable");
            serde_json::from_slice::<Value>(&bytes).expect("a recording")
        })
        .filter(|file| file["request"]["endpoint"] == endpoint);
    let file = answers.next().expect("a recording at the endpoint");
    assert!(answers.next().is_none(), "one recording at {endpoint}");
    file["response"]["body"].clone()
}

fn service(mode: Mode, dir: &Path) -> RecordingHttpService {
    RecordingHttpService::new(Recording::new(()).mode(mode).dir(dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_async_openai_clients_record_then_replay_with_llama_server_gone() {
    let test = "unchanged_async_openai_clients_record_then_replay_with_llama_server_gone";
    let Some(mut completions) = LlamaServer::start_or_skip(Role::Completions, test) else {
        return;
    };
    let Some(mut embeddings) = LlamaServer::start_or_skip(Role::Embeddings, test) else {
        return;
    };
    let via_server = tempfile::tempdir().expect("tempdir");
    let via_service = tempfile::tempdir().expect("tempdir");

    // Record through the recording server: the app only changes its base URL.
    let chat_front = server(
        Mode::Record,
        via_server.path(),
        Some(completions.base_url()),
    )
    .await;
    let embed_front = server(Mode::Record, via_server.path(), Some(embeddings.base_url())).await;
    let recorded = app(
        &client(&chat_front.openai_url()),
        &client(&embed_front.openai_url()),
    )
    .await;
    chat_front.stop().await.expect("stops");
    embed_front.stop().await.expect("stops");
    assert!(recorded.chunks.len() > 1, "a real stream");
    assert_eq!(recorded.embeddings.data.len(), 2);
    assert!(
        recorded.chat.id.starts_with("rec-"),
        "normalized: {}",
        recorded.chat.id
    );
    let response = recorded_answer(via_server.path(), "/v1/responses");
    let response_id = response["id"].as_str().unwrap_or_default();
    assert!(response_id.starts_with("rec-"), "{response}");
    assert_eq!(response["created_at"], 0);
    assert!(
        response["output"][0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("msg_rec-"))
    );

    // Record through the HTTP service: the app only swaps its HTTP service.
    let by_service = app(
        &client(&completions.base_url())
            .with_http_service(service(Mode::Record, via_service.path())),
        &client(&embeddings.base_url())
            .with_http_service(service(Mode::Record, via_service.path())),
    )
    .await;
    assert_eq!(
        by_service, recorded,
        "a deterministic server: the same answers"
    );

    completions.stop();
    embeddings.stop();

    // Replay, llama-server gone: through a server without an upstream...
    let replay_front = server(Mode::Replay, via_server.path(), None).await;
    let replayed = app(
        &client(&replay_front.openai_url()),
        &client(&replay_front.openai_url()),
    )
    .await;
    assert_eq!(replayed, recorded);
    // ...through the HTTP service, with no server process at all...
    let gone = dead_base_url();
    let replayed = app(
        &client(&gone).with_http_service(service(Mode::Replay, via_service.path())),
        &client(&gone).with_http_service(service(Mode::Replay, via_service.path())),
    )
    .await;
    assert_eq!(replayed, recorded);
    // ...and across fronts: the server's recordings through the HTTP service.
    let crossed = app(
        &client(&gone).with_http_service(service(Mode::Replay, via_server.path())),
        &client(&gone).with_http_service(service(Mode::Replay, via_server.path())),
    )
    .await;
    assert_eq!(crossed, recorded);
}
