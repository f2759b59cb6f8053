//! The search for the recording closest to a missed request, which fills in the miss
//! report: the recorder's, since it reads the recordings directory.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use similar::TextDiff;

use crate::api::client::ApiRequest;
use crate::api::miss::{Closest, ReplayMiss};
use crate::identity::same_endpoint;
use crate::key::{KeySettings, keyed_form};
use crate::mode::Mode;
use crate::normalizer::Normalizer;
use crate::store::Store;
use crate::store::format::{
    RecordedRequest, request_from_prefix, to_sorted_pretty_json as pretty_sorted,
};

/// How much of each recording a miss reads: the request comes first in a file, so the
/// response (often most of it) is never read.
pub const MISS_HEAD_BYTES: u64 = 64 * 1024;
/// The most recordings a miss compares.
pub const MISS_SEARCH_FILES: usize = 2_000;
/// The longest a miss spends looking for the closest recording.
pub const MISS_SEARCH_TIME: Duration = Duration::from_millis(100);

impl ReplayMiss {
    /// Builds the miss report for `request`, searching `store` for the closest
    /// recording of the same method and endpoint, preferring the same model.
    ///
    /// The search reads files for up to [`MISS_SEARCH_TIME`]: on tokio's blocking
    /// pool, so that a server's other clients, whose hits share the worker threads,
    /// never wait for someone else's miss.
    pub(crate) async fn new(
        request: &ApiRequest,
        hash: String,
        provider: &str,
        scope: Option<&str>,
        mode: Mode,
        store: &Store,
        keying: Keying,
    ) -> ReplayMiss {
        // On the caller's thread: the test's name comes from it.
        let mut bare = ReplayMiss::bare(request, hash, provider, scope, mode, store);
        bare.masked_by = keying
            .settings
            .patterns()
            .iter()
            .map(|pattern| pattern.name().to_owned())
            .collect();
        bare.equivalence = keying.settings.is_equivalence();
        let (closest, search_stopped) = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let (request, scope, store) =
                    (request.clone(), scope.map(str::to_owned), store.clone());
                runtime
                    .spawn_blocking(move || {
                        find_closest(&request, scope.as_deref(), &store, &keying)
                    })
                    .await
                    .unwrap_or_else(|err| {
                        (
                            None,
                            Some(format!(
                                "the search for the closest recording failed: {err}"
                            )),
                        )
                    })
            }
            Err(_) => find_closest(request, scope, store, &keying),
        };
        ReplayMiss {
            closest,
            search_stopped,
            ..bare
        }
    }

    /// The miss of call `call` (counting from 0) of a request in sequence mode, when
    /// only `call` calls were recorded.
    pub(crate) fn beyond_sequence(
        request: &ApiRequest,
        hash: String,
        provider: &str,
        scope: Option<&str>,
        call: u64,
        store: &Store,
    ) -> ReplayMiss {
        ReplayMiss {
            beyond_sequence: Some((call + 1, call)),
            ..ReplayMiss::bare(request, hash, provider, scope, Mode::Replay, store)
        }
    }

    /// What every miss report says: the request, where its recording was looked for.
    fn bare(
        request: &ApiRequest,
        hash: String,
        provider: &str,
        scope: Option<&str>,
        mode: Mode,
        store: &Store,
    ) -> ReplayMiss {
        ReplayMiss {
            expected_path: store.path_for(&hash),
            closest: None,
            search_stopped: None,
            beyond_sequence: None,
            test: crate::scope::current_test(),
            record_with: None,
            hash,
            provider: provider.to_owned(),
            method: request.method,
            endpoint: request.endpoint.clone(),
            model: request.model().to_owned(),
            scope: scope.map(str::to_owned),
            mode,
            dir: store.dir().to_path_buf(),
            masked_by: Vec::new(),
            equivalence: false,
            fault: None,
        }
    }
}

/// How the recorder keys requests beyond its provider's volatile fields: the closest
/// recording is found, and the difference shown, between requests as they are keyed,
/// so a masked difference (an id a volatile pattern covers) does not show as one.
#[derive(Clone)]
pub(crate) struct Keying {
    pub(crate) settings: KeySettings,
    pub(crate) rules: Arc<dyn Normalizer>,
}

