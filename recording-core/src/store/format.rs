//! The on-disk recording format: ours, and llama-stack's as a second input format.
//!
//! ```json
//! {
//!   "request":  { "provider": "openai", "method": "POST", "url": "http://127.0.0.1:8080/v1/chat/completions",
//!                 "endpoint": "/v1/chat/completions", "model": "tiny", "body": { "...": "exactly what was sent" } },
//!   "response": { "status": 200, "is_streaming": false, "body": { "...": "normalized response" } }
//! }
//! ```
//!
//! A stream stores its chunks, in order, as the `body` array; an API error that ended
//! the stream is kept in `stream_error` after them. An API error response has
//! `"is_error": true`. llama-stack's Python recorder wraps each body or chunk as
//! `{"__type__": "<python class>", "__data__": {...}}`; reading unwraps it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::api::client::{ApiRequest, Method};
use crate::api::error::Error;

/// The deepest a request or response body may be nested (counting the body itself as
/// one level) for the recorder to write it. Every reader of this project (replay,
/// `normalize`, the CLI) parses files with serde_json's limit of 128 levels, and a
/// body sits three levels into its file (four for a stream's chunk): the recorder
/// refuses anything deeper than this, so it never writes a file its own tools reject.
pub const MAX_BODY_DEPTH: usize = 120;

/// How deeply `value` is nested: 1 for a scalar, one more per array or object level.
/// Iterative, so a body nested beyond any stack's depth is measured, not crashed on.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, level)) = pending.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, level + 1))),
            Value::Object(map) => pending.extend(map.values().map(|item| (item, level + 1))),
            _ => {}
        }
    }
    deepest
}

/// Drops `value` without recursion: a body nested beyond a stack's depth would
/// overflow it in the recursive drop of serde_json's `Value`.
pub fn dismantle(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, item)| item)),
            _ => {}
        }
    }
}

/// Whether `value` is nested deeper than `limit` levels. It descends at most
/// `limit + 1` levels, so it is safe on any input and allocates nothing: the check on
/// every request is nearly free.
pub fn deeper_than(value: &Value, limit: usize) -> bool {
    if limit == 0 {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|item| deeper_than(item, limit - 1)),
        Value::Object(map) => map.values().any(|item| deeper_than(item, limit - 1)),
        _ => false,
    }
}

/// One recorded request and its response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingFile {
    /// What was sent.
    pub request: RecordedRequest,
    /// What came back, normalized.
    pub response: RecordedResponse,
}

/// The request half of a recording. Never holds headers or credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The provider whose rules normalized the response (`openai`, `ollama`); absent in
    /// llama-stack's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The HTTP method.
    pub method: Method,
    /// Where the request went, for people reading the file; not part of the key.
    #[serde(default)]
    pub url: String,
    /// The endpoint, part of the key.
    pub endpoint: String,
    /// The body's `model`, for people and for finding the closest recording on a miss.
    #[serde(default)]
    pub model: String,
    /// The test scope, when the recorder was scoped; part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The body exactly as it was sent; part of the key.
    #[serde(default)]
    pub body: Value,
}

impl RecordedRequest {
    /// The record of `request` made through `provider`: its method, endpoint, model
    /// and body, no scope, no URL (set the fields for those).
    pub fn of(provider: &str, request: &ApiRequest) -> RecordedRequest {
        RecordedRequest {
            provider: Some(provider.to_owned()),
            method: request.method,
            url: String::new(),
            endpoint: request.endpoint.clone(),
            model: request.model().to_owned(),
            scope: None,
            body: request.body.clone(),
        }
    }

    /// The request this records, as a client sends it (method, endpoint, body), to key
    /// it again or to send it again.
    pub fn to_api_request(&self) -> ApiRequest {
        ApiRequest {
            method: self.method,
            endpoint: self.endpoint.clone(),
            body: self.body.clone(),
        }
    }
}

