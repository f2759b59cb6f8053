//! Re-normalizes recordings already on disk with the provider crates' own rules.
//!
//! The `normalize` binary is a thin command line over [`run`]. The rules are never
//! re-implemented here: [`rules_for`] picks `provider-openai`'s or `provider-ollama`'s
//! `Normalizer` by the recording's `request.provider`, or, for llama-stack's files,
//! which have none, by endpoint (`/api/...` is Ollama, the rest OpenAI-style).

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use recording_core::format::RecordedRequest;
use recording_core::internals::{
    AtomicBatch, is_batch_temp, response_bodies_mut, write_pretty_json,
};
use recording_core::{NormalizeContext, Normalizer, key};
use serde::Deserialize;
use serde_json::Value;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already normalized.
    Unchanged,
    /// Normalized (or, when not writing, would be).
    Changed,
    /// Not a usable recording; left untouched.
    Failed(String),
    /// A recording of this project's whose name is not the key of the request it
    /// holds (a copy, or a file renamed by hand): replay would answer another
    /// request's key with it, and normalizing would write the wrong key into its ids;
    /// left untouched. Holds the key its request has.
    Misnamed(String),
}

/// What a [`run`] does besides normalizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Rewrite the files that change (else only report them).
    pub write: bool,
    /// Report this project's recordings whose name is not the key of the request they
    /// hold ([`Outcome::Misnamed`]), by the key a recorder with the default settings
    /// gives; off for a suite whose recorder keeps fields of its own out of the key.
    pub check_names: bool,
}

impl Settings {
    /// Normalize, rewriting when `write`, and check names.
    pub fn new(write: bool) -> Settings {
        Settings {
            write,
            check_names: true,
        }
    }
}

/// One file and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResult {
    /// The file.
    pub path: PathBuf,
    /// What happened.
    pub outcome: Outcome,
}

/// The results of a run, in the order of the files given.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per recording file found.
    pub files: Vec<FileResult>,
}

impl Report {
    /// How many files changed (or would).
    pub fn modified(&self) -> usize {
        self.count(|o| *o == Outcome::Changed)
    }

    /// How many files could not be processed, misnamed ones included.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_) | Outcome::Misnamed(_)))
    }

    fn count(&self, test: impl Fn(&Outcome) -> bool) -> usize {
        self.files.iter().filter(|f| test(&f.outcome)).count()
    }
}

/// The recordings found under the paths of a run, and what was passed over.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// Every regular `*.json` file, once, in the order of their inode numbers, which
    /// follows the order the files were written in on the usual file systems: reading
    /// and rewriting in that order was up to a fifth quicker than in name order or in
    /// a directory's listing order (benches/README.md). Reports are sorted by name when
    /// printed.
    pub files: Vec<PathBuf>,
    /// `*.json` entries that are not regular files (a FIFO, a device, a broken link),
    /// with why they were passed over.
    pub skipped: Vec<(PathBuf, String)>,
    /// What an interrupted earlier run left: its staged temporary files (as
    /// [`is_batch_temp`] tells them), in the directories walked and in those of the
    /// files named. A recorder's own temporary files are left to it.
    pub leftovers: Vec<PathBuf>,
}

/// Every `*.json` file under `paths`, in inode order. Directories are walked and symbolic
/// links followed (a `responses/` that is a link is walked like any directory; a
/// linked file is read through its link, and rewritten at its target, so the link
/// stays a link). A path that does not exist is an error naming it.
pub fn collect_files(paths: &[PathBuf]) -> Result<Collected, String> {
    let mut found = Collected::default();
    let mut files = Vec::new();
    // The directories of files named one by one, each listed once for leftovers (a
    // command line can name every file of a directory).
    let mut named_in = std::collections::BTreeSet::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
        if meta.is_file() {
            files.push((inode(&meta), path.clone()));
            let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
            named_in.insert(dir.unwrap_or(Path::new(".")));
        } else {
            walk(path, &mut found, &mut files, 0);
        }
    }
    // The listing gives each entry's inode number: ordering by it costs no system call.
    files.sort_by_key(|(inode, _)| *inode);
    found.files = files.into_iter().map(|(_, path)| path).collect();
    for dir in named_in {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            if is_batch_temp(&entry.file_name()) {
                found.leftovers.push(entry.path());
            }
        }
    }
    if paths.len() > 1 {
        // Paths given together may overlap (a directory and a file in it); a single
        // walk never repeats a path.
        let mut seen = std::collections::HashSet::new();
        found
            .files
            .retain(|path| seen.insert(path.as_os_str().to_owned()));
    }
    Ok(found)
}

