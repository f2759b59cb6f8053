//! What a Messages answer says, for the tools that show and compare recordings.

use recording_core::provider::{Answer, ToolCall};
use serde_json::Value;

/// The text, tool uses and `stop_reason` of a message, or of its stream's events: a
/// tool use's input arrives in `input_json_delta` pieces after its
/// `content_block_start`, by the block's index.
pub(crate) fn answer(bodies: &[&Value]) -> Answer {
    let mut answer = Answer::default();
    // Blocks by their index in the message: a stream's text and tool-use blocks
    // interleave, and only the tool uses become calls.
    let mut calls: Vec<Option<ToolCall>> = Vec::new();
    for body in bodies {
        let kind = body["type"].as_str().unwrap_or_default();
        answer.answered |= matches!(kind, "message" | "message_start");
        match kind {
            "message" => {
                for block in body["content"].as_array().into_iter().flatten() {
                    match block["type"].as_str() {
                        Some("text") => answer.text += block["text"].as_str().unwrap_or_default(),
                        Some("tool_use") => calls.push(Some(ToolCall {
                            name: block["name"].as_str().unwrap_or_default().to_owned(),
                            arguments: block["input"].to_string(),
                        })),
                        _ => {}
                    }
                }
                if let Some(reason) = body["stop_reason"].as_str() {
                    answer.stop_reason = Some(reason.to_owned());
                }
                answer.add_usage(&body["usage"], None);
            }
            "message_start" => answer.add_usage(&body["message"]["usage"], None),
            "content_block_start" if body["content_block"]["type"] == "tool_use" => {
                let index = body["index"].as_u64().unwrap_or(0) as usize;
                if calls.len() <= index {
                    calls.resize(index + 1, None);
                }
                let name = body["content_block"]["name"].as_str().unwrap_or_default();
                calls[index] = Some(ToolCall {
                    name: name.to_owned(),
                    arguments: String::new(),
                });
            }
            "content_block_delta" => {
                let delta = &body["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => answer.text += delta["text"].as_str().unwrap_or_default(),
                    Some("input_json_delta") => {
                        let index = body["index"].as_u64().unwrap_or(0) as usize;
                        if let Some(Some(call)) = calls.get_mut(index) {
                            call.arguments += delta["partial_json"].as_str().unwrap_or_default();
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = body["delta"]["stop_reason"].as_str() {
                    answer.stop_reason = Some(reason.to_owned());
                }
                // The final counts: output_tokens, and input_tokens where sent again.
                answer.add_usage(&body["usage"], None);
            }
            _ => {}
        }
    }
    answer.tool_calls = calls.into_iter().flatten().collect();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stream_assembles_to_what_its_message_would_say() {
        let events = [
            json!({"type": "message_start", "message": {"type": "message", "content": [],
                "usage": {"input_tokens": 12, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " check."}}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t", "name": "get_weather"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 7}}),
            json!({"type": "message_stop"}),
        ];
        let streamed = answer(&events.iter().collect::<Vec<_>>());
        let message = json!({"type": "message", "stop_reason": "tool_use",
            "usage": {"input_tokens": 12, "output_tokens": 7}, "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "t", "name": "get_weather", "input": {"city": "Oslo"}}
        ]});
        let whole = answer(&[&message]);
        assert_eq!(streamed, whole);
        assert_eq!(whole.text, "Let me check.");
        assert_eq!(whole.tool_calls[0].arguments, r#"{"city":"Oslo"}"#);
        assert_eq!(whole.stop_reason.as_deref(), Some("tool_use"));
        assert!(whole.answered);
    }
}
