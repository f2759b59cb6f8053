//! A request's query string and path are the same request through every front (issue
//! 25): kept in the key, forwarded as sent, and a path that could leave the upstream's
//! base path refused.

use async_openai::Client;
use async_openai::config::AzureConfig;
use async_openai::types::chat::CreateChatCompletionRequest;
use provider_openai::{OpenAiClient, RecordingHttpService};
use recording_core::{ApiRequest, Mode, Recording};
use recording_server::RecordingServer;
use serde_json::{Value, json};
use tests::faulty_server::{Behaviour, FaultyServer, recordings_snapshot};

const MODELS: &str = r#"{"object": "list", "data": [{"id": "m", "object": "model", "created": 0, "owned_by": "me"}]}"#;

const CHAT: &str = r#"{"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}"#;

/// The request line of each request the upstream received.
fn request_lines(upstream: &FaultyServer) -> Vec<String> {
    upstream
        .requests()
        .iter()
        .map(|raw| {
            String::from_utf8_lossy(raw)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn get(url: String) -> (u16, String) {
    let response = tests::tls::reqwest_client()
        .get(url)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

/// The key the typed API gives `endpoint` (a GET), to compare the fronts' files with.
fn typed_key(endpoint: &str) -> String {
    Recording::new(OpenAiClient::with_base_url(
        "http://127.0.0.1:9/v1",
        "sk-unused",
    ))
    .hash_of(&ApiRequest::get(endpoint))
}

#[tokio::test]
async fn the_server_keys_and_forwards_the_query() {
    let upstream = FaultyServer::start(Behaviour::Json(MODELS.to_owned())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = upstream
        .recording_front(dir.path())
        .start()
        .await
        .expect("starts");
    let url = server.url();
    for query in ["?limit=1", "?limit=2&after=m", "?after=m&limit=2"] {
        let (status, body) = get(format!("{url}/v1/models{query}")).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        request_lines(&upstream),
        [
            "GET /v1/models?limit=1 HTTP/1.1",
            "GET /v1/models?limit=2&after=m HTTP/1.1",
            "GET /v1/models?after=m&limit=2 HTTP/1.1",
        ],
        "the upstream sees each query as sent"
    );
    server.stop().await.expect("stops");

    // Two requests, two recordings (the reordered query is the second one's), under
    // the keys the typed API gives the same URLs.
    let files: Vec<String> = recordings_snapshot(dir.path()).into_keys().collect();
    let mut expected = vec![
        format!("{}.json", typed_key("/v1/models?limit=1")),
        format!("{}.json", typed_key("/v1/models?after=m&limit=2")),
    ];
    expected.sort();
    let mut files = files;
    files.sort();
    assert_eq!(files, expected);

    // And each replays as its own.
    let replay = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("starts");
    let (status, _) = get(format!("{}/v1/models?limit=2&after=m", replay.url())).await;
    assert_eq!(status, 200);
    let (status, body) = get(format!("{}/v1/models?limit=3", replay.url())).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("replay miss"), "{body}");
}

#[tokio::test]
async fn paths_are_read_alike_and_dot_segments_refused() {
    let upstream = FaultyServer::start(Behaviour::Json(MODELS.to_owned())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = upstream
        .recording_front(dir.path())
        .start()
        .await
        .expect("starts");
    for path in [
        "/v1/%2e%2e/%2e%2e/etc/passwd",
        "/v1/%2E%2E/admin",
        "/v1/./models",
    ] {
        // Written on the socket as is: an HTTP client would resolve the segments.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut socket = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connects");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("sent");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("segment"), "{path}: {answer}");
    }
    assert!(upstream.requests().is_empty(), "nothing left the base path");

    // A base URL ending in `/v1/`: the SDK asks for `/v1//models`, which is the typed
    // API's `/v1/models`.
    let (status, body) = get(format!("{}/v1//models", server.url())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(request_lines(&upstream), ["GET /v1/models HTTP/1.1"]);
    server.stop().await.expect("stops");
    let files: Vec<String> = recordings_snapshot(dir.path()).into_keys().collect();
    assert_eq!(files, [format!("{}.json", typed_key("/v1/models"))]);
}

#[tokio::test]
async fn the_http_service_keeps_an_azure_clients_api_version() {
    let upstream = FaultyServer::start(Behaviour::Json(CHAT.to_owned())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    tests::tls::install();
    let config = AzureConfig::new()
        .with_api_base(upstream.url())
        .with_deployment_id("dep")
        .with_api_version("2024-10-21")
        .with_api_key("azure-key-0000000000");
    let service = RecordingHttpService::new(Recording::new(()).mode(Mode::Record).dir(dir.path()));
    let client = Client::with_config(config).with_http_service(service);
    let request: CreateChatCompletionRequest = serde_json::from_value(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}]
    }))
    .expect("a request");
    client.chat().create(request).await.expect("answered");
    assert_eq!(
        request_lines(&upstream),
        ["POST /openai/deployments/dep/chat/completions?api-version=2024-10-21 HTTP/1.1"]
    );
    let files = recordings_snapshot(dir.path());
    assert_eq!(files.len(), 1);
    let file: Value = serde_json::from_slice(files.values().next().expect("a file")).expect("json");
    assert_eq!(
        file["request"]["endpoint"],
        "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    );
    let text = String::from_utf8_lossy(files.values().next().expect("a file")).into_owned();
    assert!(!text.contains("azure-key-0000000000"), "{text}");
}
