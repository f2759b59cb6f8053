//! A record run never trades a good recording for a worse one: the error policy, errors
//! never over successes, and streams that the caller drops early still recorded whole.

use std::fs;

use futures::StreamExt;
use recording_core::{ApiRequest, Error, InferenceClient, Mode, Recording};
use serde_json::{Value, json};

mod support;

use support::*;

fn streaming() -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "tiny", "stream": true}),
    )
}

fn chunks(n: usize) -> Vec<Item> {
    (0..n).map(|i| Item::Chunk(json!({"n": i}))).collect()
}

fn recorded(client: &Recording<Scripted>, request: &ApiRequest) -> Option<Value> {
    let text = fs::read_to_string(client.path_of(request)).ok()?;
    serde_json::from_str(&text).ok()
}

#[tokio::test]
async fn transient_and_credential_errors_are_passed_on_but_not_recorded() {
    for status in [401, 403, 408, 429, 500, 502, 503] {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Scripted::new(Reply::ApiError(status, json!("<html>Bad Gateway</html>")));
        let client = Recording::new(server.clone())
            .mode(Mode::RecordIfMissing)
            .dir(dir.path());
        let err = json_of(&client, chat("hi")).await.expect_err("an error");
        assert_eq!(err.status(), Some(status));
        let text = err.to_string();
        assert!(text.contains("not recorded"), "{text}");
        assert!(
            text.contains(&format!("record_errors([{status}])")),
            "{text}"
        );
        assert!(
            recording_files(dir.path()).is_empty(),
            "{status} was written"
        );

        // Once the cause is gone (the key fixed, the server back), the next run records
        // the real answer instead of replaying the error forever.
        server.set_reply(answer());
        json_of(&client, chat("hi")).await.expect("the real answer");
        assert_eq!(recording_files(dir.path()).len(), 1);
        assert_eq!(server.calls(), 2);
    }
}

#[tokio::test]
async fn errors_a_request_provokes_are_recorded_and_a_test_can_opt_in_to_others() {
    for status in [400, 404, 413, 422] {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Scripted::new(Reply::ApiError(status, json!({"error": "bad"})));
        let client = Recording::new(server).mode(Mode::Record).dir(dir.path());
        let err = json_of(&client, chat("hi")).await.expect_err("an error");
        assert!(!err.to_string().contains("not recorded"), "{err}");
        assert_eq!(
            recorded(&client, &chat("hi")).expect("file")["response"]["status"],
            status
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(Reply::ApiError(429, json!({"error": "slow down"})));
    let client = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .record_errors([429])
        .dir(dir.path());
    json_of(&client, chat("hi")).await.expect_err("recorded");
    let err = json_of(&client, chat("hi")).await.expect_err("replayed");
    assert_eq!(err.status(), Some(429));
    assert_eq!(server.calls(), 1, "the 429 replays");
}

#[tokio::test]
async fn no_error_replaces_a_successful_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let client = Recording::new(server.clone())
        .mode(Mode::Record)
        .record_errors([429, 500])
        .dir(dir.path());
    json_of(&client, chat("hi")).await.expect("good");
    let good = fs::read(client.path_of(&chat("hi"))).expect("recorded");
    for (status, body) in [
        (404, json!({"error": "gone"})),
        (429, json!("slow")),
        (500, json!("x")),
    ] {
        server.set_reply(Reply::ApiError(status, body));
        let err = json_of(&client, chat("hi")).await.expect_err("an error");
        assert!(err.to_string().contains("never replaces"), "{err}");
    }
    // Nor does a stream that ends in an error replace a good stream.
    server.set_reply(Reply::Chunks(chunks(2)));
    let stream = chunks_of(&client, streaming()).await.expect("stream");
    assert!(stream.iter().all(Result::is_ok));
    let good_stream = fs::read(client.path_of(&streaming())).expect("recorded");
    let mut failing = chunks(1);
    failing.push(Item::ApiError(400, json!({"error": "overflow"})));
    server.set_reply(Reply::Chunks(failing));
    let items = chunks_of(&client, streaming()).await.expect("stream");
    let err = items
        .last()
        .expect("items")
        .as_ref()
        .expect_err("the error");
    assert!(err.to_string().contains("never replaces"), "{err}");

    assert_eq!(fs::read(client.path_of(&chat("hi"))).expect("kept"), good);
    assert_eq!(
        fs::read(client.path_of(&streaming())).expect("kept"),
        good_stream
    );
}

#[tokio::test]
async fn a_server_error_mid_stream_is_not_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut items = chunks(2);
    items.push(Item::ApiError(503, json!({"error": "overloaded"})));
    let server = Scripted::new(Reply::Chunks(items));
    let client = Recording::new(server).mode(Mode::Record).dir(dir.path());
    let items = chunks_of(&client, streaming()).await.expect("stream");
    assert_eq!(items.len(), 3);
    assert!(
        items[2]
            .as_ref()
            .expect_err("503")
            .to_string()
            .contains("not recorded")
    );
    assert!(recording_files(dir.path()).is_empty());
}

/// Reads `take` chunks of a recorded stream, then drops it, as apps that stop at
/// `finish_reason` do.
async fn read_and_drop(client: &Recording<Scripted>, take: usize) {
    let mut stream = client
        .send(streaming())
        .await
        .expect("stream")
        .into_stream()
        .expect("a stream");
    for _ in 0..take {
        stream.next().await.expect("a chunk").expect("ok");
    }
}

#[tokio::test]
async fn a_stream_dropped_early_is_still_recorded_whole() {
    for reply in [Reply::Chunks(chunks(5)), Reply::SlowChunks(chunks(5))] {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Scripted::new(reply);
        let client = Recording::new(server.clone())
            .mode(Mode::RecordIfMissing)
            .dir(dir.path());
        read_and_drop(&client, 2).await;
        client.finish_recording().await;
        let file = recorded(&client, &streaming()).expect("recorded");
        let body = file["response"]["body"].as_array().expect("chunks");
        let ns: Vec<_> = body.iter().map(|chunk| chunk["n"].clone()).collect();
        assert_eq!(ns, (0..5).map(|n| json!(n)).collect::<Vec<_>>());

        // And it replays whole, without the server.
        let replayed = chunks_of(&client, streaming()).await.expect("replayed");
        assert_eq!(replayed.len(), 5);
        assert_eq!(server.calls(), 1);
    }
}

#[tokio::test]
async fn a_dropped_stream_that_then_fails_is_not_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut items = chunks(3);
    items.push(Item::TransportError);
    let client = Recording::new(Scripted::new(Reply::SlowChunks(items)))
        .mode(Mode::Record)
        .dir(dir.path());
    read_and_drop(&client, 1).await;
    client.finish_recording().await;
    assert!(recording_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_stream_ends_at_its_first_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = vec![
        Item::Chunk(json!({"n": 0})),
        Item::TransportError,
        Item::Chunk(json!({"n": 1})),
    ];
    let server = Scripted::new(Reply::Chunks(items));
    for mode in [Mode::Live, Mode::Record] {
        let client = Recording::new(server.clone()).mode(mode).dir(dir.path());
        let typed = client
            .send(streaming())
            .await
            .expect("stream")
            .decode_stream::<Value>("chunk")
            .expect("a stream");
        let items: Vec<Result<Value, Error>> = typed.collect().await;
        assert_eq!(items.len(), 2, "{mode}: nothing after the error: {items:?}");
        assert!(items[1].is_err());
    }
}
