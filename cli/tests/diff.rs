//! `inference-recorder diff` and `stale` on the repository's real recordings, in a
//! temporary git repository: each kind of change a re-recording makes, classified, in
//! all three formats, with the exit codes CI relies on.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};

/// The recordings each scenario starts from, by key prefix.
const STREAMED_CHAT: &str = "e910118fcaa1";
const CHAT: &str = "3438923ade3f";
const ANTHROPIC: &str = "64307b7188d6";
const OLLAMA_GENERATE: &str = "81945d21e02b";
const COMPLETION: &str = "46dd8e77087c";
const UNTOUCHED: &str = "c2b4cd690ba3";
const EMBEDDINGS: &str = "1f49ab985beb";

fn committed(prefix: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/recordings/responses");
    let found = fs::read_dir(&dir)
        .expect("the committed recordings")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        });
    found.unwrap_or_else(|| panic!("no committed recording {prefix}"))
}

fn git(repo: &Path, args: &[&str]) -> String {
    git_with(repo, args, &[])
}

fn git_with(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).expect("read")).expect("JSON")
}

fn write_pretty(path: &Path, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).expect("JSON");
    text.push('\n');
    fs::write(path, text).expect("written");
}

/// A repository whose `recordings/` holds six committed recordings, then changed as a
/// re-recording changes them: a streamed answer and a plain one changed, an Anthropic
/// prompt changed (so its key), an Ollama recording removed, an embeddings recording
/// added, a completion reformatted; one left alone. Returns the repository, the
/// recordings directory, and a copy of it as committed.
struct Scenario {
    _repo: tempfile::TempDir,
    dir: PathBuf,
    before: tempfile::TempDir,
    rekeyed_from: String,
    rekeyed_to: String,
}

fn key_of_path(path: &Path) -> String {
    path.file_stem()
        .expect("named")
        .to_string_lossy()
        .into_owned()
}

fn scenario() -> Scenario {
    let repo = tempfile::tempdir().expect("temp");
    git(repo.path(), &["init", "--quiet"]);
    let dir = repo.path().join("recordings");
    let responses = dir.join("responses");
    fs::create_dir_all(&responses).expect("dir");
    let before = tempfile::tempdir().expect("temp");
    fs::create_dir_all(before.path().join("responses")).expect("dir");
    for prefix in [
        STREAMED_CHAT,
        CHAT,
        ANTHROPIC,
        OLLAMA_GENERATE,
        COMPLETION,
        UNTOUCHED,
    ] {
        let source = committed(prefix);
        let name = source.file_name().expect("named");
        fs::copy(&source, responses.join(name)).expect("copied");
        fs::copy(&source, before.path().join("responses").join(name)).expect("copied");
    }
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "recordings"]);

    // The streamed answer: one word of one chunk.
    let path = committed_in(&responses, STREAMED_CHAT);
    let mut file = read_json(&path);
    let chunk = &mut file["response"]["body"][3]["choices"][0]["delta"]["content"];
    assert_eq!(chunk, " sorry", "the chunk this test changes");
    *chunk = json!(" glad");
    write_pretty(&path, &file);

    // The plain answer: its text, why it stopped and its counts.
    let path = committed_in(&responses, CHAT);
    let mut file = read_json(&path);
    let choice = &mut file["response"]["body"]["choices"][0];
    choice["message"]["content"] = json!("The weather in Paris is sunny.");
    choice["finish_reason"] = json!("length");
    file["response"]["body"]["usage"]["completion_tokens"] = json!(99);
    write_pretty(&path, &file);

    // The Anthropic prompt: the tool's result, so the key, and the answer with it.
    let old = committed_in(&responses, ANTHROPIC);
    let mut file = read_json(&old);
    let result = &mut file["request"]["body"]["messages"][4]["content"][0]["content"];
    assert_eq!(
        result, "18 C and sunny",
        "the tool result this test changes"
    );
    *result = json!("25 C and cloudy");
    file["response"]["body"]["content"][0]["text"] =
        json!("<tool_response>\n25 C and cloudy\n</tool_response>");
    let recorded: recording_core::RecordingFile =
        serde_json::from_value(file.clone()).expect("a recording");
    let rules = registry::PROVIDERS
        .named("anthropic")
        .expect("anthropic")
        .rules();
    let new_key = recording_core::key_of(&recorded.request.to_api_request(), None, rules);
    let rekeyed_from = key_of_path(&old);
    fs::remove_file(&old).expect("removed");
    write_pretty(&responses.join(format!("{new_key}.json")), &file);

    fs::remove_file(committed_in(&responses, OLLAMA_GENERATE)).expect("removed");
    let added = committed(EMBEDDINGS);
    fs::copy(&added, responses.join(added.file_name().expect("named"))).expect("copied");

    // Reformatted: the same JSON, minified.
    let path = committed_in(&responses, COMPLETION);
    let compact = serde_json::to_string(&read_json(&path)).expect("JSON");
    fs::write(&path, compact).expect("written");

    Scenario {
        _repo: repo,
        dir,
        before,
        rekeyed_from,
        rekeyed_to: new_key,
    }
}

