//! Stateless, encrypted, client-side sessions. (Crate docs are written below.)
#![deny(missing_docs)]

pub mod chunk;
mod clock;
mod compress;
mod config;
mod data;
mod error;
#[cfg(feature = "axum")]
mod extract;
pub mod format;
mod future;
mod key;
mod key_source;
mod keyring;
mod layer;
mod service;
mod session;
mod writer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    DEFAULT_ABSOLUTE_LIFETIME, DEFAULT_COOKIE_NAME, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CHUNKS,
    DEFAULT_MAX_COOKIE_BYTES, DEFAULT_RENEW_FRACTION, SameSite, SessionConfig,
    SessionConfigBuilder,
};
pub use data::SessionData;
pub use error::{ConfigError, KeyProblem, RejectReason, SealError, ValueError};
#[cfg(feature = "axum")]
pub use extract::MissingSessionLayer;
pub use format::{Compression, OpenedSession, SessionCodec};
pub use future::ResponseFuture;
pub use key::{Key, KeyId, MAX_KEY_LEN, MIN_KEY_LEN};
pub use key_source::{DEFAULT_KEYS_FILE_VAR, DEFAULT_KEYS_VAR, KeySource};
pub use keyring::Keyring;
pub use layer::SessionLayer;
pub use service::SessionService;
pub use session::Session;
