//! The engine's behaviour in every mode, against a scripted in-process client.

use std::fs;
use std::sync::Arc;

use futures::StreamExt;

use recording_core::{
    ApiRequest, Error, InferenceClient, Mode, Recording, RecordingFile, test_name,
};
use serde_json::{Value, json};

mod support;

use support::*;

#[tokio::test]
async fn replay_never_calls_the_inner_client_and_a_miss_explains_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let recorder = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    json_of(&recorder, chat("What is 2+2?"))
        .await
        .expect("recorded");
    assert_eq!(server.calls(), 1);

    let replay = Recording::new(server.clone())
        .mode(Mode::Replay)
        .dir(dir.path());
    let body = json_of(&replay, chat("What is 2+2?"))
        .await
        .expect("replayed");
    assert_eq!(body["choices"][0]["message"]["content"], "hi");
    assert_eq!(server.calls(), 1, "replay must not call the server");

    let err = json_of(&replay, chat("What is 3+3?"))
        .await
        .expect_err("miss");
    assert_eq!(server.calls(), 1, "a miss must not call the server");
    let Error::ReplayMiss(miss) = &err else {
        panic!("expected a replay miss, got {err:?}");
    };
    assert_eq!(miss.hash, replay.hash_of(&chat("What is 3+3?")));
    let text = err.to_string();
    for needle in [
        miss.hash.as_str(),
        "provider:  test",
        "POST /v1/chat/completions",
        "model:     tiny",
        "mode:      replay",
        &dir.path().display().to_string(),
        "closest recording (same endpoint and model)",
        "-      \"content\": \"What is 2+2?\",",
        "+      \"content\": \"What is 3+3?\",",
        // Unscoped: the test is named from libtest's thread, on a line of its own.
        "\n  TEST_INFERENCE_MODE=record-if-missing cargo test replay_never_calls_the_inner_client_and_a_miss_explains_itself\n",
        // A changed prompt needs a recording, never a key that ignores it.
        "the request changed in /messages/0/content",
    ] {
        assert!(
            text.contains(needle),
            "miss report lacks {needle:?}:\n{text}"
        );
    }
    // Never "leave the prompt out of the key": only a pattern for a time or an id in it.
    assert!(
        !text.contains("Recording::volatile(\"") && !text.contains("TEST_INFERENCE_VOLATILE="),
        "{text}"
    );
    assert!(
        text.ends_with('\n'),
        "what a client appends goes on a line of its own: {text:?}"
    );
}

#[tokio::test]
async fn a_miss_suggests_volatile_only_for_fields_outside_what_the_app_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let with_user = |user: &str| {
        let mut request = chat("What is 2+2?");
        request.body["user"] = json!(user);
        request
    };
    let recorder = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    json_of(&recorder, with_user("run-1"))
        .await
        .expect("recorded");
    let replay = Recording::new(server).dir(dir.path());
    let text = json_of(&replay, with_user("run-2"))
        .await
        .expect_err("miss")
        .to_string();
    assert!(
        text.contains("differ only in /user") && text.contains("Recording::volatile(\"/user\")"),
        "{text}"
    );
}

#[tokio::test]
async fn a_miss_shows_the_closest_recording_of_its_own_scope_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let unscoped = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    let other_test = unscoped.clone().scope("other::test");
    json_of(&unscoped, chat("Say hi")).await.expect("recorded");
    // Another test's recording is nearer in text...
    json_of(&other_test, chat("Say hi!!"))
        .await
        .expect("recorded");
    let replay = Recording::new(server).dir(dir.path());
    let err = json_of(&replay, chat("Say hi!!!")).await.expect_err("miss");
    let Error::ReplayMiss(miss) = &err else {
        panic!("{err:?}");
    };
    // ...but the report shows the one in the miss's own scope.
    let closest = miss.closest.as_ref().expect("a closest recording");
    assert_eq!(closest.scope, None, "{err}");
    assert_eq!(closest.path, unscoped.path_of(&chat("Say hi")), "{err}");
}

#[tokio::test]
async fn a_miss_in_a_missing_directory_is_a_miss_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let replay = Recording::new(Scripted::new(answer())).dir(dir.path().join("nowhere"));
    let err = json_of(&replay, chat("hi"))
        .await
        .expect_err("nothing recorded");
    assert!(
        matches!(&err, Error::ReplayMiss(miss) if miss.closest.is_none()),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("no recording for POST /v1/chat/completions exists")
    );
}

