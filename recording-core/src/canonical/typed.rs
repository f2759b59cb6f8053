//! A typed request's canonical form (RFC 8785, as `identity` writes it) written straight
//! from the typed value by a serializer of its own, with no `Value` in between: what
//! lets a typed call that replays a recording skip building its body (benches/README.md,
//! issue 30).
//!
//! It writes what serde_json's serializer would (maps with integer keys, enums,
//! `flatten`, non-finite floats as `null`), in canonical form. Arrays are written in
//! place. An object's members are written one after another, then put in canonical
//! order when the object ends; a duplicate member, which `flatten` can make, keeps its
//! last value, as the `Value` does. The members that [`Fields`] names are left out, or
//! make the whole form `None`: the caller then keys the request the usual way, from
//! its `Value`. So does anything else this writer does not take (a `RawValue`, a key
//! that is not a string or a number, a body nested near the recorder's limit).

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::ser::{self, Serialize};
use serde_json::Number;
use serde_json::ser::{CompactFormatter, Formatter};

use super::{utf16_order, write_number, write_string};

/// Request fields, each named by its object members from the body's root (a JSON
/// Pointer without wildcards or array indices), that the canonical form handles itself.
/// And how deep a body may nest before the writer gives up: less than the recorder
/// accepts, so that a body it refuses is never keyed here.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    /// Left out of the form, as a volatile field is left out of a key.
    pub(crate) dropped: Vec<Vec<&'a str>>,
    /// Present, the form is `None`: a redacted field, which changes what is keyed.
    pub(crate) refused: Vec<Vec<&'a str>>,
    /// The most arrays and objects a value may sit in.
    pub(crate) max_depth: usize,
}

/// Calls `with` on the canonical form of `body`, its [`Fields`] dropped; `None` when
/// it cannot be written here and the `Value` must be built. The buffers are the
/// thread's own, reused from call to call: a replay allocates nothing here.
pub(crate) fn with_canonical<T: Serialize + ?Sized, R>(
    body: &T,
    fields: &Fields<'_>,
    with: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    thread_local! {
        static BUFFERS: RefCell<Buffers> = RefCell::default();
    }
    BUFFERS.with(|buffers| {
        // Taken, not borrowed: a `Serialize` that keys another request while it is
        // serialized gets buffers of its own.
        let mut taken = buffers.take();
        let result = taken.write(body, fields).map(with);
        // A request's worth of buffers is kept; those a huge one grew are let go.
        if taken.out.capacity() <= KEPT_BYTES {
            taken.clear();
            buffers.replace(taken);
        }
        result
    })
}

/// The most the buffers a thread keeps between calls may have grown to.
const KEPT_BYTES: usize = 256 * 1024;

/// The writer's buffers, kept between calls.
#[derive(Default)]
struct Buffers {
    /// The form.
    out: Vec<u8>,
    /// The open arrays and objects, outermost first.
    frames: Vec<Frame>,
    /// The members of the open objects, outermost first.
    members: Vec<Member>,
    /// Their names, one after another.
    names: String,
    /// An object's members while they are put in order.
    scratch: Vec<u8>,
}

impl Buffers {
    fn write<T: Serialize + ?Sized>(&mut self, body: &T, fields: &Fields<'_>) -> Option<&[u8]> {
        let mut writer = Writer {
            b: std::mem::take(self),
            key_start: None,
            fields,
        };
        let written = body.serialize(&mut writer).is_ok() && writer.b.frames.is_empty();
        *self = writer.b;
        written.then_some(&self.out[..])
    }

    fn clear(&mut self) {
        self.out.clear();
        self.frames.clear();
        self.members.clear();
        self.names.clear();
        self.scratch.clear();
    }
}

/// Why the writer stopped: the caller builds the `Value` instead, which says what is
/// wrong if anything is.
#[derive(Debug)]
pub(crate) struct GaveUp;

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not written as a canonical form here")
    }
}

impl std::error::Error for GaveUp {}

