//! The `Session` handle that handlers use: typed access, dirty tracking,
//! lazy opening of the cookie. The per-request state is private to this
//! module; the response future gets a [`Finished`] value from
//! [`Session::finish`].

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderValue, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{CookieSize, SessionConfig};
use crate::data::SessionData;
use crate::error::{RejectReason, SealError, ValueError};
use crate::policy::{self, Brought, Did, Lifetimes, Opened, Plan};

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

/// One request's session. Private to this module: handlers use the
/// [`Session`] methods, the layer [`Session::for_request`] and
/// [`Session::finish`].
struct State {
    config: Arc<SessionConfig>,
    /// The time of the request, read once.
    now: u64,
    /// The cookie's value until it is opened; `None` once opened (or when
    /// there was none).
    pending: Option<PendingCookie>,
    data: SessionData,
    /// What the request brought: whether it carried a cookie (valid or
    /// not), and the session when the cookie opened.
    brought: Brought,
    /// The highest chunk index the request carried: a response that writes
    /// fewer chunks, or ends the session, expires the ones up to here.
    highest_chunk: usize,
    did: Did,
    /// The response has left: a change now is lost, and said so in a warning.
    responded: bool,
}

/// What the response future needs once the handler has answered: the plan,
/// and for a seal the sealed value with how it would travel (or why
/// sealing failed).
pub(crate) struct Finished {
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) plan: Plan,
    pub(crate) sealed: Option<Result<(String, CookieSize), SealError>>,
    pub(crate) highest_chunk: usize,
    /// The handler read or changed the session: the response depends on the cookie.
    pub(crate) touched: bool,
    /// The handler read a session the request's cookie opened: the response
    /// may show it, so shared caches must not keep it.
    pub(crate) revealed: bool,
    /// Length of the session's JSON, for the log line of a refused seal.
    pub(crate) body_len: usize,
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
    /// Refused before opening (duplicate, broken chunks, too long): only
    /// the reason is kept, to be logged if the handler touches the session.
    Rejected(RejectReason),
}

impl PendingCookie {
    /// The value to open, or why there is none.
    fn value(&self) -> Result<&str, RejectReason> {
        match self {
            // `chunk::read` checked this range is UTF-8, so this never gives "".
            // (The lint mistakes `HeaderValue::as_bytes` for `str::as_bytes`.)
            #[allow(clippy::string_from_utf8_as_bytes)]
            PendingCookie::InHeader { header, start, end } => {
                Ok(std::str::from_utf8(&header.as_bytes()[*start..*end]).unwrap_or(""))
            }
            PendingCookie::Joined(value) => Ok(value),
            PendingCookie::Rejected(reason) => Err(*reason),
        }
    }
}

impl Session {
    /// The session of a request that carried `pending` (not opened yet),
    /// `had_cookie` a cookie or chunks under the session's name, and chunks
    /// up to `highest_chunk`.
    pub(crate) fn for_request(
        config: &Arc<SessionConfig>,
        pending: Option<PendingCookie>,
        had_cookie: bool,
        highest_chunk: usize,
    ) -> Session {
        let state = State {
            now: config.clock.now(),
            config: Arc::clone(config),
            pending,
            data: SessionData::default(),
            brought: Brought {
                cookie: had_cookie,
                opened: None,
            },
            highest_chunk,
            did: Did::default(),
            responded: false,
        };
        Session {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Decides what the response carries, for a response with `status`:
    /// called once, when the response leaves the handler. A change after
    /// this is lost (and warned about).
    pub(crate) fn finish(&self, status: StatusCode) -> Finished {
        let mut state = self.lock();
        state.responded = true;
        let config = &state.config;
        let lifetimes = Lifetimes {
            idle: config.codec.idle_timeout(),
            absolute: config.codec.lifetime(),
            renew_fraction: config.renew_fraction,
            ephemeral: config.ephemeral,
        };
        let did = Did {
            empty: state.data.is_empty(),
            ..state.did
        };
        let plan = policy::plan(state.brought, did, status, lifetimes, state.now);
        if status.is_server_error() && did.changed && plan != Plan::Expire {
            tracing::debug!(
                status = status.as_u16(),
                "session changes not saved: the response is a server error"
            );
        }
        let sealed = match plan {
            Plan::Seal(seal) => Some(
                config
                    .codec
                    .seal(&state.data, seal.created_at, seal.expires_at)
                    .map(|value| {
                        let size = config.cookie_size(value.len());
                        (value, size)
                    }),
            ),
            Plan::Nothing | Plan::Expire => None,
        };
        // Only for the log line of a seal that cannot be written (rare).
        let refused = match &sealed {
            Some(Ok((_, size))) => !size.fits,
            Some(Err(_)) => true,
            None => false,
        };
        let body_len = if refused {
            state.data.to_json().len()
        } else {
            0
        };
        Finished {
            config: Arc::clone(config),
            plan,
            sealed,
            highest_chunk: state.highest_chunk,
            touched: did.touched,
            revealed: did.touched && state.brought.opened.is_some() && !did.destroyed,
            body_len,
        }
    }

    /// Locks the state and opens the cookie if that has not happened yet.
    fn loaded(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        state.did.touched = true;
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

    fn lock(&self) -> MutexGuard<'_, State> {
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
            state.did.changed = true;
        }
        Ok(())
    }

    /// Removes the value at `key`; returns whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        let mut state = self.loaded_for_change("remove");
        let removed = state.data.remove(key);
        state.did.changed |= removed;
        removed
    }

