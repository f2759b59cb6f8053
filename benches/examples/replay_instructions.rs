//! Replays a recording `n` times through the typed OpenAI API, for counting
//! instructions with callgrind: wall-clock medians on a shared VM move by 2x from run
//! to run, instruction counts do not (benches/README.md).
//!
//! ```sh
//! cargo build --release -p benches --example replay_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/replay_instructions stream 20   # minus the run with 0
//! ```

use futures::StreamExt;
use provider_openai::OpenAiApi;
use provider_openai::types::chat::CreateChatCompletionRequest;
use recording_core::ApiRequest;
use serde_json::{Value, json};

fn main() {
    let mut args = std::env::args().skip(1);
    let stream = args.next().as_deref() == Some("stream");
    let times: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let client = benches::replayer(dir.path());
    let mut body = benches::chat_request(2_000).body;
    body["stream"] = json!(stream);
    let typed: CreateChatCompletionRequest =
        serde_json::from_value(body).unwrap_or_else(|err| panic!("{err}"));
    let request = ApiRequest::post(
        provider_openai::CHAT_COMPLETIONS,
        ApiRequest::body_of(&typed).unwrap_or_else(|err| panic!("{err}")),
    );
    let response = if stream {
        Value::Array(benches::chat_chunks(500))
    } else {
        benches::chat_body()
    };
    benches::store_recording(&client, dir.path(), &request, stream, response);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    for _ in 0..times {
        rt.block_on(async {
            if stream {
                let chunks = client
                    .chat_stream(typed.clone())
                    .await
                    .unwrap_or_else(|err| panic!("{err}"));
                let n = chunks
                    .map(|chunk| chunk.unwrap_or_else(|err| panic!("{err}")))
                    .count()
                    .await;
                assert_eq!(n, 500);
            } else {
                client
                    .chat(typed.clone())
                    .await
                    .unwrap_or_else(|err| panic!("{err}"));
            }
        });
    }
}