impl ser::Error for GaveUp {
    fn custom<T: fmt::Display>(_: T) -> GaveUp {
        GaveUp
    }
}

struct Writer<'f> {
    b: Buffers,
    /// Where the map key being written starts in `names`.
    key_start: Option<usize>,
    fields: &'f Fields<'f>,
}

struct Frame {
    is_object: bool,
    /// Where its contents start in `out` (after its `{` or `[`).
    start: usize,
    /// Where its members start in `members` and their names in `names`.
    members_start: usize,
    names_start: usize,
}

struct Member {
    name: Range<usize>,
    value: Range<usize>,
}

impl<'f> Writer<'f> {
    fn open(&mut self, is_object: bool) -> Result<(), GaveUp> {
        if self.b.frames.len() >= self.fields.max_depth {
            return Err(GaveUp);
        }
        self.b.out.push(if is_object { b'{' } else { b'[' });
        self.b.frames.push(Frame {
            is_object,
            start: self.b.out.len(),
            members_start: self.b.members.len(),
            names_start: self.b.names.len(),
        });
        Ok(())
    }

    /// Before an array's element: the comma after the one before.
    fn element(&mut self) {
        if self
            .b
            .frames
            .last()
            .is_some_and(|frame| self.b.out.len() > frame.start)
        {
            self.b.out.push(b',');
        }
    }

    fn close_array(&mut self) -> Result<(), GaveUp> {
        match self.b.frames.pop() {
            Some(frame) if !frame.is_object => {
                self.b.out.push(b']');
                Ok(())
            }
            _ => Err(GaveUp),
        }
    }

    /// One member of the innermost object: its name, then its value.
    fn member<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), GaveUp> {
        let start = self.b.names.len();
        self.b.names.push_str(name);
        self.member_named(start, value)
    }

    /// A member whose name was just written to `names` from `start`.
    fn member_named<T: Serialize + ?Sized>(
        &mut self,
        start: usize,
        value: &T,
    ) -> Result<(), GaveUp> {
        if !self.b.frames.last().is_some_and(|frame| frame.is_object) {
            return Err(GaveUp);
        }
        let at = self.b.out.len();
        self.b.members.push(Member {
            name: start..self.b.names.len(),
            value: at..at,
        });
        let index = self.b.members.len() - 1;
        value.serialize(&mut *self)?;
        self.b.members[index].value.end = self.b.out.len();
        Ok(())
    }

    /// Whether member `name` of the object just closed (popped off `frames`, its
    /// members from `members_start`) is at one of `paths`: the names from the root down
    /// to it, through objects only.
    fn is_at(&self, paths: &[Vec<&str>], name: &str, members_start: usize) -> bool {
        paths.iter().any(|path| {
            let Some((last, parents)) = path.split_last() else {
                return false;
            };
            parents.len() == self.b.frames.len()
                && *last == name
                && self
                    .b
                    .frames
                    .iter()
                    .enumerate()
                    .zip(parents)
                    .all(|((i, frame), parent)| {
                        // A parent's member being written is the last one before its child's.
                        let child_start = self
                            .b
                            .frames
                            .get(i + 1)
                            .map_or(members_start, |child| child.members_start);
                        frame.is_object
                            && child_start > frame.members_start
                            && self.b.names[self.b.members[child_start - 1].name.clone()]
                                == **parent
                    })
        })
    }

    /// Closes the innermost object: its members in canonical order, each name once
    /// (its last value), the dropped fields left out.
    fn close_object(&mut self) -> Result<(), GaveUp> {
        let Some(frame) = self.b.frames.pop().filter(|frame| frame.is_object) else {
            return Err(GaveUp);
        };
        let names = &self.b.names;
        // Stable, so that of two members with one name the later comes second.
        self.b.members[frame.members_start..]
            .sort_by(|a, b| utf16_order(&names[a.name.clone()], &names[b.name.clone()]));
        self.b.scratch.clear();
        self.b.scratch.extend_from_slice(&self.b.out[frame.start..]);
        self.b.out.truncate(frame.start);
        let members = &self.b.members[frame.members_start..];
        let mut first = true;
        for (i, member) in members.iter().enumerate() {
            let name = &self.b.names[member.name.clone()];
            let later = members.get(i + 1);
            if later.is_some_and(|later| self.b.names[later.name.clone()] == *name) {
                continue;
            }
            if self.is_at(&self.fields.refused, name, frame.members_start) {
                return Err(GaveUp);
            }
            if self.is_at(&self.fields.dropped, name, frame.members_start) {
                continue;
            }
            if !first {
                self.b.out.push(b',');
            }
            first = false;
            write_string(name, &mut self.b.out);
            self.b.out.push(b':');
            let value = member.value.start - frame.start..member.value.end - frame.start;
            self.b.out.extend_from_slice(&self.b.scratch[value]);
        }
        self.b.out.push(b'}');
        self.b.members.truncate(frame.members_start);
        self.b.names.truncate(frame.names_start);
        Ok(())
    }

    fn number(&mut self, number: Option<Number>) {
        match number {
            Some(number) => write_number(&number, &mut self.b.out),
            None => self.b.out.extend_from_slice(b"null"),
        }
    }
}

