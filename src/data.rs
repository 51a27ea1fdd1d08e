//! The session body: a JSON object whose values stay unparsed until read.
//!
//! Opening a cookie checks that the body is a well-formed JSON object but
//! keeps each value as raw JSON text; a value is deserialized only when a
//! handler asks for it, with the type the handler asks for. Sealing writes
//! the raw texts back as they are, so a request that changes one value does
//! not re-serialize the others.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ValueError;

/// The contents of a session: a JSON object, keys in sorted order.
#[derive(Clone, Default)]
pub struct SessionData {
    entries: BTreeMap<String, Box<RawValue>>,
}

impl SessionData {
    /// An empty session.
    #[must_use]
    pub fn new() -> SessionData {
        SessionData::default()
    }

    /// Parses a JSON object. Each value is checked but kept as raw text.
    pub(crate) fn from_json(body: &[u8]) -> Result<SessionData, serde_json::Error> {
        Ok(SessionData {
            entries: serde_json::from_slice(body)?,
        })
    }

    /// Writes the object as compact JSON into `out`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
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
            .map(|(k, v)| k.len() + v.get().len() + 4)
            .sum::<usize>()
    }

    /// The value at `key` deserialized as `T`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`ValueError::Deserialize`] when the stored JSON is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ValueError> {
        self.entries
            .get(key)
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(|_| ValueError::Deserialize {
                key: key.to_owned(),
                type_name: std::any::type_name::<T>(),
            })
    }

    /// The raw JSON text stored at `key`.
    #[must_use]
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|raw| raw.get())
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
        if let Some(old) = self.entries.get(key)
            && same_json(old.get(), raw.get())
        {
            return Ok(false);
        }
        self.entries.insert(key.to_owned(), raw);
        Ok(true)
    }

    /// Removes the value at `key`. Returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        self.entries.remove(key).is_some()
    }

    /// Removes every value. Returns whether there was any.
    pub fn clear(&mut self) -> bool {
        let had_any = !self.entries.is_empty();
        self.entries.clear();
        had_any
    }

    /// Whether `key` holds a value.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
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
            .map(|(k, v)| {
                let value = serde_json::from_str(v.get()).map_err(|_| ValueError::Deserialize {
                    key: k.clone(),
                    type_name: std::any::type_name::<serde_json::Value>(),
                })?;
                Ok((k.clone(), value))
            })
            .collect()
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
        let entries = map
            .into_iter()
            .map(|(k, v)| {
                let raw = serde_json::value::to_raw_value(&v).expect("a Value always serializes");
                (k, raw)
            })
            .collect();
        SessionData { entries }
    }
}

impl PartialEq for SessionData {
    /// Equal as JSON objects.
    fn eq(&self, other: &SessionData) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((ka, va), (kb, vb))| ka == kb && same_json(va.get(), vb.get()))
    }
}

impl fmt::Debug for SessionData {
    /// Shows the keys only: session values are often personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
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
            r#"session value "n" is not a alloc::string::String"#
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
            r#"session value "deep" is not a serde_json::value::Value"#
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
        assert!(SessionData::from_json(b"[1]").is_err());
        assert!(SessionData::from_json(b"{} x").is_err());
        assert!(SessionData::from_json(b"{}").unwrap().is_empty());
    }
}