/// The response half of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The HTTP status (200 when absent, as in llama-stack's files).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Whether `body` is the array of a stream's chunks.
    #[serde(default)]
    pub is_streaming: bool,
    /// Whether this is an API error, replayed as [`Error::Api`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_error: bool,
    /// For an API error, the response headers a client acts on (`retry-after`, rate
    /// limits, the content type of a body that is not JSON, a request id), as
    /// [`transport::kept_headers`](crate::transport::kept_headers) keeps them; absent
    /// when there are none, as for every answer that is not an error.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body, the chunks, or the error body.
    pub body: Value,
    /// The API error that ended a stream after its chunks, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_error: Option<RecordedError>,
    /// For a stream recorded with timing on, each chunk's time since the request was
    /// sent, in milliseconds. Not part of the key, untouched by `normalize`; replay
    /// can keep the gaps (`TEST_INFERENCE_PACE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_ms: Option<Vec<u64>>,
}

impl RecordedResponse {
    /// A 200 answer with one JSON body.
    pub fn body(body: Value) -> RecordedResponse {
        RecordedResponse {
            status: 200,
            is_streaming: false,
            is_error: false,
            headers: BTreeMap::new(),
            body,
            stream_error: None,
            chunk_ms: None,
        }
    }

    /// A 200 stream whose chunks are the items of `chunks` (an array).
    pub fn stream(chunks: Value) -> RecordedResponse {
        RecordedResponse {
            is_streaming: true,
            ..RecordedResponse::body(chunks)
        }
    }
}

/// An API error: one that ended a stream, or a whole error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedError {
    /// The HTTP status the error carried.
    pub status: u16,
    /// The error body.
    pub body: Value,
    /// The response headers a client acts on, for a whole error response.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl RecordedError {
    /// The error it replays as.
    pub fn into_error(self) -> Error {
        Error::api(self.status, self.body).with_headers(self.headers.into_iter().collect())
    }
}

fn ok_status() -> u16 {
    200
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The two formats a recording file can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// This project's format.
    Native,
    /// llama-stack's Python recorder, with `__type__`/`__data__` wrappers.
    LlamaStack,
}

/// The response half of a file, as values. The request half is skipped unparsed (but
/// still checked to be well-formed JSON).
#[derive(Deserialize)]
struct ResponseOnly {
    response: RecordedResponse,
}

impl RecordedResponse {
    /// Parses the response half of a recording file in either format, as
    /// [`RecordingFile::from_slice`] does. Replay reads files with
    /// [`Replayed::from_file_slice`], which keeps bodies as text.
    pub fn from_file_slice(bytes: &[u8], path: &Path) -> Result<RecordedResponse, Error> {
        let mut response = parse::<ResponseOnly>(bytes, path)?.response;
        response.prepare(path)?;
        Ok(response)
    }

    /// Checks the shape and removes llama-stack's wrappers.
    fn prepare(&mut self, path: &Path) -> Result<(), Error> {
        if self.is_streaming && !self.body.is_array() {
            return Err(not_chunks(path));
        }
        for body in bodies_mut(self) {
            if let Some(data) = take_wrapped(body) {
                *body = data;
            }
        }
        Ok(())
    }
}

/// What replay reads of a recording file: what it was recorded for (method and
/// endpoint, to check against the request it answers) and its response.
#[derive(Debug)]
pub struct ReplayFile {
    /// The recorded request's method.
    pub method: Method,
    /// The recorded request's endpoint.
    pub endpoint: String,
    /// The response, bodies as text.
    pub response: Replayed,
}

/// What replay makes of a recording: its response, bodies kept as JSON text.
#[derive(Debug)]
pub enum Replayed {
    /// A single body.
    Json(Box<RawValue>),
    /// A stream's chunks, and the API error that ended it, if one did.
    Stream {
        /// The chunks, in order.
        chunks: Vec<Box<RawValue>>,
        /// The error after the chunks.
        error: Option<RecordedError>,
        /// Each chunk's recorded time since the request was sent, if timed.
        chunk_ms: Option<Vec<u64>>,
    },
    /// An API error response.
    Error(RecordedError),
}

