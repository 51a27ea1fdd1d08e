//! Format v2's plaintext: `flags || created_at || expires_at || session id
//! || idle timeout || absolute lifetime || authenticated_at || checked_at ||
//! body`. The normative description is the [`format`](super) module's; this
//! file names every offset once (checked at compile time), so no other code
//! writes a literal range.

use std::ops::Range;

use super::envelope::{HEADER_LEN, TAG_LEN, Version};

/// The version byte and key-derivation label.
pub(super) const VERSION: Version = Version {
    byte: 0x02,
    label: b"client-session/v2 message-key",
};

// The plaintext prefix, at these offsets after the header.
const FLAGS_AT: usize = 0;
const CREATED_AT: Range<usize> = 1..9;
const EXPIRES_AT: Range<usize> = 9..17;
const SESSION_ID: Range<usize> = 17..33;
const IDLE_TIMEOUT: Range<usize> = 33..37;
const ABSOLUTE_LIFETIME: Range<usize> = 37..41;
const AUTHENTICATED_AT: Range<usize> = 41..49;
const CHECKED_AT: Range<usize> = 49..57;
pub(super) const PREFIX_LEN: usize = CHECKED_AT.end;

/// The smallest sealed value, decoded: an empty stored body.
pub(super) const MIN_SEALED_LEN: usize = HEADER_LEN + PREFIX_LEN + TAG_LEN;

/// Flag bit 0: the stored body is raw DEFLATE.
pub(super) const FLAG_DEFLATE: u8 = 0x01;
/// Flag bit 1: the session chose a persistent cookie (`Max-Age`).
pub(super) const FLAG_PERSISTENT: u8 = 0x02;
/// Flag bit 2: the session chose a browser-session cookie (no `Max-Age`).
pub(super) const FLAG_BROWSER_SESSION: u8 = 0x04;
/// The two persistence bits; both set is refused.
pub(super) const PERSISTENCE_FLAGS: u8 = FLAG_PERSISTENT | FLAG_BROWSER_SESSION;
/// Every defined flag bit; a value with any other bit set is refused.
pub(super) const KNOWN_FLAGS: u8 = FLAG_DEFLATE | FLAG_PERSISTENT | FLAG_BROWSER_SESSION;

const _: () = {
    assert!(FLAGS_AT == 0 && CREATED_AT.start == FLAGS_AT + 1);
    assert!(CREATED_AT.end - CREATED_AT.start == 8 && EXPIRES_AT.start == CREATED_AT.end);
    assert!(EXPIRES_AT.end - EXPIRES_AT.start == 8 && SESSION_ID.start == EXPIRES_AT.end);
    assert!(SESSION_ID.end - SESSION_ID.start == 16 && IDLE_TIMEOUT.start == SESSION_ID.end);
    assert!(IDLE_TIMEOUT.end - IDLE_TIMEOUT.start == 4);
    assert!(ABSOLUTE_LIFETIME.start == IDLE_TIMEOUT.end);
    assert!(ABSOLUTE_LIFETIME.end - ABSOLUTE_LIFETIME.start == 4);
    assert!(AUTHENTICATED_AT.start == ABSOLUTE_LIFETIME.end);
    assert!(AUTHENTICATED_AT.end - AUTHENTICATED_AT.start == 8);
    assert!(CHECKED_AT.start == AUTHENTICATED_AT.end && CHECKED_AT.end - CHECKED_AT.start == 8);
    assert!(PREFIX_LEN == 57 && MIN_SEALED_LEN == 102);
};

/// The authenticated prefix of a v2 plaintext, as stored (0 is "none" or
/// "the configured default" where the spec says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Prefix {
    pub(super) flags: u8,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
    pub(super) session_id: [u8; 16],
    pub(super) idle_timeout: u32,
    pub(super) absolute_lifetime: u32,
    pub(super) authenticated_at: u64,
    pub(super) checked_at: u64,
}

/// Reads the prefix of a decrypted plaintext of at least [`PREFIX_LEN`] bytes.
pub(super) fn read(plaintext: &[u8]) -> Prefix {
    let u64_at =
        |range: Range<usize>| u64::from_be_bytes(plaintext[range].try_into().expect("8 bytes"));
    let u32_at =
        |range: Range<usize>| u32::from_be_bytes(plaintext[range].try_into().expect("4 bytes"));
    Prefix {
        flags: plaintext[FLAGS_AT],
        created_at: u64_at(CREATED_AT),
        expires_at: u64_at(EXPIRES_AT),
        session_id: plaintext[SESSION_ID].try_into().expect("16 bytes"),
        idle_timeout: u32_at(IDLE_TIMEOUT),
        absolute_lifetime: u32_at(ABSOLUTE_LIFETIME),
        authenticated_at: u64_at(AUTHENTICATED_AT),
        checked_at: u64_at(CHECKED_AT),
    }
}

/// Writes `prefix` at the start of `plaintext`.
pub(super) fn write(prefix: &Prefix, plaintext: &mut [u8]) {
    plaintext[FLAGS_AT] = prefix.flags;
    plaintext[CREATED_AT].copy_from_slice(&prefix.created_at.to_be_bytes());
    plaintext[EXPIRES_AT].copy_from_slice(&prefix.expires_at.to_be_bytes());
    plaintext[SESSION_ID].copy_from_slice(&prefix.session_id);
    plaintext[IDLE_TIMEOUT].copy_from_slice(&prefix.idle_timeout.to_be_bytes());
    plaintext[ABSOLUTE_LIFETIME].copy_from_slice(&prefix.absolute_lifetime.to_be_bytes());
    plaintext[AUTHENTICATED_AT].copy_from_slice(&prefix.authenticated_at.to_be_bytes());
    plaintext[CHECKED_AT].copy_from_slice(&prefix.checked_at.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_is_the_identity() {
        let prefix = Prefix {
            flags: FLAG_DEFLATE | FLAG_PERSISTENT,
            created_at: 0x0102_0304_0506_0708,
            expires_at: u64::MAX,
            session_id: [0xa5; 16],
            idle_timeout: 0x1122_3344,
            absolute_lifetime: u32::MAX,
            authenticated_at: 7,
            checked_at: 9,
        };
        let mut plaintext = [0u8; PREFIX_LEN];
        write(&prefix, &mut plaintext);
        assert_eq!(read(&plaintext), prefix);
        assert_eq!(&plaintext[..3], &[0x03, 0x01, 0x02]);
        assert_eq!(&plaintext[33..37], &[0x11, 0x22, 0x33, 0x44]);
    }
}
