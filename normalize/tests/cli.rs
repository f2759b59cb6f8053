//! The real `normalize` binary on temporary copies of fixture trees.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use recording_core::format::RecordedRequest;
use serde_json::{Value, json};
use tests::numbers::{HARD, exact, literals, with_values};

const EPOCH: &str = "1970-01-01T00:00:00.000000Z";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/llama-stack")
}

/// A temporary copy of the llama-stack fixtures, under `<tmp>/recordings/`.
fn fixture_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let recordings = dir.path().join("recordings");
    fs::create_dir_all(&recordings).expect("mkdir");
    for entry in fs::read_dir(fixtures()).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "json") {
            fs::copy(&path, recordings.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    (dir, recordings)
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walk(dir)
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn normalize() -> Command {
    Command::cargo_bin("normalize").expect("the normalize binary")
}

/// The key a recorder gives the request a recording holds, through the one key function.
fn key_of(recording: &Value) -> String {
    sequence_key_of(recording, 0)
}

/// The key of the `call`-th identical request in sequence mode.
fn sequence_key_of(recording: &Value, call: u64) -> String {
    let request: RecordedRequest =
        serde_json::from_value(recording["request"].clone()).expect("a recorded request");
    let rules = normalize::rules_for(request.provider.as_deref(), &request.endpoint)
        .expect("the provider's rules");
    recording_core::key::sequence_key_of(
        &request.to_api_request(),
        request.scope.as_deref(),
        rules,
        call,
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).expect("read")).expect("json")
}

#[test]
fn dry_run_reports_and_changes_no_byte() {
    let (_dir, tree) = fixture_tree();
    let before = snapshot(&tree);
    let output = normalize()
        .arg(&tree)
        .arg("--dry-run")
        .output()
        .expect("run");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "[DRY RUN] Would normalize: {}",
            tree.join("e96152610712.json").display()
        )),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .ends_with("[DRY RUN] Summary: 7/12 files modified"),
        "{stdout}"
    );
    assert_eq!(snapshot(&tree), before);
}

#[test]
fn check_exits_1_when_anything_would_change_and_0_when_clean() {
    let (_dir, tree) = fixture_tree();
    let before = snapshot(&tree);
    let output = normalize().arg(&tree).arg("--check").output().expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("[CHECK] Summary: 7/12 files modified")
    );
    assert_eq!(snapshot(&tree), before, "--check changes nothing");

    normalize().arg(&tree).assert().success();
    normalize().arg(&tree).arg("--check").assert().code(0);
}

#[test]
fn a_second_run_changes_nothing() {
    let (_dir, tree) = fixture_tree();
    let first = normalize().arg(&tree).output().expect("run");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("Normalized: "))
            .count(),
        7,
        "{stdout}"
    );
    let after_first = snapshot(&tree);
    let second = normalize().arg(&tree).output().expect("run");
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "Summary: 0/12 files modified"
    );
    assert_eq!(snapshot(&tree), after_first);
}

#[test]
fn llama_stack_files_come_out_as_the_design_rules_say() {
    let (_dir, tree) = fixture_tree();
    normalize().arg(&tree).assert().success();

    // OpenAI-style: id → rec-{hash[:12]} (the hash from the file name), created → 0.
    let chat = read_json(&tree.join("3c0bf9ba81b2.json"));
    let data = &chat["response"]["body"]["__data__"];
    assert_eq!(
        chat["response"]["body"]["__type__"],
        "openai.types.chat.chat_completion.ChatCompletion"
    );
    assert_eq!(data["id"], "rec-3c0bf9ba81b2");
    assert_eq!(data["created"], 0);
    assert_eq!(
        data["choices"][0]["message"]["content"],
        "It looks like we've"
    );
    for chunk in read_json(&tree.join("0fad19b9d308.json"))["response"]["body"]
        .as_array()
        .expect("chunks")
    {
        assert_eq!(chunk["__data__"]["id"], "rec-0fad19b9d308");
        assert_eq!(chunk["__data__"]["created"], 0);
    }
    // Model objects keep their id and created; the model-list hash is the <hash> part.
    let models = read_json(&tree.join("models-bd032f995f2a-abd54ea0.json"));
    assert_eq!(
        models["response"]["body"][0]["__data__"]["id"],
        "llama-guard3:1b"
    );
    assert_eq!(
        models["response"]["body"][0]["__data__"]["created"],
        1_753_937_098
    );

    // Ollama-style: created_at → epoch, durations → 0 when present and not null.
    let generate = read_json(&tree.join("e96152610712.json"));
    let data = &generate["response"]["body"]["__data__"];
    assert_eq!(data["created_at"], EPOCH);
    for key in [
        "total_duration",
        "load_duration",
        "prompt_eval_duration",
        "eval_duration",
    ] {
        assert_eq!(data[key], 0, "{key}");
    }
    assert_eq!(data["eval_count"], 5);
    let stream = read_json(&tree.join("80e4404d8987.json"));
    let chunks = stream["response"]["body"].as_array().expect("chunks");
    assert!(chunks.iter().all(|c| c["__data__"]["created_at"] == EPOCH));
    assert!(chunks[0]["__data__"]["total_duration"].is_null());
    let embed = read_json(&tree.join("a97477559b10.json"));
    assert!(embed["response"]["body"]["__data__"]["created_at"].is_null());
    assert_eq!(embed["response"]["body"]["__data__"]["load_duration"], 0);
}

