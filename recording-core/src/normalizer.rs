//! The hook through which a provider rewrites volatile fields before they are recorded.

use std::fmt;

use serde_json::{Map, Value};

/// What a normalizer may know about the body it rewrites.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeContext<'a> {
    /// The request's key (64 hex digits), for deterministic replacement ids.
    pub hash: &'a str,
    /// The request's endpoint, such as `/v1/chat/completions`.
    pub endpoint: &'a str,
}

impl NormalizeContext<'_> {
    /// The first 12 characters of [`hash`](NormalizeContext::hash), for replacement
    /// ids. A hash taken from a file name (the `normalize` tool) can be any text, so
    /// this never cuts a character in two.
    pub fn short_hash(&self) -> &str {
        match self.hash.char_indices().nth(12) {
            Some((end, _)) => &self.hash[..end],
            None => self.hash,
        }
    }
}

/// A provider's rules for fields that change on every run (ids, timestamps,
/// durations), so that re-recording gives small diffs.
///
/// The recorder applies the rules to a single body, or to every chunk of a stream,
/// before writing, and hands the caller the normalized value too, so a record run and a
/// later replay run see identical data. Rules must be idempotent: the `normalize` tool
/// re-applies them to files already on disk.
pub trait Normalizer: Send + Sync + fmt::Debug {
    /// Rewrites one response body, or one chunk of a stream, in place; returns whether
    /// it changed anything (so the `normalize` tool knows which files to rewrite
    /// without comparing copies).
    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) -> bool;

    /// Request fields (JSON Pointers, `*` for any index or key) that change between
    /// runs without changing the answer, left out of every request's key: the
    /// provider's defaults, to which a recorder adds its own
    /// (`Recording::volatile`). None by default.
    fn volatile_request_fields(&self) -> &[&'static str] {
        &[]
    }

    /// A name every key of this provider's requests includes (as a `"provider"`
    /// member of the canonical form), for a provider whose requests can be byte for
    /// byte another's on the same path: Anthropic's `GET /v1/models` is OpenAI's too,
    /// and without it one would overwrite the other's recording. None by default, which
    /// keeps every existing key.
    fn key_name(&self) -> Option<&'static str> {
        None
    }

    /// Rewrites a request body bound for `endpoint` into its normal form: the
    /// spellings this provider's API treats alike made one (a single text part ≡ the
    /// plain string, `null` ≡ absent, a documented default ≡ absent). Applied before
    /// keying only when a suite turns equivalence on
    /// ([`KeySettings::equivalence`](crate::key::KeySettings::equivalence)); the file
    /// keeps the body as sent. Returns whether it changed anything. Each rule is listed
    /// in the guide with its reason. None by default.
    fn equivalent(&self, endpoint: &str, body: &mut Value) -> bool {
        let _ = (endpoint, body);
        false
    }

    /// What this provider's server answers with `status` when it refuses a call (a
    /// rate limit, an overload, a failure): its error body and the headers a client
    /// acts on (`retry-after` of `retry_after` seconds, rate-limit headers). For
    /// injected faults (`recording_core::fault`); an OpenAI-compatible server's by
    /// default.
    fn fault_error(&self, status: u16, retry_after: u64) -> (Value, Vec<(String, String)>) {
        openai_fault_error(status, retry_after)
    }

    /// The error event this provider's streams end with when its server fails
    /// mid-stream, and its HTTP status; an OpenAI-compatible server's by default.
    fn fault_stream_error(&self) -> (u16, Value) {
        (
            500,
            serde_json::json!({"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null}}),
        )
    }

    /// A chunk of this provider's streams cut off in the middle of its JSON, as a
    /// broken proxy or server sends it.
    fn fault_malformed_chunk(&self) -> &'static str {
        r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"#
    }
}

/// A provider's rules as the registry hands them out (`&'static`), usable wherever a
/// client hands its rules out as an owned `Arc<dyn Normalizer>`.
impl<N: Normalizer + ?Sized> Normalizer for &'static N {
    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) -> bool {
        (**self).normalize(ctx, body)
    }

    fn volatile_request_fields(&self) -> &[&'static str] {
        (**self).volatile_request_fields()
    }

    fn key_name(&self) -> Option<&'static str> {
        (**self).key_name()
    }

    fn equivalent(&self, endpoint: &str, body: &mut Value) -> bool {
        (**self).equivalent(endpoint, body)
    }

    fn fault_error(&self, status: u16, retry_after: u64) -> (Value, Vec<(String, String)>) {
        (**self).fault_error(status, retry_after)
    }

    fn fault_stream_error(&self) -> (u16, Value) {
        (**self).fault_stream_error()
    }

    fn fault_malformed_chunk(&self) -> &'static str {
        (**self).fault_malformed_chunk()
    }
}

