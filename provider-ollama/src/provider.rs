//! This crate's entry in the provider registry.

use recording_core::Normalizer;
use recording_core::provider::{Answer, Provider};
use recording_core::wire::WireFormat;

use crate::normalize::OllamaNormalizer;

/// Ollama, as the provider registry knows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaProvider;

/// The descriptor the registry lists.
pub static DESCRIPTOR: OllamaProvider = OllamaProvider;

impl Provider for OllamaProvider {
    fn name(&self) -> &'static str {
        crate::PROVIDER
    }

    /// Ollama's native API.
    fn path_prefixes(&self) -> &'static [&'static str] {
        &["/api"]
    }

    fn answer(&self, bodies: &[&serde_json::Value]) -> Answer {
        crate::answer::answer(bodies)
    }

    fn rules(&self) -> &'static dyn Normalizer {
        &OllamaNormalizer
    }

    fn wire(&self) -> &'static dyn WireFormat {
        &crate::wire::WIRE
    }

    fn upstream_env(&self) -> &'static str {
        crate::HOST_ENV
    }
}