#[tokio::test]
async fn record_if_missing_calls_once_and_writes_a_readable_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let client = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());

    let first = json_of(&client, chat("hi")).await.expect("recorded");
    let second = json_of(&client, chat("hi")).await.expect("replayed");
    assert_eq!(server.calls(), 1);
    assert_eq!(first, second, "record and replay runs see identical data");

    let hash = client.hash_of(&chat("hi"));
    assert_eq!(recording_files(dir.path()), vec![format!("{hash}.json")]);
    let text = fs::read_to_string(client.path_of(&chat("hi"))).expect("file");
    assert!(text.ends_with("}\n"), "trailing newline");
    assert!(text.starts_with(
        "{\n  \"request\": {\n    \"provider\": \"test\",\n    \"method\": \"POST\",\n"
    ));
    assert!(
        !text.contains("sk-test-secret"),
        "credentials leaked:\n{text}"
    );
    let file: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        file["request"]["url"],
        "http://127.0.0.1:9/v1/chat/completions"
    );
    assert_eq!(file["request"]["model"], "tiny");
    assert_eq!(file["request"]["body"], chat("hi").body);
    assert_eq!(file["response"]["status"], 200);
    assert_eq!(file["response"]["is_streaming"], false);
    assert_eq!(
        file["response"]["body"]["id"],
        format!("rec-{}", &hash[..12])
    );
    let keys: Vec<&String> = file["request"]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(
        keys,
        ["provider", "method", "url", "endpoint", "model", "body"]
    );
}

#[tokio::test]
async fn the_caller_gets_the_normalized_body_in_record_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(Scripted::new(answer()))
        .mode(Mode::Record)
        .dir(dir.path());
    let body = json_of(&client, chat("hi")).await.expect("recorded");
    let hash = client.hash_of(&chat("hi"));
    assert_eq!(body["id"], format!("rec-{}", &hash[..12]));
    assert_eq!(body["created"], 0);
}

#[tokio::test]
async fn record_always_calls_and_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let client = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    json_of(&client, chat("hi")).await.expect("recorded");
    server.set_reply(Reply::Json(
        json!({"choices": [{"message": {"content": "changed"}}]}),
    ));
    json_of(&client, chat("hi")).await.expect("re-recorded");
    assert_eq!(server.calls(), 2);

    let replay = Recording::new(server.clone()).dir(dir.path());
    let body = json_of(&replay, chat("hi")).await.expect("replayed");
    assert_eq!(body["choices"][0]["message"]["content"], "changed");
    assert_eq!(recording_files(dir.path()).len(), 1);
}

#[tokio::test]
async fn live_touches_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let client = Recording::new(server.clone())
        .mode(Mode::Live)
        .dir(dir.path());
    let body = json_of(&client, chat("hi")).await.expect("live");
    assert_eq!(
        body["id"], "live-0",
        "live mode passes bodies through untouched"
    );
    json_of(&client, chat("hi")).await.expect("live again");
    assert_eq!(server.calls(), 2);
    assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[tokio::test]
