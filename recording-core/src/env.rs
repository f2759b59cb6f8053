//! Every environment variable the recorder reads and the default recordings
//! directory, in one place, and how the mode is read from `TEST_INFERENCE_MODE`.
//! Unset or blank, each changes nothing.

use std::str::FromStr;

use crate::api::error::Error;
use crate::mode::Mode;

pub use crate::key::{EQUIVALENCE_ENV, VOLATILE_ENV, VOLATILE_PATTERNS_ENV};
pub use crate::mode::MODE_ENV;
pub use crate::recorder::{
    DIR_ENV, DURABLE_ENV, PACE_ENV, RECORD_TIMING_ENV, REDACT_ENV, default_dir, recordings_dir_in,
};
pub use crate::store::used::TRACK_ENV;
pub use crate::timeout::TIMEOUT_ENV;

impl Mode {
    /// Reads `TEST_INFERENCE_MODE`: [`Mode::Replay`] when unset or empty, an error
    /// listing the valid values when it names no mode.
    pub fn from_env() -> Result<Mode, Error> {
        match std::env::var(MODE_ENV) {
            Ok(value) => Mode::from_setting(Some(&value)),
            Err(std::env::VarError::NotPresent) => Ok(Mode::default()),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::Config(format!(
                "{MODE_ENV} is not valid UTF-8; valid values: {}",
                valid_values()
            ))),
        }
    }

    /// Parses a setting the way [`Mode::from_env`] does; `None` or blank is the default.
    pub fn from_setting(value: Option<&str>) -> Result<Mode, Error> {
        match value.map(str::trim) {
            None | Some("") => Ok(Mode::default()),
            Some(value) => value.parse(),
        }
    }
}

fn valid_values() -> String {
    Mode::ALL.map(Mode::as_str).join(", ")
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown {MODE_ENV} value {value:?}; valid values: {}",
                    valid_values()
                ))
            })
    }
}
