//! The session body: a JSON object whose values stay unparsed until read.
//!
//! Opening a cookie checks that the body is a well-formed JSON object but
//! keeps each value as raw JSON text; a value is deserialized only when a
//! handler asks for it, with the type the handler asks for. Sealing writes
//! the raw texts back as they are, so a request that changes one value does
//! not re-serialize the others.

use std::fmt;

use serde::de::{DeserializeOwned, Deserializer as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::ValueError;

/// The contents of a session: a JSON object, keys in sorted order.
///
/// An opened session keeps the decrypted JSON text as one buffer and points
/// into it; only values inserted since are separate allocations. (One
/// allocation per request instead of two per key: allocation was the largest
/// cost of the layer in the profile: CHANGELOG.md, 0.1 performance history.)
#[derive(Clone, Default)]
pub struct SessionData {
    /// The JSON text the session was opened from.
    source: String,
    /// Sorted by key, no duplicates.
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    key: Text,
    value: Value,
}

/// A key: a range of `source` (the common case), or its own string when it
/// was escaped in the source or inserted since.
#[derive(Clone)]
enum Text {
    Source(usize, usize),
    Owned(Box<str>),
}

/// A value as raw JSON text: a range of `source`, or inserted since.
#[derive(Clone)]
enum Value {
    Source(usize, usize),
    Owned(Box<RawValue>),
}

impl SessionData {
    /// An empty session.
    #[must_use]
    pub fn new() -> SessionData {
        SessionData::default()
    }

    /// Parses a JSON object. Each value is checked but kept as raw text.
    #[cfg(test)]
    pub(crate) fn from_json(body: &[u8]) -> Option<SessionData> {
        SessionData::from_json_vec(body.to_vec())
    }

    /// Parses a JSON object, keeping `body` as the session's buffer.
    /// `None` when it is not UTF-8, not JSON, or not an object.
    pub(crate) fn from_json_vec(body: Vec<u8>) -> Option<SessionData> {
        let source = String::from_utf8(body).ok()?;
        let mut entries = {
            let mut parser = serde_json::Deserializer::from_str(&source);
            let entries = parser
                .deserialize_map(ObjectVisitor { source: &source })
                .ok()?;
            parser.end().ok()?;
            entries
        };
        // The visitor returns entries in reverse source order, so that after
        // this stable sort the last of duplicate keys comes first and stays.
        let mut data = SessionData {
            source,
            entries: Vec::new(),
        };
        entries.sort_by(|a, b| data.key(a).cmp(data.key(b)));
        entries.dedup_by(|later, earlier| data.key(later) == data.key(earlier));
        data.entries = entries;
        Some(data)
    }

    fn key<'a>(&'a self, entry: &'a Entry) -> &'a str {
        match &entry.key {
            Text::Source(start, end) => &self.source[*start..*end],
            Text::Owned(key) => key,
        }
    }

    fn value<'a>(&'a self, entry: &'a Entry) -> &'a str {
        match &entry.value {
            Value::Source(start, end) => &self.source[*start..*end],
            Value::Owned(raw) => raw.get(),
        }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| self.key(e).cmp(key))
    }

    /// Writes the object as compact JSON into `out`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, self.key(entry))
                .expect("writing to a Vec cannot fail");
            out.push(b':');
            out.extend_from_slice(self.value(entry).as_bytes());
        }
        out.push(b'}');
    }

    /// The object as compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.json_len_hint());
        self.write_json(&mut out);
        String::from_utf8(out).expect("JSON written from strings is UTF-8")
    }

    pub(crate) fn json_len_hint(&self) -> usize {
        2 + self
            .entries
            .iter()
            .map(|e| self.key(e).len() + self.value(e).len() + 4)
            .sum::<usize>()
    }

    /// The value at `key` deserialized as `T`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`ValueError::Deserialize`] when the stored JSON is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ValueError> {
        self.get_raw(key)
            .map(serde_json::from_str)
            .transpose()
            .map_err(|_| ValueError::Deserialize {
                key: key.to_owned(),
                type_name: std::any::type_name::<T>(),
            })
    }

    /// The raw JSON text stored at `key`.
    #[must_use]
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        let i = self.find(key).ok()?;
        Some(self.value(&self.entries[i]))
    }

    /// Stores `value` at `key`. Returns whether the session changed: storing a
    /// value equal (as JSON) to the one already there changes nothing.
    ///
    /// # Errors
    /// [`ValueError::Serialize`] when `value` cannot be represented as JSON.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<bool, ValueError> {
        let raw = serde_json::value::to_raw_value(value).map_err(|_| ValueError::Serialize {
            key: key.to_owned(),
            type_name: std::any::type_name::<T>(),
        })?;
        match self.find(key) {
            Ok(i) => {
                if same_json(self.value(&self.entries[i]), raw.get()) {
                    return Ok(false);
                }
                self.entries[i].value = Value::Owned(raw);
            }
            Err(i) => self.entries.insert(
                i,
                Entry {
                    key: Text::Owned(key.into()),
                    value: Value::Owned(raw),
                },
            ),
        }
        Ok(true)
    }

    /// Removes the value at `key`. Returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.find(key) {
            Ok(i) => {
                self.entries.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes every value. Returns whether there was any.
    pub fn clear(&mut self) -> bool {
        let had_any = !self.entries.is_empty();
        self.entries.clear();
        self.source.clear();
        had_any
    }

    /// Whether `key` holds a value.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| self.key(e))
    }

    /// How many values the session holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the session holds no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The whole object as a `serde_json` map (parses every value).
    ///
    /// # Errors
    /// [`ValueError::Deserialize`] naming the first key whose value
    /// `serde_json::Value` cannot hold: nested deeper than serde_json's
    /// recursion limit (128). Such values are valid JSON and stay readable
    /// as raw text ([`get_raw`](Self::get_raw)).
    pub fn to_json_map(&self) -> Result<serde_json::Map<String, serde_json::Value>, ValueError> {
        self.entries
            .iter()
            .map(|e| {
                let key = self.key(e);
                let value =
                    serde_json::from_str(self.value(e)).map_err(|_| ValueError::Deserialize {
                        key: key.to_owned(),
                        type_name: std::any::type_name::<serde_json::Value>(),
                    })?;
                Ok((key.to_owned(), value))
            })
            .collect()
    }
}