#[test]
fn a_rewritten_file_keeps_key_order_and_layout() {
    let (_dir, tree) = fixture_tree();
    let path = tree.join("e96152610712.json");
    let original = fs::read_to_string(&path).expect("read");
    normalize().arg(&path).assert().success();
    let rewritten = fs::read_to_string(&path).expect("read");
    assert!(rewritten.ends_with("}\n"));
    assert!(rewritten.starts_with("{\n  \"request\": {\n    \"method\": \"POST\","));
    // Line for line the same, but for the normalized fields.
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(rewritten.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(original.lines().count(), rewritten.lines().count());
    let keys: Vec<&str> = changed
        .iter()
        .map(|(_, b)| b.trim().split('"').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        [
            "created_at",
            "total_duration",
            "load_duration",
            "prompt_eval_duration",
            "eval_duration"
        ]
    );
}

#[test]
fn native_recordings_are_normalized_by_their_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let responses = dir.path().join("recordings/responses");
    fs::create_dir_all(&responses).expect("mkdir");
    let file = json!({
        "request": {"provider": "openai", "method": "POST", "url": "http://127.0.0.1:8080/v1/chat/completions",
                    "endpoint": "/v1/chat/completions", "model": "tiny", "body": {"model": "tiny"}},
        "response": {"status": 200, "is_streaming": true, "body": [
            {"id": "chatcmpl-9", "created": 1764000000, "object": "chat.completion.chunk", "choices": [],
             "timings": {"predicted_n": 3, "predicted_ms": 12.5}}
        ]}
    });
    let hash = key_of(&file);
    let path = responses.join(format!("{hash}.json"));
    fs::write(&path, serde_json::to_vec_pretty(&file).expect("json")).expect("write");
    // An Ollama recording under an OpenAI-looking endpoint: the provider field decides.
    let ollama = json!({
        "request": {"provider": "ollama", "method": "POST", "endpoint": "/v1/odd", "body": {}},
        "response": {"status": 200, "is_streaming": false, "body": {"id": "x", "created_at": "2026-01-01T00:00:00Z"}}
    });
    let ollama_path = responses.join(format!("{}.json", key_of(&ollama)));
    fs::write(
        &ollama_path,
        serde_json::to_vec_pretty(&ollama).expect("json"),
    )
    .expect("write");

    normalize().arg(dir.path()).assert().success();
    let chunk = &read_json(&path)["response"]["body"][0];
    assert_eq!(chunk["id"], format!("rec-{}", &hash[..12]));
    assert_eq!(chunk["created"], 0);
    assert_eq!(
        chunk["timings"],
        json!({"predicted_n": 3, "predicted_ms": 0})
    );
    let body = &read_json(&ollama_path)["response"]["body"];
    assert_eq!(body, &json!({"id": "x", "created_at": EPOCH}));
}

