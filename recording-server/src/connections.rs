//! The accept loop: one HTTP/1 connection per client, each with a deadline for its
//! request head, and a shutdown that ends within a bound whatever the clients do.
//!
//! axum's own `serve` has neither: a client that sends half a request head keeps its
//! connection (and the server's shutdown) forever.

use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// How long each client may take, and how long shutdown waits for them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// For a request's head (line and headers), from its first byte.
    pub(crate) header: Duration,
    /// For the connections still answering once shutdown starts.
    pub(crate) grace: Duration,
}

/// Serves `app` on `listener` until `stop` fires (or its sender is dropped), then
/// closes idle connections at once, lets requests in flight finish within
/// `deadlines.grace`, and drops the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    deadlines: Deadlines,
    stop: oneshot::Receiver<()>,
) {
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut stop = pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            // Finished connections are reaped as they end, so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let tcp = match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(err) => {
                        // Out of file descriptors, say: wait for some to close, rather
                        // than spin on the error.
                        tracing::warn!("cannot accept a connection: {err}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                // Answers are written as they come (a stream's chunks one by one), so
                // Nagle's algorithm would only hold small writes back.
                let _ = tcp.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let mut closed = closed.clone();
                connections.spawn(async move {
                    let mut builder = http1::Builder::new();
                    builder.timer(TokioTimer::new()).header_read_timeout(deadlines.header);
                    let connection = builder.serve_connection(TokioIo::new(tcp), service);
                    let mut connection = pin!(connection);
                    let closing = async {
                        let _ = closed.wait_for(|closing| *closing).await;
                    };
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        () = closing => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(deadlines.grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} connection(s) still open after {:?} of shutdown; closed",
            connections.len(),
            deadlines.grace
        );
    }
    connections.shutdown().await;
}