fn committed_in(responses: &Path, prefix: &str) -> PathBuf {
    fs::read_dir(responses)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| key_of_path(path).starts_with(prefix))
        .unwrap_or_else(|| panic!("no recording {prefix} in {}", responses.display()))
}

fn diff(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("inference-recorder")
        .expect("the binary")
        .arg("diff")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The entry of the JSON report whose key starts with `prefix`.
fn entry<'a>(report: &'a Value, prefix: &str) -> &'a Value {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|file| {
            file["key"]
                .as_str()
                .is_some_and(|key| key.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no entry {prefix} in {report:#}"))
}

fn change<'a>(file: &'a Value, field: &str) -> &'a Value {
    file["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|change| change["field"] == field)
        .unwrap_or_else(|| panic!("no {field} change in {file:#}"))
}

#[test]
fn a_re_recording_is_classified_file_by_file_as_json() {
    let scenario = scenario();
    for baseline in [
        vec![],
        vec![
            "--against".to_owned(),
            scenario.before.path().display().to_string(),
        ],
    ] {
        let mut args: Vec<&str> = baseline.iter().map(String::as_str).collect();
        args.extend(["--format", "json"]);
        let output = diff(&scenario.dir, &args);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(
            report["summary"],
            json!({"changed": 2, "rekeyed": 1, "added": 1, "removed": 1,
                   "unchanged": 2, "formatting_only": 1}),
            "{report:#}"
        );

        let streamed = entry(&report, STREAMED_CHAT);
        assert_eq!(streamed["status"], "changed");
        assert_eq!(streamed["provider"], "openai");
        assert_eq!(streamed["endpoint"], "/v1/chat/completions");
        assert_eq!(streamed["old_key"], streamed["new_key"]);
        let text = change(streamed, "text");
        assert!(
            text["word_diff"]
                .as_str()
                .is_some_and(|diff| diff.starts_with("I'm [-sorry-]{+glad+} for the")),
            "{text}"
        );
        assert_eq!(streamed["changes"].as_array().map(Vec::len), Some(1));

        let plain = entry(&report, CHAT);
        assert_eq!(plain["status"], "changed");
        assert_eq!(
            change(plain, "text")["now"],
            "The weather in Paris is sunny."
        );
        assert_eq!(
            change(plain, "stop_reason"),
            &json!({"field": "stop_reason", "was": "stop", "now": "length"})
        );
        let counts = &change(plain, "usage")["counts"];
        assert_eq!(counts[0]["name"], "completion_tokens");
        assert_eq!(counts[0]["now"], 99);

        let rekeyed = entry(&report, &scenario.rekeyed_to);
        assert_eq!(rekeyed["status"], "rekeyed");
        assert_eq!(rekeyed["old_key"], scenario.rekeyed_from.as_str());
        assert_eq!(rekeyed["new_key"], scenario.rekeyed_to.as_str());
        assert_eq!(rekeyed["provider"], "anthropic");
        assert_eq!(
            rekeyed["path"],
            format!("responses/{}.json", scenario.rekeyed_to)
        );
        let request = change(rekeyed, "request");
        assert_eq!(
            request["fields"],
            json!([{"pointer": "/messages/4/content/0/content",
                    "was": "18 C and sunny", "now": "25 C and cloudy"}])
        );
        assert!(
            change(rekeyed, "text")["word_diff"]
                .as_str()
                .is_some_and(|diff| diff.contains("[-18-]{+25+} C and [-sunny-]{+cloudy+}"))
        );

        assert_eq!(entry(&report, OLLAMA_GENERATE)["status"], "removed");
        assert_eq!(entry(&report, OLLAMA_GENERATE)["new_key"], Value::Null);
        let added = entry(&report, EMBEDDINGS);
        assert_eq!(added["status"], "added");
        assert_eq!(added["endpoint"], "/v1/embeddings");
        assert_eq!(added["old_key"], Value::Null);

        let reformatted = entry(&report, COMPLETION);
        assert_eq!(reformatted["status"], "unchanged");
        assert_eq!(reformatted["formatting_only"], true);
        assert!(
            report["files"].as_array().is_some_and(|files| files
                .iter()
                .all(|f| !f["key"].as_str().is_some_and(|k| k.starts_with(UNTOUCHED)))),
            "a byte-identical recording is only counted"
        );
    }
}

