//! [`SessionId`]: the random identity of a session, kept across renewals and
//! key rotation, new on [`Session::regenerate`](crate::Session::regenerate).

use std::fmt;
use std::str::FromStr;

use rand::TryRng as _;
use sha2::{Digest as _, Sha256};

use crate::error::SealError;

/// A session's identity: 128 random bits drawn when the session is created.
///
/// It is not a credential — the cookie is — so it may be logged, shown to
/// the user, stored in a database or put in a deny-list ("log out this
/// device"): knowing it gives no access. It prints as 32 lowercase hex
/// digits and parses back from them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// A new id from the operating system's generator.
    ///
    /// # Errors
    /// [`SealError::RandomUnavailable`] when the generator fails.
    pub fn generate() -> Result<SessionId, SealError> {
        let mut bytes = [0u8; 16];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| SealError::RandomUnavailable)?;
        // All zero is the format's "no id"; 2^-128, but never emit it.
        if bytes == [0; 16] {
            bytes[15] = 1;
        }
        Ok(SessionId(bytes))
    }

    /// The id of a session sealed in format v1, which carried none: derived
    /// from the cookie's nonce, so every request carrying that cookie agrees
    /// on it until it is re-sealed as v2, which keeps it.
    pub(crate) fn of_v1_cookie(nonce: &[u8]) -> SessionId {
        let digest = Sha256::new()
            .chain_update(b"client-session/v1 session-id")
            .chain_update(nonce)
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        SessionId(bytes)
    }

    /// The id from its 16 bytes; `None` for all zeros (the format's "no id").
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Option<SessionId> {
        let mut i = 0;
        while i < 16 {
            if bytes[i] != 0 {
                return Some(SessionId(bytes));
            }
            i += 1;
        }
        None
    }

    /// The 16 bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl fmt::Display for SessionId {
    /// 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// The text is not 32 hex digits of a non-zero id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseSessionIdError;

impl fmt::Display for ParseSessionIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session id is 32 hex digits, not all zero")
    }
}

impl std::error::Error for ParseSessionIdError {}

impl FromStr for SessionId {
    type Err = ParseSessionIdError;

    /// Parses 32 hex digits (either case).
    fn from_str(text: &str) -> Result<SessionId, ParseSessionIdError> {
        let text = text.as_bytes();
        if text.len() != 32 {
            return Err(ParseSessionIdError);
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16).ok_or(ParseSessionIdError);
            *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?)
                .map_err(|_| ParseSessionIdError)?;
        }
        SessionId::from_bytes(bytes).ok_or(ParseSessionIdError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_hex_and_parses_back() {
        let id = SessionId::from_bytes([0xab; 16]).unwrap();
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(format!("{id:?}"), format!("SessionId({})", "ab".repeat(16)));
        assert_eq!("AB".repeat(16).parse::<SessionId>(), Ok(id));
        let mut bytes = [0u8; 16];
        bytes[0] = 0x01;
        bytes[15] = 0xf0;
        let id = SessionId::from_bytes(bytes).unwrap();
        assert_eq!(id.to_string(), format!("01{}f0", "00".repeat(14)));
        assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
    }

    #[test]
    fn bad_text_and_the_zero_id_are_refused() {
        for (name, text) in [
            ("empty", String::new()),
            ("short", "ab".repeat(15)),
            ("long", "ab".repeat(17)),
            ("not hex", "zz".repeat(16)),
            ("all zero", "00".repeat(16)),
            ("sign", format!("+{}", "a".repeat(31))),
        ] {
            assert_eq!(
                text.parse::<SessionId>(),
                Err(ParseSessionIdError),
                "{name}"
            );
        }
        assert_eq!(SessionId::from_bytes([0; 16]), None);
        assert_eq!(
            ParseSessionIdError.to_string(),
            "a session id is 32 hex digits, not all zero"
        );
    }

    #[test]
    fn generated_ids_differ_in_every_byte_position() {
        let ids: Vec<[u8; 16]> = (0..32)
            .map(|_| SessionId::generate().unwrap().to_bytes())
            .collect();
        for (i, a) in ids.iter().enumerate() {
            assert!(ids[i + 1..].iter().all(|b| b != a), "an id repeated");
        }
        // No position is fixed (the all-zero guard touches only the
        // all-zero draw): 32 equal bytes by chance is 2^-248.
        for position in 0..16 {
            let first = ids[0][position];
            assert!(
                ids.iter().any(|id| id[position] != first),
                "byte {position} is always {first:#04x}"
            );
        }
    }

    #[test]
    fn a_v1_cookie_id_follows_its_nonce() {
        let a = SessionId::of_v1_cookie(&[1; 24]);
        assert_eq!(a, SessionId::of_v1_cookie(&[1; 24]));
        assert_ne!(a, SessionId::of_v1_cookie(&[2; 24]));
    }
}
