//! The process-wide TLS crypto provider, for the tests that build an app's own
//! `async_openai::Client` or a bare reqwest client.
//!
//! This workspace builds async-openai without a TLS feature and reqwest with
//! `rustls-no-provider`: the provider crates hand each of their clients its own
//! provider and install none for the process (the recorder must not change what an
//! app's clients use). A client built by someone else then needs one installed, as an
//! app on such a build installs it at start; an app on async-openai's default features
//! has aws-lc-rs and needs nothing.

/// Installs ring for the process, once; a provider installed first stays.
pub fn install() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A bare reqwest client (the reqwest async-openai brings), after [`install`].
pub fn reqwest_client() -> reqwest::Client {
    install();
    reqwest::Client::new()
}
