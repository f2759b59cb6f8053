//! Real bodies from a real server replay into the typed API: the OpenAI-format
//! recordings that llama-stack's recorder made against Ollama's `/v1`.

use std::fs;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use provider_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs, CreateChatCompletionStreamResponse, FinishReason,
};
use provider_openai::types::completions::CreateCompletionRequestArgs;
use provider_openai::types::embeddings::CreateEmbeddingRequestArgs;
use provider_openai::{OpenAiApi, OpenAiClient, OpenAiNormalizer};
use recording_core::format::RecordedRequest;
use recording_core::transport::decode;
use recording_core::{
    ApiRequest, Error, Mode, NormalizeContext, Normalizer, Recording, RecordingFile,
};
use serde_json::Value;

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/llama-stack")
        .join(name)
}

fn fixture(name: &str) -> RecordingFile {
    let path = fixture_path(name);
    let bytes = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    RecordingFile::from_slice(&bytes, &path).unwrap_or_else(|err| panic!("{err}"))
}

/// A replay-only client over a temporary directory holding `fixture`'s response as the
/// recording of `request`, the way a migrated recording would sit there.
fn replaying(
    fixture_name: &str,
    request: ApiRequest,
) -> (tempfile::TempDir, Recording<OpenAiClient>) {
    let dir = tempfile::tempdir().expect("tempdir");
    // Replay never calls the server: a dummy key and a closed port.
    let client = Recording::new(OpenAiClient::with_base_url(
        "http://127.0.0.1:9/v1",
        "unused",
    ))
    .mode(Mode::Replay)
    .dir(dir.path());
    let mut file = fixture(fixture_name);
    file.request = RecordedRequest::of("openai", &request);
    recording_core::Store::new(dir.path())
        .save(&client.hash_of(&request), &file)
        .expect("save");
    (dir, client)
}

fn chat_request(content: &str, stream: bool) -> CreateChatCompletionRequest {
    let mut request = CreateChatCompletionRequestArgs::default()
        .model("llama3.2:3b-instruct-fp16")
        .messages(vec![
            ChatCompletionRequestUserMessageArgs::default()
                .content(content)
                .build()
                .expect("message")
                .into(),
        ])
        .max_tokens(5u32)
        .build()
        .expect("request");
    if stream {
        request.stream = Some(true);
    }
    request
}

fn body_of<T: serde::Serialize>(request: &T) -> Value {
    ApiRequest::body_of(request).expect("serializable")
}

#[tokio::test]
async fn chat_completion_replays_into_the_typed_response() {
    let request = chat_request("Quick test", false);
    let (_dir, client) = replaying(
        "3c0bf9ba81b2.json",
        ApiRequest::post("/v1/chat/completions", body_of(&request)),
    );
    let response = client.chat(request).await.expect("replayed");
    assert_eq!(response.id, "chatcmpl-334");
    assert_eq!(response.model, "llama3.2:3b-instruct-fp16");
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("It looks like we've")
    );
    assert_eq!(
        response.choices[0].finish_reason,
        Some(FinishReason::Length)
    );
    let usage = response.usage.expect("usage");
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (27, 5, 32)
    );
}

#[tokio::test]
async fn streamed_chat_replays_chunk_by_chunk() {
    let request = chat_request("What time is it in UTC?", true);
    let (_dir, client) = replaying(
        "0fad19b9d308.json",
        ApiRequest::post("/v1/chat/completions", body_of(&request)),
    );
    let chunks: Vec<CreateChatCompletionStreamResponse> = client
        .chat_stream(request)
        .await
        .expect("stream")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    assert_eq!(chunks.len(), 2);
    assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"));
    let text: String = chunks
        .iter()
        .filter_map(|c| c.choices[0].delta.content.clone())
        .collect();
    assert_eq!(
        text,
        r#"{"name":"get_time","parameters\":{\"timezone\":\"UTC\"}}"#
    );
    assert_eq!(chunks[1].choices[0].finish_reason, Some(FinishReason::Stop));
}

