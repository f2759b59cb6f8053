//! The one key function: what a request is written as (its secrets redacted) and what
//! it is keyed by (its volatile fields out too). The recorder, every front and every
//! tool (`inference-recorder key`, `import`) key requests through it, so a request has
//! one key wherever it is computed.

use std::sync::Arc;

use crate::api::client::ApiRequest;
use crate::api::error::Error;
use crate::api::typed_request::TypedRequest;
use crate::canonical::typed::Fields;
pub use crate::identity::{
    canonical_json, identity_value, identity_value_of, request_hash, sequence_hash,
    sequence_hash_of,
};
use crate::mask;
pub use crate::mask::{VolatilePattern, preset_names};
use crate::normalizer::Normalizer;
use crate::pointer::Pointer;
use crate::redact::{Secrets, default_fields, redact_request};

/// A request as a recorder keys and replays it: its key, and the method and endpoint
/// its recording must be for (after redaction). A front that sees the same request
/// bytes again (the recording server) keeps it, and replays with
/// [`Recording::replay_keyed`](crate::Recording::replay_keyed) without parsing or
/// keying the request again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    pub(crate) key: String,
    pub(crate) method: crate::api::client::Method,
    pub(crate) endpoint: String,
}

impl Keyed {
    /// The key: the name of the recording's file.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// What a suite's keys leave out or read as one beyond the request itself, on top of
/// the provider's own volatile fields: more volatile fields (JSON Pointers), volatile
/// patterns masked inside every string, and the providers' equivalence rules. The
/// default leaves keys exact. A recorder holds one
/// ([`Recording::key_settings`](crate::Recording::key_settings)); tools that key
/// requests without a recorder (`inference-recorder rekey`, the server) build theirs
/// from the same environment with [`KeySettings::from_env`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeySettings {
    volatile_fields: Arc<[Pointer]>,
    patterns: Arc<[VolatilePattern]>,
    equivalence: bool,
}

/// The environment variable that adds request fields left out of keys, as
/// comma-separated JSON Pointers (see [`Recording::volatile`](crate::Recording::volatile)).
pub const VOLATILE_ENV: &str = "TEST_INFERENCE_VOLATILE";

/// The environment variable that adds volatile patterns, comma-separated: presets
/// (`uuid`, `iso8601`, `unix-ms`, `hex`) and `re:REGEX` (see
/// [`KeySettings::volatile_pattern`]).
pub const VOLATILE_PATTERNS_ENV: &str = "TEST_INFERENCE_VOLATILE_PATTERNS";

/// The environment variable that turns the providers' equivalence rules on (`1`; see
/// [`KeySettings::equivalence`]).
pub const EQUIVALENCE_ENV: &str = "TEST_INFERENCE_EQUIVALENCE";

impl KeySettings {
    /// Exact keys: nothing beyond the provider's volatile fields is left out.
    pub fn new() -> KeySettings {
        KeySettings::default()
    }

    /// The settings `TEST_INFERENCE_VOLATILE`, `TEST_INFERENCE_VOLATILE_PATTERNS` and
    /// `TEST_INFERENCE_EQUIVALENCE` give; a bad value is an [`Error::Config`] naming the
    /// variable and the part.
    pub fn from_env() -> Result<KeySettings, Error> {
        let mut settings = KeySettings::new();
        if let Ok(fields) = std::env::var(VOLATILE_ENV) {
            for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                settings = settings
                    .volatile_field(field)
                    .map_err(|err| Error::Config(format!("{VOLATILE_ENV}: {err}")))?;
            }
        }
        if let Ok(list) = std::env::var(VOLATILE_PATTERNS_ENV) {
            let patterns = VolatilePattern::parse_list(&list)
                .map_err(|err| Error::Config(format!("{VOLATILE_PATTERNS_ENV}: {err}")))?;
            settings.patterns = settings.patterns.iter().cloned().chain(patterns).collect();
        }
        if let Some(on) = env_switch(EQUIVALENCE_ENV)? {
            settings.equivalence = on;
        }
        Ok(settings)
    }

    /// Leaves the request field `pointer` names out of every key (see
    /// [`Recording::volatile`](crate::Recording::volatile)).
    pub fn volatile_field(mut self, pointer: &str) -> Result<KeySettings, Error> {
        let field = Pointer::parse(pointer)?;
        self.volatile_fields = self
            .volatile_fields
            .iter()
            .cloned()
            .chain([field])
            .collect();
        Ok(self)
    }

    /// Masks a volatile pattern inside every string of a request before it is keyed:
    /// a preset (`uuid`, `iso8601` timestamps, `unix-ms` times, `hex` ids of 16 or
    /// more digits) or `re:` and a regular expression. The file keeps the real text.
    pub fn volatile_pattern(mut self, spec: &str) -> Result<KeySettings, Error> {
        let pattern = VolatilePattern::parse(spec)?;
        self.patterns = self.patterns.iter().cloned().chain([pattern]).collect();
        Ok(self)
    }

    /// Applies each provider's equivalence rules before keying, so that spellings of
    /// one request its API treats alike share a key (see
    /// [`Normalizer::equivalent`]). It changes keys: a setting of the suite.
    pub fn equivalence(mut self, on: bool) -> KeySettings {
        self.equivalence = on;
        self
    }

    /// The volatile fields beyond the provider's.
    pub fn volatile_fields(&self) -> &[Pointer] {
        &self.volatile_fields
    }

    /// The volatile patterns, in the order they are applied.
    pub fn patterns(&self) -> &[VolatilePattern] {
        &self.patterns
    }

    /// Whether the equivalence rules apply.
    pub fn is_equivalence(&self) -> bool {
        self.equivalence
    }

    /// Whether the settings change nothing beyond the provider's own rules.
    pub fn is_exact(&self) -> bool {
        self.volatile_fields.is_empty() && self.patterns.is_empty() && !self.equivalence
    }
}

