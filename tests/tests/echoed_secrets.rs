//! A server that echoes the key, a key inside a request body, a key in a URL's path:
//! none of them reaches a recording, an error's message, `Debug` or panic text, or a
//! log, on the record run or on replay, for both providers and through the recording
//! server.

use std::time::Duration;

use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::{OllamaApi, OllamaClient};
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{ApiRequest, Error, InferenceClient, Mode, Recording};
use recording_server::RecordingServer;
use serde_json::{Value, json};
use tests::captured_ollama::fixture_body;
use tests::exposure::{Exposure, LogBuffer};
use tests::faulty_server::{Behaviour, FaultyServer};
use tests::requests;

const API_KEY: &str = "sk-echo-FAKE-KEY-5b0c7e19aa";
const PATH_KEY: &str = "Pk7f0c2e9d4b3a1f6e8c";
const BODY_KEY: &str = "gw-FAKE-BODY-KEY-90ab31";
const PASSWORD: &str = "FAKE/PASS-e4c1d0";
const ECHOED_PASSWORD: &str = "FAKE-PASS-77d1e0c4";

/// A chat completion whose content quotes the request's `Authorization` header, as
/// some debugging proxies and misconfigured servers do.
fn echoing_answer() -> String {
    let mut body = fixture_body("3c0bf9ba81b2.json");
    body["choices"][0]["message"]["content"] =
        json!(format!("you sent Authorization: Bearer {API_KEY}"));
    body.to_string()
}

fn echoing_error() -> String {
    json!({"error": {"message": format!("Incorrect API key provided: {API_KEY}"), "code": "invalid_api_key"}})
        .to_string()
}

#[tokio::test]
async fn echoed_and_embedded_keys_never_leave_the_client() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only subscriber of this test binary");
    let mut exposure = Exposure::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FaultyServer::start(Behaviour::Json(echoing_answer())).await;
    // A key in the base URL's path, as some gateways take it.
    let base = format!("{}/key/{PATH_KEY}/v1", server.url());
    let openai = |mode: Mode| {
        Recording::new(OpenAiClient::with_base_url(&base, API_KEY).timeout(Duration::from_secs(5)))
            .mode(mode)
            .record_errors([401])
            .dir(dir.path())
    };
    exposure.add(
        "the recorder (Debug)",
        format!("{:?}", openai(Mode::Record)),
    );

    // A 200 that echoes the key: the caller and the recording see it redacted.
    let answer = openai(Mode::Record)
        .chat(requests::chat("Who am I?"))
        .await
        .expect("recorded");
    let content = answer.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default();
    assert!(content.contains("Bearer <redacted>"), "{content}");
    exposure.add("the answer", content);

    // 401 (recorded by opt-in) and 500 (not recorded) bodies that quote the key.
    server.set(Behaviour::Status(401, echoing_error()));
    let err = openai(Mode::Record)
        .chat(requests::chat("Am I allowed?"))
        .await
        .expect_err("401");
    exposure.add_error("a recorded 401", err);
    server.set(Behaviour::Status(500, echoing_error()));
    let err = openai(Mode::Record)
        .chat(requests::chat("Are you up?"))
        .await
        .expect_err("500");
    assert!(err.to_string().contains("<redacted>"), "{err}");
    exposure.add_error("a 500", err);
    // An unparseable 200 that quotes it.
    server.set(Behaviour::Json(format!("oops Bearer {API_KEY} oops")));
    let err = openai(Mode::Record)
        .chat(requests::chat("Broken?"))
        .await
        .expect_err("not JSON");
    exposure.add_error("a body that is not JSON", err);

    // A key inside the request body: a gateway's `api_key` field and a pasted key.
    server.set(Behaviour::Json(
        fixture_body("3c0bf9ba81b2.json").to_string(),
    ));
    let leaky = ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "api_key": BODY_KEY,
               "messages": [{"role": "user", "content": format!("my key is {API_KEY}")}]}),
    );
    openai(Mode::Record)
        .send(leaky.clone())
        .await
        .expect("recorded");
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect();
    assert!(
        sent.iter().any(|r| r.contains(BODY_KEY)),
        "the real body went to the server"
    );

    // Replay: the redacted request still hits; a miss shows no key either.
    let replay = openai(Mode::Replay);
    replay
        .send(leaky)
        .await
        .expect("the redacted request replays");
    let err = replay
        .chat(requests::chat("Am I allowed?"))
        .await
        .expect_err("the recorded 401");
    assert_eq!(err.status(), Some(401));
    exposure.add_error("a replayed 401", err);
    let err = replay
        .send(ApiRequest::post(
            "/v1/chat/completions",
            json!({"model": "m", "api_key": "another", "messages": [{"role": "user", "content": format!("my key is {API_KEY}!")}]}),
        ))
        .await
        .expect_err("a miss");
    assert!(matches!(err, Error::ReplayMiss(_)), "{err:?}");
    exposure.add_error("a miss", err);

    // Ollama: a password with an unencoded `/`, and a server that echoes it.
    let host = format!("http://user:{PASSWORD}@{}", server.host());
    let ollama = OllamaClient::new(&host);
    exposure.add("the Ollama client (Debug)", format!("{ollama:?}"));
    let mut generated = fixture_body("e96152610712.json");
    generated["response"] = json!(format!("password {ECHOED_PASSWORD} accepted"));
    let good_host = format!("http://user:{ECHOED_PASSWORD}@{}", server.host());
    server.set(Behaviour::Json(generated.to_string()));
    let answer = Recording::new(OllamaClient::new(&good_host))
        .mode(Mode::Record)
        .dir(dir.path())
        .generate(GenerationRequest::new("m".into(), "hi"))
        .await
        .expect("recorded");
    assert_eq!(answer.response, "password <redacted> accepted");
    let err = Recording::new(OllamaClient::new(&host))
        .mode(Mode::Replay)
        .dir(dir.path())
        .generate(GenerationRequest::new("m".into(), "not recorded"))
        .await
        .expect_err("a miss");
    exposure.add_error("an Ollama miss", err);

    // Through the recording server: the upstream echoes the key it was given.
    server.set(Behaviour::Json(echoing_answer()));
    let front = RecordingServer::new()
        .mode(Mode::Record)
        .dir(dir.path())
        .openai_upstream(&base)
        .openai_api_key(API_KEY)
        .start()
        .await
        .expect("starts");
    let answer: Value = tests::tls::reqwest_client()
        .post(format!("{}/v1/chat/completions", front.url()))
        .header("content-type", "application/json")
        .body(r#"{"model": "m", "messages": [{"role": "user", "content": "via the server"}]}"#)
        .send()
        .await
        .expect("answered")
        .error_for_status()
        .expect("the upstream's answer, not a refusal")
        .json()
        .await
        .expect("json");
    front.stop().await.expect("stops");
    exposure.add("the server's answer", answer.to_string());

    exposure.add_tree(dir.path());
    let logged = String::from_utf8_lossy(&logs.0.lock().expect("log lock")).into_owned();
    exposure.add("the log", logged);
    exposure.assert_free_of(&[API_KEY, PATH_KEY, BODY_KEY, PASSWORD, ECHOED_PASSWORD]);
}
