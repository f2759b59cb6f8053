//! Matching and fidelity for real suites: volatile request fields, repeated identical
//! requests, stream timing, and the drift check.

use std::fs;
use std::time::Duration;

use futures::StreamExt;
use recording_core::format::{RecordedRequest, RecordedResponse, RecordingFile};
use recording_core::{ApiRequest, Error, InferenceClient, Mode, Recording, Store};
use serde_json::{Value, json};

mod support;

use support::*;

fn with_request_id(id: &str) -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "tiny", "metadata": {"request_id": id}, "messages": [{"role": "user", "content": "hi"}]}),
    )
}

#[tokio::test]
async fn a_volatile_field_is_left_out_of_the_key_but_kept_in_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let recorder = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .volatile("/metadata/request_id")
        .expect("a pointer");
    json_of(&recorder, with_request_id("req-1"))
        .await
        .expect("recorded");
    json_of(&recorder, with_request_id("req-2"))
        .await
        .expect("replayed");
    assert_eq!(server.calls(), 1, "the second run's new id still hits");
    let file: Value = serde_json::from_str(
        &fs::read_to_string(recorder.path_of(&with_request_id("req-3"))).expect("one file"),
    )
    .expect("json");
    assert_eq!(
        file["request"]["body"]["metadata"]["request_id"], "req-1",
        "kept as sent"
    );

    // Undeclared, the changed id misses, and the miss says it could be declared.
    let exact = Recording::new(server.clone())
        .mode(Mode::Replay)
        .dir(dir.path());
    let err = json_of(&exact, with_request_id("req-2"))
        .await
        .expect_err("exact keys");
    let text = err.to_string();
    assert!(
        text.contains("differ only in /metadata/request_id"),
        "{text}"
    );
    assert!(
        text.contains("TEST_INFERENCE_VOLATILE=/metadata/request_id"),
        "{text}"
    );
}

#[test]
fn a_pointer_that_does_not_parse_is_named() {
    let Err(err) = Recording::new(Scripted::new(answer())).volatile("metadata/request_id") else {
        panic!("a pointer without a leading slash was accepted");
    };
    assert!(err.to_string().contains("\"metadata/request_id\""), "{err}");
    let err = "sometimes"
        .parse::<Mode>()
        .expect_err("no such mode")
        .to_string();
    assert!(
        err.contains("verify") && err.contains("\"sometimes\""),
        "{err}"
    );
}

#[tokio::test]
async fn repeated_identical_requests_replay_in_order_in_sequence_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let recorder = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path())
        .in_sequence();
    for _ in 0..3 {
        json_of(&recorder, chat("roll a die"))
            .await
            .expect("recorded");
    }
    assert_eq!(recording_files(dir.path()).len(), 3, "one file per call");

    // The Scripted server stamps each call's `created` with its number.
    let replay = Recording::new(Scripted::new(Reply::TransportError))
        .dir(dir.path())
        .in_sequence();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let body = json_of(&replay, chat("roll a die"))
            .await
            .expect("replayed");
        seen.push(body["created"].clone());
    }
    assert_eq!(seen, [json!(0), json!(0), json!(0)], "normalized");
    let err = json_of(&replay, chat("roll a die"))
        .await
        .expect_err("a fourth call");
    let text = err.to_string();
    assert!(
        text.contains("this is call 4") && text.contains("3 were recorded"),
        "{text}"
    );

    // Without the mode: one recording, as always.
    let plain = Recording::new(Scripted::new(Reply::TransportError)).dir(dir.path());
    for _ in 0..5 {
        json_of(&plain, chat("roll a die"))
            .await
            .expect("the first call's answer");
    }
}

#[tokio::test]
async fn sequence_calls_get_different_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(Reply::Json(json!({"object": "x"})));
    let recorder = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path())
        .in_sequence();
    for n in 0..2 {
        server.set_reply(Reply::Json(json!({"object": "x", "answer": n})));
        json_of(&recorder, chat("again")).await.expect("recorded");
    }
    let replay = Recording::new(Scripted::new(Reply::TransportError))
        .dir(dir.path())
        .in_sequence();
    let first = json_of(&replay, chat("again")).await.expect("first");
    let second = json_of(&replay, chat("again")).await.expect("second");
    assert_eq!(
        (first["answer"].clone(), second["answer"].clone()),
        (json!(0), json!(1))
    );
}