/// A key as serde_json hands it over: borrowed from the source unless it
/// contained escapes.
enum KeyText<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<KeyText<'de>, E> {
                Ok(KeyText::Borrowed(key))
            }
            fn visit_str<E>(self, key: &str) -> Result<KeyText<'de>, E> {
                Ok(KeyText::Owned(key.to_owned()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The top-level object, as entries pointing into `source`, in reverse
/// source order (built in place: one allocation for the whole object).
struct ObjectVisitor<'s> {
    source: &'s str,
}

impl ObjectVisitor<'_> {
    /// Where `text`, a slice of `source`, lies in it.
    fn range(&self, text: &str) -> (usize, usize) {
        let start = text.as_ptr() as usize - self.source.as_ptr() as usize;
        (start, start + text.len())
    }
}

impl<'de> Visitor<'de> for ObjectVisitor<'de> {
    type Value = Vec<Entry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(key) = map.next_key::<KeyText<'de>>()? {
            let key = match key {
                KeyText::Borrowed(key) => {
                    let (start, end) = self.range(key);
                    Text::Source(start, end)
                }
                KeyText::Owned(key) => Text::Owned(key.into_boxed_str()),
            };
            let (start, end) = self.range(map.next_value::<&'de RawValue>()?.get());
            entries.push(Entry {
                key,
                value: Value::Source(start, end),
            });
        }
        entries.reverse();
        Ok(entries)
    }
}

/// Two JSON texts denote the same value. Identical text is the common case;
/// otherwise (different spacing or key order from another writer) compare parsed.
fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (
                serde_json::from_str::<serde_json::Value>(a),
                serde_json::from_str::<serde_json::Value>(b),
            ),
            (Ok(x), Ok(y)) if x == y
        )
}

impl From<serde_json::Map<String, serde_json::Value>> for SessionData {
    fn from(map: serde_json::Map<String, serde_json::Value>) -> SessionData {
        let mut data = SessionData::new();
        for (key, value) in map {
            data.insert(&key, &value)
                .expect("a serde_json::Value always serializes");
        }
        data
    }
}

impl PartialEq for SessionData {
    /// Equal as JSON objects.
    fn eq(&self, other: &SessionData) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().zip(&other.entries).all(|(a, b)| {
                self.key(a) == other.key(b) && same_json(self.value(a), other.value(b))
            })
    }
}