/// A file's response with the body captured as text, borrowed from the file: not parsed
/// into a `Value`, and not copied until it is split into what replay hands out.
#[derive(Deserialize)]
struct RawFile<'a> {
    #[serde(borrow)]
    request: RawHead<'a>,
    #[serde(borrow)]
    response: RawResponse<'a>,
}

/// The request half as far as replay needs it; the body is skipped.
#[derive(Deserialize)]
struct RawHead<'a> {
    method: Method,
    #[serde(borrow)]
    endpoint: std::borrow::Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawResponse<'a> {
    #[serde(default = "ok_status")]
    status: u16,
    #[serde(default)]
    is_streaming: bool,
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(borrow)]
    body: &'a RawValue,
    #[serde(default)]
    stream_error: Option<RecordedError>,
    #[serde(default)]
    chunk_ms: Option<Vec<u64>>,
}

impl ReplayFile {
    /// Reads what replay needs of a recording file in either format: the recorded
    /// method and endpoint, and the response with bodies left as JSON text for the
    /// typed APIs to decode directly. Errors name the file.
    pub fn from_file_slice(bytes: &[u8], path: &Path) -> Result<ReplayFile, Error> {
        let raw = match split_pretty(bytes) {
            Some(raw) => raw,
            // Any other layout, and every error, takes the whole parse, whose errors name
            // the field.
            None => parse::<RawFile>(bytes, path)?,
        };
        Ok(ReplayFile {
            method: raw.request.method,
            endpoint: raw.request.endpoint.into_owned(),
            response: Replayed::from_raw(raw.response, bytes, path)?,
        })
    }
}

/// Where the top-level `response` key is in a file in the layout [`to_pretty_json`]
/// writes (llama-stack's files have it too): the line `  "response": ` indented by two
/// spaces. A raw line break cannot occur inside a JSON string, and only top-level keys
/// are indented by exactly two spaces, so the first such line is that key.
const PRETTY_RESPONSE_KEY: &[u8] = b"\n  },\n  \"response\": ";

/// Replay's reading of a file in the pretty layout without scanning the request's
/// body, which replay never uses (for a chat request it is most of the file): the
/// request's method and endpoint are read from its first keys, the response from the
/// line where it starts. `None` when the file is in any other layout, or when anything
/// does not fit; the caller then parses the whole file.
fn split_pretty(bytes: &[u8]) -> Option<RawFile<'_>> {
    let (head, rest) = pretty_halves(bytes)?;
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<RawResponse>();
    let response = values.next()?.ok()?;
    // The response is the last key: what follows only closes the file.
    if rest[values.byte_offset()..].trim_ascii() != b"}" {
        return None;
    }
    Some(RawFile {
        request: head,
        response,
    })
}

/// What a replay that decodes its answer once needs of a file in the pretty layout
/// whose answer is a plain single body (status 200, no headers, no stream, no error):
/// the recorded method and endpoint, and the body's text.
pub(crate) struct PrettyJsonAnswer<'a> {
    pub(crate) method: Method,
    pub(crate) endpoint: std::borrow::Cow<'a, str>,
    /// Found by the layout alone, not parsed: its reader parses it, and an error there
    /// names the file.
    pub(crate) body: &'a str,
}

/// The response of the pretty layout up to its body, for a plain `200` answer.
const PRETTY_PLAIN_HEAD: &[u8] =
    b"{\n    \"status\": 200,\n    \"is_streaming\": false,\n    \"body\": ";

/// Reads a file in the layout [`to_pretty_json`] writes whose answer is a plain single
/// body without scanning that body: it is everything between the response's head and
/// the file's last two lines. `None` for anything else (a stream, an error, headers,
/// llama-stack's wrappers, another layout), which [`ReplayFile::from_file_slice`]
/// reads.
pub(crate) fn pretty_json_answer(bytes: &[u8]) -> Option<PrettyJsonAnswer<'_>> {
    let (head, response) = pretty_halves(bytes)?;
    let response = response.trim_ascii_end().strip_suffix(b"\n  }\n}")?;
    let body = response.strip_prefix(PRETTY_PLAIN_HEAD)?;
    // Only the response's own members start a line indented by exactly four spaces
    // (a raw line break cannot occur inside a string; the body's lines are indented
    // further, but for its last): one after the body means the body is not last.
    static MEMBER: Finder = Finder::new(|| memchr::memmem::Finder::new(b"\n    \""));
    static WRAPPED: Finder = Finder::new(|| memchr::memmem::Finder::new(b"\"__type__\""));
    if MEMBER.find(body).is_some() || WRAPPED.find(body).is_some() {
        return None;
    }
    Some(PrettyJsonAnswer {
        method: head.method,
        endpoint: head.endpoint,
        body: std::str::from_utf8(body).ok()?,
    })
}

