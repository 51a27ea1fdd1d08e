//! Wire formats v1 and v2: sealing a session into a cookie value and opening
//! it again.
//!
//! This module's documentation is the normative description of what the
//! crate writes and accepts — the only one: `tests/vectors/` points here.
//! Another implementation (Python, Go, Node…) that follows it reads and
//! writes the same cookies; `tests/vectors/vectors-v1.json` and
//! `tests/vectors/vectors-v2.json`, each made by an independent
//! implementation, pin it down byte for byte. The byte layouts, each offset
//! named once, are in `src/format/{envelope,v1,v2}.rs`.
//!
//! The crate seals **v2** and opens **v1 and v2**: a v1 cookie sealed by an
//! earlier release opens, and is sealed again as v2 the first time a request
//! uses it (see *Migration from v1* below).
//!
//! # Notation
//! `||` concatenates, integers are unsigned big-endian, strings are UTF-8.
//! HKDF is RFC 5869 with SHA-256, AES-256-GCM is NIST SP 800-38D with a
//! 96-bit nonce and a 128-bit tag, base64url is RFC 4648 §5 *without padding*:
//! decoders reject `=`, any character outside the URL-safe alphabet, and
//! non-canonical encodings (unused trailing bits must be zero).
//!
//! # Keys
//! A key is 32 to 64 random bytes. Once per key, at start-up (the same for
//! both versions — a key ring opens v1 and v2 cookies alike):
//!
//! ```text
//! PRK    = HKDF-Extract(salt = "client-session/v1", IKM = key)
//! key_id = HKDF-Expand(PRK, "client-session/v1 key-id", 4 bytes)     -- public
//! ```
//!
//! # Sealing (v2)
//! Inputs: the primary key, a context string `ctx` (by default the cookie
//! name), the body (a JSON object) and the session's fields:
//!
//! | field | bytes | meaning |
//! |---|---|---|
//! | `created_at` | 8 | Unix seconds when the session was created; kept across re-seals |
//! | `expires_at` | 8 | Unix seconds when it expires unless sealed again (`now + idle timeout` at each seal) |
//! | `session_id` | 16 | random at creation, kept across re-seals and keys; never all zero |
//! | `idle_timeout` | 4 | this session's own idle timeout in seconds; `0` = the configured default |
//! | `absolute_lifetime` | 4 | this session's own absolute lifetime in seconds; `0` = the configured default |
//! | `authenticated_at` | 8 | Unix seconds of the last login; `0` = never authenticated |
//! | `checked_at` | 8 | Unix seconds of the last successful revocation check; `0` = never checked |
//!
//! ```text
//! N      = 24 fresh random bytes (from the operating system's CSPRNG)
//! header = 0x02 || key_id || N                                       (29 bytes)
//! MK     = HKDF-Expand(PRK, "client-session/v2 message-key" || N[0..12], 32 bytes)
//! body   = the session as compact JSON (an object), UTF-8
//! flags  = bit 0 (0x01): the stored body is raw DEFLATE (RFC 1951, no zlib
//!                        or gzip header)
//!          bit 1 (0x02): the session chose a persistent cookie (Max-Age)
//!          bit 2 (0x04): the session chose a browser-session cookie
//!          neither bit 1 nor 2: the configured default; bits 3-7 are zero
//! P      = flags (1) || created_at (8) || expires_at (8) || session_id (16)
//!          || idle_timeout (4) || absolute_lifetime (4)
//!          || authenticated_at (8) || checked_at (8)                 (57 bytes)
//!          || body or DEFLATE(body)
//! C || T = AES-256-GCM(key = MK, nonce = N[12..24], aad = header || ctx, P)
//! value  = base64url(header || C || T)
//! ```
//!
//! A sealer keeps `authenticated_at` and `checked_at` either `0` or within
//! `created_at <= t < expires_at` (opening refuses anything else). It sets
//! `expires_at = now + i` with the session's resolved idle timeout `i`
//! (see opening step 6); a sealer with no idle timeout at all chooses
//! `expires_at` itself. The body may be compressed with any DEFLATE encoder
//! at any level (this crate: level 1, bodies from 1 KiB, kept only when
//! smaller), so only uncompressed seals are reproducible byte for byte —
//! the seal vectors are uncompressed.
//!
//! Every cookie is encrypted under its own key, derived from 96 random bits,
//! with a GCM nonce made of 96 more. Plain AES-GCM with random nonces must
//! stop at about 2^32 messages per key; here a (key, nonce) pair repeats only
//! if 192 random bits do, so the number of cookies a key may seal is not a
//! practical limit. The header is authenticated, so neither the version nor the
//! key id can be swapped; each version derives its message keys under its own
//! label, so a value of one version never decrypts as another; and `ctx` in
//! the associated data stops a cookie sealed under one name or purpose from
//! opening under another.
//!
//! By default the body is not compressed ([`Compression`]); when an
//! application switches compression on, the body is compressed only when
//! that makes it smaller and it is at least the configured size.
//!
//! # Format v1 (read only)
//! Sealed by releases 0.1 and 0.2. As v2, with
//!
//! ```text
//! header = 0x01 || key_id || N
//! MK     = HKDF-Expand(PRK, "client-session/v1 message-key" || N[0..12], 32 bytes)
//! flags  = bit 0 (0x01): DEFLATE; bits 1-7 are zero
//! P      = flags (1) || created_at (8) || expires_at (8) || body or DEFLATE(body)
//! ```
//!
//! A v1 session has no id, no lifetime of its own, was never authenticated
//! (`authenticated_at` absent) and never checked (`checked_at` absent). This
//! crate gives it the id `SHA-256("client-session/v1 session-id" || N)[0..16]`,
//! `N` being the whole 24-byte nonce of its header (so every request
//! carrying that cookie agrees on it), and keeps that id when it seals the
//! session again as v2.
//!
//! # Opening
//! A value is rejected — the request simply has no session — at the first
//! failing step, with a coarse [`RejectReason`]; a reader never panics,
//! never allocates without bound and never answers 5xx because of a cookie.
//! The configuration ([`crate::defaults`]): the leeway (60 s), the body
//! limit (64 KiB), the default idle timeout `I` and absolute lifetime `A`
//! (either may be absent, "no limit"), the caps `max I` and `max A` on a
//! session's own values (absent: the defaults are the caps), and an optional
//! not-before instant `NB`.
//!
//! 1. the value is at most `ceil((102 + body limit) · 4 / 3)` characters →
//!    else [`TooLarge`](RejectReason::TooLarge); strict base64url of at
//!    least 62 bytes (29 header + 17 + 16 tag) → else [`Malformed`](RejectReason::Malformed);
//! 2. version byte `0x01` or `0x02` → else [`UnsupportedVersion`](RejectReason::UnsupportedVersion);
//!    a v2 value is at least 102 bytes (29 + 57 + 16) → else [`Malformed`](RejectReason::Malformed);
//! 3. `key_id` names a key of the ring → else [`UnknownKey`](RejectReason::UnknownKey);
//! 4. the GCM tag verifies under the version's `MK` (constant-time, inside
//!    `aes-gcm`) → else [`Unauthenticated`](RejectReason::Unauthenticated);
//! 5. the fields are consistent → else [`InvalidBody`](RejectReason::InvalidBody):
//!    no flag bit outside the version's defined bits, and in v2: not both
//!    bit 1 and bit 2, `session_id` not all zero, and each of
//!    `authenticated_at` and `checked_at` either `0` or
//!    `created_at <= t < expires_at`;
//! 6. the session's lifetimes are resolved: its idle timeout `i` is `I` when
//!    the sealed `idle_timeout` is 0 (always in v1), else
//!    `min(idle_timeout, max I)`; its absolute lifetime `a` likewise from
//!    `absolute_lifetime`, `A` and `max A` (`min` with an absent limit is
//!    the other value). Then `now < expires_at`, `created_at <= now + leeway`,
//!    when `i` is present `expires_at <= now + i + leeway` (no seal could
//!    have written a later expiry, so lowering the idle timeout shortens
//!    the sessions already issued), and when `a` is present
//!    `now < created_at + a` → else [`Expired`](RejectReason::Expired);
//! 7. when `NB` is set, `created_at >= NB` → else [`Revoked`](RejectReason::Revoked);
//! 8. a compressed body inflates to at most the body limit (inflation stops
//!    at the limit) and an uncompressed one is at most the limit → else [`TooLarge`](RejectReason::TooLarge);
//!    a compressed body that is not exactly one complete raw DEFLATE stream
//!    (a bad block, a stream cut short, bytes after its final block) → [`InvalidBody`](RejectReason::InvalidBody)
//!    — whichever the inflater meets first;
//! 9. the body is UTF-8 JSON (RFC 8259) whose top level is an object →
//!    else [`InvalidBody`](RejectReason::InvalidBody). Whitespace around
//!    the object is allowed, nothing else after it (no BOM, no second
//!    value, no `NaN`, no trailing comma, no raw control character in a
//!    string). Strings and numbers are checked against the grammar only:
//!    a lone surrogate escape (`"\ud800"`) or a number beyond `f64`
//!    (`1e400`) is accepted and kept as written. Nesting depth is bounded
//!    by the body limit alone. Of duplicate keys the last one wins.
//!
//! Additions are with saturation: a sum past 2^64 − 1 is 2^64 − 1. Nothing
//! requires `created_at <= expires_at`: a cookie whose creation is up to the
//! leeway after its expiry is within the rules above and opens.
//!
//! Values are compared as bytes ("characters" in step 1 are bytes, the
//! value is ASCII); a value in double quotes is not unquoted. An empty
//! value is refused at step 1 (malformed). A key ring never holds two keys
//! with one `key_id` (refused when it is configured), so step 3 finds at
//! most one key. [`OpenedSession::meta`] reports the fields as sealed (`0`
//! as absent), not resolved against the configuration.
//!
//! The chunking of long values across cookies ([`crate::chunk`]) happens
//! before step 1, on the `Cookie` header: broken chunks (a missing part, a
//! count that is not canonical or is over the reader's cap — 22 with the
//! default body limit, enough for the longest value step 1 accepts) →
//! [`Malformed`](RejectReason::Malformed); two cookies of one name →
//! [`Duplicate`](RejectReason::Duplicate). Step 1 applies to the joined value.
//!
//! A cookie opened with a key other than the primary, or sealed as v1,
//! should be sealed again as v2 with the primary (the HTTP layer does), so
//! old keys and the old format fall out of use.
//!
//! # Migration from v1
//! Nothing to do: a release that seals v2 opens every v1 cookie still
//! within its lifetimes, and the layer seals it again as v2 — keeping its
//! creation time and giving it the id above — on the first request whose
//! handler uses the session. A v1 session then has the configured
//! lifetimes, no login time (so [`Session::authenticated_within`](crate::Session::authenticated_within)
//! is false until the user logs in again) and, when a revocation check is
//! configured, is checked on that first request. Rolling back to 0.2 after
//! v2 cookies were issued logs those users out (0.2 refuses version `0x02`).
//!

