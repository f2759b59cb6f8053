//! Equivalent requests: with equivalence on, each spelling a provider's API treats
//! alike hits the one recording the other spelling made, through the provider's real
//! rules; with it off, keys stay exact and the other spelling misses.

use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, Mode, Normalizer, Recording, client_fn,
};
use serde_json::{Value, json};

/// A client of `provider` with its real `rules`, answering every call with one body.
fn client(provider: &'static str, rules: impl Normalizer + 'static) -> impl InferenceClient {
    client_fn(provider, |_| async {
        Ok::<_, Error>(ApiResponse::json(
            json!({"choices": [{"message": {"content": "ok"}}]}),
        ))
    })
    .normalizer(rules)
}

/// Records `one` with equivalence on, then replays `other`: a hit with equivalence
/// on, a miss without.
async fn one_recording_for_both(
    provider: &'static str,
    rules: impl Normalizer + Clone + 'static,
    endpoint: &str,
    one: Value,
    other: Value,
    rule: &str,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = Recording::new(client(provider, rules.clone()))
        .mode(Mode::Record)
        .dir(dir.path())
        .equivalence(true);
    record
        .send(ApiRequest::post(endpoint, one.clone()))
        .await
        .unwrap_or_else(|err| panic!("{rule}: recorded: {err}"));
    let never = || {
        client_fn(provider, |_| async {
            Err::<ApiResponse, _>(Error::Transport("replay never calls it".into()))
        })
        .normalizer(rules.clone())
    };
    let replay = Recording::new(never()).dir(dir.path()).equivalence(true);
    replay
        .send(ApiRequest::post(endpoint, other.clone()))
        .await
        .unwrap_or_else(|err| panic!("{rule}: the other spelling replays: {err}"));
    let exact = Recording::new(never()).dir(dir.path());
    assert!(
        matches!(
            exact.send(ApiRequest::post(endpoint, other)).await,
            Err(Error::ReplayMiss(_))
        ),
        "{rule}: without equivalence the other spelling is its own request"
    );
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(record.path_of(&ApiRequest::post(endpoint, one.clone())))
            .expect("the file"),
    )
    .expect("json");
    assert_eq!(
        file["request"]["body"], one,
        "{rule}: the file keeps the body as sent"
    );
}

fn chat(extra: Value) -> Value {
    let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
    for (name, value) in extra.as_object().into_iter().flatten() {
        body[name] = value.clone();
    }
    body
}

#[tokio::test]
async fn openai_chat_spellings_share_one_recording() {
    let rules = provider_openai::OpenAiNormalizer;
    let endpoint = "/v1/chat/completions";
    let text_part = json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]});
    one_recording_for_both(
        "openai",
        rules,
        endpoint,
        chat(json!({})),
        text_part,
        "one text part",
    )
    .await;
    let null_in_message =
        json!({"model": "m", "messages": [{"role": "user", "name": null, "content": "Hi"}]});
    one_recording_for_both(
        "openai",
        rules,
        endpoint,
        chat(json!({})),
        null_in_message,
        "null in a message",
    )
    .await;
    for (rule, extra) in [
        ("a null member", json!({"seed": null})),
        ("n: 1", json!({"n": 1})),
        ("stream: false", json!({"stream": false})),
        ("temperature: 1", json!({"temperature": 1.0})),
        ("top_p: 1", json!({"top_p": 1})),
        ("presence_penalty: 0", json!({"presence_penalty": 0})),
        ("frequency_penalty: 0", json!({"frequency_penalty": 0.0})),
        ("logprobs: false", json!({"logprobs": false})),
        (
            "parallel_tool_calls: true",
            json!({"parallel_tool_calls": true}),
        ),
        (
            "tool_choice none without tools",
            json!({"tool_choice": "none"}),
        ),
    ] {
        one_recording_for_both(
            "openai",
            rules,
            endpoint,
            chat(json!({})),
            chat(extra),
            rule,
        )
        .await;
    }
    let tools = json!({"tools": [{"type": "function", "function": {"name": "f"}}]});
    let mut auto = tools.clone();
    auto["tool_choice"] = json!("auto");
    one_recording_for_both(
        "openai",
        rules,
        endpoint,
        chat(tools),
        chat(auto),
        "tool_choice auto with tools",
    )
    .await;
}

#[tokio::test]
async fn openai_responses_spellings_share_one_recording() {
    let rules = provider_openai::OpenAiNormalizer;
    let plain = json!({"model": "m", "input": "Hi", "tools": [{"type": "function", "name": "f"}]});
    for (rule, name, value) in [
        ("stream: false", "stream", json!(false)),
        (
            "parallel_tool_calls: true",
            "parallel_tool_calls",
            json!(true),
        ),
        ("tool_choice auto with tools", "tool_choice", json!("auto")),
        ("a null member", "instructions", Value::Null),
    ] {
        let mut other = plain.clone();
        other[name] = value;
        one_recording_for_both("openai", rules, "/v1/responses", plain.clone(), other, rule).await;
    }
}

#[tokio::test]
async fn anthropic_message_spellings_share_one_recording() {
    let rules = provider_anthropic::AnthropicNormalizer;
    let endpoint = "/v1/messages";
    let plain = json!({"model": "m", "max_tokens": 8, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}]});
    let variants = [
        (
            "one text block",
            "/messages/0/content",
            json!([{"type": "text", "text": "Hi"}]),
        ),
        (
            "a system of one text block",
            "/system",
            json!([{"type": "text", "text": "Be brief."}]),
        ),
        ("a null member", "/metadata", Value::Null),
        ("a null in a message", "/messages/0/name", Value::Null),
        ("stream: false", "/stream", json!(false)),
        (
            "tool_choice auto with tools",
            "/tool_choice",
            json!({"type": "auto"}),
        ),
    ];
    for (rule, pointer, value) in variants {
        let mut other = plain.clone();
        let (parent, name) = pointer.rsplit_once('/').unwrap_or_default();
        let holder = if parent.is_empty() {
            &mut other
        } else {
            other.pointer_mut(parent).expect("the parent")
        };
        holder[name] = value;
        one_recording_for_both("anthropic", rules, endpoint, plain.clone(), other, rule).await;
    }
}

#[tokio::test]
async fn ollama_spellings_share_one_recording() {
    let rules = provider_ollama::OllamaNormalizer;
    let plain = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
    for (rule, name, value) in [
        ("stream: true", "stream", json!(true)),
        ("empty options", "options", json!({})),
        ("a null member", "format", Value::Null),
    ] {
        let mut other = plain.clone();
        other[name] = value;
        one_recording_for_both("ollama", rules, "/api/chat", plain.clone(), other, rule).await;
    }
}
