//! This crate's entry in the provider registry.

use recording_core::Normalizer;
use recording_core::provider::{Answer, Provider};
use recording_core::wire::WireFormat;

use crate::normalize::AnthropicNormalizer;

/// The path under which the recording server serves this provider's whole API, so the
/// SDKs work by base URL alone (`/v1/models` is an OpenAI path too).
pub const MOUNT: &str = "/anthropic";

/// Anthropic's Messages API, as the provider registry knows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicProvider;

/// The descriptor the registry lists.
pub static DESCRIPTOR: AnthropicProvider = AnthropicProvider;

impl Provider for AnthropicProvider {
    fn name(&self) -> &'static str {
        crate::PROVIDER
    }

    /// The paths that are Anthropic's alone; its model list shares `/v1/models` with
    /// OpenAI, and is told apart by [`MOUNT`] or the `anthropic-version` header.
    fn path_prefixes(&self) -> &'static [&'static str] {
        &[crate::MESSAGES]
    }

    fn mount(&self) -> Option<&'static str> {
        Some(MOUNT)
    }

    /// Every Anthropic SDK sends `anthropic-version`, so a request that carries it is
    /// Anthropic's on any `/v1` path.
    fn claimed_by_header(&self) -> Option<(&'static str, &'static str)> {
        Some(("anthropic-version", "/v1"))
    }

    fn answer(&self, bodies: &[&serde_json::Value]) -> Answer {
        crate::answer::answer(bodies)
    }

    fn rules(&self) -> &'static dyn Normalizer {
        &AnthropicNormalizer
    }

    fn wire(&self) -> &'static dyn WireFormat {
        &crate::wire::WIRE
    }

    fn upstream_env(&self) -> &'static str {
        crate::BASE_URL_ENV
    }

    /// The API version the SDK was written against, and its beta opt-ins: both change
    /// what the server answers.
    fn forwarded_headers(&self) -> &'static [&'static str] {
        &["anthropic-version", "anthropic-beta"]
    }
}
