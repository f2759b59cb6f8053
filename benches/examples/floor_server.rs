//! The floor of the recording server's figures: a bare axum server (the project's own
//! axum, hyper and tokio, `TCP_NODELAY`, two worker threads as `serve` has on this
//! machine) that answers every request with the same bytes from memory, read once from
//! a file. `scripts/server-floor.sh` captures those bytes from `inference-recorder
//! serve` itself, so the two answer alike, byte for byte, and only the recorder's work
//! differs.
//!
//! ```sh
//! cargo build --release -p benches --example floor_server
//! target/release/examples/floor_server 127.0.0.1:9000 ANSWER_FILE text/event-stream
//! ```

use axum::serve::ListenerExt;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, body, content_type] = args.as_slice() else {
        eprintln!("usage: floor_server ADDR BODY_FILE CONTENT_TYPE");
        std::process::exit(2);
    };
    let body = std::fs::read(body).unwrap_or_else(|err| {
        eprintln!("floor_server: cannot read {body}: {err}");
        std::process::exit(2)
    });
    let body = axum::body::Bytes::from(body);
    let content_type = axum::http::HeaderValue::from_str(content_type).unwrap_or_else(|err| {
        eprintln!("floor_server: content type {content_type:?}: {err}");
        std::process::exit(2)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .unwrap_or_else(|err| panic!("bind {addr}: {err}"))
            .tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
        // The request's body is read whole, as any front must before it answers.
        let app = axum::Router::new().fallback(move |request: axum::body::Bytes| {
            let (body, content_type) = (body.clone(), content_type.clone());
            async move {
                drop(request);
                ([(axum::http::header::CONTENT_TYPE, content_type)], body)
            }
        });
        axum::serve(listener, app)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
    });
}
