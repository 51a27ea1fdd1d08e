//! A session key: secret bytes that never leave this type.
//!
//! What a [`Key`] keeps is not the key itself but what the wire format
//! derives from it once, at start-up: the HKDF pseudo-random key (as a
//! prepared HMAC state, so deriving a per-cookie key costs one HKDF-Expand)
//! and the public key id. Both secret parts are wiped when the key is dropped.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use hkdf::Hkdf;
use rand::TryRng as _;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

use crate::counters::OpenedKeys;
use crate::error::{KeyProblem, SealError};

/// Shortest accepted key, in bytes.
pub const MIN_KEY_LEN: usize = 32;
/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 64;

const EXTRACT_SALT: &[u8] = b"client-session/v1";
const KEY_ID_INFO: &[u8] = b"client-session/v1 key-id";

/// The public 4-byte identifier of a [`Key`], carried in every cookie it seals.
///
/// Derived from the key with HKDF, so it reveals nothing about the key. It
/// prints as 8 lowercase hex digits, the form to use in logs and runbooks.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// The id's four bytes, as they appear in the cookie header.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    pub(crate) const fn from_bytes(bytes: [u8; 4]) -> Self {
        KeyId(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A secret key of 32 to 64 random bytes.
///
/// A `Key` exposes no bytes: it has no `Display`, its `Debug` shows only the
/// public [`KeyId`], equality is constant-time, and the derived secrets are
/// zeroized on drop. Load keys with [`Keyring::from_env`](crate::Keyring::from_env)
/// in production; [`Key::generate`] is for tests and single-instance demos.
#[derive(Clone)]
pub struct Key {
    /// HKDF-Extract output: needed for constant-time equality only.
    prk: Zeroizing<[u8; 32]>,
    /// HKDF state prepared from `prk` (HMAC inner/outer pads already hashed).
    /// `hmac`'s `zeroize` feature wipes it on drop.
    expander: Hkdf<Sha256>,
    id: KeyId,
    /// The metric keys counted on every cookie this key opens (the
    /// `key_id` label made once, not per request).
    opened_keys: Arc<OpenedKeys>,
}

impl Key {
    /// Builds a key from raw secret bytes (32 to 64 of them).
    ///
    /// The bytes must come from a CSPRNG; a password is not a key.
    ///
    /// # Errors
    /// [`KeyProblem::TooShort`] or [`KeyProblem::TooLong`] when the length is out of range.
    pub fn from_bytes(secret: &[u8]) -> Result<Key, KeyProblem> {
        match secret.len() {
            0 => return Err(KeyProblem::Empty),
            len if len < MIN_KEY_LEN => return Err(KeyProblem::TooShort { len }),
            len if len > MAX_KEY_LEN => return Err(KeyProblem::TooLong { len }),
            _ => {}
        }
        let (prk, expander) = Hkdf::<Sha256>::extract(Some(EXTRACT_SALT), secret);
        let mut prk_bytes = Zeroizing::new([0u8; 32]);
        prk_bytes.copy_from_slice(&prk);
        let mut prk = prk;
        prk.as_mut_slice().zeroize();
        let mut id = [0u8; 4];
        expander
            .expand(KEY_ID_INFO, &mut id)
            .expect("4 bytes is a valid HKDF-SHA256 output length");
        let id = KeyId(id);
        Ok(Key {
            prk: prk_bytes,
            expander,
            id,
            opened_keys: Arc::new(OpenedKeys::new(&id.to_string())),
        })
    }

    /// Makes a new random 32-byte key from the operating system's CSPRNG.
    ///
    /// # Panics
    /// When the operating system's generator fails (on Linux, only before
    /// the kernel has gathered its first entropy at boot).
    /// [`try_generate`](Self::try_generate) returns that as an error instead.
    #[must_use]
    pub fn generate() -> Key {
        Key::try_generate().expect("the operating system's random number generator failed")
    }

    /// Makes a new random 32-byte key from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`SealError::RandomUnavailable`] when the operating system's generator fails.
    pub fn try_generate() -> Result<Key, SealError> {
        let secret = random_secret()?;
        Ok(Key::from_bytes(&*secret).expect("32 bytes is a valid key length"))
    }

    /// Makes a new random 32-byte key and returns it base64-encoded, the form
    /// `SESSION_KEYS` takes. This is the only way the crate hands out key
    /// material, and only for a key nobody uses yet: what it returns is a
    /// secret to store in a secret manager, not to log.
    ///
    /// # Panics
    /// As [`generate`](Self::generate); [`try_generate_base64`](Self::try_generate_base64)
    /// returns the error instead.
    #[must_use]
    pub fn generate_base64() -> Zeroizing<String> {
        Key::try_generate_base64().expect("the operating system's random number generator failed")
    }

    /// [`generate_base64`](Self::generate_base64) without the panic.
    ///
    /// # Errors
    /// [`SealError::RandomUnavailable`] when the operating system's generator fails.
    pub fn try_generate_base64() -> Result<Zeroizing<String>, SealError> {
        let secret = random_secret()?;
        Ok(Zeroizing::new(
            base64::engine::general_purpose::STANDARD.encode(secret.as_slice()),
        ))
    }

    /// The key's public id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The metric keys of the cookies this key opens.
    pub(crate) fn opened_keys(&self) -> &OpenedKeys {
        &self.opened_keys
    }

    /// Derives the per-cookie AES-256 key from the format's label (each
    /// format version has its own) and the first 12 bytes of the nonce.
    pub(crate) fn message_key(&self, label: &[u8], kdf_nonce: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut okm = Zeroizing::new([0u8; 32]);
        self.expander
            .expand_multi_info(&[label, kdf_nonce], okm.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        okm
    }
}

fn random_secret() -> Result<Zeroizing<[u8; 32]>, SealError> {
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rngs::SysRng
        .try_fill_bytes(secret.as_mut_slice())
        .map_err(|_| SealError::RandomUnavailable)?;
    Ok(secret)
}

impl PartialEq for Key {
    /// Constant-time in the key bytes.
    fn eq(&self, other: &Key) -> bool {
        self.prk.ct_eq(&*other.prk).into()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_id_and_no_key_bytes() {
        let secret = [0xA5u8; 32];
        let key = Key::from_bytes(&secret).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, format!("Key {{ id: KeyId({}), .. }}", key.id()));
        assert!(!debug.to_lowercase().contains("a5a5"), "{debug}");
    }

    #[test]
    fn equality_follows_the_secret() {
        let a = Key::from_bytes(&[1u8; 32]).unwrap();
        let b = Key::from_bytes(&[1u8; 32]).unwrap();
        let c = Key::from_bytes(&[2u8; 32]).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn lengths_outside_32_to_64_are_refused() {
        assert_eq!(Key::from_bytes(&[]).unwrap_err(), KeyProblem::Empty);
        assert_eq!(
            Key::from_bytes(&[0; 31]).unwrap_err(),
            KeyProblem::TooShort { len: 31 }
        );
        assert_eq!(
            Key::from_bytes(&[0; 65]).unwrap_err(),
            KeyProblem::TooLong { len: 65 }
        );
        assert!(Key::from_bytes(&[0; 32]).is_ok());
        assert!(Key::from_bytes(&[0; 64]).is_ok());
    }

    #[test]
    fn generated_keys_differ_and_encode_to_32_bytes() {
        assert_ne!(Key::generate(), Key::generate());
        let encoded = Key::generate_base64();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .unwrap();
        assert_eq!(decoded.len(), 32);
    }
}
