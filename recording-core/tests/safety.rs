//! What callers supply never escapes the recordings directory, and a directory that
//! cannot be written costs neither the recordings on disk nor the fetched response.

mod support;

use std::fs;

use recording_core::{ApiRequest, Error, Mode, Recording, RecordingFile};
use serde_json::json;
use support::*;

fn is_key_file(name: &str) -> bool {
    name.len() == 69
        && name.ends_with(".json")
        && name[..64]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test]
async fn scopes_never_become_paths() {
    let outer = tempfile::tempdir().expect("tempdir");
    let dir = outer.path().join("recordings");
    let server = Scripted::new(answer());
    let hostile = [
        "../../escaped".to_owned(),
        "/tmp/absolute".to_owned(),
        "..\\..\\windows".to_owned(),
        "nul\0inside".to_owned(),
        "line\nbreak/../x".to_owned(),
        "x".repeat(100_000),
    ];
    for scope in &hostile {
        let recorder = Recording::new(server.clone())
            .mode(Mode::Record)
            .dir(&dir)
            .scope(scope.as_str());
        let path = recorder.path_of(&chat("hi"));
        json_of(&recorder, chat("hi")).await.expect("recorded");
        assert_eq!(path.parent(), Some(dir.join("responses").as_path()));

        // The scope is in the file, faithfully, and replays.
        let file = RecordingFile::from_slice(&fs::read(&path).expect("read"), &path)
            .expect("a valid recording");
        assert_eq!(file.request.scope.as_deref(), Some(scope.as_str()));
        let replayer = Recording::new(Scripted::new(Reply::TransportError))
            .mode(Mode::Replay)
            .dir(&dir)
            .scope(scope.as_str());
        json_of(&replayer, chat("hi")).await.expect("replayed");
    }

    // One file per scope, all key-named, in responses/; nothing anywhere else.
    let names = recording_files(&dir);
    assert_eq!(names.len(), hostile.len(), "{names:?}");
    assert!(names.iter().all(|name| is_key_file(name)), "{names:?}");
    let mut top: Vec<_> = fs::read_dir(outer.path())
        .expect("outer")
        .map(|e| e.expect("entry").file_name())
        .collect();
    top.sort();
    assert_eq!(top, vec![std::ffi::OsString::from("recordings")]);
    let mut inside: Vec<_> = fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    inside.sort();
    // `responses/`, and the used set (`.used/`, see recording_core::used).
    assert_eq!(
        inside,
        vec![std::ffi::OsString::from(".used"), "responses".into()]
    );
}

/// A regular file where `responses/` should be: the directory cannot be created or
/// written, whoever runs the test (root ignores read-only permissions, not this).
fn unwritable_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("responses"), b"in the way").expect("blocker");
    dir
}

#[tokio::test]
async fn an_unwritable_directory_names_the_path_and_hands_back_the_response() {
    let dir = unwritable_dir();
    let server = Scripted::new(answer());
    let recorder = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    let err = json_of(&recorder, chat("hi"))
        .await
        .expect_err("cannot write");
    let Error::Storage {
        path,
        fetched: Some(fetched),
        ..
    } = &err
    else {
        panic!("a storage error carrying the response, not {err:?}");
    };
    assert!(path.starts_with(dir.path()), "{}", path.display());
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert_eq!(server.calls(), 1);
    // The normalized body: what a successful record would have returned.
    assert_eq!(fetched["choices"][0]["message"]["content"], "hi");
    assert_eq!(
        fetched["id"],
        json!(format!("rec-{}", &recorder.hash_of(&chat("hi"))[..12]))
    );
    assert_eq!(
        fs::read(dir.path().join("responses")).expect("blocker"),
        b"in the way",
        "nothing on disk was touched"
    );
}

#[tokio::test]
async fn an_unwritable_directory_ends_a_recorded_stream_with_the_error() {
    let dir = unwritable_dir();
    let chunks: Vec<_> = (0..3).map(|i| Item::Chunk(json!({"i": i}))).collect();
    let recorder = Recording::new(Scripted::new(Reply::Chunks(chunks)))
        .mode(Mode::Record)
        .dir(dir.path());
    let request = ApiRequest::post("/v1/completions", json!({"prompt": "p", "stream": true}));
    let items = chunks_of(&recorder, request)
        .await
        .expect("the stream starts");
    // The caller saw every chunk as it came, then learns it was not recorded.
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(items[..3].iter().all(Result::is_ok));
    let Err(Error::Storage {
        fetched: Some(fetched),
        ..
    }) = &items[3]
    else {
        panic!("a storage error last, not {:?}", items[3]);
    };
    assert_eq!(fetched.as_array().map(Vec::len), Some(3));
}
