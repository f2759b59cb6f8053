//! End to end against a real llama.cpp `llama-server`'s `/v1/messages`: record through
//! the typed Messages API and `Recording<AnthropicClient>`, stop the server, replay;
//! and the files written are the committed ones (re-recording gives an empty diff).
//!
//! Skipped (and said so) without `LLAMA_SERVER_BIN` and `LLAMA_TEST_MODEL`; CI sets
//! them and `INFERENCE_RECORDER_REQUIRE_SERVERS=1`, so there it cannot skip.

use std::fs;
use std::path::Path;

use futures::StreamExt;
use provider_anthropic::types::{Message, StreamEvent, TokenCount};
use provider_anthropic::{AnthropicApi, AnthropicClient};
use recording_core::{Error, InferenceClient, Mode, Recording};
use serde_json::Value;
use tests::anthropic_requests as requests;
use tests::llama_server::{LlamaServer, Role};

#[derive(Debug, PartialEq)]
struct Results {
    message: Message,
    events: Vec<StreamEvent>,
    tool_use: Message,
    answer: Message,
    count: TokenCount,
    rejected: u16,
}

async fn run_suite(client: &dyn InferenceClient) -> Results {
    let message = client
        .message(requests::message("Say hello."))
        .await
        .expect("message");
    let events = client
        .message_stream(requests::message("Count to three."))
        .await
        .expect("stream")
        .map(|event| event.expect("an event"))
        .collect()
        .await;
    let tool_use = client
        .message(requests::tool_use())
        .await
        .expect("tool use");
    let call = tool_use.tool_uses().next().expect("a tool use").clone();
    let answer = client
        .message(requests::tool_result(&call, "18 C and sunny"))
        .await
        .expect("answer");
    let count = client
        .count_tokens(requests::message("Say hello."))
        .await
        .expect("count");
    let rejected = match client.message(requests::rejected()).await {
        Err(Error::Api { status, .. }) => status,
        other => panic!("expected a 400, got {other:?}"),
    };
    Results {
        message,
        events,
        tool_use,
        answer,
        count,
        rejected,
    }
}

/// A recording without its `request.url`, which names the server's port.
fn without_url(path: &Path) -> Value {
    let mut file: Value =
        serde_json::from_slice(&fs::read(path).expect("readable")).expect("a recording");
    if let Some(request) = file["request"].as_object_mut() {
        request.remove("url");
    }
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_against_llama_servers_messages_then_replay_with_it_gone() {
    let test = "record_against_llama_servers_messages_then_replay_with_it_gone";
    let Some(mut server) = LlamaServer::start_or_skip(Role::Completions, test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_url = server.base_url();
    let client = |mode| {
        Recording::new(AnthropicClient::new(&base_url, "sk-ant-e2e-not-real"))
            .mode(mode)
            .dir(dir.path())
    };
    let recorded = run_suite(&client(Mode::Record)).await;
    assert_eq!(recorded.rejected, 400);
    assert_eq!(recorded.tool_use.stop_reason.as_deref(), Some("tool_use"));
    assert!(matches!(
        recorded.events.first(),
        Some(StreamEvent::MessageStart { .. })
    ));
    assert_eq!(recorded.events.last(), Some(&StreamEvent::MessageStop));

    server.stop();
    let replayed = run_suite(&client(Mode::Replay)).await;
    assert_eq!(replayed, recorded, "replay gives what was recorded");

    // The same requests, recorded again from a fresh server, are the committed files.
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/responses");
    let mut compared = 0;
    for entry in fs::read_dir(dir.path().join("responses")).expect("recordings") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a name");
        let text = fs::read_to_string(&path).expect("readable");
        assert!(!text.contains("sk-ant-e2e-not-real"), "{}", path.display());
        assert_eq!(
            without_url(&path),
            without_url(&committed.join(name)),
            "{} differs from the committed recording: re-record it",
            path.display()
        );
        compared += 1;
    }
    assert_eq!(compared, 6, "message, stream, tool use, answer, count, 400");
}
