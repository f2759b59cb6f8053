//! Responses as HTTP answers: what the fronts that speak HTTP (the recording server,
//! async-openai's HTTP service) send back, the way the provider's own server writes
//! it.
//!
//! The framing belongs to the provider crates, which implement [`WireFormat`]: an
//! OpenAI-compatible stream is server-sent events ending in `data: [DONE]`, an Ollama
//! stream is NDJSON. [`encode`] turns the engine's answer into a [`WireResponse`] with
//! it, so a front only routes and copies bytes.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::api::client::{
    ApiResponse, Ending, Method, Recorded, RecordedBody, ResponseBody, paced,
};
use crate::api::error::Error;
use crate::api::texts::{Texts, compact_runs};

/// An HTTP answer: status, content type, headers and body.
pub struct WireResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// Further headers, lower case, set after `content_type` (so a recorded
    /// `content-type` wins): those an API error kept from the upstream's answer
    /// (`retry-after`, rate limits; see `transport::kept_headers`).
    pub headers: Vec<(String, String)>,
    /// The body, whole or as a stream of framed chunks.
    pub body: WireBody,
}

/// The body of a [`WireResponse`].
pub enum WireBody {
    /// A body sent whole: shared, not copied, when it is a cached answer's.
    Full(Bytes),
    /// A streamed body, one framed chunk per item. An `Err` item is a failure after
    /// the status was sent: the front aborts the connection, so the client sees a
    /// stream cut short, never a complete one.
    Stream(Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>),
}

/// How a provider writes its answers on the wire.
pub trait WireFormat: Send + Sync + 'static {
    /// The content type of a stream, such as `text/event-stream`.
    fn stream_content_type(&self) -> &'static str;

    /// Appends one chunk, given as compact JSON text, framed.
    fn frame_chunk(&self, json: &str, out: &mut Vec<u8>);

    /// Appends the end of a stream whose last chunk was `last` (compact JSON text),
    /// such as `data: [DONE]`; nothing where the format has no end marker.
    fn frame_end(&self, last: Option<&str>, out: &mut Vec<u8>);

    /// The body of an error that the recorder itself reports (a replay miss, a
    /// missing upstream), in the provider's error shape. `kind` is a short
    /// machine-readable name such as `replay_miss`.
    fn error_body(&self, message: &str, kind: &str) -> Value;
}

/// The method of an HTTP request, as the recorder records it: GET, POST or DELETE.
pub fn request_method(name: &str) -> Option<Method> {
    match name {
        "GET" => Some(Method::Get),
        "POST" => Some(Method::Post),
        "DELETE" => Some(Method::Delete),
        _ => None,
    }
}

/// The JSON body of an HTTP request, read the same way by every front: an empty or
/// whitespace-only body is no body (`null`, what a GET sends); a UTF-8 byte-order mark
/// (which some editors and Windows tools write) is skipped; anything else must be JSON.
pub fn request_body(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes)
}

/// The endpoint of an HTTP request, as every front keys and forwards it: its path with
/// repeated slashes collapsed (a base URL ending in `/v1/` gives `/v1//chat/completions`,
/// the typed API `/v1/chat/completions`), then its query as sent, when it has one. A
/// dot segment (`.` or `..`, also spelt `%2e`) is refused: resolved by the upstream,
/// it would reach outside the base path it was given, with the key.
pub fn request_endpoint(path: &str, query: Option<&str>) -> Result<String, String> {
    let mut endpoint = String::with_capacity(path.len() + query.map_or(0, str::len) + 1);
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        if is_dot_segment(segment) {
            return Err(format!(
                "the path {path} has a {segment:?} segment, which could leave the upstream's base path; send the path it stands for"
            ));
        }
        endpoint.push('/');
        endpoint.push_str(segment);
    }
    // A trailing slash is the client's to send (and the root is `/`).
    if endpoint.is_empty() || path.ends_with('/') {
        endpoint.push('/');
    }
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        endpoint.push('?');
        endpoint.push_str(query);
    }
    Ok(endpoint)
}

/// Whether a path segment is `.` or `..`, each dot also spelt `%2e` or `%2E`: read
/// without decoding the segment, since nearly every segment is neither.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', rest @ ..] => rest,
            [b'%', b'2', b'e' | b'E', rest @ ..] => rest,
            _ => return false,
        };
        dots += 1;
    }
    (1..=2).contains(&dots)
}

/// The HTTP status and error kind for an error that is not the server's own answer.
fn status_of(err: &Error) -> (u16, &'static str) {
    match err {
        // Not found, and not worth a client's retry (SDKs retry 5xx and 429).
        Error::ReplayMiss(_) => (404, "replay_miss"),
        Error::Config(_) => (400, "recorder_configuration"),
        Error::Transport(_) => (502, "upstream_failure"),
        _ => (500, "recorder_failure"),
    }
}