async fn streams_are_recorded_in_order_and_replayed_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chunks = (0..5)
        .map(|i| {
            Item::Chunk(json!({"id": "x", "choices": [{"delta": {"content": format!("t{i}")}}]}))
        })
        .collect();
    let server = Scripted::new(Reply::Chunks(chunks));
    let recorder = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    let request = ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "tiny", "stream": true}),
    );

    let recorded = chunks_of(&recorder, request.clone()).await.expect("stream");
    let recorded: Vec<Value> = recorded.into_iter().map(|c| c.expect("chunk")).collect();
    let contents: Vec<&Value> = recorded
        .iter()
        .map(|c| &c["choices"][0]["delta"]["content"])
        .collect();
    assert_eq!(contents, ["t0", "t1", "t2", "t3", "t4"]);
    let hash = recorder.hash_of(&request);
    assert!(
        recorded
            .iter()
            .all(|c| c["id"] == format!("rec-{}", &hash[..12])),
        "chunks normalized"
    );

    let replay = Recording::new(server.clone()).dir(dir.path());
    let replayed: Vec<Value> = chunks_of(&replay, request.clone())
        .await
        .expect("replay")
        .into_iter()
        .map(|c| c.expect("chunk"))
        .collect();
    assert_eq!(replayed, recorded);
    assert_eq!(server.calls(), 1);

    let file: Value =
        serde_json::from_str(&fs::read_to_string(recorder.path_of(&request)).expect("file"))
            .expect("json");
    assert_eq!(file["response"]["is_streaming"], true);
    assert_eq!(file["response"]["body"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn an_api_error_mid_stream_is_replayed_at_the_same_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(Reply::Chunks(vec![
        Item::Chunk(json!({"n": 1})),
        Item::Chunk(json!({"n": 2})),
        Item::ApiError(400, json!({"error": {"message": "context overflow"}})),
    ]));
    let request = ApiRequest::post("/v1/completions", json!({"model": "tiny", "stream": true}));
    let recorder = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    let replay = Recording::new(server.clone()).dir(dir.path());

    for client in [&recorder, &replay] {
        let items = chunks_of(client, request.clone()).await.expect("stream");
        assert_eq!(items.len(), 3);
        let n = |i: usize| items[i].as_ref().ok().map(|chunk| chunk["n"].clone());
        assert_eq!((n(0), n(1)), (Some(json!(1)), Some(json!(2))));
        match &items[2] {
            Err(Error::Api {
                status: 400, body, ..
            }) => {
                assert_eq!(body["error"]["message"], "context overflow");
            }
            other => panic!("expected the API error third, got {other:?}"),
        }
    }
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn api_errors_are_recorded_and_replayed_as_the_same_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error_body = json!({"error": {"message": "model not found", "code": 404}});
    let server = Scripted::new(Reply::ApiError(404, error_body.clone()));
    let recorder = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    for _ in 0..2 {
        match json_of(&recorder, chat("hi")).await {
            Err(Error::Api { status, body, .. }) => {
                assert_eq!(status, 404);
                assert_eq!(body, error_body);
            }
            other => panic!("expected the API error, got {other:?}"),
        }
    }
    assert_eq!(server.calls(), 1, "the error was replayed the second time");
    let file: Value =
        serde_json::from_str(&fs::read_to_string(recorder.path_of(&chat("hi"))).expect("file"))
            .expect("json");
    assert_eq!(file["response"]["is_error"], true);
    assert_eq!(file["response"]["status"], 404);
}

#[tokio::test]
async fn transport_errors_are_never_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(Reply::TransportError);
    let client = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    let err = json_of(&client, chat("hi")).await.expect_err("refused");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(recording_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_failed_upstream_is_named_with_the_mode_and_the_next_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    for mode in [Mode::RecordIfMissing, Mode::Record, Mode::Live] {
        let client = Recording::new(Scripted::new(Reply::TransportError))
            .mode(mode)
            .dir(dir.path());
        let text = json_of(&client, chat("hi"))
            .await
            .expect_err("refused")
            .to_string();
        assert!(text.contains("connection refused"), "{text}");
        assert!(
            text.contains("upstream: test http://127.0.0.1:9"),
            "the upstream, by provider and address: {text}"
        );
        assert!(!text.contains("sk-test-secret"), "no credentials: {text}");
        assert!(text.contains(&format!("mode: {mode}")), "{text}");
        assert!(text.contains("TEST_INFERENCE_MODE=replay"), "{text}");
    }
}

#[tokio::test]
async fn a_stream_broken_by_the_transport_keeps_the_old_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let request = ApiRequest::post("/v1/completions", json!({"model": "tiny", "stream": true}));
    let server = Scripted::new(Reply::Chunks(vec![
        Item::Chunk(json!({"n": 1})),
        Item::Chunk(json!({"n": 2})),
    ]));
    let client = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    chunks_of(&client, request.clone())
        .await
        .expect("first recording");
    let before = fs::read(client.path_of(&request)).expect("file");

    server.set_reply(Reply::Chunks(vec![
        Item::Chunk(json!({"n": 9})),
        Item::TransportError,
    ]));
    let items = chunks_of(&client, request.clone()).await.expect("stream");
    assert!(matches!(items.last(), Some(Err(Error::Transport(_)))));
    assert_eq!(fs::read(client.path_of(&request)).expect("file"), before);
    assert_eq!(recording_files(dir.path()).len(), 1, "no stray temp files");
}

#[tokio::test]
async fn scopes_record_the_same_request_separately() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let a = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .scope("a");
    let b = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .scope(test_name!());
    json_of(&a, chat("hi")).await.expect("a");
    json_of(&b, chat("hi")).await.expect("b");
    assert_eq!(server.calls(), 2);
    assert_eq!(recording_files(dir.path()).len(), 2);
    assert_eq!(
        b.current_scope(),
        Some("engine::scopes_record_the_same_request_separately")
    );
    let file: Value =
        serde_json::from_str(&fs::read_to_string(b.path_of(&chat("hi"))).expect("file"))
            .expect("json");
    assert_eq!(
        file["request"]["scope"],
        "engine::scopes_record_the_same_request_separately"
    );

    // A miss under a third scope points at a neighbour and names the test to re-run.
    let c = Recording::new(server.clone())
        .dir(dir.path())
        .scope("other::c_test");
    let text = json_of(&c, chat("hi")).await.expect_err("miss").to_string();
    assert!(text.contains("recorded in scope:"), "{text}");
    assert!(text.contains("the bodies are identical"), "{text}");
    assert!(text.contains("cargo test c_test"), "{text}");
}

