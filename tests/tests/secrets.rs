//! Credentials never reach a recording, an error message, a log line or a panic
//! message, whatever the recorder does with them: record a body, record an API error,
//! fail on the transport, miss in replay.
//!
//! The clients are the real `OpenAiClient` and `OllamaClient`, talking to
//! `FaultyServer` on loopback with recognisable fake credentials; the server's own
//! copy of each request shows that the credentials really were sent, so the scan
//! below is looking at a run where they were in play.

use std::fs;
use std::time::Duration;

use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::{OllamaApi, OllamaClient};
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{Error, Mode, Recording};
use tests::captured_ollama::fixture_body;
use tests::exposure::{Exposure, LogBuffer};
use tests::faulty_server::{Behaviour, FaultyServer};
use tests::requests;

const API_KEY: &str = "sk-inference-recorder-FAKE-KEY-7f3a9c";
const PASSWORD: &str = "FAKE-PASSWORD-b81e44";
const QUERY_KEY: &str = "FAKE-QUERY-KEY-2d90c1";

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in text.as_bytes().chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn credentials_never_reach_disk_errors_logs_or_panics() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only subscriber of this test binary");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut exposure = Exposure::default();
    let server = FaultyServer::start(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ))
    .await;

    // OpenAI-style: the key travels as `Authorization: Bearer ...`.
    let openai = Recording::new(
        OpenAiClient::with_base_url(format!("{}/v1", server.url()), API_KEY)
            .timeout(Duration::from_secs(2)),
    )
    .mode(Mode::Record)
    // A 401 is not recorded by default; recorded here, its body is checked too.
    .record_errors([401])
    .dir(dir.path());
    exposure.add("the OpenAI recorder (Debug)", format!("{openai:?}"));
    openai
        .chat(requests::chat("Hello?"))
        .await
        .expect("a recorded answer");
    server.set(Behaviour::Status(
        401,
        r#"{"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}"#.into(),
    ));
    let err = openai
        .chat(requests::chat("Who am I?"))
        .await
        .expect_err("a recorded API error");
    assert_eq!(err.status(), Some(401));
    exposure.add_error("an API error", err);
    server.set(Behaviour::Hang);
    let err = openai
        .chat(requests::chat("Are you there?"))
        .await
        .expect_err("a timeout");
    exposure.add_error("a transport error", err);
    let replay = Recording::new(OpenAiClient::with_base_url(
        format!("{}/v1", server.url()),
        API_KEY,
    ))
    .mode(Mode::Replay)
    .dir(dir.path());
    let err = replay
        .chat(requests::chat("Hello, again?"))
        .await
        .expect_err("a replay miss");
    assert!(matches!(err, Error::ReplayMiss(_)), "{err:?}");
    exposure.add_error("a replay miss", err);
    let refused = OpenAiClient::with_base_url("http://127.0.0.1:9/v1", API_KEY);
    let err = refused
        .chat(requests::chat("Anyone?"))
        .await
        .expect_err("nothing listens on port 9");
    exposure.add_error("a refused connection", err);

    // Ollama: credentials in the host's user-info travel as basic auth, and a
    // query-string key in a URL a recorder is told about stays out of the file.
    server.set(Behaviour::Json(
        fixture_body("e96152610712.json").to_string(),
    ));
    let host = format!("http://user:{PASSWORD}@{}", server.host());
    let ollama = Recording::new(OllamaClient::new(&host))
        .mode(Mode::Record)
        .dir(dir.path());
    exposure.add("the Ollama recorder (Debug)", format!("{ollama:?}"));
    ollama
        .generate(GenerationRequest::new("llama3.2:3b".into(), "Say hello"))
        .await
        .expect("a recorded answer");
    let queried = Recording::new(OllamaClient::new(&format!(
        "http://127.0.0.1:9/?key={QUERY_KEY}"
    )))
    .mode(Mode::Replay)
    .dir(dir.path());
    exposure.add(
        "a recorder with a query key (Debug)",
        format!("{queried:?}"),
    );
    let err = queried
        .generate(GenerationRequest::new("llama3.2:3b".into(), "Say bye"))
        .await
        .expect_err("a replay miss");
    exposure.add_error("an Ollama replay miss", err);

    // The credentials were really sent...
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect();
    assert!(
        sent.iter()
            .any(|r| r.contains(&format!("Bearer {API_KEY}"))),
        "the key went over the wire"
    );
    let basic = base64(&format!("user:{PASSWORD}"));
    assert!(
        sent.iter().any(|r| r.contains(&basic)),
        "the password went over the wire"
    );

    // ...and are nowhere else.
    exposure.add_tree(dir.path());
    assert_eq!(
        fs::read_dir(dir.path().join("responses"))
            .expect("recorded")
            .count(),
        3,
        "two answers and an API error were recorded"
    );
    let logged = String::from_utf8_lossy(&logs.0.lock().expect("log lock")).into_owned();
    assert!(logged.contains("outcome=\"recorded\""), "{logged}");
    exposure.add("the log", logged);
    exposure.assert_free_of(&[API_KEY, PASSWORD, &basic, QUERY_KEY]);
}