/// The answer to `result` in `format`: a recorded or live JSON body with status 200,
/// a stream framed chunk by chunk, an API error with its own status and body, or an
/// error of the recorder's own in the provider's error shape.
pub fn encode(format: &'static dyn WireFormat, result: Result<ApiResponse, Error>) -> WireResponse {
    let response = match result {
        Ok(response) => response,
        Err(err) => return encode_error(format, err),
    };
    let ending = response.ending;
    match response.body {
        ResponseBody::Json(value) => json(200, &value),
        ResponseBody::Recorded(RecordedBody(Recorded::Json(text))) => {
            if !text.is_checked()
                && let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(text.get(0))
            {
                // A file torn or edited by hand: said as the whole read would say it.
                return encode_error(
                    format,
                    Error::InvalidRecording {
                        path: response.origin.unwrap_or_default(),
                        reason: format!("at `response.body`: {err}"),
                    },
                );
            }
            let body = made_once(&text, format, || {
                let mut body = Vec::with_capacity(text.get(0).len());
                match text.is_compact() {
                    true => body.extend_from_slice(text.get(0).as_bytes()),
                    false => minify(text.get(0), &mut body),
                }
                body
            });
            full(200, "application/json", body)
        }
        ResponseBody::Stream(chunks) => {
            let texts = chunks.map(|chunk| chunk.map(|value| value.to_string()));
            stream(format, texts, ending)
        }
        ResponseBody::Recorded(RecordedBody(Recorded::Stream {
            chunks,
            tail,
            delays: None,
        })) if ending == Ending::Marker => recorded_stream(format, &chunks, tail),
        ResponseBody::Recorded(RecordedBody(Recorded::Stream {
            chunks,
            tail,
            delays,
        })) => {
            let texts = (0..chunks.len()).map(move |index| {
                let mut line = String::new();
                Ok(chunks.compact(index, &mut line).to_owned())
            });
            stream(format, paced(texts.chain(tail.map(Err)), delays), ending)
        }
    }
}

/// What a cached answer is framed as for `by`: the bytes are made once and shared
/// by every later hit.
struct Made {
    by: &'static dyn WireFormat,
    bytes: Bytes,
}

/// `make()` as bytes, made once for texts a cache keeps (see [`Texts::made`]) and
/// shared from then on; texts framed by another format are framed afresh.
fn made_once(
    texts: &Texts,
    format: &'static dyn WireFormat,
    make: impl FnOnce() -> Vec<u8>,
) -> Bytes {
    let Some(slot) = texts.made() else {
        return Bytes::from(make());
    };
    if let Some(made) = slot.get() {
        return match made.downcast_ref::<Made>() {
            Some(made) if std::ptr::eq(made.by, format) => made.bytes.clone(),
            _ => Bytes::from(make()),
        };
    }
    let bytes = Bytes::from(make());
    let _ = slot.set(Box::new(Made {
        by: format,
        bytes: bytes.clone(),
    }));
    bytes
}

/// How a stream framed whole ends.
enum End<'a> {
    /// With the format's end marker.
    Marker,
    /// With the API error that ended it, as the provider's error event.
    Event(&'a Value),
    /// Without either: a failure follows, which aborts the answer.
    Broken,
}

/// Every chunk framed, into one buffer, then `end`.
fn framed_whole(format: &'static dyn WireFormat, chunks: &Texts, end: End<'_>) -> Vec<u8> {
    let framing = 32 * (chunks.len() + 1);
    let mut out = Vec::with_capacity(chunks.weight() + framing);
    let mut line = String::new();
    for index in 0..chunks.len() {
        format.frame_chunk(chunks.compact(index, &mut line), &mut out);
    }
    match end {
        End::Marker => {
            let last = chunks.len().checked_sub(1);
            format.frame_end(last.map(|last| chunks.compact(last, &mut line)), &mut out);
        }
        End::Event(body) => format.frame_chunk(&body.to_string(), &mut out),
        End::Broken => {}
    }
    out
}