#[test]
fn streamed_tool_calls_decode_into_typed_chunks() {
    // Recorded under /v1/completions by llama-stack, but the chunks are chat chunks.
    let file = fixture("4014dd44c15f.json");
    let path = fixture_path("4014dd44c15f.json");
    let chunks: Vec<CreateChatCompletionStreamResponse> = file
        .response
        .body
        .as_array()
        .expect("chunks")
        .iter()
        .map(|chunk| decode(chunk.clone(), "chat completion chunk", Some(&path)).expect("decodes"))
        .collect();
    let calls = chunks[0].choices[0]
        .delta
        .tool_calls
        .as_ref()
        .expect("tool calls");
    assert_eq!(calls[0].id.as_deref(), Some("call_9732h2cb"));
    let function = calls[0].function.as_ref().expect("function");
    assert_eq!(function.name.as_deref(), Some("get_weather"));
    assert_eq!(function.arguments.as_deref(), Some(r#"{"city":"Tokyo"}"#));
    assert_eq!(
        chunks[1].choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );
}

#[tokio::test]
async fn legacy_completion_replays_into_the_typed_response() {
    let request = CreateCompletionRequestArgs::default()
        .model("llama3.2:3b-instruct-fp16")
        .prompt("Hello, world!")
        .build()
        .expect("request");
    let (_dir, client) = replaying(
        "2a5a4e821bc8.json",
        ApiRequest::post("/v1/completions", body_of(&request)),
    );
    let response = client.completion(request).await.expect("replayed");
    assert_eq!(
        response.choices[0].text,
        "Hello! How can I assist you today?"
    );
    assert_eq!(response.usage.expect("usage").total_tokens, 39);
}

#[tokio::test]
async fn embeddings_replay_into_the_typed_response() {
    let request = CreateEmbeddingRequestArgs::default()
        .model("accounts/fireworks/models/qwen3-embedding-8b")
        .input(Vec::<String>::new())
        .build()
        .expect("request");
    let (_dir, client) = replaying(
        "1c0a34fa2e0c.json",
        ApiRequest::post("/v1/embeddings", body_of(&request)),
    );
    let response = client.embeddings(request).await.expect("replayed");
    assert_eq!(
        response.model,
        "accounts/fireworks/models/qwen3-embedding-8b"
    );
    assert!(response.data.is_empty());
    assert_eq!(response.usage.total_tokens, 0);
}

#[tokio::test]
async fn a_bare_model_array_replays_as_the_model_list() {
    let (_dir, client) = replaying(
        "models-bd032f995f2a-abd54ea0.json",
        ApiRequest::get("/v1/models"),
    );
    let list = client.list_models().await.expect("replayed");
    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "llama-guard3:1b",
            "all-minilm:l6-v2",
            "llama3.2:3b-instruct-fp16"
        ]
    );
    assert_eq!(list.data[0].created, 1_753_937_098);
}

#[tokio::test]
async fn a_body_that_does_not_fit_names_the_file_and_the_field() {
    let request = chat_request("Quick test", false);
    let api_request = ApiRequest::post("/v1/chat/completions", body_of(&request));
    let (_dir, client) = replaying("3c0bf9ba81b2.json", api_request.clone());
    let path = client.path_of(&api_request);
    let mut raw: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
    raw["response"]["body"]["choices"][0]["message"]["role"] = Value::from("narrator");
    fs::write(&path, serde_json::to_vec(&raw).expect("json")).expect("write");

    let err = client
        .chat(request)
        .await
        .expect_err("role is not a known role");
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&*path.to_string_lossy()), "{text}");
    assert!(text.contains("choices[0].message.role"), "{text}");
}