/// A stream recorded with chunk times 100, 300 and 600 ms after the request.
fn timed_stream(dir: &std::path::Path) -> (Recording<Scripted>, ApiRequest) {
    let request = ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "stream": true}),
    );
    let client = Recording::new(Scripted::new(Reply::TransportError)).dir(dir);
    let file = RecordingFile {
        request: RecordedRequest::of("test", &request),
        response: RecordedResponse {
            chunk_ms: Some(vec![100, 300, 600]),
            ..RecordedResponse::stream(json!([{"n": 0}, {"n": 1}, {"n": 2}]))
        },
    };
    Store::new(dir)
        .save(&client.hash_of(&request), &file)
        .expect("saved");
    (client, request)
}

async fn replay_time(client: &Recording<Scripted>, request: &ApiRequest) -> Duration {
    let started = tokio::time::Instant::now();
    let stream = client
        .send(request.clone())
        .await
        .expect("hit")
        .into_stream()
        .expect("stream");
    assert_eq!(stream.count().await, 3);
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn streams_replay_at_full_speed_or_at_the_recorded_pace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (client, request) = timed_stream(dir.path());
    assert_eq!(
        replay_time(&client, &request).await,
        Duration::ZERO,
        "full speed by default"
    );
    let paced = client.clone().pace(1.0);
    assert_eq!(
        replay_time(&paced, &request).await,
        Duration::from_millis(600)
    );
    let faster = client.clone().pace(0.5);
    assert_eq!(
        replay_time(&faster, &request).await,
        Duration::from_millis(300)
    );
    // Typed streams keep the pace too.
    let started = tokio::time::Instant::now();
    let typed = paced
        .send(request.clone())
        .await
        .expect("hit")
        .decode_stream::<Value>("chunk")
        .expect("stream");
    assert_eq!(typed.count().await, 3);
    assert_eq!(started.elapsed(), Duration::from_millis(600));
}

#[tokio::test]
async fn chunk_times_are_recorded_only_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let request = ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "stream": true}),
    );
    let items = vec![Item::Chunk(json!({"n": 0})), Item::Chunk(json!({"n": 1}))];
    for (timed, expected) in [(false, None), (true, Some(2))] {
        let client = Recording::new(Scripted::new(Reply::SlowChunks(items.clone())))
            .mode(Mode::Record)
            .record_timing(timed)
            .dir(dir.path());
        chunks_of(&client, request.clone()).await.expect("recorded");
        let file: Value =
            serde_json::from_str(&fs::read_to_string(client.path_of(&request)).expect("file"))
                .expect("json");
        let times = file["response"]["chunk_ms"].as_array().map(Vec::len);
        assert_eq!(times, expected, "timed: {timed}");
    }
}

#[tokio::test]
async fn verify_reports_drift_in_shape_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let recorder = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    json_of(&recorder, chat("hi")).await.expect("recorded");
    let before = fs::read(recorder.path_of(&chat("hi"))).expect("file");

    let verify = Recording::new(server.clone())
        .mode(Mode::Verify)
        .dir(dir.path());
    // Same shape, new content: no drift, the live answer comes back.
    json_of(&verify, chat("hi")).await.expect("no drift");
    // A field appears, another changes type.
    server.set_reply(Reply::Json(json!({
        "object": 7, "choices": [{"message": {"content": "hi", "refusal": "no"}}]
    })));
    let err = json_of(&verify, chat("hi")).await.expect_err("drift");
    let text = err.to_string();
    assert!(matches!(err, Error::Drift { .. }), "{err:?}");
    assert!(
        text.contains("added /choices/*/message/refusal (string)"),
        "{text}"
    );
    assert!(
        text.contains("changed /object from string to number"),
        "{text}"
    );
    // Declared harmless, the new field is no failure; the type change still is.
    let lenient = verify.clone().harmless_drift("/choices/*/message/refusal");
    let text = json_of(&lenient, chat("hi"))
        .await
        .expect_err("drift")
        .to_string();
    assert!(
        !text.contains("refusal") && text.contains("/object"),
        "{text}"
    );

    assert_eq!(
        fs::read(recorder.path_of(&chat("hi"))).expect("file"),
        before
    );
    assert_eq!(recording_files(dir.path()).len(), 1);
    // Nothing recorded: nothing to verify against, and it says so.
    let err = json_of(&verify, chat("new"))
        .await
        .expect_err("nothing recorded");
    assert!(err.to_string().contains("record it first"), "{err}");
}
