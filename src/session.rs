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
use crate::counters;
use crate::data::SessionData;
use crate::error::{RejectReason, SealError, ValueError};
use crate::flash::{self, Inbox};
use crate::format::SessionMeta;
use crate::id::SessionId;
use crate::keys::Keyring;
use crate::lifetime::Lifetime;
use crate::policy::{self, Brought, Did, Lifetimes, Opened, Plan};
use crate::reserved;
use crate::revocation::{AfterCheck, CheckError, CheckFuture, SessionSnapshot, Verdict};

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
    /// The key ring in force when the request arrived: the request opens
    /// and seals with it, whatever a key-file reload does meanwhile.
    ring: Keyring,
    /// The time of the request, read once.
    now: u64,
    /// The cookie's value until it is opened; `None` once opened (or when
    /// there was none).
    pending: Option<PendingCookie>,
    data: SessionData,
    /// The session's sealed fields besides the body and its times.
    identity: Identity,
    /// What the request brought: whether it carried a cookie (valid or
    /// not), and the session when the cookie opened.
    brought: Brought,
    /// The highest chunk index the request carried: a response that writes
    /// fewer chunks, or ends the session, expires the ones up to here.
    highest_chunk: usize,
    did: Did,
    /// The response has left: a change now is lost, and said so in a warning.
    responded: bool,
    /// Flash messages for this response.
    flashes: Inbox,
    /// The `Cookie` header a test request was made with
    /// ([`testing`](crate::testing)); `None` under the layer.
    test_cookie: Option<HeaderValue>,
    /// The session came from a legacy client-sessions cookie: the response
    /// that writes it in this crate's format expires that cookie.
    from_legacy: bool,
}

