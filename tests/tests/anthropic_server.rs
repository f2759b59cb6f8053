//! Anthropic's Messages API through the recording server, against a loopback upstream
//! that sends the bytes a real llama-server sent (captured from its `/v1/messages`):
//! the stream goes back byte for byte, `event:` names included; a stream is recorded
//! only when it ends with `message_stop`; a 529, before or inside a stream, is never
//! recorded.

use std::fs;
use std::path::{Path, PathBuf};

use recording_core::Mode;
use recording_server::{RecordingServer, RunningServer};
use serde_json::{Value, json};
use tests::faulty_server::{Behaviour, FaultyServer, StreamEnd};

/// What llama-server streamed for "Say hello." with `max_tokens: 5`, event by event.
const CAPTURED: [&str; 10] = [
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"chatcmpl-RSK04KNeaq9x1XIEporJMnG2FALAYuVT\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"SmolLM2-135M-Instruct\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"cache_read_input_tokens\":0,\"input_tokens\":33,\"output_tokens\":0}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" I\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    "",
];

fn stream(chunks: &[&str]) -> Behaviour {
    Behaviour::Stream {
        content_type: "text/event-stream; charset=utf-8",
        chunks: chunks
            .iter()
            .filter(|chunk| !chunk.is_empty())
            .map(|chunk| (*chunk).to_owned())
            .collect(),
        end: StreamEnd::Complete,
    }
}

async fn front(dir: &Path, upstream: Option<&FaultyServer>) -> RunningServer {
    let server = RecordingServer::new().dir(dir);
    let server = match upstream {
        Some(upstream) => server
            .mode(Mode::Record)
            .anthropic_upstream(upstream.url())
            .anthropic_api_key("sk-ant-upstream-key-7"),
        None => server.mode(Mode::Replay),
    };
    server.start().await.expect("the server starts")
}

/// Posts a streamed message the way the Anthropic SDKs do; the status and raw body.
async fn post_stream(server: &RunningServer) -> (u16, Result<String, String>) {
    let response = tests::tls::reqwest_client()
        .post(format!("{}/v1/messages", server.anthropic_url()))
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", "sk-ant-client-key")
        .header("content-type", "application/json")
        .body(
            json!({"model": "SmolLM2-135M-Instruct", "max_tokens": 5, "stream": true,
                   "messages": [{"role": "user", "content": "Say hello."}]})
            .to_string(),
        )
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.map_err(|err| err.to_string()))
}

fn recordings(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir.join("responses"))
        .map(|entries| entries.map(|entry| entry.expect("entry").path()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_stream_goes_back_byte_for_byte_with_its_event_names() {
    let upstream = FaultyServer::start(stream(&CAPTURED)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = front(dir.path(), Some(&upstream)).await;
    let (status, live) = post_stream(&recording).await;
    assert_eq!(status, 200);
    recording.stop().await.expect("stops");
    let files = recordings(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let key = files[0]
        .file_stem()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    let file: Value = serde_json::from_slice(&fs::read(&files[0]).expect("read")).expect("json");
    assert_eq!(file["request"]["provider"], "anthropic");
    assert_eq!(file["request"]["endpoint"], "/v1/messages");
    let text = fs::read_to_string(&files[0]).expect("read");
    assert!(!text.contains("sk-ant-client-key") && !text.contains("sk-ant-upstream-key-7"));
    // What the server sent, its id normalized, is what the client got, and what replay
    // sends with no upstream at all.
    let sent = CAPTURED.concat().replace(
        "chatcmpl-RSK04KNeaq9x1XIEporJMnG2FALAYuVT",
        &format!("msg_rec-{}", &key[..12]),
    );
    assert_eq!(live.as_deref(), Ok(sent.as_str()));
    let replaying = front(dir.path(), None).await;
    let (status, replayed) = post_stream(&replaying).await;
    assert_eq!(status, 200);
    assert_eq!(replayed.as_deref(), Ok(sent.as_str()));
    // The client's key never reached the upstream: the server holds the key, and sends
    // it as Anthropic takes it.
    let requests = upstream.requests();
    let head = String::from_utf8_lossy(&requests[0]).to_lowercase();
    assert!(head.contains("post /v1/messages "), "{head}");
    assert!(head.contains("anthropic-version: 2023-06-01"), "{head}");
    assert!(!head.contains("sk-ant-client-key"), "{head}");
    assert!(head.contains("x-api-key: sk-ant-upstream-key-7"), "{head}");
}

#[tokio::test]
async fn a_stream_without_message_stop_is_cut_and_never_recorded() {
    let upstream = FaultyServer::start(stream(&CAPTURED[..8])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = front(dir.path(), Some(&upstream)).await;
    let (status, body) = post_stream(&server).await;
    assert_eq!(status, 200, "the status was sent before the end was known");
    assert!(
        body.is_err(),
        "the client sees a stream cut short: {body:?}"
    );
    server.stop().await.expect("stops");
    assert_eq!(recordings(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn an_overloaded_answer_is_passed_on_and_never_recorded() {
    let overloaded =
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let upstream = FaultyServer::start(Behaviour::Status(529, overloaded.to_owned())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = front(dir.path(), Some(&upstream)).await;
    let (status, body) = post_stream(&server).await;
    assert_eq!(status, 529);
    assert_eq!(body.as_deref(), Ok(overloaded));

    // The same error as an event inside the stream: framed as Anthropic frames it.
    let mut events = CAPTURED[..3].to_vec();
    let event = format!("event: error\ndata: {overloaded}\n\n");
    events.push(&event);
    upstream.set(stream(&events));
    let (status, body) = post_stream(&server).await;
    assert_eq!(status, 200);
    let body = body.expect("a stream that ends in its error event");
    assert!(body.ends_with(&event), "{body}");
    server.stop().await.expect("stops");
    assert_eq!(
        recordings(dir.path()),
        Vec::<PathBuf>::new(),
        "529 is transient"
    );
}

#[tokio::test]
async fn the_model_list_is_anthropics_by_mount_or_header_and_openais_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = front(dir.path(), None).await;
    let get = |url: String, header: bool| async move {
        let request = tests::tls::reqwest_client().get(url);
        let request = if header {
            request.header("anthropic-version", "2023-06-01")
        } else {
            request
        };
        let response = request.send().await.expect("an answer");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("json");
        (status, body)
    };
    // Misses, each in its provider's error shape.
    let (status, body) = get(format!("{}/v1/models", server.anthropic_url()), false).await;
    assert_eq!((status, &body["type"]), (404, &json!("error")), "{body}");
    let (_, body) = get(format!("{}/models", server.openai_url()), true).await;
    assert_eq!(body["type"], "error", "the header: {body}");
    let (_, body) = get(format!("{}/models", server.openai_url()), false).await;
    assert!(
        body["error"]["code"].is_string() && body.get("type").is_none(),
        "{body}"
    );
    server.stop().await.expect("stops");
}
