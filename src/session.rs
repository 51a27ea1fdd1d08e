//! The `Session` handle that handlers use: typed access, dirty tracking,
//! lazy opening of the cookie.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::SessionConfig;
use crate::data::SessionData;
use crate::error::{SealError, ValueError};
use crate::writer::CookieSize;

/// The session of the current request.
///
/// The [`SessionLayer`](crate::SessionLayer) puts one in every request's
/// extensions (and, with the `axum` feature, it is an extractor). Clones are
/// cheap and share the same state, so a clone kept by a handler and the one the
/// layer reads when the response leaves are the same session.
///
/// The cookie is opened on first use: a handler that never touches the
/// session costs no decryption. A cookie that does not open (forged, expired,
/// sealed by an unknown key…) is indistinguishable, here, from no cookie.
///
/// # Concurrent requests
/// Each request gets its own copy of the session from the cookie it carried.
/// When two requests of one browser modify the session at the same time, the
/// response that arrives last sets the cookie (last write wins) and the other
/// change is lost. Keep values that many concurrent requests update (counters,
/// carts edited from several tabs) in a database keyed by a user id stored in
/// the session, or make updates idempotent.
///
/// # One request, one response
/// The layer writes the session into the response when the response leaves
/// the handler. A change made after that — by a clone moved into a spawned
/// task, or after a WebSocket upgrade — cannot reach the browser: it is
/// lost, and a `warn` log says so. Finish with the session before returning.
///
/// # Server errors
/// A response with a 5xx status saves no change and renews nothing: the
/// browser keeps the cookie it had, as if the request had not happened
/// (tower-sessions and Django do the same). [`destroy`](Self::destroy) and
/// [`regenerate`](Self::regenerate) still end the old session: its cookie is
/// expired whatever the status.
#[derive(Clone)]
pub struct Session {
    // A std Mutex: held only for short, non-async sections within one request,
    // never across an .await, so it cannot block the runtime.
    state: Arc<Mutex<State>>,
}

/// What the layer knows when the request arrives.
pub(crate) struct State {
    pub(crate) config: Arc<SessionConfig>,
    /// The time of the request, read once.
    pub(crate) now: u64,
    /// The cookie's value, until it is opened.
    pub(crate) pending: Option<PendingCookie>,
    pub(crate) loaded: bool,
    pub(crate) data: SessionData,
    /// Timestamps of the session the cookie carried, when it opened.
    pub(crate) opened: Option<Opened>,
    /// The request carried a cookie under the session's name (valid or not),
    /// or chunk cookies: a response ending the session must expire them.
    pub(crate) had_cookie: bool,
    pub(crate) highest_chunk: usize,
    pub(crate) modified: bool,
    /// `destroy()` (or `regenerate()`) ended the session the request brought:
    /// its cookie is expired whatever the response's status.
    pub(crate) destroyed: bool,
    /// The handler read or changed the session (its response depends on the cookie).
    pub(crate) accessed: bool,
    /// The response has left: a change now is lost, and said so in a warning.
    pub(crate) responded: bool,
}

/// Where the unopened cookie value is.
pub(crate) enum PendingCookie {
    /// A range of the request's `Cookie` header (a cheap, refcounted clone).
    InHeader {
        header: HeaderValue,
        start: usize,
        end: usize,
    },
    /// Chunks joined into one string.
    Joined(String),
}

