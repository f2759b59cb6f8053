//! The recording engine behind an address: an HTTP server on 127.0.0.1 that answers
//! like an OpenAI-compatible server on `/v1/*`, like Ollama on `/api/*` and like
//! Anthropic's Messages API on `/anthropic/v1/*` (and on `/v1/messages`, or any `/v1`
//! path a request with `anthropic-version` asks for), from recordings, and records what
//! it forwards to the real servers.
//!
//! Any client that takes a base URL uses it unchanged: async-openai's `Client`,
//! ollama-rs's `Ollama`, the OpenAI and Anthropic Python and JS SDKs, curl. The server is a front on
//! the same [`Recording`] engine as the typed API, with the same files and keys, so a
//! recording made through either replays through the other.
//!
//! ```no_run
//! use recording_server::RecordingServer;
//!
//! # async fn run() -> Result<(), recording_core::Error> {
//! // Replay (the default): no upstream needed.
//! let server = RecordingServer::from_env()?.start().await?;
//! let config = async_openai::config::OpenAIConfig::new().with_api_base(server.openai_url());
//! let client = async_openai::Client::with_config(config);
//! // ... the app's own calls; the server stops when `server` is dropped.
//! # Ok(())
//! # }
//! ```
//!
//! It answers only what a local test suite sends: a `Host` naming the server, no
//! foreign `Origin`, JSON bodies as `Content-Type: application/json`, and, when
//! [`RecordingServer::token`] is set, the token; so a web page cannot drive it
//! (the guide's threat model).
//!
//! Per request, a header `X-Recording-Scope: <name>` records and replays that request
//! under its own scope (see [`Recording::scope`]), so many tests can share one server.
//! The provider crates own the wire formats (SSE for OpenAI, NDJSON for Ollama, named
//! SSE events for Anthropic); this crate only routes, by the provider registry.

mod connections;
mod guard;
mod known;
mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use provider_anthropic::AnthropicClient;
use provider_ollama::OllamaClient;
use provider_openai::{OpenAIConfig, OpenAiClient};
use recording_core::{Error, InferenceClient, Mode, Recording};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub use guard::TOKEN_HEADER;

/// The environment variable [`RecordingServer::from_env`] takes the server's token
/// from (better than a `--token` flag, which other users of the machine can see).
pub const TOKEN_ENV: &str = "INFERENCE_RECORDER_TOKEN";
pub use routes::{MAX_BODY, SCOPE_HEADER};

/// A recording server to start: its recorder's mode, directory and policy, its
/// upstreams, and its address.
#[derive(Debug, Clone)]
pub struct RecordingServer {
    recorder: Recording<()>,
    openai: Option<OpenAIConfig>,
    /// Whether `openai` has a base URL given to it (a key alone is not an upstream).
    openai_base: bool,
    ollama: Option<String>,
    /// The Anthropic upstream's base URL, and its key when one was given in code.
    anthropic: Option<String>,
    anthropic_key: Option<String>,
    bind: SocketAddr,
    max_body: usize,
    cache_bytes: usize,
    read_timeout: Duration,
    shutdown_grace: Duration,
    record_command: Option<String>,
    guard: guard::Guard,
    allow_remote: bool,
}

/// How long a client may take to send a request's head, and then its body, by default:
/// 30 seconds, far above what a test client needs and short enough that a stuck one
/// does not hold a connection for ever.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The memory a server keeps replayed answers in by default: 64 MiB (see
/// [`RecordingServer::cache_bytes`]).
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How long [`RunningServer::stop`] waits for requests in flight, and then for
/// recordings being finished, by default: 5 seconds each.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Default for RecordingServer {
    fn default() -> Self {
        RecordingServer::new()
    }
}

impl RecordingServer {
    /// A server in replay mode over the default directory, without upstreams, on
    /// `127.0.0.1` and a free port.
    pub fn new() -> RecordingServer {
        RecordingServer {
            recorder: Recording::new(()),
            openai: None,
            openai_base: false,
            ollama: None,
            anthropic: None,
            anthropic_key: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_body: MAX_BODY,
            cache_bytes: CACHE_BYTES,
            read_timeout: READ_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
            record_command: None,
            guard: guard::Guard::default(),
            allow_remote: false,
        }
    }