/// A recorded stream replayed at full speed, framed into one buffer: every chunk is
/// there already, so it is sent whole, in one write, as a body of the stream's content
/// type (an SSE or NDJSON reader cannot tell); only a stream that ends in a failure
/// other than an API error is sent as a stream, so the failure can abort it.
fn recorded_stream(
    format: &'static dyn WireFormat,
    chunks: &Texts,
    tail: Option<Error>,
) -> WireResponse {
    let body = match tail {
        // What a cached answer's every hit sends: framed once.
        None => WireBody::Full(made_once(chunks, format, || {
            framed_whole(format, chunks, End::Marker)
        })),
        Some(Error::Api { body, .. }) => {
            WireBody::Full(framed_whole(format, chunks, End::Event(&body)).into())
        }
        Some(other) => {
            let items = [
                Ok(framed_whole(format, chunks, End::Broken).into()),
                Err(other),
            ];
            WireBody::Stream(Box::pin(futures::stream::iter(items)))
        }
    };
    WireResponse {
        status: 200,
        content_type: format.stream_content_type(),
        headers: Vec::new(),
        body,
    }
}

fn encode_error(format: &dyn WireFormat, err: Error) -> WireResponse {
    match err {
        Error::Api {
            status,
            body,
            headers,
            ..
        } => {
            let mut response = match body {
                // A text body (an HTML page, a plain message) goes back as text, in
                // the content type it came in when that was kept.
                Value::String(text) => full(status, "text/plain; charset=utf-8", text.into_bytes()),
                body => json(status, &body),
            };
            response.headers = headers.into_vec();
            response
        }
        other => {
            let (status, kind) = status_of(&other);
            json(status, &format.error_body(&other.to_string(), kind))
        }
    }
}

fn json(status: u16, value: &Value) -> WireResponse {
    full(status, "application/json", value.to_string().into_bytes())
}

