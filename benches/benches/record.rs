//! Record overhead: the same in-process inner client, live vs. recorded, so the figure
//! isolates the recorder (canonicalize, hash, normalize, atomic write), beside the
//! floor of any recorder that keeps files whole: replacing a file of the same size
//! atomically (a temporary file beside it, then a rename).

use benches::{Canned, chat_body, chat_request};
use divan::Bencher;
use recording_core::{InferenceClient, Mode, Recording};

fn main() {
    divan::main();
}

fn run(bencher: Bencher, mode: Mode) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let client = Recording::new(Canned::new(chat_body()))
        .mode(mode)
        .dir(dir.path());
    let request = chat_request(2_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    bencher.bench_local(|| {
        rt.block_on(client.send(request.clone()))
            .and_then(|response| response.into_json())
            .unwrap_or_else(|err| panic!("{err}"))
    });
}

/// Straight through: the inner client's own cost.
#[divan::bench]
fn live(bencher: Bencher) {
    run(bencher, Mode::Live);
}

/// Through the recorder, writing (over) the recording every call.
#[divan::bench]
fn record(bencher: Bencher) {
    run(bencher, Mode::Record);
}

/// Record-if-missing once recorded: a replay of the same request.
#[divan::bench]
fn record_if_missing_hit(bencher: Bencher) {
    run(bencher, Mode::RecordIfMissing);
}

/// The floor of `record`: the file `record` writes, replaced atomically with its own
/// bytes on every call (a temporary file beside it, written, renamed), with nothing of
/// the recorder's own.
#[divan::bench]
fn record_floor(bencher: Bencher) {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let client = Recording::new(Canned::new(chat_body()))
        .mode(Mode::Record)
        .dir(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    rt.block_on(client.send(chat_request(2_000)))
        .unwrap_or_else(|err| panic!("{err}"));
    let [path] = <[_; 1]>::try_from(benches::floors::json_files(dir.path()))
        .unwrap_or_else(|found| panic!("one recording, found {found:?}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{err}"));
    let parent = path.parent().unwrap_or(dir.path());
    bencher.bench_local(|| {
        let mut temp =
            tempfile::NamedTempFile::new_in(parent).unwrap_or_else(|err| panic!("{err}"));
        temp.write_all(&bytes).unwrap_or_else(|err| panic!("{err}"));
        temp.persist(&path).unwrap_or_else(|err| panic!("{err}"));
    });
}
