//! Record modes: the request sent as it is, the answer normalized and written once it
//! is complete (a stream through the tee in `stream`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::stream::RecordingStream;
use super::{Recording, unrecorded_by_default};
use crate::api::client::{ApiRequest, ApiResponse, InferenceClient, Values};
use crate::api::error::Error;
use crate::mode::Mode;
use crate::normalizer::{NormalizeContext, Normalizer};
use crate::redact::{Secrets, strip_credentials};
use crate::store::Store;
use crate::store::format::{
    RecordedError, RecordedRequest, RecordedResponse, RecordingFile, Replayed,
};

impl<C: InferenceClient> Recording<C> {
    /// Sends `request` as it is and records it as `identity` (its secrets redacted).
    pub(super) async fn record(
        &self,
        request: ApiRequest,
        identity: Option<ApiRequest>,
        hash: String,
        secrets: Secrets,
    ) -> Result<ApiResponse, Error> {
        let normalizer = self.inner.normalizer();
        let shown = identity.as_ref().unwrap_or(&request);
        let recorded = RecordedRequest {
            provider: Some(self.inner.provider().to_owned()),
            method: shown.method,
            url: request_url(self.inner.base_url().as_deref(), &shown.endpoint),
            endpoint: shown.endpoint.clone(),
            model: shown.model().to_owned(),
            scope: self.scope.clone(),
            body: identity.map_or_else(|| request.body.clone(), |identity| identity.body),
        };
        let pending = PendingWrite {
            store: self.store.clone(),
            hash,
            request: recorded,
            normalizer,
            mode: self.mode,
            recorded_errors: self.recorded_errors.clone(),
            secrets,
            started: self.record_timing.then(std::time::Instant::now),
        };
        match self
            .inner
            .send(request)
            .await
            .map_err(|err| pending.secrets.scrub_error(err))
        {
            // A recorded body (from a recorder nested inside) is recorded as values.
            Ok(response) => match response.body.into_values(response.origin.as_deref())? {
                Values::Json(mut body) => {
                    pending.normalize(&mut body);
                    let (path, body) = pending.write(false, body, None, None)?;
                    Ok(ApiResponse::json(body).with_origin(path))
                }
                Values::Stream(stream) => {
                    let path = pending.store.path_for(&pending.hash);
                    let stream = RecordingStream {
                        inner: stream,
                        chunks: Vec::new(),
                        times: Vec::new(),
                        pending: Some(pending),
                        drains: Some(self.draining.clone()),
                    };
                    Ok(ApiResponse::stream(Box::pin(stream)).with_origin(path))
                }
            },
            Err(Error::Api {
                status,
                body,
                headers,
                ..
            }) => {
                if let Some(why) = pending.refuses_error(status) {
                    tracing::debug!(mode = %self.mode, hash = pending.hash, status, outcome = "not recorded", why, "API error");
                    return Err(Error::Api {
                        status,
                        body,
                        not_recorded: Some(why),
                        headers,
                    });
                }
                let (_, body) = pending.write_error(status, body, &headers)?;
                Err(Error::api(status, body).with_headers(headers.into_vec()))
            }
            Err(other) => {
                tracing::debug!(mode = %self.mode, hash = pending.hash, outcome = "not recorded", error = %other, "inner client failed");
                Err(other)
            }
        }
    }
}

/// `base` + `endpoint`, with any user-info and query string removed from `base`: the
/// URL is informational, and keys sometimes travel in either.
pub(super) fn request_url(base: Option<&str>, endpoint: &str) -> String {
    match base {
        Some(base) => format!(
            "{}{}",
            strip_credentials(base).trim_end_matches('/'),
            endpoint
        ),
        None => String::new(),
    }
}

/// Everything needed to write a recording once the response is complete.
pub(super) struct PendingWrite {
    pub(super) store: Store,
    pub(super) hash: String,
    pub(super) request: RecordedRequest,
    pub(super) normalizer: Arc<dyn Normalizer>,
    pub(super) mode: Mode,
    pub(super) recorded_errors: Arc<[u16]>,
    /// Replaced in every body before it is normalized, written or handed out.
    pub(super) secrets: Secrets,
    /// When the request was sent, for chunk times; `None` when not timed.
    pub(super) started: Option<std::time::Instant>,
}

impl PendingWrite {
    /// Why an API error with `status` must not be written, if it must not: the
    /// policy of [`Recording::record_errors`], and never over a successful recording.
    pub(super) fn refuses_error(&self, status: u16) -> Option<String> {
        if let Some(why) = unrecorded_by_default(status)
            && !self.recorded_errors.contains(&status)
        {
            return Some(format!(
                "{why}; `Recording::record_errors([{status}])` records it"
            ));
        }
        if self.mode == Mode::Record
            && let Ok(Some((_, file))) = self.store.load_response(&self.hash)
            && matches!(file.response, Replayed::Json(_) | Replayed::Stream { .. })
        {
            return Some("an error never replaces the successful recording of this request".into());
        }
        None
    }

    pub(super) fn normalize(&self, body: &mut Value) {
        self.secrets.scrub_value(body);
        let ctx = NormalizeContext {
            hash: &self.hash,
            endpoint: &self.request.endpoint,
        };
        self.normalizer.normalize(&ctx, body);
    }

    /// Writes a success; gives back the path and the body.
    pub(super) fn write(
        self,
        is_streaming: bool,
        body: Value,
        stream_error: Option<RecordedError>,
        chunk_ms: Option<Vec<u64>>,
    ) -> Result<(PathBuf, Value), Error> {
        self.save(RecordedResponse {
            status: 200,
            is_streaming,
            is_error: false,
            headers: BTreeMap::new(),
            body,
            stream_error,
            chunk_ms,
        })
    }

    pub(super) fn write_error(
        self,
        status: u16,
        mut body: Value,
        headers: &[(String, String)],
    ) -> Result<(PathBuf, Value), Error> {
        self.secrets.scrub_value(&mut body);
        let headers = headers
            .iter()
            .map(|(name, value)| (name.clone(), self.secrets.scrub_str(value).into_owned()))
            .collect();
        self.save(RecordedResponse {
            status,
            is_streaming: false,
            is_error: true,
            headers,
            body,
            stream_error: None,
            chunk_ms: None,
        })
    }

    pub(super) fn save(self, response: RecordedResponse) -> Result<(PathBuf, Value), Error> {
        let file = RecordingFile {
            request: self.request,
            response,
        };
        match self.store.save(&self.hash, &file) {
            Ok(path) => {
                crate::store::used::note(self.store.dir(), &self.hash);
                tracing::debug!(mode = %self.mode, hash = self.hash, path = %path.display(), outcome = "recorded", "wrote recording");
                Ok((path, file.response.body))
            }
            Err(Error::Storage {
                action,
                path,
                source,
                ..
            }) => Err(Error::Storage {
                action,
                path,
                source,
                fetched: Some(Box::new(file.response.body)),
            }),
            Err(other) => Err(other),
        }
    }
}
