//! Keys: the secret [`Key`], the ordered [`Keyring`] every instance shares,
//! loading the ring from the environment ([`KeySource`]), where
//! configuration mistakes are refused at start-up, and following a key file
//! that changes while the application runs ([`LiveKeyring`]).
//!
//! Dependencies run one way: `key` ← `keyring` ← `source` (which also uses
//! `plausibility`, the check that an entry looks like random bytes).

mod key;
mod keyring;
mod live;
mod plausibility;
mod source;

pub use key::{Key, KeyId, MAX_KEY_LEN, MIN_KEY_LEN};
pub use keyring::Keyring;
pub use live::LiveKeyring;
pub use source::KeySource;
