//! Request identity: canonicalize (RFC 8785) and hash a request.

use benches::chat_request;
use divan::counter::BytesCount;
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

/// A typical chat request (about 2 KB) and a large one (about 200 KB of messages).
#[divan::bench(args = [2_000, 200_000])]
fn canonicalize_and_hash(bencher: Bencher, bytes: usize) {
    let request = chat_request(bytes);
    let size = request.body.to_string().len();
    bencher
        .counter(BytesCount::new(size))
        .bench(|| recording_core::request_hash(black_box(&request), None));
}

/// The floor of `canonicalize_and_hash`: SHA-256 of the request's canonical text,
/// already written (what any key over the whole request must at least cost).
#[divan::bench(args = [2_000, 200_000])]
fn hash_floor(bencher: Bencher, bytes: usize) {
    use sha2::{Digest, Sha256};
    let request = chat_request(bytes);
    let canonical =
        recording_core::key::canonical_json(&recording_core::key::identity_value(&request, None));
    bencher
        .counter(BytesCount::new(canonical.len()))
        .bench(|| Sha256::digest(black_box(canonical.as_bytes())));
}
