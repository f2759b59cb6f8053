//! The providers Inference Recorder knows, in one list. The recording server routes
//! by it, and `normalize`, `key` and `import` choose a recording's rules by it, so no
//! front or tool names a provider or its paths. A new provider is a crate that exports
//! a [`Provider`](recording_core::provider::Provider) descriptor, and one line here.

use recording_core::provider::Registry;

/// Every provider. OpenAI-compatible first: the fallback for a recording that names
/// no provider and whose endpoint no provider claims (the dialect most servers speak).
pub static PROVIDERS: Registry =
    Registry::new(&[&provider_openai::DESCRIPTOR, &provider_ollama::DESCRIPTOR]);

#[cfg(test)]
mod tests {
    use super::PROVIDERS;

    #[test]
    fn requests_and_recordings_find_their_provider() {
        assert_eq!(PROVIDERS.names(), "openai, ollama");
        let name = |path: &str| PROVIDERS.for_path(path).map(|p| p.name());
        assert_eq!(name("/v1/chat/completions"), Some("openai"));
        assert_eq!(name("/v1"), Some("openai"));
        assert_eq!(name("/api/generate"), Some("ollama"));
        assert_eq!(name("/v10/x"), None, "a prefix is a whole segment");
        assert_eq!(name("/health"), None);
        let rules = |provider: Option<&str>, endpoint: &str| {
            PROVIDERS
                .for_recording(provider, endpoint)
                .map(|p| p.name())
        };
        assert_eq!(rules(Some("ollama"), "/v1/chat/completions"), Ok("ollama"));
        assert_eq!(rules(None, "/api/embed"), Ok("ollama"));
        assert_eq!(rules(None, "/rerank"), Ok("openai"), "the fallback");
        let err = rules(Some("anthropic"), "/v1/messages").expect_err("unknown");
        assert!(
            err.contains("\"anthropic\"") && err.contains("openai, ollama"),
            "{err}"
        );
    }
}
