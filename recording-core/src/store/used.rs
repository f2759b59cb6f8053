//! The used set: which recordings a test run replayed or recorded, so that the
//! recordings no test uses any more can be found (`inference-recorder unused`).
//!
//! Every process that records or replays appends the keys it used, once each, to a
//! file of its own in `<dir>/.used/` (`<pid>-<nanos>.used`): no file is shared, so any
//! number of test threads and processes (`cargo nextest` runs one per test) note what
//! they use without locks between them. The folder holds a `.gitignore` of `*`, so it
//! never reaches a commit.
//!
//! A *run* is everything noted since the last [`UsedSet::clear`]
//! (`inference-recorder unused --reset`), judged as a union. The file of a test process
//! starts with a line saying what selected its tests, so a run in which anything was
//! filtered (`cargo test foo`, `cargo nextest run -E ...`) can be told from a full one:
//! - under libtest (`cargo test`), the process's own arguments;
//! - under nextest, which starts every test as `--exact NAME`, the arguments of the
//!   `cargo nextest run` that started it (read from the parent process on Linux) and
//!   its `--partition` share, so the shares of a partitioned run can be merged;
//! - a process that declares itself a run ([`mark_run`]: `inference-recorder serve
//!   --track`, for a Python or JS suite run whole through it).
//!
//! Other processes (an example, `serve` without `--track`) only add keys.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};

/// The folder, inside a recordings directory, that holds the used-set files.
pub const USED_DIR: &str = ".used";

/// The environment variable that turns tracking off (`0`).
pub const TRACK_ENV: &str = "TEST_INFERENCE_TRACK_USED";

/// The first line of a used-set file written by a test process: what selected its
/// tests, as JSON, after this.
pub const RUN_PREFIX: &str = "#run ";

/// The first line of the files earlier versions wrote: a libtest process's arguments.
const ARGS_PREFIX: &str = "#args ";

/// What selected the tests of one process of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "harness", rename_all = "lowercase")]
pub enum RunProcess {
    /// A libtest binary (`cargo test`): its arguments, without the program.
    Libtest {
        /// The test binary's arguments.
        args: Vec<String>,
    },
    /// One test of a `cargo nextest run`.
    Nextest {
        /// nextest's run id: every process of one `cargo nextest run` shares it.
        run_id: String,
        /// The arguments of `cargo nextest`, from `run` on; `None` where they cannot
        /// be read (not Linux), in which case the run is taken as whole.
        args: Option<Vec<String>>,
    },
    /// A process that declared itself a whole run ([`mark_run`]).
    Declared {
        /// Who declared it, for the report (`inference-recorder serve --track`).
        by: String,
    },
}

struct Log {
    file: Option<fs::File>,
    seen: HashSet<String, foldhash::fast::RandomState>,
}

/// The logs by their directory's bytes: every replayed hit looks its directory and key
/// up here, and a `Path` hashes component by component.
type Logs = HashMap<Box<[u8]>, Log, foldhash::fast::RandomState>;

fn logs() -> &'static Mutex<Logs> {
    static LOGS: OnceLock<Mutex<Logs>> = OnceLock::new();
    LOGS.get_or_init(Mutex::default)
}

fn dir_key(dir: &Path) -> &[u8] {
    dir.as_os_str().as_encoded_bytes()
}

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var(TRACK_ENV).as_deref() != Ok("0"))
}

/// The run this process declared with [`mark_run`].
fn declared() -> &'static OnceLock<String> {
    static DECLARED: OnceLock<String> = OnceLock::new();
    &DECLARED
}

/// Declares this process a whole test run of its own, for the recordings in `dir`:
/// `inference-recorder serve --track` says so for the client suite it serves (pytest,
/// jest), which `unused` cannot otherwise tell from a single request. `by` names the
/// declaration in reports. The used-set file is created at once, so a run that used
/// nothing is still a run.
pub fn mark_run(dir: &Path, by: &str) {
    let _ = declared().set(by.to_owned());
    if !enabled() {
        return;
    }
    let mut logs = logs().lock().unwrap_or_else(PoisonError::into_inner);
    logs.entry(dir_key(dir).into()).or_insert_with(|| Log {
        file: open(dir),
        seen: HashSet::default(),
    });
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
    if logs
        .get(dir_key(dir))
        .is_some_and(|log| log.seen.contains(hash))
    {
        return;
    }
    let log = logs.entry(dir_key(dir).into()).or_insert_with(|| Log {
        file: open(dir),
        seen: HashSet::default(),
    });
    log.seen.insert(hash.to_owned());
    if let Some(file) = &mut log.file
        && let Err(err) = writeln!(file, "{hash}")
    {
        tracing::warn!(dir = %dir.display(), error = %err, "cannot note a used recording; `inference-recorder unused` will not know of it");
        log.file = None;
    }
}