/// The on/off environment variable `name`: `None` when unset, else `1`, `true`,
/// `yes` or `0`, `false`, `no`, blank (off); anything else is an [`Error::Config`]
/// naming it.
pub(crate) fn env_switch(name: &str) -> Result<Option<bool>, Error> {
    let Ok(value) = std::env::var(name) else {
        return Ok(None);
    };
    match value.trim() {
        "1" | "true" | "yes" => Ok(Some(true)),
        "" | "0" | "false" | "no" => Ok(Some(false)),
        other => Err(Error::Config(format!(
            "{name}={other:?} is not a switch: use 1 or 0"
        ))),
    }
}

/// The request as it is written (`redacted` fields and `secrets` replaced) and as it
/// is keyed (`volatile` fields removed, then `rules`' equivalence when `settings` asks
/// for it, then `settings`' patterns masked); `None` for either where it is `request`
/// itself, so the common case copies nothing.
pub(crate) fn shown_and_keyed(
    request: &ApiRequest,
    redacted: &[Pointer],
    secrets: &Secrets,
    volatile: &[Pointer],
    settings: &KeySettings,
    rules: &dyn Normalizer,
) -> (Option<ApiRequest>, Option<ApiRequest>) {
    let shown = redact_request(request, redacted, secrets);
    let base = shown.as_ref().unwrap_or(request);
    let mut keyed: Option<ApiRequest> = None;
    for field in volatile.iter().chain(settings.volatile_fields.iter()) {
        if field.matches(&keyed.as_ref().unwrap_or(base).body) {
            field.remove(&mut keyed.get_or_insert_with(|| base.clone()).body);
        }
    }
    if settings.equivalence {
        let mut normal = keyed.as_ref().unwrap_or(base).clone();
        if rules.equivalent(&request.endpoint, &mut normal.body) {
            keyed = Some(normal);
        }
    }
    if !settings.patterns.is_empty()
        && mask::matches_any(&keyed.as_ref().unwrap_or(base).body, &settings.patterns)
    {
        let body = &mut keyed.get_or_insert_with(|| base.clone()).body;
        mask::mask_strings(body, &settings.patterns);
    }
    (shown, keyed)
}

/// `with` called on the canonical body of a typed request as [`shown_and_keyed`] and
/// the key would make it, written from the typed value (`canonical::typed`); `None`
/// where the value must be built: settings that rewrite bodies (equivalence,
/// patterns), fields named through arrays or by wildcards, a redacted field or a
/// secret in the body, a query string (which may carry a credential).
pub(crate) fn with_typed_canonical_body<R>(
    request: &TypedRequest<'_>,
    redacted: &[Pointer],
    secrets: &Secrets,
    volatile: &[Pointer],
    settings: &KeySettings,
    with: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    if settings.equivalence || !settings.patterns.is_empty() || request.endpoint().contains('?') {
        return None;
    }
    let fields = Fields {
        dropped: volatile
            .iter()
            .chain(settings.volatile_fields.iter())
            .map(Pointer::member_path)
            .collect::<Option<_>>()?,
        refused: redacted
            .iter()
            .map(Pointer::member_path)
            .collect::<Option<_>>()?,
        max_depth: crate::store::format::MAX_BODY_DEPTH - 2,
    };
    request
        .with_canonical_body(&fields, |body| {
            (!secrets.may_occur_in_canonical(body)).then(|| with(body))
        })
        .flatten()
}

