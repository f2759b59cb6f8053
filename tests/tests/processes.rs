//! The recorder across processes: eight of them recording into one directory at once,
//! one killed in the middle of a write, one whose disk is full. Each leaves only
//! complete recordings, and a full disk loses neither the old recording nor the
//! response that was fetched.
//!
//! The processes are `recorder-worker` (src/bin), recording answers from `Synthetic`,
//! an in-process server: what is under test is the recorder and the file system.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use recording_core::{InferenceClient, Mode, Recording, RecordingFile};
use serde_json::Value;
use tests::synthetic::{STRESS_KEYS, Synthetic, request};

const WORKER: &str = env!("CARGO_BIN_EXE_recorder-worker");

fn entries(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir.join("responses")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn temp_files(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|name| !name.ends_with(".json"))
        .collect()
}

/// What `client` answers to request `n`, a stream collected into an array.
async fn answer(client: &dyn InferenceClient, n: usize) -> Value {
    let response = client.send(request(n)).await.expect("an answer");
    if n.is_multiple_of(3) {
        let chunks: Vec<Value> = response
            .into_stream()
            .expect("a stream")
            .map(|chunk| chunk.expect("a chunk"))
            .collect()
            .await;
        Value::Array(chunks)
    } else {
        response.into_json().expect("a body")
    }
}

#[tokio::test]
async fn eight_processes_of_64_tasks_record_one_directory_then_all_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            Command::new(WORKER)
                .args(["stress", &dir.path().display().to_string()])
                .args([worker.to_string(), "64".into()])
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a worker")
        })
        .collect();
    for worker in workers {
        let output = worker.wait_with_output().expect("a worker ends");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let names = entries(dir.path());
    assert_eq!(names.len(), STRESS_KEYS, "one file per request: {names:?}");
    let replay = Recording::new(Synthetic::new(256))
        .mode(Mode::Replay)
        .dir(dir.path());
    let reference_dir = tempfile::tempdir().expect("tempdir");
    let reference = Recording::new(Synthetic::new(256))
        .mode(Mode::Record)
        .dir(reference_dir.path());
    for n in 0..STRESS_KEYS {
        let path = replay.path_of(&request(n));
        RecordingFile::from_slice(&fs::read(&path).expect("recorded"), &path)
            .expect("every file is complete and valid");
        // What a single recorder returns to its caller, normalized, is what replay gives.
        assert_eq!(
            answer(&replay, n).await,
            answer(&reference, n).await,
            "request {n}"
        );
    }
    assert_eq!(replay.inner().served(), 0, "replay never calls the server");
}

fn padding_of(file: &RecordingFile) -> (u64, usize, bool) {
    let body = &file.response.body;
    let generation = body["generation"].as_u64().expect("a generation");
    let padding = body["padding"].as_str().expect("padding");
    let fill = char::from(b'a' + (generation % 26) as u8);
    (
        generation,
        padding.len(),
        padding.chars().all(|c| c == fill),
    )
}

/// Starts a worker that re-records one 16 MB recording forever, waits until it is
/// inside a write (its temporary file exists), and kills it there.
fn kill_mid_write(dir: &Path) -> bool {
    let mut child = Command::new(WORKER)
        .args(["rewrite-forever", &dir.display().to_string(), "16000000"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the worker");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the worker's first line");
    assert_eq!(line.trim(), "recorded", "the first write completed");
    let limit = Instant::now() + Duration::from_secs(60);
    let mut inside = false;
    while !inside && Instant::now() < limit {
        inside = !temp_files(dir).is_empty();
        if !inside {
            std::thread::yield_now();
        }
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");
    inside
}

#[tokio::test]
async fn a_writer_killed_mid_write_leaves_a_complete_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = Recording::new(Synthetic::new(0))
        .dir(dir.path())
        .path_of(&request(1));
    let mut torn_temp_files = 0;
    for _ in 0..3 {
        let killed_inside = kill_mid_write(dir.path());
        let file = RecordingFile::from_slice(&fs::read(&path).expect("read"), &path)
            .expect("the recording is complete after the kill");
        let (generation, length, uniform) = padding_of(&file);
        assert_eq!(length, 16_000_000, "generation {generation} is whole");
        assert!(uniform, "generation {generation} is not a mix of two");
        if killed_inside && !temp_files(dir.path()).is_empty() {
            torn_temp_files += 1;
        }
    }
    assert!(
        torn_temp_files > 0,
        "no kill landed inside a write, so nothing was tested"
    );

    // The killed writes' temporary files trip up nothing that comes later: replay,
    // the miss listing and a new record all see recordings only.
    let leftovers = temp_files(dir.path());
    assert!(
        leftovers.iter().all(|name| name.starts_with(".tmp-")),
        "{leftovers:?}"
    );
    let replay = Recording::new(Synthetic::new(0))
        .mode(Mode::Replay)
        .dir(dir.path());
    let body = answer(&replay, 1).await;
    assert_eq!(body["padding"].as_str().map(str::len), Some(16_000_000));
    let miss = replay
        .send(request(2))
        .await
        .expect_err("not recorded")
        .to_string();
    assert!(!miss.contains(".tmp-"), "{miss}");
    let recorder = Recording::new(Synthetic::new(10).generation(99))
        .mode(Mode::Record)
        .dir(dir.path());
    assert_eq!(answer(&recorder, 1).await["generation"], 99);
}

#[test]
fn a_full_disk_keeps_the_old_recording_and_hands_back_the_response() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_arg = dir.path().display().to_string();
    let status = Command::new(WORKER)
        .args(["record-once", &dir_arg, "100", "0"])
        .status()
        .expect("run the worker");
    assert!(status.success());
    let path = Recording::new(Synthetic::new(0))
        .dir(dir.path())
        .path_of(&request(1));
    let before = fs::read(&path).expect("recorded");

    // A file-size limit makes writes past 4 KB fail as they do on a full disk; the
    // signal such a write raises is ignored, so the write returns an error instead.
    let output = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\""])
        .args([WORKER, "record-once", &dir_arg, "1000000", "1"])
        .output()
        .expect("run the worker under a file-size limit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("cannot write"), "{stdout}");
    assert!(
        stdout.contains(&*path.display().to_string()),
        "names the file: {stdout}"
    );
    let carried: usize = stdout
        .split("carries ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the worker says how much the error carries");
    assert!(carried > 1_000_000, "the whole response: {stdout}");
    assert_eq!(fs::read(&path).expect("still there"), before);
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        entries(dir.path())
    );
}
