//! Reading Mozilla `client-sessions` cookies, to move an Express
//! application's users onto this crate without logging them out.
//!
//! [`LegacyClientSessions`] opens the cookies of the npm package
//! `client-sessions` (0.8): `iv.ciphertext.createdAt.duration.mac`, each
//! binary part base64url without padding; `ciphertext` is AES-CBC (PKCS#7)
//! of `cookieName=JSON`; `mac` is HMAC over `iv ‖ "." ‖ ciphertext ‖ "." ‖
//! createdAt ‖ "." ‖ duration` (the two numbers as decimal text, in
//! milliseconds). From a `secret`, the library derives its keys as
//! `HMAC-SHA256(secret, "cookiesession-encryption")` (AES-256) and
//! `HMAC-SHA256(secret, "cookiesession-signature")` (HMAC-SHA256); it also
//! accepts explicit keys and the signature algorithms `sha256`,
//! `sha256-drop128`, `sha384`, `sha384-drop192`, `sha512`,
//! `sha512-drop256` (`-dropN`: the MAC's last N bits are dropped). All of
//! these open here.
//!
//! A cookie opens when, in this order: it has five parts, the three binary
//! ones are base64url and the IV is 16 bytes, the numbers are decimal, the
//! MAC verifies (constant time), the decryption and its padding are
//! correct, the plaintext names this cookie, the JSON is an object, and
//! `createdAt + duration` has not passed. Anything else is "no session",
//! with the same coarse [`RejectReason`]s as this crate's own cookies.
//!
//! With [`SessionConfigBuilder::legacy_client_sessions`](crate::SessionConfigBuilder::legacy_client_sessions),
//! a request that carries no session cookie of this crate but a legacy
//! cookie that opens gets its content as the session; the response seals
//! it in this crate's format (a new [`SessionId`](crate::SessionId), this
//! crate's lifetimes from now on) and expires the legacy cookie, in the
//! same response. If the content does not fit this crate's cookies, the
//! request is still served with it and the legacy cookie is kept (a
//! warning says so); a 5xx response changes nothing.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::data::SessionData;
use crate::error::{ConfigError, RejectReason};

/// The variable with the legacy secret (the `secret` option of `client-sessions`).
pub const LEGACY_SECRET_VAR: &str = "LEGACY_CLIENT_SESSIONS_SECRET";
/// The variable with the legacy cookie's name (its `cookieName` option).
pub const LEGACY_COOKIE_VAR: &str = "LEGACY_CLIENT_SESSIONS_COOKIE";
/// The variable with the legacy signature algorithm (its `signatureAlgorithm` option).
pub const LEGACY_SIGNATURE_VAR: &str = "LEGACY_CLIENT_SESSIONS_SIGNATURE_ALGORITHM";
/// `client-sessions`' default cookie name.
pub const LEGACY_DEFAULT_COOKIE: &str = "session_state";
/// The longest legacy cookie value read (the browser's own limit).
const MAX_VALUE_LEN: usize = 4096;

/// The HMAC of a `client-sessions` cookie (its `signatureAlgorithm` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// `sha256` (the default).
    #[default]
    Sha256,
    /// `sha256-drop128`: HMAC-SHA256 truncated to 16 bytes.
    Sha256Drop128,
    /// `sha384`.
    Sha384,
    /// `sha384-drop192`: truncated to 24 bytes.
    Sha384Drop192,
    /// `sha512`.
    Sha512,
    /// `sha512-drop256`: truncated to 32 bytes.
    Sha512Drop256,
}