use std::time::Duration;

use base64_simd::URL_SAFE_NO_PAD;
use rand::TryRng as _;

use self::deflate::InflateError;
use self::envelope::{HEADER_LEN, NONCE, NONCE_LEN, TAG_LEN, VERSION_AT};
use crate::data::SessionData;
use crate::defaults;
use crate::error::{RejectReason, SealError};
use crate::id::SessionId;
use crate::keys::{Keyring, LiveKeyring};
use crate::lifetime::{Lifetime, Limits, Resolved};

mod deflate;
mod envelope;
mod v1;
mod v2;

/// The version byte of the format this crate seals.
pub const VERSION: u8 = v2::VERSION.byte;

/// The version bytes this crate opens, oldest first.
pub const OPENS: [u8; 2] = [v1::VERSION.byte, v2::VERSION.byte];

/// Whether bodies are compressed before sealing. Off by default.
///
/// Compression leaks the body's compressibility through the cookie's length
/// (a CRIME/BREACH-style side channel, SECURITY.md L2): every session of
/// this crate holds a secret (its CSRF token, once asked for), so an
/// attacker who can put chosen text into a session and see the cookie's
/// length could guess it piece by piece. It is also dear: DEFLATE makes a
/// 1.5 KiB seal about 30 times slower (BENCHMARKS.md, "Compression").
/// Switch it on ([`Compression::Above`], e.g. with
/// [`COMPRESSION_THRESHOLD`](crate::defaults::COMPRESSION_THRESHOLD)) only
/// for sessions that hold no data an attacker chooses, when their size,
/// not CPU, is the limit. Cookies sealed compressed always open.
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
    /// [`Compression::Off`]: see the type's documentation for why.
    fn default() -> Self {
        Compression::Off
    }
}

