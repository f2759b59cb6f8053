//! The recordings directory: `<dir>/responses/<hash>.json`, read by key, written atomically.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::format::{RecordedResponse, RecordingFile};

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
}

impl Store {
    /// A store rooted at `dir` (the directory that holds `responses/`).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
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
        let mut path = self.responses_dir();
        path.push(format!("{hash}.json"));
        path
    }

    /// Reads the recording for `hash`: `None` when there is none (a missing directory
    /// included), an error naming the file when it exists but cannot be used.
    pub fn load(&self, hash: &str) -> Result<Option<(PathBuf, RecordingFile)>, Error> {
        self.read(hash, RecordingFile::from_slice)
    }

    /// Reads only the response of the recording for `hash`, as replay does; `None` and
    /// errors as [`Store::load`].
    pub fn load_response(&self, hash: &str) -> Result<Option<(PathBuf, RecordedResponse)>, Error> {
        self.read(hash, RecordedResponse::from_file_slice)
    }

    fn read<T>(
        &self,
        hash: &str,
        parse: impl FnOnce(&[u8], &Path) -> Result<T, Error>,
    ) -> Result<Option<(PathBuf, T)>, Error> {
        check_key(hash)?;
        let path = self.path_for(hash);
        match fs::read(&path) {
            Ok(bytes) => parse(&bytes, &path).map(|parsed| Some((path, parsed))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Storage {
                action: "read",
                path,
                source,
                fetched: None,
            }),
        }
    }

    /// Writes the recording for `hash` atomically: to a temporary file in the same
    /// directory, flushed, then renamed over the old one. A crash or a concurrent writer
    /// leaves the old complete file or the new complete file, never a torn one.
    pub fn save(&self, hash: &str, file: &RecordingFile) -> Result<PathBuf, Error> {
        check_key(hash)?;
        let path = self.path_for(hash);
        write_atomically(&path, file.to_pretty_json().as_bytes())?;
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
    let storage = |action: &'static str, at: &Path| {
        let at = at.to_path_buf();
        move |source: io::Error| Error::Storage {
            action,
            path: at,
            source,
            fetched: None,
        }
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(storage("create directory", dir))?;
    // The temp file's name starts with '.', so it never looks like a recording, and
    // tempfile removes it if anything below fails.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-").suffix(".partial");
    // tempfile makes private (0600) files; a recording is an ordinary file to commit
    // and share, so it gets the mode any new file gets (0644 under the usual umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(dir).map_err(storage("write", path))?;
    temp.write_all(contents).map_err(storage("write", path))?;
    temp.as_file().sync_all().map_err(storage("write", path))?;
    temp.persist(path)
        .map_err(|err| storage("write", path)(err.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
