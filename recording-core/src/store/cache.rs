//! Recently replayed answers, kept in memory by a long-lived front (the recording
//! server) so a hit costs one `stat` instead of an open, a read and a parse.
//!
//! Every hit is checked against the file first: its size, modification and change
//! times, device and inode, from one `stat`, must be those it had when it was read. A
//! re-recording replaces the file (a new inode) and an edit changes its times, so the
//! cache never answers what the file no longer says. A file modified in the last
//! [`SETTLE`] is not kept at all: a file system's clock ticks in milliseconds, so two
//! writes of the same size within one tick would leave the same `stat`; a file older
//! than that changes its modification time with its next write. The memory is
//! bounded: past the budget, the answers least recently replayed are dropped.

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use crate::api::client::Method;
use crate::api::texts::Texts;
use crate::store::format::{RecordedError, ReplayFile, Replayed};

/// What replay needs of a recording, its bodies as shared texts.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The recorded request's method.
    pub(crate) method: Method,
    /// The recorded request's endpoint.
    pub(crate) endpoint: String,
    /// The answer.
    pub(crate) answer: Answer,
}

/// A recording's answer.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A single body: one text.
    Json(Texts),
    /// A stream's chunks, the API error that ended it, and each chunk's recorded time.
    Stream {
        chunks: Texts,
        error: Option<RecordedError>,
        chunk_ms: Option<Vec<u64>>,
    },
    /// An API error response.
    Error(RecordedError),
}

impl Loaded {
    /// `file`'s answer, its texts compacted when `compact` (what a cache keeps, ready
    /// to frame), else copied as they are (what one replay decodes).
    pub(crate) fn new(file: ReplayFile, compact: bool) -> Loaded {
        let answer = match file.response {
            Replayed::Json(raw) => Answer::Json(Texts::new([raw.get()], compact)),
            Replayed::Stream {
                chunks,
                error,
                chunk_ms,
            } => Answer::Stream {
                chunks: Texts::new(chunks.iter().map(|raw| raw.get()), compact),
                error,
                chunk_ms,
            },
            Replayed::Error(error) => Answer::Error(error),
        };
        Loaded {
            method: file.method,
            endpoint: file.endpoint,
            answer,
        }
    }

    /// The memory it holds, roughly.
    fn weight(&self) -> usize {
        let error = |error: &RecordedError| error.body.to_string().len() + 64;
        let answer = match &self.answer {
            Answer::Json(text) => text.weight(),
            Answer::Stream {
                chunks,
                error: end,
                chunk_ms,
            } => {
                chunks.weight()
                    + end.as_ref().map_or(0, error)
                    + chunk_ms.as_ref().map_or(0, |ms| ms.len() * 8)
            }
            Answer::Error(end) => error(end),
        };
        answer + self.endpoint.len() + 128
    }
}

/// How long after its last modification a file's answer may be kept.
pub(crate) const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether a file with `meta` was last modified at least [`SETTLE`] ago.
pub(crate) fn settled(meta: &Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age >= SETTLE)
}

/// What a file's `stat` says of its contents: equal stamps, the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    node: (u64, u64, i64, i64),
}

impl Stamp {
    pub(crate) fn of(meta: &Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            // The change time too: a tool can set a file's modification time back,
            // not its change time.
            #[cfg(unix)]
            node: (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()),
        }
    }
}

fn bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// The cache: answers by file, bounded in bytes.
pub(crate) struct AnswerCache {
    budget: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for AnswerCache {
    // Its size, not its answers: a recorder's `Debug` stays short.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("AnswerCache")
            .field("budget", &self.budget)
            .field("answers", &state.entries.len())
            .field("bytes", &state.weight)
            .finish()
    }
}

#[derive(Debug, Default)]
struct State {
    /// By the path's bytes, hashed as bytes: a `Path` hashes component by component,
    /// which costs a hit more than its lookup.
    entries: HashMap<Box<[u8]>, Entry, foldhash::fast::RandomState>,
    weight: usize,
    /// A counter that orders entries by their last use.
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    loaded: Arc<Loaded>,
    weight: usize,
    used: u64,
}

