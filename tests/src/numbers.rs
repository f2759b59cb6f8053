//! Numbers as they are written: the literals of a JSON text and their exact values, read
//! without serde_json, so tests can check that serde_json changed none of them.

/// The number literals of a JSON text, in order, outside strings.
pub fn literals(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let (mut out, mut at, mut in_string) = (Vec::new(), 0, false);
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            match byte {
                b'\\' => at += 1,
                b'"' => in_string = false,
                _ => {}
            }
            at += 1;
        } else if byte == b'"' {
            in_string = true;
            at += 1;
        } else if byte == b'-' || byte.is_ascii_digit() {
            let start = at;
            while at < bytes.len()
                && matches!(bytes[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                at += 1;
            }
            out.push(&text[start..at]);
        } else {
            at += 1;
        }
    }
    out
}

/// The exact binary64 value of a literal, by the standard library's correctly rounded
/// parser. Panics on text that is not a number: it is only given [`literals`].
pub fn exact(literal: &str) -> f64 {
    literal
        .parse::<f64>()
        .unwrap_or_else(|err| panic!("{literal}: {err}"))
}

/// Values that a JSON parser without serde_json's `float_roundtrip` moves by one unit
/// in the last place, all seen in llama-stack's real recordings.
pub const HARD: [&str; 3] = [
    "-0.0018224716186523438",
    "2.562595e-33",
    "0.017540205270051956",
];

/// `text` with its first fractional number literals replaced by `values`, in order:
/// a real recording made to carry numbers that are hard to keep exact.
pub fn with_values(text: &str, values: &[&str]) -> String {
    let mut edited = text.to_owned();
    let spans: Vec<_> = literals(text)
        .into_iter()
        .filter(|literal| literal.contains('.'))
        .map(|literal| {
            let start = literal.as_ptr() as usize - text.as_ptr() as usize;
            start..start + literal.len()
        })
        .zip(values)
        .collect();
    for (span, value) in spans.into_iter().rev() {
        edited.replace_range(span, value);
    }
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_skip_strings_and_keep_their_text() {
        let text = r#"{"a-1": [1e-05, -0.5], "s": "2 \" 3", "n": 120}"#;
        assert_eq!(literals(text), ["1e-05", "-0.5", "120"]);
        assert_eq!(exact("1e-05"), 0.00001);
        let edited = with_values(r#"{"a": [1.5, 2, -3.25]}"#, &["0.1", "7e-9"]);
        assert_eq!(edited, r#"{"a": [0.1, 2, 7e-9]}"#);
    }
}