/// A session's identity and the fields sealed with it (format v2), apart
/// from its times, which the plan decides.
#[derive(Debug, Clone, Copy, Default)]
struct Identity {
    /// `None` for a session this request starts, until it is needed.
    id: Option<SessionId>,
    lifetime: Lifetime,
    authenticated_at: Option<u64>,
    checked_at: Option<u64>,
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
    /// The session's id, for log lines.
    pub(crate) id: Option<SessionId>,
    /// The `Set-Cookie` that deletes the legacy cookie this session came
    /// from, to send along with the session's own cookie.
    pub(crate) legacy_expiry: Option<String>,
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
    /// A Mozilla client-sessions cookie, in a request without one of ours
    /// ([`LegacyClientSessions`](crate::LegacyClientSessions)).
    Legacy(String),
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
            PendingCookie::Joined(value) | PendingCookie::Legacy(value) => Ok(value),
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
            ring: config.codec.keyring(),
            now: config.clock.now(),
            config: Arc::clone(config),
            pending,
            data: SessionData::default(),
            identity: Identity::default(),
            brought: Brought {
                cookie: had_cookie,
                opened: None,
            },
            highest_chunk,
            did: Did::default(),
            responded: false,
            flashes: Inbox::default(),
            test_cookie: None,
            from_legacy: false,
        };
        Session {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Records the `Cookie` header a test request carried.
    pub(crate) fn set_test_cookie(&self, cookie: HeaderValue) {
        self.lock().test_cookie = Some(cookie);
    }

    /// The `Cookie` header a test request carried.
    pub(crate) fn test_cookie(&self) -> Option<HeaderValue> {
        self.lock().test_cookie.clone()
    }

    /// The configuration of the layer this session belongs to.
    pub(crate) fn config(&self) -> Arc<SessionConfig> {
        Arc::clone(&self.lock().config)
    }

    /// Decides what the response carries, for a response with `status`:
    /// called once, when the response leaves the handler. A change after
    /// this is lost (and warned about).
    pub(crate) fn finish(&self, status: StatusCode) -> Finished {
        let mut state = self.lock();
        state.responded = true;
        let config = Arc::clone(&state.config);
        let lifetime = state.identity.lifetime;
        let resolved = config.codec.limits().resolve(&lifetime);
        let lifetimes = Lifetimes {
            idle: resolved.idle.unwrap_or(u64::MAX),
            absolute: resolved.absolute,
            renew_fraction: config.renew_fraction,
            ephemeral: !lifetime.persistent().unwrap_or(!config.ephemeral),
        };
        let did = Did {
            empty: state.data.is_empty(),
            ..state.did
        };
        let plan = policy::plan(state.brought, did, status, lifetimes, state.now);
        if status.is_server_error() && did.changed && plan != Plan::Expire {
            tracing::debug!(
                session_id = state.log_id(),
                status = status.as_u16(),
                "session changes not saved: the response is a server error"
            );
        }
        let sealed = match plan {
            Plan::Seal(seal) => Some(state.meta_for(seal).and_then(|meta| {
                config
                    .codec
                    .seal_in(&state.ring, &state.data, &meta)
                    .map(|value| {
                        let size = config.cookie_size(value.len());
                        (value, size)
                    })
            })),
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
        let legacy_expiry = state
            .from_legacy
            .then(|| {
                config
                    .legacy
                    .as_ref()
                    .map(|l| l.expiry(config.cookie.secure()))
            })
            .flatten();
        Finished {
            config,
            plan,
            sealed,
            highest_chunk: state.highest_chunk,
            touched: did.touched,
            revealed: did.touched && state.brought.opened.is_some() && !did.destroyed,
            body_len,
            id: state.identity.id,
            legacy_expiry,
        }
    }

    /// The revocation check this request needs before its handler, if one
    /// is configured and due: opens the cookie to read when the session was
    /// last checked.
    pub(crate) fn due_check(&self) -> Option<CheckFuture> {
        let mut state = self.lock();
        let config = Arc::clone(&state.config);
        let revalidation = config.revalidation.as_ref()?;
        state.load();
        let opened = state.brought.opened?;
        if !revalidation.due(state.identity.checked_at, state.now) {
            return None;
        }
        let snapshot = SessionSnapshot {
            id: state.identity.id?,
            created_at: opened.created_at,
            authenticated_at: state.identity.authenticated_at,
            data: state.data.clone(),
        };
        drop(state);
        Some((revalidation.check)(snapshot))
    }

    /// Applies the outcome of [`due_check`](Self::due_check)'s check.
    pub(crate) fn after_check(&self, outcome: Result<Verdict, CheckError>) {
        let mut state = self.lock();
        let Some(revalidation) = state.config.revalidation.clone() else {
            return;
        };
        let (now, checked_at) = (state.now, state.identity.checked_at);
        // The response depends on the cookie whatever the outcome.
        state.did.touched = true;
        let after = revalidation.after(&outcome, checked_at, now);
        counters::checked(after);
        match after {
            AfterCheck::Pass => {
                state.identity.checked_at = Some(now);
                state.did.checked = true;
            }
            AfterCheck::Revoke => {
                tracing::info!(
                    session_id = state.log_id(),
                    "session revoked by the revocation check; the request is anonymous \
                     and the cookie is expired"
                );
                state.end();
            }
            AfterCheck::Forgive => tracing::warn!(
                session_id = state.log_id(),
                error = outcome.err().map(|e| e.to_string()),
                "revocation check failed; the session is served within the grace \
                 and checked again on the next request"
            ),
            AfterCheck::Refuse => {
                tracing::error!(
                    session_id = state.log_id(),
                    error = outcome.err().map(|e| e.to_string()),
                    "revocation check failed past the grace; the request is anonymous \
                     (the cookie is kept for when checks work again)"
                );
                state.brought.opened = None;
                state.data = SessionData::default();
                state.identity = Identity::default();
            }
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
        if reserved::is_reserved(key) {
            return Ok(None);
        }
        self.loaded().data.get(key)
    }

    /// Stores `value` at `key`. Storing a value equal to the current one does
    /// not count as a change (no `Set-Cookie` for it).
    ///
    /// # Errors
    /// [`ValueError::Serialize`] when `value` cannot be represented as JSON;
    /// [`ValueError::ReservedKey`] for a key the crate keeps for itself
    /// (`$csrf`, `$flash`).
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), ValueError> {
        if reserved::is_reserved(key) {
            return Err(ValueError::ReservedKey {
                key: key.to_owned(),
            });
        }
        let mut state = self.loaded_for_change("insert");
        if state.data.insert(key, value)? {
            state.did.changed = true;
        }
        Ok(())
    }

    /// Removes the value at `key`; returns whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        if reserved::is_reserved(key) {
            return false;
        }
        let mut state = self.loaded_for_change("remove");
        let removed = state.data.remove(key);
        state.did.changed |= removed;
        removed
    }

    /// Removes the value at `key` and returns it as a `T` (`None` when there
    /// was none or it was not a `T`; it is removed either way).
    pub fn take<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        if reserved::is_reserved(key) {
            return None;
        }
        let mut state = self.loaded_for_change("take");
        let value = state.data.get(key).ok().flatten();
        if state.data.remove(key) {
            state.did.changed = true;
        }
        value
    }

    /// Removes every value; the session keeps its id, creation time, CSRF
    /// token and the flash messages set for the next request.
    pub fn clear(&self) {
        let mut state = self.loaded_for_change("clear");
        if state.data.keys().any(|key| !reserved::is_reserved(key)) {
            state.clear_keeping(&[reserved::CSRF, reserved::FLASH]);
            state.did.changed = true;
        }
    }

    /// Ends the session: the response expires the cookie, every chunk of it,
    /// whatever its status (also on a 5xx, which saves no other change).
    /// Values inserted afterwards start a new session, with a new creation time.
    pub fn destroy(&self) {
        self.loaded_for_change("destroy").end();
    }

    /// Starts a new session with nothing of the old one: a new id, no
    /// values, no lifetime of its own, no login time, and a new creation
    /// time, so the absolute lifetime counts from now. Call it at login (and
    /// at any change of privilege) so a session fixed by an attacker before
    /// login is worthless after it.
    ///
    /// It is [`destroy`](Self::destroy) under the name that says what it is
    /// for: the old cookie is ended, and what the handler inserts next is
    /// sealed as a new session. Nothing is carried over, on purpose: a value
    /// an attacker planted before login must not survive it. To carry
    /// chosen values across (a cart), use
    /// [`regenerate_keeping`](Self::regenerate_keeping).
    pub fn regenerate(&self) {
        self.destroy();
    }

    /// [`regenerate`](Self::regenerate), carrying over the values at `keys`
    /// (those that exist) into the new session — for example a cart filled
    /// before login. Name only values whose content an attacker who planted
    /// the session could not abuse after login: everything else is dropped.
    ///
    /// The CSRF token is never carried over (a new session gets a new one).
    pub fn regenerate_keeping(&self, keys: &[&str]) {
        let mut state = self.loaded_for_change("regenerate_keeping");
        let kept: Vec<(&str, serde_json::Value)> = keys
            .iter()
            .filter(|key| !reserved::is_reserved(key))
            .filter_map(|key| Some((*key, state.data.get(key).ok().flatten()?)))
            .collect();
        state.end();
        for (key, value) in kept {
            // A value that was read as JSON is written back as JSON.
            let _ = state.data.insert(key, &value);
        }
    }

    /// The session's id: `None` until there is a session — one the request's
    /// cookie carried, or a new one that holds a value. Stable across
    /// renewals and key rotation; new after [`regenerate`](Self::regenerate).
    /// Not a credential: fine in logs and databases (see [`SessionId`]).
    #[must_use]
    pub fn id(&self) -> Option<SessionId> {
        let mut state = self.loaded();
        if state.identity.id.is_none() && !state.data.is_empty() {
            // The id a new session will be sealed with, drawn now.
            state.identity.id = SessionId::generate().ok();
        }
        state.identity.id
    }

    /// Gives this session its own lifetime, e.g. "remember me" — see
    /// [`Lifetime`]. Values above the configured caps
    /// ([`SessionConfigBuilder::max_idle_timeout`](crate::SessionConfigBuilder::max_idle_timeout),
    /// [`max_absolute_lifetime`](crate::SessionConfigBuilder::max_absolute_lifetime))
    /// are cut to the caps, with a warning. Kept across renewals; reset by
    /// [`regenerate`](Self::regenerate), so set it after.
    pub fn set_lifetime(&self, lifetime: Lifetime) {
        let mut state = self.loaded_for_change("set_lifetime");
        let granted = state.config.codec.limits().resolve(&lifetime);
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs());
        let asked_idle = secs(lifetime.idle_timeout());
        let asked_absolute = secs(lifetime.absolute_lifetime());
        let cut = |asked: Option<u64>, granted: Option<u64>| matches!((asked, granted), (Some(asked), Some(granted)) if granted < asked);
        if cut(asked_idle, granted.idle) || cut(asked_absolute, granted.absolute) {
            tracing::warn!(
                session_id = state.log_id(),
                asked_idle_secs = asked_idle,
                granted_idle_secs = granted.idle,
                asked_absolute_secs = asked_absolute,
                granted_absolute_secs = granted.absolute,
                "session lifetime above the configured maximum; cut to it"
            );
        }
        if state.identity.lifetime != lifetime {
            state.identity.lifetime = lifetime;
            state.did.changed = true;
        }
    }

    /// The lifetime this session chose ([`Lifetime::configured`] when none).
    #[must_use]
    pub fn lifetime(&self) -> Lifetime {
        self.loaded().identity.lifetime
    }

    /// Records that the user authenticated now (call it at login, after
    /// [`regenerate`](Self::regenerate)). Kept across renewals; read it with
    /// [`authenticated_at`](Self::authenticated_at) and
    /// [`authenticated_within`](Self::authenticated_within).
    pub fn mark_authenticated(&self) {
        let mut state = self.loaded_for_change("mark_authenticated");
        state.identity.authenticated_at = Some(state.now);
        state.did.changed = true;
    }

    /// When the user last authenticated in this session, if ever.
    #[must_use]
    pub fn authenticated_at(&self) -> Option<SystemTime> {
        self.loaded().identity.authenticated_at.map(unix)
    }

    /// Whether the user authenticated within the last `max_age` — the check
    /// before a sensitive action (change the password or e-mail, delete the
    /// account, pay): when it is false, ask for the password again and call
    /// [`mark_authenticated`](Self::mark_authenticated).
    #[must_use]
    pub fn authenticated_within(&self, max_age: Duration) -> bool {
        let state = self.loaded();
        state
            .identity
            .authenticated_at
            .is_some_and(|at| state.now.saturating_sub(at) <= max_age.as_secs())
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

    /// The keys of the session's values, sorted (the crate's own — CSRF
    /// token, flash messages — are not among them).
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.loaded()
            .data
            .keys()
            .filter(|key| !reserved::is_reserved(key))
            .map(str::to_owned)
            .collect()
    }

    /// Whether the session holds no value of the application's (a session
    /// that holds only a CSRF token or flash messages is empty here, though
    /// it is still sealed into a cookie).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.loaded().data.keys().all(reserved::is_reserved)
    }

    /// The crate's own value at `key` (a [`reserved`] key), if any.
    pub(crate) fn reserved_value<T: DeserializeOwned>(&self, key: &'static str) -> Option<T> {
        debug_assert!(reserved::is_reserved(key));
        self.loaded().data.get(key).ok().flatten()
    }

    /// Changes the crate's own value at `key` (a [`reserved`] key) with
    /// `change`, starting from the stored value or the default.
    pub(crate) fn update_reserved<T: DeserializeOwned + Serialize + Default>(
        &self,
        call: &'static str,
        key: &'static str,
        change: impl FnOnce(&mut T),
    ) {
        debug_assert!(reserved::is_reserved(key));
        let mut state = self.loaded_for_change(call);
        let mut value: T = state.data.get(key).ok().flatten().unwrap_or_default();
        change(&mut value);
        // Values of the crate's own types always serialize.
        if let Ok(true) = state.data.insert(key, &value) {
            state.did.changed = true;
        }
    }

    /// Runs `f` on this request's flash messages (opening the cookie first,
    /// which takes the stored ones out of it).
    pub(crate) fn with_inbox<R>(&self, f: impl FnOnce(&mut Inbox) -> R) -> R {
        f(&mut self.loaded().flashes)
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
    /// Ends the session the request brought, and any it started: no values,
    /// a fresh identity; the response expires the cookie.
    ///
    /// Flash messages this request set are kept: they are the
    /// application's message about the ending ("Logged out"), not part of
    /// the old session (the ones it brought were taken out when it opened).
    fn end(&mut self) {
        self.clear_keeping(&[reserved::FLASH]);
        self.flashes.previous.clear();
        self.identity = Identity::default();
        self.did.changed = true;
        self.did.destroyed = true;
    }

    /// Removes every value but the crate's own entries at `kept`.
    fn clear_keeping(&mut self, kept: &[&'static str]) {
        let kept: Vec<(&str, serde_json::Value)> = kept
            .iter()
            .filter_map(|key| Some((*key, self.data.get(key).ok().flatten()?)))
            .collect();
        self.data.clear();
        for (key, value) in kept {
            // A value that was read as JSON is written back as JSON.
            let _ = self.data.insert(key, &value);
        }
    }

    /// The id for a log line (empty for a session without one yet).
    fn log_id(&self) -> String {
        self.identity
            .id
            .map(|id| id.to_string())
            .unwrap_or_default()
    }

    /// The fields to seal for `seal`. A re-seal keeps the id, the login time
    /// and the last check time; a new session counts as checked now.
    fn meta_for(&mut self, seal: policy::Seal) -> Result<SessionMeta, SealError> {
        let id = match self.identity.id {
            Some(id) => id,
            None => *self.identity.id.insert(SessionId::generate()?),
        };
        let new = self.brought.opened.is_none() || self.did.destroyed;
        let checked_at = if new {
            Some(seal.created_at)
        } else {
            self.identity.checked_at
        };
        // Within the session's life, as opening requires (clocks of two
        // servers may disagree about `now` by the leeway); a time of 0 (a
        // clock at the epoch) is the format's "never".
        let within = |at: u64| {
            Some(at.clamp(seal.created_at, seal.expires_at.saturating_sub(1))).filter(|&t| t != 0)
        };
        Ok(SessionMeta::new(id, seal.created_at, seal.expires_at)
            .with_lifetime(self.identity.lifetime)
            .with_authenticated_at(self.identity.authenticated_at.and_then(within))
            .with_checked_at(checked_at.and_then(within)))
    }

    /// Opens the pending cookie, once.
    fn load(&mut self) {
        let Some(value) = self.pending.take() else {
            return;
        };
        if let PendingCookie::Legacy(legacy) = &value {
            self.load_legacy(legacy);
            return;
        }
        let opened = value
            .value()
            .and_then(|value| self.config.codec.open_in(&self.ring, value, self.now));
        if let Err(reason) = opened {
            counters::rejected(reason);
        }
        match opened {
            Ok(session) => {
                let meta = *session.meta();
                if let Some(key) = self.ring.keys().get(session.key_index()) {
                    counters::opened(key.opened_keys(), session.version());
                }
                tracing::trace!(
                    session_id = %meta.id(),
                    version = session.version(),
                    key_index = session.key_index(),
                    "session cookie opened"
                );
                self.brought.opened = Some(Opened {
                    created_at: meta.created_at(),
                    expires_at: meta.expires_at(),
                    key_index: session.key_index(),
                    version: session.version(),
                });
                self.identity = Identity {
                    id: Some(meta.id()),
                    lifetime: meta.lifetime(),
                    authenticated_at: meta.authenticated_at(),
                    checked_at: meta.checked_at(),
                };
                self.data = session.into_data();
                let (flashes, had_any) = flash::take_stored(&mut self.data);
                self.flashes.previous = flashes;
                // Sealed again without them (or expired if nothing else is left).
                self.did.changed |= had_any;
            }
            // Everyone was logged out since this session was created: its
            // cookie is expired, as for a session revoked by the check.
            Err(RejectReason::Revoked) => {
                tracing::debug!(
                    reason = RejectReason::Revoked.as_str(),
                    "session created before the not-before instant; the request has no \
                     session and the cookie is expired"
                );
                self.end();
                self.did.touched = true;
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

impl State {
    /// Opens a Mozilla client-sessions cookie: its content becomes the
    /// session, as if opened from a cookie of an older format (re-sealed by
    /// the response, which also expires the legacy cookie).
    fn load_legacy(&mut self, value: &str) {
        let Some(legacy) = self.config.legacy.clone() else {
            return;
        };
        match legacy.open(value, self.now) {
            Ok(session) => {
                counters::legacy_opened();
                // A new identity; `created_at` now: this crate's lifetimes
                // count from the migration.
                self.brought.opened = Some(Opened {
                    created_at: self.now,
                    expires_at: session.expires_at(),
                    key_index: 0,
                    version: 0,
                });
                self.identity = Identity {
                    id: SessionId::generate().ok(),
                    ..Identity::default()
                };
                self.data = session.data;
                self.from_legacy = true;
                tracing::debug!(
                    cookie = legacy.cookie_name(),
                    "legacy client-sessions cookie opened; the response re-seals it and expires it"
                );
            }
            Err(reason) => {
                counters::rejected(reason);
                tracing::debug!(
                    reason = reason.as_str(),
                    cookie = legacy.cookie_name(),
                    "legacy client-sessions cookie rejected; request has no session"
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
            .field("opened_yet", &state.pending.is_none())
            .field("data", &state.data)
            .field("identity", &state.identity)
            .field("brought", &state.brought)
            .field("did", &state.did)
            .finish_non_exhaustive()
    }
}