#[test]
fn bad_files_are_reported_left_untouched_and_fail_the_run() {
    let (_dir, tree) = fixture_tree();
    let torn = tree.join("torn.json");
    fs::write(&torn, b"{\"request\": {\"method\": ").expect("write");
    let stranger = tree.join("sub/package.json");
    fs::create_dir_all(stranger.parent().expect("parent")).expect("mkdir");
    fs::write(&stranger, b"{\"name\": \"not a recording\"}\n").expect("write");

    let output = normalize().arg(&tree).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("Error: {}: not valid JSON", torn.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "Error: {}: not a recording: no `request`",
            stranger.display()
        )),
        "{stderr}"
    );
    assert_eq!(
        fs::read(&torn).expect("read"),
        b"{\"request\": {\"method\": "
    );
    // The other files were still processed.
    assert!(String::from_utf8_lossy(&output.stdout).contains("Summary: 7/14 files modified"));
    assert_eq!(
        read_json(&tree.join("3c0bf9ba81b2.json"))["response"]["body"]["__data__"]["created"],
        0
    );
}

#[test]
fn without_a_path_it_finds_the_recordings_of_the_current_repository() {
    let (dir, tree) = fixture_tree();
    let workspace = dir.path().join("ws");
    fs::create_dir_all(workspace.join("tests")).expect("mkdir");
    fs::rename(&tree, workspace.join("tests/recordings")).expect("move");
    let output = normalize()
        .current_dir(&workspace)
        .arg("--dry-run")
        .output()
        .expect("run");
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("[DRY RUN] Summary: 7/12 files modified")
    );

    // A repository with `recordings/` at its root: that one.
    let other = dir.path().join("other");
    fs::create_dir_all(&other).expect("mkdir");
    fs::rename(workspace.join("tests/recordings"), other.join("recordings")).expect("move");
    let output = normalize()
        .current_dir(&other)
        .arg("--check")
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("[CHECK] Summary: 7/12 files modified")
    );

    let output = normalize().current_dir(dir.path()).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("neither recordings/ nor tests/recordings/"),
        "{stderr}"
    );
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let output = normalize()
        .arg("/nonexistent/recordings")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/recordings"));
}

#[test]
fn every_number_survives_a_rewrite_bit_for_bit() {
    let (_dir, tree) = fixture_tree();
    // The real Ollama embedding, plus values that a parser without serde_json's
    // float_roundtrip moves by one unit in the last place (from llama-stack's own
    // recordings): a second file with them in the vector.
    let original = fs::read_to_string(tree.join("a97477559b10.json")).expect("read");
    let edited = with_values(&original, &HARD);
    for value in HARD {
        assert!(edited.contains(value), "the test file carries {value}");
    }
    fs::write(tree.join("a97477559b11.json"), &edited).expect("write");
    let before: Vec<(PathBuf, String)> = walk(&tree)
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("read");
            (path, text)
        })
        .collect();

    normalize().arg(&tree).assert().success();

    let mut kept = 0;
    for (path, text) in before {
        let after = fs::read_to_string(&path).expect("read");
        let (old, new) = (literals(&text), literals(&after));
        assert_eq!(
            old.len(),
            new.len(),
            "{}: numbers added or lost",
            path.display()
        );
        for (old, new) in old.into_iter().zip(new) {
            // Normalized fields (durations, `created`) become 0; every other number
            // keeps its exact value.
            if exact(new) != 0.0 {
                assert_eq!(
                    exact(old).to_bits(),
                    exact(new).to_bits(),
                    "{}: {old} became {new}",
                    path.display()
                );
                kept += 1;
            }
        }
    }
    assert!(
        kept > 2 * 384,
        "the embeddings were compared: {kept} numbers"
    );
}

/// A small llama-stack chat recording that the rules change (it has a real `id`).
fn changing_recording() -> Vec<u8> {
    fs::read(fixtures().join("3c0bf9ba81b2.json")).expect("fixture")
}

#[test]
fn odd_file_names_are_normalized_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<std::ffi::OsString> = vec![
        "prénom-élève.json".into(),
        "abcdefghijk€.json".into(),
        std::ffi::OsStr::from_bytes(b"bad-\xff\xfe-name.json").to_owned(),
    ];
    for name in &names {
        fs::write(dir.path().join(name), changing_recording()).expect("write");
    }
    normalize().arg(dir.path()).arg("--check").assert().code(1);
    normalize().arg(dir.path()).assert().success();
    normalize().arg(dir.path()).arg("--check").assert().code(0);
    let file = read_json(&dir.path().join("abcdefghijk€.json"));
    assert_eq!(
        file["response"]["body"]["__data__"]["id"],
        "rec-abcdefghijk€"
    );
}