impl PendingCookie {
    fn as_str(&self) -> &str {
        match self {
            // `chunk::read` checked this range is UTF-8, so this never gives "".
            // (The lint mistakes `HeaderValue::as_bytes` for `str::as_bytes`.)
            #[allow(clippy::string_from_utf8_as_bytes)]
            PendingCookie::InHeader { header, start, end } => {
                std::str::from_utf8(&header.as_bytes()[*start..*end]).unwrap_or("")
            }
            PendingCookie::Joined(value) => value,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Opened {
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) key_index: usize,
}

impl Session {
    pub(crate) fn new(state: State) -> Session {
        Session {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Locks the state and opens the cookie if that has not happened yet.
    fn loaded(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        state.accessed = true;
        state.load();
        state
    }

    /// Like [`loaded`](Self::loaded), for a call that changes the session:
    /// warns when the response has already left, since the change is lost.
    fn loaded_for_change(&self, call: &'static str) -> MutexGuard<'_, State> {
        let state = self.loaded();
        if state.responded {
            tracing::warn!(
                call,
                "session changed after its response was sent; the change is lost \
                 (a Session lives for one request: see the Session docs)"
            );
        }
        state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A handler that panicked while holding the lock leaves consistent
        // data behind (every write is a single assignment), so poison is ignored.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value at `key` as a `T`, or `None` when there is none.
    ///
    /// A stored value that is not a `T` also gives `None` (and a `warn` log);
    /// use [`try_get`](Self::try_get) to see that error.
    #[must_use]
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.try_get(key).unwrap_or_else(|err| {
            // The error names the key and type only; serde's own message could quote the value.
            tracing::warn!(%err, "session value has an unexpected type");
            None
        })
    }

    /// The value at `key` as a `T`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`ValueError::Deserialize`] when the stored JSON is not a `T`.
    pub fn try_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ValueError> {
        self.loaded().data.get(key)
    }

    /// Stores `value` at `key`. Storing a value equal to the current one does
    /// not count as a change (no `Set-Cookie` for it).
    ///
    /// # Errors
    /// [`ValueError::Serialize`] when `value` cannot be represented as JSON.
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), ValueError> {
        let mut state = self.loaded_for_change("insert");
        if state.data.insert(key, value)? {
            state.modified = true;
        }
        Ok(())
    }

    /// Removes the value at `key` and returns it as a `T` (`None` when there
    /// was none or it was not a `T`; it is removed either way).
    pub fn remove<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let mut state = self.loaded_for_change("remove");
        let value = state.data.get(key).ok().flatten();
        if state.data.remove(key) {
            state.modified = true;
        }
        value
    }

    /// Removes every value; the session keeps its creation time.
    pub fn clear(&self) {
        let mut state = self.loaded_for_change("clear");
        if state.data.clear() {
            state.modified = true;
        }
    }

    /// Ends the session: the response expires the cookie, every chunk of it,
    /// whatever its status (also on a 5xx, which saves no other change).
    /// Values inserted afterwards start a new session.
    pub fn destroy(&self) {
        let mut state = self.loaded_for_change("destroy");
        state.data.clear();
        state.opened = None;
        state.modified = true;
        state.destroyed = true;
    }

    /// Starts a new session with nothing of the old one: no values and a new
    /// creation time, so the absolute lifetime counts from now. Call it at
    /// login (and at any change of privilege) so a session fixed by an attacker
    /// before login is worthless after it.
    pub fn regenerate(&self) {
        self.destroy();
    }

    /// Whether the request came with a session cookie that opened.
    #[must_use]
    pub fn had_valid_cookie(&self) -> bool {
        // `destroy()`/`regenerate()` clear `opened`: the old session is gone.
        self.loaded().opened.is_some()
    }

    /// When the session was created; `None` for a session this request starts.
    #[must_use]
    pub fn created_at(&self) -> Option<SystemTime> {
        self.loaded().opened.map(|o| unix(o.created_at))
    }

    /// When the session's cookie, as the request carried it, expires if not
    /// sealed again; `None` for a session this request starts.
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.loaded().opened.map(|o| unix(o.expires_at))
    }

    /// The keys of the session's values, sorted.
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.loaded().data.keys().map(str::to_owned).collect()
    }

    /// Whether the session holds no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.loaded().data.is_empty()
    }

    /// The total `name=value` bytes the session's cookie(s) would take if
    /// sealed now. Compare it with
    /// [`SessionConfig::max_cookie_bytes`]: a session over that limit is not
    /// written, and the layer answers 500 instead.
    ///
    /// # Errors
    /// [`SealError::BodyTooLarge`] when the body is over the body limit.
    pub fn encoded_len(&self) -> Result<usize, SealError> {
        Ok(self.cookie_size()?.bytes)
    }

    /// Whether the session, sealed now, would be written: within the body
    /// limit, [`SessionConfig::max_chunks`] and
    /// [`SessionConfig::max_cookie_bytes`] — the same rule the layer applies.
    #[must_use]
    pub fn fits(&self) -> bool {
        let config = Arc::clone(&self.lock().config);
        self.cookie_size().is_ok_and(|size| size.fits(&config))
    }

    fn cookie_size(&self) -> Result<CookieSize, SealError> {
        let state = self.loaded();
        let value_len = state.config.codec.sealed_len(&state.data)?;
        Ok(CookieSize::of(&state.config, value_len))
    }
}

impl State {
    pub(crate) fn load(&mut self) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        let Some(value) = self.pending.take() else {
            return;
        };
        match self.config.codec.open(value.as_str(), self.now) {
            Ok(session) => {
                self.opened = Some(Opened {
                    created_at: session.created_at(),
                    expires_at: session.expires_at(),
                    key_index: session.key_index(),
                });
                self.data = session.into_data();
            }
            Err(reason) => {
                tracing::debug!(
                    reason = reason.as_str(),
                    "session cookie rejected; request has no session"
                );
            }
        }
    }
}

fn unix(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

impl fmt::Debug for Session {
    /// Shows the state and the keys, never the values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Session")
            .field("loaded", &state.loaded)
            .field("data", &state.data)
            .field("opened", &state.opened)
            .field("modified", &state.modified)
            .finish_non_exhaustive()
    }
}
