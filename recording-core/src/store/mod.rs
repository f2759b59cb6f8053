//! The recordings directory: `<dir>/responses/<hash>.json`, read by key, written
//! atomically; the file schema (`format`) and the used set (`used`) are its parts.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::api::error::Error;
use crate::store::format::{MAX_BODY_DEPTH, RecordingFile, ReplayFile, depth};

pub(crate) mod cache;
pub mod format;
pub mod used;

use crate::api::texts::Texts;
use cache::{Answer, AnswerCache, Loaded, Stamp};

/// The name of the subdirectory that holds the recording files.
pub const RESPONSES_DIR: &str = "responses";

/// A recordings directory.
///
/// There is no index: a recording is found by its key alone, with one file read, so
/// lookups cost the same with ten recordings or a hundred thousand, and two tests that
/// record at once never contend for a shared file.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    durable: bool,
    /// Answers kept in memory, shared by the store's clones; see [`Store::cache_answers`].
    cache: Option<Arc<AnswerCache>>,
}

impl Store {
    /// A store rooted at `dir` (the directory that holds `responses/`).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store {
            dir: dir.into(),
            durable: false,
            cache: None,
        }
    }

    /// Keeps recently replayed answers in memory, up to about `budget` bytes (`0`:
    /// none), for a long-lived front such as the recording server. Each hit is checked
    /// against its file's `stat` (size, times, inode), so an edited or re-recorded file
    /// is read again: the cache never changes what is answered.
    pub fn cache_answers(mut self, budget: usize) -> Store {
        self.cache = (budget > 0).then(|| Arc::new(AnswerCache::new(budget)));
        self
    }

    /// The same store in another directory, with the same settings.
    pub(crate) fn in_dir(&self, dir: impl Into<PathBuf>) -> Store {
        let mut store = Store::new(dir).durable(self.durable);
        // The cache is by path: it serves any directory.
        store.cache = self.cache.clone();
        store
    }

    /// Makes each write durable: flushed to the disk (`fsync`) before it replaces the
    /// old file. See [`write_atomically`] for what the default gives.
    pub fn durable(mut self, durable: bool) -> Store {
        self.durable = durable;
        self
    }

    /// Whether writes are flushed to the disk before they replace a file.
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// The recordings directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory that holds the recording files.
    pub fn responses_dir(&self) -> PathBuf {
        self.dir.join(RESPONSES_DIR)
    }

    /// Where the recording for `hash` lives. Only [`Store::load`] and [`Store::save`]
    /// check that `hash` is a key; this only computes the path.
    pub fn path_for(&self, hash: &str) -> PathBuf {
        // Built in one allocation: every replay asks for one.
        let dir = self.dir.as_os_str();
        let mut path = PathBuf::with_capacity(dir.len() + RESPONSES_DIR.len() + hash.len() + 8);
        path.push(dir);
        path.push(RESPONSES_DIR);
        path.push(hash);
        path.as_mut_os_string().push(".json");
        path
    }

    /// Reads the recording for `hash`: `None` when there is none (a missing directory
    /// included), an error naming the file when it exists but cannot be used.
    pub fn load(&self, hash: &str) -> Result<Option<(PathBuf, RecordingFile)>, Error> {
        self.read(hash, RecordingFile::from_slice)
    }

    /// Reads only the response of the recording for `hash`, as replay does; `None` and
    /// errors as [`Store::load`].
    pub fn load_response(&self, hash: &str) -> Result<Option<(PathBuf, ReplayFile)>, Error> {
        self.read(hash, ReplayFile::from_file_slice)
    }

    /// What replay reads of the recording for `hash`, from the cache when its file is
    /// unchanged; `None` and errors as [`Store::load`].
    pub(crate) fn load_answer(&self, hash: &str) -> Result<Option<(PathBuf, Arc<Loaded>)>, Error> {
        check_key(hash)?;
        let path = self.path_for(hash);
        if let Some(cache) = &self.cache {
            match fs::metadata(&path) {
                Ok(meta) => {
                    if let Some(loaded) = cache.get(&path, &Stamp::of(&meta)) {
                        return Ok(Some((path, loaded)));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    cache.forget(&path);
                    return Ok(None);
                }
                // Read below, which says what is wrong.
                Err(_) => {}
            }
        }
        match read_recording(&path) {
            Ok((bytes, meta)) => {
                // Read once and decoded once: its body is left to that decoding.
                if self.cache.is_none()
                    && let Some(answer) = format::pretty_json_answer(&bytes)
                {
                    let loaded = Loaded {
                        method: answer.method,
                        endpoint: answer.endpoint.into_owned(),
                        answer: Answer::Json(Texts::unchecked(answer.body)),
                    };
                    return Ok(Some((path, Arc::new(loaded))));
                }
                let file = ReplayFile::from_file_slice(&bytes, &path)?;
                // Kept compact, ready to frame; one replay decodes the text as it is.
                let loaded = Arc::new(Loaded::new(file, self.cache.is_some()));
                if let Some(cache) = &self.cache
                    && cache::settled(&meta)
                {
                    cache.put(&path, Stamp::of(&meta), loaded.clone());
                }
                Ok(Some((path, loaded)))
            }
            Err(ReadError::Missing) => Ok(None),
            Err(ReadError::Failed(err)) => Err(err),
        }
    }

    fn read<T>(
        &self,
        hash: &str,
        parse: impl FnOnce(&[u8], &Path) -> Result<T, Error>,
    ) -> Result<Option<(PathBuf, T)>, Error> {
        check_key(hash)?;
        let path = self.path_for(hash);
        match read_recording(&path) {
            Ok((bytes, _)) => parse(&bytes, &path).map(|parsed| Some((path, parsed))),
            Err(ReadError::Missing) => Ok(None),
            Err(ReadError::Failed(err)) => Err(err),
        }
    }

    /// Writes the recording for `hash` atomically: to a temporary file in the same
    /// directory, flushed, then renamed over the old one. A crash or a concurrent writer
    /// leaves the old complete file or the new complete file, never a torn one.
    ///
    /// A body nested deeper than [`MAX_BODY_DEPTH`], or a recording larger than
    /// [`MAX_RECORDING_BYTES`], is refused (the file is not written) because no reader
    /// of this project could read it back.
    pub fn save(&self, hash: &str, file: &RecordingFile) -> Result<PathBuf, Error> {
        self.save_within(hash, file, MAX_RECORDING_BYTES)
    }

    fn save_within(&self, hash: &str, file: &RecordingFile, limit: u64) -> Result<PathBuf, Error> {
        check_key(hash)?;
        let path = self.path_for(hash);
        let bodies = [Some(&file.request.body), Some(&file.response.body)]
            .into_iter()
            .chain([file.response.stream_error.as_ref().map(|e| &e.body)]);
        for body in bodies.flatten() {
            let levels = depth(body);
            if levels > MAX_BODY_DEPTH {
                let why = format!(
                    "a body is nested {levels} levels deep; recordings hold at most {MAX_BODY_DEPTH}, which every reader of this project accepts"
                );
                return Err(storage_error("write", &path, io::Error::other(why)));
            }
        }
        let contents = file.to_pretty_json();
        if contents.len() as u64 > limit {
            let why = format!(
                "the recording is {} bytes; recordings are read up to {limit} bytes, so it could never be replayed",
                contents.len()
            );
            return Err(storage_error("write", &path, io::Error::other(why)));
        }
        write_file(&path, contents.as_bytes(), self.durable)?;
        Ok(path)
    }

    /// Every `*.json` file in `responses/`, sorted by name; empty when the directory is
    /// missing. Only a replay miss calls this.
    pub fn list(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.responses_dir()) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        paths
    }
}