/// An `f32` as the number its shortest text reads back as (issue 12), as `body_of`
/// keys it; and that text.
fn f32_number(value: f32) -> (Option<Number>, String) {
    let mut text = Vec::with_capacity(16);
    // Writing to a `Vec` cannot fail, and the text is ASCII.
    let _ = CompactFormatter.write_f32(&mut text, value);
    let text = String::from_utf8(text).unwrap_or_default();
    let number = text.parse().ok().and_then(Number::from_f64);
    (number, text)
}

macro_rules! integers {
    ($($method:ident: $ty:ty => $wide:ty),*) => {$(
        fn $method(self, value: $ty) -> Result<(), GaveUp> {
            self.number(Some(Number::from(<$wide>::from(value))));
            Ok(())
        }
    )*};
}

impl<'a, 'f> ser::Serializer for &'a mut Writer<'f> {
    type Ok = ();
    type Error = GaveUp;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, value: bool) -> Result<(), GaveUp> {
        self.b
            .out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    integers!(
        serialize_i8: i8 => i64, serialize_i16: i16 => i64, serialize_i32: i32 => i64,
        serialize_i64: i64 => i64, serialize_u8: u8 => u64, serialize_u16: u16 => u64,
        serialize_u32: u32 => u64, serialize_u64: u64 => u64
    );

    fn serialize_i128(self, value: i128) -> Result<(), GaveUp> {
        // Past 64 bits, its text reads back as the nearest double.
        self.number(match i64::try_from(value) {
            Ok(small) => Some(Number::from(small)),
            Err(_) => Number::from_f64(value as f64),
        });
        Ok(())
    }

    fn serialize_u128(self, value: u128) -> Result<(), GaveUp> {
        self.number(match u64::try_from(value) {
            Ok(small) => Some(Number::from(small)),
            Err(_) => Number::from_f64(value as f64),
        });
        Ok(())
    }

    fn serialize_f32(self, value: f32) -> Result<(), GaveUp> {
        self.number(f32_number(value).0);
        Ok(())
    }

    fn serialize_f64(self, value: f64) -> Result<(), GaveUp> {
        // Not finite: `null`, as serde_json writes it.
        self.number(Number::from_f64(value));
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result<(), GaveUp> {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<(), GaveUp> {
        write_string(value, &mut self.b.out);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), GaveUp> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            seq.serialize_element(byte)?;
        }
        SerializeSeq::end(seq)
    }

    fn serialize_none(self) -> Result<(), GaveUp> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), GaveUp> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), GaveUp> {
        self.b.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), GaveUp> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), GaveUp> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), GaveUp> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), GaveUp> {
        self.open(true)?;
        self.member(variant, value)?;
        self.close_object()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, GaveUp> {
        self.open(false)?;
        Ok(self)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self, GaveUp> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self, GaveUp> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, GaveUp> {
        // `{"variant": [...]}`: the array is the object's member, both closed at `end`.
        self.open(true)?;
        let start = self.b.names.len();
        self.b.names.push_str(variant);
        let at = self.b.out.len();
        self.b.members.push(Member {
            name: start..self.b.names.len(),
            value: at..at,
        });
        self.open(false)?;
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, GaveUp> {
        self.open(true)?;
        Ok(self)
    }

    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self, GaveUp> {
        // serde_json's own tokens (a `RawValue`, an arbitrary-precision number) stand
        // for text that only its parser reads.
        if name.starts_with("$serde_json::private::") {
            return Err(GaveUp);
        }
        self.open(true)?;
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, GaveUp> {
        self.open(true)?;
        let start = self.b.names.len();
        self.b.names.push_str(variant);
        let at = self.b.out.len();
        self.b.members.push(Member {
            name: start..self.b.names.len(),
            value: at..at,
        });
        self.open(true)?;
        Ok(self)
    }
}

impl ser::SerializeSeq for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GaveUp> {
        self.element();
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_array()
    }
}

impl ser::SerializeTuple for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GaveUp> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_array()
    }
}

