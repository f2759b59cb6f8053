//! Apps that keep their own clients record and replay: an unchanged
//! `async_openai::Client` and `ollama_rs::Ollama` pointed at the recording server, and
//! async-openai with `RecordingHttpService` swapped in. One engine, one format: what
//! one front records, the others replay, under the same key.

use std::fs;
use std::path::{Path, PathBuf};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use futures::StreamExt;
use provider_ollama::ollama_rs::Ollama;
use provider_ollama::ollama_rs::generation::chat::ChatMessage;
use provider_ollama::ollama_rs::generation::chat::request::ChatMessageRequest;
use provider_openai::{OpenAiApi, OpenAiClient, RecordingHttpService};
use recording_core::{ApiRequest, InferenceClient, Mode, Recording};
use recording_server::{RecordingServer, SCOPE_HEADER};
use serde_json::{Value, json};
use tests::captured_ollama::{CapturedOllama, chunk_lines, fixture_body};
use tests::faulty_server::{Behaviour, FaultyServer, StreamEnd};
use tests::llama_server::dead_base_url;
use tests::{ollama_requests, requests};

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings")
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("responses"))
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn openai_at(base: &str) -> Client<OpenAIConfig> {
    tests::tls::install();
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key("sk-unused"),
    )
}

/// The typed API's replay of the committed recordings: what every front must match.
fn typed_replay() -> Recording<OpenAiClient> {
    Recording::new(OpenAiClient::with_base_url(dead_base_url(), "sk-unused"))
        .mode(Mode::Replay)
        .dir(committed())
}

async fn same_answers_as_the_typed_api(client: &Client<OpenAIConfig>) {
    let typed = typed_replay();
    let chat = client
        .chat()
        .create(requests::chat("Say hello."))
        .await
        .expect("chat replayed");
    assert_eq!(
        chat,
        typed
            .chat(requests::chat("Say hello."))
            .await
            .expect("typed")
    );

    // As an app writes it: async-openai's `create_stream` sets `"stream": true` itself
    // (it would not if the recorder turned on async-openai's `byot` feature).
    let chunks: Vec<_> = client
        .chat()
        .create_stream(requests::chat("Count to three."))
        .await
        .expect("stream replayed")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let expected: Vec<_> = typed
        .chat_stream(requests::chat("Count to three."))
        .await
        .expect("typed")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    assert!(chunks.len() > 1);
    assert_eq!(chunks, expected);

    let embeddings = client
        .embeddings()
        .create(requests::embeddings())
        .await
        .expect("embeddings replayed");
    assert_eq!(
        embeddings,
        typed
            .embeddings(requests::embeddings())
            .await
            .expect("typed")
    );
}

#[tokio::test]
async fn an_unchanged_async_openai_client_replays_through_the_server() {
    let server = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(committed())
        .start()
        .await
        .expect("starts");
    same_answers_as_the_typed_api(&openai_at(&server.openai_url())).await;

    // A miss reaches the app as an API error that explains itself.
    let err = openai_at(&server.openai_url())
        .chat()
        .create(requests::chat("Something never recorded"))
        .await
        .expect_err("a miss");
    let text = err.to_string();
    assert!(
        text.contains("TEST_INFERENCE_MODE=record-if-missing"),
        "{text}"
    );
}

#[tokio::test]
async fn async_openai_with_the_http_service_replays_without_a_socket() {
    let service = RecordingHttpService::new(Recording::new(()).mode(Mode::Replay).dir(committed()));
    // The base URL is never contacted in replay.
    let client = openai_at(&dead_base_url()).with_http_service(service);
    same_answers_as_the_typed_api(&client).await;
}

