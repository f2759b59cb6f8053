//! `Recording::from_env`, checked in child processes so no test mutates the
//! environment of threads running other tests.

use std::process::Command;

use recording_core::{Recording, client_fn};

/// Never called: these tests only build recorders.
fn unused() -> impl recording_core::InferenceClient {
    client_fn("test", |_| async { unreachable!("never called") })
}

/// Prints what `from_env` made of this process's environment. Run only as a child.
#[test]
#[ignore = "a probe: run by the other tests of this file in a child process"]
fn probe() {
    match Recording::from_env(unused()) {
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

/// Prints what the other variables did to `from_env`. Run only as a child.
#[test]
#[ignore = "a probe: run by the other tests of this file in a child process"]
fn settings_probe() {
    use recording_core::{ApiRequest, InferenceClient, timeout};
    use serde_json::json;
    let client = match Recording::from_env(unused()) {
        Ok(client) => client,
        Err(err) => return println!("PROBE error={err}"),
    };
    let key = |body| client.hash_of(&ApiRequest::post("/v1/x", body));
    let volatile = key(json!({"id": "a", "q": 1})) == key(json!({"id": "b", "q": 1}));
    let redacted = key(json!({"token": "a"})) == key(json!({"token": "b"}));
    let masked = key(json!({"q": "id 0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e"}))
        == key(json!({"q": "id 7d444840-9dc0-11d1-b245-5ffdce74fad2"}));
    let equivalence = client.current_key_settings().is_equivalence();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let fault = match runtime.block_on(client.send(ApiRequest::post("/v1/x", json!({})))) {
        Err(recording_core::Error::Api { status, .. }) => status.to_string(),
        _ => "none".to_owned(),
    };
    let limit = match timeout::configured(None) {
        Ok(limit) => format!("{limit:?}"),
        Err(err) => format!("error:{err}"),
    };
    println!(
        "PROBE volatile={volatile} redacted={redacted} masked={masked} equivalence={equivalence} fault={fault} timeout={limit}"
    );
}

fn run_settings(vars: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("test executable");
    let mut command = Command::new(exe);
    command.args(["settings_probe", "--exact", "--ignored", "--nocapture"]);
    for var in [
        "TEST_INFERENCE_MODE",
        "TEST_INFERENCE_VOLATILE",
        "TEST_INFERENCE_REDACT",
        "TEST_INFERENCE_PACE",
        "TEST_INFERENCE_RECORD_TIMING",
        "TEST_INFERENCE_TIMEOUT",
        "TEST_INFERENCE_VOLATILE_PATTERNS",
        "TEST_INFERENCE_EQUIVALENCE",
        "TEST_INFERENCE_FAULTS",
    ] {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied());
    let output = command.output().expect("run the probe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.split_once("PROBE ").map(|(_, rest)| rest))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("the probe printed nothing:\n{stdout}"))
}

#[test]
fn the_matching_and_timeout_variables_are_read_and_unset_changes_nothing() {
    assert_eq!(
        run_settings(&[]),
        "volatile=false redacted=false masked=false equivalence=false fault=none timeout=Some(300s)",
        "exact keys and a five-minute limit by default"
    );
    assert_eq!(
        run_settings(&[
            ("TEST_INFERENCE_VOLATILE", "/id"),
            ("TEST_INFERENCE_REDACT", "/token"),
            ("TEST_INFERENCE_TIMEOUT", "none"),
            ("TEST_INFERENCE_PACE", "recorded"),
            ("TEST_INFERENCE_RECORD_TIMING", "1"),
            ("TEST_INFERENCE_VOLATILE_PATTERNS", "iso8601,uuid"),
            ("TEST_INFERENCE_EQUIVALENCE", "yes"),
            ("TEST_INFERENCE_FAULTS", "status=503"),
        ]),
        "volatile=true redacted=true masked=true equivalence=true fault=503 timeout=None"
    );
}

#[test]
fn bad_values_are_errors_that_name_them() {
    for (var, value) in [
        ("TEST_INFERENCE_VOLATILE", "id"),
        ("TEST_INFERENCE_REDACT", "/a~2"),
        ("TEST_INFERENCE_PACE", "fast"),
        ("TEST_INFERENCE_RECORD_TIMING", "maybe"),
        ("TEST_INFERENCE_VOLATILE_PATTERNS", "guid"),
        ("TEST_INFERENCE_EQUIVALENCE", "sometimes"),
        ("TEST_INFERENCE_FAULTS", "explode=1"),
    ] {
        let out = run_settings(&[(var, value)]);
        assert!(
            out.starts_with("error=configuration error:"),
            "{var}: {out}"
        );
        assert!(out.contains(var) && out.contains(value), "{var}: {out}");
    }
    let out = run_settings(&[("TEST_INFERENCE_TIMEOUT", "ten")]);
    assert!(
        out.contains("timeout=error:") && out.contains("\"ten\""),
        "{out}"
    );
}
