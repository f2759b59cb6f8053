//! Record mode never trades a good recording for a broken one (issue 13), against a
//! loopback server that misbehaves in exactly the ways real servers and proxies do:
//! a stream that ends cleanly but early, a body of the wrong shape, transient errors,
//! a bad key, and a caller that stops reading a stream at `finish_reason`.
//!
//! Each case starts from good recordings and ends with them byte for byte, a clear
//! error for the caller, and no partial file.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::{OllamaApi, OllamaClient};
use provider_openai::types::chat::CreateChatCompletionRequest;
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{Error, InferenceClient, Mode, Recording};
use tests::captured_ollama::{chunk_lines, fixture_body};
use tests::faulty_server::{
    Behaviour, FaultyServer, StreamEnd, ndjson_lines, recordings_snapshot, sse_events,
};
use tests::requests;

const TIMEOUT: Duration = Duration::from_secs(5);

fn streaming(mut request: CreateChatCompletionRequest) -> CreateChatCompletionRequest {
    request.stream = Some(true);
    request
}

fn html(status: u16) -> Behaviour {
    Behaviour::Page {
        status,
        content_type: "text/html",
        headers: vec![],
        body: format!("<html><body><h1>{status}</h1>nginx</body></html>"),
    }
}

fn transport_mentions(err: &Error, words: &[&str]) {
    let text = err.to_string();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(
        words.iter().any(|word| text.contains(word)),
        "`{text}` mentions none of {words:?}"
    );
}

/// A recorder in `mode` of the OpenAI-compatible `server`, in `dir`.
fn openai(server: &FaultyServer, dir: &Path, mode: Mode) -> Recording<OpenAiClient> {
    let client =
        OpenAiClient::with_base_url(format!("{}/v1", server.url()), "sk-test").timeout(TIMEOUT);
    Recording::new(client).mode(mode).dir(dir)
}

#[tokio::test]
async fn openai_never_trades_a_good_recording_for_a_broken_one() {
    let chunks = fixture_body("0fad19b9d308.json");
    let server = FaultyServer::start(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = openai(&server, dir.path(), Mode::Record);
    client.chat(requests::chat("Hello?")).await.expect("good");
    server.set(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: sse_events(&chunks, true),
        end: StreamEnd::Complete,
    });
    let good: Vec<_> = client
        .chat_stream(streaming(requests::chat("Hello?")))
        .await
        .expect("a good stream")
        .collect()
        .await;
    assert!(good.iter().all(Result::is_ok), "{good:?}");
    let before = recordings_snapshot(dir.path());
    assert_eq!(before.len(), 2);

    // A stream that ends cleanly but without `data: [DONE]`: chunked terminator sent,
    // or the connection closed.
    for end in [StreamEnd::Complete, StreamEnd::Close] {
        server.set(Behaviour::Stream {
            content_type: "text/event-stream",
            chunks: sse_events(&chunks, false),
            end,
        });
        let items: Vec<_> = client
            .chat_stream(streaming(requests::chat("Hello?")))
            .await
            .expect("the stream starts")
            .collect()
            .await;
        let err = items
            .last()
            .expect("items")
            .as_ref()
            .expect_err("cut short");
        transport_mentions(err, &["[DONE]", "connection", "body"]);
    }

    // A stream asked for, and a JSON body or a proxy's HTML page received.
    server.set(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ));
    let err = client
        .chat_stream(streaming(requests::chat("Hello?")))
        .await
        .err()
        .expect("not a stream");
    transport_mentions(&err, &["asked for a stream"]);
    server.set(Behaviour::Page {
        status: 200,
        content_type: "text/html",
        headers: vec![],
        body: "<html>Please log in to the proxy</html>".into(),
    });
    let err = client
        .chat_stream(streaming(requests::chat("Hello?")))
        .await
        .err()
        .expect("not a stream");
    transport_mentions(&err, &["not JSON"]);
    // And the reverse: a single body asked for, a stream received.
    server.set(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: sse_events(&chunks, true),
        end: StreamEnd::Complete,
    });
    let err = client
        .chat(requests::chat("Hello?"))
        .await
        .expect_err("a stream");
    transport_mentions(&err, &["answered with a stream"]);

    // Transient errors: a rate limit, a gateway's HTML pages.
    for behaviour in [
        Behaviour::Page {
            status: 429,
            content_type: "application/json",
            headers: vec!["Retry-After: 30"],
            body: r#"{"error": {"message": "Rate limit reached", "code": 429}}"#.into(),
        },
        html(502),
        html(503),
    ] {
        server.set(behaviour);
        let err = client
            .chat(requests::chat("Hello?"))
            .await
            .expect_err("an error");
        assert!(err.to_string().contains("not recorded"), "{err}");
    }

    assert_eq!(
        recordings_snapshot(dir.path()),
        before,
        "every good recording is intact"
    );
}

