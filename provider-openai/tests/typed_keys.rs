//! The typed APIs key a request straight from async-openai's types when they replay
//! (`Recording::typed_key`): that key is the one its value gets, for every kind of
//! request and the shapes they take (tools, content parts, schemas, maps, floats).

use async_openai::types::chat::CreateChatCompletionRequest;
use async_openai::types::completions::CreateCompletionRequest;
use async_openai::types::embeddings::CreateEmbeddingRequest;
use async_openai::types::responses::CreateResponse;
use provider_openai::OpenAiClient;
use recording_core::{Mode, Recording, TypedRequest};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const KEY: &str = "sk-typed-keys-0123456789";

fn recorder() -> Recording<OpenAiClient> {
    Recording::new(OpenAiClient::with_base_url("http://127.0.0.1:9/v1", KEY)).mode(Mode::Replay)
}

fn typed<T: DeserializeOwned>(body: Value) -> T {
    serde_json::from_value(body).unwrap_or_else(|err| panic!("async-openai's type: {err}"))
}

fn chat() -> CreateChatCompletionRequest {
    typed(json!({
        "model": "SmolLM2-135M-Instruct",
        "messages": [
            {"role": "system", "content": "You are terse. Tabs\tand \"quotes\", é, 😀."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?\n"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}
            }]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C at 2026-12-03T14:00:00Z"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"], "additionalProperties": false},
            "strict": true
        }}],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}
        }},
        "temperature": 0.7,
        "top_p": 0.9,
        "presence_penalty": -0.3,
        "frequency_penalty": 1.1,
        "logit_bias": {"50256": -100, "13": 2},
        "stop": ["\n\n", "END"],
        "seed": 42,
        "n": 1,
        "max_completion_tokens": 64,
        "metadata": {"suite": "typed", "run": "1"},
        "stream_options": {"include_usage": true},
        "user": "someone"
    }))
}

#[test]
fn typed_keys_are_the_keys_of_their_values() {
    let chat = chat();
    let completion: CreateCompletionRequest = typed(json!({
        "model": "tiny", "prompt": ["one", "two"], "max_tokens": 8, "temperature": 0.0,
        "logprobs": 2, "echo": false, "suffix": "!", "best_of": 1, "stop": "\n"
    }));
    let embeddings: CreateEmbeddingRequest = typed(json!({
        "model": "tiny", "input": ["a", "b"], "encoding_format": "float", "dimensions": 8
    }));
    let response: CreateResponse = typed(json!({
        "model": "tiny",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Say hello."}]}],
        "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": true}],
        "temperature": 0.2,
        "max_output_tokens": 32,
        "text": {"format": {"type": "text"}}
    }));
    let requests = [
        TypedRequest::post(provider_openai::CHAT_COMPLETIONS, &chat),
        TypedRequest::post(provider_openai::COMPLETIONS, &completion),
        TypedRequest::post(provider_openai::EMBEDDINGS, &embeddings),
        TypedRequest::post(provider_openai::RESPONSES, &response),
    ];
    for recorder in [recorder(), recorder().scope("a test")] {
        for request in &requests {
            let value = request.to_request().expect("a value");
            assert_eq!(
                recorder.typed_key(request),
                Some(recorder.hash_of(&value)),
                "{}",
                request.endpoint()
            );
        }
    }
}

#[test]
fn what_only_a_value_can_key_is_left_to_it() {
    let plain = chat();
    let request = TypedRequest::post(provider_openai::CHAT_COMPLETIONS, &plain);
    let leaked: CreateChatCompletionRequest = typed(json!({
        "model": "tiny", "messages": [{"role": "user", "content": format!("pasted {KEY} here")}]
    }));
    let with_key = TypedRequest::post(provider_openai::CHAT_COMPLETIONS, &leaked);
    assert_eq!(
        recorder().typed_key(&with_key),
        None,
        "the client's key in the body"
    );
    for rewriting in [
        recorder().equivalence(true),
        recorder().volatile_pattern("iso8601").expect("a preset"),
        recorder()
            .volatile("/messages/*/content")
            .expect("a pointer"),
        recorder().redact("/metadata").expect("a pointer"),
    ] {
        assert_eq!(rewriting.typed_key(&request), None, "{rewriting:?}");
    }
    // A top-level field named for the key: left out of it, as from the value.
    let volatile = recorder().volatile("/seed").expect("a pointer");
    let value = request.to_request().expect("a value");
    assert_eq!(volatile.typed_key(&request), Some(volatile.hash_of(&value)));
    assert_ne!(volatile.hash_of(&value), recorder().hash_of(&value));
}
