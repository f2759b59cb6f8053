//! `inference-recorder serve`: the recording server, for any client and language.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use recording_core::{Mode, Recording};
use recording_server::RecordingServer;

/// The arguments of `serve`.
#[derive(clap::Args)]
pub(crate) struct Serve {
    /// replay, record-if-missing, record, live or verify [default: TEST_INFERENCE_MODE,
    /// else replay]
    #[arg(long)]
    mode: Option<String>,
    /// The recordings directory (the one holding responses/) [default:
    /// TEST_RECORDING_DIR, else recordings/ or tests/recordings/ under the current
    /// directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The OpenAI-compatible server to record from, with its /v1
    /// (http://127.0.0.1:8080/v1); its key comes from OPENAI_API_KEY [default:
    /// OPENAI_BASE_URL]
    #[arg(long, value_name = "URL")]
    openai_upstream: Option<String>,
    /// The Ollama to record from (http://127.0.0.1:11434) [default: OLLAMA_HOST]
    #[arg(long, value_name = "HOST")]
    ollama_upstream: Option<String>,
    /// The Anthropic Messages server to record from, its root (https://api.anthropic.com,
    /// http://127.0.0.1:8080 for llama-server); its key comes from ANTHROPIC_API_KEY
    /// [default: ANTHROPIC_BASE_URL]
    #[arg(long, value_name = "URL")]
    anthropic_upstream: Option<String>,
    /// The address to listen on; one that is not loopback also needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Let --host take an address other machines can reach (they can then record with
    /// the upstream's key: set a token).
    #[arg(long)]
    allow_remote: bool,
    /// A host name to answer to besides localhost, 127.0.0.1, [::1] and --host (a
    /// container's name); `*` for any. Repeatable.
    #[arg(long, value_name = "NAME")]
    allow_host: Vec<String>,
    /// A token every request must carry, as Authorization: Bearer TOKEN (an OpenAI
    /// SDK's api_key), x-api-key or X-Recording-Token [default:
    /// INFERENCE_RECORDER_TOKEN, which other users cannot see in the process list]
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// API error statuses to record although the default policy does not (429,503).
    #[arg(long, value_delimiter = ',', value_name = "STATUS")]
    record_errors: Vec<u16>,
    /// Count the client suite this server answers as one whole test run for
    /// `inference-recorder unused` (run `unused --reset` before the suite; leave this
    /// off for a filtered run such as `pytest -k chat`).
    #[arg(long)]
    track: bool,
    #[command(flatten)]
    keys: crate::key_flags::KeyFlags,
    /// Inject faults into answers, for testing a client's failure handling: a plan
    /// such as 'status=429;call=1' or 'cut=2' (as TEST_INFERENCE_FAULTS; a request's
    /// X-Recording-Fault header overrides it for that request).
    #[arg(long, value_name = "PLAN")]
    fault: Option<String>,
}

/// Serves until SIGINT or SIGTERM.
pub(crate) async fn serve(args: Serve) -> Result<(), String> {
    let mut recorder = Recording::from_env(()).map_err(|err| err.to_string())?;
    if let Some(mode) = args.mode {
        recorder = recorder.mode(mode.parse::<Mode>().map_err(|err| err.to_string())?);
    }
    let dir = crate::recordings_dir(args.dir)?;
    if args.track {
        recording_core::internals::mark_run(&dir, "inference-recorder serve --track");
    }
    let record_command = format!(
        "inference-recorder serve --mode record-if-missing --dir {}{}",
        dir.display(),
        args.keys.as_args()
    );
    let settings = args.keys.apply(recorder.current_key_settings().clone())?;
    recorder = recorder.key_settings(settings);
    if let Some(plan) = &args.fault {
        let plan = plan
            .parse::<recording_core::fault::FaultPlan>()
            .map_err(|err| format!("--fault: {err}"))?;
        recorder = recorder.faults(plan);
    }
    let recorder = recorder.dir(dir).record_errors(args.record_errors);
    // Upstreams from OPENAI_BASE_URL, OLLAMA_HOST and ANTHROPIC_BASE_URL, as the SDKs
    // read them; the flags win.
    let mut server = RecordingServer::from_env()
        .map_err(|err| err.to_string())?
        .recorder(recorder)
        .record_command(record_command)
        .bind(SocketAddr::new(args.host, args.port));
    if let Some(url) = args.openai_upstream {
        server = server.openai_upstream(url);
    }
    if let Some(host) = args.ollama_upstream {
        server = server.ollama_upstream(host);
    }
    if let Some(url) = args.anthropic_upstream {
        server = server.anthropic_upstream(url);
    }
    if args.allow_remote {
        server = server.allow_remote();
    }
    for name in args.allow_host {
        server = server.allow_host(name);
    }
    if let Some(token) = args.token {
        server = server.token(token);
    }
    let running = server.start().await.map_err(|err| err.to_string())?;
    // Listened for before the first line: a client that reads it and signals at once
    // must find the handler in place.
    let mut signals = Signals::new();
    {
        let mut stdout = std::io::stdout().lock();
        let line = format!(
            "listening on {} openai={} ollama={} anthropic={} mode={} dir={}",
            running.url(),
            running.openai_url(),
            running.ollama_url(),
            running.anthropic_url(),
            running.recorder().current_mode(),
            running.recorder().recordings_dir().display()
        );
        writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .map_err(|err| err.to_string())?;
    }
    signals.next().await;
    // Shutdown is bounded (RunningServer::stop), but a user who signals again does
    // not want to wait for it.
    tokio::spawn(async move {
        signals.next().await;
        eprintln!("inference-recorder: a second signal: exiting without waiting");
        std::process::exit(130);
    });
    eprintln!(
        "inference-recorder: stopping: waiting up to {:?} for requests in flight and recordings being finished (signal again to exit at once)",
        recording_server::SHUTDOWN_GRACE * 2
    );
    running.stop().await.map_err(|err| err.to_string())
}

/// SIGINT and SIGTERM, listened for from the moment this is made.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = signal(SignalKind::interrupt())
                .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Resolves on the next SIGINT or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.streams {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