#[tokio::test]
async fn a_bad_key_is_never_recorded_as_the_answer() {
    let server = FaultyServer::start(Behaviour::Status(
        401,
        r#"{"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}"#.into(),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = openai(&server, dir.path(), Mode::RecordIfMissing);
    let err = client
        .chat(requests::chat("Hello?"))
        .await
        .expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("not recorded"), "{err}");
    assert!(recordings_snapshot(dir.path()).is_empty());

    // The key is fixed: the next run records the real answer.
    server.set(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ));
    client
        .chat(requests::chat("Hello?"))
        .await
        .expect("the answer");
    assert_eq!(recordings_snapshot(dir.path()).len(), 1);
}

#[tokio::test]
async fn a_stream_the_caller_stops_reading_is_recorded_whole() {
    let chunks = fixture_body("0fad19b9d308.json");
    let count = chunk_lines(&chunks).len();
    let server = FaultyServer::start(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: sse_events(&chunks, true),
        end: StreamEnd::Complete,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = openai(&server, dir.path(), Mode::RecordIfMissing);
    let mut stream = client
        .chat_stream(streaming(requests::chat("Hello?")))
        .await
        .expect("the stream starts");
    stream.next().await.expect("a chunk").expect("ok");
    drop(stream);
    client.finish_recording().await;

    let replay = openai(&server, dir.path(), Mode::Replay);
    let replayed: Vec<_> = replay
        .chat_stream(streaming(requests::chat("Hello?")))
        .await
        .expect("recorded")
        .collect()
        .await;
    assert_eq!(replayed.len(), count, "every chunk was recorded");
    assert!(replayed.iter().all(Result::is_ok));
}

#[tokio::test]
async fn an_openai_stream_ends_at_a_bad_event() {
    let chunks = fixture_body("0fad19b9d308.json");
    let mut events = sse_events(&chunks, true);
    events.insert(1, "data: {\"choices\": [tor\n\n".into());
    let server = FaultyServer::start(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: events,
        end: StreamEnd::Complete,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = openai(&server, dir.path(), Mode::Live);
    let items: Vec<_> = client
        .send(recording_core::ApiRequest::post(
            "/v1/chat/completions",
            serde_json::json!({"model": "m", "stream": true}),
        ))
        .await
        .expect("starts")
        .into_stream()
        .expect("a stream")
        .collect()
        .await;
    assert_eq!(
        items.len(),
        2,
        "one chunk, the error, nothing after: {items:?}"
    );
    transport_mentions(items[1].as_ref().expect_err("bad event"), &["not JSON"]);
}

#[tokio::test]
async fn ollama_never_trades_a_good_recording_for_a_broken_one() {
    let chunks = fixture_body("80e4404d8987.json");
    let server = FaultyServer::start(Behaviour::Json(
        fixture_body("e96152610712.json").to_string(),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(OllamaClient::new(&server.host()).timeout(TIMEOUT))
        .mode(Mode::Record)
        .dir(dir.path());
    let request = || GenerationRequest::new("llama3.2:3b".into(), "Say hello");
    client.generate(request()).await.expect("good");
    server.set(Behaviour::Stream {
        content_type: "application/x-ndjson",
        chunks: ndjson_lines(&chunks),
        end: StreamEnd::Complete,
    });
    let good: Vec<_> = client
        .generate_stream(request())
        .await
        .expect("a good stream")
        .collect()
        .await;
    assert!(good.iter().all(Result::is_ok), "{good:?}");
    let before = recordings_snapshot(dir.path());
    assert_eq!(before.len(), 2);

    // Without its `"done": true` line, ended cleanly.
    let mut lines = ndjson_lines(&chunks);
    lines.pop();
    server.set(Behaviour::Stream {
        content_type: "application/x-ndjson",
        chunks: lines,
        end: StreamEnd::Complete,
    });
    let items: Vec<_> = client
        .generate_stream(request())
        .await
        .expect("starts")
        .collect()
        .await;
    let err = items
        .last()
        .expect("items")
        .as_ref()
        .expect_err("cut short");
    transport_mentions(err, &["done"]);

    // A stream asked for, one body received; one body asked for, a stream received.
    server.set(Behaviour::Json(
        fixture_body("e96152610712.json").to_string(),
    ));
    let err = client
        .generate_stream(request())
        .await
        .err()
        .expect("a body");
    transport_mentions(&err, &["single JSON body"]);
    server.set(Behaviour::Stream {
        content_type: "application/x-ndjson",
        chunks: ndjson_lines(&chunks),
        end: StreamEnd::Complete,
    });
    let err = client.generate(request()).await.expect_err("a stream");
    transport_mentions(&err, &["answered with a stream"]);

    // Transient errors.
    for behaviour in [
        html(502),
        html(503),
        Behaviour::Status(429, r#"{"error": "busy"}"#.into()),
    ] {
        server.set(behaviour);
        let err = client.generate(request()).await.expect_err("an error");
        assert!(err.to_string().contains("not recorded"), "{err}");
    }
    assert_eq!(
        recordings_snapshot(dir.path()),
        before,
        "every good recording is intact"
    );
}

#[tokio::test]
async fn an_ollama_stream_the_caller_stops_reading_is_recorded_whole() {
    let chunks = fixture_body("80e4404d8987.json");
    let count = chunk_lines(&chunks).len();
    let server = FaultyServer::start(Behaviour::Stream {
        content_type: "application/x-ndjson",
        chunks: ndjson_lines(&chunks),
        end: StreamEnd::Complete,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(OllamaClient::new(&server.host()).timeout(TIMEOUT))
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    let request = || GenerationRequest::new("llama3.2:3b".into(), "Say hello");
    let mut stream = client.generate_stream(request()).await.expect("starts");
    stream.next().await.expect("a chunk").expect("ok");
    drop(stream);
    client.finish_recording().await;
    let replayed: Vec<_> = client
        .clone()
        .mode(Mode::Replay)
        .generate_stream(request())
        .await
        .expect("recorded")
        .collect()
        .await;
    assert_eq!(replayed.len(), count);
}

/// The same guarantees through the recording server: an upstream stream cut short, a
/// body of the wrong shape and a transient error reach the client as errors, and the
/// good recordings stay byte for byte.
#[tokio::test]
async fn through_the_recording_server_no_fault_replaces_a_good_recording() {
    let chunks = fixture_body("0fad19b9d308.json");
    let upstream = FaultyServer::start(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: sse_events(&chunks, true),
        end: StreamEnd::Complete,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let front = recording_server::RecordingServer::new()
        .mode(Mode::Record)
        .dir(dir.path())
        .openai_upstream(format!("{}/v1", upstream.url()))
        .start()
        .await
        .expect("starts");
    let url = format!("{}/v1/chat/completions", front.url());
    let post = |body: &'static str| {
        let request = tests::tls::reqwest_client()
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body);
        async move { request.send().await.expect("an answer") }
    };
    let streamed = r#"{"model": "m", "stream": true}"#;
    let good = post(streamed).await.text().await.expect("a whole stream");
    assert!(good.trim_end().ends_with("data: [DONE]"), "{good}");
    let before = recordings_snapshot(dir.path());
    assert_eq!(before.len(), 1);

    // Cut short without [DONE]: the client's stream breaks off, nothing is written.
    upstream.set(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: sse_events(&chunks, false),
        end: StreamEnd::Complete,
    });
    let cut = post(streamed).await.text().await;
    assert!(
        cut.is_err() || !cut.as_deref().unwrap_or("").contains("[DONE]"),
        "{cut:?}"
    );
    // A JSON body where a stream was asked for: a 502 that says so.
    upstream.set(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ));
    let wrong = post(streamed).await;
    assert_eq!(wrong.status().as_u16(), 502);
    assert!(
        wrong
            .text()
            .await
            .expect("text")
            .contains("asked for a stream")
    );
    // A rate limit: passed on with its status, not recorded.
    upstream.set(Behaviour::Status(
        429,
        r#"{"error": {"message": "slow down"}}"#.into(),
    ));
    assert_eq!(post(streamed).await.status().as_u16(), 429);

    front.stop().await.expect("stops");
    assert_eq!(
        recordings_snapshot(dir.path()),
        before,
        "the good recording is intact"
    );
}
