//! What the fuzz targets check, shared with the regression test that replays their
//! findings under `cargo test` (recording-core/tests/fuzz_regressions.rs): a crash
//! found once stays fixed.

use std::path::Path;

use recording_core::format::{RecordedResponse, Replayed};
use recording_core::internals::{detect_format, raw_bodies_mut};
use recording_core::key::canonical_json;
use recording_core::{ApiRequest, RecordingFile, request_hash};
use serde_json::Value;

/// Any bytes as a recording file, in either format: a clear error or a recording,
/// never a panic; a recording survives being written and read again.
pub fn read_recording(bytes: &[u8]) {
    let path = Path::new("fuzz.json");
    let full = RecordingFile::from_slice(bytes, path);
    let response = RecordedResponse::from_file_slice(bytes, path);
    let replayed = Replayed::from_file_slice(bytes, path);
    if let Ok(file) = &full {
        let written = file.to_pretty_json();
        let again = RecordingFile::from_slice(written.as_bytes(), path)
            .expect("a recording we wrote reads back");
        assert_eq!(&again, file, "a recording round-trips");
        assert!(response.is_ok(), "replay reads what a full read reads");
        let replayed = replayed.expect("the replay reader reads what a full read reads");
        // Escaped key names (`\u005f_type__`) are the one place the text reader and the
        // value reader may disagree about llama-stack's wrappers.
        if !bytes.windows(2).any(|w| w == b"\\u") {
            assert_eq!(
                as_values(replayed),
                as_values_of(&file.response),
                "same bodies"
            );
        }
    }
    if let Err(err) = &full {
        assert!(
            err.to_string().contains("fuzz.json"),
            "errors name the file: {err}"
        );
    }
    // The normalize tool's view of the same bytes.
    if let Ok(mut raw) = serde_json::from_slice::<Value>(bytes) {
        let _ = detect_format(&raw);
        for body in raw_bodies_mut(&mut raw) {
            *body = Value::Null;
        }
    }
}

/// A replayed response as plain values: (is an error, chunks or body, stream error).
fn as_values(replayed: Replayed) -> (bool, Value, Option<Value>) {
    let parse = |raw: &serde_json::value::RawValue| {
        serde_json::from_str::<Value>(raw.get()).expect("recorded text is JSON")
    };
    match replayed {
        Replayed::Json(raw) => (false, parse(&raw), None),
        Replayed::Stream { chunks, error, .. } => (
            false,
            Value::Array(chunks.iter().map(|c| parse(c)).collect()),
            error.map(|e| e.body),
        ),
        Replayed::Error(error) => (true, error.body, None),
    }
}

fn as_values_of(response: &RecordedResponse) -> (bool, Value, Option<Value>) {
    let error = response.stream_error.as_ref().map(|e| e.body.clone());
    (
        response.is_error,
        response.body.clone(),
        error.filter(|_| !response.is_error && response.is_streaming),
    )
}

/// Any JSON as a request body: the canonical form parses, is a fixed point, and is
/// what the reference RFC 8785 implementation writes; hashing never panics.
pub fn canonicalize(bytes: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let canonical = canonical_json(&value);
    let parsed: Value = serde_json::from_str(&canonical).expect("canonical JSON parses");
    assert_eq!(
        canonical_json(&parsed),
        canonical,
        "canonical form is a fixed point"
    );
    if let Ok(reference) = serde_json_canonicalizer::to_string(&value) {
        assert_eq!(
            canonical, reference,
            "agrees with the reference implementation"
        );
    }
    let hash = request_hash(
        &ApiRequest::post("/v1/chat/completions", value),
        Some("scope"),
    );
    assert_eq!(hash.len(), 64);
}
