//! Replays the committed Anthropic recordings in `tests/recordings/` (real llama.cpp
//! server output from its `/v1/messages`) through the typed Messages API: a message
//! with a system prompt, a streamed message, a forced tool use and the follow-up that
//! carries its result, a token count, the model list and a rejected request.
//!
//! This file is also how those recordings are made, as for the OpenAI ones:
//!
//! ```sh
//! scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record \
//!     cargo test -p tests --test replay_committed_anthropic
//! ```

use futures::StreamExt;
use provider_anthropic::types::{ContentBlock, MessageRequest, StreamEvent};
use provider_anthropic::{AnthropicApi, AnthropicClient};
use recording_core::{ApiRequest, Error, InferenceClient, Recording};
use serde_json::{Value, json};
use tests::anthropic_requests as requests;
use tests::llama_server::dead_base_url;

/// llama-server's root: `LLAMA_CHAT_URL` names its OpenAI base (with `/v1`), which the
/// client takes too.
fn client() -> Recording<AnthropicClient> {
    let url = std::env::var("LLAMA_CHAT_URL").unwrap_or_else(|_| dead_base_url());
    Recording::from_env(AnthropicClient::new(url, "sk-ant-unused"))
        .unwrap_or_else(|err| panic!("{err}"))
}

fn key_of(client: &Recording<AnthropicClient>, request: &MessageRequest) -> String {
    client.hash_of(&ApiRequest::post(
        provider_anthropic::MESSAGES,
        ApiRequest::body_of(request).expect("a body"),
    ))
}

#[tokio::test]
async fn a_message_with_a_system_prompt() {
    let client = client();
    let request = requests::message("Say hello.");
    let key = key_of(&client, &request);
    let message = client.message(request.clone()).await.expect("recorded");
    assert_eq!(message.id, format!("msg_rec-{}", &key[..12]));
    assert_eq!(message.kind, "message");
    assert_eq!(message.role, "assistant");
    assert_eq!(message.model, requests::MODEL);
    assert!(!message.text().is_empty(), "{message:?}");
    let output = message.usage.output_tokens.expect("counted");
    assert!(output > 0 && output <= 24, "max_tokens was 24: {output}");
    assert!(message.usage.input_tokens.is_some_and(|n| n > 0));
    // The types keep every field: the body read and written back is the recording's.
    let recorded = client
        .send(ApiRequest::post(
            provider_anthropic::MESSAGES,
            ApiRequest::body_of(&request).expect("body"),
        ))
        .await
        .expect("recorded")
        .into_json()
        .expect("a body");
    assert_eq!(
        serde_json::to_value(&message).expect("serializable"),
        recorded
    );
}

#[tokio::test]
async fn a_streamed_message() {
    let client = client();
    let mut request = requests::message("Count to three.");
    let events: Vec<StreamEvent> = client
        .message_stream(request.clone())
        .await
        .expect("recorded")
        .map(|event| event.expect("an event"))
        .collect()
        .await;
    request.stream = Some(true);
    let key = key_of(&client, &request);
    let Some(StreamEvent::MessageStart { message }) = events.first() else {
        panic!("message_start first: {events:?}");
    };
    assert_eq!(message.id, format!("msg_rec-{}", &key[..12]));
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop));
    let text: String = events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::ContentBlockDelta { delta, .. } => delta.text.clone(),
            _ => None,
        })
        .collect();
    assert!(!text.is_empty(), "{events:?}");
    assert!(
        events
            .iter()
            .any(|event| matches!(event, StreamEvent::MessageDelta { delta, .. } if delta["stop_reason"].is_string())),
        "{events:?}"
    );
    // Each typed event writes back as the recorded chunk.
    let chunks = client
        .send(ApiRequest::post(
            provider_anthropic::MESSAGES,
            ApiRequest::body_of(&request).expect("body"),
        ))
        .await
        .expect("recorded")
        .into_stream()
        .expect("a stream")
        .collect::<Vec<_>>()
        .await;
    let chunks: Vec<Value> = chunks.into_iter().map(|c| c.expect("a chunk")).collect();
    let written: Vec<Value> = events
        .iter()
        .map(|event| serde_json::to_value(event).expect("serializable"))
        .collect();
    assert_eq!(written, chunks);
}

#[tokio::test]
async fn a_tool_use_round_trip() {
    let client = client();
    let request = requests::tool_use();
    let key = key_of(&client, &request);
    let asked = client.message(request).await.expect("recorded");
    assert_eq!(asked.stop_reason.as_deref(), Some("tool_use"));
    let call: &ContentBlock = asked.tool_uses().next().expect("a tool use");
    assert_eq!(
        call.name.as_deref(),
        Some("get_weather"),
        "the declared tool"
    );
    assert!(
        call.input
            .as_ref()
            .is_some_and(|input| input["city"].is_string()),
        "{call:?}"
    );
    // Derived from the key, so the follow-up that echoes it has the same key each run.
    assert_eq!(
        call.id.as_deref(),
        Some(format!("toolu_rec-{}-0", &key[..12]).as_str())
    );
    let follow_up = requests::tool_result(call, "18 C and sunny");
    let answer = client.message(follow_up).await.expect("recorded");
    assert!(!answer.text().is_empty(), "{answer:?}");
    assert_eq!(answer.tool_uses().count(), 0, "tool_choice none");
}

#[tokio::test]
async fn a_token_count_and_the_model_list() {
    let client = client();
    let count = client
        .count_tokens(requests::message("Say hello."))
        .await
        .expect("recorded");
    assert!(count.input_tokens > 0);
    let models = client.models().await.expect("recorded");
    assert!(
        models.data.iter().any(|model| model.id == requests::MODEL),
        "{models:?}"
    );
    // llama-server's model time is the request's: zeroed, so re-recording is quiet.
    assert!(
        models
            .data
            .iter()
            .all(|model| model.extra.get("created") == Some(&json!(0)))
    );
}

#[tokio::test]
async fn a_rejected_request_replays_as_the_same_api_error() {
    match client().message(requests::rejected()).await {
        Err(Error::Api { status, body, .. }) => {
            assert_eq!(status, 400);
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("context"), "{body}");
        }
        other => panic!("expected the recorded 400, got {other:?}"),
    }
}
