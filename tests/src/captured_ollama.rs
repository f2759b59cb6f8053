//! A loopback HTTP server that answers like Ollama, with real captured Ollama
//! responses.
//!
//! No real Ollama can be installed here. This stand-in speaks Ollama's HTTP framing
//! (JSON bodies, `application/x-ndjson` streams written a line at a time, Ollama's
//! `{"error": ...}` bodies) and answers with Ollama's own bytes, captured by
//! llama-stack's recorder in `tests/fixtures/llama-stack/`. It exercises
//! `OllamaClient`'s real HTTP path; it is not Ollama, and the tests say so.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use recording_core::RecordingFile;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The captured fixture files, committed in `tests/fixtures/llama-stack/`.
pub fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/llama-stack")
}

fn fixture(name: &str) -> RecordingFile {
    let path = fixtures_dir().join(name);
    let bytes = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    RecordingFile::from_slice(&bytes, &path).unwrap_or_else(|err| panic!("{err}"))
}

/// The (unwrapped) response body of a captured fixture.
pub fn fixture_body(name: &str) -> Value {
    fixture(name).response.body
}

/// The request body of a captured fixture.
pub fn fixture_request(name: &str) -> Value {
    fixture(name).request.body
}

/// A running stand-in; it stops listening when stopped or dropped.
pub struct CapturedOllama {
    port: u16,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CapturedOllama {
    /// Starts listening on a free loopback port.
    pub async fn start() -> CapturedOllama {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket));
            }
        });
        CapturedOllama {
            port,
            requests,
            task,
        }
    }

    /// `127.0.0.1:<port>`, as `OLLAMA_HOST` takes it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// How many connections it has accepted.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Stops listening: later connections are refused.
    pub async fn stop(mut self) {
        self.task.abort();
        // Waiting for the aborted task drops the listener, closing the port.
        let _ = (&mut self.task).await;
    }
}

impl Drop for CapturedOllama {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut socket: TcpStream) {
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let streaming = request.get("stream").and_then(Value::as_bool) != Some(false);
    let (status, content_type, lines) = match request_line.split(' ').take(2).collect::<Vec<_>>()[..]
    {
        ["POST", "/api/generate"] if request["model"] == "broken" => {
            // Ollama reports a failure after the stream began as an error line.
            let mut lines = chunk_lines(&fixture_body("80e4404d8987.json"));
            lines.truncate(2);
            lines.push(r#"{"error":"an error was encountered while running the model"}"#.into());
            ("200 OK", "application/x-ndjson", lines)
        }
        ["POST", "/api/generate"] if streaming => (
            "200 OK",
            "application/x-ndjson",
            chunk_lines(&fixture_body("80e4404d8987.json")),
        ),
        ["POST", "/api/generate"] => (
            "200 OK",
            "application/json; charset=utf-8",
            vec![fixture_body("e96152610712.json").to_string()],
        ),
        // No real /api/chat answer was captured; the stand-in gives the captured
        // generate answers in chat's shape (the text as `message.content`), which is
        // how Ollama's chat answers differ from its generate answers.
        ["POST", "/api/chat"] if streaming => (
            "200 OK",
            "application/x-ndjson",
            chunk_lines(&as_chat(&fixture_body("80e4404d8987.json"))),
        ),
        ["POST", "/api/chat"] => (
            "200 OK",
            "application/json; charset=utf-8",
            vec![as_chat(&fixture_body("e96152610712.json")).to_string()],
        ),
        ["POST", "/api/embed"] => (
            "200 OK",
            "application/json; charset=utf-8",
            vec![fixture_body("a97477559b10.json").to_string()],
        ),
        ["GET", "/api/ps"] => (
            "200 OK",
            "application/json; charset=utf-8",
            vec![fixture_body("d0ac68cbde69.json").to_string()],
        ),
        ["POST", "/api/pull"] if !streaming => (
            "200 OK",
            "application/json; charset=utf-8",
            vec![fixture_body("3877ecf1bc62.json").to_string()],
        ),
        ["GET", "/api/tags"] => (
            "200 OK",
            "application/json; charset=utf-8",
            vec![fixture_body("models-4a3a4447b16b-3057338f.json").to_string()],
        ),
        ["POST", "/api/show"] => (
            "404 Not Found",
            "application/json; charset=utf-8",
            vec![format!(
                r#"{{"error":"model '{}' not found"}}"#,
                request["model"].as_str().unwrap_or_default()
            )],
        ),
        _ => (
            "404 Not Found",
            "text/plain",
            vec!["404 page not found".into()],
        ),
    };
    let head =
        format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n");
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    // Each line in two writes, so lines straddle reads as they do on a real network.
    for line in lines {
        let line = format!("{line}\n");
        let (a, b) = line.as_bytes().split_at(line.len() / 2);
        for part in [a, b] {
            if socket.write_all(part).await.is_err() || socket.flush().await.is_err() {
                return;
            }
        }
    }
    let _ = socket.shutdown().await;
}

/// A captured generate answer (a body, or an array of chunks) in `/api/chat`'s shape:
/// `response` becomes `message: {role: "assistant", content}`, the rest stays.
pub fn as_chat(generate: &Value) -> Value {
    match generate {
        Value::Array(chunks) => Value::Array(chunks.iter().map(as_chat).collect()),
        Value::Object(map) => {
            let mut chat = serde_json::Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "response" => {
                        let message = serde_json::json!({"role": "assistant", "content": value});
                        chat.insert("message".into(), message);
                    }
                    "context" => {}
                    _ => {
                        chat.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(chat)
        }
        other => other.clone(),
    }
}

/// A captured stream as NDJSON lines.
pub fn chunk_lines(chunks: &Value) -> Vec<String> {
    chunks
        .as_array()
        .expect("chunks")
        .iter()
        .map(Value::to_string)
        .collect()
}

/// Reads one HTTP/1.1 request: its head (request line and headers) and its body.
pub(crate) async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some((head, buffer[header_end..header_end + length].to_vec()))
}
