//! The `inference-recorder` command on temporary trees and the repository's real
//! fixtures: finding and pruning recordings no test uses, `show`, `key`, `import`.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use recording_core::format::{RecordedRequest, RecordedResponse, RecordingFile};
use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, Mode, Recording, Store, client_fn,
};
use serde_json::json;

fn cli() -> Command {
    Command::cargo_bin("inference-recorder").expect("the binary")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/llama-stack")
}

/// Replay only: the suite below never reaches a server.
fn unreachable() -> impl InferenceClient {
    client_fn("openai", |_| async {
        Err::<ApiResponse, _>(Error::Transport("unreachable".into()))
    })
}

fn request(test: &str) -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({"model": "m", "messages": [{"role": "user", "content": test}]}),
    )
}

fn record(dir: &Path, test: &str) -> PathBuf {
    record_in_scope(dir, test, None)
}

fn record_in_scope(dir: &Path, test: &str, scope: Option<&str>) -> PathBuf {
    let request = request(test);
    let answer = json!({"choices": [{"message": {"content": format!("answer to {test}")}}]});
    let mut recorder = Recording::new(unreachable());
    if let Some(scope) = scope {
        recorder = recorder.scope(scope);
    }
    let key = recorder.hash_of(&request);
    Store::new(dir)
        .save(&key, &recording_of(&request, scope, answer))
        .expect("saved")
}

/// A recording of `request` (model `m`) answered 200 with `answer`.
fn recording_of(
    request: &ApiRequest,
    scope: Option<&str>,
    answer: serde_json::Value,
) -> RecordingFile {
    RecordingFile {
        request: RecordedRequest {
            scope: scope.map(str::to_owned),
            ..RecordedRequest::of("openai", request)
        },
        response: RecordedResponse::body(answer),
    }
}

/// One test of the suite the driver below runs in a process of its own (this test
/// binary, with `--ignored`). Without `SUITE_DIR` it does nothing; a test named in
/// `SUITE_WITHOUT` has been "removed".
async fn suite_test(name: &str) {
    let Ok(dir) = std::env::var("SUITE_DIR") else {
        return;
    };
    if std::env::var("SUITE_WITHOUT").is_ok_and(|removed| removed == name) {
        return;
    }
    Recording::new(unreachable())
        .mode(Mode::Replay)
        .dir(dir)
        .send(request(name))
        .await
        .expect("replayed");
}

#[tokio::test]
#[ignore = "a test of the suite that `unused_names_exactly_the_orphans` runs"]
async fn suite_a() {
    suite_test("a").await;
}

#[tokio::test]
#[ignore = "a test of the suite that `unused_names_exactly_the_orphans` runs"]
async fn suite_b() {
    suite_test("b").await;
}

/// Runs the suite: this test binary's ignored tests, as `cargo test` would run them,
/// with `args` (a filter makes it a partial run).
fn run_suite(dir: &Path, without: Option<&str>, args: &[&str]) {
    let mut command = std::process::Command::new(std::env::current_exe().expect("this binary"));
    // As `cargo test` runs it, also when this test itself runs under nextest.
    command
        .arg("--ignored")
        .args(args)
        .env("SUITE_DIR", dir)
        .env_remove("NEXTEST_RUN_ID");
    if let Some(removed) = without {
        command.env("SUITE_WITHOUT", removed);
    }
    let status = command.status().expect("the suite runs");
    assert!(status.success());
}

