//! `RUST_LOG=debug` explains every call: mode, hash and outcome.

use std::io;
use std::sync::{Arc, Mutex};

use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, Mode, Recording, client_fn};
use serde_json::json;

/// Answers every request with its own body.
fn echo() -> impl InferenceClient {
    client_fn("test", |request: ApiRequest| async move {
        Ok::<_, Error>(ApiResponse::json(request.body))
    })
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_call_logs_mode_hash_and_outcome() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("tempdir");
    let request = ApiRequest::post("/v1/embeddings", json!({"model": "m", "input": "x"}));
    let recorder = Recording::new(echo())
        .mode(Mode::RecordIfMissing)
        .dir(dir.path());
    let hash = recorder.hash_of(&request);
    recorder.send(request.clone()).await.expect("recorded");
    recorder.send(request.clone()).await.expect("replayed");
    let replay = Recording::new(echo()).dir(dir.path());
    let other = ApiRequest::post("/v1/embeddings", json!({"model": "m", "input": "y"}));
    replay.send(other).await.expect_err("miss");

    let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].contains("mode=record-if-missing")
            && lines[0].contains(&format!("hash=\"{hash}\""))
            && lines[0].contains("outcome=\"recorded\""),
        "{log}"
    );
    assert!(
        lines[1].contains("outcome=\"hit\"") && lines[1].contains(&hash),
        "{log}"
    );
    assert!(
        lines[2].contains("mode=replay") && lines[2].contains("outcome=\"miss\""),
        "{log}"
    );
}
