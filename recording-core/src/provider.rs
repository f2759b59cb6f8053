//! What a provider crate supplies so that every front and tool serves it without
//! naming it: one [`Provider`] descriptor each, listed in one [`Registry`].
//!
//! The server routes a request by asking the registry whose path it is; `normalize`,
//! `key` and `import` pick a recording's rules by the provider it names (or, for files
//! that name none, by its endpoint). Adding a provider is a crate that exports a
//! descriptor, and one line in the registry's list.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::normalizer::Normalizer;
use crate::wire::WireFormat;

/// What a recorded answer says, as a person reads it: the text, the tool calls, why it
/// stopped. Each provider assembles it from its own bodies or stream chunks
/// ([`Provider::answer`]), so tools that show or compare answers know every dialect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// Whether the bodies hold a model's answer at all (a model list or a status does
    /// not), so an empty text can be told from no answer.
    pub answered: bool,
    /// The answer's text, a stream's deltas joined.
    pub text: String,
    /// The tool calls, in order, a stream's pieces joined.
    pub tool_calls: Vec<ToolCall>,
    /// Why it stopped (`stop`, `end_turn`, `tool_use`, ...), when the provider says.
    pub stop_reason: Option<String>,
    /// The token counts the answer reports, by the provider's own names
    /// (`completion_tokens`, `output_tokens`, `eval_count`; nested counts as
    /// `prompt_tokens_details.cached_tokens`), a stream's later counts replacing earlier
    /// ones.
    pub usage: BTreeMap<String, u64>,
}

impl Answer {
    /// Takes the counts of a usage object (or, for providers that report counts
    /// beside the answer, of the body itself: `fields` names which) into
    /// [`usage`](Answer::usage).
    pub fn add_usage(&mut self, usage: &Value, fields: Option<&[&str]>) {
        fn walk(value: &Value, at: &str, into: &mut BTreeMap<String, u64>) {
            match value {
                Value::Object(map) => {
                    for (name, item) in map {
                        let here = if at.is_empty() {
                            name.clone()
                        } else {
                            format!("{at}.{name}")
                        };
                        walk(item, &here, into);
                    }
                }
                Value::Number(number) => {
                    if let Some(count) = number.as_u64() {
                        into.insert(at.to_owned(), count);
                    }
                }
                _ => {}
            }
        }
        match fields {
            None => walk(usage, "", &mut self.usage),
            Some(fields) => {
                for field in fields {
                    if let Some(count) = usage.get(*field).and_then(Value::as_u64) {
                        self.usage.insert((*field).to_owned(), count);
                    }
                }
            }
        }
    }
}

/// One tool call of an [`Answer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCall {
    /// The tool's name.
    pub name: String,
    /// Its arguments as JSON text, as the model wrote them.
    pub arguments: String,
}

impl ToolCall {
    /// The call at `index` of `calls`, made when missing: streams name calls by index
    /// and send their pieces in order.
    pub fn at(calls: &mut Vec<ToolCall>, index: usize) -> &mut ToolCall {
        if calls.len() <= index {
            calls.resize(index + 1, ToolCall::default());
        }
        &mut calls[index]
    }
}

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

    /// A path prefix under which a front serves this provider's whole API, stripped
    /// before the request is keyed (`/anthropic`: the SDK given
    /// `http://127.0.0.1:PORT/anthropic` posts to `/anthropic/v1/messages`, recorded as
    /// `/v1/messages`). For a provider whose paths others share. None by default.
    fn mount(&self) -> Option<&'static str> {
        None
    }

    /// A request header only this provider's clients send, and the path prefix it
    /// claims requests under (`anthropic-version` on `/v1`): a request carrying it is
    /// this provider's even on a path another provider owns too. None by default.
    fn claimed_by_header(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// How long the longest of [`path_prefixes`](Provider::path_prefixes) that `path`
    /// is in is, if any: the registry routes a path to its most specific owner.
    fn owned_length(&self, path: &str) -> Option<usize> {
        self.path_prefixes()
            .iter()
            .filter(|prefix| is_below(path, prefix))
            .map(|prefix| prefix.len())
            .max()
    }

    /// What `bodies` say: one response body, or a stream's chunks in order. Nothing
    /// by default.
    fn answer(&self, bodies: &[&Value]) -> Answer {
        let _ = bodies;
        Answer::default()
    }
}

/// Whether `path` is `prefix` or below it, by whole segments.
fn is_below(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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

    /// The provider whose API `path` belongs to: the one with the longest prefix it is
    /// in (`/v1/messages` is Anthropic's below OpenAI's `/v1`), the first listed on a
    /// tie.
    pub fn for_path(&self, path: &str) -> Option<&'static dyn Provider> {
        let mut best: Option<(usize, &'static dyn Provider)> = None;
        for &provider in self.0 {
            if let Some(length) = provider.owned_length(path)
                && best.is_none_or(|(longest, _)| length > longest)
            {
                best = Some((length, provider));
            }
        }
        best.map(|(_, provider)| provider)
    }

    /// The provider a front's request is for, and the endpoint path to key and forward
    /// it by: under a provider's [`mount`](Provider::mount), that provider and the
    /// rest of the path; else the provider whose
    /// [`claimed_by_header`](Provider::claimed_by_header) the request carries
    /// (`has_header` says which it does), on a path below its prefix; else
    /// [`for_path`](Registry::for_path).
    pub fn route<'p>(
        &self,
        path: &'p str,
        has_header: impl Fn(&str) -> bool,
    ) -> Option<(&'static dyn Provider, &'p str)> {
        for &provider in self.0 {
            if let Some(mount) = provider.mount()
                && is_below(path, mount)
            {
                let rest = &path[mount.len()..];
                return Some((provider, if rest.is_empty() { "/" } else { rest }));
            }
        }
        let claimed = self.0.iter().copied().find(|provider| {
            provider
                .claimed_by_header()
                .is_some_and(|(header, prefix)| is_below(path, prefix) && has_header(header))
        });
        claimed
            .or_else(|| self.for_path(path))
            .map(|provider| (provider, path))
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
