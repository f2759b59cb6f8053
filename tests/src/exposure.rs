//! Looking for secrets: everything a test's run has shown or written, gathered as text
//! and scanned for credentials.

use std::fs;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};

use recording_core::Error;

/// Everything a secret must never appear in, gathered as text.
#[derive(Default)]
pub struct Exposure {
    texts: Vec<(String, String)>,
}

impl Exposure {
    /// Adds a text that was shown or written, named by `what`.
    pub fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.texts.push((what.into(), text.into()));
    }

    /// An error as its message, its `Debug` form, and the message of the panic an
    /// `expect` on it would raise.
    pub fn add_error(&mut self, what: &str, err: Error) {
        self.add(format!("{what} (Display)"), err.to_string());
        self.add(format!("{what} (Debug)"), format!("{err:?}"));
        // The point is the message `expect` makes of an error, as in a failing test.
        #[allow(clippy::unnecessary_literal_unwrap)]
        let panic = std::panic::catch_unwind(AssertUnwindSafe(|| Err::<(), _>(err).expect(what)))
            .expect_err("expect on an error panics");
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "<non-string panic>".into());
        assert!(message.starts_with(what), "{message}");
        self.add(format!("{what} (panic)"), message);
    }

    /// Every file under `dir`.
    pub fn add_tree(&mut self, dir: &Path) {
        let mut pending = vec![dir.to_path_buf()];
        while let Some(at) = pending.pop() {
            for entry in fs::read_dir(&at).expect("readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let bytes = fs::read(&path).expect("read");
                    self.add(
                        path.display().to_string(),
                        String::from_utf8_lossy(&bytes).into_owned(),
                    );
                }
            }
        }
    }

    /// Fails, naming the place, when any secret appears in any text gathered.
    pub fn assert_free_of(&self, secrets: &[&str]) {
        assert!(
            self.texts.len() > 5,
            "too little was scanned to mean anything"
        );
        for (what, text) in &self.texts {
            for secret in secrets {
                assert!(
                    !text.contains(secret),
                    "`{secret}` leaked into {what}:\n{text}"
                );
            }
        }
    }
}

/// A tracing subscriber that keeps every event, at every level, of this test binary.
#[derive(Clone, Default)]
pub struct LogBuffer(pub Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
