//! `OllamaClient`'s real HTTP path (requests, NDJSON streaming, error bodies) against a
//! loopback server that plays back real captured Ollama responses. No real Ollama can
//! be installed here; this server is a stand-in that speaks Ollama's HTTP framing with
//! Ollama's own bytes from `shared/fixtures/llama-stack-recordings/`.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use provider_ollama::ollama_rs::generation::completion::request::GenerationRequest;
use provider_ollama::{EPOCH, OllamaApi, OllamaClient};
use recording_core::{Error, InferenceClient, Mode, Recording, RecordingFile};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn fixture_body(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/llama-stack-recordings")
        .join(name);
    let bytes = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    RecordingFile::from_slice(&bytes, &path)
        .unwrap_or_else(|err| panic!("{err}"))
        .response
        .body
}

/// A loopback HTTP server that answers like Ollama with captured Ollama responses.
struct CapturedOllama {
    port: u16,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CapturedOllama {
    async fn start() -> CapturedOllama {
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

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Stops listening: later connections are refused.
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
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

fn chunk_lines(chunks: &Value) -> Vec<String> {
    chunks
        .as_array()
        .expect("chunks")
        .iter()
        .map(Value::to_string)
        .collect()
}

async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
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

fn generation() -> GenerationRequest<'static> {
    GenerationRequest::new("llama3.2:3b-instruct-fp16".into(), "Give me a sentence").raw(true)
}

#[tokio::test]
async fn record_over_http_then_replay_with_the_server_gone() {
    let server = CapturedOllama::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recording::new(OllamaClient::new(&server.host()))
        .mode(Mode::Record)
        .dir(dir.path());

    let single = recorder
        .generate(GenerationRequest::new("llama-guard3:1b".into(), "check"))
        .await
        .expect("generate");
    let streamed: Vec<_> = recorder
        .generate_stream(generation())
        .await
        .expect("stream")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let models = recorder.list_local_models().await.expect("tags");
    assert_eq!(server.requests(), 3);
    assert_eq!(single.response, "unsafe\nS2");
    assert_eq!(
        single.created_at, EPOCH,
        "the caller sees normalized values"
    );
    assert_eq!(
        streamed.len(),
        chunk_lines(&fixture_body("80e4404d8987.json")).len()
    );
    assert!(models.iter().any(|m| m.name == "all-minilm:l6-v2"));

    // The recording holds the wire JSON, fields ollama-rs drops included.
    let path = recorder.path_of(&recording_core::ApiRequest::post("/api/generate", {
        let mut body = recording_core::ApiRequest::body_of(&generation()).expect("body");
        body["stream"] = Value::Bool(true);
        body
    }));
    let file: Value = serde_json::from_slice(&fs::read(&path).expect("recorded")).expect("json");
    let chunks = file["response"]["body"].as_array().expect("chunks");
    assert_eq!(
        chunks.last().map(|c| c["done_reason"].clone()),
        Some(Value::from("stop"))
    );
    assert_eq!(file["request"]["provider"], "ollama");
    assert_eq!(
        file["request"]["url"],
        format!("http://{}/api/generate", server.host())
    );

    server.stop().await;
    let replay = Recording::new(OllamaClient::new(&server_host_gone()))
        .mode(Mode::Replay)
        .dir(dir.path());
    let again: Vec<_> = replay
        .generate_stream(generation())
        .await
        .expect("replay")
        .map(|chunk| chunk.expect("chunk"))
        .collect()
        .await;
    let text =
        |chunks: &[provider_ollama::ollama_rs::generation::completion::GenerationResponse]| {
            chunks
                .iter()
                .map(|c| c.response.clone())
                .collect::<String>()
        };
    assert_eq!(text(&again), text(&streamed));
    assert_eq!(
        replay.list_local_models().await.expect("tags").len(),
        models.len()
    );
}

/// A port nothing listens on.
fn server_host_gone() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("127.0.0.1:{}", listener.local_addr().expect("addr").port())
}

#[tokio::test]
async fn ollama_error_bodies_are_api_errors_and_are_recorded() {
    let server = CapturedOllama::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recording::new(OllamaClient::new(&server.host()))
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    for _ in 0..2 {
        match recorder.show_model_info("nope").await {
            Err(Error::Api { status, body }) => {
                assert_eq!(status, 404);
                assert_eq!(body["error"], "model 'nope' not found");
            }
            other => panic!("expected the 404, got {other:?}"),
        }
    }
    assert_eq!(
        server.requests(),
        1,
        "the error was replayed the second time"
    );
}

#[tokio::test]
async fn an_error_line_mid_stream_ends_the_stream_with_an_api_error() {
    let server = CapturedOllama::start().await;
    let client = OllamaClient::new(&server.host());
    let request = GenerationRequest::new("broken".into(), "hi");
    let items: Vec<_> = client
        .generate_stream(request)
        .await
        .expect("stream")
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(Result::is_ok));
    match &items[2] {
        Err(Error::Api { status: 500, body }) => {
            assert_eq!(
                body["error"],
                "an error was encountered while running the model"
            );
        }
        other => panic!("expected the API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let client = OllamaClient::new(&server_host_gone());
    let err = client
        .send(recording_core::ApiRequest::get("/api/tags"))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}
