//! The session keys the crate keeps for itself, next to the application's
//! values in the sealed JSON object: the CSRF token and the flash messages.
//!
//! The application never sees them: [`Session::get`](crate::Session::get),
//! [`keys`](crate::Session::keys), [`is_empty`](crate::Session::is_empty) and
//! typed access skip them, and storing a value under one of them is refused
//! ([`ValueError::ReservedKey`](crate::ValueError::ReservedKey)). Keys that
//! begin with `$` are reserved for future use of the same kind; today only
//! these two are refused.

/// The session's CSRF secret (base64url of 32 random bytes).
pub(crate) const CSRF: &str = "$csrf";
/// Flash messages set by one request for the next.
pub(crate) const FLASH: &str = "$flash";

/// Whether `key` belongs to the crate rather than the application.
pub(crate) fn is_reserved(key: &str) -> bool {
    key == CSRF || key == FLASH
}