fn listed(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(".json"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn unused_names_exactly_the_orphans_and_prune_removes_exactly_those() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = record(dir.path(), "a");
    let b = record(dir.path(), "b");

    // Nothing is judged before a run.
    cli()
        .args(["unused", "--dir"])
        .arg(dir.path())
        .assert()
        .code(2);

    // A full run uses both.
    run_suite(dir.path(), None, &[]);
    cli()
        .args(["unused", "--dir"])
        .arg(dir.path())
        .assert()
        .code(0);

    // Test b is removed; after a full run, b's recording is the one orphan.
    cli()
        .args(["unused", "--reset", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    run_suite(dir.path(), Some("b"), &[]);
    let output = cli()
        .args(["unused", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "orphans fail the guard");
    let orphans = listed(&output);
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert!(orphans[0].contains(&b.display().to_string()), "{orphans:?}");
    assert!(
        orphans[0].contains("POST /v1/chat/completions") && orphans[0].contains(" m "),
        "{orphans:?}"
    );

    let output = cli()
        .args(["prune", "--dry-run", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(output.status.success());
    assert_eq!(listed(&output).len(), 1);
    assert!(a.exists() && b.exists(), "--dry-run changes nothing");
    cli()
        .args(["prune", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(a.exists() && !b.exists(), "exactly the orphan is gone");

    // A partial run (a filter) never leads to reporting a used file.
    let c = record(dir.path(), "b");
    cli()
        .args(["unused", "--reset", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    run_suite(dir.path(), None, &["suite_a"]);
    let output = cli()
        .args(["unused", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(listed(&output).is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("filtered"));
    let output = cli()
        .args(["prune", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(c.exists(), "a partial run prunes nothing");
}

/// Runs one test of the suite as `cargo nextest run ARGS` does: a process of its own
/// with `--exact NAME`, `NEXTEST_RUN_ID` set, started by a process whose command line
/// is `... nextest run ARGS` (here a shell given those words as its arguments; the
/// `; true` keeps it from exec'ing the test in its own place).
fn run_under_nextest(dir: &Path, test: &str, run_id: &str, nextest_args: &[&str]) {
    let binary = std::env::current_exe().expect("this binary");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#""$0" --ignored --exact "$1" --nocapture; true"#)
        .arg(&binary)
        .arg(test)
        .args(["nextest", "run"])
        .args(nextest_args)
        .env("SUITE_DIR", dir)
        .env("NEXTEST_RUN_ID", run_id)
        .status()
        .expect("the test runs");
    assert!(status.success());
}

fn unused_in(dir: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    cli()
        .args(["unused", "--dir"])
        .arg(dir)
        .args(extra)
        .output()
        .expect("run")
}

#[cfg(target_os = "linux")]
#[test]
fn unused_judges_a_nextest_run_and_merges_its_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), "a");
    let b = record(dir.path(), "b");

    // A whole nextest run, one process per test, test b removed: b is the orphan,
    // although every process ran with `--exact`.
    run_under_nextest(dir.path(), "suite_a", "run-1", &["--workspace"]);
    let output = unused_in(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let orphans = listed(&output);
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert!(orphans[0].contains(&b.display().to_string()), "{orphans:?}");

    // A filtered nextest run since the reset: nothing reported, and said why.
    cli()
        .args(["unused", "--reset", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    run_under_nextest(dir.path(), "suite_a", "run-2", &["suite_a"]);
    let output = unused_in(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("filtered run") && stderr.contains("since the last"),
        "{stderr}"
    );
    // ...and a later whole run does not make it forget the filtered one.
    run_under_nextest(dir.path(), "suite_a", "run-3", &[]);
    run_under_nextest(dir.path(), "suite_b", "run-3", &[]);
    assert_eq!(unused_in(dir.path(), &[]).status.code(), Some(2));

    // Two partitions, each in a CI job of its own: one share alone is refused, the
    // two merged are judged (b is used by share 2 only).
    cli()
        .args(["unused", "--reset", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    let other_job = tempfile::tempdir().expect("tempdir");
    record(other_job.path(), "a");
    record(other_job.path(), "b");
    run_under_nextest(dir.path(), "suite_a", "p1", &["--partition", "count:1/2"]);
    run_under_nextest(
        other_job.path(),
        "suite_b",
        "p2",
        &["--partition=count:2/2"],
    );
    let output = unused_in(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("share(s) 1 of") && stderr.contains("--used-from"),
        "{stderr}"
    );
    let saved = other_job.path().join(".used");
    let output = unused_in(dir.path(), &["--used-from".as_ref(), saved.as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(listed(&output).is_empty());
    // A recordings directory works as well as its `.used/` folder.
    let output = unused_in(
        dir.path(),
        &["--used-from".as_ref(), other_job.path().as_os_str()],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let missing = dir.path().join("no-such-job");
    let output = unused_in(dir.path(), &["--used-from".as_ref(), missing.as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-job"));
}

/// Starts `serve` over `dir` with `extra` flags and `env`, and waits for its first
/// line; returns the process and the address it listens on.
fn start_serve(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String) {
    spawn_serve(dir, extra, env, std::process::Stdio::null())
}

/// [`start_serve`], with its standard error going to `stderr`.
fn spawn_serve(
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("inference-recorder"))
        .args(["serve", "--dir"])
        .arg(dir)
        .args(extra)
        .envs(env.iter().copied())
        .env_remove("NEXTEST_RUN_ID")
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its first line");
    assert!(line.starts_with("listening on "), "{line}");
    let addr = line
        .split_whitespace()
        .nth(2)
        .and_then(|url| url.strip_prefix("http://"))
        .expect("the address")
        .to_owned();
    (child, addr)
}

fn serve_and_stop(dir: &Path, extra: &[&str]) {
    let (mut child, _) = start_serve(dir, extra, &[]);
    child.kill().expect("stopped");
    child.wait().expect("exited");
}

/// One chat request to a `serve` started with `extra` and `env`; its raw HTTP answer.
fn serve_one_chat(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    serve_one(dir, extra, env, "/v1/chat/completions", body)
}

/// One POST of `body` to `path` on a `serve` started with `extra` and `env`; its raw
/// HTTP answer.
fn serve_one(dir: &Path, extra: &[&str], env: &[(&str, &str)], path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let (mut child, addr) = start_serve(dir, extra, env);
    let mut tcp = std::net::TcpStream::connect(&addr).expect("connects");
    write!(
        tcp,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sent");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("answered");
    child.kill().expect("stopped");
    child.wait().expect("exited");
    answer
}

#[test]
fn serve_track_makes_a_client_suite_a_run_for_unused() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), "a");
    // Without --track, serving is no test run.
    serve_and_stop(dir.path(), &[]);
    let output = unused_in(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no test run"));
    // With it, the client suite it served (here: one that asked for nothing) is judged;
    // each orphan's line names its scope, when it has one.
    record_in_scope(dir.path(), "b", Some("chat::smoke"));
    serve_and_stop(dir.path(), &["--track"]);
    let output = unused_in(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let orphans = listed(&output);
    assert_eq!(orphans.len(), 2, "{orphans:?}");
    assert_eq!(
        orphans
            .iter()
            .filter(|line| line.contains("  scope chat::smoke"))
            .count(),
        1,
        "{orphans:?}"
    );
}

/// Port 9 (discard) on loopback: nothing listens there on these machines.
const DEAD_UPSTREAM: &str = "http://127.0.0.1:9/v1";

#[test]
fn serve_records_from_openai_base_url_and_names_the_upstream_that_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let answer = serve_one_chat(
        dir.path(),
        &["--mode", "record-if-missing"],
        &[
            ("OPENAI_BASE_URL", DEAD_UPSTREAM),
            ("OPENAI_API_KEY", "sk-never-shown"),
        ],
    );
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    // The upstream came from OPENAI_BASE_URL; the failure names it, the mode and the
    // way out, and never the key.
    assert!(
        answer.contains("upstream: openai http://127.0.0.1:9"),
        "{answer}"
    );
    assert!(answer.contains("mode: record-if-missing"), "{answer}");
    assert!(!answer.contains("sk-never-shown"), "{answer}");
}

#[test]
fn serve_records_ollama_from_ollama_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let answer = serve_one(
        dir.path(),
        &["--mode", "record-if-missing"],
        &[("OLLAMA_HOST", "http://127.0.0.1:9")],
        "/api/generate",
        r#"{"model":"m","prompt":"hi","stream":false}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(
        answer.contains("upstream: ollama http://127.0.0.1:9"),
        "the upstream came from OLLAMA_HOST: {answer}"
    );
}

#[test]
fn a_miss_through_serve_names_the_serve_flags_that_record_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let answer = serve_one_chat(dir.path(), &[], &[]);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(
        answer.contains("inference-recorder serve --mode record-if-missing --dir")
            && answer.contains("--openai-upstream URL (or OPENAI_BASE_URL=URL)"),
        "{answer}"
    );
    assert!(
        !answer.contains("cargo test"),
        "a client of serve runs no cargo: {answer}"
    );
}

#[test]
fn import_places_llama_stack_recordings_and_says_what_it_cannot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let into = dir.path().join("recordings");
    let output = cli()
        .args(["import", "llama-stack"])
        .arg(fixtures())
        .arg("--into")
        .arg(&into)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "one file cannot be placed");
    assert!(
        stdout.contains("relabelled /api/embeddings -> /api/embed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("relabelled /v1/completions -> /v1/chat/completions"),
        "{stdout}"
    );
    assert!(
        stderr.contains("3877ecf1bc62.json") && stderr.contains("empty"),
        "{stderr}"
    );
    assert!(
        stdout.contains("Summary: 11 of 12 files imported"),
        "{stdout}"
    );

    // Imported files replay under this project's keys: the key of each file's request
    // is its name.
    for entry in fs::read_dir(into.join("responses")).expect("imported") {
        let path = entry.expect("entry").path();
        let file =
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path).expect("valid");
        let request = dir.path().join("request.json");
        fs::write(
            &request,
            json!({"method": file.request.method, "endpoint": file.request.endpoint, "body": file.request.body})
                .to_string(),
        )
        .expect("write");
        let output = cli().arg("key").arg(&request).output().expect("run");
        let key = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert_eq!(
            format!("{key}.json"),
            path.file_name().expect("name").to_string_lossy()
        );
    }
    // And they are normalized already, named as a path or with --dir.
    cli()
        .arg("normalize")
        .arg(&into)
        .arg("--check")
        .assert()
        .code(0);
    let output = cli()
        .args(["normalize", "--check", "--dir"])
        .arg(&into)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Summary: 0/"),
        "{output:?}"
    );
}

/// Recorders of the real providers, whose keys the tools must give too.
fn provider_recorders() -> (
    Recording<provider_openai::OpenAiClient>,
    Recording<provider_ollama::OllamaClient>,
) {
    (
        Recording::new(provider_openai::OpenAiClient::with_base_url(
            "http://127.0.0.1:9/v1",
            "sk-unused",
        )),
        Recording::new(provider_ollama::OllamaClient::new("http://127.0.0.1:9")),
    )
}

#[test]
fn import_files_a_recording_under_the_key_a_recorder_asks_for() {
    // Two of llama-stack's recordings, their requests given a volatile field each:
    // `user` (OpenAI) and `keep_alive` (Ollama), which the recorder keeps out of the key.
    let dir = tempfile::tempdir().expect("tempdir");
    let from = dir.path().join("llama-stack");
    fs::create_dir(&from).expect("dir");
    for (name, field, value) in [
        ("0fad19b9d308.json", "user", json!("alice")),
        ("e96152610712.json", "keep_alive", json!("5m")),
    ] {
        let mut file: serde_json::Value =
            serde_json::from_slice(&fs::read(fixtures().join(name)).expect("fixture"))
                .expect("json");
        file["request"]["body"][field] = value;
        fs::write(from.join(name), file.to_string()).expect("write");
    }
    let into = dir.path().join("recordings");
    cli()
        .args(["import", "llama-stack"])
        .arg(&from)
        .arg("--into")
        .arg(&into)
        .assert()
        .success();
    let (openai, ollama) = provider_recorders();
    let mut placed = 0;
    for entry in fs::read_dir(into.join("responses")).expect("imported") {
        let path = entry.expect("entry").path();
        let file =
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path).expect("valid");
        let request = file.request.to_api_request();
        let key = if file.request.endpoint.starts_with("/api/") {
            ollama.hash_of(&request)
        } else {
            openai.hash_of(&request)
        };
        assert_eq!(
            path.file_stem().expect("stem").to_string_lossy(),
            key,
            "{} is filed under the key a replay asks for",
            file.request.endpoint
        );
        placed += 1;
    }
    assert_eq!(placed, 2);
}

#[test]
fn show_tells_what_a_recording_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let into = dir.path().join("recordings");
    cli()
        .args(["import", "llama-stack"])
        .arg(fixtures())
        .arg("--into")
        .arg(&into)
        .output()
        .expect("run");
    let generate = request_key(&into, "/api/generate", "llama-guard3:1b");
    let output = cli()
        .args(["show", "--dir"])
        .arg(&into)
        .arg(&generate)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("request:    POST /api/generate (ollama)"),
        "{stdout}"
    );
    assert!(stdout.contains("answer:     \"unsafe\\nS2\""), "{stdout}");
    // A stream is shown as the text it assembles to.
    let stream = request_key(&into, "/api/generate", "llama3.2:3b-instruct-fp16");
    let output = cli()
        .args(["show", "--dir"])
        .arg(&into)
        .arg(&stream)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("streamed in"), "{stdout}");
    assert!(
        stdout.contains("answer:     \"Hello, how can I assist you today?\""),
        "{stdout}"
    );
    // --json is the file as it is.
    let output = cli()
        .args(["show", "--json", "--dir"])
        .arg(&into)
        .arg(&stream)
        .output()
        .expect("run");
    let path = Store::new(&into).path_for(&stream);
    assert_eq!(output.stdout, fs::read(&path).expect("read"));

    // Several at once, by the 12 digits `serve` logs, and by a file's path.
    let output = cli()
        .args(["show", "--dir"])
        .arg(&into)
        .arg(&generate[..12])
        .arg(&path)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout.matches("file:       ").count(), 2, "{stdout}");
    assert!(stdout.contains("\"unsafe\\nS2\"") && stdout.contains("streamed in"));

    // A prefix that is no key, one too short, and one that names several: each a clear
    // error, the others still shown, exit 2.
    let mut command = cli();
    command
        .args(["show", "--dir"])
        .arg(&into)
        .args(["ffffffffffff", "ab", &generate]);
    let output = command.output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("has a key starting with ffffffffffff"),
        "{stderr}"
    );
    assert!(stderr.contains("ab: neither a file nor a key"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("unsafe"));
}

#[test]
fn show_says_when_an_answer_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = recording_of(
        &request("empty"),
        None,
        json!({"choices": [{"message": {"role": "assistant", "content": ""}}]}),
    );
    let store = Store::new(dir.path());
    let path = store.save(&"e".repeat(64), &file).expect("saved");
    let output = cli().arg("show").arg(&path).output().expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("answer:     \"\"\n"), "{stdout}");

    // A prefix two keys share names both, and asks for more digits.
    let one = store
        .save(&format!("abcd{}", "1".repeat(60)), &file)
        .expect("saved");
    let two = store
        .save(&format!("abcd{}", "2".repeat(60)), &file)
        .expect("saved");
    let output = cli()
        .args(["show", "abcd", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 recordings in"), "{stderr}");
    assert!(stderr.contains("give more digits"), "{stderr}");
    for path in [one, two] {
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    }
}

/// The key of the imported recording of `endpoint` with `model`.
fn request_key(dir: &Path, endpoint: &str, model: &str) -> String {
    for entry in fs::read_dir(dir.join("responses")).expect("dir") {
        let path = entry.expect("entry").path();
        let file =
            RecordingFile::from_slice(&fs::read(&path).expect("read"), &path).expect("valid");
        if file.request.endpoint == endpoint && file.request.model == model {
            return path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
        }
    }
    panic!("no {endpoint} recording of {model}")
}

/// What `inference-recorder key` prints for `{"endpoint", "body"}`.
fn cli_key(endpoint: &str, body: &serde_json::Value) -> String {
    let output = cli()
        .args(["key", "-"])
        .write_stdin(json!({"endpoint": endpoint, "body": body}).to_string())
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn key_leaves_out_each_providers_volatile_fields_as_the_recorder_does() {
    let (openai, ollama) = provider_recorders();
    let openai = |request: &ApiRequest| openai.hash_of(request);
    let ollama = |request: &ApiRequest| ollama.hash_of(request);
    let cases = [
        (
            &openai as &dyn Fn(&ApiRequest) -> String,
            "/v1/chat/completions",
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            "user",
            json!("alice"),
        ),
        (
            &ollama as &dyn Fn(&ApiRequest) -> String,
            "/api/generate",
            json!({"model": "m", "prompt": "hi", "stream": false}),
            "keep_alive",
            json!("5m"),
        ),
    ];
    for (recorder, endpoint, body, field, value) in cases {
        let mut with_field = body.clone();
        with_field[field] = value;
        let recorded = recorder(&ApiRequest::post(endpoint, with_field.clone()));
        assert_eq!(
            recorded,
            recorder(&ApiRequest::post(endpoint, body.clone())),
            "the recorder leaves {field} out"
        );
        assert_eq!(
            cli_key(endpoint, &with_field),
            recorded,
            "{endpoint} {field}"
        );
        assert_eq!(cli_key(endpoint, &body), recorded, "{endpoint}");
    }
}

#[test]
fn key_prints_the_key_a_recorder_gives_the_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let request = request("a");
    let expected = Recording::new(unreachable()).hash_of(&request);
    let file = dir.path().join("request.json");
    fs::write(
        &file,
        json!({"method": "POST", "endpoint": request.endpoint, "body": request.body}).to_string(),
    )
    .expect("write");
    cli()
        .arg("key")
        .arg(&file)
        .assert()
        .success()
        .stdout(format!("{expected}\n"));
    let scoped = Recording::new(unreachable())
        .scope("tests::chat")
        .hash_of(&request);
    cli()
        .args(["key", "-"])
        .write_stdin(
            json!({"endpoint": request.endpoint, "body": request.body, "scope": "tests::chat"})
                .to_string(),
        )
        .assert()
        .success()
        .stdout(format!("{scoped}\n"));
    let output = cli()
        .args(["key", "-"])
        .write_stdin(r#"{"endpoint": "v1/x"}"#)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be a path"));
}

/// `serve`'s shutdown is bounded, and a second SIGTERM ends it at once: here a client
/// stuck in its request head holds the first shutdown for its whole grace.
#[cfg(unix)]
#[test]
fn a_second_signal_stops_serve_at_once() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = spawn_serve(dir.path(), &[], &[], std::process::Stdio::piped());
    let mut stuck = std::net::TcpStream::connect(&addr).expect("connects");
    stuck
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\n")
        .expect("half a head");
    let term = |child: &std::process::Child| {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    };
    term(&child);
    // Once serve says it is stopping, it listens for the second signal.
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut said = String::new();
    while !said.contains("signal again to exit at once") {
        said.clear();
        let read = stderr.read_line(&mut said).expect("stderr");
        assert!(read > 0, "serve ended without saying it was stopping");
    }
    term(&child);
    let status = child.wait().expect("exited");
    assert_eq!(status.code(), Some(130), "{status:?}");
}

/// `serve` takes its token from `INFERENCE_RECORDER_TOKEN` (other users can read a
/// process's flags, not its environment): a request without it is refused.
#[test]
fn serve_takes_its_token_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let answer = serve_one_chat(
        dir.path(),
        &[],
        &[("INFERENCE_RECORDER_TOKEN", "tok-from-env-4242")],
    );
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(!answer.contains("tok-from-env"), "{answer}");
}

#[test]
fn show_assembles_an_anthropic_stream_into_text_and_tool_uses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = json!({
        "request": {"provider": "anthropic", "method": "POST", "endpoint": "/v1/messages",
            "model": "m", "body": {"model": "m", "max_tokens": 8, "stream": true,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather?"}]}]}},
        "response": {"status": 200, "is_streaming": true, "body": [
            json!({"type": "message_start", "message": {"id": "msg_rec-x", "type": "message",
                "role": "assistant", "content": [], "model": "m", "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 0}}}),
            json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": "Let me"}}),
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": " check."}}),
            json!({"type": "content_block_start", "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_rec-x-1", "name": "get_weather"}}),
            json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
            json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}}),
            json!({"type": "message_stop"})
        ]}
    });
    let path = dir.path().join("a.json");
    std::fs::write(&path, file.to_string()).expect("written");
    let output = cli().arg("show").arg(&path).output().expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("request:    POST /v1/messages (anthropic)"),
        "{stdout}"
    );
    assert!(stdout.contains("asked:      \"Weather?\""), "{stdout}");
    assert!(stdout.contains("answer:     \"Let me check.\""), "{stdout}");
    assert!(
        stdout.contains("tool call:  get_weather({\"city\": \"Oslo\"})"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("stopped:"),
        "no message_delta, no reason: {stdout}"
    );
}

#[test]
fn serve_replays_a_message_with_another_uuid_under_volatile_pattern_uuid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sent = |id: &str| {
        json!({"model": "m", "messages": [
            {"role": "user", "content": "What did the tool say?"},
            {"role": "tool", "tool_call_id": "c1", "content": format!("created order {id}")}
        ]})
    };
    let recorded = ApiRequest::post(
        "/v1/chat/completions",
        sent("0b8c1c6e-3f0a-4c5e-9d8e-2f1a7b6c5d4e"),
    );
    // Recorded by a suite that masks UUIDs: the file is named by the masked key.
    let key = Recording::new(unreachable())
        .volatile_pattern("uuid")
        .expect("a preset")
        .hash_of(&recorded);
    let answer = json!({"choices": [{"message": {"content": "It made an order."}}]});
    Store::new(dir.path())
        .save(&key, &recording_of(&recorded, None, answer))
        .expect("saved");

    let later = sent("7d444840-9dc0-11d1-b245-5ffdce74fad2").to_string();
    let hit = serve_one(
        dir.path(),
        &["--volatile-pattern", "uuid"],
        &[],
        "/v1/chat/completions",
        &later,
    );
    assert!(hit.starts_with("HTTP/1.1 200"), "{hit}");
    assert!(hit.contains("It made an order."), "{hit}");
    let miss = serve_one(dir.path(), &[], &[], "/v1/chat/completions", &later);
    assert!(miss.starts_with("HTTP/1.1 404"), "{miss}");
    let bad = cli()
        .args(["serve", "--volatile-pattern", "guid", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown volatile pattern \"guid\""),
        "{bad:?}"
    );
}

/// `serve --fault` sets a default plan, a request's `X-Recording-Fault` its own; the
/// log line of each request says which fault it got.
#[test]
fn serve_injects_faults_and_its_log_says_which() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), "hi");
    let (mut child, addr) = spawn_serve(
        dir.path(),
        &["--fault", "status=503;retry-after=0;call=1"],
        &[],
        std::process::Stdio::piped(),
    );
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let post = |extra: &str| {
        let mut tcp = std::net::TcpStream::connect(&addr).expect("connects");
        write!(
            tcp,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("sent");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("answered");
        answer
    };
    assert!(post("").starts_with("HTTP/1.1 503"));
    assert!(
        post("").starts_with("HTTP/1.1 200"),
        "the default plan's retry"
    );
    let answer = post("X-Recording-Fault: status=429\r\n");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    let bad = post("X-Recording-Fault: cut=many\r\n");
    assert!(
        bad.starts_with("HTTP/1.1 400") && bad.contains("cut=many"),
        "{bad}"
    );
    child.kill().expect("stopped");
    child.wait().expect("exited");
    let mut log = String::new();
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    while stderr.read_line(&mut log).expect("stderr") > 0 {}
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("POST /v1/chat/completions"))
        .collect();
    assert!(lines.len() >= 3, "{log}");
    assert!(
        lines[0].contains("fault=status=503;retry-after=0;call=1"),
        "{log}"
    );
    assert!(!lines[1].contains("fault="), "{log}");
    assert!(lines[2].contains("fault=status=429"), "{log}");
}
