//! Inputs for the benchmarks: realistic requests, bodies, streams and recording trees,
//! generated with a fixed shape so runs are comparable. See `benches/README.md`.

pub mod floors;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use recording_core::format::{RecordedRequest, RecordedResponse};
use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, Method, Normalizer, Recording, RecordingFile,
    Store,
};
use serde_json::{Value, json};

/// A chat request of about `bytes` bytes: a system prompt and alternating turns.
pub fn chat_request(bytes: usize) -> ApiRequest {
    let sentence = "Recordings keep tests deterministic, offline and free. ";
    let mut messages = vec![json!({"role": "system", "content": "You are a terse assistant."})];
    let mut size = 0;
    let mut turn = 0;
    while size < bytes {
        let role = if turn % 2 == 0 { "user" } else { "assistant" };
        let content = sentence.repeat(4);
        size += content.len() + 40;
        messages.push(json!({"role": role, "content": content}));
        turn += 1;
    }
    ApiRequest::post(
        provider_openai::CHAT_COMPLETIONS,
        json!({"model": "tiny", "messages": messages, "max_completion_tokens": 64, "temperature": 0.0, "seed": 42}),
    )
}

/// A chat completion body of about 2 KB, shaped like llama-server's.
pub fn chat_body() -> Value {
    json!({
        "choices": [{"finish_reason": "stop", "index": 0, "message": {
            "role": "assistant",
            "content": "Deterministic tests need deterministic inputs. ".repeat(30)
        }}],
        "created": 1_764_000_000,
        "model": "tiny",
        "system_fingerprint": "b1-0c1e570",
        "object": "chat.completion",
        "usage": {"completion_tokens": 64, "prompt_tokens": 54, "total_tokens": 118},
        "id": "chatcmpl-vsIkKFHj1d4GTt1avTGhkwaS1URGPgEM",
        "timings": {"cache_n": 0, "prompt_n": 54, "prompt_ms": 4.0, "predicted_n": 64, "predicted_ms": 51.7}
    })
}

/// `n` chat completion chunks, shaped like llama-server's.
pub fn chat_chunks(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "choices": [{"finish_reason": if i + 1 == n { Value::from("stop") } else { Value::Null },
                             "index": 0, "delta": {"content": format!(" token{i}")}}],
                "created": 1_764_000_000, "id": "chatcmpl-vsIkKFHj1d4GTt1avTGhkwaS1URGPgEM",
                "model": "tiny", "system_fingerprint": "b1-0c1e570", "object": "chat.completion.chunk"
            })
        })
        .collect()
}

/// An embeddings response of one vector of `dims` floats.
pub fn embeddings_body(dims: usize) -> Value {
    let vector: Vec<f64> = (0..dims)
        .map(|i| ((i as f64) * 0.618_034).sin() * 0.1)
        .collect();
    json!({"object": "list", "model": "tiny",
           "data": [{"object": "embedding", "index": 0, "embedding": vector}],
           "usage": {"prompt_tokens": 8, "total_tokens": 8}})
}

/// A replay-only client over `dir`; the inner client points at a closed port, so a
/// miss cannot reach a server.
pub fn replayer(dir: &Path) -> Recording<provider_openai::OpenAiClient> {
    Recording::new(provider_openai::OpenAiClient::with_base_url(
        "http://127.0.0.1:9/v1",
        "unused",
    ))
    .mode(recording_core::Mode::Replay)
    .dir(dir)
}

/// A client that answers every request with a fixed response, in-process: the
/// boundary where benchmarks isolate the recorder's own cost.
#[derive(Debug, Clone)]
pub struct Canned {
    body: Arc<Value>,
}

impl Canned {
    /// Answers every request with `body`.
    pub fn new(body: Value) -> Canned {
        Canned {
            body: Arc::new(body),
        }
    }
}

#[async_trait]
impl InferenceClient for Canned {
    fn provider(&self) -> &str {
        provider_openai::PROVIDER
    }
    fn normalizer(&self) -> Arc<dyn Normalizer> {
        Arc::new(provider_openai::OpenAiNormalizer)
    }
    async fn send(&self, _request: ApiRequest) -> Result<ApiResponse, Error> {
        Ok(ApiResponse::json((*self.body).clone()))
    }
}

/// Writes the recording of `request` (answered with `response`) into `dir`, as the
/// recorder of `client` would find it.
pub fn store_recording<C: InferenceClient>(
    client: &Recording<C>,
    dir: &Path,
    request: &ApiRequest,
    is_streaming: bool,
    body: Value,
) {
    let file = RecordingFile {
        request: RecordedRequest::of(provider_openai::PROVIDER, request),
        response: match is_streaming {
            true => RecordedResponse::stream(body),
            false => RecordedResponse::body(body),
        },
    };
    Store::new(dir)
        .save(&client.hash_of(request), &file)
        .unwrap_or_else(|err| panic!("{err}"));
}

