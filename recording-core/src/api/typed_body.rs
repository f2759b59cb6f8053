//! A typed request as the `Value` its JSON text parses to, built without the text:
//! serde_json's own serializer runs (so maps, enums, escapes and non-finite floats are
//! handled exactly as in `to_vec`), but its output calls build values instead of
//! writing bytes. The one place the two could differ is an `f32`: `to_value` widens
//! it (`0.7f32` becomes `0.699999988079071`), its text is the shortest that reads back
//! as it (`0.7`), and a request keys as the number its author wrote (issue 12), so an
//! `f32` becomes the `f64` of its text here too.

use std::io;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use serde_json::{Map, Number, Value};

/// The value under construction.
#[derive(Default)]
pub(crate) struct ValueBuilder {
    stack: Vec<Frame>,
    /// The text of the string being written (a value or an object's key).
    string: Option<String>,
    /// Whether the string being written is an object's key.
    in_key: bool,
    done: Option<Value>,
}

enum Frame {
    Array(Vec<Value>),
    Object(Map<String, Value>, Option<String>),
}

fn broken(what: &str) -> io::Error {
    io::Error::other(format!("the serializer wrote {what} out of place"))
}

impl ValueBuilder {
    /// The value, once the serializer is done.
    pub(crate) fn finish(self) -> io::Result<Value> {
        match (self.done, self.stack.is_empty()) {
            (Some(value), true) => Ok(value),
            _ => Err(broken("an unfinished value")),
        }
    }

    fn put(&mut self, value: Value) -> io::Result<()> {
        match self.stack.last_mut() {
            None if self.done.is_none() => self.done = Some(value),
            None => return Err(broken("a second value")),
            Some(Frame::Array(items)) => items.push(value),
            Some(Frame::Object(map, key)) => {
                let key = key.take().ok_or_else(|| broken("a value without a key"))?;
                map.insert(key, value);
            }
        }
        Ok(())
    }

    /// A number: its text inside a string (an integer map key), else its value.
    fn number(&mut self, text: impl std::fmt::Display, value: Value) -> io::Result<()> {
        match &mut self.string {
            Some(string) => {
                use std::fmt::Write;
                write!(string, "{text}").map_err(io::Error::other)
            }
            None => self.put(value),
        }
    }
}

