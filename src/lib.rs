//! Stateless, encrypted, client-side sessions. (Crate docs are written below.)
#![deny(missing_docs)]

pub mod chunk;
mod compress;
mod data;
mod error;
pub mod format;
mod key;
mod key_source;
mod keyring;

pub use data::SessionData;
pub use error::{ConfigError, KeyProblem, RejectReason, SealError, ValueError};
pub use format::{Compression, OpenedSession, SessionCodec};
pub use key::{Key, KeyId, MAX_KEY_LEN, MIN_KEY_LEN};
pub use key_source::{DEFAULT_KEYS_FILE_VAR, DEFAULT_KEYS_VAR, KeySource};
pub use keyring::Keyring;
