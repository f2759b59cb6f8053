//! `show`: a recording for people: what was asked, what came back, as text.

use std::fs;
use std::path::{Path, PathBuf};

use recording_core::RecordingFile;
use serde_json::Value;

/// The arguments of `show`.
#[derive(clap::Args)]
pub(crate) struct Show {
    /// Recording files, or keys in the recordings directory: the whole 64 hex digits or
    /// a unique start of them (the 12 that `serve` logs).
    #[arg(required = true, value_name = "FILE|KEY")]
    recordings: Vec<String>,
    /// The recordings directory, for a key [default: TEST_RECORDING_DIR, else
    /// recordings/ or tests/recordings/ under the current directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the file as it is.
    #[arg(long)]
    json: bool,
}

/// The shortest key prefix `show` looks up: fewer digits name too many recordings.
const MIN_PREFIX: usize = 4;

/// Shows each recording named, a blank line between them; exit 2 when any cannot be
/// shown (after showing the others).
pub(crate) fn show(args: Show) -> Result<u8, String> {
    let mut dir = None;
    let mut failed = false;
    for (index, wanted) in args.recordings.iter().enumerate() {
        if index > 0 {
            println!();
        }
        let shown = resolve(wanted, &mut dir, args.dir.as_ref())
            .and_then(|path| show_one(&path, args.json));
        if let Err(message) = shown {
            eprintln!("inference-recorder: {message}");
            failed = true;
        }
    }
    Ok(if failed { 2 } else { 0 })
}

/// The file `wanted` names: a path, else a key or a unique key prefix in the
/// recordings directory (worked out once, on first need).
fn resolve(
    wanted: &str,
    dir: &mut Option<PathBuf>,
    flag: Option<&PathBuf>,
) -> Result<PathBuf, String> {
    if Path::new(wanted).is_file() {
        return Ok(PathBuf::from(wanted));
    }
    let dir = match dir {
        Some(dir) => dir.clone(),
        None => dir.insert(crate::recordings_dir(flag.cloned())?).clone(),
    };
    let store = recording_core::Store::new(&dir);
    let whole = store.path_for(wanted);
    if whole.is_file() {
        return Ok(whole);
    }
    let is_key = wanted.len() >= MIN_PREFIX && wanted.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_key {
        return Err(format!(
            "{wanted}: neither a file nor a key (at least {MIN_PREFIX} hex digits) of a recording in {}",
            dir.display()
        ));
    }
    let wanted = wanted.to_ascii_lowercase();
    let matches: Vec<PathBuf> = store
        .list()
        .into_iter()
        .filter(|path| {
            path.file_stem()
                .is_some_and(|stem| stem.to_string_lossy().starts_with(&wanted))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no recording in {} has a key starting with {wanted}",
            dir.display()
        )),
        several => {
            let listed: Vec<String> = several
                .iter()
                .take(20)
                .map(|path| format!("  {}", path.display()))
                .collect();
            Err(format!(
                "{} recordings in {} have a key starting with {wanted}; give more digits:\n{}",
                several.len(),
                dir.display(),
                listed.join("\n")
            ))
        }
    }
}

fn show_one(path: &Path, json: bool) -> Result<(), String> {
    let bytes = fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
    if json {
        print!("{}", String::from_utf8_lossy(&bytes));
        return Ok(());
    }
    let file = RecordingFile::from_slice(&bytes, path).map_err(|err| err.to_string())?;
    print!("{}", describe(path, &file));
    Ok(())
}

/// The human view of a recording.
fn describe(path: &std::path::Path, file: &RecordingFile) -> String {
    let request = &file.request;
    let response = &file.response;
    let mut out = format!("file:       {}\n", path.display());
    out += &format!(
        "request:    {} {}{}\n",
        request.method,
        request.endpoint,
        request
            .provider
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    );
    if !request.model.is_empty() {
        out += &format!("model:      {}\n", request.model);
    }
    if let Some(scope) = &request.scope {
        out += &format!("scope:      {scope}\n");
    }
    if let Some(question) = recording_diff::last_question(&request.body) {
        out += &format!("asked:      {question:?}\n");
    }
    let chunks = response.body.as_array().filter(|_| response.is_streaming);
    let shape = match chunks {
        Some(chunks) => format!(", streamed in {} chunks", chunks.len()),
        None => String::new(),
    };
    let status = if response.is_error {
        " (API error)"
    } else {
        ""
    };
    out += &format!("status:     {}{status}{shape}\n", response.status);
    if response.is_error {
        out += &format!("error:      {}\n", response.body);
        return out;
    }
    let bodies: Vec<&Value> = match chunks {
        Some(chunks) => chunks.iter().collect(),
        None => vec![&response.body],
    };
    // Each provider assembles its own answers (the registry knows whose file it is).
    let answer = registry::PROVIDERS
        .for_recording(request.provider.as_deref(), &request.endpoint)
        .map(|provider| provider.answer(&bodies))
        .unwrap_or_default();
    let embeddings = embeddings(&response.body);
    // An empty answer is an answer too: say so rather than print nothing (a model list
    // or a status has no answer to show).
    let calls = &answer.tool_calls;
    if !answer.text.is_empty() || (answer.answered && calls.is_empty() && embeddings.is_none()) {
        out += &format!("answer:     {:?}\n", answer.text);
    }
    for call in calls {
        out += &format!("tool call:  {}({})\n", call.name, call.arguments);
    }
    if let Some(reason) = &answer.stop_reason {
        out += &format!("stopped:    {reason}\n");
    }
    if let Some(embeddings) = embeddings {
        out += &format!("embeddings: {embeddings}\n");
    }
    if let Some(error) = &response.stream_error {
        out += &format!("then error: HTTP {}: {}\n", error.status, error.body);
    }
    out
}

fn embeddings(body: &Value) -> Option<String> {
    let vectors: Vec<&Value> = match (body.get("data"), body.get("embeddings")) {
        (Some(Value::Array(data)), _) => data.iter().map(|item| &item["embedding"]).collect(),
        (_, Some(Value::Array(vectors))) => vectors.iter().collect(),
        _ => return None,
    };
    let first = vectors.first()?;
    let size = match first {
        Value::Array(floats) => format!("{} floats", floats.len()),
        Value::String(base64) => format!("{} bytes of base64", base64.len()),
        _ => return None,
    };
    Some(format!("{} vector(s) of {size}", vectors.len()))
}
