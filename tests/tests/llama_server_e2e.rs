//! End to end against a real llama.cpp `llama-server`: record through the typed
//! OpenAI API and `Recording<OpenAiClient>`, stop the server, replay.
//!
//! Skipped (and said so) without `LLAMA_SERVER_BIN` and `LLAMA_TEST_MODEL`; CI sets
//! them and `INFERENCE_RECORDER_REQUIRE_SERVERS=1`, so there it cannot skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use provider_openai::types::chat::{
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use provider_openai::types::completions::CreateCompletionResponse;
use provider_openai::types::embeddings::CreateEmbeddingResponse;
use provider_openai::types::models::ListModelResponse;
use provider_openai::{OpenAiApi, OpenAiClient};
use recording_core::{Error, InferenceClient, Mode, Recording};
use serde_json::Value;
use tests::llama_server::{LlamaServer, Role, dead_base_url};
use tests::requests;

/// Everything the typed API returned for the suite's requests.
#[derive(Debug, PartialEq)]
struct Results {
    chat: CreateChatCompletionResponse,
    chat_chunks: Vec<CreateChatCompletionStreamResponse>,
    completion: CreateCompletionResponse,
    completion_chunks: Vec<CreateCompletionResponse>,
    embeddings: CreateEmbeddingResponse,
    models: ListModelResponse,
    rejected: (u16, Value),
    tool_call: CreateChatCompletionResponse,
    json_answer: CreateChatCompletionResponse,
}

async fn run_suite(completions: &dyn InferenceClient, embeddings: &dyn InferenceClient) -> Results {
    let chat = completions
        .chat(requests::chat("Say hello."))
        .await
        .expect("chat");
    let chat_chunks = completions
        .chat_stream(requests::chat("Count to three."))
        .await
        .expect("chat stream")
        .map(|chunk| chunk.expect("chat chunk"))
        .collect()
        .await;
    let completion = completions
        .completion(requests::completion("Once upon a time"))
        .await
        .expect("completion");
    let completion_chunks = completions
        .completion_stream(requests::completion("The quick brown fox"))
        .await
        .expect("completion stream")
        .map(|chunk| chunk.expect("completion chunk"))
        .collect()
        .await;
    let embeddings = embeddings
        .embeddings(requests::embeddings())
        .await
        .expect("embeddings");
    let models = completions.list_models().await.expect("models");
    let rejected = match completions.completion(requests::rejected()).await {
        Err(Error::Api { status, body, .. }) => (status, body),
        other => panic!("the server should reject an over-long prompt, got {other:?}"),
    };
    let tool_call = completions
        .chat(requests::tool_call())
        .await
        .expect("tool call");
    let json_answer = completions
        .chat(requests::json_answer())
        .await
        .expect("json answer");
    Results {
        chat,
        chat_chunks,
        completion,
        completion_chunks,
        embeddings,
        models,
        rejected,
        tool_call,
        json_answer,
    }
}

fn recorder(base_url: &str, mode: Mode, dir: &Path) -> Recording<OpenAiClient> {
    Recording::new(OpenAiClient::with_base_url(
        base_url,
        "sk-e2e-not-a-real-key",
    ))
    .mode(mode)
    .dir(dir)
}

