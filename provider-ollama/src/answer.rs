//! What an Ollama answer says, for the tools that show and compare recordings.

use recording_core::provider::{Answer, ToolCall};
use serde_json::Value;

/// The text (`response`, `message.content`), tool calls and `done_reason` of a
/// generate or chat body, or of its stream's lines.
pub(crate) fn answer(bodies: &[&Value]) -> Answer {
    let mut answer = Answer::default();
    for body in bodies {
        answer.answered |= body.get("response").is_some() || body.get("message").is_some();
        for field in [&body["response"], &body["message"]["content"]] {
            answer.text += field.as_str().unwrap_or_default();
        }
        for call in body["message"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let function = &call["function"];
            answer.tool_calls.push(ToolCall {
                name: function["name"].as_str().unwrap_or_default().to_owned(),
                arguments: function["arguments"].to_string(),
            });
        }
        if let Some(reason) = body["done_reason"].as_str() {
            answer.stop_reason = Some(reason.to_owned());
        }
        // Ollama counts beside the answer, in its last body.
        answer.add_usage(body, Some(&["prompt_eval_count", "eval_count"]));
    }
    answer
}
