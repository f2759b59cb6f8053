//! The one key function: what a request is written as (its secrets redacted) and what
//! it is keyed by (its volatile fields out too). The recorder, every front and every
//! tool (`inference-recorder key`, `import`) key requests through it, so a request has
//! one key wherever it is computed.

use crate::api::client::ApiRequest;
pub use crate::identity::{
    canonical_json, identity_value, identity_value_of, request_hash, sequence_hash,
    sequence_hash_of,
};
use crate::normalizer::Normalizer;
use crate::pointer::Pointer;
use crate::redact::{Secrets, default_fields, redact_request};

/// The request as it is written (`redacted` fields and `secrets` replaced) and as it
/// is keyed (`volatile` fields removed as well); `None` for either where it is
/// `request` itself, so the common case copies nothing.
pub(crate) fn shown_and_keyed(
    request: &ApiRequest,
    redacted: &[Pointer],
    secrets: &Secrets,
    volatile: &[Pointer],
) -> (Option<ApiRequest>, Option<ApiRequest>) {
    let shown = redact_request(request, redacted, secrets);
    let base = shown.as_ref().unwrap_or(request);
    let mut keyed: Option<ApiRequest> = None;
    for field in volatile {
        if field.matches(&keyed.as_ref().unwrap_or(base).body) {
            field.remove(&mut keyed.get_or_insert_with(|| base.clone()).body);
        }
    }
    (shown, keyed)
}

/// The key a recorder with the default settings gives `request` under `scope`, for the
/// provider whose rules are `rules`: the default redacted fields and the provider's
/// volatile request fields ([`Normalizer::volatile_request_fields`]) left out, as
/// [`Recording::hash_of`](crate::Recording::hash_of) does. For tools that key requests
/// without a recorder.
pub fn key_of(request: &ApiRequest, scope: Option<&str>, rules: &dyn Normalizer) -> String {
    sequence_key_of(request, scope, rules, 0)
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
    with_keyed(request, rules, |keyed| {
        sequence_hash_of(keyed, scope, rules.key_name(), call)
    })
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
    with_keyed(request, rules, |keyed| {
        crate::identity::is_sequence_hash(
            key,
            keyed,
            scope,
            rules.key_name(),
            SEQUENCE_CALLS_CHECKED,
        )
    })
}

/// Calls `with` on `request` as a default recorder keys it.
fn with_keyed<T>(
    request: &ApiRequest,
    rules: &dyn Normalizer,
    with: impl FnOnce(&ApiRequest) -> T,
) -> T {
    let volatile: Vec<Pointer> = rules
        .volatile_request_fields()
        .iter()
        .filter_map(|field| Pointer::parse(field).ok())
        .collect();
    let (shown, keyed) =
        shown_and_keyed(request, &default_fields(), &Secrets::default(), &volatile);
    with(keyed.as_ref().or(shown.as_ref()).unwrap_or(request))
}
