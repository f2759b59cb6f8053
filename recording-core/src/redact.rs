//! Secrets never reach the disk, a log or an error message: what a client was given
//! (its API key, a URL's password or query key) is replaced by [`REDACTED`] wherever
//! it appears, and request fields that carry secrets by convention are redacted before
//! a request is keyed or written.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use crate::api::client::ApiRequest;
use crate::api::error::Error;
use crate::pointer::Pointer;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// The request fields redacted by default: where gateways take a key in the body.
pub const DEFAULT_REDACTED_FIELDS: [&str; 3] = ["/api_key", "/apiKey", "/password"];

/// Secrets shorter than this are not searched for: a placeholder key such as `unused`
/// or `x` would otherwise be cut out of every prompt that happens to contain the word.
/// Real keys are far longer.
pub const MIN_SECRET_LEN: usize = 8;

/// The secrets a client knows, longest first, to be replaced wherever they appear.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Arc<[String]>);

impl Secrets {
    /// The secrets in `values` of at least [`MIN_SECRET_LEN`] characters.
    pub fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut kept: Vec<String> = values
            .into_iter()
            .filter(|secret| secret.chars().count() >= MIN_SECRET_LEN)
            .collect();
        kept.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        kept.dedup();
        Secrets(kept.into())
    }

    /// Whether there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn scrub_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in self.0.iter() {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
            }
        }
        text
    }

    fn occurs_in(&self, value: &Value) -> bool {
        match value {
            Value::String(text) => self.0.iter().any(|s| text.contains(s.as_str())),
            Value::Array(items) => items.iter().any(|item| self.occurs_in(item)),
            Value::Object(map) => map.iter().any(|(key, item)| {
                self.0.iter().any(|s| key.contains(s.as_str())) || self.occurs_in(item)
            }),
            _ => false,
        }
    }

    /// Whether a secret may occur in a body whose canonical form is `canonical`: found
    /// in its bytes, or one JSON escapes (it holds a `"`, a `\\` or a control
    /// character), which the escaped text would hide. `false` only where
    /// [`Secrets::scrub_value`] would find nothing.
    pub(crate) fn may_occur_in_canonical(&self, canonical: &[u8]) -> bool {
        self.0.iter().any(|secret| {
            secret
                .bytes()
                .any(|byte| matches!(byte, b'"' | b'\\' | 0x00..=0x1f))
                || memchr::memmem::find(canonical, secret.as_bytes()).is_some()
        })
    }

    /// Replaces every secret in the strings (and object keys) of `value`.
    pub fn scrub_value(&self, value: &mut Value) {
        if self.is_empty() || !self.occurs_in(value) {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(clean) = self.scrub_str(text) {
                    *text = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_value(item)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.scrub_value(&mut item);
                    map.insert(self.scrub_str(&key).into_owned(), item);
                }
            }
            _ => {}
        }
    }

    /// `err` with every secret replaced in what it would show or carry.
    pub fn scrub_error(&self, err: Error) -> Error {
        if self.is_empty() {
            return err;
        }
        let text = |text: String| self.scrub_str(&text).into_owned();
        match err {
            Error::Api {
                status,
                mut body,
                not_recorded,
                headers,
            } => {
                self.scrub_value(&mut body);
                Error::Api {
                    status,
                    body,
                    not_recorded,
                    headers: headers
                        .into_iter()
                        .map(|(name, value)| (name, text(value)))
                        .collect(),
                }
            }
            Error::Transport(message) => Error::Transport(text(message)),
            Error::Config(message) => Error::Config(text(message)),
            Error::InvalidRecording { path, reason } => Error::InvalidRecording {
                path,
                reason: text(reason),
            },
            Error::Decode {
                what,
                origin,
                field,
                message,
            } => Error::Decode {
                what,
                origin,
                field,
                message: text(message),
            },
            Error::Storage {
                action,
                path,
                source,
                fetched,
            } => Error::Storage {
                action,
                path,
                source,
                fetched: fetched.map(|mut body| {
                    self.scrub_value(&mut body);
                    body
                }),
            },
            other => other,
        }
    }
}