impl AnswerCache {
    /// A cache that holds answers up to about `budget` bytes.
    pub(crate) fn new(budget: usize) -> AnswerCache {
        AnswerCache {
            budget,
            state: Mutex::default(),
        }
    }

    /// The answer read from `path` while it had `stamp`, if it is kept.
    pub(crate) fn get(&self, path: &Path, stamp: &Stamp) -> Option<Arc<Loaded>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.clock += 1;
        let clock = state.clock;
        let entry = state.entries.get_mut(bytes(path))?;
        if entry.stamp != *stamp {
            let weight = entry.weight;
            state.entries.remove(bytes(path));
            state.weight -= weight;
            return None;
        }
        entry.used = clock;
        Some(entry.loaded.clone())
    }

    /// Forgets `path`'s answer (its file is gone).
    pub(crate) fn forget(&self, path: &Path) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = state.entries.remove(bytes(path)) {
            state.weight -= entry.weight;
        }
    }

    /// Keeps `loaded`, read from `path` while it had `stamp`. An answer larger than a
    /// quarter of the budget is not kept; past the budget, the least recently used
    /// answers are dropped until a quarter of it is free.
    pub(crate) fn put(&self, path: &Path, stamp: Stamp, loaded: Arc<Loaded>) {
        let weight = loaded.weight() + path.as_os_str().len();
        if weight > self.budget / 4 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.clock += 1;
        let used = state.clock;
        let entry = Entry {
            stamp,
            loaded,
            weight,
            used,
        };
        if let Some(old) = state.entries.insert(bytes(path).into(), entry) {
            state.weight -= old.weight;
        }
        state.weight += weight;
        if state.weight > self.budget {
            let mut ages: Vec<(u64, Box<[u8]>)> = state
                .entries
                .iter()
                .map(|(path, entry)| (entry.used, path.clone()))
                .collect();
            ages.sort_unstable();
            for (_, path) in ages {
                if state.weight <= self.budget / 4 * 3 {
                    break;
                }
                if let Some(entry) = state.entries.remove(&path) {
                    state.weight -= entry.weight;
                }
            }
        }
    }

    /// How many answers, of how many bytes, it holds.
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.entries.len(), state.weight)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn loaded(text: &str) -> Arc<Loaded> {
        Arc::new(Loaded {
            method: Method::Post,
            endpoint: "/v1/chat/completions".into(),
            answer: Answer::Json(Texts::new([text], true)),
        })
    }

    fn stamp(len: u64) -> Stamp {
        Stamp {
            len,
            modified: None,
            #[cfg(unix)]
            node: (1, len, 0, 0),
        }
    }

    #[test]
    fn a_changed_stamp_is_a_miss_and_drops_the_entry() {
        let cache = AnswerCache::new(1 << 20);
        let path = Path::new("/r/responses/a.json");
        cache.put(path, stamp(10), loaded("{}"));
        assert!(cache.get(path, &stamp(10)).is_some());
        assert!(cache.get(path, &stamp(11)).is_none(), "another file now");
        assert!(
            cache.get(path, &stamp(10)).is_none(),
            "dropped, not kept for later"
        );
        assert_eq!(cache.held(), (0, 0));
    }

    #[test]
    fn the_budget_holds_and_the_least_recently_used_go_first() {
        let text = "x".repeat(1_000);
        let text = format!("\"{text}\"");
        let cache = AnswerCache::new(20_000);
        let path = |n: usize| PathBuf::from(format!("/r/responses/{n}.json"));
        for n in 0..100 {
            cache.put(&path(n), stamp(n as u64), loaded(&text));
            // The first stays in use.
            assert!(cache.get(&path(0), &stamp(0)).is_some(), "after {n}");
        }
        let (entries, weight) = cache.held();
        assert!(weight <= 20_000, "{weight}");
        assert!(entries >= 5, "{entries}");
        assert!(
            cache.get(&path(99), &stamp(99)).is_some(),
            "the newest stays"
        );
        assert!(cache.get(&path(1), &stamp(1)).is_none(), "an old one went");
        let big = format!("\"{}\"", "y".repeat(6_000));
        cache.put(&path(500), stamp(500), loaded(&big));
        assert!(
            cache.get(&path(500), &stamp(500)).is_none(),
            "over a quarter of the budget: never kept"
        );
    }
}