/// The largest recording replay reads: 256 MiB. A larger file is reported, not read.
pub const MAX_RECORDING_BYTES: u64 = 256 * 1024 * 1024;

enum ReadError {
    Missing,
    Failed(Error),
}

/// Reads a recording file: a regular file (a symlink to one is followed) of at most
/// [`MAX_RECORDING_BYTES`]. A FIFO, a device or a directory named like a recording is
/// an error, never a read that blocks or never ends.
fn read_recording(path: &Path) -> Result<(Vec<u8>, fs::Metadata), ReadError> {
    let failed = |source| ReadError::Failed(storage_error("read", path, source));
    // Opened without blocking, so a FIFO named like a recording cannot stall the open;
    // what it is comes from the open file, one path lookup for all of it.
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(err) => return Err(failed(err)),
    };
    let meta = file.metadata().map_err(failed)?;
    let unusable = |reason: String| {
        ReadError::Failed(Error::InvalidRecording {
            path: path.to_path_buf(),
            reason,
        })
    };
    if !meta.is_file() {
        return Err(unusable(
            "it is not a regular file (a FIFO, a device or a directory?); only regular files are read".into(),
        ));
    }
    if meta.len() > MAX_RECORDING_BYTES {
        return Err(unusable(format!(
            "it is {} bytes; recordings are read up to {MAX_RECORDING_BYTES} bytes",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    (&mut file)
        .take(MAX_RECORDING_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_RECORDING_BYTES {
        return Err(unusable(format!(
            "it grew past {MAX_RECORDING_BYTES} bytes while it was read"
        )));
    }
    Ok((bytes, meta))
}

/// A key is the 64 lowercase hex digits of a SHA-256, and nothing else: the only
/// caller-influenced text that becomes part of a path, so it can never name a file
/// outside `responses/` (`../`, `/`, NUL and overlong names are all rejected).
fn check_key(hash: &str) -> Result<(), Error> {
    let is_key = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if is_key {
        Ok(())
    } else {
        let shown: String = hash.escape_debug().take(80).collect();
        Err(Error::Config(format!(
            "`{shown}` is not a recording key (64 lowercase hex digits of a SHA-256)"
        )))
    }
}

/// Replaces `path` with `contents` atomically (temporary file in the same directory,
/// fsync, rename), creating the directory if needed. Errors name the path.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write_file(path, contents, true)
}

/// Writes `contents` to a temporary file beside `path`, then renames it over `path`:
/// any process sees the old file or the new one, whole, never a torn one, even if the
/// writer is killed. With `durable`, the file is flushed to the disk before the
/// rename, so a power loss cannot lose it either; without, it costs no `fsync`
/// (about 1 ms on a disk, most of a recording's cost), and a power loss in the few
/// seconds before the system writes it back can leave the new file empty or the old
/// one in place (as ext4 and XFS do for a rename over an unsynced file).
fn write_file(path: &Path, contents: &[u8], durable: bool) -> Result<(), Error> {
    let dir = parent_of(path);
    let failed = |err| storage_error("write", path, err);
    // The directory almost always exists: create it only when the write says not.
    let mut temp = match temp_file_in(dir) {
        Ok(temp) => temp,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|err| storage_error("create directory", dir, err))?;
            temp_file_in(dir).map_err(failed)?
        }
        Err(err) => return Err(failed(err)),
    };
    // tempfile removes the temporary file if anything below fails.
    temp.write_all(contents).map_err(failed)?;
    if durable {
        temp.as_file().sync_all().map_err(failed)?;
    }
    temp.persist(path).map_err(|err| failed(err.error))?;
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A temporary file in `dir` whose name starts with `.` and ends `.partial`, so that
/// nothing that looks for recordings (`*.json`) ever reads one a crash left behind.
/// The name prefix of the temporary files an [`AtomicBatch`] stages: only batches
/// (the `normalize` tool) write them, so leftovers of an interrupted batch can be told
/// apart from a recorder's write in progress, and removed.
pub const BATCH_TEMP_PREFIX: &str = ".tmp-batch-";

/// How every temporary file this crate writes ends.
const TEMP_SUFFIX: &str = ".partial";

/// Whether a file name is that of a temporary file an [`AtomicBatch`] staged: what an
/// interrupted batch leaves behind, safe to remove at the next one.
pub fn is_batch_temp(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.starts_with(BATCH_TEMP_PREFIX.as_bytes()) && name.ends_with(TEMP_SUFFIX.as_bytes())
}

fn temp_file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    temp_file_named(dir, ".tmp-")
}

fn temp_file_named(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    // tempfile makes private (0600) files; a recording is an ordinary file to commit
    // and share, so it gets the mode any new file gets (0644 under the usual umask).
    #[cfg(unix)]
    let mode = Some(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    #[cfg(not(unix))]
    let mode = None;
    temp_file_with(dir, prefix, mode)
}

/// A temporary file in `dir`, created with `permissions` (less the umask) when given.
fn temp_file_with(
    dir: &Path,
    prefix: &str,
    permissions: Option<fs::Permissions>,
) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(TEMP_SUFFIX);
    if let Some(permissions) = permissions {
        builder.permissions(permissions);
    }
    builder.tempfile_in(dir)
}

fn storage_error(action: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Storage {
        action,
        path: path.to_path_buf(),
        source,
        fetched: None,
    }
}

/// Replaces many files atomically and durably for the price of one file-system sync,
/// where [`write_atomically`] pays one `fsync` per file: the `normalize` tool rewrites
/// thousands of recordings, and a disk completes fsyncs one at a time (about 2 500 a
/// second on the machine in benches/README.md, however many threads ask).
///
/// Each file is [staged](AtomicBatch::stage) as a temporary file beside its target;
/// [`commit`](AtomicBatch::commit) makes them all durable with one `syncfs` per file
/// system, then renames each over its target. Until its rename a target is untouched,
/// so a crash at any point leaves every target old or new, never torn. Staging is safe
/// from many threads at once.
///
/// A target that changed or vanished after it was read (a re-recording made while
/// `normalize` ran, a file deleted meanwhile) is left alone: each is checked against
/// what was read just before its rename, and reported as not replaced.
#[derive(Debug, Default)]
pub struct AtomicBatch {
    staged: Mutex<Vec<Staged>>,
}

#[derive(Debug)]
struct Staged {
    temp: tempfile::TempPath,
    target: PathBuf,
    /// What the target held when it was read: its length and a digest of its bytes.
    expected: (usize, u64),
}

/// Length and a 64-bit digest: enough to see that a file changed, which is all the
/// check needs (no one is forging collisions against it). foldhash rather than the
/// standard SipHash: it is several times quicker on whole files, and a rewrite
/// fingerprints every file twice.
fn fingerprint(bytes: &[u8]) -> (usize, u64) {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = foldhash::quality::FixedState::default().build_hasher();
    hasher.write(bytes);
    (bytes.len(), hasher.finish())
}

impl AtomicBatch {
    /// An empty batch.
    pub fn new() -> AtomicBatch {
        AtomicBatch::default()
    }

    /// Writes `contents` to a temporary file beside `path` (whose directory must
    /// exist), to replace `path` at [`AtomicBatch::commit`] if it still holds
    /// `original` then; nothing changes at `path` before. The file is closed at once,
    /// so a batch of any size holds no file descriptors.
    /// The replacement gets `permissions`, or when `None` the permissions `path` has
    /// (a read-only file stays read-only).
    pub fn stage(
        &self,
        path: &Path,
        original: &[u8],
        permissions: Option<&fs::Permissions>,
        contents: &[u8],
    ) -> Result<(), Error> {
        let failed = |err| storage_error("write", path, err);
        let permissions = match permissions {
            Some(permissions) => Some(permissions.clone()),
            None => fs::metadata(path).ok().map(|meta| meta.permissions()),
        };
        // Created with the target's permissions, which the umask usually leaves as they
        // are; set again only when it did not (a change of mode is one more metadata
        // write, which a journaling file system pays for on every file of a batch).
        let dir = parent_of(path);
        let mut temp = match &permissions {
            Some(wanted) => temp_file_with(dir, BATCH_TEMP_PREFIX, Some(wanted.clone())),
            None => temp_file_named(dir, BATCH_TEMP_PREFIX),
        }
        .map_err(failed)?;
        temp.write_all(contents).map_err(failed)?;
        if let Some(wanted) = permissions {
            let file = temp.as_file();
            if file.metadata().map_err(failed)?.permissions() != wanted {
                file.set_permissions(wanted).map_err(failed)?;
            }
        }
        let staged = Staged {
            temp: temp.into_temp_path(),
            target: path.to_path_buf(),
            expected: fingerprint(original),
        };
        self.staged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(staged);
        Ok(())
    }

    /// Makes every staged file durable, then renames each over its target; gives back
    /// each target with the result of its replacement. If the sync fails, no target is
    /// replaced and the temporary files are removed.
    pub fn commit(self) -> Vec<(PathBuf, Result<(), Error>)> {
        let staged = self
            .staged
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = sync_file_systems(staged.iter().map(|staged| &*staged.temp)) {
            return staged
                .into_iter()
                .map(|Staged { target, .. }| {
                    let err = io::Error::new(err.kind(), format!("syncing the batch: {err}"));
                    let failed = storage_error("write", &target, err);
                    (target, Err(failed))
                })
                .collect();
        }
        // On as many threads as there are cores: a rename waits on the file system's
        // metadata, and those waits overlap.
        in_parallel(
            staged,
            |Staged {
                 temp,
                 target,
                 expected,
             }| {
                // A small window remains between this check and the rename; it closes
                // the one that matters, a whole run's length between read and write.
                let result = match fs::read(&target) {
                    Ok(now) if fingerprint(&now) == expected => temp
                        .persist(&target)
                        .map(drop)
                        .map_err(|err| storage_error("write", &target, err.error)),
                    Ok(_) => Err(changed_under_us(&target, "it changed")),
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {
                        Err(changed_under_us(&target, "it was removed"))
                    }
                    Err(err) => Err(storage_error("read", &target, err)),
                };
                (target, result)
            },
        )
    }
}

/// `work` applied to every item on one scoped thread per core, results in the items'
/// order.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if threads < 2 || items.len() < 2 {
        return items.into_iter().map(work).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    let mut items = items.into_iter();
    let chunks: Vec<Vec<T>> = std::iter::from_fn(|| {
        let chunk: Vec<T> = items.by_ref().take(per_thread).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
    .collect();
    let work = &work;
    std::thread::scope(|scope| {
        let running: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(work).collect::<Vec<R>>()))
            .collect();
        running
            .into_iter()
            .flat_map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn changed_under_us(path: &Path, what: &str) -> Error {
    let reason = format!("{what} after it was read, so it was left alone; run again");
    storage_error("replace", path, io::Error::other(reason))
}

/// Flushes the file systems that hold `files` to disk: one `syncfs` per file system on
/// Linux, one `sync` on other Unixes, an `fsync` per file elsewhere.
fn sync_file_systems<'a>(files: impl Iterator<Item = &'a Path>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::collections::HashSet;
        use std::os::unix::fs::MetadataExt;
        // A batch's files share a few directories; one open per directory, not per file.
        let dirs: HashSet<&Path> = files.map(parent_of).collect();
        let mut synced = HashSet::new();
        for dir in dirs {
            let handle = fs::File::open(dir)?;
            if synced.insert(handle.metadata()?.dev()) {
                rustix::fs::syncfs(&handle)?;
            }
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let _ = files;
        rustix::fs::sync();
    }
    #[cfg(not(unix))]
    for file in files {
        fs::OpenOptions::new().write(true).open(file)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording of `content` as the answer, last modified an hour ago.
    fn write_settled(path: &Path, content: &str) {
        let text = format!(
            "{{\n  \"request\": {{\n    \"method\": \"POST\",\n    \"endpoint\": \"/v1/chat/completions\"\n  }},\n  \"response\": {{\n    \"body\": {{\"content\": \"{content}\"}}\n  }}\n}}\n"
        );
        fs::write(path, text).expect("write");
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(path)
            .and_then(|file| file.set_modified(an_hour_ago))
            .expect("set the modification time");
    }

    fn answer_text(loaded: &Loaded) -> String {
        match &loaded.answer {
            cache::Answer::Json(text) => text.get(0).to_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cached_answers_are_shared_until_their_file_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path()).cache_answers(1 << 20);
        fs::create_dir_all(store.responses_dir()).expect("mkdir");
        let key = "a".repeat(64);
        let path = store.path_for(&key);
        write_settled(&path, "first");
        let load = || store.load_answer(&key).expect("loads").expect("exists").1;
        let (one, two) = (load(), load());
        assert!(Arc::ptr_eq(&one, &two), "the second hit is the cache's");
        assert_eq!(answer_text(&one), r#"{"content":"first"}"#, "kept compact");
        // Edited in place, the same size: its times change.
        write_settled(&path, "other");
        let edited = load();
        assert_eq!(answer_text(&edited), r#"{"content":"other"}"#);
        // Re-recorded: a new file renamed over it.
        let staged = dir.path().join("staged.json");
        write_settled(&staged, "third");
        fs::rename(&staged, &path).expect("rename");
        assert_eq!(answer_text(&load()), r#"{"content":"third"}"#);
        // A file written just now is read every time, however alike its `stat`.
        fs::write(&path, fs::read(&path).expect("read")).expect("write");
        let (young, again) = (load(), load());
        assert!(
            !Arc::ptr_eq(&young, &again),
            "not kept while it may still change"
        );
        fs::remove_file(&path).expect("remove");
        assert!(
            store.load_answer(&key).expect("no error").is_none(),
            "gone is gone"
        );
        // Without a cache, every load reads the file.
        write_settled(&path, "first");
        let plain = Store::new(dir.path());
        let read = || plain.load_answer(&key).expect("loads").expect("exists").1;
        assert!(!Arc::ptr_eq(&read(), &read()));
    }

    #[test]
    fn a_missing_directory_is_no_recording_and_lists_nothing() {
        let store = Store::new("/nonexistent/inference-recorder/recordings");
        assert!(matches!(store.load(&"a".repeat(64)), Ok(None)));
        assert!(store.list().is_empty());
    }

    #[test]
    fn only_keys_become_file_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path().join("recordings"));
        let file = RecordingFile::from_slice(
            br#"{"request": {"method": "GET", "endpoint": "/v1/models"}, "response": {"body": {}}}"#,
            Path::new("inline.json"),
        )
        .expect("a recording");
        let escapes = [
            "../../escaped".to_owned(),
            "/tmp/absolute".to_owned(),
            format!("{}\0", "a".repeat(63)),
            "a".repeat(4096),
            "A".repeat(64),
            String::new(),
        ];
        for hash in &escapes {
            let err = store.save(hash, &file).expect_err(hash);
            assert!(err.to_string().contains("not a recording key"), "{err}");
            assert!(store.load(hash).is_err(), "{hash}");
        }
        assert!(
            !dir.path().join("recordings").exists(),
            "nothing was written anywhere"
        );
        let key = "0123456789abcdef".repeat(4);
        let path = store.save(&key, &file).expect("a key is fine");
        assert_eq!(
            path,
            dir.path().join(format!("recordings/responses/{key}.json"))
        );
    }

    #[test]
    fn a_recording_too_large_to_read_back_is_refused_and_the_old_one_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        let key = "0123456789abcdef".repeat(4);
        let small = RecordingFile::from_slice(
            br#"{"request": {"method": "GET", "endpoint": "/v1/models"}, "response": {"body": {}}}"#,
            Path::new("inline.json"),
        )
        .expect("a recording");
        let path = store.save(&key, &small).expect("saved");
        let before = fs::read(&path).expect("read");
        let mut large = small.clone();
        large.response.body = serde_json::json!({"text": "x".repeat(4096)});
        let err = store
            .save_within(&key, &large, 4096)
            .expect_err("too large to read back");
        let message = err.to_string();
        assert!(
            message.contains("read up to 4096 bytes") && message.contains(&key),
            "{message}"
        );
        assert_eq!(
            fs::read(&path).expect("read"),
            before,
            "the old file is kept"
        );
        assert!(store.save_within(&key, &small, 4096).is_ok());
    }

    #[test]
    fn write_atomically_creates_directories_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/c.json");
        write_atomically(&path, b"{}\n").expect("write");
        write_atomically(&path, b"{\"x\": 1}\n").expect("overwrite");
        assert_eq!(fs::read(&path).expect("read"), b"{\"x\": 1}\n");
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.json")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o644, 0o644, "readable by all: {mode:o}");
        }
    }

    #[test]
    fn a_batch_never_replaces_a_file_that_changed_or_vanished_after_it_was_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (changed, removed, kept) = (
            dir.path().join("changed.json"),
            dir.path().join("removed.json"),
            dir.path().join("kept.json"),
        );
        for path in [&changed, &removed, &kept] {
            fs::write(path, b"as read").expect("write");
        }
        let batch = AtomicBatch::new();
        for path in [&changed, &removed, &kept] {
            batch
                .stage(path, b"as read", None, b"normalized")
                .expect("stage");
        }
        // Meanwhile, a re-recording and a deletion.
        fs::write(&changed, b"re-recorded").expect("write");
        fs::remove_file(&removed).expect("remove");
        let results: std::collections::HashMap<_, _> = batch.commit().into_iter().collect();
        assert_eq!(fs::read(&changed).expect("read"), b"re-recorded");
        assert!(!removed.exists(), "a deleted recording does not come back");
        assert_eq!(fs::read(&kept).expect("read"), b"normalized");
        let text = results[&changed].as_ref().expect_err("skipped").to_string();
        assert!(
            text.contains("changed.json") && text.contains("changed after it was read"),
            "{text}"
        );
        let text = results[&removed].as_ref().expect_err("skipped").to_string();
        assert!(text.contains("removed after it was read"), "{text}");
        assert!(results[&kept].is_ok());
        assert_eq!(
            fs::read_dir(dir.path()).expect("dir").count(),
            2,
            "no temporary files"
        );
    }

    #[test]
    fn a_batch_replaces_only_at_commit_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths: Vec<PathBuf> = (0..20)
            .map(|i| dir.path().join(format!("{i}.json")))
            .collect();
        for path in &paths {
            fs::write(path, b"old").expect("write");
        }
        let batch = AtomicBatch::new();
        for path in &paths {
            batch.stage(path, b"old", None, b"new").expect("stage");
        }
        for path in &paths {
            assert_eq!(fs::read(path).expect("read"), b"old", "not before commit");
        }
        let results = batch.commit();
        assert_eq!(results.len(), paths.len());
        assert!(results.iter().all(|(_, result)| result.is_ok()));
        for path in &paths {
            assert_eq!(fs::read(path).expect("read"), b"new");
        }
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), paths.len());

        // A target that cannot be replaced fails alone, named; the others still land.
        let blocked = dir.path().join("blocked.json");
        fs::create_dir(&blocked).expect("a directory in the way");
        fs::write(blocked.join("inside"), b"x").expect("non-empty");
        let batch = AtomicBatch::new();
        batch
            .stage(&paths[1], b"new", None, b"second")
            .expect("stage");
        batch.stage(&blocked, b"", None, b"never").expect("stage");
        let results = batch.commit();
        let (failed, ok): (Vec<_>, Vec<_>) = results.iter().partition(|(_, r)| r.is_err());
        assert_eq!(ok.len(), 1);
        assert_eq!(failed.len(), 1);
        let (path, Err(err)) = &failed[0] else {
            unreachable!("partitioned on errors")
        };
        assert_eq!(path, &blocked);
        assert!(err.to_string().contains("blocked.json"), "{err}");
        assert_eq!(fs::read(&paths[1]).expect("read"), b"second");
        assert!(blocked.join("inside").exists());
        fs::remove_dir_all(&blocked).expect("cleanup");

        // A batch dropped before its commit replaces nothing and cleans up.
        let batch = AtomicBatch::new();
        batch
            .stage(&paths[0], b"new", None, b"newer")
            .expect("stage");
        drop(batch);
        assert_eq!(fs::read(&paths[0]).expect("read"), b"new");
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), paths.len());
    }

    #[cfg(unix)]
    #[test]
    fn a_staged_file_gets_the_permissions_asked_even_past_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (shared, read_only) = (dir.path().join("shared.json"), dir.path().join("ro.json"));
        for path in [&shared, &read_only] {
            fs::write(path, b"old").expect("write");
        }
        let batch = AtomicBatch::new();
        // 0666 is more than the usual umask (022) lets a new file have: set again.
        let wide = fs::Permissions::from_mode(0o666);
        batch
            .stage(&shared, b"old", Some(&wide), b"new")
            .expect("stage");
        let narrow = fs::Permissions::from_mode(0o444);
        batch
            .stage(&read_only, b"old", Some(&narrow), b"new")
            .expect("stage");
        assert!(batch.commit().iter().all(|(_, result)| result.is_ok()));
        let mode = |path: &Path| fs::metadata(path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&shared), 0o666);
        assert_eq!(mode(&read_only), 0o444);
        assert_eq!(fs::read(&read_only).expect("read"), b"new");
    }

    #[test]
    fn parallel_work_keeps_the_items_order() {
        for n in [0, 1, 2, 3, 7, 100, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = in_parallel(items, |i| i * 2);
            assert_eq!(
                doubled,
                (0..n).map(|i| i * 2).collect::<Vec<_>>(),
                "{n} items"
            );
        }
    }

    #[test]
    fn write_errors_name_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"not a directory").expect("write");
        let err = write_atomically(&blocker.join("x.json"), b"{}").expect_err("parent is a file");
        assert!(
            err.to_string().contains(&*blocker.to_string_lossy()),
            "{err}"
        );
    }
}