/// `request` with its secrets out: the fields `fields` names set to [`REDACTED`], and
/// every known secret replaced. `None` when there is nothing to change, so the common
/// case costs no copy.
pub fn redact_request(
    request: &ApiRequest,
    fields: &[Pointer],
    secrets: &Secrets,
) -> Option<ApiRequest> {
    let endpoint = redact_endpoint(&request.endpoint, secrets);
    let named = fields.iter().any(|field| field.matches(&request.body));
    if endpoint.is_none() && !named && (secrets.is_empty() || !secrets.occurs_in(&request.body)) {
        return None;
    }
    let mut redacted = request.clone();
    if let Some(endpoint) = endpoint {
        redacted.endpoint = endpoint;
    }
    for field in fields {
        field.visit_mut(&mut redacted.body, &mut |value| {
            *value = Value::String(REDACTED.to_owned());
        });
    }
    secrets.scrub_value(&mut redacted.body);
    Some(redacted)
}

/// What a query parameter's name holds when its value is a credential (compared
/// without case): `key` (`api_key`, `api-key`, `key`), `token`, `secret`, `password`,
/// `sig` (a signed URL's signature).
pub const SECRET_QUERY_NAMES: [&str; 5] = ["key", "token", "secret", "password", "sig"];

/// `endpoint` with the values of its credential query parameters
/// ([`SECRET_QUERY_NAMES`]) and any of `secrets` replaced, when it has any.
fn redact_endpoint(endpoint: &str, secrets: &Secrets) -> Option<String> {
    let (path, query) = endpoint.split_once('?')?;
    let mut changed = false;
    let parameters: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|parameter| match parameter.split_once('=') {
            Some((name, value))
                if value != REDACTED
                    && SECRET_QUERY_NAMES
                        .iter()
                        .any(|secret| name.to_ascii_lowercase().contains(secret)) =>
            {
                changed = true;
                Cow::Owned(format!("{name}={REDACTED}"))
            }
            _ => Cow::Borrowed(parameter),
        })
        .collect();
    let redacted = format!("{path}?{}", parameters.join("&"));
    let scrubbed = secrets.scrub_str(&redacted);
    (changed || matches!(scrubbed, Cow::Owned(_))).then(|| scrubbed.into_owned())
}

/// The default redacted fields ([`DEFAULT_REDACTED_FIELDS`]), parsed.
pub fn default_fields() -> Arc<[Pointer]> {
    DEFAULT_REDACTED_FIELDS
        .iter()
        .filter_map(|text| Pointer::parse(text).ok())
        .collect()
}

/// `url` without what may hold a credential: the user-info (`user:password@`, also
/// when the password holds an unencoded `/`), the query string (`?api_key=...`), the
/// fragment, and any key-like path segment (see [`url_secrets`]), which becomes
/// `<redacted>`. For URLs that are shown or written (recordings' `url`, `Debug`
/// output), never for the URL a request goes to.
///
/// ```
/// use recording_core::redact::strip_credentials;
/// assert_eq!(
///     strip_credentials("https://me:sk-secret@api.example.com/v1?key=sk-secret"),
///     "https://api.example.com/v1"
/// );
/// assert_eq!(
///     strip_credentials("http://host/key/Zq8xY2kP9sLm4Tn7Wv1/v1"),
///     "http://host/key/<redacted>/v1"
/// );
/// ```
pub fn strip_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let rest = without_user_info(rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path: Vec<&str> = path
        .split('/')
        .map(|segment| {
            if is_key_like(segment) {
                REDACTED
            } else {
                segment
            }
        })
        .collect();
    let path = path.join("/");
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{path}"),
        None => format!("{authority}{path}"),
    }
}

