//! A server that fails while the recorder records (a connection closed mid-stream, a
//! body that is not JSON, an answer that never comes) gives the caller a clear error
//! and writes nothing: an existing recording is never replaced by a broken one, and a
//! missing one is not created.
//!
//! The server is `FaultyServer`, a loopback HTTP server that answers with real
//! captured bodies (from `tests/fixtures/llama-stack/`) and then fails on
//! purpose; the clients are the real `OpenAiClient` and `OllamaClient`.

use std::time::Duration;

use futures::StreamExt;
use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::{OllamaApi, OllamaClient};
use provider_openai::types::chat::CreateChatCompletionRequest;
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{Error, Mode, Recording};
use tests::captured_ollama::fixture_body;
use tests::faulty_server::{
    Behaviour, FaultyServer, StreamEnd, ndjson_lines, recordings_snapshot, sse_events,
};
use tests::requests;

/// Long enough for a loopback answer on a loaded machine, short enough for the suite.
const TIMEOUT: Duration = Duration::from_secs(2);

fn streaming(mut request: CreateChatCompletionRequest) -> CreateChatCompletionRequest {
    request.stream = Some(true);
    request
}

/// A stream cut short: its first two chunks, then a transport error saying why.
fn assert_cut_short<T: std::fmt::Debug>(items: &[Result<T, Error>], end: StreamEnd, why: &[&str]) {
    assert_eq!(items.len(), 3, "two chunks, then the error ({end:?})");
    assert!(items[..2].iter().all(Result::is_ok), "{items:?}");
    assert_transport(items[2].as_ref().expect_err("the stream fails"), why);
}

fn assert_transport(err: &Error, mentions: &[&str]) {
    let text = err.to_string().to_lowercase();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(
        mentions.iter().any(|word| text.contains(word)),
        "`{text}` mentions none of {mentions:?}"
    );
}

#[tokio::test]
async fn openai_faults_never_replace_or_create_a_recording() {
    let body = fixture_body("3c0bf9ba81b2.json").to_string();
    let server = FaultyServer::start(Behaviour::Json(body)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(
        OpenAiClient::with_base_url(format!("{}/v1", server.url()), "sk-test").timeout(TIMEOUT),
    )
    .mode(Mode::Record)
    .dir(dir.path());

    // Good recordings first, so a fault has something it could destroy.
    client
        .chat(requests::chat("Hello?"))
        .await
        .expect("a good answer");
    let chunks = fixture_body("0fad19b9d308.json");
    server.set(Behaviour::Stream {
        content_type: "text/event-stream",
        chunks: sse_events(&chunks, true),
        end: StreamEnd::Complete,
    });
    let recorded: Vec<_> = client
        .chat_stream(streaming(requests::chat("Hello?")))
        .await
        .expect("a good stream")
        .collect()
        .await;
    assert!(recorded.iter().all(Result::is_ok), "{recorded:?}");
    let before = recordings_snapshot(dir.path());
    assert_eq!(before.len(), 2, "{:?}", before.keys());

    // A body that is not JSON.
    server.set(Behaviour::Json(
        r#"{"id": "chatcmpl-1", "choices": ["#.into(),
    ));
    let err = client
        .chat(requests::chat("Hello?"))
        .await
        .expect_err("a torn body");
    assert_transport(&err, &["invalid json", "decod", "eof"]);

    // No answer at all.
    server.set(Behaviour::Hang);
    let err = client
        .chat(requests::chat("Hello?"))
        .await
        .expect_err("no answer");
    assert_transport(&err, &["timed out", "timeout"]);

    // A stream cut after its first events, by a closed connection and by silence.
    for end in [StreamEnd::Close, StreamEnd::Hang] {
        server.set(Behaviour::Stream {
            content_type: "text/event-stream",
            chunks: sse_events(&chunks, true).into_iter().take(2).collect(),
            end,
        });
        let items: Vec<_> = client
            .chat_stream(streaming(requests::chat("Hello?")))
            .await
            .expect("the stream starts")
            .collect()
            .await;
        let words: &[&str] = match end {
            StreamEnd::Hang => &["timed out", "timeout"],
            _ => &["stream", "connection", "eof", "closed"],
        };
        assert_cut_short(&items, end, words);
    }
    assert_eq!(
        recordings_snapshot(dir.path()),
        before,
        "no fault may touch a recording"
    );

    // Where no recording exists, a fault creates none.
    let fresh = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(
        OpenAiClient::with_base_url(format!("{}/v1", server.url()), "sk-test").timeout(TIMEOUT),
    )
    .mode(Mode::RecordIfMissing)
    .dir(fresh.path());
    server.set(Behaviour::Json("not json at all".into()));
    client
        .chat(requests::chat("Something new"))
        .await
        .expect_err("a torn body");
    assert!(recordings_snapshot(fresh.path()).is_empty());
}

#[tokio::test]
async fn ollama_faults_never_replace_or_create_a_recording() {
    let single = fixture_body("e96152610712.json").to_string();
    let chunks = fixture_body("80e4404d8987.json");
    let server = FaultyServer::start(Behaviour::Json(single)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(OllamaClient::new(&server.host()).timeout(TIMEOUT))
        .mode(Mode::Record)
        .dir(dir.path());
    let request = || GenerationRequest::new("llama3.2:3b".into(), "Say hello");

    client.generate(request()).await.expect("a good answer");
    server.set(Behaviour::Stream {
        content_type: "application/x-ndjson",
        chunks: ndjson_lines(&chunks),
        end: StreamEnd::Complete,
    });
    let recorded: Vec<_> = client
        .generate_stream(request())
        .await
        .expect("a good stream")
        .collect()
        .await;
    assert!(recorded.iter().all(Result::is_ok), "{recorded:?}");
    let before = recordings_snapshot(dir.path());
    assert_eq!(before.len(), 2, "{:?}", before.keys());

    server.set(Behaviour::Json(r#"{"model": "llama3.2:3b", "resp"#.into()));
    let err = client.generate(request()).await.expect_err("a torn body");
    assert_transport(&err, &["not json"]);

    server.set(Behaviour::Hang);
    let err = client.generate(request()).await.expect_err("no answer");
    assert_transport(&err, &["timed out", "timeout"]);

    // A torn last line is not JSON; a closed connection and silence are transport
    // failures. None of them is recorded.
    let mut torn = ndjson_lines(&chunks);
    torn.truncate(3);
    let half = torn[2].len() / 2;
    torn[2].truncate(half);
    for (lines, end, words) in [
        (torn, StreamEnd::Complete, &["not json"][..]),
        (
            ndjson_lines(&chunks)[..2].to_vec(),
            StreamEnd::Close,
            &["body", "connection", "eof", "closed"][..],
        ),
        (
            ndjson_lines(&chunks)[..2].to_vec(),
            StreamEnd::Hang,
            &["timed out", "timeout"][..],
        ),
    ] {
        server.set(Behaviour::Stream {
            content_type: "application/x-ndjson",
            chunks: lines,
            end,
        });
        let items: Vec<_> = client
            .generate_stream(request())
            .await
            .expect("the stream starts")
            .collect()
            .await;
        assert_cut_short(&items, end, words);
    }
    assert_eq!(
        recordings_snapshot(dir.path()),
        before,
        "no fault may touch a recording"
    );
}
