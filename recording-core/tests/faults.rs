//! Fault injection through the typed trait: each fault and each selector on real
//! answers of the scripted server, never recorded, and said in the miss report.

use std::time::Duration;

use recording_core::fault::FaultPlan;
use recording_core::{Error, Mode, Recording};
use serde_json::{Value, json};

mod support;

use support::*;

fn plan(text: &str) -> FaultPlan {
    text.parse().unwrap_or_else(|err| panic!("{text}: {err}"))
}

fn streamed(n: usize) -> Reply {
    Reply::Chunks(
        (0..n)
            .map(|i| Item::Chunk(json!({"choices": [{"delta": {"content": format!("w{i}")}}]})))
            .collect(),
    )
}

/// A directory holding a recorded chat (`hi`) and a recorded 4-chunk stream (`count`).
async fn recorded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let record = Recording::new(server.clone())
        .mode(Mode::Record)
        .dir(dir.path());
    json_of(&record, chat("hi")).await.expect("recorded");
    server.set_reply(streamed(4));
    chunks_of(&record, chat("count")).await.expect("recorded");
    dir
}

fn replaying(dir: &tempfile::TempDir, faults: &str) -> Recording<Scripted> {
    Recording::new(Scripted::new(Reply::TransportError))
        .dir(dir.path())
        .faults(plan(faults))
}

#[tokio::test]
async fn a_429_on_the_first_call_then_the_recorded_answer() {
    let dir = recorded().await;
    let client = replaying(&dir, "status=429;call=1");
    match json_of(&client, chat("hi")).await {
        Err(Error::Api {
            status: 429,
            body,
            headers,
            not_recorded,
        }) => {
            // OpenAI's rate-limit error, as its API reference shows it.
            assert_eq!(body["error"]["code"], "rate_limit_exceeded");
            assert_eq!(body["error"]["type"], "requests");
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(header("retry-after"), Some("1"));
            assert_eq!(header("x-ratelimit-remaining-requests"), Some("0"));
            assert!(not_recorded.is_some_and(|why| why.contains("status=429;call=1")));
        }
        other => panic!("expected the injected 429, got {other:?}"),
    }
    let body = json_of(&client, chat("hi"))
        .await
        .expect("the retry replays");
    assert_eq!(body["choices"][0]["message"]["content"], "hi");
    // Another request has its own count: its first call gets the 429 too.
    assert!(matches!(
        chunks_of(&client, chat("count")).await,
        Err(Error::Api { status: 429, .. })
    ));
}

#[tokio::test]
async fn a_status_fault_reaches_no_server_and_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let client = Recording::new(server.clone())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .faults(plan("status=503;retry-after=0;call=1"));
    assert!(matches!(
        json_of(&client, chat("hi")).await,
        Err(Error::Api { status: 503, .. })
    ));
    assert_eq!(server.calls(), 0);
    assert!(recording_files(dir.path()).is_empty());
    json_of(&client, chat("hi"))
        .await
        .expect("recorded on the retry");
    assert_eq!(recording_files(dir.path()).len(), 1);
}

#[tokio::test]
async fn streams_are_cut_reset_ended_by_an_error_or_a_malformed_chunk() {
    let dir = recorded().await;
    let texts = |items: &[Result<Value, Error>]| -> Vec<String> {
        items
            .iter()
            .filter_map(|item| item.as_ref().ok())
            .map(|chunk| {
                chunk["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    let cut = chunks_of(&replaying(&dir, "cut=2"), chat("count"))
        .await
        .expect("a stream");
    assert_eq!(texts(&cut), ["w0", "w1"]);
    assert!(cut.iter().all(Result::is_ok), "it ends cleanly");

    let reset = chunks_of(&replaying(&dir, "reset=1"), chat("count"))
        .await
        .expect("a stream");
    assert_eq!(texts(&reset), ["w0"]);
    match reset.last() {
        Some(Err(Error::Transport(why))) => assert!(why.contains("reset=1"), "{why}"),
        other => panic!("{other:?}"),
    }

    let failed = chunks_of(&replaying(&dir, "error=3"), chat("count"))
        .await
        .expect("a stream");
    assert_eq!(texts(&failed), ["w0", "w1", "w2"]);
    match failed.last() {
        Some(Err(Error::Api {
            status: 500, body, ..
        })) => {
            assert_eq!(body["error"]["type"], "server_error")
        }
        other => panic!("{other:?}"),
    }

    let malformed = chunks_of(&replaying(&dir, "malformed=0"), chat("count"))
        .await
        .expect("a stream");
    assert_eq!(malformed.len(), 1);
    assert!(matches!(&malformed[0], Err(Error::Transport(why)) if why.contains("malformed")));

    // A stream fault leaves a single body alone.
    json_of(&replaying(&dir, "cut=1"), chat("hi"))
        .await
        .expect("not a stream");
}

#[tokio::test]
async fn a_stream_cut_for_the_caller_is_recorded_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(streamed(5));
    let client = Recording::new(server)
        .mode(Mode::Record)
        .dir(dir.path())
        .faults(plan("cut=2"));
    let seen = chunks_of(&client, chat("count")).await.expect("a stream");
    assert_eq!(seen.len(), 2);
    client.finish_recording().await;
    let files = recording_files(dir.path());
    assert_eq!(files.len(), 1);
    let replay = Recording::new(Scripted::new(Reply::TransportError)).dir(dir.path());
    let all = chunks_of(&replay, chat("count")).await.expect("replayed");
    assert_eq!(all.len(), 5, "the recording has every chunk");
}

#[tokio::test(start_paused = true)]
async fn delays_come_before_the_answer_and_before_the_first_chunk() {
    let dir = recorded().await;
    let started = tokio::time::Instant::now();
    json_of(&replaying(&dir, "delay=20s"), chat("hi"))
        .await
        .expect("late");
    assert!(started.elapsed() >= Duration::from_secs(20));
    let started = tokio::time::Instant::now();
    let chunks = chunks_of(&replaying(&dir, "first-chunk=1500ms"), chat("count"))
        .await
        .expect("a stream");
    assert_eq!(chunks.len(), 4);
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn a_seed_picks_the_same_calls_and_a_miss_names_the_fault() {
    let dir = recorded().await;
    let outcomes = |client: Recording<Scripted>| async move {
        let mut failed = Vec::new();
        for _ in 0..24 {
            failed.push(json_of(&client, chat("hi")).await.is_err());
        }
        failed
    };
    let first = outcomes(replaying(&dir, "status=500;p=0.5;seed=3")).await;
    assert_eq!(
        first,
        outcomes(replaying(&dir, "status=500;p=0.5;seed=3")).await
    );
    assert!(
        first.iter().any(|f| *f) && first.iter().any(|f| !*f),
        "{first:?}"
    );

    let err = chunks_of(&replaying(&dir, "cut=1"), chat("never recorded"))
        .await
        .expect_err("a miss");
    assert!(
        err.to_string()
            .contains("fault:     cut=1 was to be injected"),
        "{err}"
    );
}