/// What a cookie seals besides the body: the session's identity, times and
/// own lifetime (the fields of format v2, see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionMeta {
    id: SessionId,
    created_at: u64,
    expires_at: u64,
    lifetime: Lifetime,
    authenticated_at: Option<u64>,
    checked_at: Option<u64>,
}

impl SessionMeta {
    /// A session `id` created at `created_at`, expiring at `expires_at` (Unix
    /// seconds), with the configured lifetimes, never authenticated nor checked.
    #[must_use]
    pub const fn new(id: SessionId, created_at: u64, expires_at: u64) -> SessionMeta {
        SessionMeta {
            id,
            created_at,
            expires_at,
            lifetime: Lifetime::configured(),
            authenticated_at: None,
            checked_at: None,
        }
    }

    /// With this session's own lifetime.
    #[must_use]
    pub const fn with_lifetime(mut self, lifetime: Lifetime) -> SessionMeta {
        self.lifetime = lifetime;
        self
    }

    /// With the time of the last login (Unix seconds); `None` for never.
    /// `Some(0)` cannot be sealed (0 is the format's "never").
    #[must_use]
    pub const fn with_authenticated_at(mut self, at: Option<u64>) -> SessionMeta {
        self.authenticated_at = at;
        self
    }

    /// With the time of the last successful revocation check; `None` for
    /// never. `Some(0)` cannot be sealed (0 is the format's "never").
    #[must_use]
    pub const fn with_checked_at(mut self, at: Option<u64>) -> SessionMeta {
        self.checked_at = at;
        self
    }

