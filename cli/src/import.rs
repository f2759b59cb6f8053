//! `import llama-stack`: llama-stack's (and OGX's) recordings in this project's format,
//! under this project's keys, so a suite that moves over keeps its recordings.

use std::fs;
use std::path::{Path, PathBuf};

use recording_core::format::RecordingFile;
use recording_core::redact::{Secrets, default_fields, redact_request};
use recording_core::{Method, NormalizeContext, Store, key_of};
use serde_json::Value;

/// The arguments of `import`.
#[derive(clap::Args)]
pub(crate) struct Import {
    #[command(subcommand)]
    from: From,
}

#[derive(clap::Subcommand)]
enum From {
    /// llama-stack's recorder: `tests/integration/recordings/responses/*.json`.
    LlamaStack {
        /// The folder of llama-stack recordings (walked).
        source: PathBuf,
        /// The recordings directory to write into [default: TEST_RECORDING_DIR, else
        /// recordings/ or tests/recordings/ under the current directory]
        #[arg(long)]
        into: Option<PathBuf>,
    },
}

/// What the import made of one file.
enum Placed {
    /// Written under `key`; `notes` says what was corrected on the way.
    Imported {
        key: String,
        request: String,
        notes: Vec<String>,
    },
    /// A recording of the same key exists and differs; it was kept.
    Kept { key: String },
    /// The file cannot be placed, and why.
    Unplaced(String),
}

pub(crate) fn import(args: Import) -> Result<u8, String> {
    let From::LlamaStack { source, into } = args.from;
    let into = crate::recordings_dir(into)?;
    let store = Store::new(&into);
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&source)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    if files.is_empty() {
        return Err(format!("no *.json recordings under {}", source.display()));
    }
    files.sort();
    let (mut imported, mut unplaced) = (0, 0);
    for path in &files {
        match place(path, &store) {
            Placed::Imported {
                key,
                request,
                notes,
            } => {
                imported += 1;
                println!("Imported: {} -> {key}.json ({request})", path.display());
                for note in notes {
                    println!("  {note}");
                }
            }
            Placed::Kept { key } => {
                println!(
                    "Kept: {}.json already exists with other contents; {} was not imported",
                    key,
                    path.display()
                );
            }
            Placed::Unplaced(why) => {
                unplaced += 1;
                eprintln!("Cannot place: {}: {why}", path.display());
            }
        }
    }
    println!(
        "Summary: {imported} of {} files imported into {}, {unplaced} could not be placed",
        files.len(),
        into.display()
    );
    Ok(u8::from(unplaced > 0))
}

fn place(path: &Path, store: &Store) -> Placed {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return Placed::Unplaced(format!("cannot read: {err}")),
    };
    let mut file = match RecordingFile::from_slice(&bytes, path) {
        Ok(file) => file,
        Err(err) => return Placed::Unplaced(err.to_string()),
    };
    let mut notes = Vec::new();
    if let Err(why) = correct(&mut file, &mut notes) {
        return Placed::Unplaced(why);
    }
    let request = file.request.to_api_request();
    let redacted = redact_request(&request, &default_fields(), &Secrets::default());
    if let Some(redacted) = &redacted {
        file.request.body = redacted.body.clone();
        notes.push("redacted a key field in the request body".into());
    }
    // llama-stack names no provider: the registry knows whose API the endpoint is.
    let provider = match registry::PROVIDERS.for_recording(None, &file.request.endpoint) {
        Ok(provider) => provider,
        Err(why) => return Placed::Unplaced(why),
    };
    file.request.provider = Some(provider.name().into());
    let rules = provider.rules();
    // The key a recorder of that provider gives the request (key_of redacts and
    // leaves its volatile fields out, as the recorder does).
    let key = key_of(&request, None, rules);
    let ctx = NormalizeContext {
        hash: &key,
        endpoint: &file.request.endpoint,
    };
    match (&mut file.response.body, file.response.is_streaming) {
        (Value::Array(chunks), true) => {
            for chunk in chunks {
                rules.normalize(&ctx, chunk);
            }
        }
        (body, _) if !file.response.is_error => {
            rules.normalize(&ctx, body);
        }
        _ => {}
    }
    let target = store.path_for(&key);
    if let Ok(existing) = fs::read(&target)
        && existing != file.to_pretty_json().as_bytes()
    {
        return Placed::Kept { key };
    }
    if let Err(err) = store.save(&key, &file) {
        return Placed::Unplaced(err.to_string());
    }
    let request = format!("{} {}", file.request.method, file.request.endpoint);
    Placed::Imported {
        key,
        request,
        notes,
    }
}

/// What llama-stack's recorder stored differently from what went on the wire,
/// corrected where the file itself shows the truth, refused where it does not.
fn correct(file: &mut RecordingFile, notes: &mut Vec<String>) -> Result<(), String> {
    let request = &mut file.request;
    if !request.endpoint.starts_with('/') {
        return Err(format!("its endpoint {:?} is not a path", request.endpoint));
    }
    let body = &mut request.body;
    // The OpenAI Python SDK merges `extra_body` into the JSON it sends.
    if let Some(Value::Object(extra)) = body.as_object_mut().and_then(|b| b.remove("extra_body")) {
        if let Some(map) = body.as_object_mut() {
            map.extend(extra);
        }
        notes.push("merged `extra_body` into the body, as the SDK sent it".into());
    }
    let has = |field: &str| body.get(field).is_some();
    let relabel = match request.endpoint.as_str() {
        "/api/embeddings" if has("input") && !has("prompt") => Some("/api/embed"),
        "/v1/completions" if has("messages") => Some("/v1/chat/completions"),
        "/v1/chat/completions" if has("prompt") && !has("messages") => Some("/v1/completions"),
        _ => None,
    };
    if let Some(endpoint) = relabel {
        notes.push(format!(
            "relabelled {} -> {endpoint} (its body is that endpoint's)",
            request.endpoint
        ));
        request.endpoint = endpoint.to_owned();
    }
    let is_read = matches!(
        request.endpoint.as_str(),
        "/api/tags" | "/api/ps" | "/v1/models"
    );
    let empty = body.is_null() || body.as_object().is_some_and(|map| map.is_empty());
    if is_read {
        if request.method != Method::Get || !body.is_null() {
            notes.push(format!(
                "{} is a GET without a body (stored as {} with {body})",
                request.endpoint, request.method
            ));
        }
        request.method = Method::Get;
        *body = Value::Null;
    } else if empty && request.method == Method::Post {
        return Err(format!(
            "its request body for {} is empty: llama-stack did not keep what was sent, so no request would find this recording",
            request.endpoint
        ));
    }
    Ok(())
}