impl ser::SerializeTupleStruct for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GaveUp> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_array()
    }
}

impl ser::SerializeTupleVariant for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GaveUp> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_array()?;
        self.end_variant()
    }
}

impl ser::SerializeMap for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), GaveUp> {
        // The name goes to `names`; `serialize_value` makes it a member.
        self.key_start = Some(self.b.names.len());
        key.serialize(Key(&mut self.b.names))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GaveUp> {
        let start = self.key_start.take().ok_or(GaveUp)?;
        self.member_named(start, value)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_object()
    }
}

impl ser::SerializeStruct for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), GaveUp> {
        self.member(name, value)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_object()
    }
}

impl ser::SerializeStructVariant for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), GaveUp> {
        self.member(name, value)
    }

    fn end(self) -> Result<(), GaveUp> {
        self.close_object()?;
        self.end_variant()
    }
}

impl Writer<'_> {
    /// Closes the object around a tuple or struct variant, its one member just written.
    fn end_variant(&mut self) -> Result<(), GaveUp> {
        let end = self.b.out.len();
        match self.b.members.last_mut() {
            Some(member) => member.value.end = end,
            None => return Err(GaveUp),
        }
        self.close_object()
    }
}

/// An object key, written to the names as serde_json's map keys are: strings as they
/// are, integers, booleans and finite floats as their text, a unit variant as its name.
struct Key<'a>(&'a mut String);

impl Key<'_> {
    fn text(self, text: impl fmt::Display) -> Result<(), GaveUp> {
        use std::fmt::Write;
        write!(self.0, "{text}").map_err(|_| GaveUp)
    }
}