#[tokio::test]
async fn what_one_front_records_the_others_replay_under_the_same_key() {
    let upstream = FaultyServer::start(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let request = requests::chat("Hello?");
    let key = typed_replay().hash_of(&ApiRequest::post(
        "/v1/chat/completions",
        ApiRequest::body_of(&request).expect("body"),
    ));

    // Recorded through the server...
    let server = RecordingServer::new()
        .mode(Mode::Record)
        .dir(dir.path())
        .openai_upstream(format!("{}/v1", upstream.url()))
        .start()
        .await
        .expect("starts");
    let through_server = openai_at(&server.openai_url())
        .chat()
        .create(request.clone())
        .await
        .expect("recorded");
    server.stop().await.expect("stops");
    assert_eq!(files(dir.path()), [format!("{key}.json")]);
    let recorded =
        fs::read(dir.path().join("responses").join(format!("{key}.json"))).expect("the file");

    // ...replays through the typed API and through the HTTP service.
    let typed = Recording::new(OpenAiClient::with_base_url(dead_base_url(), "sk-unused"))
        .mode(Mode::Replay)
        .dir(dir.path());
    assert_eq!(
        typed.chat(request.clone()).await.expect("hit"),
        through_server
    );
    let service = RecordingHttpService::new(Recording::new(()).mode(Mode::Replay).dir(dir.path()));
    let via_service = openai_at(&dead_base_url())
        .with_http_service(service)
        .chat()
        .create(request.clone())
        .await
        .expect("hit");
    assert_eq!(via_service, through_server);

    // Recorded through the HTTP service, the same file, byte for byte.
    let again = tempfile::tempdir().expect("tempdir");
    let service =
        RecordingHttpService::new(Recording::new(()).mode(Mode::Record).dir(again.path()));
    openai_at(&format!("{}/v1", upstream.url()))
        .with_http_service(service)
        .chat()
        .create(request)
        .await
        .expect("recorded");
    let by_service =
        fs::read(again.path().join("responses").join(format!("{key}.json"))).expect("the same key");
    let without_url = |bytes: &[u8]| {
        let mut value: Value = serde_json::from_slice(bytes).expect("json");
        value["request"]["url"] = Value::Null;
        value
    };
    assert_eq!(without_url(&by_service), without_url(&recorded));
}

#[tokio::test]
async fn an_unchanged_ollama_client_records_and_replays_through_the_server() {
    let stand_in = CapturedOllama::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .mode(Mode::Record)
        .dir(dir.path())
        .ollama_upstream(stand_in.host())
        .start()
        .await
        .expect("starts");
    let chat = || {
        ChatMessageRequest::new(
            "llama3.2:3b-instruct-fp16".into(),
            vec![ChatMessage::user(
                "Give me a sentence with the word hello".into(),
            )],
        )
    };
    async fn run(url: &str, chat: &dyn Fn() -> ChatMessageRequest) -> (String, String, String) {
        let ollama = Ollama::try_new(url).expect("url");
        let generated = ollama
            .generate(ollama_requests::guard())
            .await
            .expect("generate");
        let answer = ollama.send_chat_messages(chat()).await.expect("chat");
        let streamed: Vec<_> = ollama
            .send_chat_messages_stream(chat())
            .await
            .expect("chat stream")
            .collect()
            .await;
        let text: String = streamed
            .into_iter()
            .map(|chunk| chunk.expect("chunk").message.content)
            .collect();
        (generated.response, answer.message.content, text)
    }
    let recorded = run(&server.ollama_url(), &chat).await;
    server.stop().await.expect("stops");
    assert_eq!(files(dir.path()).len(), 3);
    assert_eq!(recorded.0, fixture_body("e96152610712.json")["response"]);
    assert!(
        recorded.2.contains("hello") || recorded.2.contains("Hello"),
        "{}",
        recorded.2
    );

    stand_in.stop().await;
    let server = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("starts");
    assert_eq!(run(&server.ollama_url(), &chat).await, recorded);
}

/// A raw HTTP request to the server: status and body text.
/// A POST with only the JSON content type every SDK sends.
async fn post(url: &str, body: Vec<u8>) -> (u16, String) {
    raw("POST", url, &[], body).await
}

async fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, String) {
    let client = tests::tls::reqwest_client();
    let mut request = client
        .request(method.parse().expect("method"), url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

#[tokio::test]
async fn bad_requests_get_clear_http_errors_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .mode(Mode::Record)
        .dir(dir.path())
        .max_body(4096)
        .start()
        .await
        .expect("starts");
    let url = server.url();
    let chat = format!("{url}/v1/chat/completions");

    let (status, text) = raw("POST", &chat, &[], b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert!(text.contains("is not JSON"), "{text}");

    let (status, text) = raw("POST", &format!("{url}/nowhere"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 404);
    assert!(
        text.contains("/v1/*") && text.contains("/nowhere"),
        "{text}"
    );

    let (status, _) = raw("PUT", &chat, &[], b"{}".to_vec()).await;
    assert_eq!(status, 405);

    let big = format!(r#"{{"model": "m", "prompt": "{}"}}"#, "x".repeat(8192));
    let (status, _) = raw("POST", &chat, &[], big.into_bytes()).await;
    assert_eq!(status, 413);

    // Record mode without an upstream: a 4xx that says what to do.
    let (status, text) = raw("POST", &chat, &[], br#"{"model": "m"}"#.to_vec()).await;
    assert_eq!(status, 400);
    assert!(text.contains("--openai-upstream"), "{text}");
    let (status, text) = post(
        &format!("{url}/api/generate"),
        br#"{"model": "m"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("--ollama-upstream"), "{text}");
    assert!(files(dir.path()).is_empty());

    // A miss in replay mode is a 404 that explains itself, in the provider's shape.
    let replay = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("starts");
    let (status, text) = post(
        &format!("{}/v1/chat/completions", replay.url()),
        br#"{"model": "m"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["error"]["type"], "replay_miss");
    let (status, text) = post(
        &format!("{}/api/chat", replay.url()),
        br#"{"model": "m"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&text).expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("/api/chat")),
        "{body}"
    );
}

#[tokio::test]
async fn a_scope_header_records_a_request_per_scope() {
    let upstream = FaultyServer::start(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .openai_upstream(format!("{}/v1", upstream.url()))
        .start()
        .await
        .expect("starts");
    let chat = format!("{}/v1/chat/completions", server.url());
    let body = br#"{"model": "m", "messages": []}"#.to_vec();
    for scope in ["test_a", "test_b", "test_a"] {
        let (status, _) = raw("POST", &chat, &[(SCOPE_HEADER, scope)], body.clone()).await;
        assert_eq!(status, 200);
    }
    assert_eq!(files(dir.path()).len(), 2, "one recording per scope");
    assert_eq!(
        upstream.requests().len(),
        2,
        "the second test_a call replayed"
    );
    let scoped = Recording::new(OpenAiClient::with_base_url(dead_base_url(), "k"))
        .mode(Mode::Replay)
        .dir(dir.path())
        .scope("test_b");
    let request = ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "messages": []}),
    );
    scoped
        .send(request)
        .await
        .expect("the typed API finds the scoped recording");
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_leaves_a_whole_recording() {
    let chunks = fixture_body("0fad19b9d308.json");
    let mut events: Vec<String> = chunk_lines(&chunks)
        .into_iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .collect();
    events.push("data: [DONE]\n\n".into());
    let upstream = FaultyServer::start(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: events,
        end: StreamEnd::Complete,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .mode(Mode::Record)
        .dir(dir.path())
        .openai_upstream(format!("{}/v1", upstream.url()))
        .start()
        .await
        .expect("starts");
    let response = tests::tls::reqwest_client()
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("content-type", "application/json")
        .body(r#"{"model": "m", "stream": true}"#)
        .send()
        .await
        .expect("starts");
    let mut body = response.bytes_stream();
    body.next().await.expect("a first chunk").expect("bytes");
    drop(body);
    server
        .stop()
        .await
        .expect("stops after the stream is recorded");

    let names = files(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    let file: Value = serde_json::from_slice(
        &fs::read(dir.path().join("responses").join(&names[0])).expect("read"),
    )
    .expect("a whole JSON file");
    assert_eq!(
        file["response"]["body"].as_array().map(Vec::len),
        chunks.as_array().map(Vec::len),
        "every chunk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_at_once_all_get_their_answer() {
    let server = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(committed())
        .start()
        .await
        .expect("starts");
    let expected = typed_replay()
        .chat(requests::chat("Say hello."))
        .await
        .expect("typed");
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let client = openai_at(&server.openai_url());
            tokio::spawn(async move { client.chat().create(requests::chat("Say hello.")).await })
        })
        .collect();
    for task in tasks {
        let answer = task.await.expect("joined").expect("answered");
        assert_eq!(answer, expected);
    }
}