/// Fills `dir/responses/` with `n` small recordings of other requests.
pub fn fill_with_recordings(dir: &Path, n: usize) {
    let responses = dir.join("responses");
    std::fs::create_dir_all(&responses).unwrap_or_else(|err| panic!("{err}"));
    for i in 0..n {
        let request = ApiRequest::post(
            provider_openai::CHAT_COMPLETIONS,
            json!({"model": "tiny", "messages": [{"role": "user", "content": format!("filler {i}")}]}),
        );
        let hash = recording_core::request_hash(&request, None);
        let text = format!(
            "{{\"request\": {{\"method\": \"POST\", \"endpoint\": \"/v1/chat/completions\", \"body\": {}}}, \"response\": {{\"body\": {{}}}}}}\n",
            request.body
        );
        std::fs::write(responses.join(format!("{hash}.json")), text)
            .unwrap_or_else(|err| panic!("{err}"));
    }
}

/// Flushes every file system to disk, so the next timing is not charged for writes
/// the setup left in the page cache (a recordings tree that a tool rewrites has long
/// been on disk).
pub fn settle() {
    #[cfg(unix)]
    rustix::fs::sync();
}

/// Writes `n` unnormalized recordings into `dir/responses/`: a realistic mix of
/// OpenAI-style and Ollama, single bodies and streams (a quarter each), about 1–4 KB.
pub fn normalize_tree(dir: &Path, n: usize) {
    let responses = dir.join("responses");
    std::fs::create_dir_all(&responses).unwrap_or_else(|err| panic!("{err}"));
    let chat = chat_body();
    let chunks = Value::Array(chat_chunks(12));
    let ollama = json!({"model": "llama3.2", "created_at": "2026-11-25T10:00:00.123456Z", "response": "Hello there, how can I help?",
                        "done": true, "done_reason": "stop", "total_duration": 300_698_625, "load_duration": 179_823_875,
                        "prompt_eval_count": 27, "prompt_eval_duration": 65_083_666, "eval_count": 9, "eval_duration": 55_216_084});
    let ollama_chunks = Value::Array(
        (0..12)
            .map(|i| json!({"model": "llama3.2", "created_at": "2026-11-25T10:00:00.123456Z", "response": format!(" t{i}"), "done": false}))
            .collect(),
    );
    for i in 0..n {
        let (provider, endpoint, streaming, body) = match i % 4 {
            0 => ("openai", "/v1/chat/completions", false, &chat),
            1 => ("openai", "/v1/chat/completions", true, &chunks),
            2 => ("ollama", "/api/generate", false, &ollama),
            _ => ("ollama", "/api/generate", true, &ollama_chunks),
        };
        let request = ApiRequest {
            method: Method::Post,
            endpoint: endpoint.into(),
            body: json!({"model": "m", "prompt": format!("request {i}"), "stream": streaming}),
        };
        let hash = recording_core::request_hash(&request, None);
        let file = json!({
            "request": {"provider": provider, "method": "POST", "url": "", "endpoint": endpoint, "model": "m", "body": request.body},
            "response": {"status": 200, "is_streaming": streaming, "body": body}
        });
        std::fs::write(
            responses.join(format!("{hash}.json")),
            recording_core::format::to_pretty_json(&file),
        )
        .unwrap_or_else(|err| panic!("{err}"));
    }
}

/// The repository's real recordings (llama-stack's captured Ollama files and the
/// SmolLM2 recordings), the sources of [`real_tree`].
pub fn real_recordings() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<std::path::PathBuf> =
        ["tests/fixtures/llama-stack", "tests/recordings/responses"]
            .iter()
            .flat_map(|dir| {
                std::fs::read_dir(root.join(dir)).unwrap_or_else(|err| panic!("{dir}: {err}"))
            })
            .map(|entry| entry.unwrap_or_else(|err| panic!("{err}")).path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
    files.sort();
    files
}

/// A tree of `n` real-shaped recordings: the repository's real recordings copied
/// round-robin into `dir/copy-NNN/`, each under its own name (so the hash its name
/// carries is the one its ids were normalized with).
pub fn real_tree(dir: &Path, n: usize) {
    let sources = real_recordings();
    for i in 0..n {
        let source = &sources[i % sources.len()];
        let copy = dir.join(format!("copy-{:03}", i / sources.len()));
        std::fs::create_dir_all(&copy).unwrap_or_else(|err| panic!("{err}"));
        let name = source
            .file_name()
            .unwrap_or_else(|| panic!("{}", source.display()));
        std::fs::copy(source, copy.join(name)).unwrap_or_else(|err| panic!("{err}"));
    }
}