    /// With another expiry (Unix seconds), as a re-seal sets it.
    #[must_use]
    pub const fn with_expires_at(mut self, expires_at: u64) -> SessionMeta {
        self.expires_at = expires_at;
        self
    }

    /// The session's id.
    #[must_use]
    pub const fn id(&self) -> SessionId {
        self.id
    }

    /// When the session was created (Unix seconds).
    #[must_use]
    pub const fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When the session expires unless sealed again (Unix seconds).
    #[must_use]
    pub const fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The session's own lifetime (parts not chosen follow the configuration).
    #[must_use]
    pub const fn lifetime(&self) -> Lifetime {
        self.lifetime
    }

    /// When the user last logged in (Unix seconds), if ever.
    #[must_use]
    pub const fn authenticated_at(&self) -> Option<u64> {
        self.authenticated_at
    }

    /// When a revocation check last succeeded (Unix seconds), if ever.
    #[must_use]
    pub const fn checked_at(&self) -> Option<u64> {
        self.checked_at
    }

    /// Opening step 5's rule for a time field: absent, or within the
    /// session's life — and, to be sealed, not 0 (which reads as absent).
    fn in_life(&self, at: Option<u64>) -> bool {
        at.is_none_or(|t| t != 0 && self.created_at <= t && t < self.expires_at)
    }
}