    /// A server configured as the OpenAI and Ollama SDKs are: the mode from
    /// `TEST_INFERENCE_MODE` and the directory from `TEST_RECORDING_DIR` (as
    /// [`Recording::from_env`] reads them), the OpenAI-compatible upstream from
    /// `OPENAI_BASE_URL` (with `OPENAI_API_KEY`) and the Ollama upstream from
    /// `OLLAMA_HOST`, the Anthropic upstream from `ANTHROPIC_BASE_URL` (with
    /// `ANTHROPIC_API_KEY`), and the [`token`](RecordingServer::token) from
    /// `INFERENCE_RECORDER_TOKEN`, when they are set and not blank. A later
    /// [`openai_upstream`](RecordingServer::openai_upstream) or
    /// [`ollama_upstream`](RecordingServer::ollama_upstream) wins over the environment,
    /// as `serve`'s flags do. Replay contacts no upstream, so setting them costs nothing.
    pub fn from_env() -> Result<RecordingServer, Error> {
        let mut server = RecordingServer::new().recorder(Recording::from_env(())?);
        if let Some(base_url) = env_value(provider_openai::BASE_URL_ENV) {
            server = server.openai_upstream(base_url);
        }
        if let Some(host) = env_value(provider_ollama::HOST_ENV) {
            server = server.ollama_upstream(host);
        }
        if let Some(url) = env_value(provider_anthropic::BASE_URL_ENV) {
            server = server.anthropic_upstream(url);
        }
        if let Some(token) = env_value(TOKEN_ENV) {
            server = server.token(token.trim());
        }
        Ok(server)
    }

    /// Records and replays as `recorder` does: its mode, directory, scope (the default
    /// for requests without a scope header) and error policy. Its client is not used.
    pub fn recorder<C>(mut self, recorder: Recording<C>) -> RecordingServer {
        self.recorder = recorder.with_inner(());
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> RecordingServer {
        self.recorder = self.recorder.mode(mode);
        self
    }

    /// Sets the recordings directory (the one that holds `responses/`).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> RecordingServer {
        self.recorder = self.recorder.dir(dir);
        self
    }

    /// Forwards `/v1/*` to the OpenAI-compatible server at `base_url` (with its `/v1`,
    /// as the OpenAI SDKs take it), with the key from `OPENAI_API_KEY` unless
    /// [`openai_api_key`](RecordingServer::openai_api_key) sets one. A client's own
    /// `Authorization` header is not forwarded: the server holds the key.
    pub fn openai_upstream(mut self, base_url: impl Into<String>) -> RecordingServer {
        let config = self.openai.take().unwrap_or_default();
        self.openai = Some(config.with_api_base(base_url));
        self.openai_base = true;
        self
    }

    /// The key sent to the OpenAI-compatible upstream; it needs an
    /// [`openai_upstream`](RecordingServer::openai_upstream) too (without one,
    /// [`start`](RecordingServer::start) is an error: the server never picks
    /// `https://api.openai.com/v1` on its own).
    pub fn openai_api_key(mut self, key: impl Into<String>) -> RecordingServer {
        let config = self.openai.take().unwrap_or_default();
        self.openai = Some(config.with_api_key(key));
        self
    }

    /// Forwards `/api/*` to the Ollama at `host` (as `OLLAMA_HOST` takes it).
    pub fn ollama_upstream(mut self, host: impl Into<String>) -> RecordingServer {
        self.ollama = Some(host.into());
        self
    }

    /// Forwards Anthropic's Messages API to the server at `base_url` (its root, as the
    /// Anthropic SDKs take it: `https://api.anthropic.com`, `http://127.0.0.1:8080` for
    /// llama-server), with the key from `ANTHROPIC_API_KEY` unless
    /// [`anthropic_api_key`](RecordingServer::anthropic_api_key) sets one. A client's
    /// own `x-api-key` is not forwarded; its `anthropic-version` and `anthropic-beta`
    /// are.
    pub fn anthropic_upstream(mut self, base_url: impl Into<String>) -> RecordingServer {
        self.anthropic = Some(base_url.into());
        self
    }

    /// The key sent to the Anthropic upstream; it needs an
    /// [`anthropic_upstream`](RecordingServer::anthropic_upstream) too.
    pub fn anthropic_api_key(mut self, key: impl Into<String>) -> RecordingServer {
        self.anthropic_key = Some(key.into());
        self
    }

    /// The address to listen on; `127.0.0.1:0` (a free port) by default. An address
    /// other machines can reach also needs [`allow_remote`](RecordingServer::allow_remote).
    pub fn bind(mut self, addr: SocketAddr) -> RecordingServer {
        self.bind = addr;
        self
    }

    /// Lets [`bind`](RecordingServer::bind) take an address that is not loopback, so
    /// other machines (or containers) can use the server, and the upstream's key, too.
    /// Without it, [`start`](RecordingServer::start) refuses such an address; with it,
    /// it logs a warning. Set a [`token`](RecordingServer::token) for such setups.
    pub fn allow_remote(mut self) -> RecordingServer {
        self.allow_remote = true;
        self
    }