/// How many symbolic links to directories a walk follows inside one another: a link
/// back up the tree must end, and no recordings tree nests links deeper.
const LINK_DEPTH: usize = 8;

/// Walks `dir`, following links: the entries' own types come from the directory
/// listing, so only links cost a `stat` (a tree of 100 000 files is not stat'ed
/// 100 000 times).
fn walk(dir: &Path, found: &mut Collected, files: &mut Vec<(u64, PathBuf)>, links: usize) {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let at = err
                    .path()
                    .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
                found.skipped.push((at, err.to_string()));
                continue;
            }
        };
        let mut kind = entry.file_type();
        let mut number = listed_inode(&entry);
        if kind.is_symlink() {
            match fs::metadata(entry.path()) {
                Ok(meta) if meta.is_dir() && links < LINK_DEPTH => {
                    walk(entry.path(), found, files, links + 1);
                    continue;
                }
                Ok(meta) if meta.is_dir() => {
                    let why =
                        format!("more than {LINK_DEPTH} links to directories deep; not followed");
                    found.skipped.push((entry.into_path(), why));
                    continue;
                }
                Ok(meta) => (kind, number) = (meta.file_type(), inode(&meta)),
                Err(err) => {
                    if is_json_name(entry.file_name()) {
                        let why = format!("a broken link: {err}");
                        found.skipped.push((entry.into_path(), why));
                    }
                    continue;
                }
            }
        }
        if !is_json_name(entry.file_name()) || kind.is_dir() {
            // The walk lists every entry anyway: leftovers are noted here, not found by
            // listing each directory again.
            if kind.is_file() && is_batch_temp(entry.file_name()) {
                found.leftovers.push(entry.into_path());
            }
            continue;
        }
        if kind.is_file() {
            files.push((number, entry.into_path()));
        } else {
            let why = "not a regular file (a FIFO, a device?); left alone".to_owned();
            found.skipped.push((entry.into_path(), why));
        }
    }
}

