//! The `Recording<C>` decorator: wraps a client, is a client. Here: the builder, the
//! environment, keying and replay; `record`, `stream` (the tee) and `verify` hold the
//! other modes, `closest` the search a miss report shows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::api::client::{
    ApiRequest, ApiResponse, InferenceClient, Method, RecordedBody, ResponseBody,
};
use crate::api::error::Error;
use crate::api::miss::ReplayMiss;
use crate::api::typed_request::TypedRequest;
use crate::fault::{self, Fault, FaultPlan, INJECTED};
use crate::identity::{hash_of_canonical_body, same_endpoint, sequence_hash_of};
use crate::key::{KeySettings, Keyed};
use crate::mode::Mode;
use crate::normalizer::Normalizer;
use crate::pointer::Pointer;
use crate::redact::{Secrets, default_fields, strip_credentials};
use crate::store::Store;
use crate::store::cache::{Answer, Loaded};
use crate::store::format::{MAX_BODY_DEPTH, deeper_than, depth, dismantle};

pub(crate) mod closest;
mod record;
mod stream;
mod verify;

/// The environment variable that overrides the recordings directory.
pub const DIR_ENV: &str = "TEST_RECORDING_DIR";

/// The default recordings directory: `recordings/` in the directory of the package
/// under test (`CARGO_MANIFEST_DIR`, which cargo sets when it runs tests, examples and
/// binaries), or `./recordings` outside cargo.
pub fn default_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("recordings")
}

/// The recordings directory of the repository at `root`, for tools run there:
/// `recordings/`, or `tests/recordings/` when only that one exists.
pub fn recordings_dir_in(root: &Path) -> PathBuf {
    let tests = root.join("tests").join("recordings");
    if !root.join("recordings").is_dir() && tests.is_dir() {
        tests
    } else {
        root.join("recordings")
    }
}

/// A client that records the responses of the client it wraps and replays them.
///
/// ```
/// use recording_core::{ApiRequest, InferenceClient, Mode, Recording};
/// # use recording_core::{ApiResponse, Error, NoNormalization, Normalizer};
/// # use std::sync::Arc;
/// # struct Unreachable;
/// # #[async_trait::async_trait]
/// # impl InferenceClient for Unreachable {
/// #     fn provider(&self) -> &str { "openai" }
/// #     fn normalizer(&self) -> Arc<dyn Normalizer> { Arc::new(NoNormalization) }
/// #     async fn send(&self, _: ApiRequest) -> Result<ApiResponse, Error> {
/// #         unreachable!("replay never calls the inner client")
/// #     }
/// # }
/// # tokio_test_block_on(async {
/// let dir = tempfile::tempdir()?;
/// let client = Recording::new(Unreachable).mode(Mode::Replay).dir(dir.path());
/// let err = client
///     .send(ApiRequest::post("/v1/chat/completions", serde_json::json!({"model": "tiny"})))
///     .await
///     .expect_err("nothing is recorded yet");
/// assert!(err.to_string().contains("TEST_INFERENCE_MODE=record-if-missing"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
///
/// In the spirit of tower's `Service`/`Layer`, `Recording<C>` implements
/// [`InferenceClient`] itself, so it nests anywhere a client goes and provider
/// extension traits (typed calls) work on it unchanged.
#[derive(Debug, Clone)]
pub struct Recording<C> {
    inner: C,
    mode: Mode,
    store: Store,
    scope: Option<String>,
    /// Error statuses recorded although the default policy would not.
    recorded_errors: Arc<[u16]>,
    /// Request fields redacted before a request is keyed or written.
    redacted_fields: Arc<[Pointer]>,
    /// What keys leave out beyond the provider's own volatile fields: fields,
    /// patterns, equivalence.
    key_settings: KeySettings,
    /// In sequence mode, how many times each key has been asked so far.
    sequence: Option<Arc<Mutex<HashMap<String, u64>>>>,
    /// Replay's pace: `None` at full speed, else the recorded gaps times this.
    pace: Option<f64>,
    /// Whether record runs keep each stream chunk's time.
    record_timing: bool,
    /// In verify mode, the paths whose drift is declared harmless.
    harmless_drift: Arc<[String]>,
    /// What the inner client's secrets and volatile fields come to, worked out once:
    /// the client never changes them.
    derived: OnceLock<Derived>,
    /// Streams the caller dropped early, still being read so they can be recorded.
    draining: Drains,
    /// The faults injected into answers, if any.
    faults: Option<FaultPlan>,
    /// How often each key was called under a fault plan, across clones.
    fault_calls: fault::Calls,
}

