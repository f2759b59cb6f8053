//! A loopback HTTP server that answers what a test tells it to, faults included: a
//! connection closed in the middle of a stream, a body that is not JSON, an answer
//! that never comes.
//!
//! Real servers do all of these now and then (a crashed worker, a proxy that cuts a
//! stream, an overloaded host); the recorder must never turn them into a recording.
//! The server also keeps the raw bytes of every request it receives, so a test can
//! show that a credential really went over the wire while it never reached the disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use serde_json::Value;

use crate::captured_ollama::{chunk_lines, read_request};

/// How the server ends a streamed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Properly: the terminating chunk of the chunked encoding.
    Complete,
    /// By closing the connection before the terminating chunk: a truncated body.
    Close,
    /// By sending nothing more and keeping the connection open.
    Hang,
}

/// What the server answers to every request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200 OK` with `body` as `application/json`.
    Json(String),
    /// `200 OK` with `content_type`, then `chunks` one HTTP chunk each, then `end`.
    Stream {
        /// `text/event-stream` for OpenAI-style SSE, `application/x-ndjson` for Ollama.
        content_type: &'static str,
        /// The chunks, framing included (`data: {...}\n\n` or `{...}\n`).
        chunks: Vec<String>,
        /// How the stream ends.
        end: StreamEnd,
    },
    /// An error status with `body` as `application/json`.
    Status(u16, String),
    /// Any status with any content type and extra header lines (`Retry-After: 30`):
    /// a proxy's HTML page, a rate limit.
    Page {
        /// The HTTP status.
        status: u16,
        /// Such as `text/html`.
        content_type: &'static str,
        /// Extra header lines, without line ends.
        headers: Vec<&'static str>,
        /// The body.
        body: String,
    },
    /// No answer at all: the request is read and the connection held open.
    Hang,
}

/// A running server; it stops listening when dropped.
pub struct FaultyServer {
    port: u16,
    behaviour: Arc<Mutex<Behaviour>>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultyServer {
    /// Starts listening on a free loopback port, answering with `behaviour`.
    pub async fn start(behaviour: Behaviour) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let behaviour = Arc::new(Mutex::new(behaviour));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (shared, log) = (behaviour.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone(), log.clone()));
            }
        });
        FaultyServer {
            port,
            behaviour,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>`, as `OLLAMA_HOST` takes it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Changes what later requests get.
    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("behaviour lock") = behaviour;
    }

    /// A recording server in record mode over `dir` whose OpenAI-compatible upstream
    /// is this server, to start after any settings of the test's own.
    pub fn recording_front(&self, dir: &Path) -> recording_server::RecordingServer {
        recording_server::RecordingServer::new()
            .mode(recording_core::Mode::Record)
            .dir(dir)
            .openai_upstream(format!("{}/v1", self.url()))
    }

    /// The raw bytes (head and body) of every request received so far.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: TcpStream,
    behaviour: Arc<Mutex<Behaviour>>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
) {
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    let mut raw = head.into_bytes();
    raw.extend_from_slice(&body);
    requests.lock().expect("requests lock").push(raw);
    let behaviour = behaviour.lock().expect("behaviour lock").clone();
    match behaviour.clone() {
        Behaviour::Json(body) | Behaviour::Status(_, body) => {
            let status = match &behaviour {
                Behaviour::Status(code, _) => format!("{code} Error"),
                _ => "200 OK".to_owned(),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
        Behaviour::Stream {
            content_type,
            chunks,
            end,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for chunk in chunks {
                let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                if socket.write_all(framed.as_bytes()).await.is_err() {
                    return;
                }
                let _ = socket.flush().await;
            }
            match end {
                StreamEnd::Complete => {
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                    let _ = socket.shutdown().await;
                }
                StreamEnd::Close => {
                    let _ = socket.shutdown().await;
                }
                StreamEnd::Hang => hold(socket).await,
            }
        }
        Behaviour::Page {
            status,
            content_type,
            headers,
            body,
        } => {
            let extra: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
            let response = format!(
                "HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\n{extra}\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
        Behaviour::Hang => hold(socket).await,
    }
}

/// Keeps the connection open until the client gives up (or the server is dropped).
async fn hold(socket: TcpStream) {
    // Reading returns when the client closes its end; nothing is ever written.
    let mut socket = socket;
    let mut sink = [0u8; 64];
    while let Ok(n) = tokio::io::AsyncReadExt::read(&mut socket, &mut sink).await {
        if n == 0 {
            break;
        }
    }
}

/// Captured chunks as server-sent events, each `data: {chunk}`, then `data: [DONE]`
/// when `done`.
pub fn sse_events(chunks: &Value, done: bool) -> Vec<String> {
    let mut events: Vec<String> = chunk_lines(chunks)
        .into_iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .collect();
    if done {
        events.push("data: [DONE]\n\n".into());
    }
    events
}

/// Captured chunks as NDJSON lines.
pub fn ndjson_lines(chunks: &Value) -> Vec<String> {
    chunk_lines(chunks)
        .into_iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Every recording file in `dir/responses/` by name, with its bytes: what a fault must
/// leave exactly as it was.
pub fn recordings_snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir.join("responses")) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect()
}