/// What follows the user-info of a URL without its scheme. A password may hold an
/// unencoded `/` (an `OLLAMA_HOST` written by hand), so the user-info runs to the last
/// `@` when what precedes it looks like `user:password`.
fn without_user_info(rest: &str) -> &str {
    let first_slash = rest.find('/').unwrap_or(rest.len());
    match rest.rfind('@') {
        Some(at) if at < first_slash || rest[..at].contains(':') => &rest[at + 1..],
        _ => rest,
    }
}

/// A path segment that looks like a key rather than a word: at least 16 characters of
/// letters, digits, `-` and `_`, with both letters and digits.
fn is_key_like(segment: &str) -> bool {
    segment.len() >= 16
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && segment.bytes().any(|b| b.is_ascii_digit())
        && segment.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The credentials a URL carries: its password, its query values, its key-like path
/// segments. Transports add them to [`InferenceClient::secrets`](crate::InferenceClient::secrets).
pub fn url_secrets(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut secrets = Vec::new();
    let host_and_path = without_user_info(rest);
    if host_and_path.len() < rest.len() {
        let user_info = &rest[..rest.len() - host_and_path.len() - 1];
        if let Some((_, password)) = user_info.split_once(':') {
            secrets.push(password.to_owned());
        }
    }
    let (path, query) = host_and_path.split_once('?').unwrap_or((host_and_path, ""));
    for pair in query.split(['&', '#']) {
        if let Some((_, value)) = pair.split_once('=') {
            secrets.push(value.to_owned());
        }
    }
    secrets.extend(
        path.split('/')
            .filter(|s| is_key_like(s))
            .map(str::to_owned),
    );
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_replaced_in_strings_keys_and_errors() {
        let secrets = Secrets::new(["sk-live-123456789".to_owned(), "short".to_owned()]);
        let mut body =
            json!({"echo": "Bearer sk-live-123456789", "sk-live-123456789": 1, "n": "short"});
        secrets.scrub_value(&mut body);
        assert_eq!(
            body,
            json!({"echo": "Bearer <redacted>", "<redacted>": 1, "n": "short"})
        );
        let err = secrets.scrub_error(Error::Transport("key sk-live-123456789 refused".into()));
        assert_eq!(err.to_string(), "transport error: key <redacted> refused");
    }

    #[test]
    fn credentials_in_an_endpoints_query_are_redacted() {
        let secrets = Secrets::new(["sk-live-1234567890".to_owned()]);
        let request = ApiRequest::get("/v1/models?limit=1&api-key=abc123&Token=t0&after=m");
        let redacted = redact_request(&request, &[], &Secrets::default()).expect("redacted");
        assert_eq!(
            redacted.endpoint,
            "/v1/models?limit=1&api-key=<redacted>&Token=<redacted>&after=m"
        );
        let echoed = ApiRequest::get("/v1/models?user=sk-live-1234567890");
        let redacted = redact_request(&echoed, &[], &secrets).expect("redacted");
        assert_eq!(redacted.endpoint, "/v1/models?user=<redacted>");
        assert!(redact_request(&ApiRequest::get("/v1/models?limit=1"), &[], &secrets).is_none());
        let once = redact_request(&request, &[], &secrets).expect("redacted");
        assert!(redact_request(&once, &[], &secrets).is_none(), "idempotent");
    }

    #[test]
    fn requests_are_redacted_only_when_needed() {
        let secrets = Secrets::new(["sk-live-123456789".to_owned()]);
        let fields = default_fields();
        let clean = ApiRequest::post("/v1/x", json!({"prompt": "hello"}));
        assert!(redact_request(&clean, &fields, &secrets).is_none());
        let leaky = ApiRequest::post(
            "/v1/x",
            json!({"api_key": "gw-abc", "prompt": "my key is sk-live-123456789"}),
        );
        let redacted = redact_request(&leaky, &fields, &secrets).expect("changed");
        assert_eq!(
            redacted.body,
            json!({"api_key": "<redacted>", "prompt": "my key is <redacted>"})
        );
    }
}