fn recording_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("responses"))
        .map(|entries| entries.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_against_llama_server_then_replay_with_it_gone() {
    let test = "record_against_llama_server_then_replay_with_it_gone";
    let Some(mut completions_server) = LlamaServer::start_or_skip(Role::Completions, test) else {
        return;
    };
    let Some(mut embeddings_server) = LlamaServer::start_or_skip(Role::Embeddings, test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let completions = recorder(&completions_server.base_url(), Mode::Record, dir.path());
    let embeddings = recorder(&embeddings_server.base_url(), Mode::Record, dir.path());

    let recorded = run_suite(&completions, &embeddings).await;

    // Real server output, normalized.
    let chat_hash = completions.hash_of(&recording_core::ApiRequest::post(
        "/v1/chat/completions",
        recording_core::ApiRequest::body_of(&requests::chat("Say hello.")).expect("body"),
    ));
    assert_eq!(recorded.chat.id, format!("rec-{}", &chat_hash[..12]));
    assert_eq!(recorded.chat.created, 0);
    assert!(
        recorded
            .chat
            .usage
            .as_ref()
            .is_some_and(|u| u.prompt_tokens > 0)
    );
    assert!(
        recorded.chat_chunks.len() > 1,
        "a real SSE stream has several chunks"
    );
    assert!(
        recorded
            .chat_chunks
            .iter()
            .all(|c| c.created == 0 && c.id.starts_with("rec-"))
    );
    assert!(recorded.completion_chunks.len() > 1);
    assert_eq!(recorded.embeddings.data.len(), 2);
    assert!(recorded.embeddings.data[0].embedding.len() == 576);
    assert!(recorded.models.data.iter().any(|m| m.id == requests::MODEL));
    assert_eq!(recorded.rejected.0, 400);
    // A real model's answers have the expected shape: a call of the declared tool with
    // arguments that parse, and JSON that parses.
    let calls = recorded.tool_call.choices[0]
        .message
        .tool_calls
        .as_ref()
        .expect("a tool call");
    let call = serde_json::to_value(&calls[0]).expect("serializable");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or_default())
            .expect("arguments that parse");
    assert!(arguments["city"].is_string(), "{arguments}");
    let text = recorded.json_answer.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default();
    let answer: Value = serde_json::from_str(&text).expect("the JSON answer parses");
    assert!(answer["capital"].is_string(), "{answer}");
    let files = recording_files(dir.path());
    assert_eq!(files.len(), 9, "one recording per request");
    let mut timings_seen = 0;
    for file in &files {
        let text = fs::read_to_string(file).expect("read");
        assert!(
            !text.contains("sk-e2e-not-a-real-key"),
            "{}",
            file.display()
        );
        let mut raw: Value = serde_json::from_str(&text).expect("json");
        for body in recording_core::format::raw_bodies_mut(&mut raw) {
            let Some(timings) = body.get("timings").and_then(Value::as_object) else {
                continue;
            };
            timings_seen += 1;
            for (key, value) in timings {
                if key.ends_with("_ms") || key.ends_with("_per_second") {
                    assert_eq!(value, &Value::from(0), "{key} in {}", file.display());
                }
            }
        }
    }
    assert!(
        timings_seen > 0,
        "llama-server sends timings; the rules must have met some"
    );

    // Record-if-missing records only what is missing.
    let missing = files[0].clone();
    fs::remove_file(&missing).expect("remove one");
    let untouched: Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> = files[1..]
        .iter()
        .map(|f| {
            (
                f.clone(),
                fs::read(f).expect("read"),
                fs::metadata(f).and_then(|m| m.modified()).expect("mtime"),
            )
        })
        .collect();
    let completions_rim = recorder(
        &completions_server.base_url(),
        Mode::RecordIfMissing,
        dir.path(),
    );
    let embeddings_rim = recorder(
        &embeddings_server.base_url(),
        Mode::RecordIfMissing,
        dir.path(),
    );
    run_suite(&completions_rim, &embeddings_rim).await;
    assert!(missing.exists(), "the missing recording was recorded again");
    for (path, bytes, mtime) in untouched {
        assert_eq!(fs::read(&path).expect("read"), bytes, "{}", path.display());
        assert_eq!(
            fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime"),
            mtime
        );
    }

    // Live passes through and writes nothing.
    let live_dir = tempfile::tempdir().expect("tempdir");
    let live = recorder(&completions_server.base_url(), Mode::Live, live_dir.path());
    let live_chat = live
        .chat(requests::chat("Say hello."))
        .await
        .expect("live chat");
    assert!(
        !live_chat.id.starts_with("rec-"),
        "live responses are not normalized"
    );
    assert_eq!(fs::read_dir(live_dir.path()).expect("dir").count(), 0);

    // Stop the servers: replay needs neither.
    completions_server.stop();
    embeddings_server.stop();
    let gone = dead_base_url();
    let replay_completions = recorder(&gone, Mode::Replay, dir.path());
    let replay_embeddings = recorder(&gone, Mode::Replay, dir.path());
    let replayed = run_suite(&replay_completions, &replay_embeddings).await;
    assert_eq!(replayed, recorded);

    // A changed request, with the server gone, is a miss that shows the change.
    let err = replay_completions
        .chat(requests::chat("Say goodbye."))
        .await
        .expect_err("not recorded");
    let text = err.to_string();
    assert!(matches!(err, Error::ReplayMiss(_)), "{err:?}");
    assert!(
        text.contains("-      \"content\": \"Say hello.\","),
        "{text}"
    );
    assert!(
        text.contains("+      \"content\": \"Say goodbye.\","),
        "{text}"
    );
}

/// Against the real server: `verify` finds no drift in a fresh recording and changes
/// no file, then reports a field the test added to the recording; a stream recorded
/// with timing replays in about the recorded time with the pace on, and at once
/// without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_paced_replay_against_llama_server() {
    let test = "verify_and_paced_replay_against_llama_server";
    let Some(mut server) = LlamaServer::start_or_skip(Role::Completions, test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let request = || requests::chat("Count to three.");
    let recording = recorder(&server.base_url(), Mode::Record, dir.path()).record_timing(true);
    let recorded: Vec<_> = recording
        .chat_stream(request())
        .await
        .expect("stream")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let files = recording_files(dir.path());
    assert_eq!(files.len(), 1);
    let file: Value = serde_json::from_slice(&fs::read(&files[0]).expect("read")).expect("json");
    let times: Vec<u64> = file["response"]["chunk_ms"]
        .as_array()
        .expect("chunk times recorded")
        .iter()
        .map(|ms| ms.as_u64().expect("milliseconds"))
        .collect();
    assert_eq!(times.len(), recorded.len());
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // Verify: the same request live, compared in shape; nothing written.
    let before = fs::read(&files[0]).expect("read");
    let verify = recorder(&server.base_url(), Mode::Verify, dir.path());
    let live: Vec<_> = verify
        .chat_stream(request())
        .await
        .expect("no drift")
        .collect()
        .await;
    assert!(live.iter().all(Result::is_ok));
    assert_eq!(
        fs::read(&files[0]).expect("read"),
        before,
        "verify writes nothing"
    );
    // The test edits the recording: a field the server never sends.
    let mut edited = file.clone();
    for chunk in edited["response"]["body"].as_array_mut().expect("chunks") {
        chunk["provider_extra"] = serde_json::json!({"tier": "gold"});
    }
    fs::write(&files[0], serde_json::to_vec_pretty(&edited).expect("json")).expect("write");
    let err = match verify.chat_stream(request()).await {
        Err(err) => err,
        Ok(_) => panic!("the drift was not reported"),
    };
    let text = err.to_string();
    assert!(matches!(err, Error::Drift { .. }), "{err:?}");
    assert!(text.contains("removed /provider_extra"), "{text}");
    fs::write(&files[0], &before).expect("restore");

    // Paced replay, with the server gone.
    server.stop();
    let recorded_total = Duration::from_millis(*times.last().expect("a chunk"));
    let replay = recorder(&dead_base_url(), Mode::Replay, dir.path());
    let timed = |client: Recording<OpenAiClient>| async move {
        let started = Instant::now();
        let chunks = client
            .chat_stream(request())
            .await
            .expect("replayed")
            .count()
            .await;
        (chunks, started.elapsed())
    };
    let (chunks, fast) = timed(replay.clone()).await;
    assert_eq!(chunks, recorded.len());
    let (_, paced) = timed(replay.pace(1.0)).await;
    // Tolerance: the paced replay takes at least 90 % of the recorded time (sleeps
    // never end early) and at most the recorded time plus 500 ms of scheduling; the
    // default replay takes less than half of it.
    assert!(
        paced >= recorded_total.mul_f64(0.9)
            && paced <= recorded_total + Duration::from_millis(500),
        "paced {paced:?} against recorded {recorded_total:?}"
    );
    assert!(
        fast < recorded_total / 2,
        "full speed {fast:?} against {recorded_total:?}"
    );
}