#[test]
fn the_text_and_markdown_reports_show_answers_as_word_diffs() {
    let scenario = scenario();
    let output = diff(&scenario.dir, &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let at = |start: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start:?} in\n{text}"))
    };
    let streamed = at(&format!(
        "changed   {STREAMED_CHAT}  openai POST /v1/chat/completions"
    ));
    assert!(
        lines[streamed + 1].starts_with("  answer:     I'm [-sorry-]{+glad+} for the"),
        "{text}"
    );
    let plain = at(&format!("changed   {CHAT}"));
    assert!(text.contains("  stopped:    stop → length\n"), "{text}");
    assert!(
        lines[plain + 1..]
            .iter()
            .any(|l| l.contains("completion_tokens ") && l.ends_with("→ 99")),
        "{text}"
    );
    let rekeyed = at(&format!(
        "rekeyed   {} → {}  anthropic POST /v1/messages",
        &scenario.rekeyed_from[..12],
        &scenario.rekeyed_to[..12]
    ));
    assert_eq!(
        lines[rekeyed + 1],
        "  request:    /messages/4/content/0/content: [-18-]{+25+} C and [-sunny-]{+cloudy+}"
    );
    at(&format!(
        "added     {EMBEDDINGS}  openai POST /v1/embeddings"
    ));
    let removed = lines[at(&format!(
        "removed   {OLLAMA_GENERATE}  ollama POST /api/generate"
    ))];
    assert!(removed.contains("asked \""), "{removed}");
    assert!(lines[at(&format!("unchanged {COMPLETION}"))].ends_with("(formatting only)"));
    assert_eq!(
        lines.last().copied(),
        Some(
            "Summary: 2 changed, 1 rekeyed, 1 added, 1 removed, 2 unchanged (1 formatting only) against HEAD"
        )
    );

    let output = diff(&scenario.dir, &["HEAD", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(1));
    let markdown = stdout(&output);
    assert!(markdown.starts_with(
        "### Recordings against `HEAD`: 2 changed, 1 rekeyed, 1 added, 1 removed, 2 unchanged (1 formatting only)\n"
    ));
    assert_eq!(markdown.matches("<details>").count(), 6, "{markdown}");
    assert_eq!(markdown.matches("</details>").count(), 6);
    let section = markdown
        .split("<details>")
        .find(|section| section.contains(&format!("responses/{}.json", scenario.rekeyed_to)))
        .expect("the rekeyed section");
    assert!(section.contains("<b>rekeyed</b>"), "{section}");
    assert!(section.contains(&format!(
        "was:        responses/{}.json",
        scenario.rekeyed_from
    )));
    assert!(section.contains("```text\n"), "{section}");
    assert!(
        section.contains(
            "answer:     <tool_response>\n            [-18-]{+25+} C and [-sunny-]{+cloudy+}\n"
        ),
        "{section}"
    );
}

