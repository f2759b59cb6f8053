//! The recording server keeps replayed answers in memory, and never answers from
//! memory what the file no longer says: a recording edited in place, re-recorded (a
//! new file renamed over it) or removed between two requests is seen by the next one,
//! through the path that skips parsing a request seen before.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use provider_openai::{CHAT_COMPLETIONS, OpenAiNormalizer};
use recording_core::{ApiRequest, Mode, key_of};
use recording_server::{RecordingServer, RunningServer};
use serde_json::Value;

/// The committed chat "Say hello." and the stream "Count to three." (26 chunks).
const CHAT: &str = "4aa6ca0ee9bab7f79ba1a51356a29c59c189d6e058ac2eef717d4b8f82dcee61";
const STREAM: &str = "e910118fcaa18fe85ac96d49584808c90965c594b7a6b2b4c8bc337fcfb49f4b";

fn committed(key: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recordings/responses")
        .join(format!("{key}.json"));
    serde_json::from_slice(&std::fs::read(path).expect("a committed recording")).expect("json")
}

/// Writes `file` where the server looks for its request (unscoped), last modified an
/// hour ago, as a recording is that was committed before the server started; gives
/// the path and the request body.
fn install(dir: &Path, file: &Value) -> (PathBuf, Value) {
    let body = file["request"]["body"].clone();
    let key = key_of(
        &ApiRequest::post(CHAT_COMPLETIONS, body.clone()),
        None,
        &OpenAiNormalizer,
    );
    let path = dir.join("responses").join(format!("{key}.json"));
    write_settled(&path, file);
    (path, body)
}

fn write_settled(path: &Path, file: &Value) {
    let text = serde_json::to_string_pretty(file).expect("serialize");
    std::fs::write(path, text).expect("write");
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(an_hour_ago))
        .expect("set the modification time");
}

async fn post(server: &RunningServer, body: &Value) -> (u16, String) {
    post_scoped(server, body, None).await
}

async fn post_scoped(server: &RunningServer, body: &Value, scope: Option<&str>) -> (u16, String) {
    let mut request = tests::tls::reqwest_client()
        .post(format!("{}{CHAT_COMPLETIONS}", server.url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(scope) = scope {
        request = request.header("x-recording-scope", scope);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

fn content(text: &str) -> String {
    let body: Value = serde_json::from_str(text).expect("json");
    body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .to_owned()
}

/// The streamed answer's text, its deltas joined.
fn streamed(text: &str) -> String {
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    text.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| {
            let chunk: Value = serde_json::from_str(data).expect("a chunk");
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_edited_rerecorded_or_removed_recording_is_seen_on_the_next_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("responses")).expect("mkdir");
    let mut chat = committed(CHAT);
    let (path, body) = install(dir.path(), &chat);
    let server = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("the server starts");
    let recorded = chat["response"]["body"]["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .to_owned();
    for _ in 0..3 {
        let (status, text) = post(&server, &body).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(content(&text), recorded);
    }

    // Edited in place, to an answer of the same length.
    let same_length: String = recorded
        .chars()
        .map(|c| if c == 'x' { 'y' } else { 'x' })
        .collect();
    chat["response"]["body"]["choices"][0]["message"]["content"] = same_length.clone().into();
    write_settled(&path, &chat);
    assert_eq!(content(&post(&server, &body).await.1), same_length);
    assert_eq!(content(&post(&server, &body).await.1), same_length);

    // Re-recorded: a new file renamed over the old.
    chat["response"]["body"]["choices"][0]["message"]["content"] = "re-recorded".into();
    let staged = dir.path().join("responses").join("staged.tmp");
    write_settled(&staged, &chat);
    std::fs::rename(&staged, &path).expect("rename");
    assert_eq!(content(&post(&server, &body).await.1), "re-recorded");

    // Removed: a miss, named as one.
    std::fs::remove_file(&path).expect("remove");
    let (status, text) = post(&server, &body).await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("replay miss"), "{text}");

    // A stream, too: sent whole, then edited.
    let mut stream = committed(STREAM);
    let (path, body) = install(dir.path(), &stream);
    let (status, text) = post(&server, &body).await;
    assert_eq!(status, 200, "{text}");
    let counted = streamed(&text);
    assert!(!counted.is_empty());
    assert_eq!(streamed(&post(&server, &body).await.1), counted);
    stream["response"]["body"][1]["choices"][0]["delta"]["content"] = "EDITED".into();
    write_settled(&path, &stream);
    let edited = streamed(&post(&server, &body).await.1);
    assert!(edited.contains("EDITED"), "{edited}");
    assert_ne!(edited, counted);
}

#[tokio::test]
async fn a_request_seen_before_is_told_from_the_same_bytes_in_another_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("responses")).expect("mkdir");
    let (_, body) = install(dir.path(), &committed(CHAT));
    let server = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("the server starts");
    for _ in 0..2 {
        assert_eq!(post_scoped(&server, &body, None).await.0, 200);
    }
    // The same bytes under a scope, an empty one included, are other requests: misses.
    for scope in ["", "test_a"] {
        let (status, text) = post_scoped(&server, &body, Some(scope)).await;
        assert_eq!(status, 404, "scope {scope:?}: {text}");
        assert!(text.contains("replay miss"), "{text}");
    }
    assert_eq!(post_scoped(&server, &body, None).await.0, 200);
}

#[tokio::test]
async fn a_recording_broken_after_it_was_replayed_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("responses")).expect("mkdir");
    let (path, body) = install(dir.path(), &committed(CHAT));
    let server = RecordingServer::new()
        .mode(Mode::Replay)
        .dir(dir.path())
        .start()
        .await
        .expect("the server starts");
    assert_eq!(post(&server, &body).await.0, 200);
    // Torn by hand: the next request, through the path for requests seen before,
    // reads it again and says what is wrong with which file.
    std::fs::write(&path, "{\"request\": ").expect("write");
    let (status, text) = post(&server, &body).await;
    assert_eq!(status, 500, "{text}");
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a name");
    assert!(text.contains(name), "{text}");
    // Mended, it answers again.
    write_settled(&path, &committed(CHAT));
    assert_eq!(post(&server, &body).await.0, 200);
}
