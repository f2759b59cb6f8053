//! `Recording::from_env`, checked in child processes so no test mutates the
//! environment of threads running other tests.

use std::process::Command;

use recording_core::{Error, NoNormalization, Normalizer, Recording};

struct Unused;

#[async_trait::async_trait]
impl recording_core::InferenceClient for Unused {
    fn provider(&self) -> &str {
        "test"
    }
    fn normalizer(&self) -> std::sync::Arc<dyn Normalizer> {
        std::sync::Arc::new(NoNormalization)
    }
    async fn send(
        &self,
        _: recording_core::ApiRequest,
    ) -> Result<recording_core::ApiResponse, Error> {
        unreachable!("never called")
    }
}

/// Prints what `from_env` made of this process's environment. Run only as a child.
#[test]
#[ignore = "a probe: run by the other tests of this file in a child process"]
fn probe() {
    match Recording::from_env(Unused) {
        Ok(client) => println!(
            "PROBE mode={} dir={}",
            client.current_mode(),
            client.recordings_dir().display()
        ),
        Err(err) => println!("PROBE error={err}"),
    }
}

fn run_probe(mode: Option<&str>, dir: Option<&str>) -> String {
    let exe = std::env::current_exe().expect("test executable");
    let mut command = Command::new(exe);
    command.args([
        "probe",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    command
        .env_remove("TEST_INFERENCE_MODE")
        .env_remove("TEST_RECORDING_DIR");
    if let Some(mode) = mode {
        command.env("TEST_INFERENCE_MODE", mode);
    }
    if let Some(dir) = dir {
        command.env("TEST_RECORDING_DIR", dir);
    }
    let output = command.output().expect("run the probe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.split_once("PROBE ").map(|(_, rest)| rest))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("the probe printed nothing:\n{stdout}"))
}

#[test]
fn unset_means_replay_in_the_package_recordings_dir() {
    let expected = format!("{}/recordings", env!("CARGO_MANIFEST_DIR"));
    assert_eq!(run_probe(None, None), format!("mode=replay dir={expected}"));
}

#[test]
fn the_mode_and_dir_variables_are_read() {
    assert_eq!(
        run_probe(Some("record-if-missing"), Some("/tmp/elsewhere")),
        "mode=record-if-missing dir=/tmp/elsewhere"
    );
    assert_eq!(
        run_probe(Some("live"), None).split(' ').next(),
        Some("mode=live")
    );
}

#[test]
fn an_unknown_mode_is_an_error_listing_the_valid_values() {
    let out = run_probe(Some("playback"), None);
    assert!(
        out.starts_with(
            "error=configuration error: unknown TEST_INFERENCE_MODE value \"playback\""
        ),
        "{out}"
    );
    assert!(
        out.contains("valid values: replay, record-if-missing, record, live"),
        "{out}"
    );
}
