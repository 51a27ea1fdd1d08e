//! Helpers for the application's own tests: a [`Session`] built and
//! inspected without a layer or HTTP, the cookie its response would set,
//! and a [`CookieJar`] that turns a response's `Set-Cookie` headers into
//! the next request's `Cookie`.
//!
//! ```
//! use client_session::{Session, testing};
//!
//! // The handler under test, called directly.
//! fn add_to_cart(session: &Session, item: &str) {
//!     let mut cart: Vec<String> = session.get("cart").unwrap_or_default();
//!     cart.push(item.to_owned());
//!     session.insert("cart", &cart).unwrap();
//! }
//!
//! let session = testing::session();
//! add_to_cart(&session, "apple");
//! // What the browser would send back, opened as the next request.
//! let next = testing::next_request(&session);
//! add_to_cart(&next, "pear");
//! assert_eq!(next.get::<Vec<String>>("cart").unwrap(), ["apple", "pear"]);
//! ```
//!
//! Everything here goes through the same code as the layer: the session is
//! sealed, written into `Set-Cookie`, read back from a `Cookie` header and
//! opened — with the configuration's clock, so a
//! [`ManualClock`](crate::ManualClock) moves a test through lifetimes.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::config::SessionConfig;
use crate::future::{Written, apply};
use crate::keys::{Key, Keyring};
use crate::service::session_for;
use crate::session::Session;

/// A configuration for tests: a random key, every default.
#[must_use]
pub fn config() -> SessionConfig {
    SessionConfig::builder(Keyring::single(Key::generate()))
        .build()
        .expect("the default configuration with a generated key is valid")
}

/// A session as a request without a cookie sees it, under [`config`].
#[must_use]
pub fn session() -> Session {
    session_with(config())
}

/// A session as a request without a cookie sees it, under `config`.
#[must_use]
pub fn session_with(config: SessionConfig) -> Session {
    session_for(&Arc::new(config), &HeaderMap::new())
}

/// A session as a request carrying `cookie` (a `Cookie` header value, e.g.
/// from [`CookieJar::header`]) sees it, under `config`.
#[must_use]
pub fn session_from_cookie(config: SessionConfig, cookie: &HeaderValue) -> Session {
    session_from_headers(Arc::new(config), cookie)
}

fn session_from_headers(config: Arc<SessionConfig>, cookie: &HeaderValue) -> Session {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, cookie.clone());
    let session = session_for(&config, &headers);
    session.set_test_cookie(cookie.clone());
    session
}

/// The `Set-Cookie` headers the layer would add to a `200 OK` response for
/// `session`, as they are now. Ends the session's request: later changes
/// to `session` are lost (as after a real response).
///
/// # Panics
/// When the layer would answer 500 (the session does not fit its cookies):
/// that is the test's finding.
#[must_use]
pub fn response_cookies(session: &Session) -> Vec<HeaderValue> {
    response_cookies_for(session, StatusCode::OK)
}

/// [`response_cookies`] for a response with `status` (a 5xx saves nothing).
///
/// # Panics
/// When the layer would answer 500 (the session does not fit its cookies).
#[must_use]
pub fn response_cookies_for(session: &Session, status: StatusCode) -> Vec<HeaderValue> {
    let finished = session.finish(status);
    let mut headers = HeaderMap::new();
    let written = apply(&finished, &mut headers);
    assert!(
        written != Written::Refused,
        "the layer would answer 500: the session does not fit its cookies"
    );
    headers.get_all(SET_COOKIE).iter().cloned().collect()
}

/// The session of the next request of the same browser: `session`'s
/// response cookies (as [`response_cookies`]) stored in a jar and sent
/// back. A session whose response sets nothing is sent back as it came.
///
/// # Panics
/// When the layer would answer 500 (the session does not fit its cookies).
#[must_use]
pub fn next_request(session: &Session) -> Session {
    let config = session.config();
    let mut jar = CookieJar::new();
    if let Some(cookie) = session.test_cookie().as_ref().and_then(|c| c.to_str().ok()) {
        jar.store_pair(cookie);
    }
    jar.update(response_cookies(session).iter());
    match jar.header() {
        Some(cookie) => session_from_headers(config, &cookie),
        None => session_for(&config, &HeaderMap::new()),
    }
}