/// A cookie value that opened: its body, fields and which key sealed it.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    data: SessionData,
    meta: SessionMeta,
    key_index: usize,
    version: u8,
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

    /// The sealed fields: id, times, own lifetime.
    #[must_use]
    pub fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    /// The session's id (derived from the nonce for a v1 cookie; see the module docs).
    #[must_use]
    pub fn id(&self) -> SessionId {
        self.meta.id
    }

    /// When the session was first created (Unix seconds).
    #[must_use]
    pub fn created_at(&self) -> u64 {
        self.meta.created_at
    }

    /// When the session expires unless sealed again (Unix seconds).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.meta.expires_at
    }

    /// Position in the key ring of the key that sealed it; 0 is the primary.
    #[must_use]
    pub fn key_index(&self) -> usize {
        self.key_index
    }

    /// The format version it was sealed in (1 or 2).
    #[must_use]
    pub fn version(&self) -> u8 {
        self.version
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
    keyring: LiveKeyring,
    context: Box<[u8]>,
    body_limit: usize,
    leeway: u64,
    limits: Limits,
    not_before: Option<u64>,
    compression: Compression,
}

impl SessionCodec {
    /// A codec sealing with `keyring`'s primary key for `context` (by
    /// convention the cookie name), with default limits and no lifetimes
    /// (the sealed `expires_at` is trusted; the layer sets lifetimes).
    /// `keyring` is a [`Keyring`] or a [`LiveKeyring`] that follows a key file.
    #[must_use]
    pub fn new(keyring: impl Into<LiveKeyring>, context: impl Into<String>) -> SessionCodec {
        SessionCodec {
            keyring: keyring.into(),
            context: context.into().into_bytes().into_boxed_slice(),
            body_limit: defaults::BODY_LIMIT,
            leeway: defaults::CLOCK_LEEWAY.as_secs(),
            limits: Limits::default(),
            not_before: None,
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

    /// Rejects sessions older than `lifetime` since `created_at`, however
    /// often renewed — unless a session chose its own (see
    /// [`longest_absolute_lifetime`](Self::longest_absolute_lifetime)).
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Option<Duration>) -> SessionCodec {
        self.limits.absolute = lifetime.map(|d| d.as_secs());
        self
    }

    /// The idle timeout of sessions that did not choose their own: a cookie
    /// whose `expires_at` is further than `idle` (plus the clock leeway) from
    /// now is refused, since no seal with this idle timeout could have
    /// written it. So a session never outlives a lowered idle timeout by
    /// more than the new timeout, and a cookie claiming to last ten years
    /// does not open. `None` (the codec's default) trusts the sealed
    /// `expires_at`; the layer sets its idle timeout here.
    #[must_use]
    pub fn max_idle(mut self, idle: Option<Duration>) -> SessionCodec {
        self.limits.idle = idle.map(|d| d.as_secs());
        self
    }

    /// The longest idle timeout a session may choose for itself
    /// ([`Lifetime`]); `None` (default) makes [`max_idle`](Self::max_idle) the cap.
    #[must_use]
    pub fn longest_idle(mut self, cap: Option<Duration>) -> SessionCodec {
        self.limits.longest_idle = cap.map(|d| d.as_secs());
        self
    }

    /// The longest absolute lifetime a session may choose for itself;
    /// `None` (default) makes [`absolute_lifetime`](Self::absolute_lifetime) the cap.
    #[must_use]
    pub fn longest_absolute_lifetime(mut self, cap: Option<Duration>) -> SessionCodec {
        self.limits.longest_absolute = cap.map(|d| d.as_secs());
        self
    }

    /// Refuses every session created before `not_before` (Unix seconds) with
    /// [`RejectReason::Revoked`]: "log everyone out" without a new key.
    #[must_use]
    pub fn not_before(mut self, not_before: Option<u64>) -> SessionCodec {
        self.not_before = not_before;
        self
    }

    /// When to compress (default: bodies from 1 KiB, when it helps).
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> SessionCodec {
        self.compression = compression;
        self
    }

    /// The key ring in force now.
    #[must_use]
    pub fn keyring(&self) -> Keyring {
        self.keyring.current()
    }

    /// Seals `data` as a new session: a fresh random id, the configured
    /// lifetimes, never authenticated nor checked. See
    /// [`seal_with_meta`](Self::seal_with_meta) to choose every field.
    ///
    /// # Errors
    /// As [`seal_with_meta`](Self::seal_with_meta).
    pub fn seal(
        &self,
        data: &SessionData,
        created_at: u64,
        expires_at: u64,
    ) -> Result<String, SealError> {
        let meta = SessionMeta::new(SessionId::generate()?, created_at, expires_at);
        self.seal_with_meta(data, &meta)
    }

    /// [`seal_with_meta`](Self::seal_with_meta) with `ring`'s primary key:
    /// the ring a request started with.
    pub(crate) fn seal_in(
        &self,
        ring: &Keyring,
        data: &SessionData,
        meta: &SessionMeta,
    ) -> Result<String, SealError> {
        if !meta.in_life(meta.authenticated_at) || !meta.in_life(meta.checked_at) {
            return Err(SealError::InconsistentTimes);
        }
        let body = self.encode_body(data)?;
        let mut nonce = [0u8; NONCE_LEN];
        // From the operating system for every cookie, never a user-space
        // generator: its state would be copied by fork() or a VM snapshot,
        // and parent and child would then seal with the same nonces.
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SealError::RandomUnavailable)?;
        Ok(self.seal_with_nonce(ring, &nonce, meta, body))
    }