impl Keying {
    /// `body` as a request to `request`'s endpoint is keyed; itself when the settings
    /// mask and normalize nothing, so the diff shows what was sent.
    fn body(&self, request: &ApiRequest) -> Value {
        if self.settings.patterns().is_empty() && !self.settings.is_equivalence() {
            return request.body.clone();
        }
        keyed_form(request, self.rules.as_ref(), &self.settings).body
    }
}

/// The JSON Pointers of the values that differ between `a` and `b`, up to `limit`
/// (one more means "more than that").
fn differing_leaves(a: &Value, b: &Value, at: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() > limit {
        return;
    }
    match (a, b) {
        (Value::Object(left), Value::Object(right)) => {
            let keys: std::collections::BTreeSet<&String> =
                left.keys().chain(right.keys()).collect();
            for key in keys {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let here = format!("{at}/{escaped}");
                match (left.get(key), right.get(key)) {
                    (Some(l), Some(r)) => differing_leaves(l, r, &here, out, limit),
                    _ => out.push(here),
                }
            }
        }
        (Value::Array(left), Value::Array(right)) if left.len() == right.len() => {
            for (i, (l, r)) in left.iter().zip(right).enumerate() {
                differing_leaves(l, r, &format!("{at}/{i}"), out, limit);
            }
        }
        _ if a != b => out.push(if at.is_empty() {
            "/".into()
        } else {
            at.to_owned()
        }),
        _ => {}
    }
}

/// The existing recording of the same method and endpoint whose body is most like
/// the request's, preferring the same scope, then the same model. Bounded: only each file's request is read
/// (its first [`MISS_HEAD_BYTES`]), at most [`MISS_SEARCH_FILES`] files, for at most
/// [`MISS_SEARCH_TIME`]; when it stops early it says so.
fn find_closest(
    request: &ApiRequest,
    scope: Option<&str>,
    store: &Store,
    keying: &Keying,
) -> (Option<Closest>, Option<String>) {
    let started = Instant::now();
    let wanted_body = keying.body(request);
    let wanted = pretty_sorted(&wanted_body);
    // (same scope, same model, similarity): a test's own recordings first, since its
    // request changed; another test's identical body says less.
    let mut best: Option<((bool, bool, f32), PathBuf, RecordedRequest)> = None;
    let paths = store.list();
    let mut stopped = None;
    for (looked, path) in paths.iter().enumerate() {
        if looked == MISS_SEARCH_FILES || started.elapsed() > MISS_SEARCH_TIME {
            stopped = Some(format!(
                "the search stopped after {looked} of {} recordings (limits: {MISS_SEARCH_FILES} files, {MISS_SEARCH_TIME:?})",
                paths.len()
            ));
            break;
        }
        // Unreadable files are someone else's problem here: a miss report must not
        // fail because of a neighbour.
        let Some(recorded) = read_request(path) else {
            continue;
        };
        if recorded.method != request.method
            || !same_endpoint(&recorded.endpoint, &request.endpoint)
        {
            continue;
        }
        let same_scope = recorded.scope.as_deref() == scope;
        let same_model = recorded.model == request.model();
        let recorded_body = pretty_sorted(&keying.body(&recorded.to_api_request()));
        let ratio = TextDiff::from_lines(&recorded_body, &wanted).ratio();
        let rank = (same_scope, same_model, ratio);
        if best
            .as_ref()
            .is_none_or(|(best_rank, ..)| rank > *best_rank)
        {
            best = Some((rank, path.clone(), recorded));
        }
    }
    let Some(((_, same_model, _), path, recorded)) = best else {
        return (None, stopped);
    };
    let recorded_body = keying.body(&recorded.to_api_request());
    let diff = TextDiff::from_lines(&pretty_sorted(&recorded_body), &wanted)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "requested")
        .to_string();
    let mut differing_fields = Vec::new();
    differing_leaves(&recorded_body, &wanted_body, "", &mut differing_fields, 3);
    if differing_fields.len() > 3 || differing_fields.iter().any(|f| f == "/") {
        differing_fields.clear();
    }
    let scope = recorded
        .scope
        .filter(|theirs| Some(theirs.as_str()) != scope);
    let closest = Closest {
        path,
        same_model,
        scope,
        diff,
        differing_fields,
    };
    (Some(closest), stopped)
}

/// The request of a recording file, from its first [`MISS_HEAD_BYTES`]; only regular
/// files are opened.
fn read_request(path: &Path) -> Option<RecordedRequest> {
    if !fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(MISS_HEAD_BYTES)
        .read_to_end(&mut head)
        .ok()?;
    request_from_prefix(&head)
}