#[test]
fn a_check_that_finds_nothing_or_skips_a_path_fails() {
    let empty = tempfile::tempdir().expect("tempdir");
    let output = normalize()
        .arg(empty.path())
        .arg("--check")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was checked"));

    // A FIFO named like a recording is passed over, and that fails the check.
    let (_dir, tree) = fixture_tree();
    normalize().arg(&tree).assert().success();
    let fifo = tree.join("pipe.json");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
    let output = normalize().arg(&tree).arg("--check").output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("pipe.json") && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

#[test]
fn links_permissions_and_leftovers_are_handled_as_documented() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("real");
    fs::create_dir_all(real.join("responses")).expect("mkdir");
    // A `responses/` reached through a symlinked directory is walked.
    std::os::unix::fs::symlink(&real, dir.path().join("linked")).expect("symlink");
    let target = real.join("responses/0fad19b9d308.json");
    fs::copy(fixtures().join("0fad19b9d308.json"), &target).expect("copy");
    // A link to a recording stays a link; its target is rewritten.
    let link = dir.path().join("3c0bf9ba81b2.json");
    let linked_target = real.join("3c0bf9ba81b2.json");
    fs::write(&linked_target, changing_recording()).expect("write");
    std::os::unix::fs::symlink(&linked_target, &link).expect("symlink");
    // A read-only recording stays read-only.
    let read_only = real.join("2a5a4e821bc8.json");
    fs::copy(fixtures().join("2a5a4e821bc8.json"), &read_only).expect("copy");
    fs::set_permissions(&read_only, fs::Permissions::from_mode(0o444)).expect("chmod");
    // A hard-linked recording is left alone: a rewrite would break the link.
    let hard = real.join("4014dd44c15f.json");
    fs::copy(fixtures().join("4014dd44c15f.json"), &hard).expect("copy");
    fs::hard_link(&hard, dir.path().join("hard-twin.json.bak")).expect("hard link");
    // A leftover of an interrupted run.
    let leftover = real.join(".tmp-batch-abc123.partial");
    fs::write(&leftover, b"half").expect("write");

    let output = normalize()
        .arg(dir.path().join("linked"))
        .arg(&link)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "the hard link is a failure: {stderr}"
    );
    assert!(stderr.contains("hard links"), "{stderr}");
    assert!(stderr.contains("interrupted run"), "{stderr}");
    assert!(!leftover.exists());

    assert!(
        fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_ne!(
        fs::read(&linked_target).expect("read"),
        changing_recording()
    );
    assert_ne!(
        fs::read(&target).expect("read"),
        fs::read(fixtures().join("0fad19b9d308.json")).expect("fixture"),
        "found through the linked directory and rewritten"
    );
    let mode = fs::metadata(&read_only).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    assert_eq!(fs::metadata(&hard).expect("meta").nlink(), 2);
    assert_eq!(
        fs::read(&hard).expect("read"),
        fs::read(fixtures().join("4014dd44c15f.json")).expect("fixture")
    );
}

#[test]
fn a_byte_order_mark_is_no_reason_to_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(changing_recording());
    let path = dir.path().join("3c0bf9ba81b2.json");
    fs::write(&path, bytes).expect("write");
    normalize().arg(dir.path()).assert().success();
    assert!(!fs::read(&path).expect("read").starts_with(b"\xEF\xBB\xBF"));
    normalize().arg(dir.path()).arg("--check").assert().code(0);
}

#[test]
fn leftovers_beside_a_file_named_on_the_command_line_are_removed_by_a_rewrite_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("3c0bf9ba81b2.json");
    fs::write(&file, changing_recording()).expect("write");
    let leftover = dir.path().join(".tmp-batch-x1y2z3.partial");
    let recorders_own = dir.path().join(".tmp-a1b2c3.partial");
    for temp in [&leftover, &recorders_own] {
        fs::write(temp, b"half").expect("write");
    }

    let output = normalize().arg(&file).arg("--check").output().expect("run");
    assert_eq!(output.status.code(), Some(1), "it would change");
    assert!(leftover.exists(), "a check removes nothing");

    let output = normalize().arg(&file).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("Removed 1 temporary file"), "{stderr}");
    assert!(!leftover.exists());
    assert!(
        recorders_own.exists(),
        "a recorder's temporary file is its own"
    );
}

