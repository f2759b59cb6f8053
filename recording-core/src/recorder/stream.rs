//! The stream tee: a live stream passed through to the caller while it is recorded,
//! and read on to its end (within limits) when the caller drops it early.

use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, ready};

use futures::{Stream, StreamExt};
use serde_json::Value;

use super::record::PendingWrite;
use super::{DRAIN_CHUNKS, DRAIN_TIME, Drains};
use crate::api::client::ChunkStream;
use crate::api::error::Error;
use crate::store::format::RecordedError;

/// Passes a live stream through to the caller, normalizing each chunk, and writes the
/// recording when the stream ends: at its end, or at an API error (recorded after the
/// chunks before it, as the error policy allows). A transport error leaves the
/// recordings untouched. A caller that drops the stream early does not: the rest is
/// read (see [`drain`]) and the whole stream recorded.
pub(super) struct RecordingStream {
    pub(super) inner: ChunkStream,
    pub(super) chunks: Vec<Value>,
    /// Each chunk's time since the request, when timed.
    pub(super) times: Vec<u64>,
    /// `None` once the stream has finished (written, failed or been abandoned).
    pub(super) pending: Option<PendingWrite>,
    /// Where a stream dropped early registers the task that reads its rest; `None`
    /// for that task's own stream.
    pub(super) drains: Option<Drains>,
}

impl Stream for RecordingStream {
    type Item = Result<Value, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(pending) = &this.pending else {
            return Poll::Ready(None);
        };
        let item = ready!(this.inner.poll_next_unpin(cx));
        match item.map(|item| item.map_err(|err| pending.secrets.scrub_error(err))) {
            Some(Ok(mut chunk)) => {
                pending.normalize(&mut chunk);
                if let Some(started) = pending.started {
                    let millis = started.elapsed().as_millis();
                    this.times.push(u64::try_from(millis).unwrap_or(u64::MAX));
                }
                this.chunks.push(chunk.clone());
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(Error::Api { status, body, .. })) => {
                let Some(pending) = this.pending.take() else {
                    return Poll::Ready(None);
                };
                if let Some(why) = pending.refuses_error(status) {
                    tracing::debug!(mode = %pending.mode, hash = pending.hash, status, outcome = "not recorded", why, "stream ended in an API error");
                    return Poll::Ready(Some(Err(Error::Api {
                        status,
                        body,
                        not_recorded: Some(why),
                        headers: Box::default(),
                    })));
                }
                let error = RecordedError {
                    status,
                    body,
                    headers: Default::default(),
                };
                let chunks = Value::Array(std::mem::take(&mut this.chunks));
                Poll::Ready(Some(Err(
                    match pending.write(
                        true,
                        chunks,
                        Some(error.clone()),
                        take_times(&mut this.times),
                    ) {
                        Err(storage) => storage,
                        Ok(_) => Error::api(error.status, error.body),
                    },
                )))
            }
            Some(Err(other)) => {
                if let Some(pending) = this.pending.take() {
                    tracing::debug!(mode = %pending.mode, hash = pending.hash, outcome = "not recorded", error = %other, "stream failed");
                }
                Poll::Ready(Some(Err(other)))
            }
            None => {
                let chunks = std::mem::take(&mut this.chunks);
                match this.pending.take().map(|p| {
                    p.write(
                        true,
                        Value::Array(chunks),
                        None,
                        take_times(&mut this.times),
                    )
                }) {
                    Some(Err(storage)) => Poll::Ready(Some(Err(storage))),
                    _ => Poll::Ready(None),
                }
            }
        }
    }
}

/// The chunk times gathered, if any were (timing on).
fn take_times(times: &mut Vec<u64>) -> Option<Vec<u64>> {
    (!times.is_empty()).then(|| std::mem::take(times))
}

impl Drop for RecordingStream {
    fn drop(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let Some(drains) = self.drains.take() else {
            tracing::warn!(
                hash = pending.hash,
                endpoint = pending.request.endpoint,
                "a dropped stream was not recorded: its rest did not come within {DRAIN_TIME:?}, or the runtime stopped first"
            );
            return;
        };
        let rest = RecordingStream {
            inner: std::mem::replace(&mut self.inner, Box::pin(futures::stream::empty())),
            chunks: std::mem::take(&mut self.chunks),
            times: std::mem::take(&mut self.times),
            pending: Some(pending),
            drains: None,
        };
        drain(rest, &drains);
    }
}

/// Reads the rest of a stream that the caller dropped before its end, so that it is
/// recorded whole: many apps stop reading at `finish_reason`, before the usage chunk
/// and the end marker. What has already arrived is read at once; the rest, if any, by
/// a task on the caller's runtime ([`Recording::finish_recording`] waits for it),
/// for at most [`DRAIN_TIME`] and [`DRAIN_CHUNKS`] chunks.
fn drain(mut rest: RecordingStream, drains: &Drains) {
    // Reading a transport's stream needs its runtime; outside one, say so and stop.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        if let Some(pending) = rest.pending.take() {
            tracing::warn!(
                hash = pending.hash,
                "a stream dropped outside a tokio runtime was not recorded"
            );
        }
        return;
    };
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    loop {
        match rest.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(Ok(_))) => {}
            Poll::Ready(Some(Err(err))) => return drained_with(&err),
            Poll::Ready(None) => return,
            Poll::Pending => break,
        }
    }
    let task = runtime.spawn(async move {
        let read_rest = async {
            for _ in 0..DRAIN_CHUNKS {
                match rest.next().await {
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return drained_with(&err),
                    None => return,
                }
            }
            if let Some(pending) = rest.pending.take() {
                tracing::warn!(
                    hash = pending.hash,
                    "a dropped stream went on past {DRAIN_CHUNKS} chunks: not recorded"
                );
            }
        };
        // On time-out the stream is dropped here, and its drop says it was not recorded.
        let _ = tokio::time::timeout(DRAIN_TIME, read_rest).await;
    });
    drains
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(task);
}

fn drained_with(err: &Error) {
    match err {
        // Recorded (or refused by the policy, which it says), like any stream's end.
        Error::Api { .. } => {
            tracing::debug!(error = %err, "a dropped stream ended in an API error")
        }
        _ => tracing::warn!(error = %err, "a dropped stream failed before its end: not recorded"),
    }
}
