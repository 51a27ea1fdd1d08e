//! Keys: the secret [`Key`], the ordered [`Keyring`] every instance shares,
//! and loading the ring from the environment ([`KeySource`]), where
//! configuration mistakes are refused at start-up.
//!
//! Dependencies run one way: `key` ← `keyring` ← `source` (which also uses
//! `plausibility`, the check that an entry looks like random bytes).

mod key;
mod keyring;
mod plausibility;
mod source;

pub use key::{Key, KeyId, MAX_KEY_LEN, MIN_KEY_LEN};
pub use keyring::Keyring;
pub use source::KeySource;