/// A file in the pretty layout as its request's method and endpoint, and the text from
/// its response on; `None` in any other layout.
fn pretty_halves(bytes: &[u8]) -> Option<(RawHead<'_>, &[u8])> {
    let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let request = rest.strip_prefix(b"{\n  \"request\": ")?;
    let key = PRETTY_RESPONSE_FINDER.find(request)?;
    let head = pretty_request_head(&request[..key])?;
    Some((head, &request[key + PRETTY_RESPONSE_KEY.len()..]))
}

/// The method and endpoint of a request object in the pretty layout, read from their
/// lines: only the request's own members start a line indented by exactly four
/// spaces. `None` where either is missing or is not one JSON string on its line.
fn pretty_request_head(request: &[u8]) -> Option<RawHead<'_>> {
    fn value<'a, T: Deserialize<'a>>(request: &'a [u8], key: &Finder) -> Option<T> {
        let at = key.find(request)? + key.needle().len();
        let line = &request[at..];
        let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
        let mut deserializer =
            serde_json::Deserializer::from_slice(line.strip_suffix(b",").unwrap_or(line));
        let value = T::deserialize(&mut deserializer).ok()?;
        deserializer.end().ok()?;
        Some(value)
    }
    static METHOD: Finder = Finder::new(|| memchr::memmem::Finder::new(b"\n    \"method\": "));
    static ENDPOINT: Finder = Finder::new(|| memchr::memmem::Finder::new(b"\n    \"endpoint\": "));
    Some(RawHead {
        method: value(request, &METHOD)?,
        endpoint: value(request, &ENDPOINT)?,
    })
}

/// A substring searcher built once: building one costs more than a search of a file.
type Finder = std::sync::LazyLock<memchr::memmem::Finder<'static>>;

static PRETTY_RESPONSE_FINDER: Finder =
    Finder::new(|| memchr::memmem::Finder::new(PRETTY_RESPONSE_KEY));

impl Replayed {
    /// Reads what replay needs of a recording file in either format, leaving bodies as
    /// JSON text for the typed APIs to decode directly. Errors name the file, as
    /// [`RecordingFile::from_slice`]'s do.
    pub fn from_file_slice(bytes: &[u8], path: &Path) -> Result<Replayed, Error> {
        ReplayFile::from_file_slice(bytes, path).map(|file| file.response)
    }

    fn from_raw(raw: RawResponse<'_>, bytes: &[u8], path: &Path) -> Result<Replayed, Error> {
        if raw.body.get().contains("\"__type__\"") {
            // llama-stack's wrappers are removed on values; its files are few.
            return Replayed::from_values(RecordedResponse::from_file_slice(bytes, path)?);
        }
        if raw.is_error {
            let body = serde_json::from_str(raw.body.get()).map_err(|err| invalid(path, &err))?;
            return Ok(Replayed::Error(RecordedError {
                status: raw.status,
                body,
                headers: raw.headers,
            }));
        }
        if !raw.is_streaming {
            return Ok(Replayed::Json(raw.body.to_owned()));
        }
        let chunks = serde_json::from_str(raw.body.get()).map_err(|_| not_chunks(path))?;
        Ok(Replayed::Stream {
            chunks,
            error: raw.stream_error,
            chunk_ms: raw.chunk_ms,
        })
    }

