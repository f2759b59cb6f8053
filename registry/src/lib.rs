//! The providers Inference Recorder knows, in one list. The recording server routes
//! by it, and `normalize`, `key` and `import` choose a recording's rules by it, so no
//! front or tool names a provider or its paths. A new provider is a crate that exports
//! a [`Provider`](recording_core::provider::Provider) descriptor, and one line here.

use recording_core::provider::Registry;

/// Every provider. OpenAI-compatible first: the fallback for a recording that names
/// no provider and whose endpoint no provider claims (the dialect most servers speak).
pub static PROVIDERS: Registry = Registry::new(&[
    &provider_openai::DESCRIPTOR,
    &provider_ollama::DESCRIPTOR,
    &provider_anthropic::DESCRIPTOR,
]);

#[cfg(test)]
mod tests {
    use super::PROVIDERS;

    #[test]
    fn requests_and_recordings_find_their_provider() {
        assert_eq!(PROVIDERS.names(), "openai, ollama, anthropic");
        let name = |path: &str| PROVIDERS.for_path(path).map(|p| p.name());
        assert_eq!(name("/v1/chat/completions"), Some("openai"));
        assert_eq!(name("/v1"), Some("openai"));
        assert_eq!(name("/api/generate"), Some("ollama"));
        assert_eq!(name("/v10/x"), None, "a prefix is a whole segment");
        assert_eq!(name("/health"), None);
        assert_eq!(
            name("/v1/messages"),
            Some("anthropic"),
            "the longest prefix"
        );
        assert_eq!(name("/v1/messages/count_tokens"), Some("anthropic"));
        assert_eq!(name("/v1/messagesx"), Some("openai"));
        let route = |path: &'static str, header: Option<&'static str>| {
            PROVIDERS
                .route(path, |name| Some(name) == header)
                .map(|(provider, endpoint)| (provider.name(), endpoint))
        };
        assert_eq!(route("/v1/models", None), Some(("openai", "/v1/models")));
        assert_eq!(
            route("/v1/models", Some("anthropic-version")),
            Some(("anthropic", "/v1/models")),
            "the header every Anthropic SDK sends"
        );
        assert_eq!(
            route("/anthropic/v1/models", None),
            Some(("anthropic", "/v1/models")),
            "the mount"
        );
        assert_eq!(route("/anthropic", None), Some(("anthropic", "/")));
        assert_eq!(route("/anthropicx/v1", None), None);
        assert_eq!(
            route("/api/chat", Some("anthropic-version")),
            Some(("ollama", "/api/chat"))
        );
        let rules = |provider: Option<&str>, endpoint: &str| {
            PROVIDERS
                .for_recording(provider, endpoint)
                .map(|p| p.name())
        };
        assert_eq!(rules(Some("ollama"), "/v1/chat/completions"), Ok("ollama"));
        assert_eq!(rules(None, "/api/embed"), Ok("ollama"));
        assert_eq!(rules(None, "/rerank"), Ok("openai"), "the fallback");
        assert_eq!(rules(None, "/v1/messages"), Ok("anthropic"));
        assert_eq!(rules(Some("anthropic"), "/v1/models"), Ok("anthropic"));
        let err = rules(Some("gemini"), "/v1/messages").expect_err("unknown");
        assert!(
            err.contains("\"gemini\"") && err.contains("openai, ollama, anthropic"),
            "{err}"
        );
    }
}
