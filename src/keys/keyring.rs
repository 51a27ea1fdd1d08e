//! The key ring: the primary key seals, every key opens.

use std::fmt;
use std::sync::Arc;

use super::key::{Key, KeyId};
use crate::error::ConfigError;

/// An ordered, non-empty list of [`Key`]s shared by every instance of an application.
///
/// The first key is the *primary*: it seals every cookie. All keys open
/// cookies, so a key can be rotated without logging anyone out (see the
/// the rotation procedure in DEPLOYING.md). Cloning is cheap (the keys are shared).
#[derive(Clone, PartialEq, Eq)]
pub struct Keyring {
    keys: Arc<[Key]>,
}

impl Keyring {
    /// Builds a key ring from keys in order, primary first.
    ///
    /// # Errors
    /// [`ConfigError::NoKeys`] for an empty list, [`ConfigError::DuplicateKey`]
    /// when two keys share a key id.
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Result<Keyring, ConfigError> {
        Self::from_keys("the key ring", keys.into_iter().collect())
    }

    pub(crate) fn from_keys(source: &str, keys: Vec<Key>) -> Result<Keyring, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::NoKeys {
                source: source.to_owned(),
            });
        }
        for (second, key) in keys.iter().enumerate() {
            if let Some(first) = keys[..second].iter().position(|k| k.id() == key.id()) {
                return Err(ConfigError::DuplicateKey {
                    source: source.to_owned(),
                    first: first + 1,
                    second: second + 1,
                });
            }
        }
        Ok(Keyring { keys: keys.into() })
    }

    /// A key ring of one key.
    #[must_use]
    pub fn single(key: Key) -> Keyring {
        Keyring {
            keys: Arc::new([key]),
        }
    }

    /// The key that seals.
    #[must_use]
    pub fn primary(&self) -> &Key {
        &self.keys[0]
    }

    /// All keys, primary first.
    #[must_use]
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The key with this id and its position in the ring (0 is the primary).
    ///
    /// Key ids are public and the ring is short, so a plain scan is fine.
    pub(crate) fn find(&self, id: KeyId) -> Option<(usize, &Key)> {
        self.keys.iter().enumerate().find(|(_, key)| key.id() == id)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.keys.iter().map(Key::id).collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_twice_is_refused_with_positions() {
        let err = Keyring::new([
            Key::from_bytes(&[1; 32]).unwrap(),
            Key::from_bytes(&[2; 32]).unwrap(),
            Key::from_bytes(&[1; 32]).unwrap(),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::DuplicateKey {
                source: "the key ring".into(),
                first: 1,
                second: 3
            }
        );
    }

    #[test]
    fn an_empty_ring_is_refused() {
        assert!(matches!(
            Keyring::new([]).unwrap_err(),
            ConfigError::NoKeys { .. }
        ));
    }

    #[test]
    fn the_first_key_is_primary_and_every_key_is_found() {
        let ring = Keyring::new([
            Key::from_bytes(&[1; 32]).unwrap(),
            Key::from_bytes(&[2; 32]).unwrap(),
        ])
        .unwrap();
        assert_eq!(ring.primary().id(), ring.keys()[0].id());
        assert_eq!(ring.find(ring.keys()[1].id()).unwrap().0, 1);
        let debug = format!("{ring:?}");
        assert!(debug.starts_with("Keyring { ids: [KeyId("), "{debug}");
    }
}
