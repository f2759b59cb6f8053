//! The Messages API's request, response and stream-event types, as small serde types of
//! this crate's own.
//!
//! Why not a crate's: no Rust crate for this API is both well kept and faithful (in
//! 2026 there are many small ones, each a whole client with its own HTTP stack, most
//! with typed enums that fail on a content block or event type they do not know). A
//! recorder must hand back what the server sent, so these types keep every field they
//! do not name (`extra`), take any block type (a [`ContentBlock`] is its `type` and
//! optional fields, not a closed enum) and any event type ([`StreamEvent::Other`]); a
//! body read and written back is the same JSON (tested against the committed
//! recordings).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// `POST /v1/messages`: what to ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// The model, such as `claude-sonnet-4-5`.
    pub model: String,
    /// The most tokens to generate.
    pub max_tokens: u32,
    /// The conversation, oldest first.
    pub messages: Vec<InputMessage>,
    /// The system prompt: a string or text blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    /// The tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// How the model must use them: `{"type": "auto" | "any" | "none"}`, or
    /// `{"type": "tool", "name": ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Sequences that end the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Whether to stream; [`AnthropicApi`](crate::AnthropicApi) sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Everything else the API takes (`top_p`, `top_k`, `metadata`, `thinking`, ...),
    /// sent as it is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessageRequest {
    /// A request of `model` for at most `max_tokens`, on `messages`.
    pub fn new(
        model: impl Into<String>,
        max_tokens: u32,
        messages: Vec<InputMessage>,
    ) -> MessageRequest {
        MessageRequest {
            model: model.into(),
            max_tokens,
            messages,
            system: None,
            tools: None,
            tool_choice: None,
            temperature: None,
            stop_sequences: None,
            stream: None,
            extra: Map::new(),
        }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// A string, or content blocks (text, images, tool uses, tool results).
    pub content: Content,
}

impl InputMessage {
    /// A user turn of plain text.
    pub fn user(text: impl Into<String>) -> InputMessage {
        InputMessage {
            role: "user".into(),
            content: Content::Text(text.into()),
        }
    }

    /// A turn of `role` made of `blocks`.
    pub fn blocks(role: impl Into<String>, blocks: Vec<ContentBlock>) -> InputMessage {
        InputMessage {
            role: role.into(),
            content: Content::Blocks(blocks),
        }
    }
}

/// A message's content: a plain string, or blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// A plain string.
    Text(String),
    /// Content blocks.
    Blocks(Vec<ContentBlock>),
}

/// One content block, of any type: its `type` and the fields that type has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentBlock {
    /// `text`, `tool_use`, `tool_result`, `thinking`, `image`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// A text block's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A tool use's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A tool use's tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A tool use's arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// A tool result's tool use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// A tool result's content: a string or blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// Every other field, kept as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ContentBlock {
    fn of(kind: &str) -> ContentBlock {
        ContentBlock {
            kind: kind.to_owned(),
            text: None,
            id: None,
            name: None,
            input: None,
            tool_use_id: None,
            content: None,
            extra: Map::new(),
        }
    }

    /// A text block.
    pub fn text(text: impl Into<String>) -> ContentBlock {
        ContentBlock {
            text: Some(text.into()),
            ..ContentBlock::of("text")
        }
    }

    /// A tool use, as an assistant turn that made it carries it.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> ContentBlock {
        ContentBlock {
            id: Some(id.into()),
            name: Some(name.into()),
            input: Some(input),
            ..ContentBlock::of("tool_use")
        }
    }

    /// The result of the tool use `tool_use_id`.
    pub fn tool_result(tool_use_id: impl Into<String>, content: impl Into<String>) -> ContentBlock {
        ContentBlock {
            tool_use_id: Some(tool_use_id.into()),
            content: Some(Value::String(content.into())),
            ..ContentBlock::of("tool_result")
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its arguments' JSON Schema.
    pub input_schema: Value,
    /// Every other field (`cache_control`, a server tool's `type`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer: `{"type": "message", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (normalized in recordings: `msg_rec-...`).
    pub id: String,
    /// `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `assistant`.
    pub role: String,
    /// The answer's blocks: text, tool uses, thinking.
    pub content: Vec<ContentBlock>,
    /// The model that answered.
    pub model: String,
    /// Why it stopped: `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`; `null` in
    /// `message_start`.
    pub stop_reason: Option<String>,
    /// The stop sequence that ended it, if one did.
    pub stop_sequence: Option<String>,
    /// Token counts.
    pub usage: Usage,
    /// Every other field, kept as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// The text of its text blocks, joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter(|block| block.kind == "text")
            .filter_map(|block| block.text.as_deref())
            .collect()
    }

    /// Its tool-use blocks.
    pub fn tool_uses(&self) -> impl Iterator<Item = &ContentBlock> {
        self.content.iter().filter(|block| block.kind == "tool_use")
    }
}

/// Token counts of an answer (or, in `message_delta`, of what came so far).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// The cache's counts and whatever else the server counts.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One event of a streamed message, by its `type` (the SSE event's name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message, with no content yet.
    MessageStart {
        /// The message so far.
        message: Message,
    },
    /// A content block begins.
    ContentBlockStart {
        /// Its place in the content.
        index: usize,
        /// The block, empty (a tool use's id and name, no input).
        content_block: ContentBlock,
    },
    /// More of a content block.
    ContentBlockDelta {
        /// The block's place.
        index: usize,
        /// What it adds.
        delta: Delta,
    },
    /// A content block ends.
    ContentBlockStop {
        /// The block's place.
        index: usize,
    },
    /// The message's end: why it stopped, and the output's count.
    MessageDelta {
        /// `stop_reason` and `stop_sequence`.
        delta: Map<String, Value>,
        /// The counts.
        #[serde(default)]
        usage: Usage,
    },
    /// The stream's last event.
    MessageStop,
    /// A keep-alive.
    Ping,
    /// A failure after the stream began. The client reports it as an
    /// [`Error::Api`](recording_core::Error::Api), so a typed stream ends in that error
    /// rather than yielding this; it is here to read recorded events by hand.
    Error {
        /// `type` and `message`.
        error: Value,
    },
    /// An event type this crate does not know, kept whole.
    #[serde(skip)]
    Other(Value),
}

const KNOWN_EVENTS: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

impl<'de> Deserialize<'de> for StreamEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let known = value
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| KNOWN_EVENTS.contains(&kind));
        if known {
            StreamEvent::deserialize(value).map_err(serde::de::Error::custom)
        } else {
            Ok(StreamEvent::Other(value))
        }
    }
}

impl Serialize for StreamEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StreamEvent::Other(value) => value.serialize(serializer),
            event => StreamEvent::serialize(event, serializer),
        }
    }
}

/// What a `content_block_delta` adds: `text_delta` (`text`), `input_json_delta`
/// (`partial_json`, a piece of a tool use's input), `thinking_delta`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The delta's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// A `text_delta`'s text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An `input_json_delta`'s piece of JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_json: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /v1/messages/count_tokens`: the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenCount {
    /// The tokens the request's input would count.
    pub input_tokens: u64,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /v1/models`: a page of models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// The models.
    pub data: Vec<ModelInfo>,
    /// Whether another page follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
    /// Every other field (`first_id`, `last_id`; llama-server's `models`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One model of a [`ModelList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Its id, as requests name it.
    pub id: String,
    /// Its name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Every other field (`type`, `created_at`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
