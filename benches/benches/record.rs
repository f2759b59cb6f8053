//! Record overhead: the same in-process inner client, live vs. recorded, so the figure
//! isolates the recorder (canonicalize, hash, normalize, atomic write with fsync).

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
