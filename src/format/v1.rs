//! Format v1's bytes: where each field lives, and the one construction that
//! seals and authenticates them. The normative description is the
//! [`format`](super) module's; this file names every offset once (checked at
//! compile time), so no other code writes a literal range.

use std::ops::Range;

use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64_simd::URL_SAFE_NO_PAD;

use crate::error::RejectReason;
use crate::keys::{Key, KeyId, Keyring};

/// The version byte.
pub(super) const VERSION: u8 = 0x01;

// The header, authenticated but not encrypted: version || key id || nonce.
const VERSION_AT: usize = 0;
const KEY_ID: Range<usize> = 1..5;
const NONCE: Range<usize> = 5..29;
/// The nonce's first half: input to the per-cookie key derivation.
const KDF_NONCE: Range<usize> = 5..17;
/// The nonce's second half: the AES-GCM nonce.
const GCM_NONCE: Range<usize> = 17..29;
pub(super) const HEADER_LEN: usize = NONCE.end;
pub(super) const NONCE_LEN: usize = NONCE.end - NONCE.start;

// The plaintext prefix, at these offsets after the header: flags ||
// created_at || expires_at, then the stored body.
const FLAGS_AT: usize = 0;
const CREATED_AT: Range<usize> = 1..9;
const EXPIRES_AT: Range<usize> = 9..17;
pub(super) const PREFIX_LEN: usize = EXPIRES_AT.end;

pub(super) const TAG_LEN: usize = 16;
/// The smallest sealed value, decoded: an empty stored body.
pub(super) const MIN_SEALED_LEN: usize = HEADER_LEN + PREFIX_LEN + TAG_LEN;
/// Flag bit 0: the stored body is raw DEFLATE.
pub(super) const FLAG_DEFLATE: u8 = 0x01;

// The layout is contiguous and has the sizes the spec gives.
const _: () = {
    assert!(VERSION_AT == 0 && KEY_ID.start == VERSION_AT + 1);
    assert!(KEY_ID.end - KEY_ID.start == 4 && NONCE.start == KEY_ID.end);
    assert!(KDF_NONCE.start == NONCE.start && KDF_NONCE.end == GCM_NONCE.start);
    assert!(GCM_NONCE.end == NONCE.end && GCM_NONCE.end - GCM_NONCE.start == 12);
    assert!(NONCE_LEN == 24 && HEADER_LEN == 29);
    assert!(FLAGS_AT == 0 && CREATED_AT.start == FLAGS_AT + 1);
    assert!(CREATED_AT.end - CREATED_AT.start == 8 && EXPIRES_AT.start == CREATED_AT.end);
    assert!(EXPIRES_AT.end - EXPIRES_AT.start == 8 && PREFIX_LEN == 17);
    assert!(MIN_SEALED_LEN == 62);
};

/// The authenticated prefix of the plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Prefix {
    pub(super) flags: u8,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
}

/// Where the stored body is in a decoded value of `len` bytes.
pub(super) fn body_range(len: usize) -> Range<usize> {
    HEADER_LEN + PREFIX_LEN..len - TAG_LEN
}

/// Seals `buffer` — `HEADER_LEN + PREFIX_LEN` bytes of room, then the stored
/// body — in place under `key` and `nonce`, and returns the value. Only
/// `SessionCodec::seal` (with a fresh nonce from the OS) and the crate's
/// test-vector tests choose the nonce.
pub(super) fn seal(
    key: &Key,
    context: &[u8],
    nonce: &[u8; NONCE_LEN],
    prefix: Prefix,
    mut buffer: Vec<u8>,
) -> String {
    buffer[VERSION_AT] = VERSION;
    buffer[KEY_ID].copy_from_slice(&key.id().to_bytes());
    buffer[NONCE].copy_from_slice(nonce);
    let (header, plaintext) = buffer.split_at_mut(HEADER_LEN);
    plaintext[FLAGS_AT] = prefix.flags;
    plaintext[CREATED_AT].copy_from_slice(&prefix.created_at.to_be_bytes());
    plaintext[EXPIRES_AT].copy_from_slice(&prefix.expires_at.to_be_bytes());
    let tag = with_aad(header, context, |aad| {
        cipher(key, &header[KDF_NONCE])
            .encrypt_inout_detached(gcm_nonce(header), aad, plaintext.into())
            .expect("a session body is far below GCM's 64 GiB message limit")
    });
    buffer.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode_to_string(&buffer)
}

/// Opening steps 3 and 4 on a decoded value of at least [`MIN_SEALED_LEN`]
/// bytes whose version byte is [`VERSION`]: finds the key, verifies the tag
/// and decrypts in place. Returns the key's position in the ring and the prefix.
pub(super) fn authenticate(
    keyring: &Keyring,
    context: &[u8],
    sealed: &mut [u8],
) -> Result<(usize, Prefix), RejectReason> {
    debug_assert!(sealed.len() >= MIN_SEALED_LEN && sealed[VERSION_AT] == VERSION);
    let key_id = KeyId::from_bytes(sealed[KEY_ID].try_into().expect("4 bytes"));
    let (key_index, key) = keyring.find(key_id).ok_or(RejectReason::UnknownKey)?;
    let (header, rest) = sealed.split_at_mut(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    with_aad(header, context, |aad| {
        cipher(key, &header[KDF_NONCE])
            .decrypt_inout_detached(
                gcm_nonce(header),
                aad,
                ciphertext.into(),
                <&Tag>::try_from(&*tag).expect("16 bytes"),
            )
            .map_err(|_| RejectReason::Unauthenticated)
    })?;
    let number =
        |range: Range<usize>| u64::from_be_bytes(ciphertext[range].try_into().expect("8 bytes"));
    let prefix = Prefix {
        flags: ciphertext[FLAGS_AT],
        created_at: number(CREATED_AT),
        expires_at: number(EXPIRES_AT),
    };
    Ok((key_index, prefix))
}

/// The per-cookie cipher, keyed with the message key derived from `kdf_nonce`.
fn cipher(key: &Key, kdf_nonce: &[u8]) -> Aes256Gcm {
    let message_key = key.message_key(kdf_nonce);
    Aes256Gcm::new((&*message_key).into())
}

fn gcm_nonce(header: &[u8]) -> &Nonce<aes_gcm::aead::consts::U12> {
    <&Nonce<_>>::try_from(&header[GCM_NONCE]).expect("12 bytes")
}

/// Runs `f` with `header || context` as one slice, on the stack when it fits.
fn with_aad<R>(header: &[u8], context: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    const STACK: usize = 128;
    let len = header.len() + context.len();
    if len <= STACK {
        let mut aad = [0u8; STACK];
        aad[..header.len()].copy_from_slice(header);
        aad[header.len()..len].copy_from_slice(context);
        f(&aad[..len])
    } else {
        f(&[header, context].concat())
    }
}