impl SignatureAlgorithm {
    /// The name `client-sessions` uses, e.g. `sha256-drop128`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::Sha256 => "sha256",
            SignatureAlgorithm::Sha256Drop128 => "sha256-drop128",
            SignatureAlgorithm::Sha384 => "sha384",
            SignatureAlgorithm::Sha384Drop192 => "sha384-drop192",
            SignatureAlgorithm::Sha512 => "sha512",
            SignatureAlgorithm::Sha512Drop256 => "sha512-drop256",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            SignatureAlgorithm::Sha256,
            SignatureAlgorithm::Sha256Drop128,
            SignatureAlgorithm::Sha384,
            SignatureAlgorithm::Sha384Drop192,
            SignatureAlgorithm::Sha512,
            SignatureAlgorithm::Sha512Drop256,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The shortest signature key the library accepts for it.
    fn min_key_len(self) -> usize {
        match self {
            SignatureAlgorithm::Sha256 | SignatureAlgorithm::Sha256Drop128 => 32,
            SignatureAlgorithm::Sha384 | SignatureAlgorithm::Sha384Drop192 => 48,
            SignatureAlgorithm::Sha512 | SignatureAlgorithm::Sha512Drop256 => 64,
        }
    }

    /// The MAC of `parts`, truncated as the algorithm says.
    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn full<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
            for part in parts {
                mac.update(part);
            }
            Zeroizing::new(mac.finalize().into_bytes().to_vec())
        }
        let (mut tag, keep) = match self {
            SignatureAlgorithm::Sha256 => (full::<Hmac<Sha256>>(key, parts), 32),
            SignatureAlgorithm::Sha256Drop128 => (full::<Hmac<Sha256>>(key, parts), 16),
            SignatureAlgorithm::Sha384 => (full::<Hmac<Sha384>>(key, parts), 48),
            SignatureAlgorithm::Sha384Drop192 => (full::<Hmac<Sha384>>(key, parts), 24),
            SignatureAlgorithm::Sha512 => (full::<Hmac<Sha512>>(key, parts), 64),
            SignatureAlgorithm::Sha512Drop256 => (full::<Hmac<Sha512>>(key, parts), 32),
        };
        tag.truncate(keep);
        tag
    }
}

/// How to open the cookies of an Express application on `client-sessions`:
/// see [the module](self).
#[derive(Clone)]
pub struct LegacyClientSessions {
    cookie_name: String,
    encryption_key: Zeroizing<Vec<u8>>,
    signature_key: Zeroizing<Vec<u8>>,
    signature: SignatureAlgorithm,
    path: String,
    domain: Option<String>,
}

impl fmt::Debug for LegacyClientSessions {
    /// Never shows a key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyClientSessions")
            .field("cookie_name", &self.cookie_name)
            .field("signature", &self.signature)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// What a legacy cookie held.
#[derive(Debug, Clone)]
pub struct LegacySession {
    /// The session's content (the JSON object after `cookieName=`).
    pub data: SessionData,
    /// `createdAt`, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// `duration`, in milliseconds.
    pub duration_ms: u64,
}

impl LegacySession {
    /// When the legacy cookie expires, in whole seconds since the Unix
    /// epoch (rounded up).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.created_at_ms
            .saturating_add(self.duration_ms)
            .div_ceil(1000)
    }
}

fn derive(secret: &[u8], label: &str) -> Zeroizing<Vec<u8>> {
    SignatureAlgorithm::Sha256.mac(secret, &[label.as_bytes()])
}

fn config_error(variable: &'static str, problem: &str) -> ConfigError {
    ConfigError::Legacy {
        variable,
        problem: problem.to_owned(),
    }
}

impl LegacyClientSessions {
    /// The library's default set-up: keys derived from `secret` (AES-256,
    /// HMAC-SHA256), cookie `cookie_name` on path `/`.
    ///
    /// # Errors
    /// [`ConfigError::Legacy`] when the secret is empty or the cookie name
    /// is empty or contains `=`.
    pub fn from_secret(cookie_name: &str, secret: &str) -> Result<Self, ConfigError> {
        if secret.is_empty() {
            return Err(config_error(LEGACY_SECRET_VAR, "the secret is empty"));
        }
        let legacy = LegacyClientSessions {
            cookie_name: cookie_name.to_owned(),
            encryption_key: derive(secret.as_bytes(), "cookiesession-encryption"),
            signature_key: derive(secret.as_bytes(), "cookiesession-signature"),
            signature: SignatureAlgorithm::Sha256,
            path: "/".to_owned(),
            domain: None,
        };
        legacy.validated()
    }