impl Formatter for &mut ValueBuilder {
    fn write_null<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.put(Value::Null)
    }

    fn write_bool<W: ?Sized + io::Write>(&mut self, _: &mut W, value: bool) -> io::Result<()> {
        self.number(value, Value::Bool(value))
    }

    fn write_i8<W: ?Sized + io::Write>(&mut self, w: &mut W, value: i8) -> io::Result<()> {
        self.write_i64(w, value.into())
    }

    fn write_i16<W: ?Sized + io::Write>(&mut self, w: &mut W, value: i16) -> io::Result<()> {
        self.write_i64(w, value.into())
    }

    fn write_i32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: i32) -> io::Result<()> {
        self.write_i64(w, value.into())
    }

    fn write_i64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i64) -> io::Result<()> {
        self.number(value, Value::from(value))
    }

    fn write_i128<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i128) -> io::Result<()> {
        // Past 64 bits, the text reads back as the nearest float.
        let parsed = match i64::try_from(value) {
            Ok(small) => Value::from(small),
            Err(_) => Value::from(value as f64),
        };
        self.number(value, parsed)
    }

    fn write_u8<W: ?Sized + io::Write>(&mut self, w: &mut W, value: u8) -> io::Result<()> {
        self.write_u64(w, value.into())
    }

    fn write_u16<W: ?Sized + io::Write>(&mut self, w: &mut W, value: u16) -> io::Result<()> {
        self.write_u64(w, value.into())
    }

    fn write_u32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: u32) -> io::Result<()> {
        self.write_u64(w, value.into())
    }

    fn write_u64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u64) -> io::Result<()> {
        self.number(value, Value::from(value))
    }

    fn write_u128<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u128) -> io::Result<()> {
        let parsed = match u64::try_from(value) {
            Ok(small) => Value::from(small),
            Err(_) => Value::from(value as f64),
        };
        self.number(value, parsed)
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f32) -> io::Result<()> {
        // The text `to_vec` writes, read back as `from_slice` reads it.
        let mut text = Vec::with_capacity(16);
        CompactFormatter.write_f32(&mut text, value)?;
        let text = std::str::from_utf8(&text).map_err(io::Error::other)?;
        let parsed: f64 = text.parse().map_err(io::Error::other)?;
        let number = Number::from_f64(parsed).map_or(Value::Null, Value::Number);
        self.number(text, number)
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f64) -> io::Result<()> {
        // Finite: serde_json writes `null` for the others without calling this.
        let number = Number::from_f64(value).map_or(Value::Null, Value::Number);
        match &mut self.string {
            Some(string) => {
                let mut text = Vec::with_capacity(24);
                CompactFormatter.write_f64(&mut text, value)?;
                string.push_str(std::str::from_utf8(&text).map_err(io::Error::other)?);
                Ok(())
            }
            None => self.put(number),
        }
    }

    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        value: &str,
    ) -> io::Result<()> {
        let parsed: Value = serde_json::from_str(value).map_err(io::Error::other)?;
        self.number(value, parsed)
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        match self.string {
            Some(_) => Err(broken("a string inside a string")),
            None => {
                self.string = Some(String::new());
                Ok(())
            }
        }
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        let string = self.string.take().ok_or_else(|| broken("a string's end"))?;
        if !self.in_key {
            return self.put(Value::String(string));
        }
        match self.stack.last_mut() {
            Some(Frame::Object(_, key @ None)) => {
                *key = Some(string);
                Ok(())
            }
            _ => Err(broken("a key")),
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let string = self.string.as_mut().ok_or_else(|| broken("text"))?;
        string.push_str(fragment);
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let string = self.string.as_mut().ok_or_else(|| broken("an escape"))?;
        string.push(match escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(byte) => char::from(byte),
        });
        Ok(())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.stack.push(Frame::Array(Vec::new()));
        Ok(())
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        match self.stack.pop() {
            Some(Frame::Array(items)) => self.put(Value::Array(items)),
            _ => Err(broken("an array's end")),
        }
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W, _: bool) -> io::Result<()> {
        Ok(())
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.stack.push(Frame::Object(Map::new(), None));
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        match self.stack.pop() {
            Some(Frame::Object(map, None)) => self.put(Value::Object(map)),
            _ => Err(broken("an object's end")),
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, _: &mut W, _: bool) -> io::Result<()> {
        self.in_key = true;
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let value: Value = serde_json::from_str(fragment).map_err(io::Error::other)?;
        self.put(value)
    }
}

/// `request` as the value its JSON text parses to.
pub(crate) fn value_of<T: serde::Serialize + ?Sized>(request: &T) -> Result<Value, String> {
    let mut builder = ValueBuilder::default();
    let mut serializer = serde_json::Serializer::with_formatter(io::sink(), &mut builder);
    request
        .serialize(&mut serializer)
        .map_err(|err| err.to_string())?;
    builder.finish().map_err(|err| err.to_string())
}