    fn from_values(response: RecordedResponse) -> Result<Replayed, Error> {
        let text = |value: &Value| {
            serde_json::value::to_raw_value(value)
                .map_err(|err| Error::Config(format!("cannot re-serialize a body: {err}")))
        };
        Ok(if response.is_error {
            Replayed::Error(RecordedError {
                status: response.status,
                body: response.body,
                headers: response.headers,
            })
        } else if let (true, Value::Array(items)) = (response.is_streaming, &response.body) {
            Replayed::Stream {
                chunks: items.iter().map(text).collect::<Result<_, _>>()?,
                error: response.stream_error,
                chunk_ms: response.chunk_ms,
            }
        } else {
            Replayed::Json(text(&response.body)?)
        })
    }
}

fn invalid(path: &Path, err: &serde_json::Error) -> Error {
    Error::InvalidRecording {
        path: path.to_path_buf(),
        reason: format!("at `response.body`: {err}"),
    }
}

fn not_chunks(path: &Path) -> Error {
    Error::InvalidRecording {
        path: path.to_path_buf(),
        reason: "`response.body` of a streaming recording must be an array of chunks".into(),
    }
}

/// Parses JSON into `T` (which may borrow from `bytes`); on failure, parses again
/// tracking the field path, so the error names the file and the field without slowing
/// down every successful read.
fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], path: &Path) -> Result<T, Error> {
    // A byte-order mark, as some Windows editors write, is not JSON but is no reason to
    // reject the file.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).or_else(|_| {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize::<_, T>(&mut deserializer)
            .map_err(|err| located(err, path))
    })
}

fn located(err: serde_path_to_error::Error<serde_json::Error>, path: &Path) -> Error {
    let field = err.path().to_string();
    let inner = err.into_inner();
    let reason = if field == "." {
        inner.to_string()
    } else {
        format!("at `{field}`: {inner}")
    };
    Error::InvalidRecording {
        path: path.to_path_buf(),
        reason,
    }
}

/// The request of a recording file, read from a prefix of the file without parsing
/// (or needing) the rest: the request comes first in both formats, so a miss report can
/// compare requests without reading whole recordings. `None` when the prefix does not
/// hold a whole request (or is not a recording).
pub fn request_from_prefix(prefix: &[u8]) -> Option<RecordedRequest> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

    struct FirstRequest<'s>(&'s mut Option<RecordedRequest>);

    impl<'de> Visitor<'de> for FirstRequest<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a recording")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "request" {
                    *self.0 = Some(map.next_value()?);
                    // Stop here: the rest of the file may not be in the prefix. The
                    // error only ends the parse; the request is already kept.
                    return Err(serde::de::Error::custom("request read"));
                }
                map.next_value::<serde::de::IgnoredAny>()?;
            }
            Ok(())
        }
    }

    impl<'de> DeserializeSeed<'de> for FirstRequest<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let mut request = None;
    let mut deserializer = serde_json::Deserializer::from_slice(prefix);
    let _ = FirstRequest(&mut request).deserialize(&mut deserializer);
    request
}

impl RecordingFile {
    /// Parses a recording in either format; llama-stack's wrappers are removed. `path`
    /// only names the file in errors.
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<RecordingFile, Error> {
        let mut file: RecordingFile = parse(bytes, path)?;
        file.response.prepare(path)?;
        Ok(file)
    }

    /// The file as written: pretty JSON with two-space indent, keys in a fixed order,
    /// and a trailing newline.
    pub fn to_pretty_json(&self) -> String {
        to_pretty_json(self)
    }
}

/// Pretty JSON with keys sorted at every level: what a diff of two requests compares,
/// so that it shows changed values rather than reordered keys.
pub fn to_sorted_pretty_json(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect::<serde_json::Map<_, _>>(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    to_pretty_json(&sort(value))
}

/// Pretty JSON with two-space indent and a trailing newline, keys in their order: the
/// layout every file this project writes has, so rewrites give line-sized diffs.
pub fn to_pretty_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = Vec::with_capacity(1024);
    write_pretty_json(value, &mut text);
    // serde_json writes UTF-8 only.
    String::from_utf8(text).unwrap_or_else(|err| unreachable!("serde_json wrote {err}"))
}