    /// Seals `data` with `meta` under the primary key, in format v2, with a
    /// nonce of 24 bytes from the operating system's generator (fork- and
    /// snapshot-safe: no user-space generator state that a copied process
    /// would repeat).
    ///
    /// # Errors
    /// [`SealError::BodyTooLarge`] when the JSON body is over the body limit;
    /// [`SealError::InconsistentTimes`] when `authenticated_at` or
    /// `checked_at` is outside `created_at..expires_at` (such a cookie
    /// would never open) or is `Some(0)` (it would open as `None`); [`SealError::RandomUnavailable`] when the
    /// operating system's generator fails.
    pub fn seal_with_meta(
        &self,
        data: &SessionData,
        meta: &SessionMeta,
    ) -> Result<String, SealError> {
        self.seal_in(&self.keyring.current(), data, meta)
    }

    /// The length in bytes of the value [`seal`](Self::seal) would return for `data`.
    ///
    /// # Errors
    /// [`SealError::BodyTooLarge`] when the JSON body is over the body limit.
    pub fn sealed_len(&self, data: &SessionData) -> Result<usize, SealError> {
        let body = self.encode_body(data)?;
        Ok(encoded_len(body.buffer.len().saturating_add(TAG_LEN)))
    }

    /// Lays out `header || prefix || body'` (header and prefix as room),
    /// the JSON written in place and compressed when that pays.
    fn encode_body(&self, data: &SessionData) -> Result<EncodedBody, SealError> {
        let start = HEADER_LEN + v2::PREFIX_LEN;
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
        let mut deflated = false;
        if let Compression::Above(threshold) = self.compression
            && json_len >= threshold
        {
            let packed = deflate::deflate(&buffer[start..]);
            if packed.len() < json_len {
                buffer.truncate(start);
                buffer.extend_from_slice(&packed);
                deflated = true;
            }
        }
        Ok(EncodedBody { deflated, buffer })
    }

    /// Opens a cookie value at time `now` (Unix seconds).
    ///
    /// # Errors
    /// The first failing check's [`RejectReason`]; see the module docs.
    pub fn open(&self, value: &str, now: u64) -> Result<OpenedSession, RejectReason> {
        self.open_in(&self.keyring.current(), value, now)
    }

