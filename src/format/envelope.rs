//! What every format version shares: the header `version || key id ||
//! nonce`, authenticated together with the context, and the AEAD that
//! encrypts the rest under a per-cookie key. Each version names its own
//! key-derivation label (so no version's cookie opens as another's) and
//! lays out its own plaintext ([`v1`](super::v1), [`v2`](super::v2)).

use std::ops::Range;

use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64_simd::URL_SAFE_NO_PAD;

use crate::error::RejectReason;
use crate::keys::{Key, KeyId, Keyring};

pub(super) const VERSION_AT: usize = 0;
const KEY_ID: Range<usize> = 1..5;
pub(super) const NONCE: Range<usize> = 5..29;
/// The nonce's first half: input to the per-cookie key derivation.
const KDF_NONCE: Range<usize> = 5..17;
/// The nonce's second half: the AES-GCM nonce.
const GCM_NONCE: Range<usize> = 17..29;
pub(super) const HEADER_LEN: usize = NONCE.end;
pub(super) const NONCE_LEN: usize = NONCE.end - NONCE.start;
pub(super) const TAG_LEN: usize = 16;

// The layout is contiguous and has the sizes the spec gives.
const _: () = {
    assert!(VERSION_AT == 0 && KEY_ID.start == VERSION_AT + 1);
    assert!(KEY_ID.end - KEY_ID.start == 4 && NONCE.start == KEY_ID.end);
    assert!(KDF_NONCE.start == NONCE.start && KDF_NONCE.end == GCM_NONCE.start);
    assert!(GCM_NONCE.end == NONCE.end && GCM_NONCE.end - GCM_NONCE.start == 12);
    assert!(NONCE_LEN == 24 && HEADER_LEN == 29);
};

/// A format version's constants.
pub(super) struct Version {
    pub(super) byte: u8,
    /// The HKDF-Expand label of the per-cookie key.
    pub(super) label: &'static [u8],
}

/// Seals `buffer` — [`HEADER_LEN`] bytes of room, then the plaintext — in
/// place under `key` and `nonce`, and returns the value.
pub(super) fn seal(
    version: &Version,
    key: &Key,
    context: &[u8],
    nonce: &[u8; NONCE_LEN],
    mut buffer: Vec<u8>,
) -> String {
    buffer[VERSION_AT] = version.byte;
    buffer[KEY_ID].copy_from_slice(&key.id().to_bytes());
    buffer[NONCE].copy_from_slice(nonce);
    let (header, plaintext) = buffer.split_at_mut(HEADER_LEN);
    let tag = with_aad(header, context, |aad| {
        cipher(key, version.label, &header[KDF_NONCE])
            .encrypt_inout_detached(gcm_nonce(header), aad, plaintext.into())
            .expect("a session body is far below GCM's 64 GiB message limit")
    });
    buffer.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode_to_string(&buffer)
}

/// Finds the key named by the header, verifies the tag and decrypts in
/// place (opening steps 3 and 4). `sealed` is a decoded value of at least
/// `HEADER_LEN + TAG_LEN` bytes. Returns the key's position in the ring
/// and the plaintext.
pub(super) fn open<'a>(
    version: &Version,
    keyring: &Keyring,
    context: &[u8],
    sealed: &'a mut [u8],
) -> Result<(usize, &'a [u8]), RejectReason> {
    debug_assert!(sealed.len() >= HEADER_LEN + TAG_LEN && sealed[VERSION_AT] == version.byte);
    let key_id = KeyId::from_bytes(sealed[KEY_ID].try_into().expect("4 bytes"));
    let (key_index, key) = keyring.find(key_id).ok_or(RejectReason::UnknownKey)?;
    let (header, rest) = sealed.split_at_mut(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    with_aad(header, context, |aad| {
        cipher(key, version.label, &header[KDF_NONCE])
            .decrypt_inout_detached(
                gcm_nonce(header),
                aad,
                (&mut *ciphertext).into(),
                <&Tag>::try_from(&*tag).expect("16 bytes"),
            )
            .map_err(|_| RejectReason::Unauthenticated)
    })?;
    Ok((key_index, ciphertext))
}

/// The per-cookie cipher, keyed with the message key derived from `kdf_nonce`.
fn cipher(key: &Key, label: &[u8], kdf_nonce: &[u8]) -> Aes256Gcm {
    let message_key = key.message_key(label, kdf_nonce);
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