    /// Explicit keys (the library's `encryptionKey` / `signatureKey`
    /// options): AES-128, -192 or -256 by the encryption key's length.
    ///
    /// # Errors
    /// [`ConfigError::Legacy`] for an encryption key that is not 16, 24 or
    /// 32 bytes, a signature key shorter than 32 bytes, equal keys, or a bad
    /// cookie name.
    pub fn from_keys(
        cookie_name: &str,
        encryption_key: &[u8],
        signature_key: &[u8],
    ) -> Result<Self, ConfigError> {
        let legacy = LegacyClientSessions {
            cookie_name: cookie_name.to_owned(),
            encryption_key: Zeroizing::new(encryption_key.to_vec()),
            signature_key: Zeroizing::new(signature_key.to_vec()),
            signature: SignatureAlgorithm::Sha256,
            path: "/".to_owned(),
            domain: None,
        };
        legacy.validated()
    }

    /// The library's `signatureAlgorithm` option.
    ///
    /// # Errors
    /// [`ConfigError::Legacy`] when the signature key is shorter than the
    /// algorithm needs (with a secret, only `sha256` and `sha256-drop128`
    /// work, as in the library).
    pub fn signature_algorithm(
        mut self,
        algorithm: SignatureAlgorithm,
    ) -> Result<Self, ConfigError> {
        self.signature = algorithm;
        self.validated()
    }

