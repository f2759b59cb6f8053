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

/// A tool round whose result carries text that changes on every run.
fn tool_result(result: &str) -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "tiny", "messages": [
            {"role": "user", "content": "What time is it?"},
            {"role": "tool", "tool_call_id": "call_1", "content": result}
        ]}),
    )
}

#[tokio::test]
async fn each_volatile_pattern_is_masked_in_the_key_kept_in_the_file_and_named_on_a_miss() {
    // (pattern, the text of the recording run, of a later run, a change it must not mask)
    let cases = [
        (
            "uuid",
            "id 0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e",
            "id 7d444840-9dc0-11d1-b245-5ffdce74fad2",
            "name 0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e",
        ),
        (
            "iso8601",
            "now 2026-12-03T08:31:52Z",
            "now 2027-01-15T23:59:01.250+01:00",
            "then 2026-12-03T08:31:52Z",
        ),
        (
            "unix-ms",
            "at 1764750712123",
            "at 1799999999999",
            "on 1764750712123",
        ),
        (
            "hex",
            "trace 9f86d081884c7d65",
            "trace 00ff00ff00ff00ff00ff",
            "span 9f86d081884c7d65",
        ),
        (
            r"re:req_[a-z0-9]{6}",
            "ticket req_a1b2c3",
            "ticket req_zz9y8x",
            "order req_a1b2c3",
        ),
    ];
    for (pattern, recorded, later, changed) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Scripted::new(answer());
        let recorder = Recording::new(server.clone())
            .mode(Mode::RecordIfMissing)
            .dir(dir.path())
            .volatile_pattern(pattern)
            .expect("a pattern");
        json_of(&recorder, tool_result(recorded))
            .await
            .expect("recorded");
        let replay = Recording::new(Scripted::new(Reply::TransportError))
            .dir(dir.path())
            .volatile_pattern(pattern)
            .expect("a pattern");
        json_of(&replay, tool_result(later))
            .await
            .unwrap_or_else(|err| panic!("{pattern}: the later run replays: {err}"));
        let files = recording_files(dir.path());
        assert_eq!(files.len(), 1, "{pattern}");
        let file: Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("responses").join(&files[0])).expect("read"),
        )
        .expect("json");
        assert_eq!(
            file["request"]["body"]["messages"][1]["content"], recorded,
            "{pattern}: the file keeps the real text"
        );

        // A change outside what the pattern covers still misses, and the report says
        // which patterns were applied and compares the masked requests.
        let err = json_of(&replay, tool_result(changed))
            .await
            .expect_err("a changed word");
        let text = err.to_string();
        assert!(
            text.contains(&format!("masked:    volatile patterns {pattern}")),
            "{text}"
        );
        let mask = if pattern.starts_with("re:") {
            "<re>".to_owned()
        } else {
            format!("<{pattern}>")
        };
        assert!(
            text.contains(&mask),
            "{pattern}: the diff shows the mask: {text}"
        );
        let real = recorded.split(' ').nth(1).unwrap_or_default();
        assert!(
            !text.contains(real),
            "{pattern}: the masked text is not shown as a difference: {text}"
        );

        // Without the pattern the later run misses: keys are exact by default.
        let exact = Recording::new(Scripted::new(Reply::TransportError)).dir(dir.path());
        assert!(matches!(
            json_of(&exact, tool_result(later)).await,
            Err(Error::ReplayMiss(_))
        ));
    }
}

#[tokio::test]
async fn patterns_come_from_the_environment_list_and_bad_ones_are_named() {
    let patterns =
        recording_core::key::VolatilePattern::parse_list("uuid,re:[0-9]{1,3}ms").expect("a list");
    assert_eq!(patterns.len(), 2);
    let Err(err) = Recording::new(Scripted::new(answer())).volatile_pattern("guid") else {
        panic!("an unknown preset was accepted");
    };
    let text = err.to_string();
    assert!(
        text.contains("\"guid\"") && text.contains("uuid, iso8601, unix-ms, hex"),
        "{text}"
    );
}

#[tokio::test]
async fn sequence_mode_counts_masked_requests_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = Recording::new(Scripted::new(answer()))
        .mode(Mode::Record)
        .dir(dir.path())
        .in_sequence()
        .volatile_pattern("uuid")
        .expect("a pattern");
    for id in [
        "0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e",
        "7d444840-9dc0-11d1-b245-5ffdce74fad2",
    ] {
        json_of(&record, tool_result(id)).await.expect("recorded");
    }
    assert_eq!(recording_files(dir.path()).len(), 2, "call 0 and call 1");
    let replay = Recording::new(Scripted::new(Reply::TransportError))
        .dir(dir.path())
        .in_sequence()
        .volatile_pattern("uuid")
        .expect("a pattern");
    for id in [
        "11111111-2222-3333-4444-555555555555",
        "66666666-7777-8888-9999-000000000000",
    ] {
        json_of(&replay, tool_result(id)).await.expect("replayed");
    }
    let err = json_of(&replay, tool_result("99999999-8888-7777-6666-555555555555"))
        .await
        .expect_err("a third call");
    assert!(err.to_string().contains("2 were recorded"), "{err}");
}
