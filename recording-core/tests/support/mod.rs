//! A scripted in-process client for the engine's tests: the trait is the boundary,
//! so a fake inner client shows exactly what the recorder does with each answer.

#![allow(dead_code)] // Each test file uses its own part of it.
#![allow(unreachable_pub)] // Shared by the test binaries that `mod support;` it.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, NormalizeContext, Normalizer,
};
use serde_json::{Value, json};

/// What the scripted server answers.
#[derive(Clone)]
pub enum Reply {
    Json(Value),
    Chunks(Vec<Item>),
    /// Chunks that arrive one scheduler turn apart, as from a network.
    SlowChunks(Vec<Item>),
    ApiError(u16, Value),
    TransportError,
}

/// One item of a scripted stream.
#[derive(Clone)]
pub enum Item {
    Chunk(Value),
    ApiError(u16, Value),
    TransportError,
}

impl Item {
    pub fn into_result(self) -> Result<Value, Error> {
        match self {
            Item::Chunk(value) => Ok(value),
            Item::ApiError(status, body) => Err(Error::api(status, body)),
            Item::TransportError => Err(Error::Transport("connection reset".into())),
        }
    }
}

/// Stamps a fresh `id` and `created` on every body, like a real server.
#[derive(Clone)]
pub struct Scripted {
    reply: Arc<Mutex<Reply>>,
    calls: Arc<AtomicUsize>,
}

impl Scripted {
    pub fn new(reply: Reply) -> Scripted {
        Scripted {
            reply: Arc::new(Mutex::new(reply)),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn set_reply(&self, reply: Reply) {
        *self.reply.lock().expect("lock") = reply;
    }
}

/// Rewrites `id` to `rec-<hash[:12]>` and drops `created`: enough to see that the
/// recorder applies a provider's rules, to single bodies and to chunks.
#[derive(Debug)]
pub struct TestRules;

impl Normalizer for TestRules {
    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) -> bool {
        let Some(map) = body.as_object_mut() else {
            return false;
        };
        let before = (map.get("id").cloned(), map.get("created").cloned());
        if map.contains_key("id") {
            map.insert("id".into(), json!(format!("rec-{}", &ctx.hash[..12])));
        }
        if map.contains_key("created") {
            map.insert("created".into(), json!(0));
        }
        before != (map.get("id").cloned(), map.get("created").cloned())
    }
}

#[async_trait]
impl InferenceClient for Scripted {
    fn provider(&self) -> &str {
        "test"
    }
    fn normalizer(&self) -> Arc<dyn Normalizer> {
        Arc::new(TestRules)
    }
    fn base_url(&self) -> Option<String> {
        Some("http://user:sk-test-secret@127.0.0.1:9/?api_key=sk-test-secret".into())
    }
    async fn send(&self, _request: ApiRequest) -> Result<ApiResponse, Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let reply = self.reply.lock().expect("lock").clone();
        match reply {
            Reply::Json(mut body) => {
                body["id"] = json!(format!("live-{n}"));
                body["created"] = json!(1_700_000_000 + n);
                Ok(ApiResponse::json(body))
            }
            Reply::SlowChunks(items) => {
                let items = stamped(items, n);
                let slow = futures::stream::iter(items).then(|item| async move {
                    tokio::task::yield_now().await;
                    item
                });
                Ok(ApiResponse::stream(Box::pin(slow)))
            }
            Reply::Chunks(items) => Ok(ApiResponse::stream(Box::pin(futures::stream::iter(
                stamped(items, n),
            )))),
            Reply::ApiError(status, body) => Err(Error::api(status, body)),
            Reply::TransportError => Err(Error::Transport("connection refused".into())),
        }
    }
}

fn stamped(items: Vec<Item>, n: usize) -> Vec<Result<Value, Error>> {
    items
        .into_iter()
        .map(|item| {
            item.into_result().map(|mut chunk| {
                chunk["id"] = json!(format!("live-{n}"));
                chunk
            })
        })
        .collect()
}

pub fn chat(content: &str) -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "tiny", "messages": [{"role": "user", "content": content}]}),
    )
}

pub fn answer() -> Reply {
    Reply::Json(json!({"object": "chat.completion", "choices": [{"message": {"content": "hi"}}]}))
}

pub async fn json_of(client: &dyn InferenceClient, request: ApiRequest) -> Result<Value, Error> {
    client.send(request).await?.into_json()
}

pub async fn chunks_of(
    client: &dyn InferenceClient,
    request: ApiRequest,
) -> Result<Vec<Result<Value, Error>>, Error> {
    let stream = client.send(request).await?.into_stream()?;
    Ok(stream.collect().await)
}

pub fn recording_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir.join("responses")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
