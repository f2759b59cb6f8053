//! `rekey`: recordings renamed to the keys their requests have under the suite's
//! current rules (volatile fields and patterns, equivalence), so a suite adopts a new
//! rule without re-recording.
//!
//! A file's key names the ids its answer was normalized with (`call_rec-{key}-0-0`),
//! and a later turn of an agent loop sends those ids back: so a renamed file's ids are
//! renamed with it, and so are the same ids in the requests of other recordings, whose
//! keys then change too. The new keys are worked out to a fixed point before anything
//! is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use recording_core::format::RecordedRequest;
use recording_core::internals::{raw_bodies_mut, to_pretty_json, write_atomically};
use recording_core::key::{KeySettings, sequence_call_of, sequence_key_with};
use recording_core::provider::Provider;
use recording_core::{NormalizeContext, Store};
use serde_json::Value;

/// The arguments of `rekey`.
#[derive(clap::Args)]
pub(crate) struct Rekey {
    /// The recordings directory [default: TEST_RECORDING_DIR, else recordings/ or
    /// tests/recordings/ under the current directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Report what would be renamed; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    keys: crate::key_flags::KeyFlags,
}

/// How many rounds the fixed point may take: more than any agent loop has turns.
const MAX_ROUNDS: usize = 64;

/// One recording, as read.
struct Entry {
    path: PathBuf,
    /// Its file name's key: the key its ids were normalized with.
    stem: String,
    raw: Value,
    request: RecordedRequest,
    provider: &'static dyn Provider,
    /// Which call of its request it is in sequence mode (0 outside it).
    call: u64,
}

/// `rekey`: renames; exit 0 when every file is named by its key, 1 when some could not
/// be (conflicts, files whose call cannot be told), 2 on an error.
pub(crate) fn rekey(args: Rekey) -> Result<u8, String> {
    let dir = crate::recordings_dir(args.dir)?;
    let settings = args
        .keys
        .apply(KeySettings::from_env().map_err(|err| err.to_string())?)?;
    let store = Store::new(&dir);
    let mut entries = Vec::new();
    let mut left_alone = Vec::new();
    for path in store.list() {
        let entry = read(&path, &settings)?;
        match entry {
            Ok(entry) => entries.push(entry),
            Err(why) => left_alone.push((path, why)),
        }
    }
    let mut pinned: BTreeSet<usize> = BTreeSet::new();
    let (keys, bodies) = loop {
        let (keys, bodies) = fixed_point(&entries, &settings, &pinned)?;
        let conflicts = conflicts(&entries, &keys, &pinned);
        if conflicts.is_empty() {
            break (keys, bodies);
        }
        for (index, other) in conflicts {
            left_alone.push((
                entries[index].path.clone(),
                format!(
                    "its new key {} is {}'s too: a conflict, left alone",
                    keys[index],
                    other.display()
                ),
            ));
            pinned.insert(index);
        }
    };
    let mut renamed = 0;
    for (index, entry) in entries.iter().enumerate() {
        if keys[index] == entry.stem {
            continue;
        }
        let target = store.path_for(&keys[index]);
        renamed += 1;
        if args.dry_run {
            println!(
                "[DRY RUN] Would rename: {} -> {}",
                entry.path.display(),
                target.display()
            );
            continue;
        }
        let mut raw = entry.raw.clone();
        raw["request"]["body"] = bodies[index].clone();
        let context = NormalizeContext {
            hash: &keys[index],
            endpoint: &entry.request.endpoint,
        };
        for body in raw_bodies_mut(&mut raw) {
            entry.provider.rules().normalize(&context, body);
        }
        // The new file first, then the old one goes: at no moment is the recording
        // on disk under neither name.
        write_atomically(&target, to_pretty_json(&raw).as_bytes())
            .map_err(|err| err.to_string())?;
        std::fs::remove_file(&entry.path)
            .map_err(|err| format!("{}: {err}", entry.path.display()))?;
        println!("Renamed: {} -> {}", entry.path.display(), target.display());
    }
    for (path, why) in &left_alone {
        eprintln!("Left alone: {}: {why}", path.display());
    }
    let verb = if args.dry_run {
        "would be renamed"
    } else {
        "renamed"
    };
    println!(
        "Summary: {renamed} recording(s) {verb}, {} already named by their keys, {} left alone",
        entries.len() - renamed - pinned.len(),
        left_alone.len()
    );
    Ok(u8::from(!left_alone.is_empty()))
}