fn full(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> WireResponse {
    WireResponse {
        status,
        content_type,
        headers: Vec::new(),
        body: WireBody::Full(body.into()),
    }
}

/// Frames a stream of chunk texts; an API error at the end is framed as the
/// provider's error event (in its body's shape), any other error aborts. `ending`
/// says whether the end marker follows (an injected `cut` has none) and whether the
/// error that ends it stands for a malformed chunk, which is sent as it is.
fn stream<S>(format: &'static dyn WireFormat, texts: S, ending: Ending) -> WireResponse
where
    S: Stream<Item = Result<String, Error>> + Send + 'static,
{
    let state = (Box::pin(texts), None::<String>, false);
    let framed = futures::stream::unfold(state, move |(mut texts, mut last, ended)| async move {
        if ended {
            return None;
        }
        let mut out = Vec::new();
        match texts.next().await {
            Some(Ok(text)) => {
                format.frame_chunk(&text, &mut out);
                last = Some(text);
                Some((Ok(out.into()), (texts, last, false)))
            }
            Some(Err(Error::Api { body, .. })) => {
                format.frame_chunk(&body.to_string(), &mut out);
                Some((Ok(out.into()), (texts, last, true)))
            }
            Some(Err(other)) => match ending {
                Ending::Malformed(text) => {
                    format.frame_chunk(text, &mut out);
                    Some((Ok(out.into()), (texts, last, true)))
                }
                _ => Some((Err(other), (texts, last, true))),
            },
            None if ending == Ending::Cut => None,
            None => {
                format.frame_end(last.as_deref(), &mut out);
                Some((Ok(out.into()), (texts, last, true)))
            }
        }
    });
    WireResponse {
        status: 200,
        content_type: format.stream_content_type(),
        headers: Vec::new(),
        body: WireBody::Stream(Box::pin(framed)),
    }
}

/// Appends `json` without the whitespace between its tokens: recordings are pretty
/// printed, and a framed chunk must be one line (an SSE `data:` line, an NDJSON line).
/// Strings are copied as they are, escapes included.
pub fn minify(json: &str, out: &mut Vec<u8>) {
    compact_runs(json, |run| out.extend_from_slice(run.as_bytes()));
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_front_reads_a_request_body_alike() {
        use super::request_body;
        use serde_json::{Value, json};
        assert_eq!(request_body(b"").ok(), Some(Value::Null));
        assert_eq!(
            request_body(b" \r\n\t").ok(),
            Some(Value::Null),
            "blank is no body"
        );
        assert_eq!(request_body(b"{\"a\": 1}").ok(), Some(json!({"a": 1})));
        assert_eq!(
            request_body(b"\xEF\xBB\xBF{\"a\": 1}").ok(),
            Some(json!({"a": 1})),
            "a byte-order mark is skipped"
        );
        assert!(request_body(b"a=1&b=2").is_err());
        assert!(request_body(b"\xEF\xBB\xBF").is_ok_and(|v| v.is_null()));
        assert_eq!(super::request_method("PUT"), None);
        assert_eq!(super::request_method("GET"), Some(crate::Method::Get));
    }

    use super::*;

    #[test]
    fn endpoints_collapse_slashes_keep_the_query_and_refuse_dot_segments() {
        let endpoint = |path, query| request_endpoint(path, query);
        assert_eq!(
            endpoint("/v1//chat/completions", None).as_deref(),
            Ok("/v1/chat/completions")
        );
        assert_eq!(
            endpoint("/v1/models", Some("limit=2&after=m")).as_deref(),
            Ok("/v1/models?limit=2&after=m")
        );
        assert_eq!(
            endpoint("/v1/models", Some("")).as_deref(),
            Ok("/v1/models")
        );
        assert_eq!(endpoint("/v1/models/", None).as_deref(), Ok("/v1/models/"));
        assert_eq!(endpoint("/", None).as_deref(), Ok("/"));
        for path in [
            "/v1/../../etc/passwd",
            "/v1/%2e%2e/x",
            "/v1/%2E/x",
            "/v1/./x",
            "/v1/.%2e/x",
            "/v1/%2E./x",
        ] {
            let err = endpoint(path, None).expect_err(path);
            assert!(err.contains(path), "{err}");
        }
        // Three dots, a dot with more, or another escape are names like any other.
        for path in [
            "/v1/.../x",
            "/v1/%2e%2e%2e/x",
            "/v1/.x/x",
            "/v1/%2e2/x",
            "/v1/%2/x",
        ] {
            assert_eq!(endpoint(path, None).as_deref(), Ok(path));
        }
    }

    /// Two framings of one stream, as two providers write theirs.
    struct Sse;
    struct Lines;
    static SSE: Sse = Sse;
    static LINES: Lines = Lines;

    impl WireFormat for Sse {
        fn stream_content_type(&self) -> &'static str {
            "text/event-stream"
        }
        fn frame_chunk(&self, json: &str, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("data: {json}\n\n").as_bytes());
        }
        fn frame_end(&self, _: Option<&str>, out: &mut Vec<u8>) {
            out.extend_from_slice(b"data: [DONE]\n\n");
        }
        fn error_body(&self, message: &str, _: &str) -> Value {
            Value::from(message)
        }
    }

    impl WireFormat for Lines {
        fn stream_content_type(&self) -> &'static str {
            "application/x-ndjson"
        }
        fn frame_chunk(&self, json: &str, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("{json}\n").as_bytes());
        }
        fn frame_end(&self, _: Option<&str>, _: &mut Vec<u8>) {}
        fn error_body(&self, message: &str, _: &str) -> Value {
            Value::from(message)
        }
    }

    fn whole(format: &'static dyn WireFormat, body: RecordedBody) -> Bytes {
        let response = ApiResponse {
            body: ResponseBody::Recorded(body),
            origin: None,
            ending: Ending::default(),
            fault: None,
        };
        match encode(format, Ok(response)).body {
            WireBody::Full(bytes) => bytes,
            WireBody::Stream(_) => panic!("a recorded answer is sent whole"),
        }
    }

    #[test]
    fn a_kept_answer_is_framed_once_for_each_format() {
        let pretty = ["{\n  \"a\": 1\n}", "{\"b\": [2, 3]}"];
        // Compact: what a cache keeps.
        let kept = Texts::new(pretty, true);
        let stream = || RecordedBody::stream(kept.clone(), None, None);
        let first = whole(&SSE, stream());
        assert_eq!(
            first,
            "data: {\"a\":1}\n\ndata: {\"b\":[2,3]}\n\ndata: [DONE]\n\n"
        );
        let again = whole(&SSE, stream());
        assert_eq!(again, first);
        assert_eq!(again.as_ptr(), first.as_ptr(), "shared, not framed again");
        // Another format never gets the first one's framing.
        assert_eq!(whole(&LINES, stream()), "{\"a\":1}\n{\"b\":[2,3]}\n");
        assert_eq!(whole(&SSE, stream()).as_ptr(), first.as_ptr());

        let body = Texts::new([pretty[0]], true);
        let json = whole(&SSE, RecordedBody::json(body.clone()));
        assert_eq!(json, "{\"a\":1}");
        let again = whole(&SSE, RecordedBody::json(body));
        assert_eq!(again.as_ptr(), json.as_ptr(), "one body, shared");

        // Texts no cache keeps are framed for each answer, the same way.
        let read = || RecordedBody::stream(Texts::new(pretty, false), None, None);
        assert_eq!(whole(&SSE, read()), first);
        assert_ne!(whole(&SSE, read()).as_ptr(), first.as_ptr());
    }

    #[test]
    fn minify_drops_whitespace_between_tokens_only() {
        let mut out = Vec::new();
        minify(
            "{\n  \"a b\": [1, \"x \\\" y\"],\n  \"c\":\t{}\n}",
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"a b":[1,"x \" y"],"c":{}}"#
        );
    }
}
