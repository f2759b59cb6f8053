//! A deterministic in-process OpenAI-style server, for the tests that run the recorder
//! in many processes at once or kill it mid-write: what is under test there is the
//! recorder and the file system, so the trait is the boundary and no network is
//! involved.
//!
//! Like a real server it stamps a fresh `id` and `created` on every answer (the
//! OpenAI rules normalize them away); everything else depends only on the request and
//! on the size it was told to pad answers to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use provider_openai::OpenAiNormalizer;
use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Normalizer};
use serde_json::{Value, json};

/// How many distinct requests the stress workers share: fewer than the tasks of one
/// worker, so every request is recorded by many tasks and processes at once.
pub const STRESS_KEYS: usize = 48;

/// The in-process server.
#[derive(Debug, Clone)]
pub struct Synthetic {
    padding: usize,
    generation: u64,
    served: Arc<AtomicU64>,
}

impl Synthetic {
    /// Answers padded with `padding` bytes of text, so a test can make writes long.
    pub fn new(padding: usize) -> Synthetic {
        Synthetic {
            padding,
            generation: 0,
            served: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Stamps `generation` into every answer: successive versions of one recording
    /// differ, and a torn mix of two would show.
    pub fn generation(mut self, generation: u64) -> Synthetic {
        self.generation = generation;
        self
    }

    /// How many requests it has answered.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }

    /// The answer to `request`, before normalization: a chat completion, or (when the
    /// body asks for `"stream": true`) its chunks.
    pub fn answer(&self, request: &ApiRequest) -> ApiResponse {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        let stamp = |mut body: Value| {
            body["id"] = json!(format!("chatcmpl-{}-{n}", std::process::id()));
            body["created"] = json!(1_700_000_000 + n);
            body
        };
        let echo = request.body.get("messages").cloned().unwrap_or(Value::Null);
        let fill = char::from(b'a' + (self.generation % 26) as u8);
        let padding: String = std::iter::repeat_n(fill, self.padding).collect();
        if request.body.get("stream").and_then(Value::as_bool) == Some(true) {
            let chunks = (0..4)
                .map(|i| {
                    Ok(stamp(json!({
                        "object": "chat.completion.chunk",
                        "generation": self.generation,
                        "choices": [{"index": 0, "delta": {"content": format!("part {i}")}}],
                        "echo": echo,
                    })))
                })
                .collect::<Vec<_>>();
            return ApiResponse::stream(Box::pin(futures::stream::iter(chunks)));
        }
        ApiResponse::json(stamp(json!({
            "object": "chat.completion",
            "generation": self.generation,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
            "echo": echo,
            "padding": padding,
        })))
    }
}

#[async_trait]
impl InferenceClient for Synthetic {
    fn provider(&self) -> &str {
        provider_openai::PROVIDER
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        Arc::new(OpenAiNormalizer)
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        Ok(self.answer(&request))
    }
}

/// The chat request numbered `n`; streaming for every third `n`.
pub fn request(n: usize) -> ApiRequest {
    ApiRequest::post(
        provider_openai::CHAT_COMPLETIONS,
        json!({
            "model": "synthetic",
            "messages": [{"role": "user", "content": format!("request {n}")}],
            "stream": n.is_multiple_of(3),
        }),
    )
}
