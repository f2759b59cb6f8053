//! The recorder's clients bring their own TLS setup and leave the process's alone: an
//! app whose own clients rely on the process-wide rustls crypto provider (or install
//! one at start, which fails once another is installed) behaves the same with the
//! recorder in its tests. A file of its own: one process, nothing else installing.

use provider_openai::{OpenAiClient, RecordingHttpService};
use recording_core::{Mode, Recording};

#[test]
fn building_the_clients_installs_no_process_wide_crypto_provider() {
    let _client = OpenAiClient::with_base_url("https://api.example.invalid/v1", "sk-test");
    let _service = RecordingHttpService::new(Recording::new(()).mode(Mode::Replay));
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "the recorder installed a crypto provider for the whole process"
    );
    // So the app's own choice still goes through.
    assert!(
        rustls::crypto::ring::default_provider()
            .install_default()
            .is_ok()
    );
}
