//! The Messages API requests the Anthropic end-to-end and committed-replay tests send,
//! so that both agree on what a recording's key is.

use provider_anthropic::types::{ContentBlock, InputMessage, MessageRequest, Tool};
use serde_json::json;

pub use crate::requests::MODEL;

/// A short message with a system prompt.
pub fn message(question: &str) -> MessageRequest {
    let mut request = MessageRequest::new(MODEL, 24, vec![InputMessage::user(question)]);
    request.system = Some(provider_anthropic::types::Content::Text(
        "You are a terse assistant.".into(),
    ));
    request.temperature = Some(0.0);
    request
}

/// The one tool of the tool-use round trip.
pub fn weather_tool() -> Tool {
    serde_json::from_value(json!({
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "input_schema": {"type": "object", "required": ["city"],
                         "properties": {"city": {"type": "string", "description": "The city"}}}
    }))
    .expect("a valid tool")
}

/// The conversation that asks for a tool use: a one-shot example (a question answered
/// by a tool use), then the question. A 135M model needs the example; a forced
/// `tool_choice` makes llama.cpp constrain the answer to a call.
fn weather_messages() -> Vec<InputMessage> {
    vec![
        InputMessage::user("What is the weather in Berlin?"),
        InputMessage::blocks(
            "assistant",
            vec![ContentBlock::tool_use(
                "toolu_example",
                "get_weather",
                json!({"city": "Berlin"}),
            )],
        ),
        InputMessage::user("What is the weather in Paris?"),
    ]
}

fn with_tools(mut request: MessageRequest, tool_choice: serde_json::Value) -> MessageRequest {
    request.system = Some(provider_anthropic::types::Content::Text(
        "You answer every question with exactly one tool call and no other text.".into(),
    ));
    request.tools = Some(vec![weather_tool()]);
    request.tool_choice = Some(tool_choice);
    request.temperature = Some(0.0);
    request
}

/// The first half of a tool-use round trip: the model must call `get_weather`.
pub fn tool_use() -> MessageRequest {
    with_tools(
        MessageRequest::new(MODEL, 48, weather_messages()),
        json!({"type": "tool", "name": "get_weather"}),
    )
}

/// The second half: the tool use the model made (with its normalized id), the tool's
/// result, and the model's answer.
pub fn tool_result(call: &ContentBlock, result: &str) -> MessageRequest {
    let mut messages = weather_messages();
    messages.push(InputMessage::blocks("assistant", vec![call.clone()]));
    let id = call.id.clone().unwrap_or_default();
    messages.push(InputMessage::blocks(
        "user",
        vec![ContentBlock::tool_result(id, result)],
    ));
    with_tools(
        MessageRequest::new(MODEL, 32, messages),
        json!({"type": "none"}),
    )
}

/// A request the server rejects: a prompt longer than the 2048-token context is a 400.
pub fn rejected() -> MessageRequest {
    MessageRequest::new(MODEL, 4, vec![InputMessage::user("word ".repeat(2100))])
}