    /// Removes the value at `key` and returns it as a `T` (`None` when there
    /// was none or it was not a `T`; it is removed either way).
    pub fn take<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let mut state = self.loaded_for_change("take");
        let value = state.data.get(key).ok().flatten();
        if state.data.remove(key) {
            state.did.changed = true;
        }
        value
    }

    /// Removes every value; the session keeps its creation time.
    pub fn clear(&self) {
        let mut state = self.loaded_for_change("clear");
        if state.data.clear() {
            state.did.changed = true;
        }
    }

    /// Ends the session: the response expires the cookie, every chunk of it,
    /// whatever its status (also on a 5xx, which saves no other change).
    /// Values inserted afterwards start a new session, with a new creation time.
    pub fn destroy(&self) {
        let mut state = self.loaded_for_change("destroy");
        state.data.clear();
        state.did.changed = true;
        state.did.destroyed = true;
    }

    /// Starts a new session with nothing of the old one: no values and a new
    /// creation time, so the absolute lifetime counts from now. Call it at
    /// login (and at any change of privilege) so a session fixed by an
    /// attacker before login is worthless after it.
    ///
    /// It is [`destroy`](Self::destroy) under the name that says what it is
    /// for: the old cookie is ended, and what the handler inserts next is
    /// sealed as a new session. Nothing is carried over on purpose: a value
    /// an attacker planted before login must not survive it. To keep a
    /// value (a cart), read it before and insert it again after.
    pub fn regenerate(&self) {
        self.destroy();
    }

    /// The session the request's cookie carried, unless destroyed since.
    fn opened(&self) -> Option<Opened> {
        let state = self.loaded();
        state.brought.opened.filter(|_| !state.did.destroyed)
    }

    /// Whether the request came with a session cookie that opened (and the
    /// handler has not destroyed that session).
    #[must_use]
    pub fn had_valid_cookie(&self) -> bool {
        self.opened().is_some()
    }

    /// When the session was created; `None` for a session this request starts.
    #[must_use]
    pub fn created_at(&self) -> Option<SystemTime> {
        self.opened().map(|o| unix(o.created_at))
    }

    /// When the session's cookie, as the request carried it, expires if not
    /// sealed again; `None` for a session this request starts.
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.opened().map(|o| unix(o.expires_at))
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
        self.cookie_size().is_ok_and(|size| size.fits)
    }

    fn cookie_size(&self) -> Result<CookieSize, SealError> {
        let state = self.loaded();
        let value_len = state.config.codec.sealed_len(&state.data)?;
        Ok(state.config.cookie_size(value_len))
    }
}

impl State {
    /// Opens the pending cookie, once.
    fn load(&mut self) {
        let Some(value) = self.pending.take() else {
            return;
        };
        let opened = value
            .value()
            .and_then(|value| self.config.codec.open(value, self.now));
        match opened {
            Ok(session) => {
                self.brought.opened = Some(Opened {
                    created_at: session.created_at(),
                    expires_at: session.expires_at(),
                    key_index: session.key_index(),
                });
                self.data = session.into_data();
            }
            // Two cookies of the name never come from a well-behaved browser.
            Err(RejectReason::Duplicate) => tracing::warn!(
                reason = RejectReason::Duplicate.as_str(),
                cookie = self.config.cookie_name(),
                "two session cookies of one name in one request (possible cookie tossing \
                 from a sibling domain); neither is used, the request has no session"
            ),
            Err(reason) => tracing::debug!(
                reason = reason.as_str(),
                "session cookie rejected; request has no session"
            ),
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
            .field("opened_yet", &state.pending.is_none())
            .field("data", &state.data)
            .field("brought", &state.brought)
            .field("did", &state.did)
            .finish_non_exhaustive()
    }
}
