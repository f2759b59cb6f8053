//! Support for the workspace's integration tests: real `llama-server` processes and
//! the requests the end-to-end and committed-replay tests share.
//!
//! The committed recordings in `tests/recordings/responses/` were recorded from a real
//! llama.cpp server by the tests in `tests/replay_committed.rs`; every `cargo test`
//! replays them with no server.

pub mod agent;
pub mod anthropic_requests;
pub mod captured_ollama;
pub mod exposure;
pub mod faulty_server;
pub mod llama_server;
pub mod numbers;
pub mod ollama_requests;
pub mod requests;
pub mod synthetic;
pub mod tls;