macro_rules! key_as_text {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, value: $ty) -> Result<(), GaveUp> {
            self.text(value)
        }
    )*};
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = GaveUp;
    type SerializeSeq = ser::Impossible<(), GaveUp>;
    type SerializeTuple = ser::Impossible<(), GaveUp>;
    type SerializeTupleStruct = ser::Impossible<(), GaveUp>;
    type SerializeTupleVariant = ser::Impossible<(), GaveUp>;
    type SerializeMap = ser::Impossible<(), GaveUp>;
    type SerializeStruct = ser::Impossible<(), GaveUp>;
    type SerializeStructVariant = ser::Impossible<(), GaveUp>;

    key_as_text!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_char: char
    );

    fn serialize_f32(self, value: f32) -> Result<(), GaveUp> {
        if !value.is_finite() {
            return Err(GaveUp);
        }
        let text = f32_number(value).1;
        self.text(text)
    }

    fn serialize_f64(self, value: f64) -> Result<(), GaveUp> {
        if !value.is_finite() {
            return Err(GaveUp);
        }
        let mut text = Vec::with_capacity(24);
        let _ = CompactFormatter.write_f64(&mut text, value);
        self.text(String::from_utf8_lossy(&text))
    }

    fn serialize_str(self, value: &str) -> Result<(), GaveUp> {
        self.0.push_str(value);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), GaveUp> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), GaveUp> {
        value.serialize(self)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), GaveUp> {
        Err(GaveUp)
    }

    fn serialize_none(self) -> Result<(), GaveUp> {
        Err(GaveUp)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), GaveUp> {
        Err(GaveUp)
    }

    fn serialize_unit(self) -> Result<(), GaveUp> {
        Err(GaveUp)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), GaveUp> {
        Err(GaveUp)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), GaveUp> {
        Err(GaveUp)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, GaveUp> {
        Err(GaveUp)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, GaveUp> {
        Err(GaveUp)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, GaveUp> {
        Err(GaveUp)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, GaveUp> {
        Err(GaveUp)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, GaveUp> {
        Err(GaveUp)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, GaveUp> {
        Err(GaveUp)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, GaveUp> {
        Err(GaveUp)
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::{Value, json};

    use super::*;
    use crate::api::typed_body::fixture::request;
    use crate::api::typed_body::value_of;
    use crate::identity::canonical_json;
    use crate::store::format::MAX_BODY_DEPTH;

    /// What the `Value` path gives: the body built, `dropped` removed, canonicalized.
    fn through_value<T: Serialize>(body: &T, dropped: &[&str]) -> String {
        let mut value = value_of(body).expect("builds");
        for pointer in dropped {
            crate::pointer::Pointer::parse(pointer)
                .expect("pointer")
                .remove(&mut value);
        }
        canonical_json(&value)
    }

    fn plain() -> Fields<'static> {
        Fields {
            dropped: Vec::new(),
            refused: Vec::new(),
            max_depth: MAX_BODY_DEPTH - 2,
        }
    }

    fn written<T: Serialize>(body: &T, fields: &Fields<'_>) -> Option<String> {
        with_canonical(body, fields, |bytes| {
            String::from_utf8(bytes.to_vec()).expect("UTF-8")
        })
    }

    #[test]
    fn the_form_is_the_one_its_value_canonicalizes_to() {
        let request = request();
        assert_eq!(
            written(&request, &plain()).as_deref(),
            Some(through_value(&request, &[]).as_str())
        );
        for value in [
            Value::Null,
            json!("x\u{0}"),
            json!(-0.0),
            json!([[], {}, [{}]]),
        ] {
            assert_eq!(written(&value, &plain()), Some(canonical_json(&value)));
        }
    }

    #[test]
    fn dropped_fields_are_left_out_where_the_pointer_leads_only() {
        let request = request();
        let fields = Fields {
            dropped: vec![vec!["user"], vec!["metadata", "user_id"], vec!["absent"]],
            refused: vec![vec!["api_key"]],
            ..plain()
        };
        let form = written(&request, &fields).expect("written");
        assert_eq!(
            form,
            through_value(&request, &["/user", "/metadata/user_id", "/absent"])
        );
        assert!(!form.contains("someone") && !form.contains("u-1"));
        // The same name elsewhere (deeper, inside an array) stays.
        assert!(form.contains(r#""tag":{"user_id":"kept"}"#), "{form}");
        assert!(form.contains(r#""list":[{"user_id":1}]"#), "{form}");
    }

    #[test]
    fn a_refused_field_or_what_only_a_value_can_say_gives_none() {
        let request = request();
        let refused = Fields {
            refused: vec![vec!["metadata", "tag"]],
            ..plain()
        };
        assert_eq!(written(&request, &refused), None);
        let raw = serde_json::value::RawValue::from_string("[1]".into()).expect("raw");
        assert_eq!(
            written(&json!({"a": 1}), &refused).as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(written(&raw, &plain()), None);
        let mut deep = json!(1);
        for _ in 0..MAX_BODY_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(written(&deep, &plain()), None);
    }
}
