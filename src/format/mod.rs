//! Wire format v1: sealing a session into a cookie value and opening it again.
//!
//! This module's documentation is the normative description of what the
//! crate writes and accepts — the only one: `tests/vectors/` points here.
//! Another implementation (Python, Go, Node…) that follows it reads and
//! writes the same cookies; `tests/vectors/vectors-v1.json`, made by an
//! independent implementation, pins it down byte for byte. The byte layout,
//! each offset named once, is in `src/format/v1.rs`.
//!
//! # Notation
//! `||` concatenates, integers are unsigned big-endian, strings are UTF-8.
//! HKDF is RFC 5869 with SHA-256, AES-256-GCM is NIST SP 800-38D with a
//! 96-bit nonce and a 128-bit tag, base64url is RFC 4648 §5 *without padding*:
//! decoders reject `=`, any character outside the URL-safe alphabet, and
//! non-canonical encodings (unused trailing bits must be zero).
//!
//! # Keys
//! A key is 32 to 64 random bytes. Once per key, at start-up:
//!
//! ```text
//! PRK    = HKDF-Extract(salt = "client-session/v1", IKM = key)
//! key_id = HKDF-Expand(PRK, "client-session/v1 key-id", 4 bytes)     -- public
//! ```
//!
//! # Sealing
//! Inputs: the primary key, a context string `ctx` (by default the cookie
//! name), the body (a JSON object), `created_at` and `expires_at` (Unix seconds).
//!
//! ```text
//! N      = 24 fresh random bytes (from the operating system's CSPRNG)
//! header = 0x01 || key_id || N                                       (29 bytes)
//! MK     = HKDF-Expand(PRK, "client-session/v1 message-key" || N[0..12], 32 bytes)
//! body   = the session as compact JSON (an object), UTF-8
//! flags  = 0x01 if the body is raw DEFLATE (RFC 1951, no zlib or gzip
//!          header), else 0x00; all other bits are zero
//! P      = flags || created_at (8) || expires_at (8) || body or DEFLATE(body)
//! C || T = AES-256-GCM(key = MK, nonce = N[12..24], aad = header || ctx, P)
//! value  = base64url(header || C || T)
//! ```
//!
//! Every cookie is encrypted under its own key, derived from 96 random bits,
//! with a GCM nonce made of 96 more. Plain AES-GCM with random nonces must
//! stop at about 2^32 messages per key; here a (key, nonce) pair repeats only
//! if 192 random bits do, so the number of cookies a key may seal is not a
//! practical limit. The header is authenticated, so neither the version nor the
//! key id can be swapped, and `ctx` in the associated data stops a cookie
//! sealed under one name or purpose from opening under another.
//!
//! The body is compressed only when that makes it smaller (and, by default,
//! only when it is large enough for compression to be worth its cost).
//! `created_at` is kept across re-seals; `expires_at` moves with each seal.
//!
//! # Opening
//! A value is rejected — the request simply has no session — at the first
//! failing step, with a coarse [`RejectReason`]; a reader never panics,
//! never allocates without bound and never answers 5xx because of a cookie.
//! The leeway (60 s), body limit (64 KiB) and lifetimes are configuration
//! ([`crate::defaults`]):
//!
//! 1. strict base64url (no `=`, URL-safe alphabet only, unused trailing bits
//!    zero) of at least 62 bytes (29 header + 17 + 16 tag) → [`Malformed`](RejectReason::Malformed);
//!    a value that could not hold a body within the limit → [`TooLarge`](RejectReason::TooLarge);
//! 2. version byte `0x01` → [`UnsupportedVersion`](RejectReason::UnsupportedVersion);
//! 3. `key_id` names a key of the ring → [`UnknownKey`](RejectReason::UnknownKey);
//! 4. the GCM tag verifies (constant-time, inside `aes-gcm`) → [`Unauthenticated`](RejectReason::Unauthenticated);
//! 5. no flag bit other than bit 0 → [`InvalidBody`](RejectReason::InvalidBody);
//! 6. `now < expires_at`, `created_at <= now + leeway`, with an absolute
//!    lifetime `now < created_at + lifetime`, and with a maximum idle timeout
//!    (the HTTP layer's idle timeout) `expires_at <= now + idle + leeway`
//!    → [`Expired`](RejectReason::Expired);
//! 7. a compressed body inflates to at most the body limit (inflation stops
//!    at the limit) and an uncompressed one is at most the limit → [`TooLarge`](RejectReason::TooLarge),
//!    or [`InvalidBody`](RejectReason::InvalidBody) for broken DEFLATE;
//! 8. the body is UTF-8 JSON whose top level is an object → [`InvalidBody`](RejectReason::InvalidBody).
//!
//! A cookie opened with a key other than the primary should be sealed again
//! with the primary (the HTTP layer does), so old keys fall out of use.
//!
//! Chunking a value across several cookies is described in [`crate::chunk`].

