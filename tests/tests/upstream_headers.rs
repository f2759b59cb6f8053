//! The headers a client acts on come back through the recording server (issue 25): a
//! rate limit's `Retry-After` and `x-ratelimit-*`, the content type of an HTML error
//! page; passed through live, and kept by a recording of the error when the suite
//! records errors.

use recording_core::{Mode, Recording};
use recording_server::RecordingServer;
use tests::faulty_server::{Behaviour, FaultyServer, recordings_snapshot};

const CHAT: &str = r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#;

/// A rate limit as OpenAI sends it (headers from its rate-limit guide).
fn rate_limited() -> Behaviour {
    Behaviour::Page {
        status: 429,
        content_type: "application/json",
        headers: vec![
            "Retry-After: 7",
            "x-ratelimit-limit-requests: 60",
            "x-ratelimit-remaining-requests: 0",
            "x-ratelimit-reset-requests: 1s",
            "x-request-id: req_123",
            "Set-Cookie: session=secret-cookie",
        ],
        body: r#"{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}"#.to_owned(),
    }
}

async fn post(url: &str) -> reqwest::Response {
    tests::tls::reqwest_client()
        .post(url)
        .header("content-type", "application/json")
        .body(CHAT)
        .send()
        .await
        .expect("an answer")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn a_rate_limit_reaches_the_client_with_its_headers() {
    let upstream = FaultyServer::start(rate_limited()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = upstream
        .recording_front(dir.path())
        .start()
        .await
        .expect("starts");
    let chat = format!("{}/v1/chat/completions", server.url());
    let answer = post(&chat).await;
    assert_eq!(answer.status(), 429);
    assert_eq!(header(&answer, "retry-after"), Some("7"));
    assert_eq!(header(&answer, "x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(header(&answer, "x-ratelimit-reset-requests"), Some("1s"));
    assert_eq!(header(&answer, "x-request-id"), Some("req_123"));
    assert_eq!(header(&answer, "set-cookie"), None, "only the allow-list");
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert!(
        recordings_snapshot(dir.path()).is_empty(),
        "a 429 is transient, not recorded by default"
    );

    // A proxy's HTML page keeps its content type.
    upstream.set(Behaviour::Page {
        status: 503,
        content_type: "text/html; charset=utf-8",
        headers: vec![],
        body: "<html><body>Service Unavailable</body></html>".to_owned(),
    });
    let answer = post(&chat).await;
    assert_eq!(answer.status(), 503);
    assert_eq!(
        header(&answer, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(answer.text().await.expect("text").contains("<html>"));
}

#[tokio::test]
async fn a_recorded_rate_limit_replays_with_its_headers() {
    let upstream = FaultyServer::start(rate_limited()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recording::new(())
        .mode(Mode::Record)
        .dir(dir.path())
        .record_errors([429]);
    let server = RecordingServer::new()
        .recorder(recorder)
        .openai_upstream(format!("{}/v1", upstream.url()))
        .start()
        .await
        .expect("starts");
    let answer = post(&format!("{}/v1/chat/completions", server.url())).await;
    assert_eq!(answer.status(), 429);
    server.stop().await.expect("stops");
    let files = recordings_snapshot(dir.path());
    let text = String::from_utf8_lossy(files.values().next().expect("recorded")).into_owned();
    assert!(text.contains("\"retry-after\": \"7\""), "{text}");
    assert!(!text.contains("secret-cookie"), "{text}");

    let replay = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("starts");
    let answer = post(&format!("{}/v1/chat/completions", replay.url())).await;
    assert_eq!(answer.status(), 429);
    assert_eq!(header(&answer, "retry-after"), Some("7"));
    assert_eq!(header(&answer, "x-ratelimit-limit-requests"), Some("60"));
}

#[tokio::test]
async fn the_headers_that_change_the_answer_are_forwarded_and_not_keyed() {
    let upstream = FaultyServer::start(Behaviour::Json(
        r#"{"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": []}"#
            .to_owned(),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = upstream
        .recording_front(dir.path())
        .openai_api_key("sk-server-key-0000")
        .start()
        .await
        .expect("starts");
    let chat = format!("{}/v1/chat/completions", server.url());
    for organization in ["org-one", "org-two"] {
        let answer = tests::tls::reqwest_client()
            .post(&chat)
            .header("content-type", "application/json")
            .header("OpenAI-Beta", "assistants=v2")
            .header("OpenAI-Organization", organization)
            .header("Authorization", "Bearer sk-client-key-1111")
            .header("X-Custom", "not forwarded")
            .body(CHAT)
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), 200);
    }
    let requests: Vec<String> = upstream
        .requests()
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).to_ascii_lowercase())
        .collect();
    assert_eq!(requests.len(), 2);
    for (request, organization) in requests.iter().zip(["org-one", "org-two"]) {
        assert!(request.contains("openai-beta: assistants=v2"), "{request}");
        assert!(
            request.contains(&format!("openai-organization: {organization}")),
            "{request}"
        );
        assert!(request.contains("bearer sk-server-key-0000"), "{request}");
        assert!(!request.contains("sk-client-key"), "{request}");
        assert!(!request.contains("x-custom"), "{request}");
    }
    server.stop().await.expect("stops");
    assert_eq!(
        recordings_snapshot(dir.path()).len(),
        1,
        "the headers are not part of the key"
    );
}