/// The key a recorder with the default settings gives `request` under `scope`, for the
/// provider whose rules are `rules`: the default redacted fields and the provider's
/// volatile request fields ([`Normalizer::volatile_request_fields`]) left out, as
/// [`Recording::hash_of`](crate::Recording::hash_of) does. For tools that key requests
/// without a recorder.
pub fn key_of(request: &ApiRequest, scope: Option<&str>, rules: &dyn Normalizer) -> String {
    sequence_key_with(request, scope, rules, &KeySettings::default(), 0)
}

/// [`key_of`] under `settings`: the key a recorder with those settings gives.
pub fn key_with(
    request: &ApiRequest,
    scope: Option<&str>,
    rules: &dyn Normalizer,
    settings: &KeySettings,
) -> String {
    sequence_key_with(request, scope, rules, settings, 0)
}

/// The key of the `call`-th identical request (counted from 0) that a recorder in
/// sequence mode ([`Recording::in_sequence`](crate::Recording::in_sequence)) with the
/// default settings gives `request`; call 0 has [`key_of`]'s key.
pub fn sequence_key_of(
    request: &ApiRequest,
    scope: Option<&str>,
    rules: &dyn Normalizer,
    call: u64,
) -> String {
    sequence_key_with(request, scope, rules, &KeySettings::default(), call)
}

/// [`sequence_key_of`] under `settings`.
pub fn sequence_key_with(
    request: &ApiRequest,
    scope: Option<&str>,
    rules: &dyn Normalizer,
    settings: &KeySettings,
    call: u64,
) -> String {
    with_keyed(request, rules, settings, |keyed| {
        sequence_hash_of(keyed, scope, rules.key_name(), call)
    })
}

/// The request as a recorder with `settings` keys it: volatile fields out, equivalent
/// spellings in their normal form, patterns masked. What a comparison of two requests
/// under those settings compares.
pub fn keyed_form(
    request: &ApiRequest,
    rules: &dyn Normalizer,
    settings: &KeySettings,
) -> ApiRequest {
    with_keyed(request, rules, settings, ApiRequest::clone)
}

/// How many calls of one request [`is_key_of`] tries in sequence mode: more than a
/// test makes of one identical request.
pub const SEQUENCE_CALLS_CHECKED: u64 = 1000;

/// Whether `key` is what a recorder with the default settings names `request` under
/// `scope`: its [`key_of`] key, or in sequence mode that of one of its first
/// [`SEQUENCE_CALLS_CHECKED`] calls. Tools use it to tell a file's name from the key of
/// the request it holds (a copy, or a file renamed by hand).
pub fn is_key_of(
    key: &str,
    request: &ApiRequest,
    scope: Option<&str>,
    rules: &dyn Normalizer,
) -> bool {
    is_key_with(key, request, scope, rules, &KeySettings::default())
}

/// [`is_key_of`] under `settings`, and the call it is the key of: `Some(0)` for the
/// plain key, `Some(n)` for the n-th call in sequence mode.
pub fn sequence_call_of(
    key: &str,
    request: &ApiRequest,
    scope: Option<&str>,
    rules: &dyn Normalizer,
    settings: &KeySettings,
) -> Option<u64> {
    with_keyed(request, rules, settings, |keyed| {
        crate::identity::sequence_call(key, keyed, scope, rules.key_name(), SEQUENCE_CALLS_CHECKED)
    })
}

/// [`is_key_of`] under `settings`.
pub fn is_key_with(
    key: &str,
    request: &ApiRequest,
    scope: Option<&str>,
    rules: &dyn Normalizer,
    settings: &KeySettings,
) -> bool {
    with_keyed(request, rules, settings, |keyed| {
        crate::identity::is_sequence_hash(
            key,
            keyed,
            scope,
            rules.key_name(),
            SEQUENCE_CALLS_CHECKED,
        )
    })
}

/// Calls `with` on `request` as a recorder with `settings` keys it.
fn with_keyed<T>(
    request: &ApiRequest,
    rules: &dyn Normalizer,
    settings: &KeySettings,
    with: impl FnOnce(&ApiRequest) -> T,
) -> T {
    let volatile: Vec<Pointer> = rules
        .volatile_request_fields()
        .iter()
        .filter_map(|field| Pointer::parse(field).ok())
        .collect();
    let (shown, keyed) = shown_and_keyed(
        request,
        &default_fields(),
        &Secrets::default(),
        &volatile,
        settings,
        rules,
    );
    with(keyed.as_ref().or(shown.as_ref()).unwrap_or(request))
}