    /// [`open`](Self::open) with `ring`: the ring a request started with.
    pub(crate) fn open_in(
        &self,
        ring: &Keyring,
        value: &str,
        now: u64,
    ) -> Result<OpenedSession, RejectReason> {
        if value.len() > self.max_value_len() {
            return Err(RejectReason::TooLarge);
        }
        // Strict: URL-safe alphabet only, no padding, unused trailing bits zero.
        let sealed = URL_SAFE_NO_PAD
            .decode_to_vec(value)
            .map_err(|_| RejectReason::Malformed)?;
        if sealed.len() < v1::MIN_SEALED_LEN {
            return Err(RejectReason::Malformed);
        }
        match sealed[VERSION_AT] {
            version if version == v2::VERSION.byte => self.open_v2(ring, sealed, now),
            version if version == v1::VERSION.byte => self.open_v1(ring, sealed, now),
            _ => Err(RejectReason::UnsupportedVersion),
        }
    }

    fn open_v2(
        &self,
        ring: &Keyring,
        mut sealed: Vec<u8>,
        now: u64,
    ) -> Result<OpenedSession, RejectReason> {
        if sealed.len() < v2::MIN_SEALED_LEN {
            return Err(RejectReason::Malformed);
        }
        let (key_index, plaintext) =
            envelope::open(&v2::VERSION, ring, &self.context, &mut sealed)?;
        let prefix = v2::read(plaintext);
        let persistent = match prefix.flags & v2::PERSISTENCE_FLAGS {
            0 => None,
            v2::FLAG_PERSISTENT => Some(true),
            v2::FLAG_BROWSER_SESSION => Some(false),
            _ => return Err(RejectReason::InvalidBody),
        };
        if prefix.flags & !v2::KNOWN_FLAGS != 0 {
            return Err(RejectReason::InvalidBody);
        }
        let id = SessionId::from_bytes(prefix.session_id).ok_or(RejectReason::InvalidBody)?;
        let nonzero = |t: u64| (t != 0).then_some(t);
        let meta = SessionMeta {
            id,
            created_at: prefix.created_at,
            expires_at: prefix.expires_at,
            lifetime: Lifetime::from_sealed(
                prefix.idle_timeout,
                prefix.absolute_lifetime,
                persistent,
            ),
            authenticated_at: nonzero(prefix.authenticated_at),
            checked_at: nonzero(prefix.checked_at),
        };
        if !meta.in_life(meta.authenticated_at) || !meta.in_life(meta.checked_at) {
            return Err(RejectReason::InvalidBody);
        }
        self.check_times(&meta, now)?;
        self.check_not_before(meta.created_at)?;
        let deflated = prefix.flags & v2::FLAG_DEFLATE != 0;
        let data = self.body(sealed, v2::PREFIX_LEN, deflated)?;
        Ok(OpenedSession {
            data,
            meta,
            key_index,
            version: v2::VERSION.byte,
        })
    }

    fn open_v1(
        &self,
        ring: &Keyring,
        mut sealed: Vec<u8>,
        now: u64,
    ) -> Result<OpenedSession, RejectReason> {
        let id = SessionId::of_v1_cookie(&sealed[NONCE]);
        let (key_index, plaintext) =
            envelope::open(&v1::VERSION, ring, &self.context, &mut sealed)?;
        let prefix = v1::read(plaintext);
        if prefix.flags & !v1::FLAG_DEFLATE != 0 {
            return Err(RejectReason::InvalidBody);
        }
        let meta = SessionMeta::new(id, prefix.created_at, prefix.expires_at);
        self.check_times(&meta, now)?;
        self.check_not_before(meta.created_at)?;
        let deflated = prefix.flags & v1::FLAG_DEFLATE != 0;
        let data = self.body(sealed, v1::PREFIX_LEN, deflated)?;
        Ok(OpenedSession {
            data,
            meta,
            key_index,
            version: v1::VERSION.byte,
        })
    }