/// A minimal cookie jar for tests: remembers `name=value` pairs from
/// `Set-Cookie` headers, forgets those expired (`Max-Age=0` or an empty
/// value), and writes the `Cookie` header of the next request. It ignores
/// paths, domains and `Secure`, as tests against one application can.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl CookieJar {
    /// An empty jar.
    #[must_use]
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// Takes in every `Set-Cookie` of a response's headers.
    pub fn update_from(&mut self, headers: &HeaderMap) {
        self.update(headers.get_all(SET_COOKIE).iter());
    }

    /// Takes in `Set-Cookie` header values.
    pub fn update<'a>(&mut self, set_cookies: impl IntoIterator<Item = &'a HeaderValue>) {
        for set_cookie in set_cookies {
            let Ok(text) = set_cookie.to_str() else {
                continue;
            };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let expired = value.is_empty()
                || parts.any(|attribute| {
                    attribute.trim().split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("max-age") && v.trim() == "0"
                    })
                });
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn store_pair(&mut self, cookie: &str) {
        for pair in cookie.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// The value of the cookie `name`, if the jar holds it.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// The names of the cookies held, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.cookies.keys().map(String::as_str)
    }

    /// Whether the jar holds no cookie.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The `Cookie` header for the next request; `None` when empty.
    #[must_use]
    pub fn header(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let text = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::lifetime::Lifetime;
    use std::time::Duration;

    fn value(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn the_jar_keeps_set_cookies_and_forgets_expired_ones() {
        let mut jar = CookieJar::new();
        assert_eq!(jar.header(), None);
        jar.update([
            &value("b=2; Path=/; HttpOnly"),
            &value("a=1; Max-Age=60"),
            &value("broken"),
        ]);
        assert_eq!(jar.header().unwrap(), "a=1; b=2");
        assert_eq!(jar.get("a"), Some("1"));
        jar.update([&value("a=; Max-Age=0; Path=/"), &value("b=3")]);
        assert_eq!(jar.header().unwrap(), "b=3");
        jar.update([&value("b=4; max-age = 0")]);
        assert!(jar.is_empty(), "{:?}", jar.names().collect::<Vec<_>>());
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, value("c=5"));
        headers.append(SET_COOKIE, value("d=6; Max-Age=0"));
        jar.update_from(&headers);
        assert_eq!(jar.names().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn next_request_carries_the_session_and_the_clock_moves_it_through_lifetimes() {
        let clock = ManualClock::new(1_800_000_000);
        let config = SessionConfig::builder(Keyring::single(Key::generate()))
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(600))
            .build()
            .unwrap();
        let first = session_with(config);
        assert!(first.id().is_none());
        first.insert("user", "alice").unwrap();
        let id = first.id();
        let second = next_request(&first);
        assert_eq!(second.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(second.id(), id);
        // A read-only request sets nothing: the browser sends the same cookie again.
        let third = next_request(&second);
        assert_eq!(third.id(), id);
        // Past the idle timeout: no session.
        clock.advance(601);
        let late = next_request(&third);
        assert!(late.id().is_none() && late.is_empty());
    }

    #[test]
    fn clear_keeps_the_csrf_token_and_the_flash_for_the_next_request() {
        let session = session();
        session.insert("user", "alice").unwrap();
        let token = session.csrf_token().unwrap();
        session.flash(crate::Level::Info, "kept");
        session.clear();
        assert!(session.is_empty() && session.keys().is_empty());
        assert!(session.verify_csrf_token(token.as_str()));
        let next = next_request(&session);
        assert_eq!(next.flashes().len(), 1);
        assert_eq!(next.flashes()[0].message, "kept");
        assert!(next.verify_csrf_token(token.as_str()));
        assert_eq!(next.get::<String>("user"), None);
    }

    #[test]
    fn response_cookies_are_the_layers() {
        let session = session();
        assert!(response_cookies(&session).is_empty(), "untouched: nothing");
        let session = self::session();
        session.set_lifetime(Lifetime::browser_session(Duration::from_secs(60)));
        session.insert("k", &1).unwrap();
        let cookies = response_cookies(&session);
        assert_eq!(cookies.len(), 1);
        let text = cookies[0].to_str().unwrap();
        assert!(
            text.starts_with("__Host-session=") && !text.contains("Max-Age"),
            "{text}"
        );
        // A destroyed session's next request has none; a 5xx saves nothing.
        let next = next_request(&session);
        next.destroy();
        assert!(next_request(&next).is_empty());
        let failed = self::session();
        failed.insert("k", &1).unwrap();
        assert!(response_cookies_for(&failed, StatusCode::INTERNAL_SERVER_ERROR).is_empty());
    }
}
