//! The used set: which recordings a test run replayed or recorded, so that the
//! recordings no test uses any more can be found (`inference-recorder unused`).
//!
//! Every process that records or replays appends the keys it used, once each, to a
//! file of its own in `<dir>/.used/` (`<pid>-<nanos>.used`): no file is shared, so any
//! number of test threads and processes (`cargo nextest` runs one per test) note what
//! they use without locks between them. The folder holds a `.gitignore` of `*`, so it
//! never reaches a commit. The file of a test process (one whose first use is on a
//! thread the test harness named) starts with the process's arguments, so a run
//! filtered to some tests (`cargo test foo`) can be told from a full one; other
//! processes (the recording server, an example) only add keys.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The folder, inside a recordings directory, that holds the used-set files.
pub const USED_DIR: &str = ".used";

/// The environment variable that turns tracking off (`0`).
pub const TRACK_ENV: &str = "TEST_INFERENCE_TRACK_USED";

/// The first line of a used-set file: the process's arguments as JSON, after this.
pub const ARGS_PREFIX: &str = "#args ";

struct Log {
    file: Option<fs::File>,
    seen: HashSet<String>,
}

fn logs() -> &'static Mutex<HashMap<PathBuf, Log>> {
    static LOGS: OnceLock<Mutex<HashMap<PathBuf, Log>>> = OnceLock::new();
    LOGS.get_or_init(Mutex::default)
}

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var(TRACK_ENV).as_deref() != Ok("0"))
}

/// Notes that the recording `hash` in `dir` was used by this process. Failures to
/// write are logged once per directory and otherwise ignored: tracking must never fail
/// a test.
pub fn note(dir: &Path, hash: &str) {
    if !enabled() {
        return;
    }
    let mut logs = logs().lock().unwrap_or_else(PoisonError::into_inner);
    // The common case, a key already noted, allocates nothing.
    if logs.get(dir).is_some_and(|log| log.seen.contains(hash)) {
        return;
    }
    let log = logs.entry(dir.to_path_buf()).or_insert_with(|| Log {
        file: open(dir),
        seen: HashSet::new(),
    });
    log.seen.insert(hash.to_owned());
    if let Some(file) = &mut log.file
        && let Err(err) = writeln!(file, "{hash}")
    {
        tracing::warn!(dir = %dir.display(), error = %err, "cannot note a used recording; `inference-recorder unused` will not know of it");
        log.file = None;
    }
}

fn open(dir: &Path) -> Option<fs::File> {
    let folder = dir.join(USED_DIR);
    let opened = (|| {
        fs::create_dir_all(&folder)?;
        let ignore = folder.join(".gitignore");
        if !ignore.exists() {
            fs::write(
                &ignore,
                "# inference-recorder's used set: local to each checkout\n*\n",
            )?;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("{}-{nanos}.used", std::process::id());
        let mut file = fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(folder.join(name))?;
        // Only a test harness's process is a test run whose filter matters: a tool that
        // replays (`inference-recorder serve`, an example) adds keys but no run.
        if crate::scope::current_test().is_some() {
            let args: Vec<String> = std::env::args().skip(1).collect();
            let args = serde_json::to_string(&args).unwrap_or_else(|_| "[]".into());
            writeln!(file, "{ARGS_PREFIX}{args}")?;
        }
        Ok::<_, std::io::Error>(file)
    })();
    match opened {
        Ok(file) => Some(file),
        Err(err) => {
            tracing::warn!(dir = %folder.display(), error = %err, "cannot track used recordings");
            None
        }
    }
}

/// What the used-set files in `dir` say: the keys used, and the argument lists of the
/// processes that used them.
#[derive(Debug, Default, Clone)]
pub struct UsedSet {
    /// Every key some process noted.
    pub keys: HashSet<String>,
    /// Each process's arguments (without the program).
    pub runs: Vec<Vec<String>>,
}

impl UsedSet {
    /// Reads `<dir>/.used/*.used`; empty when there is none.
    pub fn read(dir: &Path) -> UsedSet {
        let mut set = UsedSet::default();
        let Ok(entries) = fs::read_dir(dir.join(USED_DIR)) else {
            return set;
        };
        for entry in entries.filter_map(Result::ok) {
            if entry.path().extension().is_none_or(|ext| ext != "used") {
                continue;
            }
            let Ok(text) = fs::read_to_string(entry.path()) else {
                continue;
            };
            for line in text.lines() {
                if let Some(args) = line.strip_prefix(ARGS_PREFIX) {
                    set.runs
                        .push(serde_json::from_str(args).unwrap_or_default());
                } else if !line.is_empty() {
                    set.keys.insert(line.to_owned());
                }
            }
        }
        set
    }

    /// The arguments of a process that ran only some of its tests: a test-name filter
    /// (`cargo test foo`, `--exact name`) or `--skip`. `None` when every process ran
    /// all of its tests.
    pub fn filtered_run(&self) -> Option<&[String]> {
        self.runs
            .iter()
            .find(|args| is_filtered(args))
            .map(Vec::as_slice)
    }

    /// Removes the used set of `dir`: the start of a run that `unused` will judge.
    pub fn clear(dir: &Path) -> std::io::Result<()> {
        match fs::remove_dir_all(dir.join(USED_DIR)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}

/// Whether libtest arguments select only some tests. Options that take a value are
/// skipped with it; any other bare word is a filter.
fn is_filtered(args: &[String]) -> bool {
    const TAKES_VALUE: [&str; 9] = [
        "--test-threads",
        "--format",
        "--color",
        "--logfile",
        "--report-time",
        "-Z",
        "--shuffle-seed",
        "--nocapture-threads",
        "--run",
    ];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--skip" | "--exact" => return true,
            option if TAKES_VALUE.contains(&option) => {
                args.next();
            }
            option if option.starts_with('-') => {}
            _ => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn filtered_runs_are_told_from_full_ones() {
        assert!(!is_filtered(&args(&[])));
        assert!(!is_filtered(&args(&["--nocapture", "--test-threads", "4"])));
        assert!(!is_filtered(&args(&["--format", "terse", "--ignored"])));
        assert!(is_filtered(&args(&["chat"])));
        assert!(is_filtered(&args(&["--test-threads", "1", "chat"])));
        assert!(is_filtered(&args(&["--skip", "slow"])));
        assert!(is_filtered(&args(&["--exact", "tests::chat"])));
    }
}