impl fmt::Debug for SessionData {
    /// Shows the keys only: session values are often personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserting_an_equal_value_is_not_a_change() {
        let mut data = SessionData::new();
        assert!(data.insert("cart", &vec!["a", "b"]).unwrap());
        assert!(!data.insert("cart", &vec!["a", "b"]).unwrap());
        assert!(data.insert("cart", &vec!["a"]).unwrap());
    }

    #[test]
    fn equal_json_written_differently_is_not_a_change() {
        let mut data = SessionData::from_json(br#"{"p": {"b": 1, "a": [1, 2]}}"#).unwrap();
        let same = serde_json::json!({"a": [1, 2], "b": 1});
        assert!(!data.insert("p", &same).unwrap());
    }

    #[test]
    fn written_json_is_compact_sorted_and_escaped() {
        let mut data = SessionData::new();
        data.insert("z", &1).unwrap();
        data.insert("a\"b", &"ユ").unwrap();
        assert_eq!(data.to_json(), r#"{"a\"b":"ユ","z":1}"#);
        assert_eq!(
            SessionData::from_json(data.to_json().as_bytes()).unwrap(),
            data
        );
    }

    #[test]
    fn typed_get_reports_type_mismatch() {
        let mut data = SessionData::new();
        data.insert("n", &42).unwrap();
        assert_eq!(data.get::<u32>("n").unwrap(), Some(42));
        assert_eq!(data.get::<u32>("missing").unwrap(), None);
        let err = data.get::<String>("n").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"session value "n" cannot be read as String"#
        );
    }

    #[test]
    fn values_too_deep_for_serde_json_value_stay_readable_as_raw_json() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let data = SessionData::from_json(format!(r#"{{"deep":{deep}}}"#).as_bytes()).unwrap();
        assert_eq!(data.get_raw("deep"), Some(deep.as_str()));
        let err = data.to_json_map().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"session value "deep" cannot be read as Value"#
        );
        assert!(data.get::<serde_json::Value>("deep").is_err());
    }

    #[test]
    fn debug_hides_values() {
        let mut data = SessionData::new();
        data.insert("email", &"alice@example.com").unwrap();
        let shown = format!("{data:?}");
        assert!(!shown.contains("alice"), "{shown}");
        assert!(shown.contains("email"), "{shown}");
    }

    #[test]
    fn only_objects_parse() {
        assert!(SessionData::from_json(b"[1]").is_none());
        assert!(SessionData::from_json(b"{} x").is_none());
        assert!(SessionData::from_json(b"{\"a\":1 x}").is_none());
        assert!(SessionData::from_json(b"\xff").is_none());
        assert!(SessionData::from_json(b"{}").unwrap().is_empty());
    }

    #[test]
    fn escaped_keys_duplicates_and_order_are_handled() {
        let data = SessionData::from_json(br#"{"z":1,"a\u0062":2,"z":3,"m":{"x":[1,2]}}"#).unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["ab", "m", "z"]);
        assert_eq!(
            data.get::<u32>("z").unwrap(),
            Some(3),
            "the last duplicate wins"
        );
        assert_eq!(data.get_raw("m"), Some(r#"{"x":[1,2]}"#));
        assert_eq!(data.to_json(), r#"{"ab":2,"m":{"x":[1,2]},"z":3}"#);
    }

    #[test]
    fn edits_after_opening_keep_sorted_order() {
        let mut data = SessionData::from_json(br#"{"b":1,"d":2}"#).unwrap();
        data.insert("c", &3).unwrap();
        data.insert("a", &0).unwrap();
        assert!(data.remove("d"));
        assert!(!data.remove("d"));
        data.insert("b", &10).unwrap();
        assert_eq!(data.to_json(), r#"{"a":0,"b":10,"c":3}"#);
        assert!(data.contains_key("c") && !data.contains_key("d"));
    }
}

/// What the format spec (opening step 9) says of JSON an independent
/// implementation must accept or refuse, pinned here.
#[cfg(test)]
mod spec_json_test {
    use super::*;

    #[test]
    fn the_json_rules_of_the_spec() {
        let rows: [(&str, &[u8], bool); 12] = [
            ("surrounding whitespace", b" \n{\"a\":1}\t ", true),
            ("number beyond f64 kept as text", b"{\"a\":1e400}", true),
            ("deep nesting (200)", &[], true),
            ("lone surrogate escape", b"{\"a\":\"\\ud800\"}", true),
            ("NaN", b"{\"a\":NaN}", false),
            ("byte order mark", b"\xef\xbb\xbf{}", false),
            ("trailing comma", b"{\"a\":1,}", false),
            ("single quotes", b"{'a':1}", false),
            (
                "raw control character in a string",
                b"{\"a\":\"\x01\"}",
                false,
            ),
            ("empty", b"", false),
            ("top-level string", b"\"{}\"", false),
            ("two objects", b"{}{}", false),
        ];
        for (name, body, accepted) in rows {
            let body = if body.is_empty() && accepted {
                format!(r#"{{"a":{}1{}}}"#, "[".repeat(200), "]".repeat(200)).into_bytes()
            } else {
                body.to_vec()
            };
            assert_eq!(SessionData::from_json(&body).is_some(), accepted, "{name}");
        }
    }
}