/// What selected this process's tests; `None` for a process that is no test run.
fn this_process() -> Option<RunProcess> {
    if let Some(by) = declared().get() {
        return Some(RunProcess::Declared { by: by.clone() });
    }
    // Under nextest every process is a test; its own arguments (`--exact NAME`) say
    // nothing of the run, the `cargo nextest run` command line does.
    if let Ok(run_id) = std::env::var("NEXTEST_RUN_ID") {
        return Some(RunProcess::Nextest {
            run_id,
            args: nextest_command_line(),
        });
    }
    // Only a test harness's process is a test run whose filter matters: a tool that
    // replays (`inference-recorder serve`, an example) adds keys but no run.
    crate::scope::current_test()?;
    Some(RunProcess::Libtest {
        args: std::env::args().skip(1).collect(),
    })
}

/// The arguments of the `cargo-nextest` process that started this one, from its
/// `run` subcommand on.
fn nextest_command_line() -> Option<Vec<String>> {
    #[cfg(target_os = "linux")]
    {
        let parent = std::os::unix::process::parent_id();
        let bytes = fs::read(format!("/proc/{parent}/cmdline")).ok()?;
        let args: Vec<String> = bytes
            .split(|byte| *byte == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        let run = args.iter().position(|arg| arg == "run" || arg == "r")?;
        Some(args[run + 1..].to_vec())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
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
        if let Some(process) = this_process() {
            let line = serde_json::to_string(&process).map_err(std::io::Error::other)?;
            writeln!(file, "{RUN_PREFIX}{line}")?;
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

/// What the used-set files say: the keys used, and what selected the tests of each
/// process that used them.
#[derive(Debug, Default, Clone)]
pub struct UsedSet {
    /// Every key some process noted.
    pub keys: HashSet<String>,
    /// Each test process's selection.
    pub runs: Vec<RunProcess>,
}

/// Why a used set cannot be judged: reporting orphans from it would name recordings
/// that a test does use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unjudgeable {
    /// No test process noted anything since the reset.
    #[error(
        "no test run has noted what it used since the last `inference-recorder unused --reset`"
    )]
    NoRun,
    /// Some process since the reset ran only some tests.
    #[error(
        "a filtered run was noted since the last `inference-recorder unused --reset` ({0}), so recordings outside the filter would look unused"
    )]
    Filtered(String),
    /// A partitioned nextest run whose shares are not all here.
    #[error(
        "only share(s) {seen} of `cargo nextest run --partition {kind}:M/{count}` were noted; merge the other shares' used sets (`inference-recorder unused --used-from DIR`, or copy their `.used/` files together)"
    )]
    MissingShares {
        /// The partitioning scheme (`count`, `hash`, `slice`).
        kind: String,
        /// How many shares the run was cut into.
        count: u32,
        /// The shares noted, as `1, 3`.
        seen: String,
    },
}

impl UsedSet {
    /// Reads `<dir>/.used/*.used`; empty when there is none.
    pub fn read(dir: &Path) -> UsedSet {
        let mut set = UsedSet::default();
        set.add_folder(&dir.join(USED_DIR));
        set
    }

    /// Adds what another used set says: `dir` is a recordings directory (its `.used/`
    /// is read) or a used-set folder itself, such as one a CI job saved from a shard.
    pub fn merge_from(&mut self, dir: &Path) {
        let nested = dir.join(USED_DIR);
        self.add_folder(if nested.is_dir() { &nested } else { dir });
    }