    /// The legacy cookie's `Path` (default `/`), used to expire it.
    #[must_use]
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The legacy cookie's `Domain`, if it had one, used to expire it.
    #[must_use]
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// From `LEGACY_CLIENT_SESSIONS_SECRET`, `LEGACY_CLIENT_SESSIONS_COOKIE`
    /// (default `session_state`) and `LEGACY_CLIENT_SESSIONS_SIGNATURE_ALGORITHM`
    /// (default `sha256`); `Ok(None)` when the secret is not set.
    ///
    /// # Errors
    /// [`ConfigError::Legacy`] naming the variable and the problem (never
    /// its value, for the secret).
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with another source of variables.
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(secret) = lookup(LEGACY_SECRET_VAR).map(Zeroizing::new) else {
            return Ok(None);
        };
        let cookie = lookup(LEGACY_COOKIE_VAR).unwrap_or_else(|| LEGACY_DEFAULT_COOKIE.to_owned());
        let legacy = Self::from_secret(cookie.trim(), &secret)?;
        match lookup(LEGACY_SIGNATURE_VAR) {
            None => Ok(Some(legacy)),
            Some(name) => {
                let algorithm = SignatureAlgorithm::from_name(name.trim()).ok_or_else(|| {
                    config_error(
                        LEGACY_SIGNATURE_VAR,
                        "not a client-sessions signature algorithm (sha256, sha256-drop128, sha384, sha384-drop192, sha512, sha512-drop256)",
                    )
                })?;
                legacy
                    .signature_algorithm(algorithm)
                    .map_err(|_| config_error(LEGACY_SIGNATURE_VAR, "the algorithm needs a longer signature key than a secret gives (use sha256 or sha256-drop128)"))
                    .map(Some)
            }
        }
    }

    fn validated(self) -> Result<Self, ConfigError> {
        if self.cookie_name.is_empty()
            || self.cookie_name.contains('=')
            || !self
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            return Err(config_error(
                LEGACY_COOKIE_VAR,
                "not a cookie name (empty, or contains '=', ';', ',' or spaces)",
            ));
        }
        if ![16, 24, 32].contains(&self.encryption_key.len()) {
            return Err(config_error(
                LEGACY_SECRET_VAR,
                "the encryption key must be 16, 24 or 32 bytes",
            ));
        }
        if self.signature_key.len() < self.signature.min_key_len() {
            return Err(config_error(
                LEGACY_SECRET_VAR,
                "the signature key is too short for the signature algorithm",
            ));
        }
        if bool::from(
            self.encryption_key
                .as_slice()
                .ct_eq(self.signature_key.as_slice()),
        ) {
            return Err(config_error(
                LEGACY_SECRET_VAR,
                "the encryption and signature keys must differ",
            ));
        }
        Ok(self)
    }

    /// The legacy cookie's name.
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The `Set-Cookie` value that deletes the legacy cookie.
    pub(crate) fn expiry(&self, secure: bool) -> String {
        let mut text = format!("{}=; Max-Age=0; Path={}", self.cookie_name, self.path);
        if let Some(domain) = &self.domain {
            text.push_str("; Domain=");
            text.push_str(domain);
        }
        text.push_str("; HttpOnly");
        if secure {
            text.push_str("; Secure");
        }
        text
    }

    /// Opens a legacy cookie's value at `now` (Unix seconds).
    ///
    /// # Errors
    /// The [`RejectReason`] of the first step that fails (see [the module](self)).
    pub fn open(&self, value: &str, now: u64) -> Result<LegacySession, RejectReason> {
        if value.len() > MAX_VALUE_LEN {
            return Err(RejectReason::TooLarge);
        }
        let parts: Vec<&str> = value.split('.').collect();
        let [iv, ciphertext, created_at, duration, mac] = parts[..] else {
            return Err(RejectReason::Malformed);
        };
        let decode = |text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map(Zeroizing::new)
                .map_err(|_| RejectReason::Malformed)
        };
        let (iv, ciphertext, mac) = (decode(iv)?, decode(ciphertext)?, decode(mac)?);
        let number = |text: &str| {
            if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RejectReason::Malformed);
            }
            text.parse::<u64>().map_err(|_| RejectReason::Malformed)
        };
        let (created_at_ms, duration_ms) = (number(created_at)?, number(duration)?);
        if iv.len() != 16 {
            return Err(RejectReason::Malformed);
        }
        // The library MACs the numbers as JavaScript prints them.
        let (created_text, duration_text) = (created_at_ms.to_string(), duration_ms.to_string());
        let expected = self.signature.mac(
            &self.signature_key,
            &[
                &iv,
                b".",
                &ciphertext,
                b".",
                created_text.as_bytes(),
                b".",
                duration_text.as_bytes(),
            ],
        );
        if !bool::from(expected.as_slice().ct_eq(mac.as_slice())) {
            return Err(RejectReason::Unauthenticated);
        }
        let plaintext = self.decrypt(&iv, &ciphertext)?;
        let json = plaintext
            .strip_prefix(self.cookie_name.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
            .ok_or(RejectReason::InvalidBody)?;
        let data = SessionData::from_json_vec(json.to_vec()).ok_or(RejectReason::InvalidBody)?;
        if now.saturating_mul(1000) > created_at_ms.saturating_add(duration_ms) {
            return Err(RejectReason::Expired);
        }
        Ok(LegacySession {
            data,
            created_at_ms,
            duration_ms,
        })
    }

    fn decrypt(&self, iv: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, RejectReason> {
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
            return Err(RejectReason::InvalidBody);
        }
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let key = self.encryption_key.as_slice();
        let len = match key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
                .map_err(|_| RejectReason::InvalidBody)?
                .decrypt_padded::<Pkcs7>(&mut buffer)
                .map(<[u8]>::len),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
                .map_err(|_| RejectReason::InvalidBody)?
                .decrypt_padded::<Pkcs7>(&mut buffer)
                .map(<[u8]>::len),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                .map_err(|_| RejectReason::InvalidBody)?
                .decrypt_padded::<Pkcs7>(&mut buffer)
                .map(<[u8]>::len),
        }
        .map_err(|_| RejectReason::InvalidBody)?;
        buffer.truncate(len);
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    //! Edge cases no cookie minted by the library contains, sealed here the
    //! way the library seals (`tests/legacy_client_sessions.rs` has the
    //! library's own cookies).
    use aes::cipher::BlockModeEncrypt;

    use super::*;

    const ENC: [u8; 24] = [7; 24];
    const SIG: [u8; 32] = [9; 32];

    fn reader() -> LegacyClientSessions {
        LegacyClientSessions::from_keys("s", &ENC, &SIG).unwrap()
    }

    /// A cookie as client-sessions would write it, with the numbers as given.
    fn seal(plaintext: &[u8], created_at: &str, duration: &str) -> String {
        let iv = [3u8; 16];
        let ciphertext = cbc::Encryptor::<aes::Aes192>::new_from_slices(&ENC, &iv)
            .unwrap()
            .encrypt_padded_vec::<Pkcs7>(plaintext);
        seal_raw(&iv, &ciphertext, created_at, duration)
    }

    fn seal_raw(iv: &[u8], ciphertext: &[u8], created_at: &str, duration: &str) -> String {
        let mac = SignatureAlgorithm::Sha256.mac(
            &SIG,
            &[
                iv,
                b".",
                ciphertext,
                b".",
                created_at.as_bytes(),
                b".",
                duration.as_bytes(),
            ],
        );
        [
            URL_SAFE_NO_PAD.encode(iv),
            URL_SAFE_NO_PAD.encode(ciphertext),
            created_at.to_owned(),
            duration.to_owned(),
            URL_SAFE_NO_PAD.encode(mac.as_slice()),
        ]
        .join(".")
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn aes_192_keys_open_and_the_expiry_is_inclusive() {
        let body = br#"s={"user":"u"}"#;
        let created = (NOW * 1000 - 60_000).to_string();
        let cookie = seal(body, &created, "60000");
        let opened = reader().open(&cookie, NOW).unwrap();
        assert_eq!(opened.data.to_json(), r#"{"user":"u"}"#);
        // created + duration == now, to the millisecond: still valid; a second later, not.
        assert_eq!(
            reader().open(&cookie, NOW + 1).map(|_| ()),
            Err(RejectReason::Expired)
        );
    }

    #[test]
    fn numbers_are_decimal_digits_up_to_sixteen() {
        let body = br#"s={}"#;
        let sixteen = "1000000000000000";
        assert!(
            reader().open(&seal(body, "0", sixteen), NOW).is_ok(),
            "16 digits"
        );
        for (created, duration) in [
            ("0", "10000000000000000"), // 17 digits
            ("+1800000000000", "1000"),
            ("", "1000"),
            ("0", "1e3"),
            ("-1", "1000"),
        ] {
            let cookie = seal(body, created, duration);
            assert_eq!(
                reader().open(&cookie, NOW).map(|_| ()),
                Err(RejectReason::Malformed),
                "{created:?} {duration:?}"
            );
        }
    }

    #[test]
    fn the_value_is_bounded_and_the_ciphertext_whole_blocks() {
        assert_eq!(
            reader().open(&"A".repeat(4096), NOW).map(|_| ()),
            Err(RejectReason::Malformed)
        );
        assert_eq!(
            reader().open(&"A".repeat(4097), NOW).map(|_| ()),
            Err(RejectReason::TooLarge)
        );
        let far = (NOW * 1000).to_string();
        for ciphertext in [&[][..], &[1u8; 17][..], &[1u8; 16][..]] {
            let cookie = seal_raw(&[3; 16], ciphertext, &far, "1000");
            assert_eq!(
                reader().open(&cookie, NOW).map(|_| ()),
                Err(RejectReason::InvalidBody),
                "{} bytes",
                ciphertext.len()
            );
        }
    }
}