/// The values of `keys` in `map`, in the order of `keys`, found in one pass over its
/// entries. Rules read a handful of fields of small objects; serde_json's ordered map
/// hashes every key looked up with SipHash, which made lookups most of the rules' cost
/// in a `normalize --check`. A scan of a dozen entries is cheaper.
pub fn fields_mut<'m, const N: usize>(
    map: &'m mut Map<String, Value>,
    keys: [&str; N],
) -> [Option<&'m mut Value>; N] {
    let mut found = [const { None }; N];
    for (key, value) in map.iter_mut() {
        if let Some(i) = keys.iter().position(|wanted| *wanted == key) {
            found[i] = Some(value);
        }
    }
    found
}

/// Sets `slot` to the string `text` unless it holds that string already; returns
/// whether it changed. The comparison formats nothing into a new string, so rules that
/// meet a body normalized already (every file a `normalize --check` reads) allocate
/// nothing.
pub fn set_string(slot: &mut Value, text: fmt::Arguments<'_>) -> bool {
    match slot {
        Value::String(held) if formats_as(held, text) => return false,
        // A string is rewritten in its own buffer: an id or a timestamp being replaced is
        // about as long as its replacement.
        Value::String(held) => {
            held.clear();
            // Formatting into a String cannot fail.
            let _ = fmt::Write::write_fmt(held, text);
        }
        other => *other = Value::String(fmt::format(text)),
    }
    true
}

/// Whether `text` formats to exactly `held`, compared piece by piece as it is
/// formatted, without a new string.
pub fn formats_as(held: &str, text: fmt::Arguments<'_>) -> bool {
    struct Rest<'a>(&'a str);
    impl fmt::Write for Rest<'_> {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            self.0 = self.0.strip_prefix(piece).ok_or(fmt::Error)?;
            Ok(())
        }
    }
    let mut rest = Rest(held);
    fmt::write(&mut rest, text).is_ok() && rest.0.is_empty()
}

/// Rules that change nothing, for clients whose responses have no volatile fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNormalization;

impl Normalizer for NoNormalization {
    fn normalize(&self, _ctx: &NormalizeContext<'_>, _body: &mut Value) -> bool {
        false
    }
}

/// The error shapes of an OpenAI-compatible server (its API reference, "Error codes"):
/// the default of [`Normalizer::fault_error`], which other providers' rules override.
fn openai_fault_error(status: u16, retry_after: u64) -> (Value, Vec<(String, String)>) {
    let (message, kind, code) = match status {
        429 => (
            "Rate limit reached for requests. Please try again in 1s.",
            "requests",
            Value::from("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            Value::Null,
        ),
        503 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            Value::Null,
        ),
        _ => ("The request failed.", "server_error", Value::Null),
    };
    let body = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    let mut headers = Vec::new();
    if matches!(status, 429 | 503) {
        headers.push(("retry-after".to_owned(), retry_after.to_string()));
    }
    if status == 429 {
        for (name, value) in [
            ("x-ratelimit-limit-requests", "60".to_owned()),
            ("x-ratelimit-remaining-requests", "0".to_owned()),
            ("x-ratelimit-reset-requests", format!("{retry_after}s")),
            ("x-ratelimit-limit-tokens", "150000".to_owned()),
            ("x-ratelimit-remaining-tokens", "149984".to_owned()),
            ("x-ratelimit-reset-tokens", "6ms".to_owned()),
        ] {
            headers.push((name.to_owned(), value));
        }
    }
    (body, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_in_the_order_asked() {
        let mut body = serde_json::json!({"a": 1, "b": 2, "c": 3});
        let Some(map) = body.as_object_mut() else {
            unreachable!("an object")
        };
        let [c, missing, a] = fields_mut(map, ["c", "z", "a"]);
        assert_eq!(
            (c.cloned(), missing, a.cloned()),
            (Some(3.into()), None, Some(1.into()))
        );
    }

    #[test]
    fn strings_are_set_only_when_they_differ() {
        let short = "0123abcd";
        let mut slot = Value::from("rec-0123abcd");
        assert!(!set_string(&mut slot, format_args!("rec-{short}")));
        for held in [
            Value::from("rec-0123abc"),
            Value::from("rec-0123abcde"),
            Value::from("chatcmpl-1"),
            Value::from(""),
            Value::from(7),
            Value::Null,
        ] {
            let mut slot = held.clone();
            assert!(set_string(&mut slot, format_args!("rec-{short}")), "{held}");
            assert_eq!(slot, Value::from("rec-0123abcd"));
        }
    }

    #[test]
    fn short_hashes_never_cut_a_character() {
        let ctx = |hash| NormalizeContext { hash, endpoint: "" };
        assert_eq!(ctx("0123456789abcdef").short_hash(), "0123456789ab");
        assert_eq!(ctx("abcdefghijk€xyz").short_hash(), "abcdefghijk€");
        assert_eq!(ctx("prénom-élève").short_hash(), "prénom-élève");
        assert_eq!(ctx("short").short_hash(), "short");
    }
}