/// A recording whose layout is intact but whose body is not JSON (edited by hand): the
/// replay of a plain answer takes the body by its layout, and every reader says what
/// is wrong, naming the file: the typed decode, `into_json`, and an HTTP front.
#[tokio::test]
async fn a_body_broken_inside_its_layout_is_reported_naming_the_file() {
    use recording_core::wire::{WireBody, WireFormat, encode};

    struct Plain;
    impl WireFormat for Plain {
        fn stream_content_type(&self) -> &'static str {
            "text/event-stream"
        }
        fn frame_chunk(&self, json: &str, out: &mut Vec<u8>) {
            out.extend_from_slice(json.as_bytes());
        }
        fn frame_end(&self, _: Option<&str>, _: &mut Vec<u8>) {}
        fn error_body(&self, message: &str, kind: &str) -> Value {
            json!({"error": {"message": message, "type": kind}})
        }
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let record = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    json_of(&record, chat("hi")).await.expect("recorded");
    let path = record.path_of(&chat("hi"));
    let text = fs::read_to_string(&path).expect("file");
    // The answer's text, the last in the file (the request's comes first).
    let at = text
        .rfind("\"hi\"")
        .expect("the answer's text is in the file");
    let broken = format!("{}{}", &text[..at + 3], &text[at + 4..]);
    fs::write(&path, &broken).expect("write");

    let replay = Recording::new(server.clone())
        .mode(Mode::Replay)
        .dir(dir.path());
    let named = |err: &Error| err.to_string().contains(&*path.to_string_lossy());
    let err = json_of(&replay, chat("hi")).await.expect_err("not JSON");
    assert!(named(&err), "{err}");
    let err = replay
        .send(chat("hi"))
        .await
        .expect("read")
        .decode_json::<Value>("chat completion")
        .expect_err("not JSON");
    assert!(named(&err), "{err}");
    let wire = encode(&Plain, replay.send(chat("hi")).await);
    assert_eq!(wire.status, 500);
    let WireBody::Full(body) = wire.body else {
        panic!("an error body");
    };
    let body = String::from_utf8(body.to_vec()).expect("UTF-8");
    assert!(
        body.contains("response.body") && body.contains(&*path.to_string_lossy()),
        "{body}"
    );
    assert_eq!(fs::read_to_string(&path).expect("file"), broken, "kept");
}

#[tokio::test]
async fn a_corrupt_recording_is_reported_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let probe = Recording::new(server.clone()).dir(dir.path());
    let path = probe.path_of(&chat("hi"));
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, b"{\"request\": {\"method\": \"PO").expect("write");

    for mode in [Mode::Replay, Mode::RecordIfMissing] {
        let client = Recording::new(server.clone()).mode(mode).dir(dir.path());
        let err = json_of(&client, chat("hi")).await.expect_err("corrupt");
        assert!(
            matches!(err, Error::InvalidRecording { .. }),
            "{mode}: {err:?}"
        );
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    }
    assert_eq!(server.calls(), 0);
    assert_eq!(
        fs::read(&path).expect("file"),
        b"{\"request\": {\"method\": \"PO"
    );

    // Record mode is the explicit way to replace it.
    let client = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    json_of(&client, chat("hi")).await.expect("re-recorded");
    let file =
        RecordingFile::from_slice(&fs::read(&path).expect("file"), &path).expect("valid now");
    assert_eq!(file.response.body["choices"][0]["message"]["content"], "hi");
}

