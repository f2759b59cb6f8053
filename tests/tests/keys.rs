//! Golden: every committed recording is named by the key its own request gets today,
//! through its provider's real client: volatile-field defaults, redaction and the
//! sequence mode change no existing key when nothing is declared; the agent loop's
//! recordings are named by the keys its suite's volatile patterns give.

use std::fs;
use std::path::Path;

use provider_anthropic::AnthropicClient;
use provider_ollama::OllamaClient;
use provider_openai::OpenAiClient;
use recording_core::{ApiRequest, Recording, RecordingFile};

#[test]
fn every_committed_recording_is_named_by_its_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let openai = Recording::new(OpenAiClient::with_base_url(
        "http://127.0.0.1:9/v1",
        "unused",
    ))
    .dir(&dir);
    let ollama = Recording::new(OllamaClient::new("127.0.0.1:9")).dir(&dir);
    let anthropic = Recording::new(AnthropicClient::new("http://127.0.0.1:9", "")).dir(&dir);
    let agent_loop = openai
        .clone()
        .volatile_pattern("uuid")
        .and_then(|r| r.volatile_pattern("iso8601"))
        .expect("presets");
    let mut checked = 0;
    for entry in fs::read_dir(dir.join("responses")).expect("committed recordings") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let file =
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path).expect("valid");
        let request = ApiRequest {
            method: file.request.method,
            endpoint: file.request.endpoint.clone(),
            body: file.request.body.clone(),
        };
        let key = match file.request.provider.as_deref() {
            Some("ollama") => ollama.hash_of(&request),
            Some("anthropic") => anthropic.hash_of(&request),
            // The agent loop's suite masks the times and ids of its tool results
            // (tests/tests/agent_loop.rs): those recordings carry its keys.
            _ if request.body.to_string().contains("observed_at") => agent_loop.hash_of(&request),
            _ => openai.hash_of(&request),
        };
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        assert_eq!(key, name, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 28, "only {checked} recordings were checked");
}
