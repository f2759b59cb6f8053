//! Replay through `Recording<C>` and the typed OpenAI API, end to end: hash, one file
//! read, parse, decode into async-openai's types.

use std::path::Path;

use benches::{
    chat_body, chat_chunks, chat_request, embeddings_body, fill_with_recordings, replayer,
    store_recording,
};
use divan::Bencher;
use futures::StreamExt;
use provider_openai::OpenAiApi;
use provider_openai::types::chat::CreateChatCompletionRequest;
use provider_openai::types::embeddings::CreateEmbeddingRequest;
use recording_core::ApiRequest;
use serde_json::{Value, json};

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Stores a recording for the typed chat request made from `body`, returns the request.
fn recorded_chat(dir: &Path, stream: bool, response: Value) -> CreateChatCompletionRequest {
    let mut body = chat_request(2_000).body;
    if stream {
        body["stream"] = json!(true);
    }
    let typed: CreateChatCompletionRequest =
        serde_json::from_value(body).unwrap_or_else(|err| panic!("{err}"));
    let request = ApiRequest::post(
        provider_openai::CHAT_COMPLETIONS,
        ApiRequest::body_of(&typed).unwrap_or_else(|err| panic!("{err}")),
    );
    store_recording(&replayer(dir), dir, &request, stream, response);
    typed
}

/// A chat completion of about 2 KB. Target: under 50 µs.
#[divan::bench]
fn chat_completion(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path(), false, chat_body());
    let client = replayer(dir.path());
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(client.chat(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
}

/// The floor of `chat_completion`: what no replay can skip, with nothing of the
/// recorder's own. The same request cloned, the same file read (its path known, no key
/// computed) and its response decoded into async-openai's type, its request half
/// skipped by serde.
#[divan::bench]
fn chat_completion_floor(bencher: Bencher) {
    use provider_openai::types::chat::CreateChatCompletionResponse;
    #[derive(serde::Deserialize)]
    struct File {
        response: Response,
    }
    #[derive(serde::Deserialize)]
    struct Response {
        body: CreateChatCompletionResponse,
    }
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path(), false, chat_body());
    let [path] = <[_; 1]>::try_from(benches::floors::json_files(dir.path()))
        .unwrap_or_else(|found| panic!("one recording, found {found:?}"));
    bencher.bench_local(|| {
        let request = divan::black_box(request.clone());
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{err}"));
        let file: File = serde_json::from_slice(&bytes).unwrap_or_else(|err| panic!("{err}"));
        drop(request);
        file.response.body
    });
}

/// A 500-chunk stream, consumed to the end. Target: under 2 ms.
#[divan::bench]
fn chat_stream_500_chunks(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path(), true, Value::Array(chat_chunks(500)));
    let client = replayer(dir.path());
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(async {
            let stream = client
                .chat_stream(request.clone())
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            let n = stream
                .map(|chunk| chunk.unwrap_or_else(|err| panic!("{err}")))
                .count()
                .await;
            assert_eq!(n, 500);
        })
    });
}

/// An embeddings response of 1536 floats.
#[divan::bench]
fn embeddings_1536(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let typed: CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "tiny", "input": "The sky is blue."}))
            .unwrap_or_else(|err| panic!("{err}"));
    let request = ApiRequest::post(
        provider_openai::EMBEDDINGS,
        ApiRequest::body_of(&typed).unwrap_or_else(|err| panic!("{err}")),
    );
    store_recording(
        &replayer(dir.path()),
        dir.path(),
        &request,
        false,
        embeddings_body(1536),
    );
    let client = replayer(dir.path());
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(client.embeddings(typed.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
}

/// The same chat replay from directories holding 10, 1 000 and 100 000 recordings:
/// a lookup is one file read by key, so the cost must not grow.
#[divan::bench(args = [10, 1_000, 100_000], sample_count = 50)]
fn chat_lookup_among(bencher: Bencher, recordings: usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    fill_with_recordings(dir.path(), recordings);
    let request = recorded_chat(dir.path(), false, chat_body());
    let client = replayer(dir.path());
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(client.chat(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
}

/// A replay miss next to 2 000 recordings of about 100 KB each (same endpoint and
/// model): the search for the closest one reads only each file's request. Target:
/// about 100 ms at most.
#[divan::bench(sample_count = 10)]
fn miss_among_2000_recordings_of_100kb(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let responses = dir.path().join("responses");
    std::fs::create_dir_all(&responses).unwrap_or_else(|err| panic!("{err}"));
    let big = "x".repeat(100_000);
    for i in 0..2_000 {
        let request = ApiRequest::post(
            provider_openai::CHAT_COMPLETIONS,
            json!({"model": "tiny", "messages": [{"role": "user", "content": format!("filler {i}")}]}),
        );
        let hash = recording_core::request_hash(&request, None);
        let text = format!(
            "{{\"request\": {{\"method\": \"POST\", \"endpoint\": \"/v1/chat/completions\", \"model\": \"tiny\", \"body\": {}}}, \"response\": {{\"body\": {{\"text\": \"{big}\"}}}}}}\n",
            request.body
        );
        std::fs::write(responses.join(format!("{hash}.json")), text)
            .unwrap_or_else(|err| panic!("{err}"));
    }
    let client = replayer(dir.path());
    let missing = ApiRequest::post(
        provider_openai::CHAT_COMPLETIONS,
        json!({"model": "tiny", "messages": [{"role": "user", "content": "never recorded"}]}),
    );
    let rt = runtime();
    bencher.bench_local(|| {
        use recording_core::InferenceClient;
        let err = rt
            .block_on(client.send(missing.clone()))
            .expect_err("a miss");
        assert!(err.to_string().contains("closest recording"));
    });
}
