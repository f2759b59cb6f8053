//! RFC 8785 (JSON Canonicalization Scheme), the form a request's key is the SHA-256
//! of: written from a `Value` here, and from a typed request by its own serializer in
//! [`typed`]. It knows JSON and nothing of requests, files or keys.

use std::cmp::Ordering;

use serde_json::{Number, Value};

pub(crate) mod typed;

/// Where the canonical writer stops descending: far below any stack's limit, and
/// above what the recorder accepts (`store::format::MAX_BODY_DEPTH`),
/// so a body nested deeper still gets a key (the recorder refuses it with a clear
/// error before it is sent) instead of overflowing the stack.
const WRITE_DEPTH_LIMIT: usize = 256;

/// RFC 8785: literals as they are, strings with JSON's minimal escaping, numbers as
/// ECMAScript prints the IEEE-754 double, object members sorted by the UTF-16 code
/// units of their names, no whitespace.
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>, level: usize) {
    if level > WRITE_DEPTH_LIMIT && (value.is_array() || value.is_object()) {
        out.extend_from_slice(b"\"<nested too deeply>\"");
        return;
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out, level + 1);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // The objects of a request are small (a message, a tool): their members are
            // sorted on the stack, with no allocation per object.
            const SMALL: usize = 16;
            static NULL: Value = Value::Null;
            let mut small = [("", &NULL); SMALL];
            let mut large = Vec::new();
            let members = if map.len() <= SMALL {
                for (slot, (name, item)) in small.iter_mut().zip(map) {
                    *slot = (name.as_str(), item);
                }
                &mut small[..map.len()]
            } else {
                large.extend(map.iter().map(|(name, item)| (name.as_str(), item)));
                &mut large[..]
            };
            members.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
            out.push(b'{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_canonical(item, out, level + 1);
            }
            out.push(b'}');
        }
    }
}

pub(crate) fn utf16_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

pub(crate) fn write_number(number: &Number, out: &mut Vec<u8>) {
    // ECMAScript numbers are doubles; integers print exactly up to 2^53, and beyond
    // they print as the double they round to, as any JCS implementation does.
    let double = if let Some(n) = number.as_i64() {
        n as f64
    } else if let Some(n) = number.as_u64() {
        n as f64
    } else {
        number.as_f64().unwrap_or_default()
    };
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(buffer.format_finite(double).as_bytes());
}

pub(crate) fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        // Eight bytes at a time past text that needs no escape: most of a request.
        if let Some(word) = bytes[i..].first_chunk::<8>()
            && !needs_escape(u64::from_le_bytes(*word))
        {
            i += 8;
            continue;
        }
        if !matches!(byte, b'"' | b'\\' | 0x00..=0x1f) {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        write_escape(byte, out);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The escape RFC 8785 writes for `byte` inside a string: `"`, `\` and the control
/// characters, the short forms where JSON has one, else `\u00xx`; anything else as is.
pub(crate) fn write_escape(byte: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let escape: &[u8] = match byte {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x08 => b"\\b",
        0x0c => b"\\f",
        0x00..=0x1f => b"",
        _ => {
            out.push(byte);
            return;
        }
    };
    if escape.is_empty() {
        out.extend_from_slice(b"\\u00");
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0xf)]);
    } else {
        out.extend_from_slice(escape);
    }
}

/// Whether any of the eight bytes of `word` must be escaped in a JSON string: a
/// control character (below 0x20), `"` or `\`. The classic word-at-a-time tests
/// ("has a byte less than n", "has a zero byte"): exact for the word as a whole.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = ONES * 0x80;
    let has_zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = has_zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero_byte(word ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_serde_json_at_every_position() {
        // serde_json escapes as RFC 8785 asks (short forms, else lowercase `\u00xx`);
        // every byte that needs it, at every place in and around an eight-byte word.
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', ' ', '~', '\u{7f}', 'é', '€', '😀'])
            .collect();
        for len in 0..20 {
            for at in 0..len {
                for &special in &specials {
                    let text: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    let mut out = Vec::new();
                    write_string(&text, &mut out);
                    let expected = serde_json::to_string(&text).expect("a string");
                    assert_eq!(String::from_utf8(out).expect("UTF-8"), expected, "{text:?}");
                }
            }
        }
    }
}
