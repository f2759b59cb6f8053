//! Hostile files and requests: each is a clear error naming the file or value, never
//! a crash, a hang or a silent wrong answer.

use std::fs;

use recording_core::format::{MAX_BODY_DEPTH, RecordedRequest, RecordedResponse, RecordingFile};
use recording_core::{ApiRequest, Error, InferenceClient, Method, Mode, Recording, Store};
use serde_json::{Value, json};

mod support;

use support::*;

fn nested(levels: usize) -> Value {
    let mut value = json!("leaf");
    for _ in 1..levels {
        value = Value::Array(vec![value]);
    }
    value
}

fn file_for(request: &ApiRequest, body: Value) -> RecordingFile {
    RecordingFile {
        request: RecordedRequest::of("test", request),
        response: RecordedResponse::body(body),
    }
}

#[tokio::test]
async fn a_request_nested_ten_thousand_levels_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    for mode in [Mode::Replay, Mode::Record] {
        let client = Recording::new(server.clone()).mode(mode).dir(dir.path());
        // Built here without recursion, and never cloned: a value this deep cannot be
        // cloned or dropped recursively on a test thread's stack. The recorder takes it
        // apart without recursion too.
        let request = ApiRequest::post("/v1/chat/completions", nested(10_000));
        // Computing its key does not overflow the stack either.
        assert_eq!(client.hash_of(&request).len(), 64);
        let err = json_of(&client, request).await.expect_err("too deep");
        let text = err.to_string();
        assert!(
            text.contains("10000 levels") && text.contains(&MAX_BODY_DEPTH.to_string()),
            "{text}"
        );
    }
    assert_eq!(server.calls(), 0);
    assert!(recording_files(dir.path()).is_empty());
}

#[tokio::test]
async fn the_recorder_never_writes_a_file_its_own_reader_rejects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = nested(126);
    let server = Scripted::new(Reply::Json(json!({"deep": deep})));
    let client = Recording::new(server).mode(Mode::Record).dir(dir.path());
    let err = json_of(&client, chat("deep"))
        .await
        .expect_err("too deep to keep");
    let text = err.to_string();
    assert!(text.contains("levels deep"), "{text}");
    match err {
        Error::Storage { fetched, .. } => assert!(fetched.is_some(), "the answer is not lost"),
        other => panic!("{other:?}"),
    }
    assert!(recording_files(dir.path()).is_empty());

    // What it does write, it reads back: the deepest body it accepts.
    let request = chat("deepest");
    let client = Recording::new(Scripted::new(answer())).dir(dir.path());
    let file = file_for(&request, nested(MAX_BODY_DEPTH));
    Store::new(dir.path())
        .save(&client.hash_of(&request), &file)
        .expect("written");
    json_of(&client, request).await.expect("and replayed");
}

#[tokio::test]
async fn special_files_named_like_recordings_are_errors_not_hangs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(Scripted::new(answer())).dir(dir.path());
    let responses = dir.path().join("responses");
    fs::create_dir_all(&responses).expect("mkdir");

    // A FIFO: opening it to read would block until a writer came.
    let fifo = client.path_of(&chat("fifo"));
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
    let err = json_of(&client, chat("fifo"))
        .await
        .expect_err("not a file");
    assert!(err.to_string().contains("not a regular file"), "{err}");

    // A link to an endless device.
    let endless = client.path_of(&chat("zero"));
    std::os::unix::fs::symlink("/dev/zero", &endless).expect("symlink");
    let err = json_of(&client, chat("zero"))
        .await
        .expect_err("not a file");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(
        err.to_string().contains(&endless.display().to_string()),
        "{err}"
    );

    // A miss next to both searches past them.
    let err = json_of(&client, chat("other")).await.expect_err("a miss");
    assert!(matches!(err, Error::ReplayMiss(_)), "{err:?}");
}

