//! The flags that set a suite's key rules, shared by the commands that key requests
//! (`serve`, `rekey`): each adds to what the environment sets, as a recorder reads it.

use recording_core::key::KeySettings;

/// `--volatile-pattern`, `--volatile-field`, `--equivalence`.
#[derive(clap::Args)]
pub(crate) struct KeyFlags {
    /// Mask a volatile pattern inside every request's strings before keying: uuid,
    /// iso8601, unix-ms, hex, or re:REGEX (repeatable; adds to
    /// TEST_INFERENCE_VOLATILE_PATTERNS). Recordings keep the real text.
    #[arg(long = "volatile-pattern", value_name = "PATTERN")]
    volatile_patterns: Vec<String>,
    /// Leave a request field out of keys, as a JSON Pointer (repeatable; adds to
    /// TEST_INFERENCE_VOLATILE).
    #[arg(long = "volatile-field", value_name = "POINTER")]
    volatile_fields: Vec<String>,
    /// Key requests by their provider's equivalent normal form (as
    /// TEST_INFERENCE_EQUIVALENCE=1): a setting of the suite, since it changes keys.
    #[arg(long)]
    equivalence: bool,
}

impl KeyFlags {
    /// `settings` with these flags added; a bad value is an error naming its flag.
    pub(crate) fn apply(&self, mut settings: KeySettings) -> Result<KeySettings, String> {
        for field in &self.volatile_fields {
            settings = settings
                .volatile_field(field)
                .map_err(|err| format!("--volatile-field: {err}"))?;
        }
        for pattern in &self.volatile_patterns {
            settings = settings
                .volatile_pattern(pattern)
                .map_err(|err| format!("--volatile-pattern: {err}"))?;
        }
        Ok(if self.equivalence {
            settings.equivalence(true)
        } else {
            settings
        })
    }

    /// The flags as a command line repeats them (for the command a miss suggests).
    pub(crate) fn as_args(&self) -> String {
        let mut args = String::new();
        for field in &self.volatile_fields {
            args += &format!(" --volatile-field {field}");
        }
        for pattern in &self.volatile_patterns {
            args += &format!(" --volatile-pattern '{pattern}'");
        }
        if self.equivalence {
            args += " --equivalence";
        }
        args
    }
}
