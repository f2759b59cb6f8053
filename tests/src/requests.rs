//! The typed requests the end-to-end and committed-replay tests send, so that both
//! agree on what a recording's key is.

use provider_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use provider_openai::types::completions::{CreateCompletionRequest, CreateCompletionRequestArgs};
use provider_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingRequestArgs};

/// The model alias the test servers serve: SmolLM2-135M-Instruct (scripts/e2e-env.sh).
pub const MODEL: &str = "SmolLM2-135M-Instruct";

/// A short chat completion; `max_tokens` keeps it fast on a CPU.
pub fn chat(question: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(MODEL)
        .messages(vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content("You are a terse assistant.")
                .build()
                .expect("a valid system message")
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(question)
                .build()
                .expect("a valid user message")
                .into(),
        ])
        .max_completion_tokens(24u32)
        .temperature(0.0)
        .seed(42)
        .build()
        .expect("a valid chat request")
}

/// A short legacy completion.
pub fn completion(prompt: &str) -> CreateCompletionRequest {
    CreateCompletionRequestArgs::default()
        .model(MODEL)
        .prompt(prompt)
        .max_tokens(8u32)
        .temperature(0.0)
        .seed(42)
        .build()
        .expect("a valid completion request")
}

/// Embeddings of two inputs.
pub fn embeddings() -> CreateEmbeddingRequest {
    CreateEmbeddingRequestArgs::default()
        .model(MODEL)
        .input(vec![
            "The sky is blue.",
            "Recordings make tests deterministic.",
        ])
        .build()
        .expect("a valid embeddings request")
}

/// A request the server rejects: a prompt longer than the 2048-token context is a 400.
pub fn rejected() -> CreateCompletionRequest {
    CreateCompletionRequestArgs::default()
        .model(MODEL)
        .prompt("word ".repeat(2100))
        .max_tokens(4u32)
        .build()
        .expect("a valid request shape")
}

/// A short Responses API request.
pub fn response(input: &str) -> provider_openai::types::responses::CreateResponse {
    provider_openai::types::responses::CreateResponseArgs::default()
        .model(MODEL)
        .input(input)
        .max_output_tokens(24u32)
        .temperature(0.0)
        .build()
        .expect("a valid Responses API request")
}

fn chat_from(body: serde_json::Value) -> CreateChatCompletionRequest {
    serde_json::from_value(body).expect("a valid chat request")
}

/// The one tool of the tool-calling round trip.
pub fn weather_tool() -> serde_json::Value {
    serde_json::json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "required": ["city"],
                       "properties": {"city": {"type": "string", "description": "The city"}}}
    }})
}

/// The conversation that asks for a tool call: a one-shot example (a question answered
/// by a call), then the question. A 135M model needs the example; `tool_choice:
/// "required"` makes llama.cpp constrain the answer to a call.
fn weather_messages() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!({"role": "system", "content": "You answer every question with exactly one tool call and no other text."}),
        json!({"role": "user", "content": "What is the weather in Berlin?"}),
        json!({"role": "assistant", "content": "", "tool_calls": [{"id": "call_example", "type": "function",
               "function": {"name": "get_weather", "arguments": "{\"city\": \"Berlin\"}"}}]}),
        json!({"role": "user", "content": "What is the weather in Paris?"}),
    ]
}

/// The first half of a tool-calling round trip: the model must call `get_weather`.
pub fn tool_call() -> CreateChatCompletionRequest {
    chat_from(serde_json::json!({
        "model": MODEL, "messages": weather_messages(), "tools": [weather_tool()],
        "tool_choice": "required", "max_completion_tokens": 48, "temperature": 0.0, "seed": 42
    }))
}

/// The second half: the call the model made (with its normalized id), the tool's
/// result, and the model's answer.
pub fn tool_result(call: &serde_json::Value, result: &str) -> CreateChatCompletionRequest {
    let mut messages = weather_messages();
    messages.push(serde_json::json!({"role": "assistant", "content": "", "tool_calls": [call]}));
    messages
        .push(serde_json::json!({"role": "tool", "tool_call_id": call["id"], "content": result}));
    chat_from(serde_json::json!({
        "model": MODEL, "messages": messages, "tools": [weather_tool()],
        "tool_choice": "none", "max_completion_tokens": 32, "temperature": 0.0, "seed": 42
    }))
}

/// A multi-turn conversation: the first question, then (given the first answer) the
/// follow-up, which carries the whole conversation.
pub fn conversation(earlier_answer: Option<&str>) -> CreateChatCompletionRequest {
    use serde_json::json;
    let mut messages = vec![
        json!({"role": "system", "content": "You are a terse assistant."}),
        json!({"role": "user", "content": "Name one fruit."}),
    ];
    if let Some(answer) = earlier_answer {
        messages.push(json!({"role": "assistant", "content": answer}));
        messages.push(json!({"role": "user", "content": "What colour is it?"}));
    }
    chat_from(json!({
        "model": MODEL, "messages": messages, "max_completion_tokens": 24,
        "temperature": 0.0, "seed": 42
    }))
}

/// An answer constrained to a JSON schema (`response_format`): the test parses it.
pub fn json_answer() -> CreateChatCompletionRequest {
    chat_from(serde_json::json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You reply in JSON."},
            {"role": "user", "content": "Give the capital of France as JSON with the keys country and capital."}
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "capital", "schema": {
            "type": "object", "required": ["country", "capital"],
            "properties": {"country": {"type": "string"}, "capital": {"type": "string"}}}}},
        "max_completion_tokens": 48, "temperature": 0.0, "seed": 42
    }))
}