type Drains = Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>;

#[derive(Debug, Clone)]
struct Derived {
    secrets: Secrets,
    /// The provider's volatile fields.
    volatile: Arc<[Pointer]>,
    /// The provider's rules, for its equivalence rules.
    rules: Arc<dyn Normalizer>,
    /// The provider's name in its keys, if its rules put one there.
    key_name: Option<&'static str>,
}

/// How long the recorder keeps reading a live stream that the caller dropped before
/// its end, so that it can still be recorded whole.
pub const DRAIN_TIME: Duration = Duration::from_secs(120);

/// The environment variable that adds request fields to redact, as comma-separated
/// JSON Pointers (see [`Recording::redact`]).
pub const REDACT_ENV: &str = "TEST_INFERENCE_REDACT";

/// The environment variable that makes every recording durable (`1`); see
/// [`Recording::durable`].
pub const DURABLE_ENV: &str = "TEST_INFERENCE_DURABLE";

/// The environment variable that sets replay's pace: `recorded` keeps the recorded
/// gaps between stream chunks, a number scales them (`0.5` is twice as fast), `0` or
/// unset replays at full speed.
pub const PACE_ENV: &str = "TEST_INFERENCE_PACE";

/// The environment variable that makes record runs keep each stream chunk's time
/// (`1`); off by default, because times differ on every run and would show in every
/// re-recording's diff.
pub const RECORD_TIMING_ENV: &str = "TEST_INFERENCE_RECORD_TIMING";

fn parse_pace(text: &str) -> Result<Option<f64>, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.eq_ignore_ascii_case("recorded") {
        return Ok(Some(1.0));
    }
    match text.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(factor) if factor.is_finite() && factor > 0.0 => Ok(Some(factor)),
        _ => Err(Error::Config(format!(
            "{PACE_ENV}={text:?} is not a pace: use `recorded`, a factor such as 0.5 or 2, or 0 for full speed"
        ))),
    }
}

/// How many more chunks the recorder reads of a stream the caller dropped early; a
/// stream that goes on past this is not recorded.
pub const DRAIN_CHUNKS: usize = 100_000;

/// Why an API error with `status` is not recorded unless a test opts in, or `None`
/// for the errors a request provokes on purpose (400, 404, 413, 422 ...), which are.
fn unrecorded_by_default(status: u16) -> Option<&'static str> {
    match status {
        401 | 403 => Some("an authentication error depends on the key, not the request"),
        408 => Some("a request timeout is transient"),
        429 => Some("a rate limit is transient"),
        500..=599 => Some("a server error is transient"),
        _ => None,
    }
}

impl<C> Recording<C> {
    /// Wraps `inner` in [`Mode::Replay`] with the [`default_dir`]; the environment is not
    /// read. Set mode, directory and scope with the builder methods.
    pub fn new(inner: C) -> Recording<C> {
        Recording {
            inner,
            mode: Mode::default(),
            store: Store::new(default_dir()),
            scope: None,
            recorded_errors: Arc::new([]),
            redacted_fields: default_fields(),
            key_settings: KeySettings::default(),
            sequence: None,
            pace: None,
            record_timing: false,
            harmless_drift: Arc::new([]),
            derived: OnceLock::new(),
            draining: Drains::default(),
            faults: None,
            fault_calls: fault::Calls::default(),
        }
    }

    /// Wraps `inner` with the mode from `TEST_INFERENCE_MODE` (default `replay`) and the
    /// directory from `TEST_RECORDING_DIR` (default [`default_dir`]).
    ///
    /// Fails with [`Error::Config`], listing the valid values, on an unknown mode.
    pub fn from_env(inner: C) -> Result<Recording<C>, Error> {
        let mode = Mode::from_env()?;
        let mut recording = Recording::new(inner).mode(mode);
        if let Ok(fields) = std::env::var(REDACT_ENV) {
            for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                recording = recording
                    .redact(field)
                    .map_err(|err| Error::Config(format!("{REDACT_ENV}: {err}")))?;
            }
        }
        if let Ok(pace) = std::env::var(PACE_ENV) {
            recording.pace = parse_pace(&pace)?;
        }
        if let Ok(durable) = std::env::var(DURABLE_ENV) {
            recording = recording.durable(matches!(durable.trim(), "1" | "true" | "yes"));
        }
        if let Some(on) = crate::key::env_switch(RECORD_TIMING_ENV)? {
            recording.record_timing = on;
        }
        recording.key_settings = KeySettings::from_env()?;
        recording.faults = FaultPlan::from_env()?;
        Ok(match std::env::var_os(DIR_ENV) {
            Some(dir) if !dir.is_empty() => recording.dir(dir),
            _ => recording,
        })
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Recording<C> {
        self.mode = mode;
        self
    }