/// A file's inode number, where the platform has them.
fn inode(meta: &fs::Metadata) -> u64 {
    #[cfg(unix)]
    return std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// The inode number a directory listing gave for an entry.
fn listed_inode(entry: &walkdir::DirEntry) -> u64 {
    #[cfg(unix)]
    return walkdir::DirEntryExt::ino(entry);
    #[cfg(not(unix))]
    {
        let _ = entry;
        0
    }
}

/// Whether a file name ends in `.json` (and is more than that), read from the name's
/// bytes: `Path::extension` parses the whole path, for every file of the tree.
fn is_json_name(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.len() > ".json".len() && name.ends_with(b".json")
}

/// Removes the [`Collected::leftovers`] of an interrupted earlier run; returns how
/// many were removed.
pub fn remove_leftovers(leftovers: &[PathBuf]) -> usize {
    let mut paths = leftovers.to_vec();
    paths.sort_unstable();
    paths.dedup();
    paths
        .iter()
        .filter(|path| fs::remove_file(path).is_ok())
        .count()
}

/// Exit status when `--check` finds files that would change.
pub const EXIT_WOULD_CHANGE: u8 = 1;
/// Exit status when a path or a file could not be processed, or nothing was found.
pub const EXIT_FAILED: u8 = 2;

/// The whole command, as both `normalize` and `inference-recorder normalize` run it:
/// finds the recordings (`paths`, or the repository's `recordings/` or
/// `tests/recordings/` under the current directory), normalizes them, prints a line
/// per file acted on and the summary, and gives the exit status.
pub fn command(paths: Vec<PathBuf>, dry_run: bool, check: bool, check_names: bool) -> u8 {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    let paths = if paths.is_empty() {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let default = recording_core::env::recordings_dir_in(&cwd);
        if !default.is_dir() {
            eprintln!(
                "Error: no path given, and neither recordings/ nor tests/recordings/ is a directory here; name the recordings"
            );
            return EXIT_FAILED;
        }
        vec![default]
    } else {
        paths
    };
    let collected = match collect_files(&paths) {
        Ok(collected) => collected,
        Err(err) => {
            eprintln!("Error: {err}");
            return EXIT_FAILED;
        }
    };
    for (path, why) in &collected.skipped {
        eprintln!("Error: {}: {why}", path.display());
    }
    let files = collected.files;
    if files.is_empty() {
        // A check that checked nothing must not pass as a clean one.
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "Error: no recordings (*.json files) under {}; nothing was checked",
            names.join(", ")
        );
        return EXIT_FAILED;
    }
    let write = !(dry_run || check);
    if write {
        let removed = remove_leftovers(&collected.leftovers);
        if removed > 0 {
            eprintln!("Removed {removed} temporary file(s) an interrupted run left behind");
        }
    }

    let bar = ProgressBar::new(files.len() as u64);
    let shown = std::io::stderr().is_terminal() && files.len() >= 1000;
    if shown {
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let tick = || bar.inc(1);
    let settings = Settings { write, check_names };
    let report = run(files, settings, if shown { &tick } else { &|| {} });
    bar.finish_and_clear();

    let prefix = if dry_run {
        "[DRY RUN] "
    } else if check {
        "[CHECK] "
    } else {
        ""
    };
    print_report(&report, prefix, write);
    if !collected.skipped.is_empty() {
        eprintln!(
            "{} path(s) were passed over; a check that skips a path does not pass",
            collected.skipped.len()
        );
        EXIT_FAILED
    } else if report.failed() > 0 {
        eprintln!(
            "{} file(s) could not be processed and were left untouched",
            report.failed()
        );
        EXIT_FAILED
    } else if check && report.modified() > 0 {
        EXIT_WOULD_CHANGE
    } else {
        0
    }
}

/// A line per file acted on, sorted, then the summary. Standard output is buffered: a line
/// per write would be a system call per file of a large rewrite. A closed output (a
/// pager quit early) is no reason to fail the run.
fn print_report(report: &Report, prefix: &str, write: bool) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // In the order of the paths' bytes, whatever order the files were worked in.
    let mut acted_on: Vec<&FileResult> = report
        .files
        .iter()
        .filter(|file| file.outcome != Outcome::Unchanged)
        .collect();
    acted_on.sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    for file in acted_on {
        let path = file.path.display();
        let _ = match &file.outcome {
            Outcome::Unchanged => Ok(()),
            Outcome::Changed if write => writeln!(out, "Normalized: {path}"),
            Outcome::Changed => writeln!(out, "{prefix}Would normalize: {path}"),
            Outcome::Failed(reason) => {
                // Errors go to standard error, after what came before them.
                let _ = out.flush();
                eprintln!("Error: {path}: {reason}");
                Ok(())
            }
            Outcome::Misnamed(key) => {
                let _ = out.flush();
                eprintln!(
                    "Error: {path}: its name is not the key of the request it holds, {key}; a copy, or a file renamed by hand? Replay would answer another request with it. Rename it to {key}.json or record it again; left untouched (a suite whose recorder keeps fields of its own out of the key: --no-name-check)"
                );
                Ok(())
            }
        };
    }
    let _ = writeln!(
        out,
        "{prefix}Summary: {}/{} files modified",
        report.modified(),
        report.files.len()
    );
    let _ = out.flush();
}

/// Normalizes `files` in parallel; rewrites changed files when `write`. `progress` is
/// called once per file done, from any thread.
///
/// Rewrites go through one [`AtomicBatch`]: every changed file is staged beside its
/// target, one file-system sync makes them all durable, then each is renamed into
/// place. One fsync per file would cap a run at the disk's flush rate (benches/README.md).
pub fn run(files: Vec<PathBuf>, settings: Settings, progress: &(dyn Fn() + Sync)) -> Report {
    let Settings { write, check_names } = settings;
    let batch = AtomicBatch::new();
    let stage = |path: &Path, original: &[u8], permissions: &fs::Permissions, contents: &[u8]| {
        batch.stage(path, original, Some(permissions), contents)
    };
    let outcomes: Vec<Outcome> = files
        .par_iter()
        // Each worker reuses its read and write buffers from file to file.
        .map_init(Buffers::default, |buffers, path| {
            let outcome = normalize_with(path, buffers, check_names, write.then_some(&stage));
            progress();
            outcome
        })
        .collect();
    let mut results: Vec<FileResult> = files
        .into_iter()
        .zip(outcomes)
        .map(|(path, outcome)| FileResult { path, outcome })
        .collect();
    let failed: std::collections::HashMap<PathBuf, String> = batch
        .commit()
        .into_iter()
        .filter_map(|(path, result)| result.err().map(|err| (path, err.to_string())))
        .collect();
    for result in &mut results {
        if let Some(reason) = failed.get(&result.path) {
            result.outcome = Outcome::Failed(reason.clone());
        }
    }
    Report { files: results }
}