    /// Opening steps 8 and 9: the stored body of a decrypted value, inflated
    /// when `deflated`, as the session's data.
    fn body(
        &self,
        mut sealed: Vec<u8>,
        prefix_len: usize,
        deflated: bool,
    ) -> Result<SessionData, RejectReason> {
        let stored = HEADER_LEN + prefix_len..sealed.len() - TAG_LEN;
        let body = if deflated {
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
        SessionData::from_json_vec(body).ok_or(RejectReason::InvalidBody)
    }

    /// The configured lifetimes: defaults and caps.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// The longest value that could hold a body within the limit.
    pub(crate) fn max_value_len(&self) -> usize {
        encoded_len(v2::MIN_SEALED_LEN.saturating_add(self.body_limit))
    }

    /// Opening step 6.
    pub(crate) fn check_times(&self, meta: &SessionMeta, now: u64) -> Result<(), RejectReason> {
        let Resolved { idle, absolute } = self.limits.resolve(&meta.lifetime);
        let expired = now >= meta.expires_at
            || meta.created_at > now.saturating_add(self.leeway)
            || idle.is_some_and(|idle| {
                meta.expires_at > now.saturating_add(idle).saturating_add(self.leeway)
            })
            || absolute.is_some_and(|lifetime| now >= meta.created_at.saturating_add(lifetime));
        if expired {
            Err(RejectReason::Expired)
        } else {
            Ok(())
        }
    }

    /// Opening step 7.
    fn check_not_before(&self, created_at: u64) -> Result<(), RejectReason> {
        match self.not_before {
            Some(not_before) if created_at < not_before => Err(RejectReason::Revoked),
            _ => Ok(()),
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
            .field("limits", &self.limits)
            .field("not_before", &self.not_before)
            .field("compression", &self.compression)
            .finish()
    }
}

/// A body ready to seal: `buffer` holds room for the header and the v2
/// prefix, then the stored body; `deflated` says whether it is compressed.
struct EncodedBody {
    deflated: bool,
    buffer: Vec<u8>,
}

impl SessionCodec {
    /// Seals an encoded body with a given nonce. Only
    /// [`SessionCodec::seal_with_meta`] (with a fresh nonce from the OS) and
    /// the crate's own test-vector tests choose the nonce.
    fn seal_with_nonce(
        &self,
        ring: &Keyring,
        nonce: &[u8; NONCE_LEN],
        meta: &SessionMeta,
        mut body: EncodedBody,
    ) -> String {
        let persistence = match meta.lifetime.persistent() {
            None => 0,
            Some(true) => v2::FLAG_PERSISTENT,
            Some(false) => v2::FLAG_BROWSER_SESSION,
        };
        let deflate = if body.deflated { v2::FLAG_DEFLATE } else { 0 };
        let prefix = v2::Prefix {
            flags: deflate | persistence,
            created_at: meta.created_at,
            expires_at: meta.expires_at,
            session_id: meta.id.to_bytes(),
            idle_timeout: meta.lifetime.sealed_idle(),
            absolute_lifetime: meta.lifetime.sealed_absolute(),
            authenticated_at: meta.authenticated_at.unwrap_or(0),
            checked_at: meta.checked_at.unwrap_or(0),
        };
        v2::write(&prefix, &mut body.buffer[HEADER_LEN..]);
        envelope::seal(
            &v2::VERSION,
            ring.primary(),
            &self.context,
            nonce,
            body.buffer,
        )
    }

    /// Seals `body` (uncompressed, as the v1 vectors give it) in format v1.
    /// Only the v1 test vectors seal v1 now.
    #[cfg(test)]
    fn seal_v1_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        created_at: u64,
        expires_at: u64,
        body: &[u8],
    ) -> String {
        let mut buffer = vec![0; HEADER_LEN + v1::PREFIX_LEN];
        buffer.extend_from_slice(body);
        let prefix = v1::Prefix {
            flags: 0,
            created_at,
            expires_at,
        };
        v1::write(prefix, &mut buffer[HEADER_LEN..]);
        envelope::seal(
            &v1::VERSION,
            self.keyring.current().primary(),
            &self.context,
            nonce,
            buffer,
        )
    }
}

impl EncodedBody {
    /// An uncompressed body, as the test vectors give it.
    #[cfg(test)]
    fn uncompressed(body: &[u8]) -> EncodedBody {
        let mut buffer = vec![0; HEADER_LEN + v2::PREFIX_LEN];
        buffer.extend_from_slice(body);
        EncodedBody {
            deflated: false,
            buffer,
        }
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