#[tokio::test]
async fn a_recording_nests_and_works_behind_dyn_and_arc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let shared: Arc<dyn InferenceClient> = Arc::new(server.clone());
    let client: Arc<dyn InferenceClient> = Arc::new(
        Recording::new(shared)
            .mode(Mode::RecordIfMissing)
            .dir(dir.path()),
    );
    assert_eq!(client.provider(), "test");
    json_of(client.as_ref(), chat("hi"))
        .await
        .expect("recorded");
    json_of(&client, chat("hi"))
        .await
        .expect("replayed through Arc");
    assert_eq!(server.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_recorders_leave_only_complete_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(Reply::Chunks(
        (0..50)
            .map(|i| Item::Chunk(json!({"i": i, "pad": "x".repeat(200)})))
            .collect(),
    ));
    let mut tasks = Vec::new();
    for task in 0..32 {
        let client = Recording::new(server.clone())
            .mode(Mode::Record)
            .dir(dir.path());
        tasks.push(tokio::spawn(async move {
            // Half the tasks share one request; the rest each have their own.
            let n = if task % 2 == 0 { 0 } else { task };
            let request = ApiRequest::post("/v1/completions", json!({"prompt": n, "stream": true}));
            let items = chunks_of(&client, request).await.expect("stream");
            assert_eq!(items.len(), 50);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let names = recording_files(dir.path());
    assert_eq!(names.len(), 17, "{names:?}");
    for name in names {
        let path = dir.path().join("responses").join(&name);
        let file =
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path).expect("complete");
        assert_eq!(file.response.body.as_array().map(Vec::len), Some(50));
    }
}

/// Replayed bodies are decoded from the recording's text: a chunk that does not fit
/// fails at its place in the stream, naming the file and the field; asking for the
/// wrong shape names the file too.
#[tokio::test]
async fn typed_decoding_of_replayed_text_names_the_file_and_the_field() {
    #[derive(Debug, serde::Deserialize)]
    struct Chunk {
        #[allow(dead_code)]
        n: u32,
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let chunks = vec![
        Item::Chunk(json!({"n": 1})),
        Item::Chunk(json!({"n": "two"})),
        Item::Chunk(json!({"n": 3})),
    ];
    let recorder = Recording::new(Scripted::new(Reply::Chunks(chunks)))
        .mode(Mode::Record)
        .dir(dir.path());
    let request = ApiRequest::post("/v1/completions", json!({"stream": true}));
    chunks_of(&recorder, request.clone())
        .await
        .expect("recorded");
    let path = recorder.path_of(&request);

    let replay = Recording::new(Scripted::new(Reply::TransportError)).dir(dir.path());
    let typed: Vec<Result<Chunk, Error>> = replay
        .send(request.clone())
        .await
        .expect("replayed")
        .decode_stream::<Chunk>("test chunk")
        .expect("a stream")
        .collect()
        .await;
    // The stream ends at the error: nothing after it.
    assert_eq!(typed.len(), 2);
    assert!(typed[0].is_ok(), "{typed:?}");
    let err = typed[1].as_ref().expect_err("a string is not a u32");
    let text = err.to_string();
    assert!(text.starts_with("cannot decode test chunk"), "{text}");
    assert!(text.contains(&*path.to_string_lossy()), "{text}");
    assert!(text.contains("`n`"), "{text}");

    let err = replay
        .send(request)
        .await
        .expect("replayed")
        .decode_json::<Chunk>("test body")
        .expect_err("a stream is not a body");
    assert!(matches!(err, Error::UnexpectedShape { .. }), "{err:?}");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

/// A recorder wrapping a replaying recorder records what it replays: bodies and
/// streams come out of the inner one as recorded text and go into the outer one's
/// directory as the same values.
#[tokio::test]
async fn a_recorder_records_what_a_nested_recorder_replays() {
    let (first, second) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let server = Scripted::new(answer());
    let original = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(first.path());
    let body = json_of(&original, chat("hi")).await.expect("recorded");
    server.set_reply(Reply::Chunks(vec![
        Item::Chunk(json!({"n": 1})),
        Item::Chunk(json!({"n": 2})),
    ]));
    let stream = ApiRequest::post("/v1/completions", json!({"stream": true}));
    let chunks: Vec<Value> = chunks_of(&original, stream.clone())
        .await
        .expect("recorded")
        .into_iter()
        .map(|c| c.expect("chunk"))
        .collect();

    let inner = Recording::new(server.clone())
        .mode(Mode::Replay)
        .dir(first.path());
    let outer = Recording::new(inner).mode(Mode::Record).dir(second.path());
    assert_eq!(
        json_of(&outer, chat("hi")).await.expect("re-recorded"),
        body
    );
    let again: Vec<Value> = chunks_of(&outer, stream.clone())
        .await
        .expect("re-recorded")
        .into_iter()
        .map(|c| c.expect("chunk"))
        .collect();
    assert_eq!(again, chunks);
    assert_eq!(
        server.calls(),
        2,
        "only the first recorder reached the server"
    );
    for request in [chat("hi"), stream] {
        let read = |dir: &std::path::Path| {
            let path = Recording::new(server.clone()).dir(dir).path_of(&request);
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path)
                .expect("valid")
                .response
        };
        assert_eq!(read(second.path()), read(first.path()));
    }
}