/// Writes a file's new contents; given what the file held when it was read (so a
/// batch can leave alone a file that changed since) and its permissions then.
type Writer<'a> =
    &'a (dyn Fn(&Path, &[u8], &fs::Permissions, &[u8]) -> Result<(), recording_core::Error> + Sync);

/// What a worker reads a file into and writes its new contents into.
#[derive(Default)]
struct Buffers {
    read: Vec<u8>,
    write: Vec<u8>,
}

/// Normalizes one file and, when it changed, hands its new contents to `write`.
fn normalize_with(
    path: &Path,
    buffers: &mut Buffers,
    check_names: bool,
    write: Option<Writer<'_>>,
) -> Outcome {
    let meta = match read_with_metadata(path, &mut buffers.read) {
        Ok(meta) => meta,
        Err(err) => return Outcome::Failed(format!("cannot read: {err}")),
    };
    let bytes = &buffers.read;
    // A byte-order mark is no reason to reject a file; a rewrite drops it.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut raw: Value = match serde_json::from_slice(text) {
        Ok(raw) => raw,
        Err(err) => return Outcome::Failed(format!("not valid JSON: {err}")),
    };
    if check_names && let Some(key) = misnamed(path, &raw) {
        return Outcome::Misnamed(key);
    }
    match normalize_value(&mut raw, &hash_from_file_name(path)) {
        Ok(false) => Outcome::Unchanged,
        Ok(true) => {
            let Some(write) = write else {
                return Outcome::Changed;
            };
            let target = match replaceable(path) {
                Ok(target) => target,
                Err(why) => return Outcome::Failed(why),
            };
            buffers.write.clear();
            write_pretty_json(&raw, &mut buffers.write);
            match write(&target, bytes, &meta.permissions(), &buffers.write) {
                Err(err) => Outcome::Failed(err.to_string()),
                Ok(()) => Outcome::Changed,
            }
        }
        Err(reason) => Outcome::Failed(reason),
    }
}

/// Reads a file into `bytes` (replacing what it held) and gives its metadata, from one
/// open: the metadata comes with the read (`fs::read` asks for it too, for the size),
/// so keeping the file's permissions costs no second lookup by path.
fn read_with_metadata(path: &Path, bytes: &mut Vec<u8>) -> std::io::Result<fs::Metadata> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let meta = file.metadata()?;
    bytes.clear();
    bytes.reserve(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(bytes)?;
    Ok(meta)
}

