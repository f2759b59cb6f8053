//! The git commands the diff and `stale` read a revision and dates through: git's own
//! commands, run in the recordings directory, so the work tree and what is staged are
//! never touched (git may refresh its index's stat data, as `git diff` does) and every
//! layout git knows (worktrees, submodules) works.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::DiffError;

/// A git repository seen from a recordings directory inside it.
pub(crate) struct Repo {
    /// The recordings directory: every path below is relative to it.
    dir: PathBuf,
    /// The directory's path in the repository (`tests/recordings/`), which revisions
    /// name their files by.
    prefix: String,
}

impl Repo {
    /// The repository `dir` is in; an error saying so when it is in none.
    pub(crate) fn open(dir: &Path) -> Result<Repo, DiffError> {
        if !dir.is_dir() {
            return Err(DiffError::NoDirectory(dir.to_path_buf()));
        }
        let repo = Repo {
            dir: dir.to_path_buf(),
            prefix: String::new(),
        };
        let prefix = repo
            .run(&["rev-parse", "--show-prefix"])
            .map_err(|err| match err {
                DiffError::Git {
                    command,
                    dir,
                    message,
                } => DiffError::Git {
                    command,
                    dir,
                    message: format!("{message} (compare with a directory: --against DIR)"),
                },
                other => other,
            })?;
        Ok(Repo {
            prefix: prefix.trim_end_matches('\n').to_owned(),
            ..repo
        })
    }

    /// The commit `rev` names, checked, so a typo is an error naming it rather than a
    /// diff against nothing.
    pub(crate) fn resolve(&self, rev: &str) -> Result<String, DiffError> {
        let spec = format!("{rev}^{{commit}}");
        self.run(&["rev-parse", "--verify", "--quiet", &spec])
            .map(|commit| commit.trim().to_owned())
            .map_err(|_| DiffError::UnknownRevision {
                rev: rev.to_owned(),
                dir: self.dir.clone(),
            })
    }

    /// The files below `under` (relative to the directory) in `commit`'s tree: read
    /// from git's objects, without looking at the work tree.
    pub(crate) fn files(&self, commit: &str, under: &str) -> Result<BTreeSet<String>, DiffError> {
        let listed = self.run(&["ls-tree", "-r", "--name-only", "-z", commit, "--", under])?;
        Ok(listed
            .split('\0')
            .filter(|path| !path.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// The files below `under` that git sees differ between `commit` and the work
    /// tree (tracked ones: new files are found by name). Git compares by its index's
    /// stat data, so unchanged files are not read.
    pub(crate) fn modified(
        &self,
        commit: &str,
        under: &str,
    ) -> Result<BTreeSet<String>, DiffError> {
        let listed = self.run(&[
            "diff",
            "--no-renames",
            "--no-ext-diff",
            "--relative",
            "--name-status",
            "-z",
            commit,
            "--",
            under,
        ])?;
        let mut fields = listed.split('\0').filter(|field| !field.is_empty());
        let mut modified = BTreeSet::new();
        while let (Some(_status), Some(path)) = (fields.next(), fields.next()) {
            modified.insert(path.to_owned());
        }
        Ok(modified)
    }

    /// The contents of `paths` (relative to the directory) at `commit`, in one
    /// `git cat-file --batch`.
    pub(crate) fn read_all(
        &self,
        commit: &str,
        paths: &[&str],
    ) -> Result<BTreeMap<String, Vec<u8>>, DiffError> {
        let mut contents = BTreeMap::new();
        if paths.is_empty() {
            return Ok(contents);
        }
        let mut child = self
            .command(&["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.failed_to_start("cat-file", source))?;
        let mut stdin = child.stdin.take().ok_or_else(|| self.broken("cat-file"))?;
        let specs: String = paths
            .iter()
            .map(|path| format!("{commit}:{}{path}\n", self.prefix))
            .collect();
        // Written from a thread: git answers while it reads, and a pipe holds little.
        let writer = std::thread::spawn(move || stdin.write_all(specs.as_bytes()));
        let stdout = child.stdout.take().ok_or_else(|| self.broken("cat-file"))?;
        let mut answers = BufReader::new(stdout);
        for path in paths {
            let mut header = String::new();
            answers
                .read_line(&mut header)
                .map_err(|source| self.failed_to_start("cat-file", source))?;
            let size = header
                .trim_end()
                .rsplit(' ')
                .next()
                .and_then(|size| size.parse::<usize>().ok())
                .filter(|_| !header.trim_end().ends_with(" missing"))
                .ok_or_else(|| DiffError::Git {
                    command: "cat-file --batch".into(),
                    dir: self.dir.clone(),
                    message: format!("{commit}:{}{path}: {}", self.prefix, header.trim_end()),
                })?;
            let mut bytes = vec![0; size + 1];
            answers
                .read_exact(&mut bytes)
                .map_err(|source| self.failed_to_start("cat-file", source))?;
            bytes.pop();
            contents.insert((*path).to_owned(), bytes);
        }
        drop(answers);
        let _ = writer.join();
        let _ = child.wait();
        Ok(contents)
    }

    /// When each file below `under` last changed in `commit`'s history: (seconds since
    /// the epoch, the day as `YYYY-MM-DD`), by committer date, newest commit first.
    pub(crate) fn last_changed(
        &self,
        commit: &str,
        under: &str,
    ) -> Result<BTreeMap<String, (i64, String)>, DiffError> {
        // Each commit is a line starting with \x01, then the files it touched.
        let log = self.run(&[
            "log",
            "--no-renames",
            "--relative",
            "--name-only",
            "--format=%x01%ct %cs",
            commit,
            "--",
            under,
        ])?;
        let mut dates = BTreeMap::new();
        let mut current: Option<(i64, String)> = None;
        for line in log.lines() {
            if let Some(stamp) = line.strip_prefix('\u{1}') {
                let mut parts = stamp.split(' ');
                let seconds = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                current = Some((seconds, parts.next().unwrap_or_default().to_owned()));
            } else if !line.is_empty()
                && let Some(date) = &current
            {
                dates.entry(line.to_owned()).or_insert_with(|| date.clone());
            }
        }
        Ok(dates)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&self.dir)
            // Paths as they are, whatever the user's git configuration.
            .args(["-c", "core.quotePath=false"])
            .args(args);
        command
    }

    /// Runs git with `args`; its output, or an error with what it said.
    fn run(&self, args: &[&str]) -> Result<String, DiffError> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| self.failed_to_start(args[0], source))?;
        if !output.status.success() {
            return Err(DiffError::Git {
                command: args.join(" "),
                dir: self.dir.clone(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        String::from_utf8(output.stdout).map_err(|_| DiffError::Git {
            command: args.join(" "),
            dir: self.dir.clone(),
            message: "git printed a path that is not UTF-8".into(),
        })
    }

    fn failed_to_start(&self, command: &str, source: std::io::Error) -> DiffError {
        DiffError::Git {
            command: command.to_owned(),
            dir: self.dir.clone(),
            message: format!("could not run git: {source}"),
        }
    }

    fn broken(&self, command: &str) -> DiffError {
        DiffError::Git {
            command: command.to_owned(),
            dir: self.dir.clone(),
            message: "git's pipes could not be opened".into(),
        }
    }
}