#[tokio::test]
async fn a_recording_whose_content_does_not_match_its_name_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(Scripted::new(answer())).dir(dir.path());
    let asked = ApiRequest::post("/v1/chat/completions", json!({"model": "m"}));
    let other = ApiRequest::post("/v1/embeddings", json!({"model": "m"}));
    // The embeddings recording, saved under the chat request's key (a rename).
    Store::new(dir.path())
        .save(
            &client.hash_of(&asked),
            &file_for(&other, json!({"data": []})),
        )
        .expect("written");
    let err = json_of(&client, asked).await.expect_err("mismatched");
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidRecording { .. }), "{err:?}");
    assert!(
        text.contains("POST /v1/embeddings") && text.contains("POST /v1/chat/completions"),
        "{text}"
    );
}

#[tokio::test]
async fn a_file_with_a_byte_order_mark_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(Scripted::new(answer())).dir(dir.path());
    let request = chat("bom");
    let path = Store::new(dir.path())
        .save(
            &client.hash_of(&request),
            &file_for(&request, json!({"ok": true})),
        )
        .expect("written");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(fs::read(&path).expect("read"));
    fs::write(&path, bytes).expect("write");
    assert_eq!(
        json_of(&client, request).await.expect("replayed"),
        json!({"ok": true})
    );
}

#[tokio::test]
async fn a_miss_reads_only_the_request_of_each_recording_and_stops_at_its_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(Scripted::new(answer())).dir(dir.path());
    let store = Store::new(dir.path());
    // A recording whose response is 4 GB of nothing: a sparse file, never read.
    let near = chat("hello there");
    let path = store
        .save(
            &client.hash_of(&near),
            &file_for(&near, json!({"ok": true})),
        )
        .expect("written");
    let text = fs::read_to_string(&path).expect("read");
    let head = &text[..text.find("\"response\"").expect("a response")];
    fs::write(&path, format!("{head}\"response\": {{\"body\": \"")).expect("write");
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|file| file.set_len(4 << 30))
        .expect("sparse");
    let err = json_of(&client, chat("hello, there"))
        .await
        .expect_err("a miss");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "the closest by its request: {text}"
    );
    assert!(
        text.contains("-      \"content\": \"hello there\""),
        "{text}"
    );

    // Past the file limit, the report says it stopped looking.
    for n in 0..recording_core::limits::MISS_SEARCH_FILES {
        let request = ApiRequest::post("/v1/embeddings", json!({"n": n}));
        store
            .save(&client.hash_of(&request), &file_for(&request, json!({})))
            .expect("written");
    }
    let err = json_of(&client, chat("nothing like it"))
        .await
        .expect_err("a miss");
    assert!(
        err.to_string().contains("the search stopped after"),
        "{err}"
    );
    let _ = Method::Get;
    let _ = client.provider();
}

/// A miss searches the recordings off the caller's thread: on a runtime with one
/// thread, a hit asked for after eight misses beside 2 000 recordings is answered
/// before any of them. Searched on the caller's thread, each miss would hold the
/// thread for its whole search, and the hit would come last.
#[tokio::test(flavor = "current_thread")]
async fn misses_never_hold_up_a_hit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recording::new(Scripted::new(answer())).dir(dir.path());
    let store = Store::new(dir.path());
    let filler = "x".repeat(10_000);
    for n in 0..recording_core::limits::MISS_SEARCH_FILES {
        let request = chat(&format!("{n} {filler}"));
        store
            .save(&client.hash_of(&request), &file_for(&request, json!({})))
            .expect("written");
    }
    let hit = chat("the one asked for");
    store
        .save(&client.hash_of(&hit), &file_for(&hit, json!({"ok": true})))
        .expect("written");

    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (client, done) = (client.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let missed = json_of(&client, chat(&format!("not recorded {n}"))).await;
            assert!(matches!(missed, Err(Error::ReplayMiss(_))), "{missed:?}");
            let _ = done.send("miss");
        }));
    }
    {
        let (client, done) = (client.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let answered = json_of(&client, hit).await.expect("a hit");
            assert_eq!(answered, json!({"ok": true}));
            let _ = done.send("hit");
        }));
    }
    drop(done);
    for task in tasks {
        task.await.expect("the task ran");
    }
    assert_eq!(finished.recv().await, Some("hit"), "the hit came first");
}