    /// A host name the server answers to besides `localhost`, `127.0.0.1`, `[::1]` and
    /// its bound address (in `Host`, and in a browser's `Origin`), such as a
    /// container's name in a shared network; `*` answers to any name. Every other name
    /// is refused (`403`), which keeps web pages that use DNS rebinding out.
    pub fn allow_host(mut self, name: impl Into<String>) -> RecordingServer {
        self.guard.hosts.push(name.into().to_ascii_lowercase());
        self
    }

    /// A token every request must carry (`401` otherwise), as `Authorization: Bearer
    /// TOKEN` (what an OpenAI SDK sends as its API key), `x-api-key` or
    /// [`TOKEN_HEADER`]. It is never forwarded, logged or written.
    pub fn token(mut self, token: impl Into<String>) -> RecordingServer {
        self.guard.token = Some(token.into());
        self
    }

    /// The largest request body accepted, in bytes; [`MAX_BODY`] by default. A larger
    /// one is answered `413 Payload Too Large`.
    pub fn max_body(mut self, bytes: usize) -> RecordingServer {
        self.max_body = bytes;
        self
    }

    /// The memory the server may keep replayed answers in, in bytes; [`CACHE_BYTES`]
    /// by default, `0` for none. A hit on a kept answer costs one `stat` of its file
    /// instead of a read and a parse; the `stat` also tells an edited or re-recorded
    /// file, which is read again, so what is answered never changes. A quarter as much
    /// again holds the keys of requests already replayed, by their bytes.
    pub fn cache_bytes(mut self, bytes: usize) -> RecordingServer {
        self.cache_bytes = bytes;
        self
    }

    /// How long a client may take to send a request's head, and then its body;
    /// [`READ_TIMEOUT`] by default. The head's time runs from the connection's opening
    /// or its last answer's end, so an idle keep-alive connection is closed after it
    /// too; it never runs while an answer is being made. A head that takes longer
    /// closes the connection; a body, `408 Request Timeout`.
    pub fn read_timeout(mut self, timeout: Duration) -> RecordingServer {
        self.read_timeout = timeout;
        self
    }

    /// How long [`RunningServer::stop`] waits for requests in flight, and then for
    /// recordings being finished; [`SHUTDOWN_GRACE`] by default.
    pub fn shutdown_grace(mut self, grace: Duration) -> RecordingServer {
        self.shutdown_grace = grace;
        self
    }