use std::time::Duration;

use base64_simd::URL_SAFE_NO_PAD;
use rand::TryRng as _;

use self::deflate::InflateError;
use self::v1::{FLAG_DEFLATE, HEADER_LEN, MIN_SEALED_LEN, NONCE_LEN, PREFIX_LEN, Prefix, TAG_LEN};
use crate::data::SessionData;
use crate::defaults;
use crate::error::{RejectReason, SealError};
use crate::keys::Keyring;

mod deflate;
mod v1;

/// The version byte of the format this crate seals.
pub const VERSION: u8 = v1::VERSION;

/// Whether bodies are compressed before sealing.
///
/// Compression leaks the body's compressibility through the cookie's length
/// (a CRIME/BREACH-style side channel, see SECURITY.md): turn it off when a
/// session holds secrets next to data an attacker chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Never compress.
    Off,
    /// Compress bodies of at least this many bytes, and keep the result only
    /// when it is smaller.
    Above(usize),
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Above(defaults::COMPRESSION_THRESHOLD)
    }
}

/// A cookie value that opened: its body, timestamps and which key sealed it.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    data: SessionData,
    created_at: u64,
    expires_at: u64,
    key_index: usize,
}

impl OpenedSession {
    /// The session body.
    #[must_use]
    pub fn data(&self) -> &SessionData {
        &self.data
    }

    /// Takes the session body.
    #[must_use]
    pub fn into_data(self) -> SessionData {
        self.data
    }

    /// When the session was first created (Unix seconds).
    #[must_use]
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When the session expires unless sealed again (Unix seconds).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Position in the key ring of the key that sealed it; 0 is the primary.
    #[must_use]
    pub fn key_index(&self) -> usize {
        self.key_index
    }
}

/// Seals and opens session values: the wire format without HTTP.
///
/// Use it to share sessions with frameworks other than tower; the
/// [`SessionLayer`](crate::SessionLayer) uses it underneath.
///
/// ```
/// use client_session::{Key, Keyring, SessionCodec, SessionData};
///
/// let codec = SessionCodec::new(Keyring::single(Key::generate()), "session");
/// let mut data = SessionData::new();
/// data.insert("user", "alice")?;
/// let now = 1_700_000_000;
/// let value = codec.seal(&data, now, now + 3600)?;
/// let opened = codec.open(&value, now + 10).expect("fresh cookie opens");
/// assert_eq!(opened.data().get::<String>("user")?, Some("alice".into()));
/// // The same value under another cookie name (context) does not open.
/// let other = SessionCodec::new(codec.keyring().clone(), "other");
/// assert!(other.open(&value, now + 10).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SessionCodec {
    keyring: Keyring,
    context: Box<[u8]>,
    body_limit: usize,
    leeway: u64,
    absolute_lifetime: Option<u64>,
    max_idle: Option<u64>,
    compression: Compression,
}

impl SessionCodec {
    /// A codec sealing with `keyring`'s primary key for `context` (by
    /// convention the cookie name), with default limits.
    #[must_use]
    pub fn new(keyring: Keyring, context: impl Into<String>) -> SessionCodec {
        SessionCodec {
            keyring,
            context: context.into().into_bytes().into_boxed_slice(),
            body_limit: defaults::BODY_LIMIT,
            leeway: defaults::CLOCK_LEEWAY.as_secs(),
            absolute_lifetime: None,
            max_idle: None,
            compression: Compression::default(),
        }
    }