/// Where a changed file's new contents go: the file itself, or for a symbolic link its
/// target (so the link stays a link). A file with other hard links is refused: a
/// replacement by rename would leave the other names pointing at the old contents.
fn replaceable(path: &Path) -> Result<PathBuf, String> {
    // One `lstat` for an ordinary file; only a link is resolved, which costs a
    // `readlink` per component of its path.
    let meta = fs::symlink_metadata(path).map_err(|err| format!("cannot read: {err}"))?;
    let (target, meta) = if meta.file_type().is_symlink() {
        let target = fs::canonicalize(path).map_err(|err| format!("cannot resolve: {err}"))?;
        let meta = fs::metadata(&target).map_err(|err| format!("cannot read: {err}"))?;
        (target, meta)
    } else {
        (path.to_path_buf(), meta)
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let links = meta.nlink();
        if links > 1 {
            return Err(format!(
                "it has {links} hard links, which a rewrite would break; left alone (copy it to a file of its own to normalize it)"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(target)
}

/// The key of the request `raw` holds, when `path` is named by another key. Only this
/// project's recordings are checked (a `request.provider`, a name of 64 hex digits):
/// llama-stack's files are named by its own hashes. A request that does not parse is
/// left to [`normalize_value`] to report.
fn misnamed(path: &Path, raw: &Value) -> Option<String> {
    let name = path.file_stem()?.to_str()?;
    if name.len() != 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let request = RecordedRequest::deserialize(raw.get("request")?).ok()?;
    let rules = rules_for(Some(request.provider.as_deref()?), &request.endpoint).ok()?;
    let scope = request.scope.as_deref();
    let request = request.to_api_request();
    let settings = suite_settings();
    let named = key::is_key_of(name, &request, scope, rules)
        || key::is_key_with(name, &request, scope, rules, settings);
    (!named).then(|| key::key_with(&request, scope, rules, settings))
}

/// The suite's key settings (`TEST_INFERENCE_VOLATILE`, `..._VOLATILE_PATTERNS`,
/// `..._EQUIVALENCE`), read once: a file named by its key under them is named well
/// too. Settings that do not parse count as none, so the names are checked as the
/// defaults key them (and the recorder itself reports the bad setting).
fn suite_settings() -> &'static key::KeySettings {
    static SETTINGS: std::sync::OnceLock<key::KeySettings> = std::sync::OnceLock::new();
    SETTINGS.get_or_init(|| key::KeySettings::from_env().unwrap_or_default())
}

/// What the rules are chosen by: the request's provider and endpoint, borrowed from
/// the parsed request without copying anything.
#[derive(Deserialize)]
struct RequestHead<'a> {
    #[serde(default, borrow)]
    provider: Option<&'a str>,
    endpoint: &'a str,
}

/// Applies the recording's provider rules to a parsed recording (either format) in
/// place, with `hash` for replacement ids. Returns whether anything changed, or why
/// the value is not a recording.
pub fn normalize_value(raw: &mut Value, hash: &str) -> Result<bool, String> {
    // The request and the response borrowed at once: the rules are picked by what the
    // request holds, and applied to the response, with nothing copied.
    let (mut request, mut response) = (None, None);
    for (key, value) in raw.as_object_mut().into_iter().flatten() {
        match key.as_str() {
            "request" => request = Some(&*value),
            "response" => response = Some(value),
            _ => {}
        }
    }
    let request = request.ok_or_else(|| "not a recording: no `request`".to_owned())?;
    let request = RequestHead::deserialize(request)
        .map_err(|err| format!("not a recording: `request`: {err}"))?;
    let response = response
        .filter(|response| response.get("body").is_some())
        .ok_or_else(|| "not a recording: no `response.body`".to_owned())?;
    let rules = rules_for(request.provider, request.endpoint)?;
    let ctx = NormalizeContext {
        hash,
        endpoint: request.endpoint,
    };
    let mut changed = false;
    for body in response_bodies_mut(response) {
        changed |= rules.normalize(&ctx, body);
    }
    Ok(changed)
}

/// The rules for a recording: by `provider` when it names one, else by endpoint
/// (`/api/...` is Ollama, the rest OpenAI-style), as the provider registry decides.
pub fn rules_for(
    provider: Option<&str>,
    endpoint: &str,
) -> Result<&'static dyn Normalizer, String> {
    registry::PROVIDERS
        .for_recording(provider, endpoint)
        .map(|provider| provider.rules())
}

/// The request hash a file's name carries: the stem (`<hash>.json`), or, for
/// llama-stack's model-list files `models-<hash>-<digest>.json`, the `<hash>` part.
pub fn hash_from_file_name(path: &Path) -> Cow<'_, str> {
    fn hash_in(stem: &str) -> &str {
        match stem.strip_prefix("models-") {
            Some(rest) => rest.split('-').next().unwrap_or(rest),
            None => stem,
        }
    }
    let Some(stem) = path.file_stem() else {
        return Cow::Borrowed("");
    };
    match stem.to_str() {
        Some(stem) => Cow::Borrowed(hash_in(stem)),
        None => Cow::Owned(hash_in(&stem.to_string_lossy()).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_come_from_file_names() {
        assert_eq!(
            hash_from_file_name(Path::new("a/3c0bf9ba81b2.json")),
            "3c0bf9ba81b2"
        );
        assert_eq!(
            hash_from_file_name(Path::new("models-bd032f995f2a-abd54ea0.json")),
            "bd032f995f2a"
        );
    }

    #[test]
    fn rules_are_chosen_by_provider_then_endpoint() {
        let name = |r: Result<&'static dyn Normalizer, String>| r.map(|n| format!("{n:?}"));
        assert_eq!(
            name(rules_for(Some("ollama"), "/v1/chat/completions")),
            Ok("OllamaNormalizer".into())
        );
        assert_eq!(
            name(rules_for(None, "/api/generate")),
            Ok("OllamaNormalizer".into())
        );
        assert_eq!(
            name(rules_for(None, "/v1/models")),
            Ok("OpenAiNormalizer".into())
        );
        assert_eq!(
            name(rules_for(Some("anthropic"), "/v1/models")),
            Ok("AnthropicNormalizer".into())
        );
        assert_eq!(
            name(rules_for(None, "/v1/messages")),
            Ok("AnthropicNormalizer".into())
        );
        assert!(
            name(rules_for(Some("gemini"), "/v1/messages")).is_err_and(|e| e.contains("gemini"))
        );
    }
}