/// Reads one recording; `Ok(Err(why))` for one that is left alone (its call in
/// sequence mode cannot be told), `Err` for one that cannot be read.
fn read(path: &Path, settings: &KeySettings) -> Result<Result<Entry, String>, String> {
    let bytes = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let raw: Value = serde_json::from_slice(&bytes)
        .map_err(|err| format!("{}: not a recording: {err}", path.display()))?;
    let request: RecordedRequest = serde_json::from_value(raw["request"].clone())
        .map_err(|err| format!("{}: not a recording: {err}", path.display()))?;
    let provider = registry::PROVIDERS
        .for_recording(request.provider.as_deref(), &request.endpoint)
        .map_err(|err| format!("{}: {err}", path.display()))?;
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let api = request.to_api_request();
    let scope = request.scope.as_deref();
    let rules = provider.rules();
    // Named under the current rules already, or under the defaults it was recorded by.
    let call = sequence_call_of(&stem, &api, scope, rules, settings)
        .or_else(|| sequence_call_of(&stem, &api, scope, rules, &KeySettings::new()));
    let Some(call) = call else {
        return Ok(Err(
            "its name is not its request's key under the current rules nor the default ones (record it again, or rename it with `inference-recorder key`)".into(),
        ));
    };
    Ok(Ok(Entry {
        path: path.to_path_buf(),
        stem,
        raw,
        request,
        provider,
        call,
    }))
}

/// Every entry's new key and request body: ids derived from an old key
/// (`rec-{12 digits}`) in any request are replaced by those of its file's new key,
/// until no key changes. `pinned` entries keep their names.
fn fixed_point(
    entries: &[Entry],
    settings: &KeySettings,
    pinned: &BTreeSet<usize>,
) -> Result<(Vec<String>, Vec<Value>), String> {
    let mut keys: Vec<String> = entries.iter().map(|entry| entry.stem.clone()).collect();
    let mut bodies: Vec<Value> = entries.iter().map(|e| e.request.body.clone()).collect();
    for _ in 0..MAX_ROUNDS {
        let renames: BTreeMap<String, String> = entries
            .iter()
            .zip(&keys)
            .filter(|(entry, key)| entry.stem != **key)
            .map(|(entry, key)| (short(&entry.stem), short(key)))
            .collect();
        let mut next = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let mut body = entry.request.body.clone();
            rename_ids(&mut body, &renames);
            let key = if pinned.contains(&index) {
                entry.stem.clone()
            } else {
                let mut api = entry.request.to_api_request();
                api.body = body.clone();
                sequence_key_with(
                    &api,
                    entry.request.scope.as_deref(),
                    entry.provider.rules(),
                    settings,
                    entry.call,
                )
            };
            bodies[index] = body;
            next.push(key);
        }
        if next == keys {
            return Ok((keys, bodies));
        }
        keys = next;
    }
    Err(format!(
        "the new keys did not settle in {MAX_ROUNDS} rounds (recordings whose requests echo each other's ids in a circle); nothing was renamed"
    ))
}

/// The entries (by index) whose new key another recording has or gets, with the
/// other's file.
fn conflicts(
    entries: &[Entry],
    keys: &[String],
    pinned: &BTreeSet<usize>,
) -> Vec<(usize, PathBuf)> {
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    let mut found = Vec::new();
    // Files that keep their names claim them first.
    let order = (0..entries.len()).filter(|&i| keys[i] == entries[i].stem || pinned.contains(&i));
    let moving = (0..entries.len()).filter(|&i| keys[i] != entries[i].stem && !pinned.contains(&i));
    let is_moving = |i: usize| keys[i] != entries[i].stem && !pinned.contains(&i);
    for index in order.chain(moving) {
        match owner.get(keys[index].as_str()) {
            Some(&other) => {
                found.push((index, entries[other].path.clone()));
                // Two files moving to one key: neither is the recording of it.
                if is_moving(other) && !found.iter().any(|(i, _)| *i == other) {
                    found.push((other, entries[index].path.clone()));
                }
            }
            None => {
                owner.insert(&keys[index], index);
            }
        }
    }
    found
}

/// The first 12 digits of a key: what the ids derived from it carry.
fn short(key: &str) -> String {
    key.chars().take(12).collect()
}

/// Replaces `rec-{old}` with `rec-{new}` in every string of `body`.
fn rename_ids(body: &mut Value, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match body {
        Value::String(text) if text.contains("rec-") => {
            for (old, new) in renames {
                let from = format!("rec-{old}");
                if text.contains(&from) {
                    *text = text.replace(&from, &format!("rec-{new}"));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_ids(item, renames)),
        Value::Object(map) => map.values_mut().for_each(|item| rename_ids(item, renames)),
        _ => {}
    }
}
