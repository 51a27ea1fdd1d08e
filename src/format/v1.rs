//! Format v1's plaintext: `flags || created_at || expires_at || body`. Read
//! only: every cookie this crate seals is v2, but a v1 cookie sealed by an
//! earlier release keeps opening. The normative description is the
//! [`format`](super) module's; this file names every offset once (checked
//! at compile time), so no other code writes a literal range.

use std::ops::Range;

use super::envelope::{HEADER_LEN, TAG_LEN, Version};

/// The version byte and key-derivation label.
pub(super) const VERSION: Version = Version {
    byte: 0x01,
    label: b"client-session/v1 message-key",
};

// The plaintext prefix, at these offsets after the header.
const FLAGS_AT: usize = 0;
const CREATED_AT: Range<usize> = 1..9;
const EXPIRES_AT: Range<usize> = 9..17;
pub(super) const PREFIX_LEN: usize = EXPIRES_AT.end;

/// The smallest sealed value, decoded: an empty stored body.
pub(super) const MIN_SEALED_LEN: usize = HEADER_LEN + PREFIX_LEN + TAG_LEN;
/// Flag bit 0: the stored body is raw DEFLATE. No other bit is defined.
pub(super) const FLAG_DEFLATE: u8 = 0x01;

const _: () = {
    assert!(FLAGS_AT == 0 && CREATED_AT.start == FLAGS_AT + 1);
    assert!(CREATED_AT.end - CREATED_AT.start == 8 && EXPIRES_AT.start == CREATED_AT.end);
    assert!(EXPIRES_AT.end - EXPIRES_AT.start == 8 && PREFIX_LEN == 17);
    assert!(MIN_SEALED_LEN == 62);
};

/// The authenticated prefix of a v1 plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Prefix {
    pub(super) flags: u8,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
}

/// Reads the prefix of a decrypted plaintext of at least [`PREFIX_LEN`] bytes.
pub(super) fn read(plaintext: &[u8]) -> Prefix {
    let number =
        |range: Range<usize>| u64::from_be_bytes(plaintext[range].try_into().expect("8 bytes"));
    Prefix {
        flags: plaintext[FLAGS_AT],
        created_at: number(CREATED_AT),
        expires_at: number(EXPIRES_AT),
    }
}

/// Writes `prefix` at the start of `plaintext` (only the v1 test vectors
/// seal v1 now).
#[cfg(test)]
pub(super) fn write(prefix: Prefix, plaintext: &mut [u8]) {
    plaintext[FLAGS_AT] = prefix.flags;
    plaintext[CREATED_AT].copy_from_slice(&prefix.created_at.to_be_bytes());
    plaintext[EXPIRES_AT].copy_from_slice(&prefix.expires_at.to_be_bytes());
}
