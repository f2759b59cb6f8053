//! Replays the committed recordings in `tests/recordings/` (real llama.cpp server
//! output) through the typed OpenAI API: every endpoint, streaming included. No
//! server is needed, so every `cargo test` exercises real wire data.
//!
//! This file is also how those recordings are made, in the workflow users follow:
//!
//! ```sh
//! scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record \
//!     cargo test -p tests --test replay_committed
//! ```
//!
//! `with-llama-servers.sh` starts the servers and sets `LLAMA_CHAT_URL` and
//! `LLAMA_EMBEDDINGS_URL`; without them the clients point at a closed port, which
//! replay never contacts.

use futures::StreamExt;
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{ApiRequest, Error, Recording};
use tests::llama_server::dead_base_url;
use tests::requests;

fn client(url_env: &str) -> Recording<OpenAiClient> {
    let url = std::env::var(url_env).unwrap_or_else(|_| dead_base_url());
    Recording::from_env(OpenAiClient::with_base_url(url, "sk-unused"))
        .unwrap_or_else(|err| panic!("{err}"))
}

fn completions() -> Recording<OpenAiClient> {
    client("LLAMA_CHAT_URL")
}

#[tokio::test]
async fn chat_completion() {
    let client = completions();
    let request = requests::chat("Say hello.");
    let hash = client.hash_of(&ApiRequest::post(
        "/v1/chat/completions",
        ApiRequest::body_of(&request).expect("body"),
    ));
    let response = client.chat(request).await.expect("recorded");
    assert_eq!(response.id, format!("rec-{}", &hash[..12]));
    assert_eq!(response.created, 0);
    assert_eq!(response.object, "chat.completion");
    assert!(response.model.contains("tiny"), "{}", response.model);
    let usage = response.usage.expect("llama-server reports usage");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert!(usage.completion_tokens <= 8, "max_completion_tokens was 8");
    assert!(
        response.choices[0]
            .message
            .content
            .as_deref()
            .is_some_and(|c| !c.is_empty())
    );
}

#[tokio::test]
async fn streamed_chat_completion() {
    let chunks: Vec<_> = completions()
        .chat_stream(requests::chat("Count to three."))
        .await
        .expect("recorded")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    assert!(chunks.len() > 2, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"));
    assert!(
        chunks.windows(2).all(|w| w[0].id == w[1].id),
        "one id for the whole stream"
    );
    let finished: Vec<_> = chunks
        .iter()
        .filter_map(|c| c.choices.first().and_then(|choice| choice.finish_reason))
        .collect();
    assert_eq!(finished.len(), 1, "exactly one chunk finishes the stream");
}

#[tokio::test]
async fn legacy_completion_and_its_stream() {
    let client = completions();
    let response = client
        .completion(requests::completion("Once upon a time"))
        .await
        .expect("recorded");
    assert_eq!(response.object, "text_completion");
    assert!(!response.choices[0].text.is_empty());
    let chunks: Vec<_> = client
        .completion_stream(requests::completion("The quick brown fox"))
        .await
        .expect("recorded")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    assert!(chunks.len() > 2, "{} chunks", chunks.len());
    let text: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter().map(|ch| ch.text.clone()))
        .collect();
    assert!(!text.is_empty());
}

#[tokio::test]
async fn embeddings() {
    let response = client("LLAMA_EMBEDDINGS_URL")
        .embeddings(requests::embeddings())
        .await
        .expect("recorded");
    assert_eq!(response.data.len(), 2);
    assert!(response.data.iter().all(|d| d.embedding.len() == 64));
    assert_ne!(response.data[0].embedding, response.data[1].embedding);
}

#[tokio::test]
async fn model_list() {
    let models = completions().list_models().await.expect("recorded");
    assert_eq!(models.object, "list");
    let tiny = models
        .data
        .iter()
        .find(|m| m.id == "tiny")
        .expect("the served alias");
    assert_eq!(tiny.created, 0, "llama.cpp's fresh `created` is normalized");
}

#[tokio::test]
async fn a_rejected_request_replays_as_the_same_api_error() {
    match completions().completion(requests::rejected()).await {
        Err(Error::Api { status, body, .. }) => {
            assert_eq!(status, 400);
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{body}");
        }
        other => panic!("expected the recorded 400, got {other:?}"),
    }
}
