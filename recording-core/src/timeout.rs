//! Time limits for transports: a server that stops answering becomes a clear
//! [`Error::Transport`], never a test that hangs and never a recording.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;

use crate::api::client::{ApiResponse, ResponseBody};
use crate::api::error::Error;

/// The environment variable that sets the time limit of the real transports, in
/// seconds of silence (`600`, `2.5`); `0` or `none` for no limit.
pub const TIMEOUT_ENV: &str = "TEST_INFERENCE_TIMEOUT";

/// The time limit when neither a client's builder nor [`TIMEOUT_ENV`] sets one: five
/// minutes of silence. A CPU model that is slow but working sends its first token, or
/// its next one, well within it; a server that accepted the connection and never
/// answers no longer hangs a test forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The limit a transport applies: `explicit` (from its builder) if set, else
/// [`TIMEOUT_ENV`], else [`DEFAULT_TIMEOUT`]. `None` is no limit.
///
/// An unreadable [`TIMEOUT_ENV`] is an [`Error::Config`] naming the value and what is
/// accepted.
pub fn configured(explicit: Option<Duration>) -> Result<Option<Duration>, Error> {
    if explicit.is_some() {
        return Ok(explicit);
    }
    match std::env::var(TIMEOUT_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(Some(DEFAULT_TIMEOUT)),
        Err(std::env::VarError::NotUnicode(_)) => Err(bad_timeout("(not UTF-8)")),
        Ok(text) => parse_seconds(&text),
    }
}

fn parse_seconds(text: &str) -> Result<Option<Duration>, Error> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Some(DEFAULT_TIMEOUT));
    }
    if trimmed.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match trimmed.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(seconds) => Duration::try_from_secs_f64(seconds)
            .map(Some)
            .map_err(|_| bad_timeout(text)),
        Err(_) => Err(bad_timeout(text)),
    }
}

fn bad_timeout(value: &str) -> Error {
    Error::Config(format!(
        "{TIMEOUT_ENV}={value:?} is not a time limit: give seconds of silence (such as 600 or 2.5), or 0 or none for no limit"
    ))
}

/// A transport's call as every HTTP client makes it: within the
/// [`configured`] time limit (`explicit` or the environment's), with `secrets` replaced
/// in the error it returns (the recorder scrubs a stream's later errors as it tees
/// them).
pub async fn guarded<F>(
    explicit: Option<Duration>,
    secrets: Vec<String>,
    call: F,
) -> Result<ApiResponse, Error>
where
    F: Future<Output = Result<ApiResponse, Error>>,
{
    let time_limit = configured(explicit)?;
    let secrets = crate::redact::Secrets::new(secrets);
    limit(time_limit, call)
        .await
        .map_err(|err| secrets.scrub_error(err))
}

/// Runs `call` under `limit`: the response (a single body, or a stream's start) must
/// arrive within `limit`, and then each chunk of a stream within `limit` of the one
/// before. With `None` there is no limit.
///
/// A stream is limited chunk by chunk rather than as a whole so that a long generation
/// that keeps streaming is never cut, while one that falls silent is. The error says
/// it timed out and after how long; HTTP libraries' own messages for a timed-out body
/// ("error decoding response body") do not. It needs a tokio runtime, as the HTTP
/// transports themselves do.
pub async fn limit<F>(limit: Option<Duration>, call: F) -> Result<ApiResponse, Error>
where
    F: Future<Output = Result<ApiResponse, Error>>,
{
    let Some(limit) = limit else {
        return call.await;
    };
    let mut response = tokio::time::timeout(limit, call)
        .await
        .map_err(|_| timed_out(limit, "the response"))??;
    if let ResponseBody::Stream(chunks) = response.body {
        let limited = futures::stream::unfold(Some(chunks), move |chunks| async move {
            let mut chunks = chunks?;
            match tokio::time::timeout(limit, chunks.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(chunks))),
                // An error ends the stream, as everywhere else.
                Ok(Some(Err(err))) => Some((Err(err), None)),
                Ok(None) => None,
                Err(_) => Some((Err(timed_out(limit, "the next chunk of the stream")), None)),
            }
        });
        response.body = ResponseBody::Stream(Box::pin(limited));
    }
    Ok(response)
}

fn timed_out(limit: Duration, what: &str) -> Error {
    Error::Transport(format!(
        "timed out: the server sent nothing for {limit:?} while {what} was due"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The chunks `stream` gives under a limit of 5 s.
    async fn limited(
        stream: crate::api::client::ChunkStream,
    ) -> Vec<Result<serde_json::Value, Error>> {
        let response = limit(Some(Duration::from_secs(5)), async {
            Ok(ApiResponse::stream(stream))
        })
        .await
        .expect("starts");
        response.into_stream().expect("stream").collect().await
    }

    #[test]
    fn limits_are_read_as_seconds_and_bad_ones_are_named() {
        assert_eq!(
            parse_seconds("600").ok(),
            Some(Some(Duration::from_secs(600)))
        );
        assert_eq!(
            parse_seconds(" 2.5 ").ok(),
            Some(Some(Duration::from_millis(2500)))
        );
        assert_eq!(parse_seconds("0").ok(), Some(None));
        assert_eq!(parse_seconds("none").ok(), Some(None));
        assert_eq!(parse_seconds("").ok(), Some(Some(DEFAULT_TIMEOUT)));
        for bad in ["ten", "-5", "1e400"] {
            let err = parse_seconds(bad).expect_err(bad).to_string();
            assert!(err.contains(TIMEOUT_ENV) && err.contains(bad), "{err}");
        }
        assert_eq!(
            configured(Some(Duration::from_secs(1))).ok(),
            Some(Some(Duration::from_secs(1)))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out_and_a_streaming_one_does_not() {
        let err = limit(Some(Duration::from_secs(5)), futures::future::pending())
            .await
            .expect_err("never answers");
        assert!(err.to_string().contains("timed out"), "{err}");

        // Chunks 4 s apart: 12 s in all, longer than the limit, and never cut.
        let steady = futures::stream::iter(0..3).then(|n| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            Ok(json!(n))
        });
        let chunks = limited(Box::pin(steady)).await;
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(Result::is_ok), "{chunks:?}");

        // One chunk, then silence.
        let stalls = futures::stream::iter([Ok(json!(0))]).chain(futures::stream::pending());
        let chunks = limited(Box::pin(stalls)).await;
        assert_eq!(chunks.len(), 2, "the chunk, then the timeout: {chunks:?}");
        let err = chunks[1].as_ref().expect_err("stalled");
        assert!(err.to_string().contains("next chunk"), "{err}");
    }
}
