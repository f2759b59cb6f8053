//! `inference-recorder rekey`: a suite adopts a new key rule (equivalence, a volatile
//! pattern) without re-recording: files renamed to their new keys with the ids an
//! agent loop sends back renamed with them, a dry run that changes nothing, conflicts
//! left alone, and a second run that finds nothing to do.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use provider_openai::OpenAiNormalizer;
use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Mode, Recording, client_fn};
use serde_json::{Value, json};

/// An OpenAI-style server that answers every request with a tool call.
fn server() -> impl InferenceClient {
    client_fn("openai", |_| async {
        Ok::<_, Error>(ApiResponse::json(
            json!({"id": "live", "created": 7, "choices": [{
            "index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_live", "type": "function",
                 "function": {"name": "lookup", "arguments": "{}"}}]}}]}),
        ))
    })
    .normalizer(OpenAiNormalizer)
}

fn never() -> impl InferenceClient {
    client_fn("openai", |_| async {
        Err::<ApiResponse, _>(Error::Transport("replay never calls it".into()))
    })
    .normalizer(OpenAiNormalizer)
}

/// Turn 1 of an agent loop, its user message spelled as one text part.
fn turn_one() -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Look it up."}]}]}),
    )
}

/// Turn 2: turn 1's answer sent back with its tool call's id, and the tool's result.
fn turn_two(call_id: &str, result: &str) -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Look it up."}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": call_id, "content": result}]}),
    )
}

async fn call_id_of(client: &dyn InferenceClient, request: ApiRequest) -> String {
    let body = client
        .send(request)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
        .into_json()
        .unwrap_or_else(|err| panic!("{err}"));
    body["choices"][0]["message"]["tool_calls"][0]["id"]
        .as_str()
        .expect("a tool call id")
        .to_owned()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("responses"))
        .expect("responses")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn rekey(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("inference-recorder")
        .expect("the binary")
        .arg("rekey")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .env_remove("TEST_INFERENCE_EQUIVALENCE")
        .env_remove("TEST_INFERENCE_VOLATILE_PATTERNS")
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn a_suite_adopts_equivalence_and_a_volatile_pattern_without_re_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Recorded with exact keys: turn 2 sends back the id turn 1's answer got.
    let record = Recording::new(server()).mode(Mode::Record).dir(dir.path());
    let first_id = call_id_of(&record, turn_one()).await;
    let uuid = "0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e";
    call_id_of(&record, turn_two(&first_id, &format!("order {uuid}"))).await;
    let unrelated = ApiRequest::post("/v1/embeddings", json!({"model": "e", "input": "x"}));
    record.send(unrelated.clone()).await.expect("recorded");
    let before = files(dir.path());
    assert_eq!(before.len(), 3);

    let dry = rekey(
        dir.path(),
        &["--dry-run", "--equivalence", "--volatile-pattern", "uuid"],
    );
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    assert_eq!(
        stdout(&dry).matches("[DRY RUN] Would rename: ").count(),
        2,
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains("Summary: 2 recording(s) would be renamed, 1 already named"));
    assert_eq!(files(dir.path()), before, "a dry run changes nothing");

    let done = rekey(dir.path(), &["--equivalence", "--volatile-pattern", "uuid"]);
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    assert!(
        stdout(&done).contains("Summary: 2 recording(s) renamed, 1 already named"),
        "{}",
        stdout(&done)
    );
    let after = files(dir.path());
    assert_eq!(after.len(), 3, "nothing lost: {after:?}");
    assert_eq!(after.iter().filter(|name| before.contains(name)).count(), 1);

    // The suite with its new rules replays the loop, the tool now returning another
    // id: turn 1's answer carries its new key's id, which turn 2 sends back.
    let replay = Recording::new(never())
        .dir(dir.path())
        .equivalence(true)
        .volatile_pattern("uuid")
        .expect("a preset");
    let new_id = call_id_of(&replay, turn_one()).await;
    assert_ne!(new_id, first_id, "the id follows the new key");
    let named = replay.path_of(&turn_one());
    assert!(
        after.iter().any(|name| named.ends_with(name)),
        "turn 1 is named by its key under the new rules: {named:?} in {after:?}"
    );
    call_id_of(
        &replay,
        turn_two(&new_id, "order 7d444840-9dc0-11d1-b245-5ffdce74fad2"),
    )
    .await;
    replay
        .send(unrelated)
        .await
        .expect("the unrelated one is where it was");

    let again = rekey(dir.path(), &["--equivalence", "--volatile-pattern", "uuid"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("Summary: 0 recording(s) renamed, 3 already named"),
        "idempotent: {}",
        stdout(&again)
    );
    assert_eq!(files(dir.path()), after);
}

#[tokio::test]
async fn two_recordings_that_would_share_a_key_are_a_conflict_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = Recording::new(server()).mode(Mode::Record).dir(dir.path());
    let plain = ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "messages": [{"role": "user", "content": "Look it up."}]}),
    );
    record.send(plain).await.expect("recorded");
    record.send(turn_one()).await.expect("recorded");
    let before = files(dir.path());
    let output = rekey(dir.path(), &["--equivalence"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("a conflict, left alone"), "{stderr}");
    assert!(
        stdout(&output).contains(
            "Summary: 0 recording(s) renamed, 1 already named by their keys, 1 left alone"
        ),
        "{}",
        stdout(&output)
    );
    assert_eq!(files(dir.path()), before, "both files are where they were");
    let body: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("responses").join(&before[0])).expect("read"),
    )
    .expect("json");
    assert!(body["request"].is_object(), "untouched");
}
