//! The crate's two error families.
//!
//! * [`ConfigError`]: something is wrong with how the application set the
//!   crate up (keys, cookie attributes, limits). Rich and specific — it names
//!   the environment variable, the entry's position and the problem — because
//!   it is read by an operator at start-up. It never contains key material.
//! * [`RejectReason`]: why a cookie sent by a client could not be opened. It is
//!   deliberately coarse: it is meant for logs and metrics, it never reaches a
//!   request handler (an unopenable cookie is simply "no session"), and it
//!   carries nothing an attacker could use as a decryption oracle.

use std::fmt;

/// Why the crate could not be configured. Returned at start-up, never per request.
///
/// `Display` names the variable, file or setting and the problem, and never
/// prints a key or any part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither of the two key variables is set.
    KeysNotSet {
        /// The variable holding a comma-separated key list, e.g. `SESSION_KEYS`.
        keys_var: String,
        /// The variable naming a key file, e.g. `SESSION_KEYS_FILE`.
        file_var: String,
    },
    /// Both key variables are set; the crate refuses to guess which one wins.
    KeysSetTwice {
        /// The variable holding a comma-separated key list.
        keys_var: String,
        /// The variable naming a key file.
        file_var: String,
    },
    /// A key variable is set but holds no key at all.
    NoKeys {
        /// Where the keys were read from (a variable name or a file path).
        source: String,
    },
    /// A variable is set but is not valid Unicode.
    NotUnicode {
        /// The variable's name.
        var: String,
    },
    /// The key file named by a variable could not be read.
    KeyFileUnreadable {
        /// The variable naming the file.
        var: String,
        /// The path it names; `None` when the value is not shown because it
        /// does not look like a path to an existing directory and might be a
        /// secret (a key list, a quoted key, a passphrase).
        path: Option<String>,
        /// What the operating system said, e.g. "No such file or directory".
        reason: String,
    },
    /// The key-file variable holds what looks like a key rather than a path.
    /// The value is not repeated, since it is probably a secret.
    KeyInsteadOfPath {
        /// The variable that should name a file, e.g. `SESSION_KEYS_FILE`.
        var: String,
        /// The variable for keys themselves, e.g. `SESSION_KEYS`.
        keys_var: String,
    },
    /// An entry of a key list looks like a file path, not a key. The entry is
    /// not repeated.
    PathInsteadOfKey {
        /// Where the key was read from (a variable name or a file path).
        source: String,
        /// The entry's 1-based position in the list (for a file: its line number).
        position: usize,
        /// The variable that names a key file, e.g. `SESSION_KEYS_FILE`.
        file_var: String,
    },
    /// One entry of a key list is unusable.
    InvalidKey {
        /// Where the key was read from (a variable name or a file path).
        source: String,
        /// The entry's 1-based position in the list (for a file: its line number).
        position: usize,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// Two keys of one key ring derive the same key id (in practice: the same key twice).
    DuplicateKey {
        /// Where the keys were read from.
        source: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the repeat.
        second: usize,
    },
    /// A cookie attribute or limit is inconsistent or unsafe.
    InvalidSetting {
        /// The setting, e.g. `cookie name` or `SameSite`.
        setting: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The settings for reading Mozilla `client-sessions` cookies are
    /// unusable ([`LegacyClientSessions`](crate::LegacyClientSessions)).
    /// Never repeats the secret.
    Legacy {
        /// The variable (or, in code, the setting) at fault.
        variable: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// What is wrong with one key entry. Never includes the entry's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The entry is empty.
    Empty,
    /// The entry is not base64 (standard or URL-safe alphabet, padding optional).
    NotBase64,
    /// The decoded key is shorter than 32 bytes.
    TooShort {
        /// Decoded length in bytes.
        len: usize,
    },
    /// The decoded key is longer than 64 bytes.
    TooLong {
        /// Decoded length in bytes.
        len: usize,
    },
    /// The entry is not plausibly random: text or a passphrase (encoded or
    /// not), or a repeated or sequential byte pattern such as an example key.
    NotRandom,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Empty => f.write_str("the entry is empty"),
            KeyProblem::NotBase64 => f.write_str("the entry is not base64"),
            KeyProblem::TooShort { len } => write!(
                f,
                "the key is {len} bytes long; a key must be 32 to 64 bytes of random data \
                 (generate one with `cargo run --example keygen`)"
            ),
            KeyProblem::NotRandom => f.write_str(
                "the key does not look random (text, a passphrase, a repeated or sequential \
                 pattern, or an example key); a key must be 32 to 64 bytes from a CSPRNG \
                 (generate one with `cargo run --example keygen`)",
            ),
            KeyProblem::TooLong { len } => {
                write!(
                    f,
                    "the key is {len} bytes long; a key must be 32 to 64 bytes"
                )
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Legacy { variable, problem } => write!(f, "{variable}: {problem}"),
            ConfigError::KeysNotSet { keys_var, file_var } => write!(
                f,
                "no session keys: set {keys_var} (comma-separated base64 keys, primary first) \
                 or {file_var} (a file with one key per line)"
            ),
            ConfigError::KeysSetTwice { keys_var, file_var } => write!(
                f,
                "both {keys_var} and {file_var} are set; set only one of them"
            ),
            ConfigError::NoKeys { source } => write!(f, "{source} holds no key"),
            ConfigError::NotUnicode { var } => write!(f, "{var} is not valid Unicode"),
            ConfigError::KeyFileUnreadable {
                var,
                path: Some(path),
                reason,
            } => write!(
                f,
                "cannot read the key file {path:?} named by {var}: {reason}"
            ),
            ConfigError::KeyFileUnreadable {
                var,
                path: None,
                reason,
            } => write!(
                f,
                "cannot read the key file named by {var}: {reason}; the value is not shown, \
                 since it is not a path into an existing directory and may be a secret \
                 ({var} takes the path of a file with one key per line)"
            ),
            ConfigError::PathInsteadOfKey {
                source,
                position,
                file_var,
            } => write!(
                f,
                "{source}: key #{position} looks like a file path, not a key (not shown); \
                 to read keys from a file, set {file_var} to its path"
            ),
            ConfigError::KeyInsteadOfPath { var, keys_var } => write!(
                f,
                "{var} must name a file, but it holds something that looks like a key \
                 (not shown); did you mean {keys_var}?"
            ),
            ConfigError::InvalidKey {
                source,
                position,
                problem,
            } => write!(f, "{source}: key #{position}: {problem}"),
            ConfigError::DuplicateKey {
                source,
                first,
                second,
            } => write!(
                f,
                "{source}: key #{second} is the same key as key #{first} (same key id)"
            ),
            ConfigError::InvalidSetting { setting, problem } => write!(f, "{setting}: {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why a session cookie sent by a client was not accepted.
///
/// Coarse on purpose: a rejected cookie is treated as "no session", and this
/// reason only goes to logs and metrics. Failures that happen before the
/// authentication tag is checked say no more than the cookie's public header
/// already does, so the reason cannot serve as an oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Not a well-formed value: not strict base64url, too short, or broken chunks.
    Malformed,
    /// The version byte is not one this crate reads.
    UnsupportedVersion,
    /// Sealed by a key that is not in the key ring (e.g. a retired key).
    UnknownKey,
    /// The authentication tag did not verify: forged, tampered with, or sealed
    /// for another cookie name or context.
    Unauthenticated,
    /// Past its idle expiry or absolute lifetime, or created in the future.
    Expired,
    /// The cookie, or the body it inflates to, is over the configured limit.
    TooLarge,
    /// Authentic, but the content is not a session (unknown flags,
    /// inconsistent fields, bad DEFLATE data, not a JSON object).
    InvalidBody,
    /// The request carried two cookies of the session's name, or two of one
    /// chunk: possibly a cookie tossed from a sibling subdomain (`Domain=`)
    /// to shadow the real one. Neither is used.
    Duplicate,
    /// Authentic and within its lifetimes, but created before the
    /// configured not-before instant (`SESSION_NOT_BEFORE`): everyone was
    /// logged out since.
    Revoked,
}

impl RejectReason {
    /// A short stable label for metrics, e.g. `"expired"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::UnsupportedVersion => "unsupported_version",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::Unauthenticated => "unauthenticated",
            RejectReason::Expired => "expired",
            RejectReason::TooLarge => "too_large",
            RejectReason::InvalidBody => "invalid_body",
            RejectReason::Duplicate => "duplicate",
            RejectReason::Revoked => "revoked",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for RejectReason {}

/// Why a session could not be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The session body is larger than the configured body limit.
    BodyTooLarge {
        /// The body's size in bytes (uncompressed JSON).
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The operating system's random number generator failed, so no nonce
    /// could be drawn. Nothing is sealed without one.
    RandomUnavailable,
    /// `authenticated_at` or `checked_at` is outside the session's life
    /// (`created_at..expires_at`), so the cookie would never open, or is
    /// `Some(0)`, which the format cannot tell from "never".
    InconsistentTimes,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::BodyTooLarge { len, limit } => write!(
                f,
                "session body is {len} bytes, over the {limit}-byte body limit"
            ),
            SealError::RandomUnavailable => {
                f.write_str("the operating system's random number generator failed")
            }
            SealError::InconsistentTimes => {
                f.write_str("authenticated_at and checked_at must be within created_at..expires_at")
            }
        }
    }
}

impl std::error::Error for SealError {}

/// Why a value could not be stored in or read from a session.
///
/// It names the key and the Rust type, never the value: session values are
/// often personal data, and this error ends up in logs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueError {
    /// The value could not be serialized to JSON (e.g. a map with non-string keys).
    Serialize {
        /// The session key.
        key: String,
        /// The Rust type that was being stored.
        type_name: &'static str,
    },
    /// The stored JSON does not deserialize into the requested type.
    Deserialize {
        /// The session key.
        key: String,
        /// The Rust type that was asked for.
        type_name: &'static str,
    },
    /// The key belongs to the crate (the CSRF token, flash messages): see
    /// [`Session::csrf_token`](crate::Session::csrf_token) and
    /// [`Session::flash`](crate::Session::flash).
    ReservedKey {
        /// The session key.
        key: String,
    },
    /// The whole session does not deserialize into the requested type
    /// ([`Session::typed`](crate::Session::typed)): typically a deploy
    /// changed the type while older cookies are still around.
    Shape {
        /// The Rust type that was asked for.
        type_name: &'static str,
    },
    /// A typed session did not serialize to a JSON object
    /// ([`Session::set_typed`](crate::Session::set_typed)).
    NotAnObject {
        /// The Rust type that was being stored.
        type_name: &'static str,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Serialize { key, type_name } => write!(
                f,
                "session value {key:?}: the {} cannot be serialized to JSON",
                short_type_name(type_name)
            ),
            ValueError::Deserialize { key, type_name } => write!(
                f,
                "session value {key:?} cannot be read as {}",
                short_type_name(type_name)
            ),
            ValueError::ReservedKey { key } => write!(
                f,
                "session key {key:?} is reserved for the crate (CSRF token, flash messages)"
            ),
            ValueError::Shape { type_name } => write!(
                f,
                "the session's values do not match {} (stored by an older version of the type?)",
                short_type_name(type_name)
            ),
            ValueError::NotAnObject { type_name } => write!(
                f,
                "the {} does not serialize to a JSON object, so it cannot be a whole session",
                short_type_name(type_name)
            ),
        }
    }
}

/// `std::any::type_name` without module paths: `alloc::vec::Vec<alloc::string::String>`
/// becomes `Vec<String>`.
fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            short.push_str(&segment);
            segment.clear();
            short.push(c);
        }
    }
    short.push_str(&segment);
    short
}

impl std::error::Error for ValueError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_errors_name_short_types() {
        let rows = [
            ("alloc::string::String", "String"),
            ("u64", "u64"),
            ("alloc::vec::Vec<alloc::string::String>", "Vec<String>"),
            (
                "std::collections::hash::map::HashMap<alloc::string::String, (u8, my_app::Cart)>",
                "HashMap<String, (u8, Cart)>",
            ),
            ("&str", "&str"),
        ];
        for (full, short) in rows {
            assert_eq!(short_type_name(full), short, "{full}");
        }
        let err = ValueError::Deserialize {
            key: "cart".into(),
            type_name: std::any::type_name::<Vec<String>>(),
        };
        assert_eq!(
            err.to_string(),
            "session value \"cart\" cannot be read as Vec<String>"
        );
    }
}
