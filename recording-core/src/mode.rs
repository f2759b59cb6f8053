//! The five modes of the recorder. How a mode is read from `TEST_INFERENCE_MODE`
//! (`Mode::from_env`, `str::parse`) is in `env`, with every other variable.

use std::fmt;

/// The environment variable that selects the [`Mode`].
pub const MODE_ENV: &str = "TEST_INFERENCE_MODE";

/// What the recorder does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Answer only from recordings; a miss is an error and the server is never
    /// contacted. The default, so tests run offline unless asked otherwise.
    #[default]
    Replay,
    /// Replay when a recording exists, otherwise call the server and record.
    RecordIfMissing,
    /// Always call the server and (over)write the recording.
    Record,
    /// Pass straight through to the server; nothing is read or written.
    Live,
    /// Call the server and compare the shape of its answer (fields added, removed or
    /// of another type, the number of stream chunks, the status) with the recording;
    /// a difference is an [`Error::Drift`](crate::Error::Drift) listing it. Nothing is
    /// written. How a team learns that a provider changed its API before its
    /// replay-only CI does.
    Verify,
}

impl Mode {
    /// Every mode, in the order the docs list them.
    pub const ALL: [Mode; 5] = [
        Mode::Replay,
        Mode::RecordIfMissing,
        Mode::Record,
        Mode::Live,
        Mode::Verify,
    ];

    /// The mode's name as `TEST_INFERENCE_MODE` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Replay => "replay",
            Mode::RecordIfMissing => "record-if-missing",
            Mode::Record => "record",
            Mode::Live => "live",
            Mode::Verify => "verify",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips_through_its_name() {
        for mode in Mode::ALL {
            assert_eq!(mode.as_str().parse::<Mode>().ok(), Some(mode));
        }
        assert_eq!(
            "Record-If-Missing".parse::<Mode>().ok(),
            Some(Mode::RecordIfMissing)
        );
    }

    #[test]
    fn unset_or_blank_means_replay() {
        assert_eq!(Mode::from_setting(None).ok(), Some(Mode::Replay));
        assert_eq!(Mode::from_setting(Some("  ")).ok(), Some(Mode::Replay));
    }

    #[test]
    fn an_unknown_mode_lists_the_valid_values() {
        let err = Mode::from_setting(Some("recrod")).expect_err("not a mode");
        let text = err.to_string();
        assert!(text.contains("\"recrod\""), "{text}");
        assert!(
            text.contains("replay, record-if-missing, record, live"),
            "{text}"
        );
    }
}