#[test]
fn files_are_reported_in_name_order_whatever_order_they_were_written_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Written last name first, so their inode order (the order `normalize` works in)
    // is the reverse of their names'.
    let names = ["e.json", "d.json", "c.json", "b.json", "a.json"];
    for name in names {
        fs::write(dir.path().join(name), changing_recording()).expect("write");
    }
    let output = normalize()
        .arg(dir.path())
        .arg("--check")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "they would change");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reported: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("[CHECK] Would normalize: "))
        .filter_map(|path| Path::new(path).file_name()?.to_str())
        .collect();
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    assert_eq!(reported, sorted, "{stdout}");
}

/// A recording of this project's in a directory of its own, under `name` (`None`: its key).
fn native_recording(body: Value, scope: Option<&str>) -> Value {
    let mut request = json!({"provider": "openai", "method": "POST", "url": "", "endpoint": "/v1/chat/completions",
                             "model": "tiny", "body": body});
    if let Some(scope) = scope {
        request["scope"] = json!(scope);
    }
    json!({
        "request": request,
        "response": {"status": 200, "is_streaming": false, "body": {"id": "rec-x", "object": "chat.completion", "created": 0, "choices": []}}
    })
}

#[test]
fn a_file_not_named_by_the_key_of_its_request_is_reported_as_such_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let responses = dir.path().join("responses");
    fs::create_dir_all(&responses).expect("mkdir");
    let asked = native_recording(
        json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}),
        None,
    );
    let key = key_of(&asked);
    // A copy of it, edited to hold another prompt, under the first one's name.
    let mut copied = asked.clone();
    copied["request"]["body"]["messages"][0]["content"] = json!("bye");
    let right = key_of(&copied);
    let path = responses.join(format!("{key}.json"));
    let bytes = serde_json::to_vec_pretty(&copied).expect("json");
    fs::write(&path, &bytes).expect("write");

    for args in [&["--check"][..], &[]] {
        let output = normalize()
            .arg(dir.path())
            .args(args)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "Error: {}: its name is not the key of the request it holds, {right}",
                path.display()
            )),
            "{stderr}"
        );
        assert!(!String::from_utf8_lossy(&output.stdout).contains("Would normalize"));
        assert_eq!(fs::read(&path).expect("read"), bytes, "left untouched");
    }
    normalize()
        .arg(dir.path())
        .args(["--check", "--no-name-check"])
        .assert()
        .code(1);
    // Renamed to its key, it is a clean recording.
    fs::rename(&path, responses.join(format!("{right}.json"))).expect("rename");
    normalize().arg(dir.path()).assert().code(0);
    normalize().arg(dir.path()).arg("--check").assert().code(0);
}

#[test]
fn names_are_checked_as_the_recorder_keys_volatile_fields_scopes_and_sequences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let responses = dir.path().join("responses");
    fs::create_dir_all(&responses).expect("mkdir");
    let body = json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}]});
    // `user` is volatile for OpenAI: the key is the one without it.
    let mut with_user = body.clone();
    with_user["user"] = json!("alice");
    let plain = native_recording(body.clone(), None);
    let volatile = native_recording(with_user, Some("a::test"));
    let scoped = native_recording(body.clone(), Some("a::test"));
    assert_eq!(key_of(&volatile), key_of(&scoped));
    let sequenced = native_recording(body, Some("b::test"));
    for (name, recording) in [
        (key_of(&plain), &plain),
        (key_of(&volatile), &volatile),
        (sequence_key_of(&sequenced, 3), &sequenced),
    ] {
        fs::write(
            responses.join(format!("{name}.json")),
            serde_json::to_vec_pretty(recording).expect("json"),
        )
        .expect("write");
    }
    let output = normalize().arg(dir.path()).output().expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    normalize().arg(dir.path()).arg("--check").assert().code(0);
    // The same file under another scope's key is misnamed.
    fs::write(
        responses.join(format!("{}.json", key_of(&plain))),
        serde_json::to_vec_pretty(&scoped).expect("json"),
    )
    .expect("write");
    normalize().arg(dir.path()).arg("--check").assert().code(2);
}
