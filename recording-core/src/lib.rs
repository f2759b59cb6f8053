//! The record/replay engine of Inference Recorder.
//!
//! Tests that talk to LLM inference APIs run against *real* recorded responses:
//! deterministic, offline and free. This crate knows nothing about any provider; it
//! owns the pieces every provider shares:
//!
//! - [`InferenceClient`]: one small object-safe async trait, JSON in
//!   ([`ApiRequest`]), a JSON body or a chunk stream out ([`ApiResponse`]).
//! - [`Recording`]: the decorator that wraps a client and is a client, in one of five
//!   [`Mode`]s read from `TEST_INFERENCE_MODE`.
//! - Request identity ([`request_hash`]): SHA-256 over RFC 8785 canonical JSON.
//! - The on-disk format ([`RecordingFile`]) and the [`Store`] that reads recordings by
//!   key and writes them atomically.
//! - [`Normalizer`]: the hook through which a provider rewrites volatile fields.
//!
//! Provider crates (`provider-openai`, `provider-ollama`) supply the real clients,
//! typed APIs and normalization rules, and a [`provider::Provider`] descriptor each.
//!
//! The modules, in reading order; no two import each other in a circle:
//! - `api`: the request, the response, the [`InferenceClient`] trait, the [`Error`],
//!   the [`ReplayMiss`] report as a plain value. No I/O. (Its items are at the root.)
//! - [`Mode`] (`mode`) and [`env`](mod@env): the five modes, and every environment
//!   variable.
//! - `identity`, `key`: the canonical form and SHA-256 key; [`key_of`], the one key
//!   function every front and tool keys requests with.
//! - [`redact`], [`pointer`](mod@pointer): secrets and redacted fields; JSON Pointers.
//! - [`store`](mod@store): the recordings directory and its atomic and batch writes,
//!   with its parts [`format`](mod@store::format) (the file schema, also at `format`)
//!   and [`used`] (the used set behind `inference-recorder unused`).
//! - `recorder/`: the [`Recording`] decorator (builder, environment, keying, replay),
//!   with `record`, `stream` (the tee that records a stream as it passes), `verify` and
//!   `closest` (the search a miss report shows); [`drift`] (verify's comparison),
//!   [`scope`] (a test's name).
//! - For provider authors: `normalizer` ([`Normalizer`]), [`provider`] (the descriptor
//!   and the registry type), [`transport`] and [`timeout`] (what HTTP clients share),
//!   [`wire`] (answers as HTTP, and the request parser both HTTP fronts use).
//! - For this workspace's tools: [`internals`].
//!
//! ```
//! use recording_core::{Mode, Recording};
//! # struct RealClient;
//! // In a test: the one-line swap. Replay by default; TEST_INFERENCE_MODE chooses.
//! let client = Recording::from_env(RealClient)?;
//! # let _ = client;
//! // Or explicitly:
//! let client = Recording::new(RealClient).mode(Mode::RecordIfMissing).dir("tests/recordings");
//! assert_eq!(client.current_mode(), Mode::RecordIfMissing);
//! # Ok::<(), recording_core::Error>(())
//! ```

mod api;
mod canonical;
pub mod drift;
pub mod env;
pub mod equivalence;
pub mod fault;
mod identity;
pub mod key;
mod mask;
mod mode;
pub mod normalizer;
pub mod pointer;
pub mod provider;
mod recorder;
pub mod redact;
#[doc(hidden)]
pub mod scope;
pub mod store;
pub mod timeout;
pub mod transport;
pub mod wire;

// What a test author uses; other audiences have a module each: `env` (every
// environment variable and default directory), `key` (request identity), `normalizer`
// and `transport` (provider authors), `wire` (HTTP fronts), `limits`.
pub use api::client::{ApiRequest, ApiResponse, InferenceClient, Method, TypedStream};
pub use api::client_fn::{ClientFn, client_fn};
pub use api::error::Error;
pub use api::miss::{Closest, ReplayMiss};
pub use api::typed_request::TypedRequest;
pub use format::RecordingFile;
pub use identity::request_hash;
pub use key::key_of;
pub use mode::Mode;
pub use normalizer::{NoNormalization, NormalizeContext, Normalizer};
pub use recorder::Recording;
pub use store::Store;
// The file schema and the used set live in `store`; these paths stay for the tools
// and suites that name them.
pub use store::{format, used};

/// This workspace's tools' view of the engine (`normalize`, the `inference-recorder`
/// command, the fuzz targets): batch rewrites, raw access to a file's bodies, the used
/// set and its judgement. Not meant for test suites, and not held to the stability the
/// rest of the crate keeps, as insta labels its own internals.
pub mod internals {
    pub use crate::store::format::{
        Format, detect_format, raw_bodies_mut, request_from_prefix, response_bodies_mut,
        to_pretty_json, to_sorted_pretty_json, write_pretty_json,
    };
    pub use crate::store::used::{
        RUN_PREFIX, RunProcess, USED_DIR, Unjudgeable, UsedSet, mark_run, note,
    };
    pub use crate::store::{AtomicBatch, BATCH_TEMP_PREFIX, is_batch_temp, write_atomically};
}

/// The recorder's fixed limits: how far a miss report searches, how long a dropped
/// stream is read on to be recorded, how deep a body may nest.
pub mod limits {
    pub use crate::recorder::closest::{MISS_HEAD_BYTES, MISS_SEARCH_FILES, MISS_SEARCH_TIME};
    pub use crate::recorder::{DRAIN_CHUNKS, DRAIN_TIME};
    pub use crate::store::format::MAX_BODY_DEPTH;
}
