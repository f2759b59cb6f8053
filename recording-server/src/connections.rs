//! The accept loop: one HTTP/1 connection per client, each with a deadline for its
//! request head, and a shutdown that ends within a bound whatever the clients do.
//!
//! axum's own `serve` has neither: a client that sends half a request head keeps its
//! connection (and the server's shutdown) forever.
//!
//! The head deadline is kept here rather than by hyper's `header_read_timeout`, which
//! sets a timer for every request (a boxed sleep put in tokio's timer wheel and taken
//! out again): about 3 % of a replayed answer's cost at 64 connections. Here each
//! connection notes when it went idle, a clock read per answer, and one timer per
//! connection wakes once a deadline to look.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long each client may take, and how long shutdown waits for them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// For a request's head (line and headers), from the connection's opening or its
    /// last answer's end.
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
                let activity = Arc::new(Activity::new());
                let service = Watched {
                    inner: TowerToHyperService::new(app.clone()),
                    activity: activity.clone(),
                };
                let mut closed = closed.clone();
                connections.spawn(async move {
                    let connection =
                        http1::Builder::new().serve_connection(TokioIo::new(tcp), service);
                    let mut connection = pin!(connection);
                    let closing = async {
                        let _ = closed.wait_for(|closing| *closing).await;
                    };
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        // Dropping the connection closes it.
                        () = activity.head_overdue(deadlines.header) => {}
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

/// When a connection last went idle: opened, or its last answer written. Requests on
/// one HTTP/1 connection are answered one at a time, so one value says it all.
struct Activity {
    opened: Instant,
    /// Nanoseconds from `opened` to the moment it went idle; [`ANSWERING`] while a
    /// request's head has been read and its answer is not yet all written.
    idle_since: AtomicU64,
}

/// `Activity::idle_since` while an answer is in the making: the head deadline does not
/// run (a body has its own, and an upstream may take its time).
const ANSWERING: u64 = u64::MAX;

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            idle_since: AtomicU64::new(0),
        }
    }

    /// Ends once the connection has been idle for `deadline` without a whole request
    /// head: a client that sends nothing, or half a head, or keeps an idle connection.
    async fn head_overdue(&self, deadline: Duration) {
        let mut at = self.opened + deadline;
        loop {
            tokio::time::sleep_until(at).await;
            let now = Instant::now();
            at = match self.idle_since.load(Ordering::Acquire) {
                ANSWERING => now + deadline,
                since => {
                    let due = self.opened + Duration::from_nanos(since) + deadline;
                    if due <= now {
                        return;
                    }
                    due
                }
            };
        }
    }
}

/// Marks its connection busy from a request's head until its answer is all written
/// (hyper drops the answer's body then), or the request is dropped.
struct Answering(Arc<Activity>);

impl Answering {
    fn start(activity: &Arc<Activity>) -> Answering {
        activity.idle_since.store(ANSWERING, Ordering::Release);
        Answering(activity.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let since = self.0.opened.elapsed().as_nanos();
        // Centuries of one connection would overflow; it is then idle from the start.
        let since = u64::try_from(since).unwrap_or(0).min(ANSWERING - 1);
        self.0.idle_since.store(since, Ordering::Release);
    }
}

/// The router, as a hyper service that tells its connection's [`Activity`] when a
/// request starts and when its answer ends.
struct Watched {
    inner: TowerToHyperService<Router>,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Watched {
    type Response = Response<Answer>;
    type Error = std::convert::Infallible;
    type Future = Watching;

    fn call(&self, request: Request<Incoming>) -> Watching {
        Watching {
            answering: Some(Answering::start(&self.activity)),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The router's answer to come, with the mark that its connection is busy.
    struct Watching {
        #[pin]
        inner: TowerToHyperServiceFuture<Router, Request<Incoming>>,
        answering: Option<Answering>,
    }
}

impl Future for Watching {
    type Output = Result<Response<Answer>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let answering = this.answering.take();
        Poll::Ready(Ok(response.map(|body| Answer {
            body,
            _answering: answering,
        })))
    }
}

/// An answer's body, holding its connection busy until hyper has written it and
/// dropped it. Everything else is the router's body's own, its size included (a
/// whole answer keeps its `Content-Length`).
struct Answer {
    body: Body,
    _answering: Option<Answering>,
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
