//! What an OpenAI-style answer says, for the tools that show and compare recordings.

use recording_core::provider::{Answer, ToolCall};
use serde_json::Value;

/// The text, tool calls and finish reason of chat and text completions (bodies and
/// chunks) and of the Responses API (a response, or its stream events).
pub(crate) fn answer(bodies: &[&Value]) -> Answer {
    let mut answer = Answer::default();
    for body in bodies {
        let choices = body["choices"].as_array();
        answer.answered |= choices.is_some()
            || body["object"] == "response"
            || body["type"]
                .as_str()
                .is_some_and(|kind| kind.starts_with("response."));
        for choice in choices.into_iter().flatten() {
            for field in [
                &choice["message"]["content"],
                &choice["delta"]["content"],
                &choice["text"],
            ] {
                answer.text += field.as_str().unwrap_or_default();
            }
            for holder in [&choice["message"], &choice["delta"]] {
                let calls = holder["tool_calls"].as_array().into_iter().flatten();
                for (position, call) in calls.enumerate() {
                    let index = call["index"].as_u64().map_or(position, |i| i as usize);
                    let slot = ToolCall::at(&mut answer.tool_calls, index);
                    let function = &call["function"];
                    slot.name += function["name"].as_str().unwrap_or_default();
                    match &function["arguments"] {
                        Value::String(text) => slot.arguments += text,
                        Value::Null => {}
                        other => slot.arguments += &other.to_string(),
                    }
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                answer.stop_reason = Some(reason.to_owned());
            }
        }
        if body["usage"].is_object() {
            answer.add_usage(&body["usage"], None);
        }
        // A Responses stream's closing events carry the whole response: its status and
        // counts, whose text the deltas already gave.
        let response = &body["response"];
        if response["object"] == "response" {
            if let Some(status) = response["status"].as_str() {
                answer.stop_reason = Some(status.to_owned());
            }
            if response["usage"].is_object() {
                answer.add_usage(&response["usage"], None);
            }
        }
        if body["type"] == "response.output_text.delta" {
            answer.text += body["delta"].as_str().unwrap_or_default();
        }
        if body["object"] == "response" {
            for item in body["output"].as_array().into_iter().flatten() {
                for part in item["content"].as_array().into_iter().flatten() {
                    answer.text += part["text"].as_str().unwrap_or_default();
                }
            }
            if let Some(status) = body["status"].as_str() {
                answer.stop_reason = Some(status.to_owned());
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_chat_stream_assembles_its_text_and_its_tool_calls_by_index() {
        let chunks = [
            json!({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "lo", "tool_calls": [
                {"index": 0, "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}, "finish_reason": "tool_calls"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4,
                "prompt_tokens_details": {"cached_tokens": 0}}}),
        ];
        let answer = answer(&chunks.iter().collect::<Vec<_>>());
        assert!(answer.answered);
        assert_eq!(answer.text, "Hello");
        assert_eq!(
            answer.tool_calls,
            [ToolCall {
                name: "get_weather".into(),
                arguments: r#"{"city":"Oslo"}"#.into()
            }]
        );
        assert_eq!(answer.stop_reason.as_deref(), Some("tool_calls"));
        assert_eq!(answer.usage["completion_tokens"], 4);
        assert_eq!(answer.usage["prompt_tokens_details.cached_tokens"], 0);
        let listed = json!({"object": "list", "data": [{"id": "m", "object": "model"}]});
        assert!(
            !super::answer(&[&listed]).answered,
            "a model list is no answer"
        );
    }

    #[test]
    fn a_responses_stream_takes_its_status_and_counts_from_the_closing_event() {
        let events = [
            json!({"type": "response.output_text.delta", "delta": "Hi"}),
            json!({"type": "response.completed", "response": {"object": "response",
                "status": "completed", "usage": {"input_tokens": 5, "output_tokens": 1},
                "output": [{"content": [{"text": "Hi"}]}]}}),
        ];
        let answer = answer(&events.iter().collect::<Vec<_>>());
        assert_eq!(
            answer.text, "Hi",
            "the closing event's copy is not added again"
        );
        assert_eq!(answer.stop_reason.as_deref(), Some("completed"));
        assert_eq!(answer.usage["output_tokens"], 1);
    }
}