    /// Largest accepted body, uncompressed, in bytes (default 64 KiB).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> SessionCodec {
        self.body_limit = bytes;
        self
    }

    /// How far in the future `created_at` may be, for clock skew between servers (default 60 s).
    #[must_use]
    pub fn clock_leeway(mut self, leeway: Duration) -> SessionCodec {
        self.leeway = leeway.as_secs();
        self
    }

    /// Rejects sessions older than `lifetime` since `created_at`, however often renewed.
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Option<Duration>) -> SessionCodec {
        self.absolute_lifetime = lifetime.map(|d| d.as_secs());
        self
    }

    /// Rejects a cookie whose `expires_at` is further than `idle` (plus the
    /// clock leeway) from now: no seal with this idle timeout could have
    /// written it. So a session never outlives a lowered idle timeout by
    /// more than the new timeout, and a cookie claiming to last ten years
    /// does not open. `None` (the codec's default) trusts the sealed
    /// `expires_at`; the layer sets its idle timeout here.
    #[must_use]
    pub fn max_idle(mut self, idle: Option<Duration>) -> SessionCodec {
        self.max_idle = idle.map(|d| d.as_secs());
        self
    }

    /// When to compress (default: bodies from 1 KiB, when it helps).
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> SessionCodec {
        self.compression = compression;
        self
    }

    /// The key ring.
    #[must_use]
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Seals `data` with the primary key, under a nonce of 24 bytes from the
    /// operating system's generator (fork- and snapshot-safe: no user-space
    /// generator state that a copied process would repeat).
    ///
    /// # Errors
    /// [`SealError::BodyTooLarge`] when the JSON body is over the body limit;
    /// [`SealError::RandomUnavailable`] when the operating system's generator fails.
    pub fn seal(
        &self,
        data: &SessionData,
        created_at: u64,
        expires_at: u64,
    ) -> Result<String, SealError> {
        let body = self.encode_body(data)?;
        let mut nonce = [0u8; NONCE_LEN];
        // From the operating system for every cookie, never a user-space
        // generator: its state would be copied by fork() or a VM snapshot,
        // and parent and child would then seal with the same nonces.
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SealError::RandomUnavailable)?;
        Ok(self.seal_with_nonce(&nonce, created_at, expires_at, body))
    }

    /// The length in bytes of the value [`seal`](Self::seal) would return for `data`.
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    pub fn sealed_len(&self, data: &SessionData) -> Result<usize, SealError> {
        let body = self.encode_body(data)?;
        Ok(encoded_len(body.buffer.len().saturating_add(TAG_LEN)))
    }

    /// Lays out `header || flags || times || body'`, the JSON written in place
    /// and compressed when that pays.
    fn encode_body(&self, data: &SessionData) -> Result<EncodedBody, SealError> {
        let start = HEADER_LEN + PREFIX_LEN;
        let mut buffer = Vec::with_capacity(start + data.json_len_hint() + TAG_LEN);
        buffer.resize(start, 0);
        data.write_json(&mut buffer);
        let json_len = buffer.len() - start;
        if json_len > self.body_limit {
            return Err(SealError::BodyTooLarge {
                len: json_len,
                limit: self.body_limit,
            });
        }
        let mut flags = 0;
        if let Compression::Above(threshold) = self.compression
            && json_len >= threshold
        {
            let packed = deflate::deflate(&buffer[start..]);
            if packed.len() < json_len {
                buffer.truncate(start);
                buffer.extend_from_slice(&packed);
                flags = FLAG_DEFLATE;
            }
        }
        Ok(EncodedBody { flags, buffer })
    }

    /// Opens a cookie value at time `now` (Unix seconds).
    ///
    /// # Errors
    /// The first failing check's [`RejectReason`]; see the module docs.
    pub fn open(&self, value: &str, now: u64) -> Result<OpenedSession, RejectReason> {
        if value.len() > self.max_value_len() {
            return Err(RejectReason::TooLarge);
        }
        // Strict: URL-safe alphabet only, no padding, unused trailing bits zero.
        let mut sealed = URL_SAFE_NO_PAD
            .decode_to_vec(value)
            .map_err(|_| RejectReason::Malformed)?;
        if sealed.len() < MIN_SEALED_LEN {
            return Err(RejectReason::Malformed);
        }
        if sealed[0] != v1::VERSION {
            return Err(RejectReason::UnsupportedVersion);
        }
        let (key_index, prefix) = v1::authenticate(&self.keyring, &self.context, &mut sealed)?;
        if prefix.flags & !FLAG_DEFLATE != 0 {
            return Err(RejectReason::InvalidBody);
        }
        self.check_times(prefix.created_at, prefix.expires_at, now)?;

        let stored = v1::body_range(sealed.len());
        let body = if prefix.flags & FLAG_DEFLATE != 0 {
            deflate::inflate(&sealed[stored], self.body_limit).map_err(|err| match err {
                InflateError::TooLarge => RejectReason::TooLarge,
                InflateError::Invalid => RejectReason::InvalidBody,
            })?
        } else if stored.len() > self.body_limit {
            return Err(RejectReason::TooLarge);
        } else {
            // The body becomes the session's buffer: no copy, no allocation.
            sealed.truncate(stored.end);
            sealed.drain(..stored.start);
            sealed
        };
        let data = SessionData::from_json_vec(body).ok_or(RejectReason::InvalidBody)?;
        Ok(OpenedSession {
            data,
            created_at: prefix.created_at,
            expires_at: prefix.expires_at,
            key_index,
        })
    }

    /// The idle timeout in seconds (`u64::MAX` when the codec has none: the
    /// layer always sets one).
    pub(crate) fn idle_timeout(&self) -> u64 {
        self.max_idle.unwrap_or(u64::MAX)
    }

    /// The absolute lifetime in seconds, if any.
    pub(crate) fn lifetime(&self) -> Option<u64> {
        self.absolute_lifetime
    }

    /// The longest value that could hold a body within the limit.
    pub(crate) fn max_value_len(&self) -> usize {
        encoded_len(MIN_SEALED_LEN.saturating_add(self.body_limit))
    }

    pub(crate) fn check_times(
        &self,
        created_at: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<(), RejectReason> {
        let expired = now >= expires_at
            || created_at > now.saturating_add(self.leeway)
            || self.max_idle.is_some_and(|idle| {
                expires_at > now.saturating_add(idle).saturating_add(self.leeway)
            })
            || self
                .absolute_lifetime
                .is_some_and(|lifetime| now >= created_at.saturating_add(lifetime));
        if expired {
            Err(RejectReason::Expired)
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Debug for SessionCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCodec")
            .field("keyring", &self.keyring)
            .field("context", &String::from_utf8_lossy(&self.context))
            .field("body_limit", &self.body_limit)
            .field("leeway", &self.leeway)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("max_idle", &self.max_idle)
            .field("compression", &self.compression)
            .finish()
    }
}

/// A body ready to seal: `buffer` holds room for the header and prefix,
/// then the stored body; `flags` says whether it is compressed.
struct EncodedBody {
    flags: u8,
    buffer: Vec<u8>,
}

impl SessionCodec {
    /// Seals an encoded body with a given nonce. Only [`SessionCodec::seal`]
    /// (with a fresh nonce from the OS) and the crate's own test-vector
    /// tests choose the nonce.
    fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        created_at: u64,
        expires_at: u64,
        body: EncodedBody,
    ) -> String {
        let prefix = Prefix {
            flags: body.flags,
            created_at,
            expires_at,
        };
        v1::seal(
            self.keyring.primary(),
            &self.context,
            nonce,
            prefix,
            body.buffer,
        )
    }
}

impl EncodedBody {
    /// An uncompressed body, as the test vectors give it.
    #[cfg(test)]
    fn uncompressed(body: &[u8]) -> EncodedBody {
        let mut buffer = vec![0; HEADER_LEN + PREFIX_LEN];
        buffer.extend_from_slice(body);
        EncodedBody { flags: 0, buffer }
    }
}

/// Length of unpadded base64 for `n` bytes (saturating: limits may be huge).
const fn encoded_len(n: usize) -> usize {
    n.saturating_mul(4).div_ceil(3)
}

#[cfg(test)]
mod boundaries_test;
#[cfg(test)]
mod vectors_test;
