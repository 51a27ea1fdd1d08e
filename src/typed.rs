//! The whole session as one struct of the application's: [`Session::typed`],
//! [`Session::set_typed`] and the axum extractor [`TypedSession`].
//!
//! (On a mismatch, see [`TypedSession`].)

use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ValueError;
use crate::reserved;
use crate::session::Session;

impl Session {
    /// The session's values as one `T` (a struct whose fields are the
    /// session's keys); `Ok(None)` when the session holds no value of the
    /// application's.
    ///
    /// ```
    /// use client_session::testing;
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Default)]
    /// struct Visit { user: String, #[serde(default)] cart: Vec<String> }
    ///
    /// let session = testing::session();
    /// assert_eq!(session.typed::<Visit>()?, None);
    /// session.set_typed(&Visit { user: "alice".into(), cart: vec![] })?;
    /// assert_eq!(session.get::<String>("user").as_deref(), Some("alice"));
    /// assert_eq!(session.typed::<Visit>()?.unwrap().user, "alice");
    /// # Ok::<(), client_session::ValueError>(())
    /// ```
    ///
    /// # Errors
    /// [`ValueError::Shape`] when the values do not make a `T` (see [the
    /// module](crate::TypedSession) on what to do).
    pub fn typed<T: DeserializeOwned>(&self) -> Result<Option<T>, ValueError> {
        let shape = || ValueError::Shape {
            type_name: std::any::type_name::<T>(),
        };
        let mut object = serde_json::Map::new();
        for key in self.keys() {
            let value: serde_json::Value =
                self.try_get(&key).map_err(|_| shape())?.ok_or_else(shape)?;
            object.insert(key, value);
        }
        if object.is_empty() {
            return Ok(None);
        }
        serde_json::from_value(serde_json::Value::Object(object))
            .map(Some)
            .map_err(|_| shape())
    }

    /// Makes `value`'s fields the session's values: each field is a key;
    /// keys that are not fields are removed (the CSRF token and flash
    /// messages stay). Only keys whose JSON changed count as a change.
    ///
    /// # Errors
    /// [`ValueError::NotAnObject`] when `T` does not serialize to a JSON
    /// object; [`ValueError::Serialize`] when it does not serialize.
    pub fn set_typed<T: Serialize>(&self, value: &T) -> Result<(), ValueError> {
        let type_name = std::any::type_name::<T>();
        let json = serde_json::to_value(value).map_err(|_| ValueError::Serialize {
            key: String::new(),
            type_name,
        })?;
        let serde_json::Value::Object(fields) = json else {
            return Err(ValueError::NotAnObject { type_name });
        };
        if let Some(key) = fields.keys().find(|key| reserved::is_reserved(key)) {
            return Err(ValueError::ReservedKey { key: key.clone() });
        }
        for key in self.keys() {
            if !fields.contains_key(&key) {
                self.remove(&key);
            }
        }
        for (key, field) in &fields {
            self.insert(key, field)?;
        }
        Ok(())
    }
}

/// The axum extractor of a whole typed session (feature `axum`): reads
/// [`Session::typed`] once, with the outcome on mismatch described in
/// below, and writes through [`update`](Self::update) /
/// [`set`](Self::set).
///
/// ```
/// use client_session::TypedSession;
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Visit { #[serde(default)] count: u32 }
///
/// async fn count(mut visit: TypedSession<Visit>) -> String {
///     visit.update(|v| v.count += 1).expect("a u32 serializes");
///     format!("visit {}", visit.count)
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(count));
/// ```
///
/// # When the stored data no longer matches the type
/// A deploy that renames a field, changes its type or adds a field without
/// `#[serde(default)]` meets cookies sealed by the previous version. Then:
/// * [`Session::typed`] returns [`ValueError::Shape`] — the application
///   decides (migrate from [`Session::get`] of single keys, or start over);
/// * [`TypedSession`] never fails the request for it: the handler sees
///   `T::default()` (as for a visitor without a session),
///   [`TypedSession::mismatched`] is true, a `warn` log names the type
///   (never a value), and the first [`update`](TypedSession::update) or
///   [`set`](TypedSession::set) replaces the old values. Nothing else is
///   lost: the session keeps its id, lifetime and login time.
///
/// Add fields with `#[serde(default)]` and old cookies keep opening as the
/// new type; remove fields freely (unknown keys are ignored unless the type
/// says `#[serde(deny_unknown_fields)]`).
#[derive(Debug, Clone)]
pub struct TypedSession<T> {
    session: Session,
    value: T,
    mismatched: bool,
}

impl<T: DeserializeOwned + Serialize + Default> TypedSession<T> {
    /// Reads `session` as a `T` (the extractor's work, for code without axum).
    #[must_use]
    pub fn load(session: Session) -> Self {
        let (value, mismatched) = match session.typed::<T>() {
            Ok(value) => (value.unwrap_or_default(), false),
            Err(err) => {
                tracing::warn!(
                    %err,
                    "session values do not match the type; the handler sees its default \
                     and the next update replaces them"
                );
                (T::default(), true)
            }
        };
        TypedSession {
            session,
            value,
            mismatched,
        }
    }

    /// Changes the value with `change` and stores it in the session.
    ///
    /// # Errors
    /// As [`Session::set_typed`].
    pub fn update(&mut self, change: impl FnOnce(&mut T)) -> Result<(), ValueError> {
        change(&mut self.value);
        self.session.set_typed(&self.value)
    }

    /// Replaces the value and stores it in the session.
    ///
    /// # Errors
    /// As [`Session::set_typed`].
    pub fn set(&mut self, value: T) -> Result<(), ValueError> {
        self.value = value;
        self.session.set_typed(&self.value)
    }
}

impl<T> TypedSession<T> {
    /// Whether the stored values did not match `T` (the value is then `T::default()`).
    #[must_use]
    pub fn mismatched(&self) -> bool {
        self.mismatched
    }

    /// The untyped session (id, lifetime, regenerate, CSRF token, flash…).
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl<T> Deref for TypedSession<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

#[cfg(feature = "axum")]
impl<T, S> axum_core::extract::FromRequestParts<S> for TypedSession<T>
where
    T: DeserializeOwned + Serialize + Default + Send,
    S: Send + Sync,
{
    type Rejection = crate::MissingSessionLayer;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        use crate::RequestSessionExt as _;
        Ok(TypedSession::load(parts.session()?))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::testing;

    #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
    struct Visit {
        count: u32,
    }

    #[test]
    fn set_typed_makes_the_fields_the_only_values_and_keeps_the_crates_own() {
        let session = testing::session();
        session.insert("stale", "from an older type").unwrap();
        let token = session.csrf_token().unwrap();
        session.set_typed(&Visit { count: 2 }).unwrap();
        assert_eq!(session.keys(), ["count"]);
        assert!(session.verify_csrf_token(token.as_str()));
        assert_eq!(
            session.set_typed(&3u32),
            Err(ValueError::NotAnObject { type_name: "u32" })
        );
    }

    #[test]
    fn typed_session_set_and_update_store_the_value() {
        let session = testing::session();
        let mut typed = TypedSession::<Visit>::load(session.clone());
        assert!(!typed.mismatched() && typed.count == 0);
        typed.set(Visit { count: 5 }).unwrap();
        assert_eq!(session.get::<u32>("count"), Some(5));
        typed.update(|v| v.count += 1).unwrap();
        assert_eq!(session.typed::<Visit>().unwrap(), Some(Visit { count: 6 }));
        assert_eq!(typed.session().get::<u32>("count"), Some(6));
    }
}
