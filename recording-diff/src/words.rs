//! Word diffs, as `git diff --word-diff=plain` writes them: `[-removed-]{+added+}`,
//! with long unchanged stretches cut to the words around each change.

use similar::{ChangeTag, TextDiff};

/// How many words of unchanged text are kept on each side of a change.
pub const CONTEXT_WORDS: usize = 6;

/// `old` and `new` as one text with the removed words in `[-...-]` and the added ones
/// in `{+...+}`; unchanged runs longer than twice [`CONTEXT_WORDS`] are cut to their
/// ends, with `…` where words were left out.
pub fn word_diff(old: &str, new: &str) -> String {
    let diff = TextDiff::from_words(old, new);
    // Runs of one tag, in order; whitespace tokens count as part of the words.
    let mut runs: Vec<(ChangeTag, Vec<&str>)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, tokens)) if *tag == change.tag() => tokens.push(change.value()),
            _ => runs.push((change.tag(), vec![change.value()])),
        }
    }
    let last = runs.len().saturating_sub(1);
    let mut out = String::new();
    for (index, (tag, tokens)) in runs.iter().enumerate() {
        match tag {
            ChangeTag::Equal => out += &elide(tokens, index > 0, index < last),
            ChangeTag::Delete => out += &format!("[-{}-]", clip(tokens)),
            ChangeTag::Insert => out += &format!("{{+{}+}}", clip(tokens)),
        }
    }
    out
}

/// The most words of one removed or added run that are shown: a pasted document or a
/// grown prompt is shown by its ends.
pub const MAX_CHANGED_WORDS: usize = 4 * CONTEXT_WORDS;

/// A removed or added run, cut to its first and last words when longer than
/// [`MAX_CHANGED_WORDS`].
fn clip(tokens: &[&str]) -> String {
    let keep = MAX_CHANGED_WORDS; // half the words, as tokens
    if tokens.len() <= 2 * MAX_CHANGED_WORDS + 1 {
        return tokens.concat();
    }
    let left_out = tokens[keep..tokens.len() - keep]
        .iter()
        .filter(|token| !token.trim().is_empty())
        .count();
    format!(
        "{}…({left_out} more words)…{}",
        tokens[..keep].concat(),
        tokens[tokens.len() - keep..].concat()
    )
}

/// An unchanged run, cut to [`CONTEXT_WORDS`] words after a change before it and
/// before a change after it.
fn elide(tokens: &[&str], after_change: bool, before_change: bool) -> String {
    // Tokens alternate words and whitespace: twice as many tokens as words.
    let keep = CONTEXT_WORDS * 2;
    let wanted = keep * (usize::from(after_change) + usize::from(before_change));
    if tokens.len() <= wanted.max(keep) + 1 {
        return tokens.concat();
    }
    let head = if after_change {
        tokens[..keep].concat()
    } else {
        String::new()
    };
    let tail = if before_change {
        tokens[tokens.len() - keep..].concat()
    } else {
        String::new()
    };
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_word_is_marked_and_the_rest_kept() {
        assert_eq!(
            word_diff("The capital is Paris.", "The capital is Lyon."),
            "The capital is [-Paris.-]{+Lyon.+}"
        );
        assert_eq!(word_diff("same", "same"), "same");
        assert_eq!(word_diff("", "new words"), "{+new words+}");
    }

    #[test]
    fn long_unchanged_stretches_are_cut_around_the_change() {
        let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        let old = words.join(" ");
        let new = old.replace("w20", "changed");
        let diff = word_diff(&old, &new);
        assert!(diff.starts_with('…'), "{diff}");
        assert!(diff.ends_with('…'), "{diff}");
        assert!(diff.contains("w19 [-w20-]{+changed+} w21"), "{diff}");
        assert!(!diff.contains("w5 "), "far words are cut: {diff}");
    }

    #[test]
    fn a_long_addition_is_shown_by_its_ends() {
        let grown = format!("start {}end", "word ".repeat(500));
        let diff = word_diff("start end", &grown);
        assert!(diff.len() < 400, "{diff}");
        assert!(diff.contains("word …(476 more words)…word word"), "{diff}");
    }
}
