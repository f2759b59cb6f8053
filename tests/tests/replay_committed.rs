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
use recording_core::{ApiRequest, Error, InferenceClient, Recording};
use serde_json::Value;
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
    assert!(
        response.model.contains(requests::MODEL),
        "{}",
        response.model
    );
    let usage = response.usage.expect("llama-server reports usage");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert!(
        usage.completion_tokens <= 24,
        "max_completion_tokens was 24"
    );
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
    // SmolLM2-135M's hidden size.
    assert!(response.data.iter().all(|d| d.embedding.len() == 576));
    assert_ne!(response.data[0].embedding, response.data[1].embedding);
}

#[tokio::test]
async fn model_list() {
    let models = completions().list_models().await.expect("recorded");
    assert_eq!(models.object, "list");
    let served = models
        .data
        .iter()
        .find(|m| m.id == requests::MODEL)
        .expect("the served alias");
    assert_eq!(
        served.created, 0,
        "llama.cpp's fresh `created` is normalized"
    );
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

#[tokio::test]
async fn a_tool_calling_round_trip() {
    let client = completions();
    let asked = client.chat(requests::tool_call()).await.expect("recorded");
    let choice = &asked.choices[0];
    assert_eq!(
        choice.finish_reason,
        Some(provider_openai::types::chat::FinishReason::ToolCalls)
    );
    let calls = choice.message.tool_calls.as_ref().expect("a tool call");
    // The whole call as JSON: the follow-up request echoes it as sent.
    let call = serde_json::to_value(&calls[0]).expect("serializable");
    assert_eq!(call["function"]["name"], "get_weather", "the declared tool");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or(""))
            .expect("arguments that parse");
    assert!(arguments["city"].is_string(), "{arguments}");
    // The id is normalized, so the follow-up request hashes the same on every run.
    let id = call["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("call_rec-"), "{id}");

    let answered = client
        .chat(requests::tool_result(
            &call,
            r#"{"temperature_c": 21, "sky": "sunny"}"#,
        ))
        .await
        .expect("the follow-up, with the normalized id, is recorded too");
    let text = answered.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default();
    assert!(!text.is_empty());
}

#[tokio::test]
async fn a_multi_turn_conversation() {
    let client = completions();
    let first = client
        .chat(requests::conversation(None))
        .await
        .expect("recorded");
    let answer = first.choices[0].message.content.clone().expect("an answer");
    let second = client
        .chat(requests::conversation(Some(&answer)))
        .await
        .expect("the second turn, which carries the first answer, is recorded");
    assert!(
        second.choices[0]
            .message
            .content
            .as_deref()
            .is_some_and(|c| !c.is_empty())
    );
}

#[tokio::test]
async fn a_json_schema_answer_parses() {
    let response = completions()
        .chat(requests::json_answer())
        .await
        .expect("recorded");
    let text = response.choices[0]
        .message
        .content
        .clone()
        .expect("content");
    let answer: Value = serde_json::from_str(&text).expect("the answer is JSON");
    assert!(
        answer["country"].is_string() && answer["capital"].is_string(),
        "{answer}"
    );
}

#[tokio::test]
async fn the_responses_api_streamed_and_not() {
    let client = completions();
    let body = ApiRequest::body_of(&requests::response("Say hello.")).expect("body");
    let response = client
        .send(ApiRequest::post(provider_openai::RESPONSES, body.clone()))
        .await
        .expect("recorded")
        .into_json()
        .expect("a body");
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed");
    assert!(
        response["output"][0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("msg_rec-"))
    );

    let mut streamed = body;
    streamed["stream"] = Value::Bool(true);
    let events: Vec<Value> = client
        .send(ApiRequest::post(provider_openai::RESPONSES, streamed))
        .await
        .expect("recorded")
        .into_stream()
        .expect("a stream")
        .map(|event| event.expect("event"))
        .collect()
        .await;
    assert_eq!(
        events.first().map(|e| e["type"].clone()),
        Some("response.created".into())
    );
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some("response.completed".into())
    );
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert!(!text.is_empty());
}

#[tokio::test]
async fn base64_embeddings_decode_into_vectors() {
    let response = client("LLAMA_EMBEDDINGS_URL")
        .embeddings_base64(requests::embeddings())
        .await
        .expect("recorded");
    assert_eq!(response.data.len(), 2);
    let vectors: Vec<Vec<f32>> = response
        .data
        .iter()
        .map(|item| item.embedding.clone().into())
        .collect();
    assert!(vectors.iter().all(|v| v.len() == 576));
    // The same text, as floats, is the same vector.
    let floats = client("LLAMA_EMBEDDINGS_URL")
        .embeddings(requests::embeddings())
        .await
        .expect("recorded");
    assert_eq!(vectors[0], floats.data[0].embedding);
}

/// async-openai's Responses API types require fields that llama.cpp's `/v1/responses`
/// leaves out (`usage.output_tokens_details`; `created_at` in `response.created`), so
/// the typed calls, which work against OpenAI's own API, cannot decode these
/// recordings; the untyped test above replays them. What the typed calls do is fail
/// clearly: the recording and the missing field are named.
#[tokio::test]
async fn the_typed_responses_api_names_what_llama_cpp_leaves_out() {
    let client = completions();
    let err = client
        .response(requests::response("Say hello."))
        .await
        .expect_err("llama.cpp sends no output_tokens_details");
    let text = err.to_string();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        text.contains("recordings/responses/") && text.contains("`usage`"),
        "{text}"
    );
    assert!(text.contains("output_tokens_details"), "{text}");

    let mut events = client
        .response_stream(requests::response("Say hello."))
        .await
        .expect("the stream starts");
    let err = events
        .next()
        .await
        .expect("an event")
        .expect_err("response.created has no created_at");
    assert!(err.to_string().contains("created_at"), "{err}");
    assert!(
        events.next().await.is_none(),
        "the stream ends at its first error"
    );
}
