//! Verify mode: the live answer, normalized, compared in shape with the recording.

use futures::StreamExt;
use serde_json::Value;

use super::Recording;
use crate::api::client::{ApiRequest, ApiResponse, InferenceClient, Values};
use crate::api::error::Error;
use crate::drift::{Answer, drift};
use crate::normalizer::NormalizeContext;
use crate::redact::Secrets;
use crate::store::format::RecordedResponse;

impl<C: InferenceClient> Recording<C> {
    /// Verify mode: the live answer, normalized, compared in shape with the recording;
    /// nothing is written.
    pub(super) async fn verify(
        &self,
        request: ApiRequest,
        hash: &str,
        secrets: &Secrets,
    ) -> Result<ApiResponse, Error> {
        let Some((path, file)) = self.store.load(hash)? else {
            return Err(Error::Config(format!(
                "verify mode: nothing is recorded for {} {} (key {hash}) to compare the live answer with; record it first",
                request.method, request.endpoint
            )));
        };
        let normalizer = self.inner.normalizer();
        let endpoint = request.endpoint.clone();
        let ctx = NormalizeContext {
            hash,
            endpoint: &endpoint,
        };
        let clean = |value: &mut Value| {
            secrets.scrub_value(value);
            normalizer.normalize(&ctx, value);
        };
        let mut tail = None;
        let live = match self
            .inner
            .send(request)
            .await
            .map_err(|e| secrets.scrub_error(e))
        {
            Ok(response) => match response.body.into_values(response.origin.as_deref())? {
                Values::Json(mut body) => {
                    clean(&mut body);
                    Ok(body)
                }
                Values::Stream(mut stream) => {
                    let mut chunks = Vec::new();
                    while let Some(chunk) = stream.next().await {
                        match chunk.map_err(|e| secrets.scrub_error(e)) {
                            Ok(mut chunk) => {
                                clean(&mut chunk);
                                chunks.push(chunk);
                            }
                            Err(Error::Api { status, body, .. }) => {
                                tail = Some(Error::api(status, body));
                                break;
                            }
                            Err(other) => return Err(other),
                        }
                    }
                    Err(chunks)
                }
            },
            Err(Error::Api { status, body, .. }) => {
                let differences = drift(
                    &answer_of(&file.response),
                    &Answer::Body(status, &body),
                    &self.harmless_drift,
                );
                return match differences.is_empty() {
                    true => Err(Error::api(status, body)),
                    false => Err(Error::Drift {
                        path,
                        differences: differences.iter().map(ToString::to_string).collect(),
                    }),
                };
            }
            Err(other) => return Err(other),
        };
        let live_answer = match &live {
            Ok(body) => Answer::Body(200, body),
            Err(chunks) => Answer::Stream(chunks),
        };
        let differences = drift(
            &answer_of(&file.response),
            &live_answer,
            &self.harmless_drift,
        );
        if !differences.is_empty() {
            return Err(Error::Drift {
                path,
                differences: differences.iter().map(ToString::to_string).collect(),
            });
        }
        tracing::debug!(mode = %self.mode, hash, path = %path.display(), outcome = "verified", "no drift");
        Ok(match live {
            Ok(body) => ApiResponse::json(body),
            Err(chunks) => {
                let items = chunks.into_iter().map(Ok).chain(tail.map(Err));
                ApiResponse::stream(Box::pin(futures::stream::iter(items)))
            }
        })
    }
}

/// A recorded response as the drift check sees it.
fn answer_of(response: &RecordedResponse) -> Answer<'_> {
    match (&response.body, response.is_streaming) {
        (Value::Array(chunks), true) => Answer::Stream(chunks),
        (body, _) => Answer::Body(response.status, body),
    }
}