#[test]
fn every_openai_fixture_decodes_into_its_typed_response() {
    use provider_openai::types::chat::CreateChatCompletionResponse;
    use provider_openai::types::completions::CreateCompletionResponse;
    use provider_openai::types::embeddings::CreateEmbeddingResponse;
    use provider_openai::types::models::Model;

    let mut checked = 0;
    for entry in fs::read_dir(fixture_path("")).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let file =
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path).expect("parse");
        if !file.request.endpoint.starts_with("/v1/") {
            continue;
        }
        let bodies: Vec<Value> = match file.response.body {
            Value::Array(items) => items,
            single => vec![single],
        };
        for body in bodies {
            let object = body["object"].as_str().unwrap_or_default().to_owned();
            let result = match object.as_str() {
                "chat.completion" => {
                    decode::<CreateChatCompletionResponse>(body, "chat completion", Some(&path))
                        .map(drop)
                }
                "chat.completion.chunk" => {
                    decode::<CreateChatCompletionStreamResponse>(body, "chat chunk", Some(&path))
                        .map(drop)
                }
                "text_completion" => {
                    decode::<CreateCompletionResponse>(body, "completion", Some(&path)).map(drop)
                }
                "list" => {
                    decode::<CreateEmbeddingResponse>(body, "embeddings", Some(&path)).map(drop)
                }
                "model" => decode::<Model>(body, "model", Some(&path)).map(drop),
                other => panic!("{}: unexpected object {other:?}", path.display()),
            };
            result.unwrap_or_else(|err| panic!("{err}"));
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} bodies checked");
}

fn normalized(name: &str) -> Value {
    let file = fixture(name);
    let hash = "0123456789abcdef".repeat(4);
    let ctx = NormalizeContext {
        hash: &hash,
        endpoint: &file.request.endpoint,
    };
    let mut body = file.response.body;
    match &mut body {
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            OpenAiNormalizer.normalize(&ctx, item) | changed
        }),
        single => OpenAiNormalizer.normalize(&ctx, single),
    };
    body
}

#[test]
fn normalized_chat_completion() {
    insta::assert_json_snapshot!(normalized("3c0bf9ba81b2.json"));
}

#[test]
fn normalized_stream_with_tool_calls() {
    let body = normalized("4014dd44c15f.json");
    assert_eq!(
        body[0]["choices"][0]["delta"]["tool_calls"][0]["id"],
        "call_rec-0123456789ab-0-0"
    );
    insta::assert_json_snapshot!(body);
}

#[test]
fn normalized_model_list_keeps_model_ids_and_dates() {
    let body = normalized("models-bd032f995f2a-abd54ea0.json");
    assert_eq!(
        body,
        fixture("models-bd032f995f2a-abd54ea0.json").response.body
    );
}

#[test]
fn llama_cpp_timings_and_model_dates_are_zeroed() {
    let hash = "f".repeat(64);
    let ctx = NormalizeContext {
        hash: &hash,
        endpoint: "/v1/models",
    };
    let mut models = serde_json::json!({"object": "list", "data": [
        {"id": "tiny.gguf", "object": "model", "created": 1_764_000_000, "owned_by": "llamacpp"}
    ]});
    OpenAiNormalizer.normalize(&ctx, &mut models);
    assert_eq!(models["data"][0]["created"], 0);
    assert_eq!(models["data"][0]["id"], "tiny.gguf");

    let mut body = serde_json::json!({"id": "chatcmpl-x", "created": 5, "timings": {
        "prompt_n": 4, "prompt_ms": 1.25, "prompt_per_second": 3200.0, "predicted_n": 8, "predicted_ms": 9.5
    }});
    OpenAiNormalizer.normalize(&ctx, &mut body);
    assert_eq!(
        body["timings"],
        serde_json::json!({"prompt_n": 4, "prompt_ms": 0, "prompt_per_second": 0, "predicted_n": 8, "predicted_ms": 0})
    );
}

#[test]
fn the_rules_are_idempotent_on_every_openai_fixture() {
    for name in [
        "0fad19b9d308.json",
        "1c0a34fa2e0c.json",
        "2a5a4e821bc8.json",
        "3c0bf9ba81b2.json",
        "4014dd44c15f.json",
        "models-bd032f995f2a-abd54ea0.json",
    ] {
        let once = normalized(name);
        let hash = "0123456789abcdef".repeat(4);
        let ctx = NormalizeContext {
            hash: &hash,
            endpoint: "/v1/chat/completions",
        };
        let mut twice = once.clone();
        let changed = match &mut twice {
            Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                OpenAiNormalizer.normalize(&ctx, item) | changed
            }),
            single => OpenAiNormalizer.normalize(&ctx, single),
        };
        assert!(!changed, "the second pass says it changed nothing: {name}");
        assert_eq!(once, twice, "{name}");
    }
}