/// [`to_pretty_json`] appended to `out`, which a caller that knows about how long the
/// text will be can size beforehand (a rewrite of a file is about as long as it).
pub fn write_pretty_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Serializing our own types and `Value`s into memory cannot fail.
    serde_json::to_writer_pretty(&mut *out, value)
        .unwrap_or_else(|err| unreachable!("serializing a recording failed: {err}"));
    out.push(b'\n');
}

/// Which format a parsed-but-raw recording is in.
pub fn detect_format(raw: &Value) -> Format {
    let body = &raw["response"]["body"];
    let first = match body {
        Value::Array(items) => items.first().unwrap_or(&Value::Null),
        other => other,
    };
    if is_wrapped(first) || raw["request"].get("headers").is_some() {
        Format::LlamaStack
    } else {
        Format::Native
    }
}

/// The bodies a normalizer rewrites, in a recording that is still raw JSON (either
/// format): the single body, or every chunk; inside llama-stack's wrappers, the
/// `__data__`. Error bodies are not included. Used by the `normalize` tool, which must
/// rewrite files in place without changing anything else.
pub fn raw_bodies_mut(raw: &mut Value) -> Vec<&mut Value> {
    match raw.get_mut("response") {
        Some(response) => response_bodies_mut(response),
        None => Vec::new(),
    }
}

/// [`raw_bodies_mut`] given the recording's `response` alone, so a caller can hold
/// the `request` at the same time.
pub fn response_bodies_mut(response: &mut Value) -> Vec<&mut Value> {
    let Some(response) = response.as_object_mut() else {
        return Vec::new();
    };
    let [is_error, is_streaming, body] =
        crate::normalizer::fields_mut(response, ["is_error", "is_streaming", "body"]);
    let flag = |value: Option<&mut Value>| value.and_then(|v| v.as_bool()) == Some(true);
    if flag(is_error) {
        return Vec::new();
    }
    let is_streaming = flag(is_streaming);
    let Some(body) = body else {
        return Vec::new();
    };
    split_bodies(body, is_streaming)
        .into_iter()
        .map(|item| {
            if is_wrapped(item) {
                &mut item["__data__"]
            } else {
                item
            }
        })
        .collect()
}

fn bodies_mut(response: &mut RecordedResponse) -> Vec<&mut Value> {
    split_bodies(&mut response.body, response.is_streaming)
}

/// A stream's chunks, or llama-stack's list of wrapped objects, are bodies one by one;
/// anything else is a single body.
fn split_bodies(body: &mut Value, is_streaming: bool) -> Vec<&mut Value> {
    let items = body
        .as_array()
        .is_some_and(|items| is_streaming || items.iter().any(is_wrapped));
    if !items {
        return vec![body];
    }
    match body {
        Value::Array(items) => items.iter_mut().collect(),
        single => vec![single],
    }
}

fn is_wrapped(value: &Value) -> bool {
    value.as_object().is_some_and(|map| {
        map.len() == 2 && map.contains_key("__type__") && map.contains_key("__data__")
    })
}