/// A request with every shape serde gives a typed body (escapes, `f32`s and edge
/// floats, 128-bit integers, integer and bool map keys, enums of each kind, internally
/// tagged and untagged, units, `flatten` with a duplicate and names out of UTF-8 order),
/// for the tests of both typed paths.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::{Map, Value, json};

    #[derive(Serialize)]
    enum Kind {
        Unit,
        Newtype(char),
        Tuple(u8, f32),
        Struct { a: Option<i128> },
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Text { text: String },
        Image(Inner),
    }

    #[derive(Serialize)]
    struct Inner {
        url: &'static str,
        detail: Option<Either>,
    }

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Either {
        Number(f32),
        Word(&'static str),
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    pub(crate) struct Request {
        model: String,
        temperature: f32,
        top_p: Option<f32>,
        penalties: Vec<f32>,
        weights: Vec<f64>,
        ints: (i8, i64, u64, u128, i128),
        by_number: BTreeMap<i32, &'static str>,
        by_flag: BTreeMap<bool, u8>,
        by_float: BTreeMap<String, f32>,
        kinds: Vec<Kind>,
        tagged: Vec<Tagged>,
        either: (Either, Either),
        unit: (Unit, ()),
        odd: [f64; 3],
        nothing: Option<u8>,
        empty: (Vec<u8>, Map<String, Value>),
        user: &'static str,
        metadata: Value,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    pub(crate) fn request() -> Request {
        let mut extra = Map::new();
        // A second `model` (flatten writes both; the value keeps the last) and names
        // whose UTF-16 order is not their UTF-8 order.
        extra.insert("model".into(), "again".into());
        extra.insert("\u{ff61}".into(), 1.into());
        extra.insert("\u{1f600}".into(), 2.into());
        extra.insert(
            "a\"b\\c\n".into(),
            json!({"x": [1, -2, 3.5, "é\u{1}\u{7f}", null]}),
        );
        Request {
            model: "m \"quoted\" \\ / \n\t\r\u{8}\u{c}\u{1f} é 😀".into(),
            temperature: 0.7,
            top_p: Some(0.1),
            penalties: vec![1e-7, 3.0, f32::MAX, f32::MIN_POSITIVE, -0.0, 16_777_217.0],
            weights: vec![0.1, 1e300, 5e-324, 0.699999988079071, 1e21, -1e-7],
            ints: (-8, i64::MIN, u64::MAX, u128::MAX, i128::MIN),
            by_number: BTreeMap::from([(-1, "a"), (10, "b")]),
            by_flag: BTreeMap::from([(true, 1), (false, 0)]),
            by_float: BTreeMap::from([("w".into(), 0.3)]),
            kinds: vec![
                Kind::Unit,
                Kind::Newtype('\u{1}'),
                Kind::Tuple(1, 2.5),
                Kind::Struct { a: Some(1 << 70) },
                Kind::Struct { a: None },
            ],
            tagged: vec![
                Tagged::Text { text: "t".into() },
                Tagged::Image(Inner {
                    url: "u",
                    detail: Some(Either::Number(0.2)),
                }),
            ],
            either: (Either::Word("w"), Either::Number(1e-3)),
            unit: (Unit, ()),
            odd: [f64::NAN, f64::INFINITY, -1.5],
            nothing: None,
            empty: (Vec::new(), Map::new()),
            user: "someone",
            metadata: json!({"user_id": "u-1", "tag": {"user_id": "kept"}, "list": [{"user_id": 1}]}),
            extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::fixture::request;
    use super::*;

    fn through_text<T: Serialize>(value: &T) -> Value {
        serde_json::from_slice(&serde_json::to_vec(value).expect("to_vec")).expect("from_slice")
    }

    #[test]
    fn the_value_is_the_one_its_text_parses_to() {
        #[derive(Serialize)]
        struct WithRaw {
            #[serde(flatten)]
            request: super::fixture::Request,
            raw: Box<serde_json::value::RawValue>,
        }
        let request = WithRaw {
            request: request(),
            raw: serde_json::value::RawValue::from_string(r#"{ "b": [1, 2.50] }"#.into())
                .expect("raw"),
        };
        let built = value_of(&request).expect("builds");
        let parsed = through_text(&request);
        assert_eq!(built, parsed);
        // Equal as values, and written alike: the same numbers, the same key order.
        assert_eq!(built.to_string(), parsed.to_string());
        assert_eq!(built["temperature"].to_string(), "0.7");
        assert_eq!(built["raw"].to_string(), r#"{"b":[1,2.5]}"#);
        for plain in [Value::Null, Value::from("x"), serde_json::json!([[], {}])] {
            assert_eq!(value_of(&plain).expect("builds"), plain);
        }
    }
}
