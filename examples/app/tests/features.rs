//! What adding the recorder changes in the app's own dependencies: the features the
//! test build (with the dev-dependency) turns on, in crates the app's normal build
//! already has, beyond what the app asked for itself. Each must be on the reviewed
//! list below, with why it changes no behaviour; a new one (async-openai's `byot`,
//! which makes `create_stream` drop `"stream": true`) fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Features the recorder may add to the app's crates, and why that is harmless. The
/// guide's "What adding the recorder changes in your build" lists the same.
const REVIEWED: &[(&str, &str, &str)] = &[
    // More of async-openai's API: types and methods added, none of the app's changed.
    ("async-openai", "completions", "adds the completions API"),
    ("async-openai", "completion-types", "adds its types"),
    ("async-openai", "embedding", "adds the embeddings API"),
    ("async-openai", "embedding-types", "adds its types"),
    ("async-openai", "model", "adds the models API"),
    ("async-openai", "model-types", "adds its types"),
    ("async-openai", "responses", "adds the Responses API"),
    ("async-openai", "response-types", "adds its types"),
    (
        "async-openai",
        "middleware",
        "adds Client::with_http_service, the hook RecordingHttpService plugs into",
    ),
    // A second TLS setup, built for the recorder's own clients. The app's clients keep
    // theirs: reqwest keeps its default backend, and the recorder installs no
    // process-wide crypto provider. One corner changes: with both `ring` and
    // `aws-lc-rs` compiled in, rustls cannot pick a provider from crate features, so
    // code that calls `rustls::ClientConfig::builder()` without installing a provider
    // first panics in the test build; installing one at start fixes it.
    (
        "reqwest",
        "rustls-no-provider",
        "a rustls backend the recorder configures itself",
    ),
    (
        "reqwest",
        "rustls-tls",
        "rustls beside native TLS; native TLS stays the default",
    ),
    (
        "reqwest",
        "rustls-tls-webpki-roots",
        "the roots of that backend",
    ),
    (
        "reqwest",
        "rustls-tls-webpki-roots-no-provider",
        "the roots of that backend",
    ),
    (
        "reqwest",
        "__rustls",
        "the shared part of reqwest's rustls backends",
    ),
    (
        "reqwest",
        "__rustls-ring",
        "ring for the rustls backend of ollama-rs's reqwest",
    ),
    ("rustls", "ring", "ring beside aws-lc-rs (see above)"),
    ("rustls-webpki", "ring", "ring's signature algorithms"),
    ("tokio-rustls", "ring", "ring, passed through"),
    ("hyper-rustls", "ring", "ring, passed through"),
    (
        "hyper-rustls",
        "webpki-roots",
        "adds HttpsConnectorBuilder::with_webpki_roots",
    ),
    ("hyper-rustls", "webpki-tokio", "a dependency of the above"),
    // The recording server (axum): server halves of the HTTP stack the app has.
    ("hyper", "server", "adds hyper's server"),
    ("hyper-util", "server", "adds its server helpers"),
    ("hyper-util", "service", "adds its service adapters"),
    ("tower", "make", "adds MakeService"),
    // serde_json: numbers survive a recording bit for bit.
    (
        "serde_json",
        "float_roundtrip",
        "floats parse to the nearest value instead of one within a bit of it: the app reads the same numbers, some more exactly",
    ),
    ("serde_json", "raw_value", "adds RawValue"),
    ("serde_core", "default", "serde's std impls"),
    ("bitflags", "std", "std impls on bitflags types"),
    ("syn", "visit-mut", "a derive macro's build-time need"),
];

/// `crate version` -> its features, in the app's build with `edges`.
fn features(edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "--format",
            "{p} {f}",
        ])
        .args(["-e", edges, "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{output:?}");
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        // `{f}` is the comma-separated feature list; the rest may be "(*)" or a path.
        let list = words.find(|w| !w.starts_with('(')).unwrap_or_default();
        let entry = map.entry(format!("{name} {version}")).or_default();
        entry.extend(list.split(',').filter(|f| !f.is_empty()).map(str::to_owned));
    }
    map
}

#[test]
fn the_recorder_turns_on_no_unreviewed_feature_in_the_apps_crates() {
    let app = features("normal,build");
    let with_recorder = features("normal,build,dev");
    assert!(
        app.keys().any(|p| p.starts_with("async-openai ")),
        "the tree was read: {app:?}"
    );
    let mut unreviewed = Vec::new();
    for (package, own) in &app {
        let name = package.split(' ').next().unwrap_or_default();
        let Some(test_build) = with_recorder.get(package) else {
            continue;
        };
        for feature in test_build.difference(own) {
            if !REVIEWED.iter().any(|(n, f, _)| *n == name && f == feature) {
                unreviewed.push(format!("{package}: {feature}"));
            }
        }
    }
    assert!(
        unreviewed.is_empty(),
        "the recorder turns on features the app did not ask for: {unreviewed:#?}"
    );
}
