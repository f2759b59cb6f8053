//! A real `llama-server` process on a free loopback port, stopped when dropped.
//!
//! The binary and the model come from `LLAMA_SERVER_BIN` and `LLAMA_TEST_MODEL`, which
//! `scripts/e2e-env.sh` prepares (building the server once, cached outside the repo).
//! Tests start their own servers rather than sharing ones a script started, so that a
//! test can stop a server mid-test and know that nothing else keeps it alive, and so
//! that no server outlives a failing test: `Drop` kills the process it started.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The environment variable naming the `llama-server` binary.
pub const BIN_ENV: &str = "LLAMA_SERVER_BIN";
/// The environment variable naming the GGUF model to serve.
pub const MODEL_ENV: &str = "LLAMA_TEST_MODEL";
/// The environment variable naming the chat template (`--chat-template-file`); the
/// model's own when unset.
pub const TEMPLATE_ENV: &str = "LLAMA_CHAT_TEMPLATE";
/// When set to `1`, a missing server fails the test instead of skipping it (CI).
pub const REQUIRE_ENV: &str = "INFERENCE_RECORDER_REQUIRE_SERVERS";

/// How long a server may take to load the model and listen.
const STARTUP_LIMIT: Duration = Duration::from_secs(120);

/// What a server instance serves: llama-server needs a separate instance started with
/// `--embeddings` for the embeddings endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Chat and text completions.
    Completions,
    /// Embeddings.
    Embeddings,
}

/// A running `llama-server`.
#[derive(Debug)]
pub struct LlamaServer {
    child: Child,
    port: u16,
}

impl LlamaServer {
    /// Starts a server, or returns `None` (after saying why on stderr) when
    /// `LLAMA_SERVER_BIN`/`LLAMA_TEST_MODEL` are not set. Panics instead when
    /// `INFERENCE_RECORDER_REQUIRE_SERVERS=1`, so CI cannot skip these tests silently.
    pub fn start_or_skip(role: Role, test: &str) -> Option<LlamaServer> {
        let (Some(bin), Some(model)) = (std::env::var_os(BIN_ENV), std::env::var_os(MODEL_ENV))
        else {
            let why = format!(
                "{test}: SKIPPED: no llama-server ({BIN_ENV} and {MODEL_ENV} are not set; \
                 run `source scripts/e2e-env.sh` to build and point at one)"
            );
            assert!(
                std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
                "{why}, but {REQUIRE_ENV}=1 requires it"
            );
            // Straight to the process's stderr: the test harness captures `eprintln!`
            // of passing tests, and a skip must be seen.
            let _ = writeln!(std::io::stderr(), "{why}");
            return None;
        };
        let port = free_port();
        let mut command = Command::new(&bin);
        command
            .arg("--model")
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--ctx-size", "2048", "--threads", "1", "--parallel", "1"])
            .args([
                "--alias",
                crate::requests::MODEL,
                "--seed",
                "42",
                "--no-webui",
            ])
            // One slot and no prompt cache: token counts and answers then do not depend
            // on the order of requests, so re-recording gives an empty diff.
            .args(["--no-cache-prompt", "--cache-ram", "0", "--jinja"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(template) = std::env::var_os(TEMPLATE_ENV) {
            command.arg("--chat-template-file").arg(template);
        }
        if role == Role::Embeddings {
            command.args(["--embeddings", "--pooling", "mean"]);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", bin.to_string_lossy()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (ready_tx, ready_rx) = mpsc::channel();
        // The server says when it is ready; reading its log is the signal, not a timer.
        std::thread::spawn(move || {
            let mut log = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Printed once the model is loaded and the port is open.
                let ready = line.contains("listening on http://");
                log.push(line);
                if ready {
                    let _ = ready_tx.send(Ok(()));
                    // Keep draining so the server never blocks on a full pipe.
                    continue;
                }
            }
            let _ = ready_tx.send(Err(log.join("\n")));
        });
        let mut server = LlamaServer { child, port };
        match ready_rx.recv_timeout(STARTUP_LIMIT) {
            Ok(Ok(())) => Some(server),
            Ok(Err(log)) => {
                server.stop();
                panic!("llama-server exited before it was ready:\n{log}")
            }
            Err(_) => {
                server.stop();
                panic!("llama-server was not ready within {STARTUP_LIMIT:?}")
            }
        }
    }

    /// The OpenAI-style base URL, `/v1` included.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Kills the server and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}

/// A base URL where nothing listens: what replay tests point clients at, to show the
/// server is never needed.
pub fn dead_base_url() -> String {
    format!("http://127.0.0.1:{}/v1", free_port())
}