    fn add_folder(&mut self, folder: &Path) {
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            if entry.path().extension().is_none_or(|ext| ext != "used") {
                continue;
            }
            let Ok(text) = fs::read_to_string(entry.path()) else {
                continue;
            };
            for line in text.lines() {
                if let Some(process) = line.strip_prefix(RUN_PREFIX) {
                    // A line this version cannot read stands for a filtered run: better
                    // to report nothing than to report a used recording.
                    self.runs
                        .push(serde_json::from_str(process).unwrap_or_else(|_| {
                            RunProcess::Libtest {
                                args: vec![format!("(unreadable: {process})")],
                            }
                        }));
                } else if let Some(args) = line.strip_prefix(ARGS_PREFIX) {
                    self.runs.push(RunProcess::Libtest {
                        args: serde_json::from_str(args).unwrap_or_default(),
                    });
                } else if !line.is_empty() {
                    self.keys.insert(line.to_owned());
                }
            }
        }
    }

    /// Whether the processes noted since the reset make up a whole run: at least one
    /// of them, none filtered, and every share of a partitioned nextest run (unless an
    /// unpartitioned run covers everything anyway).
    pub fn judge(&self) -> Result<(), Unjudgeable> {
        if self.runs.is_empty() {
            return Err(Unjudgeable::NoRun);
        }
        // (kind, count) -> shares seen, for partitioned nextest runs.
        let mut partitions: BTreeMap<(String, u32), BTreeSet<u32>> = BTreeMap::new();
        let mut whole = false;
        for process in &self.runs {
            match selection(process) {
                Selection::Filtered(why) => return Err(Unjudgeable::Filtered(why)),
                Selection::Whole => whole = true,
                Selection::Share { kind, share, count } => {
                    partitions.entry((kind, count)).or_default().insert(share);
                }
            }
        }
        if whole {
            return Ok(());
        }
        for ((kind, count), seen) in partitions {
            if (1..=count).any(|share| !seen.contains(&share)) {
                let seen = seen.iter().map(u32::to_string).collect::<Vec<_>>();
                return Err(Unjudgeable::MissingShares {
                    kind,
                    count,
                    seen: seen.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Removes the used set of `dir`: the start of a run that `unused` will judge.
    pub fn clear(dir: &Path) -> std::io::Result<()> {
        match fs::remove_dir_all(dir.join(USED_DIR)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}

/// What one process's selection means for the run.
#[derive(Debug, PartialEq, Eq)]
enum Selection {
    Whole,
    /// Only some tests ran; says which selection, for the report.
    Filtered(String),
    /// Share `share` of `count` of a partitioned nextest run.
    Share {
        kind: String,
        share: u32,
        count: u32,
    },
}

fn selection(process: &RunProcess) -> Selection {
    match process {
        RunProcess::Declared { .. } => Selection::Whole,
        RunProcess::Libtest { args } => {
            if libtest_filtered(args) {
                Selection::Filtered(format!("a test process ran with `{}`", args.join(" ")))
            } else {
                Selection::Whole
            }
        }
        RunProcess::Nextest { args: None, .. } => Selection::Whole,
        RunProcess::Nextest {
            args: Some(args), ..
        } => nextest_selection(args),
    }
}

/// Whether libtest arguments select only some tests. Options that take a value are
/// skipped with it; any other bare word is a filter.
fn libtest_filtered(args: &[String]) -> bool {
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

/// What the arguments of `cargo nextest run` select. Package and binary selection
/// (`-p`, `--test`) counts as whole: a recordings directory belongs to its package.
/// An option this list does not know that takes a value makes its value look like a
/// filter: the safe side, since a false refusal costs a rerun and a false report
/// costs a recording.
fn nextest_selection(args: &[String]) -> Selection {
    const TAKES_VALUE: [&str; 43] = [
        "-p",
        "--package",
        "--exclude",
        "--bin",
        "--example",
        "--test",
        "--bench",
        "-F",
        "--features",
        "--target",
        "--target-dir",
        "--manifest-path",
        "--cargo-profile",
        "--profile",
        "-P",
        "--config",
        "-Z",
        "-j",
        "--jobs",
        "--build-jobs",
        "--test-threads",
        "--retries",
        "--max-fail",
        "--failure-output",
        "--success-output",
        "--status-level",
        "--final-status-level",
        "--message-format",
        "--message-format-version",
        "--color",
        "--tool-config-file",
        "--user-config-file",
        "--archive-file",
        "--archive-format",
        "--extract-to",
        "--workspace-remap",
        "--binaries-metadata",
        "--cargo-metadata",
        "--stress-count",
        "--stress-duration",
        "--slow-timeout",
        "--leak-timeout",
        "--show-progress",
    ];
    let filtered =
        |why: &str| Selection::Filtered(format!("`cargo nextest run {}`: {why}", args.join(" ")));
    let mut partition = None;
    let mut args_iter = args.iter();
    while let Some(arg) = args_iter.next() {
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| args_iter.next().cloned());
        match option {
            "--" => {
                let rest: Vec<String> = args_iter.by_ref().cloned().collect();
                if libtest_filtered(&rest) {
                    return filtered("test-binary arguments after `--` select tests");
                }
            }
            "-E" | "--filterset" | "--filter-expr" => return filtered("a filterset selects tests"),
            "--run-ignored" => {
                if value().is_some_and(|v| v == "only" || v == "ignored-only") {
                    return filtered("only ignored tests ran");
                }
            }
            "--partition" => partition = value(),
            option if TAKES_VALUE.contains(&option) => {
                value();
            }
            option if option.starts_with('-') => {}
            _ => return filtered("a test-name filter"),
        }
    }
    let Some(spec) = partition else {
        return Selection::Whole;
    };
    let parsed = spec.split_once(':').and_then(|(kind, shares)| {
        let (share, count) = shares.split_once('/')?;
        Some((kind.to_owned(), share.parse().ok()?, count.parse().ok()?))
    });
    match parsed {
        Some((kind, share, count)) => Selection::Share { kind, share, count },
        None => filtered("a partition this version cannot read"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn filtered_runs_are_told_from_full_ones() {
        assert!(!libtest_filtered(&args(&[])));
        assert!(!libtest_filtered(&args(&[
            "--nocapture",
            "--test-threads",
            "4"
        ])));
        assert!(!libtest_filtered(&args(&[
            "--format",
            "terse",
            "--ignored"
        ])));
        assert!(libtest_filtered(&args(&["chat"])));
        assert!(libtest_filtered(&args(&["--test-threads", "1", "chat"])));
        assert!(libtest_filtered(&args(&["--skip", "slow"])));
        assert!(libtest_filtered(&args(&["--exact", "tests::chat"])));
    }

    #[test]
    fn nextest_runs_are_judged_by_the_nextest_command_line() {
        let whole = |a: &[&str]| nextest_selection(&args(a)) == Selection::Whole;
        assert!(whole(&[]));
        assert!(whole(&[
            "--workspace",
            "--locked",
            "-p",
            "tests",
            "--no-fail-fast"
        ]));
        assert!(whole(&["--profile", "ci", "--test-threads=2", "-j", "2"]));
        assert!(whole(&["--run-ignored", "all"]));
        for filtered in [
            &["chat"][..],
            &["-E", "test(chat)"],
            &["--filterset=test(chat)"],
            &["--run-ignored", "only"],
            &["--", "--skip", "slow"],
            &["--partition", "nonsense"],
        ] {
            assert!(
                matches!(nextest_selection(&args(filtered)), Selection::Filtered(_)),
                "{filtered:?}"
            );
        }
        assert_eq!(
            nextest_selection(&args(&["--workspace", "--partition", "count:2/3"])),
            Selection::Share {
                kind: "count".into(),
                share: 2,
                count: 3
            }
        );
        assert_eq!(
            nextest_selection(&args(&["--partition=hash:1/2"])),
            Selection::Share {
                kind: "hash".into(),
                share: 1,
                count: 2
            }
        );
    }

    fn nextest(run_id: &str, a: &[&str]) -> RunProcess {
        RunProcess::Nextest {
            run_id: run_id.into(),
            args: Some(args(a)),
        }
    }

    #[test]
    fn a_run_is_the_union_of_its_processes() {
        let set = |runs: Vec<RunProcess>| UsedSet {
            keys: HashSet::new(),
            runs,
        };
        assert_eq!(set(vec![]).judge(), Err(Unjudgeable::NoRun));
        assert_eq!(
            set(vec![RunProcess::Libtest { args: args(&[]) }]).judge(),
            Ok(())
        );
        // A filtered process anywhere since the reset, even beside a whole run.
        let err = set(vec![
            RunProcess::Libtest { args: args(&[]) },
            RunProcess::Libtest {
                args: args(&["chat"]),
            },
        ])
        .judge()
        .expect_err("filtered");
        assert!(err.to_string().contains("since the last"), "{err}");
        // Under nextest every process is `--exact NAME`: its own arguments do not count.
        assert_eq!(set(vec![nextest("a", &["--workspace"])]).judge(), Ok(()));
        // Partitions: every share, or a refusal that names what is missing.
        let one = nextest("a", &["--partition", "count:1/2"]);
        let two = nextest("b", &["--partition", "count:2/2"]);
        let err = set(vec![one.clone()]).judge().expect_err("one share");
        assert_eq!(
            err,
            Unjudgeable::MissingShares {
                kind: "count".into(),
                count: 2,
                seen: "1".into()
            }
        );
        assert!(err.to_string().contains("--used-from"), "{err}");
        assert_eq!(set(vec![one, two]).judge(), Ok(()));
        assert_eq!(
            set(vec![RunProcess::Declared { by: "serve".into() }]).judge(),
            Ok(())
        );
    }
}