#[test]
fn exit_codes_say_whether_anything_but_formatting_changed() {
    let repo = tempfile::tempdir().expect("temp");
    git(repo.path(), &["init", "--quiet"]);
    let responses = repo.path().join("responses");
    fs::create_dir_all(&responses).expect("dir");
    let source = committed(COMPLETION);
    let path = responses.join(source.file_name().expect("named"));
    fs::copy(&source, &path).expect("copied");
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "one"]);

    let output = diff(repo.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        stdout(&output),
        "Summary: 0 changed, 0 rekeyed, 0 added, 0 removed, 1 unchanged against HEAD\n"
    );
    let compact = serde_json::to_string(&read_json(&path)).expect("JSON");
    fs::write(&path, compact).expect("written");
    assert_eq!(
        diff(repo.path(), &[]).status.code(),
        Some(0),
        "formatting only"
    );

    for (args, says) in [
        (vec!["no-such-rev"], "no-such-rev: not a revision"),
        (
            vec!["--against", "/no/such/dir"],
            "/no/such/dir: no such recordings directory",
        ),
    ] {
        let output = diff(repo.path(), &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
    fs::write(&path, "{ torn").expect("written");
    let output = diff(repo.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "responses/{}.json (work tree): not a recording",
            key_of_path(&path)
        )),
        "{stderr}"
    );
    let outside = tempfile::tempdir().expect("temp");
    let output = diff(outside.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("git rev-parse"));
}

#[test]
fn stale_lists_recordings_not_changed_in_git_for_longer_than_asked() {
    let repo = tempfile::tempdir().expect("temp");
    git(repo.path(), &["init", "--quiet"]);
    let responses = repo.path().join("responses");
    fs::create_dir_all(&responses).expect("dir");
    let copy = |prefix: &str| {
        let source = committed(prefix);
        let path = responses.join(source.file_name().expect("named"));
        fs::copy(&source, &path).expect("copied");
        path
    };
    let (old, edited) = (copy(CHAT), copy(COMPLETION));
    git(repo.path(), &["add", "."]);
    let long_ago = "2020-01-02T03:04:05Z";
    git_with(
        repo.path(),
        &["commit", "--quiet", "-m", "old"],
        &[
            ("GIT_COMMITTER_DATE", long_ago),
            ("GIT_AUTHOR_DATE", long_ago),
        ],
    );
    let fresh = copy(STREAMED_CHAT);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "new"]);
    // Re-recorded, not yet committed: fresh too.
    fs::write(
        &edited,
        serde_json::to_string(&read_json(&edited)).expect("JSON"),
    )
    .expect("edit");

    let output = Command::cargo_bin("inference-recorder")
        .expect("the binary")
        .args(["stale", "--older-than", "90d", "--dir"])
        .arg(repo.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(&old.display().to_string()), "{text}");
    assert!(lines[0].contains("last changed 2020-01-02 ("), "{text}");
    assert!(
        lines[0].ends_with("POST /v1/chat/completions  SmolLM2-135M-Instruct"),
        "{text}"
    );
    assert!(!text.contains(&key_of_path(&fresh)));
    assert!(
        lines[1].starts_with("Summary: 1 of the recordings"),
        "{text}"
    );

    let output = Command::cargo_bin("inference-recorder")
        .expect("the binary")
        .args(["stale", "--older-than", "ninety days", "--dir"])
        .arg(repo.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"ninety days\": not an age"));
}