    /// Sets the recordings directory (the one that holds `responses/`).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Recording<C> {
        self.store = self.store.in_dir(dir);
        self
    }

    /// Keeps recently replayed answers in memory, up to about `budget` bytes, for a
    /// recorder that lives long and replays the same recordings again and again (the
    /// recording server does; a test suite replays each once and gains nothing). A hit
    /// then costs one `stat` of its file instead of a read and a parse, and is checked
    /// against it: a file edited or re-recorded since it was kept is read again, so the
    /// cache never changes what is answered. Shared by this recorder's clones.
    pub fn cache_answers(mut self, budget: usize) -> Recording<C> {
        self.store = self.store.cache_answers(budget);
        self
    }

    /// Flushes every recording to the disk before it replaces the old one, so that not
    /// even a power loss can lose it. Off by default: a recording is always written
    /// whole and atomically (a killed test never leaves a torn file), and skipping the
    /// `fsync` takes recording from about 1 ms to about 60 µs on a disk; what a power
    /// loss can do then is in [`Store::durable`]'s notes. `TEST_INFERENCE_DURABLE=1`
    /// turns it on from the environment.
    pub fn durable(mut self, durable: bool) -> Recording<C> {
        self.store = self.store.durable(durable);
        self
    }

    /// Records this client's requests separately from the same requests made under
    /// another scope: the scope becomes part of every key. Use [`test_name!`] to scope
    /// by the current test. The scope only enters the hash and the file's `scope` field,
    /// never a path, so no scope can reach outside the recordings directory.
    ///
    /// [`test_name!`]: crate::test_name
    pub fn scope(mut self, scope: impl Into<String>) -> Recording<C> {
        self.scope = Some(scope.into());
        self
    }

    /// Records API errors with these statuses too. By default a record run writes the
    /// errors a request provokes on purpose (400, 404, 413, 422 ...), and passes on
    /// without recording authentication errors (401, 403), timeouts and rate limits
    /// (408, 429) and server errors (5xx): those say nothing about the request, and a
    /// recorded one would replay forever after the cause is gone. A test that wants
    /// to replay, say, a rate limit opts in with `.record_errors([429])`.
    ///
    /// Under every policy, an error never replaces a successful recording in
    /// [`Mode::Record`].
    pub fn record_errors(mut self, statuses: impl IntoIterator<Item = u16>) -> Recording<C> {
        self.recorded_errors = statuses.into_iter().collect();
        self
    }

    /// Redacts the request field `pointer` names (a JSON Pointer; `*` matches any index
    /// or key) before the request is keyed, compared or written: the recording holds
    /// `"<redacted>"` there, and a request that differs only in that field still
    /// replays. The real value still goes to the server when recording. Added to the
    /// defaults ([`DEFAULT_REDACTED_FIELDS`](crate::redact::DEFAULT_REDACTED_FIELDS));
    /// `TEST_INFERENCE_REDACT=/user,/metadata/token` adds more from the environment.
    /// A pointer that does not parse is an [`Error::Config`] that names it.
    pub fn redact(mut self, pointer: &str) -> Result<Recording<C>, Error> {
        let mut fields = self.redacted_fields.to_vec();
        fields.push(Pointer::parse(pointer)?);
        self.redacted_fields = fields.into();
        Ok(self)
    }

    /// Leaves the request field `pointer` names (a JSON Pointer; `*` matches any index
    /// or key) out of every key: a field that changes on every run without changing
    /// the answer (a request id, a timestamp in `metadata`, a random `user`). The
    /// recording keeps the body as it was sent. Added to the provider's defaults
    /// ([`Normalizer::volatile_request_fields`]); `TEST_INFERENCE_VOLATILE` adds more
    /// from the environment. Keys are exact by default: a changed prompt must miss.
    pub fn volatile(mut self, pointer: &str) -> Result<Recording<C>, Error> {
        self.key_settings = self.key_settings.volatile_field(pointer)?;
        Ok(self)
    }

    /// Masks a volatile pattern inside every string of every request before it is
    /// keyed: text that changes on every run without changing the answer, such as the
    /// time or a fresh id in a tool's result, which would otherwise make an agent
    /// loop's next turn miss. A preset (`uuid`, `iso8601` timestamps, `unix-ms` times,
    /// `hex` ids of 16 or more digits) or `re:` and a regular expression (the `regex`
    /// crate's syntax). The recording keeps the real text; a miss report names the
    /// patterns and compares the masked requests. Off by default;
    /// `TEST_INFERENCE_VOLATILE_PATTERNS=uuid,iso8601` adds patterns from the
    /// environment. A bad pattern is an [`Error::Config`] naming it.
    pub fn volatile_pattern(mut self, spec: &str) -> Result<Recording<C>, Error> {
        self.key_settings = self.key_settings.volatile_pattern(spec)?;
        Ok(self)
    }

    /// Turns the providers' equivalence rules on: before keying, a request is put in
    /// its provider's normal form ([`Normalizer::equivalent`]), so spellings its API
    /// treats alike (`"content": "X"` and one text part holding X) share one
    /// recording. It changes keys, so it is a setting of the whole suite
    /// (`TEST_INFERENCE_EQUIVALENCE=1`); `inference-recorder rekey` renames existing
    /// recordings to the new keys.
    pub fn equivalence(mut self, on: bool) -> Recording<C> {
        self.key_settings = self.key_settings.equivalence(on);
        self
    }

    /// Injects the faults of `plan` into answers (see [`fault`](crate::fault) for its
    /// syntax): an HTTP error in the provider's shape, a delay, a stream cut short,
    /// reset, ended by an error event or by a malformed chunk; on every call, the
    /// n-th call of a request, or a seeded share of calls. On top of replay, and of
    /// live and recorded answers, which are recorded without the fault.
    /// `TEST_INFERENCE_FAULTS` sets a plan from the environment; `None` takes it away.
    pub fn faults(mut self, plan: impl Into<Option<FaultPlan>>) -> Recording<C> {
        self.faults = plan.into();
        self
    }

    /// Replaces what keys leave out beyond the provider's rules (for a front that
    /// reads them once for many recorders).
    pub fn key_settings(mut self, settings: KeySettings) -> Recording<C> {
        self.key_settings = settings;
        self
    }

    /// What keys leave out beyond the provider's rules.
    pub fn current_key_settings(&self) -> &KeySettings {
        &self.key_settings
    }

    /// Sequence mode: the n-th identical request (within this recorder's scope, and
    /// across its clones) replays the n-th recording of it, and record mode records
    /// each call in order; for code that asks the same thing several times and expects
    /// different answers (sampling, retries, agent loops). Replaying more calls than
    /// were recorded is an error naming the counts. Tests that run in parallel must not
    /// share a scope in this mode: give each its own (`.scope(test_name!())`), or the
    /// order of their calls decides who gets which answer.
    pub fn in_sequence(mut self) -> Recording<C> {
        self.sequence = Some(Arc::default());
        self
    }

    /// Replays streams at the recorded pace: each chunk after its recorded gap times
    /// `factor` (1.0 as recorded, 0.5 twice as fast), through every front. Needs
    /// recordings made with [`Recording::record_timing`]; others replay at full speed,
    /// which is the default. `TEST_INFERENCE_PACE` sets it from the environment.
    pub fn pace(mut self, factor: f64) -> Recording<C> {
        self.pace = (factor.is_finite() && factor > 0.0).then_some(factor);
        self
    }

    /// Makes record runs keep each stream chunk's time since the request was sent
    /// (`chunk_ms` in the file), for a paced replay. Off by default: times differ on
    /// every run, so they would show in every re-recording's diff.
    /// `TEST_INFERENCE_RECORD_TIMING=1` turns it on from the environment.
    pub fn record_timing(mut self, on: bool) -> Recording<C> {
        self.record_timing = on;
        self
    }

    /// In [`Mode::Verify`], differences at `path` (and below it), such as
    /// `/usage/completion_tokens_details`, are harmless: not reported, not a failure.
    pub fn harmless_drift(mut self, path: impl Into<String>) -> Recording<C> {
        let mut paths = self.harmless_drift.to_vec();
        paths.push(path.into());
        self.harmless_drift = paths.into();
        self
    }

    /// Waits until every live stream that a caller dropped before its end has been
    /// read to its end and recorded (or given up on; see [`DRAIN_TIME`] and
    /// [`DRAIN_CHUNKS`]). The recorder reads such streams in the background; a test
    /// that drops a stream early and checks the recording right after awaits this
    /// first. Clones of a recorder share the streams they wait for.
    pub async fn finish_recording(&self) {
        loop {
            let pending =
                std::mem::take(&mut *self.draining.lock().unwrap_or_else(PoisonError::into_inner));
            if pending.is_empty() {
                return;
            }
            for task in pending {
                let _ = task.await;
            }
        }
    }

    /// The mode in force.
    pub fn current_mode(&self) -> Mode {
        self.mode
    }

    /// The recordings directory in use.
    pub fn recordings_dir(&self) -> &Path {
        self.store.dir()
    }

    /// The scope in force, if any.
    pub fn current_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The same recorder (mode, directory, scope, error policy, and the dropped
    /// streams it is still reading) around another client. The HTTP fronts keep one
    /// recorder and wrap each request's own transport in it.
    pub fn with_inner<D>(&self, inner: D) -> Recording<D> {
        Recording {
            inner,
            mode: self.mode,
            store: self.store.clone(),
            scope: self.scope.clone(),
            recorded_errors: self.recorded_errors.clone(),
            redacted_fields: self.redacted_fields.clone(),
            key_settings: self.key_settings.clone(),
            sequence: self.sequence.clone(),
            pace: self.pace,
            record_timing: self.record_timing,
            harmless_drift: self.harmless_drift.clone(),
            derived: OnceLock::new(),
            draining: self.draining.clone(),
            faults: self.faults.clone(),
            fault_calls: self.fault_calls.clone(),
        }
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Unwraps the client.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: InferenceClient> Recording<C> {
    /// The key this recorder gives `request`: of the request with its secrets redacted
    /// (see [`Recording::redact`]), its scope included.
    pub fn hash_of(&self, request: &ApiRequest) -> String {
        self.keyed(request).key
    }

    /// The key this recorder gives `request`, as [`Recording::hash_of`], with the
    /// method and endpoint its recording must be for: what
    /// [`Recording::replay_keyed`] replays.
    pub fn keyed(&self, request: &ApiRequest) -> Keyed {
        if deeper_than(&request.body, MAX_BODY_DEPTH) {
            // Too deep to redact (and refused by `send`); keyed as it is.
            return Keyed {
                key: self.key(request, 0),
                method: request.method,
                endpoint: request.endpoint.clone(),
            };
        }
        let (shown, keyed) = self.identity(request);
        let asked = shown.as_ref().unwrap_or(request);
        Keyed {
            key: self.key(keyed.as_ref().unwrap_or(asked), 0),
            method: asked.method,
            endpoint: asked.endpoint.clone(),
        }
    }

    /// Replays the recording of a request keyed before (by [`Recording::keyed`], on
    /// this recorder or one with the same settings), as [`InferenceClient::send`]
    /// would: `None` when `send` would do more than replay a file that exists (no
    /// recording, a mode that records or verifies, faults, a sequence), and the caller
    /// sends the request itself.
    pub fn replay_keyed(&self, keyed: &Keyed) -> Option<Result<ApiResponse, Error>> {
        let replays = matches!(self.mode, Mode::Replay | Mode::RecordIfMissing);
        if !replays || self.sequence.is_some() || self.faults.is_some() {
            return None;
        }
        match self.store.load_answer(&keyed.key) {
            Ok(Some((path, loaded))) => {
                Some(self.replay(&keyed.key, path, &loaded, keyed.method, &keyed.endpoint))
            }
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }

    /// The key of a typed request computed straight from its typed body, without
    /// building its value, as a typed call that replays does: the key
    /// [`Recording::hash_of`] gives its value. `None` where only the value can say:
    /// settings that rewrite bodies (equivalence, volatile patterns), volatile or
    /// redacted fields named through arrays or by wildcards, a redacted field or a
    /// secret in the body, a query string, a body nested near the recorder's limit or
    /// holding a `RawValue`.
    pub fn typed_key(&self, request: &TypedRequest<'_>) -> Option<String> {
        let derived = self.derived();
        crate::key::with_typed_canonical_body(
            request,
            &self.redacted_fields,
            &derived.secrets,
            &derived.volatile,
            &self.key_settings,
            |body| {
                hash_of_canonical_body(
                    body,
                    request.method(),
                    request.endpoint(),
                    self.scope.as_deref(),
                    derived.key_name,
                )
            },
        )
    }

    /// Replays a typed request keyed by [`Recording::typed_key`], as
    /// [`Recording::replay_keyed`] does: `None` when it has no such key or when `send`
    /// would do more than replay a file that exists.
    fn replay_typed(&self, request: &TypedRequest<'_>) -> Option<Result<ApiResponse, Error>> {
        let replays = matches!(self.mode, Mode::Replay | Mode::RecordIfMissing);
        if !replays || self.sequence.is_some() || self.faults.is_some() {
            return None;
        }
        let keyed = Keyed {
            key: self.typed_key(request)?,
            method: request.method(),
            endpoint: request.endpoint().to_owned(),
        };
        self.replay_keyed(&keyed)
    }

    /// The key of the `call`-th identical `keyed` request in this recorder's scope.
    fn key(&self, keyed: &ApiRequest, call: u64) -> String {
        let name = self.derived().key_name;
        sequence_hash_of(keyed, self.scope.as_deref(), name, call)
    }

    fn derived(&self) -> &Derived {
        self.derived.get_or_init(|| {
            let normalizer = self.inner.normalizer();
            let defaults = normalizer
                .volatile_request_fields()
                .iter()
                .filter_map(|field| Pointer::parse(field).ok());
            Derived {
                secrets: Secrets::new(self.inner.secrets()),
                volatile: defaults.collect(),
                key_name: normalizer.key_name(),
                rules: normalizer.clone(),
            }
        })
    }

    /// The request as it is written (its secrets redacted) and as it is keyed (its
    /// volatile fields out too); `None` for either where it is `request` itself, so
    /// the common case copies nothing.
    fn identity(&self, request: &ApiRequest) -> (Option<ApiRequest>, Option<ApiRequest>) {
        let derived = self.derived();
        crate::key::shown_and_keyed(
            request,
            &self.redacted_fields,
            &derived.secrets,
            &derived.volatile,
            &self.key_settings,
            derived.rules.as_ref(),
        )
    }

    /// The file that holds, or would hold, the recording of `request`.
    pub fn path_of(&self, request: &ApiRequest) -> PathBuf {
        self.store.path_for(&self.hash_of(request))
    }

    /// The answer recorded in `loaded`, for a request with `method` and `endpoint`:
    /// an error naming the file when it was recorded for another.
    fn replay(
        &self,
        hash: &str,
        path: PathBuf,
        loaded: &Loaded,
        method: Method,
        endpoint: &str,
    ) -> Result<ApiResponse, Error> {
        if loaded.method != method || !same_endpoint(&loaded.endpoint, endpoint) {
            return Err(Error::InvalidRecording {
                reason: format!(
                    "it records {} {}, but it is named for {method} {endpoint}: was it renamed, or edited by hand?",
                    loaded.method, loaded.endpoint
                ),
                path,
            });
        }
        tracing::debug!(mode = %self.mode, hash, path = %path.display(), outcome = "hit", "replaying recording");
        crate::store::used::note(self.store.dir(), hash);
        let body = match &loaded.answer {
            Answer::Error(error) => return Err(error.clone().into_error()),
            Answer::Json(body) => RecordedBody::json(body.clone()),
            Answer::Stream {
                chunks,
                error,
                chunk_ms,
            } => RecordedBody::stream(
                chunks.clone(),
                error.clone().map(|error| error.into_error()),
                self.pace
                    .zip(chunk_ms.as_ref())
                    .map(|(factor, times)| gaps(times, factor)),
            ),
        };
        Ok(ApiResponse {
            body: ResponseBody::Recorded(body),
            origin: Some(path),
            ending: Default::default(),
            fault: None,
        })
    }
}

#[async_trait]
impl<C: InferenceClient> InferenceClient for Recording<C> {
    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        self.inner.normalizer()
    }

    fn base_url(&self) -> Option<String> {
        self.inner.base_url()
    }

    fn secrets(&self) -> Vec<String> {
        self.inner.secrets()
    }

    async fn send_typed(&self, request: TypedRequest<'_>) -> Result<ApiResponse, Error> {
        if let Some(answer) = self.replay_typed(&request) {
            return answer;
        }
        self.send(request.to_request()?).await
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        match &self.faults {
            None => self.send_plain(request).await,
            Some(plan) => self.send_with_faults(request, plan).await,
        }
    }
}

impl<C: InferenceClient> Recording<C> {
    async fn send_plain(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        self.send_keyed(request)
            .await
            .map_err(|err| self.name_the_upstream(err))
    }

    /// The answer to `request` with the fault `plan` chooses for this call, if any.
    async fn send_with_faults(
        &self,
        request: ApiRequest,
        plan: &FaultPlan,
    ) -> Result<ApiResponse, Error> {
        let key = self.hash_of(&request);
        let call = self.fault_calls.next(&key);
        let Some(injected) = plan.choose(&key, call) else {
            return self.send_plain(request).await;
        };
        tracing::debug!(fault = %injected, key = &key[..12], call, "injecting a fault");
        let rules = self.derived().rules.clone();
        match injected.fault {
            // Refused before anything is sent: nothing reaches a server or a file.
            Fault::Status {
                status,
                retry_after,
            } => {
                let (body, headers) = rules.fault_error(status, retry_after);
                return Err(Error::Api {
                    status,
                    body,
                    not_recorded: Some(format!("{INJECTED}{injected}")),
                    headers: headers.into_boxed_slice(),
                });
            }
            Fault::Delay(wait) => tokio::time::sleep(wait).await,
            _ => {}
        }
        match self.send_plain(request).await {
            Ok(response) => Ok(fault::inject(response, &injected, rules.as_ref())),
            Err(Error::ReplayMiss(mut miss)) => {
                miss.fault = Some(injected.rule);
                Err(Error::ReplayMiss(miss))
            }
            Err(err) => Err(err),
        }
    }

    /// A transport failure (the server down, a refused connection, a timeout) said with
    /// what the message alone does not tell: which upstream, in which mode, and what to
    /// do. The URL is shown without credentials, and the whole scrubbed again: a key
    /// can sit in a base URL's path.
    fn name_the_upstream(&self, err: Error) -> Error {
        let Error::Transport(message) = err else {
            return err;
        };
        let upstream = match self.inner.base_url() {
            Some(base) => strip_credentials(&base),
            None => "(no base URL)".to_owned(),
        };
        let secrets = &self.derived().secrets;
        secrets.scrub_error(Error::Transport(format!(
            "{message}\n  upstream: {} {upstream}\n  mode: {}\n  next: start that server (or point the recorder at one: OPENAI_BASE_URL, OLLAMA_HOST, `serve --openai-upstream`/`--ollama-upstream`), or replay what is recorded with TEST_INFERENCE_MODE=replay",
            self.inner.provider(),
            self.mode
        )))
    }

    async fn send_keyed(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let secrets = self.derived().secrets.clone();
        if self.mode == Mode::Live {
            tracing::debug!(mode = %self.mode, endpoint = %request.endpoint, outcome = "live", "passing through");
            return self
                .inner
                .send(request)
                .await
                .map_err(|err| secrets.scrub_error(err));
        }
        if deeper_than(&request.body, MAX_BODY_DEPTH) {
            let levels = depth(&request.body);
            let message = format!(
                "the body of {} {} is nested {levels} levels deep; the recorder takes at most {MAX_BODY_DEPTH}",
                request.method, request.endpoint
            );
            dismantle(request.body);
            return Err(Error::Config(message));
        }
        let (identity, keyed) = self.identity(&request);
        let keyed_request = keyed.as_ref().or(identity.as_ref()).unwrap_or(&request);
        let mut hash = self.key(keyed_request, 0);
        let mut call = 0;
        if let Some(sequence) = &self.sequence {
            let mut counts = sequence.lock().unwrap_or_else(PoisonError::into_inner);
            let count = counts.entry(hash.clone()).or_insert(0);
            call = *count;
            *count += 1;
            drop(counts);
            hash = self.key(keyed_request, call);
        }
        if self.mode == Mode::Verify {
            return self.verify(request, &hash, &secrets).await;
        }
        if self.mode != Mode::Record {
            // A file that exists but cannot be parsed is an error here, never a reason
            // to record over it: it may be someone's only copy.
            if let Some((path, loaded)) = self.store.load_answer(&hash)? {
                let asked = identity.as_ref().unwrap_or(&request);
                return self.replay(&hash, path, &loaded, asked.method, &asked.endpoint);
            }
            if self.mode == Mode::Replay && call > 0 {
                return Err(Error::ReplayMiss(Box::new(ReplayMiss::beyond_sequence(
                    identity.as_ref().unwrap_or(&request),
                    hash,
                    self.inner.provider(),
                    self.scope.as_deref(),
                    call,
                    &self.store,
                ))));
            }
            if self.mode == Mode::Replay {
                tracing::debug!(mode = %self.mode, hash, endpoint = %request.endpoint, outcome = "miss", "no recording");
                return Err(Error::ReplayMiss(Box::new(
                    ReplayMiss::new(
                        identity.as_ref().unwrap_or(&request),
                        hash,
                        self.inner.provider(),
                        self.scope.as_deref(),
                        self.mode,
                        &self.store,
                        closest::Keying {
                            settings: self.key_settings.clone(),
                            rules: self.derived().rules.clone(),
                        },
                    )
                    .await,
                )));
            }
        }
        self.record(request, identity, hash, secrets).await
    }
}

/// The waits between chunks recorded at `times` (milliseconds since the request),
/// scaled by `factor`.
fn gaps(times: &[u64], factor: f64) -> Vec<Duration> {
    let mut before = 0;
    times
        .iter()
        .map(|&at| {
            let gap = at.saturating_sub(before);
            before = at;
            Duration::from_secs_f64(gap as f64 / 1000.0 * factor)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::record::request_url;
    use super::{gaps, parse_pace};
    use std::time::Duration;

    #[test]
    fn paces_are_read_and_bad_ones_are_named() {
        assert_eq!(parse_pace("recorded").ok(), Some(Some(1.0)));
        assert_eq!(parse_pace(" 0.5 ").ok(), Some(Some(0.5)));
        assert_eq!(parse_pace("0").ok(), Some(None));
        assert_eq!(parse_pace("").ok(), Some(None));
        for bad in ["fast", "-1", "inf"] {
            let err = parse_pace(bad).expect_err(bad).to_string();
            assert!(
                err.contains("TEST_INFERENCE_PACE") && err.contains(bad),
                "{err}"
            );
        }
        assert_eq!(
            gaps(&[100, 300, 600], 0.5),
            [50, 100, 150].map(Duration::from_millis)
        );
    }

    /// The typed path keys a plain typed request itself (the point of it: no `Value`
    /// built), with the key its value gets, and leaves a body that redaction changes,
    /// and settings that rewrite bodies, to `send`.
    #[tokio::test]
    async fn typed_requests_are_keyed_without_their_value_where_that_gives_their_key() {
        use crate::api::client::{ApiRequest, ApiResponse, InferenceClient};
        use crate::api::error::Error;
        use crate::api::typed_request::TypedRequest;
        use crate::{Mode, Recording, client_fn};

        let dir = tempfile::tempdir().expect("tempdir");
        let answer = |_: ApiRequest| async {
            Ok::<_, Error>(ApiResponse::json(serde_json::json!({"ok": 1})))
        };
        let record = Recording::new(client_fn("test", answer))
            .mode(Mode::Record)
            .dir(dir.path());
        let plain = serde_json::json!({"model": "tiny", "temperature": 0.5, "messages": [{"content": "hi"}]});
        let redacted = serde_json::json!({"model": "tiny", "password": "hunter2-long-one"});
        for body in [&plain, &redacted] {
            let request = TypedRequest::post("/v1/chat/completions", body);
            record.send_typed(request).await.expect("recorded");
        }
        let replay = Recording::new(client_fn("test", answer))
            .mode(Mode::Replay)
            .dir(dir.path());
        let typed = TypedRequest::post("/v1/chat/completions", &plain);
        let hit = replay
            .replay_typed(&typed)
            .expect("keyed from the typed body");
        assert_eq!(
            hit.expect("a hit").origin,
            Some(replay.path_of(&typed.to_request().expect("value")))
        );
        let typed_redacted = TypedRequest::post("/v1/chat/completions", &redacted);
        assert!(
            replay.replay_typed(&typed_redacted).is_none(),
            "redaction needs the value"
        );
        replay
            .send_typed(typed_redacted)
            .await
            .expect("replayed through send");
        let replaying = || {
            Recording::new(client_fn("test", answer))
                .mode(Mode::Replay)
                .dir(dir.path())
        };
        let rewriting = [
            replaying().equivalence(true),
            replaying().volatile_pattern("uuid").expect("preset"),
            replaying()
                .volatile("/messages/*/content")
                .expect("pointer"),
            replaying().mode(Mode::Record),
        ];
        for other in rewriting {
            assert!(other.replay_typed(&typed).is_none(), "{other:?}");
        }
    }

    #[test]
    fn request_urls_never_carry_credentials() {
        assert_eq!(
            request_url(
                Some("https://user:sk-secret@api.example.com/v1?key=sk-secret"),
                "/chat"
            ),
            "https://api.example.com/v1/chat"
        );
        assert_eq!(
            request_url(Some("http://127.0.0.1:8080/"), "/v1/models"),
            "http://127.0.0.1:8080/v1/models"
        );
        assert_eq!(request_url(None, "/v1/models"), "");
    }
}
