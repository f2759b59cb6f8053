//! The hook through which a provider rewrites volatile fields before they are recorded.

use std::fmt;

use serde_json::Value;

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
}

/// Rules that change nothing, for clients whose responses have no volatile fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNormalization;

impl Normalizer for NoNormalization {
    fn normalize(&self, _ctx: &NormalizeContext<'_>, _body: &mut Value) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hashes_never_cut_a_character() {
        let ctx = |hash| NormalizeContext { hash, endpoint: "" };
        assert_eq!(ctx("0123456789abcdef").short_hash(), "0123456789ab");
        assert_eq!(ctx("abcdefghijk€xyz").short_hash(), "abcdefghijk€");
        assert_eq!(ctx("prénom-élève").short_hash(), "prénom-élève");
        assert_eq!(ctx("short").short_hash(), "short");
    }
}
