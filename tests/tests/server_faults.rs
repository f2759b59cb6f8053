//! Faults on top of the committed recordings, through the recording server (the
//! `X-Recording-Fault` header and a default plan) and async-openai's HTTP service:
//! the injected errors in each provider's own shape, streams cut, reset, ended by the
//! provider's error event or a malformed chunk, as a client reads them on the wire.
//!
//! The bodies are those the providers document: OpenAI's "Error codes" (429
//! `rate_limit_exceeded` with `x-ratelimit-*`), Anthropic's "Errors" (`rate_limit_error`,
//! 529 `overloaded_error`, and the streaming reference's `event: error`).

use std::path::{Path, PathBuf};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::middleware::retry::OpenAIRetryLayer;
use provider_openai::RecordingHttpService;
use recording_core::fault::FaultPlan;
use recording_core::{Mode, Recording};
use recording_server::{RecordingServer, RunningServer};
use serde_json::Value;
use tests::requests;
use tower::Layer;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings")
}

/// The request body of the committed recording whose key starts with `prefix`.
fn recorded_body(prefix: &str) -> Value {
    let dir = committed().join("responses");
    let path = std::fs::read_dir(&dir)
        .expect("committed recordings")
        .map(|entry| entry.expect("entry").path())
        .find(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no recording {prefix}"));
    let file: Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    file["request"]["body"].clone()
}

/// The OpenAI stream "Count to three." (26 chunks) and Anthropic's (29 events).
const OPENAI_STREAM: &str = "e910118fcaa1";
const ANTHROPIC_STREAM: &str = "58c4f139065a";
const OPENAI_CHAT: &str = "4aa6ca0ee9ba";

async fn server(recorder: Recording<()>) -> RunningServer {
    RecordingServer::new()
        .recorder(recorder.mode(Mode::Replay).dir(committed()))
        .start()
        .await
        .expect("the server starts")
}

/// One POST to `path` with `fault` in the header; the status, headers and body text
/// (`Err` when the connection broke mid-body).
async fn post(
    server: &RunningServer,
    path: &str,
    body: &Value,
    fault: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Result<String, String>) {
    try_post(server, path, body, fault).await.expect("answered")
}

/// [`post`], or `Err` when the connection broke before the head arrived.
async fn try_post(
    server: &RunningServer,
    path: &str,
    body: &Value,
    fault: Option<&str>,
) -> Result<(u16, reqwest::header::HeaderMap, Result<String, String>), String> {
    let mut request = tests::tls::reqwest_client()
        .post(format!("{}{path}", server.url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if path.starts_with("/anthropic") {
        request = request.header("anthropic-version", "2023-06-01");
    }
    if let Some(fault) = fault {
        request = request.header("x-recording-fault", fault);
    }
    let response = request.send().await.map_err(|err| err.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.map_err(|err| err.to_string());
    Ok((status, headers, text))
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("data: "))
        .collect()
}

#[tokio::test]
async fn a_status_fault_is_the_providers_own_error() {
    let server = server(Recording::new(())).await;
    let chat = recorded_body(OPENAI_CHAT);
    let (status, headers, text) =
        post(&server, "/v1/chat/completions", &chat, Some("status=429")).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
    let body: Value = serde_json::from_str(&text.expect("a body")).expect("json");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");

    let message = recorded_body(ANTHROPIC_STREAM);
    let (status, headers, text) = post(
        &server,
        "/anthropic/v1/messages",
        &message,
        Some("status=529"),
    )
    .await;
    assert_eq!(status, 529);
    assert_eq!(headers["retry-after"], "1");
    let body: Value = serde_json::from_str(&text.expect("a body")).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );
    let (status, headers, _) = post(
        &server,
        "/anthropic/v1/messages",
        &message,
        Some("status=429;retry-after=3"),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "3");
    assert!(headers.contains_key("anthropic-ratelimit-requests-remaining"));

    // Without the header, the recording.
    let (status, _, _) = post(&server, "/v1/chat/completions", &chat, None).await;
    assert_eq!(status, 200);
    let (status, _, text) = post(
        &server,
        "/v1/chat/completions",
        &chat,
        Some("status=429;cal=1"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        text.expect("a body").contains("\\\"cal=1\\\": unknown"),
        "a bad part is named"
    );
    server.stop().await.expect("stopped");
}

#[tokio::test]
async fn streams_end_on_the_wire_as_the_fault_says() {
    let server = server(Recording::new(())).await;
    let chat = recorded_body(OPENAI_STREAM);
    let (_, _, whole) = post(&server, "/v1/chat/completions", &chat, None).await;
    let whole = whole.expect("a stream");
    assert!(whole.ends_with("data: [DONE]\n\n"));
    assert_eq!(data_lines(&whole).len(), 27, "26 chunks and the end marker");

    let (status, _, cut) = post(&server, "/v1/chat/completions", &chat, Some("cut=2")).await;
    assert_eq!(status, 200);
    let cut = cut.expect("a clean end");
    assert_eq!(data_lines(&cut), data_lines(&whole)[..2].to_vec());
    assert!(!cut.contains("[DONE]"), "no end marker: {cut}");

    // The connection breaks: before the head reached the client, or in the body.
    let reset = try_post(&server, "/v1/chat/completions", &chat, Some("reset=2")).await;
    assert!(
        reset.as_ref().is_err() || reset.as_ref().is_ok_and(|(_, _, text)| text.is_err()),
        "{reset:?}"
    );

    let (_, _, failed) = post(&server, "/v1/chat/completions", &chat, Some("error=2")).await;
    let failed = failed.expect("a stream");
    let lines = data_lines(&failed);
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with(r#"data: {"error":{"#), "{failed}");

    let (_, _, malformed) = post(&server, "/v1/chat/completions", &chat, Some("malformed=1")).await;
    let malformed = malformed.expect("a stream");
    let lines = data_lines(&malformed);
    assert_eq!(lines.len(), 2);
    assert!(
        serde_json::from_str::<Value>(&lines[1]["data: ".len()..]).is_err(),
        "{malformed}"
    );

    let message = recorded_body(ANTHROPIC_STREAM);
    let (_, _, events) = post(&server, "/anthropic/v1/messages", &message, Some("error=3")).await;
    let events = events.expect("a stream");
    assert!(events.ends_with("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"), "{events}");
    let (_, _, cut) = post(&server, "/anthropic/v1/messages", &message, Some("cut=3")).await;
    let cut = cut.expect("a clean end");
    assert_eq!(data_lines(&cut).len(), 3);
    assert!(!cut.contains("message_stop"));
    server.stop().await.expect("stopped");
}

#[tokio::test]
async fn a_default_plan_fails_the_first_call_and_answers_the_retry() {
    let plan: FaultPlan = "status=500;call=1".parse().expect("a plan");
    let server = server(Recording::new(()).faults(plan)).await;
    let chat = recorded_body(OPENAI_CHAT);
    let (first, _, _) = post(&server, "/v1/chat/completions", &chat, None).await;
    let (second, _, _) = post(&server, "/v1/chat/completions", &chat, None).await;
    assert_eq!((first, second), (500, 200));
    server.stop().await.expect("stopped");
}

#[tokio::test]
async fn async_openai_retries_an_injected_429_into_the_recorded_answer() {
    tests::tls::install();
    let recorder = Recording::new(()).dir(committed()).faults(
        "status=429;retry-after=0;call=1"
            .parse::<FaultPlan>()
            .expect("a plan"),
    );
    let service = OpenAIRetryLayer::new(2).layer(RecordingHttpService::new(recorder));
    let client = Client::with_config(OpenAIConfig::new().with_api_key("sk-unused"))
        .with_http_service(service);
    let answer = client
        .chat()
        .create(requests::chat("Say hello."))
        .await
        .expect("the retry gets the recording");
    assert!(
        answer.choices[0]
            .message
            .content
            .as_deref()
            .is_some_and(|text| !text.is_empty())
    );

    // Without the retry layer, the app sees the rate limit.
    let recorder = Recording::new(())
        .dir(committed())
        .faults("status=429;call=1".parse::<FaultPlan>().expect("a plan"));
    let bare = Client::with_config(OpenAIConfig::new().with_api_key("sk-unused"))
        .with_http_service(RecordingHttpService::new(recorder));
    let err = bare
        .chat()
        .create(requests::chat("Say hello."))
        .await
        .expect_err("a 429");
    assert!(err.to_string().contains("Rate limit reached"), "{err}");
}

#[tokio::test]
async fn an_async_openai_stream_cut_after_two_chunks_ends_there() {
    use futures::StreamExt;
    tests::tls::install();
    let stream_of = |faults: Option<&str>| {
        let mut recorder = Recording::new(()).dir(committed());
        if let Some(plan) = faults {
            recorder = recorder.faults(plan.parse::<FaultPlan>().expect("a plan"));
        }
        Client::with_config(OpenAIConfig::new().with_api_key("sk-unused"))
            .with_http_service(RecordingHttpService::new(recorder))
    };
    let collect = |client: Client<OpenAIConfig>| async move {
        let mut request = requests::chat("Count to three.");
        request.stream = Some(true);
        let stream = client
            .chat()
            .create_stream(request)
            .await
            .expect("a stream");
        stream.collect::<Vec<_>>().await
    };
    let whole = collect(stream_of(None)).await;
    assert_eq!(whole.len(), 26);
    let cut = collect(stream_of(Some("cut=2"))).await;
    // As against a server that closes the stream without `data: [DONE]`.
    assert_eq!(cut.len(), 2, "{cut:?}");
    assert!(cut.iter().all(Result::is_ok), "{cut:?}");
    let reset = collect(stream_of(Some("reset=2"))).await;
    assert!(reset.iter().take(2).all(Result::is_ok));
    assert!(reset.get(2).is_some_and(Result::is_err), "{reset:?}");
}

#[tokio::test]
async fn delays_hold_the_answer_and_the_first_chunk_back() {
    let server = server(Recording::new(())).await;
    let (chat, stream) = (recorded_body(OPENAI_CHAT), recorded_body(OPENAI_STREAM));
    for (body, fault) in [(&chat, "delay=300ms"), (&stream, "first-chunk=300ms")] {
        let started = std::time::Instant::now();
        let (status, _, text) = post(&server, "/v1/chat/completions", body, Some(fault)).await;
        assert_eq!(status, 200, "{fault}");
        assert!(text.is_ok(), "{fault}: the whole answer, late");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(300),
            "{fault}"
        );
    }
    server.stop().await.expect("stopped");
}

#[tokio::test]
async fn async_openai_reads_an_error_event_and_a_malformed_chunk_as_errors() {
    use futures::StreamExt;
    tests::tls::install();
    for (fault, says) in [("error=2", "server had an error"), ("malformed=2", "")] {
        let recorder = Recording::new(())
            .dir(committed())
            .faults(fault.parse::<FaultPlan>().expect("a plan"));
        let client = Client::with_config(OpenAIConfig::new().with_api_key("sk-unused"))
            .with_http_service(RecordingHttpService::new(recorder));
        let mut request = requests::chat("Count to three.");
        request.stream = Some(true);
        let items: Vec<_> = client
            .chat()
            .create_stream(request)
            .await
            .expect("a stream")
            .collect()
            .await;
        assert!(
            items.iter().take(2).all(Result::is_ok),
            "{fault}: {items:?}"
        );
        match items.get(2) {
            Some(Err(err)) => assert!(err.to_string().contains(says), "{fault}: {err}"),
            other => panic!("{fault}: the third item is the error: {other:?}"),
        }
    }
}
