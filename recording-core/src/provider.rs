//! What a provider crate supplies so that every front and tool serves it without
//! naming it: one [`Provider`] descriptor each, listed in one [`Registry`].
//!
//! The server routes a request by asking the registry whose path it is; `normalize`,
//! `key` and `import` pick a recording's rules by the provider it names (or, for files
//! that name none, by its endpoint). Adding a provider is a crate that exports a
//! descriptor, and one line in the registry's list.

use crate::normalizer::Normalizer;
use crate::wire::WireFormat;

/// One provider's descriptor: its name, the requests that are its own, its rules and
/// its wire format.
pub trait Provider: Send + Sync + 'static {
    /// The name written into recordings (`request.provider`), such as `openai`.
    fn name(&self) -> &'static str;

    /// The path prefixes of its API (`/v1`, `/api`), as a front receives requests
    /// and as recordings store endpoints.
    fn path_prefixes(&self) -> &'static [&'static str];

    /// Its normalization rules, which also name its volatile request fields.
    fn rules(&self) -> &'static dyn Normalizer;

    /// How its answers are framed on the wire.
    fn wire(&self) -> &'static dyn WireFormat;

    /// The environment variable its SDKs read for the server's address
    /// (`OPENAI_BASE_URL`), for what a recording front tells its user to set.
    fn upstream_env(&self) -> &'static str;

    /// The request headers (lower case) that change what its server answers or bills
    /// (`openai-beta`, an organization, `anthropic-version`): the recording server
    /// forwards these from its clients to the upstream, through
    /// [`InferenceClient::with_headers`](crate::InferenceClient::with_headers). They are
    /// not part of the key. None by default.
    fn forwarded_headers(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether `path` belongs to its API: one of [`path_prefixes`](Provider::path_prefixes)
    /// itself, or below it.
    fn owns(&self, path: &str) -> bool {
        self.path_prefixes().iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// The providers every front and tool knows, in the order they are tried. The first is
/// the fallback for a recording that names no provider and whose endpoint none claims
/// (files written by other tools).
#[derive(Clone, Copy)]
pub struct Registry(&'static [&'static dyn Provider]);

impl Registry {
    /// A registry of `providers`; the first is the fallback.
    pub const fn new(providers: &'static [&'static dyn Provider]) -> Registry {
        Registry(providers)
    }

    /// Every provider, in order.
    pub fn all(&self) -> &'static [&'static dyn Provider] {
        self.0
    }

    /// The provider named `name` in recordings.
    pub fn named(&self, name: &str) -> Option<&'static dyn Provider> {
        self.0
            .iter()
            .copied()
            .find(|provider| provider.name() == name)
    }

    /// The provider whose API `path` belongs to, for a front routing a request.
    pub fn for_path(&self, path: &str) -> Option<&'static dyn Provider> {
        self.0.iter().copied().find(|provider| provider.owns(path))
    }

    /// The provider of a recording: the one it names, else the one whose API its
    /// endpoint is in, else the fallback. A name no provider has is an error that lists
    /// the known ones.
    pub fn for_recording(
        &self,
        name: Option<&str>,
        endpoint: &str,
    ) -> Result<&'static dyn Provider, String> {
        match name {
            Some(name) => self.named(name).ok_or_else(|| {
                format!(
                    "unknown provider {name:?} in `request.provider` (known: {})",
                    self.names()
                )
            }),
            None => self
                .for_path(endpoint)
                .or_else(|| self.0.first().copied())
                .ok_or_else(|| "no provider is registered".to_owned()),
        }
    }

    /// The providers' names, as `openai, ollama`.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|provider| provider.name()).collect();
        names.join(", ")
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({})", self.names())
    }
}