fn take_wrapped(value: &mut Value) -> Option<Value> {
    if is_wrapped(value) {
        value.get_mut("__data__").map(Value::take)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<RecordingFile, Error> {
        RecordingFile::from_slice(value.to_string().as_bytes(), Path::new("x.json"))
    }

    #[test]
    fn reads_llama_stack_wrappers_for_bodies_chunks_and_lists() {
        let single = parse(json!({
            "request": {"method": "POST", "url": "u", "headers": {}, "body": {}, "endpoint": "/api/ps", "model": ""},
            "response": {"body": {"__type__": "ollama._types.ProcessResponse", "__data__": {"models": []}}, "is_streaming": false}
        }))
        .expect("valid");
        assert_eq!(single.response.body, json!({"models": []}));
        assert_eq!(single.response.status, 200);

        let stream = parse(json!({
            "request": {"method": "POST", "endpoint": "/api/generate", "body": {}},
            "response": {"body": [{"__type__": "G", "__data__": {"n": 1}}, {"__type__": "G", "__data__": {"n": 2}}], "is_streaming": true}
        }))
        .expect("valid");
        assert_eq!(stream.response.body, json!([{"n": 1}, {"n": 2}]));

        let list = parse(json!({
            "request": {"method": "POST", "endpoint": "/v1/models", "body": {}},
            "response": {"body": [{"__type__": "M", "__data__": {"id": "a"}}], "is_streaming": false}
        }))
        .expect("valid");
        assert_eq!(list.response.body, json!([{"id": "a"}]));
    }

    #[test]
    fn names_the_file_and_field_of_a_bad_recording() {
        let err =
            parse(json!({"request": {"method": "PUT", "endpoint": "/x"}, "response": {"body": 1}}))
                .expect_err("PUT is not a method we record");
        let text = err.to_string();
        assert!(text.contains("x.json"), "{text}");
        assert!(text.contains("request.method"), "{text}");

        let err = RecordingFile::from_slice(b"{\"request\": ", Path::new("torn.json"))
            .expect_err("truncated");
        assert!(err.to_string().contains("torn.json"), "{err}");

        let err = parse(json!({"request": {"method": "POST", "endpoint": "/x"}, "response": {"is_streaming": true, "body": {}}}))
            .expect_err("a stream needs an array");
        assert!(err.to_string().contains("array of chunks"), "{err}");
    }

    #[test]
    fn raw_bodies_reach_inside_wrappers_and_skip_errors() {
        let mut raw = json!({"response": {"is_streaming": true, "body": [{"__type__": "T", "__data__": {"id": 1}}, {"id": 2}]}});
        for body in raw_bodies_mut(&mut raw) {
            body["seen"] = json!(true);
        }
        assert_eq!(
            raw["response"]["body"],
            json!([{"__type__": "T", "__data__": {"id": 1, "seen": true}}, {"id": 2, "seen": true}])
        );
        let mut error = json!({"response": {"is_error": true, "body": {"error": "x"}}});
        assert!(raw_bodies_mut(&mut error).is_empty());
    }

    #[test]
    fn detects_both_formats() {
        assert_eq!(
            detect_format(
                &json!({"request": {}, "response": {"body": {"__type__": "T", "__data__": {}}}})
            ),
            Format::LlamaStack
        );
        assert_eq!(
            detect_format(
                &json!({"request": {"provider": "openai"}, "response": {"body": {"id": "x"}}})
            ),
            Format::Native
        );
    }

    /// Every field replay reads, as text, to compare the two ways of reading a file.
    fn replay_view(raw: &RawFile<'_>) -> String {
        let r = &raw.response;
        format!(
            "{:?} {} {} {} {} {} {:?} {:?}",
            raw.request.method,
            raw.request.endpoint,
            r.status,
            r.is_streaming,
            r.is_error,
            r.body.get(),
            r.stream_error
                .as_ref()
                .map(|e| (e.status, e.body.to_string())),
            r.chunk_ms
        )
    }

    #[test]
    fn the_pretty_layout_is_read_without_its_request_body_and_agrees_with_a_whole_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut seen = 0;
        for dir in ["tests/recordings/responses", "tests/fixtures/llama-stack"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("the repository's recordings") {
                let path = entry.expect("entry").path();
                if path.extension().is_none_or(|ext| ext != "json") {
                    continue;
                }
                let bytes = std::fs::read(&path).expect("read");
                let fast = split_pretty(&bytes)
                    .unwrap_or_else(|| panic!("{} is in the pretty layout", path.display()));
                let whole: RawFile = super::parse(&bytes, &path).expect("a recording");
                assert_eq!(
                    replay_view(&fast),
                    replay_view(&whole),
                    "{}",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen >= 30, "the repository's recordings were read: {seen}");

        // The request's body is never scanned: a broken one does not stop replay.
        let file = to_pretty_json(&json!({
            "request": {"provider": "openai", "method": "POST", "endpoint": "/v1/models", "body": {"x": 1}},
            "response": {"status": 200, "body": {"data": []}}
        }));
        let broken = file.replace("\"x\": 1", "\"x\": [[[");
        let fast = split_pretty(broken.as_bytes()).expect("read without the body");
        assert_eq!(
            fast.response.body.get(),
            r#"{
      "data": []
    }"#
        );
        assert!(super::parse::<RawFile>(broken.as_bytes(), Path::new("x.json")).is_err());
    }

    #[test]
    fn a_plain_answer_is_read_by_its_layout_and_agrees_with_a_whole_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (mut plain, mut other) = (0, 0);
        for entry in std::fs::read_dir(root.join("tests/recordings/responses")).expect("dir") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            let whole = RecordingFile::from_slice(&bytes, &path).expect("a recording");
            let response = &whole.response;
            let is_plain = response.status == 200
                && !response.is_streaming
                && !response.is_error
                && response.headers.is_empty();
            match pretty_json_answer(&bytes) {
                Some(answer) => {
                    assert!(is_plain, "{}", path.display());
                    assert_eq!(answer.method, whole.request.method);
                    assert_eq!(answer.endpoint, whole.request.endpoint);
                    let body: Value = serde_json::from_str(answer.body).expect("the body");
                    assert_eq!(body, response.body, "{}", path.display());
                    plain += 1;
                }
                None => {
                    assert!(!is_plain, "{} is plain", path.display());
                    other += 1;
                }
            }
        }
        assert!(plain >= 10 && other >= 5, "plain {plain}, other {other}");

        let file = |response: Value| {
            to_pretty_json(&json!({
                "request": {"provider": "openai", "method": "POST", "url": "http://h/v1/embeddings",
                            "endpoint": "/v1/embeddings", "body": {"input": "x"}},
                "response": response,
            }))
        };
        let ok = file(json!({"status": 200, "is_streaming": false, "body": {"data": [1]}}));
        let answer = pretty_json_answer(ok.as_bytes()).expect("plain");
        assert_eq!(
            (answer.method, &*answer.endpoint),
            (Method::Post, "/v1/embeddings")
        );
        let bom = format!("\u{feff}{ok}");
        assert!(
            pretty_json_answer(bom.as_bytes()).is_some(),
            "a byte order mark"
        );
        for text in [
            file(json!({"status": 200, "is_streaming": false, "headers": {"x": "y"}, "body": {}})),
            file(json!({"status": 429, "is_streaming": false, "is_error": true, "body": {}})),
            file(json!({"status": 200, "is_streaming": true, "body": [{}]})),
            file(json!({"status": 200, "is_streaming": false, "body": {"a": 1}, "chunk_ms": [1]})),
            file(json!({"status": 200, "is_streaming": false, "body": {"__type__": "x"}})),
            ok.replace("\n}", ",\n  \"note\": 1\n}"),
        ] {
            assert!(pretty_json_answer(text.as_bytes()).is_none(), "{text}");
        }
    }

    #[test]
    fn other_layouts_take_the_whole_parse() {
        let value = json!({
            "request": {"method": "POST", "endpoint": "/v1/chat/completions", "body": {}},
            "response": {"status": 200, "body": {"id": "x"}}
        });
        let minified = value.to_string();
        let extra_key = to_pretty_json(&json!({
            "request": value["request"], "response": value["response"], "note": "after"
        }));
        let no_endpoint = to_pretty_json(&json!({
            "request": {"method": "POST", "body": {}},
            "response": {"status": 200, "body": {}}
        }));
        for text in [&minified, &extra_key, &no_endpoint] {
            assert!(split_pretty(text.as_bytes()).is_none(), "{text}");
        }
        let replayed = ReplayFile::from_file_slice(minified.as_bytes(), Path::new("m.json"))
            .expect("a minified recording still replays");
        assert_eq!(replayed.endpoint, "/v1/chat/completions");
        let err = ReplayFile::from_file_slice(no_endpoint.as_bytes(), Path::new("n.json"))
            .expect_err("no endpoint");
        assert!(
            err.to_string().contains("n.json") && err.to_string().contains("endpoint"),
            "{err}"
        );
    }
}
