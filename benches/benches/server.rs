//! The HTTP fronts: a chat completion replayed by an unchanged async-openai client
//! through `RecordingHttpService` (no socket) and through the recording server over
//! loopback, beside the typed in-process replay of the same recording; and the
//! server's throughput with 64 clients at once. Numbers in benches/README.md.

use std::path::Path;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use benches::{chat_body, chat_request, replayer, store_recording};
use divan::Bencher;
use divan::counter::ItemsCount;
use provider_openai::types::chat::CreateChatCompletionRequest;
use provider_openai::{OpenAiApi, RecordingHttpService};
use recording_core::{ApiRequest, Mode, Recording};
use recording_server::RecordingServer;

fn main() {
    divan::main();
}

/// The 2 KB chat request of the replay benches, recorded in `dir`.
fn recorded_chat(dir: &Path) -> CreateChatCompletionRequest {
    let typed: CreateChatCompletionRequest =
        serde_json::from_value(chat_request(2_000).body).unwrap_or_else(|err| panic!("{err}"));
    let request = ApiRequest::post(
        provider_openai::CHAT_COMPLETIONS,
        ApiRequest::body_of(&typed).unwrap_or_else(|err| panic!("{err}")),
    );
    store_recording(&replayer(dir), dir, &request, false, chat_body());
    typed
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("{err}"))
}

fn client(base: &str) -> Client<OpenAIConfig> {
    // This workspace's async-openai has no TLS provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key("unused"),
    )
}

/// The floor: the typed API replaying in process.
#[divan::bench]
fn typed_in_process(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path());
    let client = replayer(dir.path());
    let rt = runtime(1);
    bencher.bench_local(|| {
        rt.block_on(client.chat(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
}

/// async-openai's own client with the recording HTTP service: no socket.
#[divan::bench]
fn async_openai_http_service(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path());
    let service = RecordingHttpService::new(Recording::new(()).mode(Mode::Replay).dir(dir.path()));
    let client = client("http://127.0.0.1:9/v1").with_http_service(service);
    let rt = runtime(1);
    bencher.bench_local(|| {
        rt.block_on(client.chat().create(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
}

/// A recording server replaying `dir` on loopback, run by `rt`.
fn replay_server(rt: &tokio::runtime::Runtime, dir: &Path) -> recording_server::RunningServer {
    rt.block_on(RecordingServer::new().mode(Mode::Replay).dir(dir).start())
        .unwrap_or_else(|err| panic!("{err}"))
}

/// async-openai's own client through the recording server on loopback.
#[divan::bench]
fn async_openai_via_server(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path());
    let rt = runtime(2);
    let server = replay_server(&rt, dir.path());
    let client = client(&server.openai_url());
    bencher.bench_local(|| {
        rt.block_on(client.chat().create(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
    drop(server);
}

/// The floor of the loopback figure: async-openai's client against a bare axum
/// server that answers every request with the same body, no recorder.
#[divan::bench]
fn async_openai_via_bare_axum(bencher: Bencher) {
    use axum::serve::ListenerExt;
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path());
    let body = chat_body().to_string();
    let rt = runtime(2);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|err| panic!("{err}"));
    let addr = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([("content-type", "application/json")], body) }
    });
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = rt.spawn(async move { axum::serve(listener, app).await });
    let client = client(&format!("http://{addr}/v1"));
    bencher.bench_local(|| {
        rt.block_on(client.chat().create(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
    task.abort();
}

/// 64 clients at once against one server, 2 worker threads: replays per second.
#[divan::bench(sample_count = 30)]
fn server_64_concurrent_clients(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path());
    let rt = runtime(2);
    let server = replay_server(&rt, dir.path());
    let clients: Vec<_> = (0..64).map(|_| client(&server.openai_url())).collect();
    bencher.counter(ItemsCount::new(64usize)).bench_local(|| {
        rt.block_on(async {
            let calls = clients.iter().map(|client| {
                let request = request.clone();
                async move { client.chat().create(request).await }
            });
            for answer in futures::future::join_all(calls).await {
                answer.unwrap_or_else(|err| panic!("{err}"));
            }
        })
    });
    drop(server);
}

/// One client's hit while eight others keep missing beside 2 000 recordings of about
/// 100 KB of the same endpoint and model (each miss searches them, up to its 100 ms
/// cap), 2 worker threads: what a miss costs everyone else.
#[divan::bench(sample_count = 30)]
fn hit_while_eight_clients_miss(bencher: Bencher) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let request = recorded_chat(dir.path());
    let filler = "Recordings keep tests deterministic. ".repeat(2_700);
    let replayer = replayer(dir.path());
    for n in 0..2_000 {
        let neighbour = ApiRequest::post(
            provider_openai::CHAT_COMPLETIONS,
            serde_json::json!({"model": "tiny", "messages": [{"role": "user", "content": format!("{n} {filler}")}]}),
        );
        store_recording(&replayer, dir.path(), &neighbour, false, chat_body());
    }
    let rt = runtime(2);
    let server = replay_server(&rt, dir.path());
    let missing = Arc::new(AtomicBool::new(true));
    let missers: Vec<_> = (0..8)
        .map(|n| {
            let (client, missing) = (client(&server.openai_url()), missing.clone());
            let mut miss = request.clone();
            miss.max_completion_tokens = Some(1_000 + n);
            rt.spawn(async move {
                while missing.load(Ordering::Relaxed) {
                    // A 404 with the miss report: the answer expected here.
                    let _ = client.chat().create(miss.clone()).await;
                }
            })
        })
        .collect();
    let client = client(&server.openai_url());
    bencher.bench_local(|| {
        rt.block_on(client.chat().create(request.clone()))
            .unwrap_or_else(|err| panic!("{err}"))
    });
    missing.store(false, Ordering::Relaxed);
    for misser in missers {
        let _ = rt.block_on(misser);
    }
    drop(server);
}
