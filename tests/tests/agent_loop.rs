//! An agent loop whose tool results carry the current time and a fresh UUID, on
//! SmolLM2-135M-Instruct through llama.cpp's server: recorded once, it replays in a
//! later run whose tool returns other values, because the suite masks `uuid` and
//! `iso8601`; with exact keys the same run misses.
//!
//! The committed recordings are made, as a user makes theirs, with
//!
//! ```sh
//! scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record \
//!     cargo test -p tests --test agent_loop
//! ```

use provider_openai::OpenAiClient;
use recording_core::{Error, Mode, Recording};
use serde_json::Value;
use tests::agent::{self, weather_report};
use tests::llama_server::{LlamaServer, Role, dead_base_url};

/// The suite's recorder: masks what the tool's results change on every run.
fn masking(recorder: Recording<OpenAiClient>) -> Recording<OpenAiClient> {
    recorder
        .volatile_pattern("uuid")
        .and_then(|r| r.volatile_pattern("iso8601"))
        .unwrap_or_else(|err| panic!("{err}"))
}

/// The tool result a recording's request sent last.
fn recorded_tool_result(file: &std::path::Path) -> String {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
    let file: Value = serde_json::from_str(&text).expect("json");
    let messages = file["request"]["body"]["messages"]
        .as_array()
        .expect("messages");
    let last_tool = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .expect("a tool result");
    last_tool["content"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_committed_agent_loop_replays_when_its_tool_returns_other_times_and_ids() {
    let url = std::env::var("LLAMA_CHAT_URL").unwrap_or_else(|_| dead_base_url());
    let client = masking(
        Recording::from_env(OpenAiClient::with_base_url(url, "sk-unused"))
            .unwrap_or_else(|err| panic!("{err}")),
    );
    let run = agent::run(&client, weather_report)
        .await
        .expect("every turn replays");
    assert!(!run.answer.is_empty(), "{run:?}");
    assert_eq!(run.requests.len(), 3, "two tool rounds, then the answer");
    if client.current_mode() != Mode::Replay {
        return; // Recording: the files hold this run's values.
    }
    // This run's tool said other things than the recorded one: the files keep theirs.
    let last = client.path_of(run.requests.last().expect("a request"));
    let recorded = recorded_tool_result(&last);
    let sent = run.tool_results.last().expect("a result");
    assert_ne!(&recorded, sent, "another time and id than recorded");
    let (recorded, sent): (Value, Value) = (
        serde_json::from_str(&recorded).expect("json"),
        serde_json::from_str(sent).expect("json"),
    );
    assert_ne!(recorded["report_id"], sent["report_id"]);
    assert_ne!(recorded["observed_at"], sent["observed_at"]);

    // With exact keys, the turn that carries the first tool result misses.
    let exact = Recording::new(OpenAiClient::with_base_url(dead_base_url(), "sk-unused"))
        .dir(client.recordings_dir());
    let missed = agent::run(&exact, weather_report).await;
    assert!(matches!(missed, Err(Error::ReplayMiss(_))), "{missed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_loop_recorded_live_replays_with_other_values_after_the_server_is_gone() {
    let test = "an_agent_loop_recorded_live_replays_with_other_values_after_the_server_is_gone";
    let Some(mut server) = LlamaServer::start_or_skip(Role::Completions, test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let live = OpenAiClient::with_base_url(server.base_url(), "sk-unused");
    let record = masking(Recording::new(live).mode(Mode::Record).dir(dir.path()));
    let recorded = agent::run(&record, weather_report).await.expect("recorded");
    server.stop();

    let gone = OpenAiClient::with_base_url(dead_base_url(), "sk-unused");
    let replay = masking(Recording::new(gone).dir(dir.path()));
    let replayed = agent::run(&replay, weather_report).await.expect("replayed");
    assert_eq!(
        replayed.answer, recorded.answer,
        "the same answer, from the files"
    );
    assert_ne!(
        replayed.tool_results, recorded.tool_results,
        "other times and ids"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("responses"))
            .map(Iterator::count)
            .ok(),
        Some(3),
        "one recording per turn"
    );
}
