//! A replayed answer's JSON texts (one body, or a stream's chunks) in one shared
//! buffer: handed out by a reference count, so a cached answer is replayed without a
//! copy, and framed straight from the buffer.

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// What a front made of compact texts (their framing for its wire), kept with them.
pub(crate) type Made = OnceLock<Box<dyn Any + Send + Sync>>;

/// JSON texts in one buffer, each at its span.
#[derive(Clone)]
pub(crate) struct Texts {
    buffer: Arc<str>,
    spans: Arc<[Range<usize>]>,
    compact: bool,
    /// Whether the texts are known to be JSON; if not, whoever reads them parses them
    /// (and says what is wrong, naming the file) before using them.
    checked: bool,
    /// For compact texts, the ones a cache keeps: a slot shared by their clones, so
    /// a cached answer is framed once, not on every hit.
    made: Option<Arc<Made>>,
}

impl Texts {
    /// `texts` copied into one buffer; without the whitespace between tokens when
    /// `compact`, so each can be framed as one line as it is.
    pub(crate) fn new<'a>(texts: impl IntoIterator<Item = &'a str>, compact: bool) -> Texts {
        let texts = texts.into_iter();
        let mut buffer = String::new();
        let mut spans = Vec::with_capacity(texts.size_hint().0);
        for text in texts {
            let start = buffer.len();
            match compact {
                true => compact_runs(text, |run| buffer.push_str(run)),
                false => buffer.push_str(text),
            }
            spans.push(start..buffer.len());
        }
        Texts {
            buffer: buffer.into(),
            spans: spans.into(),
            compact,
            checked: true,
            made: compact.then(Arc::default),
        }
    }

    /// One text, not yet known to be JSON: a body found in its file by the layout alone
    /// (`format::pretty_json_answer`), which the one reader of a replay parses anyway.
    pub(crate) fn unchecked(text: &str) -> Texts {
        Texts {
            buffer: text.into(),
            spans: std::iter::once(0..text.len()).collect(),
            compact: false,
            checked: false,
            made: None,
        }
    }

    /// Whether the texts are known to be JSON (see [`Texts::unchecked`]).
    pub(crate) fn is_checked(&self) -> bool {
        self.checked
    }

    /// How many texts there are.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The `index`-th text; empty past the end.
    pub(crate) fn get(&self, index: usize) -> &str {
        self.spans
            .get(index)
            .and_then(|span| self.buffer.get(span.clone()))
            .unwrap_or("")
    }

    /// The `index`-th text compact: as it is when the texts are compact, else
    /// minified into `scratch`.
    pub(crate) fn compact<'a>(&'a self, index: usize, scratch: &'a mut String) -> &'a str {
        let text = self.get(index);
        if self.compact {
            return text;
        }
        scratch.clear();
        compact_runs(text, |run| scratch.push_str(run));
        scratch
    }

    /// Every text, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.get(index))
    }

    /// `f` of every text, in order, owning the buffer: for a stream that outlives
    /// this value.
    pub(crate) fn map_each<T>(
        self,
        mut f: impl FnMut(&str) -> T + Send + 'static,
    ) -> impl Iterator<Item = T> + Send + 'static {
        (0..self.len()).map(move |index| f(self.get(index)))
    }

    /// The slot for what a front makes of these texts, shared by their clones; only
    /// compact texts have one.
    pub(crate) fn made(&self) -> Option<&Made> {
        self.made.as_deref()
    }

    /// Whether the texts are compact (one line each).
    pub(crate) fn is_compact(&self) -> bool {
        self.compact
    }

    /// The memory the texts hold, roughly, for a cache's budget.
    pub(crate) fn weight(&self) -> usize {
        let held = self.buffer.len() + self.spans.len() * std::mem::size_of::<Range<usize>>();
        // Room for the framed copy a front may make: as large again, and its framing.
        match self.made {
            Some(_) => 2 * held + 32 * (self.len() + 1),
            None => held,
        }
    }
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Calls `each` with the runs of `json` between the whitespace that separates its
/// tokens, in order: together they are `json` minified. Strings are passed as they
/// are, escapes included. A run ends only at ASCII whitespace, so every run is valid
/// UTF-8 of its own.
pub(crate) fn compact_runs<'a>(json: &'a str, mut each: impl FnMut(&'a str)) {
    let bytes = json.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
            if start < at {
                each(&json[start..at]);
            }
            start = at + 1;
        } else if byte == b'"' {
            in_string = true;
        }
    }
    if start < json.len() {
        each(&json[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_share_one_buffer_and_compact_on_request() {
        let pretty = ["{\n  \"a b\": [1, \"x \\\" y\"]\n}", "  [ ]  ", "\"é \""];
        let compact = Texts::new(pretty, true);
        assert_eq!(compact.len(), 3);
        assert_eq!(compact.get(0), r#"{"a b":[1,"x \" y"]}"#);
        assert_eq!(compact.get(1), "[]");
        assert_eq!(compact.get(2), "\"é \"");
        assert_eq!(compact.get(3), "", "past the end");
        assert!(compact.is_compact());
        let kept = Texts::new(pretty, false);
        assert_eq!(kept.iter().collect::<Vec<_>>(), pretty);
        let mut scratch = String::new();
        for index in 0..3 {
            assert_eq!(kept.compact(index, &mut scratch), compact.get(index));
            assert_eq!(compact.compact(index, &mut scratch), compact.get(index));
        }
        let clone = kept.clone();
        assert!(
            Arc::ptr_eq(&clone.buffer, &kept.buffer),
            "a clone copies no text"
        );
        let owned: Vec<usize> = clone.map_each(str::len).collect();
        assert_eq!(owned, pretty.map(str::len));
    }
}
