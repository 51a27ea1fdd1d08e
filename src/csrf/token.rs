//! The CSRF token: a secret of 32 random bytes kept in the session, handed
//! out masked so that no two pages carry the same bytes.
//!
//! The secret is drawn from the operating system the first time a handler
//! asks for a token, and sealed with the session (under [`reserved::CSRF`]);
//! a new session ([`Session::regenerate`], [`Session::destroy`]) has a new
//! one. What a page carries is `base64url(pad ‖ secret ⊕ pad)` with a fresh
//! random 32-byte pad per call (86 characters): compression-based attacks on
//! HTTPS responses (BREACH) cannot recover a secret that never appears twice
//! in the same form. Verification unmasks and compares in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::reserved;
use crate::session::Session;

/// Bytes of the secret and of the pad.
const SECRET_LEN: usize = 32;
/// Characters of a masked token: base64url of pad ‖ masked secret.
pub(crate) const MASKED_LEN: usize = 86;

/// A masked CSRF token for one page: put it in a hidden form field (the
/// layer looks for `csrf_token`) or send it in the `X-CSRF-Token` header.
///
/// Every call to [`Session::csrf_token`] gives different text for the same
/// session secret; all of them verify. The text is base64url, safe in HTML
/// attributes and headers without escaping.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CsrfToken {
    /// Never shows the token: it is a credential for the session's forms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(…)")
    }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, SealError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    rand::rngs::SysRng
        .try_fill_bytes(bytes.as_mut())
        .map_err(|_| SealError::RandomUnavailable)?;
    Ok(bytes)
}

/// The session's secret, decoded; `None` when it has none (or a broken one).
fn decode_secret(stored: &str) -> Option<Zeroizing<[u8; SECRET_LEN]>> {
    let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
    let decoded = Zeroizing::new(URL_SAFE_NO_PAD.decode(stored).ok()?);
    if decoded.len() != SECRET_LEN {
        return None;
    }
    secret.copy_from_slice(&decoded);
    Some(secret)
}

/// `secret` masked with a fresh pad.
fn mask(secret: &[u8; SECRET_LEN]) -> Result<CsrfToken, SealError> {
    let pad = random::<SECRET_LEN>()?;
    let mut out = Zeroizing::new([0u8; 2 * SECRET_LEN]);
    out[..SECRET_LEN].copy_from_slice(pad.as_ref());
    for (i, byte) in secret.iter().enumerate() {
        out[SECRET_LEN + i] = byte ^ pad[i];
    }
    Ok(CsrfToken(URL_SAFE_NO_PAD.encode(out.as_ref())))
}

/// Whether `submitted` is `secret` masked by some pad: same length, then a
/// constant-time comparison of the unmasked bytes.
pub(crate) fn matches(secret: &[u8; SECRET_LEN], submitted: &str) -> bool {
    if submitted.len() != MASKED_LEN {
        return false;
    }
    let Ok(decoded) = URL_SAFE_NO_PAD.decode(submitted) else {
        return false;
    };
    let decoded = Zeroizing::new(decoded);
    if decoded.len() != 2 * SECRET_LEN {
        return false;
    }
    let (pad, masked) = decoded.split_at(SECRET_LEN);
    let mut unmasked = Zeroizing::new([0u8; SECRET_LEN]);
    for i in 0..SECRET_LEN {
        unmasked[i] = masked[i] ^ pad[i];
    }
    bool::from(unmasked.ct_eq(secret))
}

impl Session {
    /// A CSRF token for a form or a script, creating the session's secret
    /// on first use (which starts a session if there was none: the
    /// response sets a cookie). See [`CsrfLayer`](crate::CsrfLayer) for
    /// the check.
    ///
    /// ```
    /// use client_session::testing;
    ///
    /// let session = testing::session();
    /// let token = session.csrf_token()?;
    /// let form = format!(r#"<input type="hidden" name="csrf_token" value="{token}">"#);
    /// assert!(session.verify_csrf_token(token.as_str()));
    /// // Another call masks the same secret differently; both verify.
    /// let other = session.csrf_token()?;
    /// assert_ne!(token, other);
    /// assert!(session.verify_csrf_token(other.as_str()));
    /// # let _ = form;
    /// # Ok::<(), client_session::SealError>(())
    /// ```
    ///
    /// # Errors
    /// [`SealError::RandomUnavailable`] when the operating system's random
    /// generator fails.
    pub fn csrf_token(&self) -> Result<CsrfToken, SealError> {
        let stored: Option<String> = self.reserved_value(reserved::CSRF);
        if let Some(secret) = stored.as_deref().and_then(decode_secret) {
            return mask(&secret);
        }
        let secret = random::<SECRET_LEN>()?;
        let encoded = URL_SAFE_NO_PAD.encode(secret.as_ref());
        self.update_reserved("csrf_token", reserved::CSRF, |stored: &mut String| {
            *stored = encoded;
        });
        mask(&secret)
    }

    /// Whether `submitted` is a token of this session (from
    /// [`csrf_token`](Self::csrf_token), in this or an earlier response).
    /// False when the session has no secret: a session that expired, a new
    /// one after login, or a request without the cookie.
    #[must_use]
    pub fn verify_csrf_token(&self, submitted: &str) -> bool {
        let stored: Option<String> = self.reserved_value(reserved::CSRF);
        stored
            .as_deref()
            .and_then(decode_secret)
            .is_some_and(|secret| matches(&secret, submitted))
    }

    /// Whether the session holds a CSRF secret (for the refusal reason).
    pub(crate) fn has_csrf_secret(&self) -> bool {
        self.reserved_value::<String>(reserved::CSRF).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_verifies_and_every_change_breaks_it() {
        let secret = *random::<SECRET_LEN>().unwrap();
        let token = mask(&secret).unwrap();
        assert_eq!(token.as_str().len(), MASKED_LEN);
        assert!(matches(&secret, token.as_str()));
        // Another secret, a flipped character anywhere, a shorter or longer text.
        let other = *random::<SECRET_LEN>().unwrap();
        assert!(!matches(&other, token.as_str()));
        for i in 0..MASKED_LEN {
            let mut bytes = token.as_str().as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(!matches(&secret, &changed), "position {i}");
        }
        assert!(!matches(&secret, &token.as_str()[1..]));
        assert!(!matches(&secret, &format!("{token}A")));
        assert!(!matches(&secret, ""));
        // The unmasked secret itself is not a token.
        assert!(!matches(&secret, &URL_SAFE_NO_PAD.encode(secret)));
        // Padded or standard base64 of a valid token is refused (one spelling only).
        assert!(
            !matches(&secret, &token.as_str().replace('-', "+")) || !token.as_str().contains('-')
        );
    }

    #[test]
    fn two_masks_of_one_secret_differ() {
        let secret = *random::<SECRET_LEN>().unwrap();
        let a = mask(&secret).unwrap();
        let b = mask(&secret).unwrap();
        assert_ne!(a, b);
        assert!(matches(&secret, a.as_str()) && matches(&secret, b.as_str()));
        assert_eq!(format!("{a:?}"), "CsrfToken(…)");
    }

    #[test]
    fn stored_secrets_of_the_wrong_length_are_no_secret() {
        assert!(decode_secret(&URL_SAFE_NO_PAD.encode([7u8; 31])).is_none());
        assert!(decode_secret(&URL_SAFE_NO_PAD.encode([7u8; 33])).is_none());
        assert!(decode_secret("not base64!").is_none());
        assert_eq!(
            *decode_secret(&URL_SAFE_NO_PAD.encode([7u8; 32])).unwrap(),
            [7u8; 32]
        );
    }
}
