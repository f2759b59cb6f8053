//! This crate's entry in the provider registry.

use recording_core::Normalizer;
use recording_core::provider::{Answer, Provider};
use recording_core::wire::WireFormat;

use crate::normalize::OpenAiNormalizer;

/// OpenAI-compatible servers, as the provider registry knows them.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiProvider;

/// The descriptor the registry lists.
pub static DESCRIPTOR: OpenAiProvider = OpenAiProvider;

impl Provider for OpenAiProvider {
    fn name(&self) -> &'static str {
        crate::PROVIDER
    }

    /// The OpenAI paths: recordings keep the endpoint from `/v1` on, whatever base URL
    /// the server had.
    fn path_prefixes(&self) -> &'static [&'static str] {
        &["/v1"]
    }

    fn answer(&self, bodies: &[&serde_json::Value]) -> Answer {
        crate::answer::answer(bodies)
    }

    fn rules(&self) -> &'static dyn Normalizer {
        &OpenAiNormalizer
    }

    fn wire(&self) -> &'static dyn WireFormat {
        &crate::wire::WIRE
    }

    fn upstream_env(&self) -> &'static str {
        crate::BASE_URL_ENV
    }

    /// What the OpenAI SDKs send beside the key: a beta's opt-in, and the organization
    /// and project the call is billed to.
    fn forwarded_headers(&self) -> &'static [&'static str] {
        &["openai-beta", "openai-organization", "openai-project"]
    }
}