    /// What a replay miss tells a client to run to record the request, up to the
    /// upstream flag the server adds (`--openai-upstream URL`): `inference-recorder
    /// serve` says `inference-recorder serve --mode record-if-missing --dir DIR`, since
    /// its clients are other languages' test suites. By default a miss gives the
    /// `cargo test` line, for an in-process server in a Rust test.
    pub fn record_command(mut self, command: impl Into<String>) -> RecordingServer {
        self.record_command = Some(command.into());
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(mut self) -> Result<RunningServer, Error> {
        if self.openai.is_some() && !self.openai_base {
            return Err(Error::Config(
                "an OpenAI key was given without an upstream to send it to: name the server with RecordingServer::openai_upstream (serve --openai-upstream URL, or OPENAI_BASE_URL), https://api.openai.com/v1 for OpenAI itself".to_owned(),
            ));
        }
        if self.anthropic_key.is_some() && self.anthropic.is_none() {
            return Err(Error::Config(
                "an Anthropic key was given without an upstream to send it to: name the server with RecordingServer::anthropic_upstream (serve --anthropic-upstream URL, or ANTHROPIC_BASE_URL), https://api.anthropic.com for Anthropic itself".to_owned(),
            ));
        }
        let ip = self.bind.ip();
        if !ip.is_loopback() {
            if !self.allow_remote {
                return Err(Error::Config(format!(
                    "{ip} is not a loopback address: other machines could use the server, and the upstream's key; allow it with RecordingServer::allow_remote (serve --allow-remote), and set a token"
                )));
            }
            tracing::warn!(
                "listening on {ip}, which other machines can reach{}",
                if self.guard.token.is_some() {
                    ""
                } else {
                    ", without a token: anyone who reaches it can record with the upstream's key"
                }
            );
        }
        if !ip.is_unspecified() && !ip.is_loopback() {
            let bound = match ip {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            };
            self.guard.hosts.push(bound);
        }
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .map_err(|err| Error::Config(format!("cannot listen on {}: {err}", self.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|err| Error::Config(format!("cannot read the bound address: {err}")))?;
        // Every registered provider gets an engine; those without an upstream answer a
        // recording mode's miss with how to give them one.
        let mut upstreams: Vec<(&str, Arc<dyn InferenceClient>)> = Vec::new();
        if let Some(config) = self.openai {
            upstreams.push((
                provider_openai::PROVIDER,
                Arc::new(OpenAiClient::new(config)),
            ));
        }
        if let Some(host) = self.ollama {
            upstreams.push((
                provider_ollama::PROVIDER,
                Arc::new(OllamaClient::new(&host)),
            ));
        }
        if let Some(base_url) = self.anthropic {
            let key = self
                .anthropic_key
                .or_else(|| env_value(provider_anthropic::API_KEY_ENV))
                .unwrap_or_default();
            upstreams.push((
                provider_anthropic::PROVIDER,
                Arc::new(AnthropicClient::new(base_url, key.trim())),
            ));
        }
        // One cache for every provider's engine: it is by file.
        let recorder = self.recorder.clone().cache_answers(self.cache_bytes);
        let providers = registry::PROVIDERS
            .all()
            .iter()
            .map(|&provider| {
                let upstream = upstreams
                    .iter()
                    .find(|(name, _)| *name == provider.name())
                    .map(|(_, client)| client.clone())
                    .unwrap_or_else(|| Arc::new(routes::NoUpstream::of(provider)));
                (provider, recorder.with_inner(upstream))
            })
            .collect();
        let (in_flight, calls_done) = mpsc::channel::<()>(1);
        let engines = routes::Engines {
            providers,
            record_command: self.record_command,
            guard: self.guard,
            max_body: self.max_body,
            body_timeout: self.read_timeout,
            in_flight,
            known: Arc::new(known::KnownRequests::new(self.cache_bytes / 4)),
        };
        let app = routes::router(engines);
        let (stop, stopped) = oneshot::channel::<()>();
        let deadlines = connections::Deadlines {
            header: self.read_timeout,
            grace: self.shutdown_grace,
        };
        let task = tokio::spawn(connections::serve(listener, app, deadlines, stopped));
        tracing::info!(%addr, mode = %self.recorder.current_mode(), dir = %self.recorder.recordings_dir().display(), "recording server listening");
        Ok(RunningServer {
            addr,
            recorder: self.recorder,
            grace: self.shutdown_grace,
            stop: Some(stop),
            task: Some(task),
            calls_done,
        })
    }
}

/// The value of `name` when it is set and not blank.
fn env_value(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A running recording server. Dropping it stops it; [`RunningServer::stop`] also
/// waits, within a bound, for in-flight requests and for streams still being recorded.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    recorder: Recording<()>,
    grace: Duration,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Closed once every engine call the server started has ended.
    calls_done: mpsc::Receiver<()>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: Ollama clients' base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/v1`: OpenAI clients' base URL.
    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:<port>/anthropic`: Anthropic clients' base URL (what
    /// `anthropic.Anthropic(base_url=...)` and `ANTHROPIC_BASE_URL` take).
    pub fn anthropic_url(&self) -> String {
        format!("http://{}{}", self.addr, provider_anthropic::MOUNT)
    }

    /// `http://127.0.0.1:<port>`: what `ollama_rs::Ollama::from_url` and
    /// `OLLAMA_HOST` take.
    pub fn ollama_url(&self) -> String {
        self.url()
    }

    /// The recorder the server records with.
    pub fn recorder(&self) -> &Recording<()> {
        &self.recorder
    }

    /// Waits until every stream a client dropped early has been read and recorded
    /// (see [`Recording::finish_recording`]).
    pub async fn finish_recording(&self) {
        self.recorder.finish_recording().await;
    }

    /// Stops accepting connections, closes idle ones, and waits for requests in flight
    /// and for streams still being recorded: each of the two waits lasts at most the
    /// [`shutdown_grace`](RecordingServer::shutdown_grace), so `stop` returns within
    /// twice that, whatever clients and upstreams do. A connection still open then is
    /// closed; a call or stream still running is left unrecorded, and logged.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .map_err(|err| Error::Transport(format!("the server task failed: {err}")))?;
        }
        let recorded = tokio::time::timeout(self.grace, async {
            // The engines hold the only senders: `None` once every call has ended.
            let _ = self.calls_done.recv().await;
            self.recorder.finish_recording().await;
        })
        .await;
        if recorded.is_err() {
            tracing::warn!(
                "calls or streams still being recorded after {:?} of shutdown were left unrecorded",
                self.grace
            );
        }
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
