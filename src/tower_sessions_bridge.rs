//! The tower-sessions bridge (feature `tower-sessions`): a
//! [`tower_sessions::Session`](tower_sessions_core::Session) for every
//! request, backed by this crate's sealed cookie, so that code written for
//! tower-sessions — axum-login for authentication, axum-messages for flash
//! messages, handlers taking `tower_sessions::Session` — runs unchanged,
//! with no store.
//!
//! Put [`TowerSessionsLayer`] inside the [`SessionLayer`](crate::SessionLayer)
//! and outside whatever uses tower-sessions:
//!
//! ```
//! use axum::{Router, routing::get};
//! use client_session::{Key, Keyring, SessionConfig, SessionLayer, TowerSessionsLayer};
//!
//! async fn visits(session: tower_sessions_core::Session) -> String {
//!     let n: u32 = session.get("visits").await.ok().flatten().unwrap_or(0) + 1;
//!     session.insert("visits", n).await.expect("a number serializes");
//!     format!("visit {n}")
//! }
//!
//! # fn main() -> Result<(), client_session::ConfigError> {
//! let config = SessionConfig::builder(Keyring::single(Key::generate())).build()?;
//! let app: Router = Router::new()
//!     .route("/", get(visits))
//!     // .layer(axum_messages::MessagesManagerLayer)          — unchanged
//!     // .layer(layer_fn(|s| AuthManager::new(s, backend.clone(), "axum-login.data")))
//!     .layer(TowerSessionsLayer)
//!     .layer(SessionLayer::new(config));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # What maps to what
//! | tower-sessions | this crate |
//! |---|---|
//! | the record's data (`HashMap<String, Value>`) | the session's values (the crate's own CSRF token and flash messages are not shown to it) |
//! | `id()` | [`Session::id`] as an `i128` (little-endian bytes of the [`SessionId`]) |
//! | `insert`/`remove`/`clear` then saved | the values replaced by the record's when the response leaves (not on a 5xx) |
//! | `cycle_id()` (axum-login's login) | [`Session::destroy`] then the values in a new session: a new id, a new creation time |
//! | `flush()` / `delete()` (axum-login's logout) | [`Session::destroy`]: the cookie is expired |
//! | `set_expiry(OnInactivity(d))` | [`Lifetime`]: persistent, idle `d` (capped by the configured maximum) |
//! | `set_expiry(OnSessionEnd)` | [`Lifetime`]: a browser-session cookie |
//! | `set_expiry(AtDateTime(t))` | [`Lifetime`]: persistent, absolute lifetime up to `t` |
//!
//! Keys, rotation, chunking, lifetimes, revocation and cache headers are
//! this crate's, as for any handler. The bridge opens the cookie on every
//! request (tower-sessions' session needs to know whether there is one;
//! axum-login reads it on every request anyway).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::{Expiry, SessionStore, session_store};

use crate::id::SessionId;
use crate::lifetime::Lifetime;
use crate::session::Session;

/// The layer that provides a `tower_sessions::Session` backed by the
/// request's [`Session`]: see [the module](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct TowerSessionsLayer;

impl<S> Layer<S> for TowerSessionsLayer {
    type Service = TowerSessionsService<S>;

    fn layer(&self, inner: S) -> TowerSessionsService<S> {
        TowerSessionsService { inner }
    }
}

/// The service made by [`TowerSessionsLayer`].
#[derive(Debug, Clone)]
pub struct TowerSessionsService<S> {
    inner: S,
}

/// A store of one request: the request's own [`Session`].
#[derive(Clone)]
struct CookieStore {
    session: Session,
}

impl fmt::Debug for CookieStore {
    /// Never shows the session's values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieStore(…)")
    }
}

fn tower_id(id: SessionId) -> Id {
    Id(i128::from_le_bytes(id.to_bytes()))
}

impl CookieStore {
    /// The session's values as a record.
    fn record(&self, id: Id) -> Record {
        let data: HashMap<String, serde_json::Value> = self
            .session
            .keys()
            .into_iter()
            .filter_map(|key| {
                let value = self.session.get::<serde_json::Value>(&key)?;
                Some((key, value))
            })
            .collect();
        let expires = self
            .session
            .expires_at()
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        Record {
            id,
            data,
            expiry_date: expires,
        }
    }

    /// Makes the record's data the session's values.
    fn write(&self, record: &Record) {
        for key in self.session.keys() {
            if !record.data.contains_key(&key) {
                self.session.remove(&key);
            }
        }
        for (key, value) in &record.data {
            if let Err(err) = self.session.insert(key, value) {
                tracing::warn!(%err, "tower-sessions value not stored");
            }
        }
    }
}

#[async_trait]
impl SessionStore for CookieStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.write(record);
        if let Some(id) = self.session.id() {
            record.id = tower_id(id);
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(Some(self.record(*id)))
    }

    async fn delete(&self, _id: &Id) -> session_store::Result<()> {
        self.session.destroy();
        Ok(())
    }
}

/// The [`Lifetime`] for a tower-sessions expiry.
fn lifetime_of(expiry: Expiry, created_at: SystemTime) -> Lifetime {
    let whole_seconds =
        |d: time::Duration| Duration::from_secs(d.whole_seconds().max(1).unsigned_abs());
    match expiry {
        Expiry::OnSessionEnd => Lifetime::configured().with_persistent(false),
        Expiry::OnInactivity(idle) => Lifetime::configured()
            .with_idle_timeout(whole_seconds(idle))
            .with_persistent(true),
        Expiry::AtDateTime(at) => {
            let created = created_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let created = i64::try_from(created).unwrap_or(i64::MAX);
            let until = time::Duration::seconds(at.unix_timestamp().saturating_sub(created));
            Lifetime::configured()
                .with_absolute_lifetime(whole_seconds(until))
                .with_persistent(true)
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TowerSessionsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            tracing::error!(
                "TowerSessionsLayer found no Session: put it inside the SessionLayer (500, a wiring bug)"
            );
            let mut response = Response::new(ResBody::default());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return Box::pin(std::future::ready(Ok(response)));
        };
        // `None` when the request has no session: tower-sessions then starts
        // an empty record without asking the store.
        let id = session.id().map(tower_id);
        let store = CookieStore {
            session: session.clone(),
        };
        let bridged = tower_sessions_core::Session::new(id, Arc::new(store), None);
        request.extensions_mut().insert(bridged.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            if bridged.is_modified() && !response.status().is_server_error() {
                if let Err(err) = bridged.save().await {
                    tracing::error!(%err, "tower-sessions record not saved into the session");
                }
                if let Some(expiry) = bridged.expiry() {
                    let created = session.created_at().unwrap_or_else(SystemTime::now);
                    session.set_lifetime(lifetime_of(expiry, created));
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready_stub::{READINESS, ReadyAs};

    #[test]
    fn a_saved_record_replaces_the_values_and_debug_shows_none() {
        let session = crate::testing::session();
        session
            .insert("gone", "removed through tower-sessions")
            .unwrap();
        session.insert("kept", &1).unwrap();
        let store = CookieStore {
            session: session.clone(),
        };
        let record = Record {
            id: Id(1),
            data: [
                ("kept".to_owned(), serde_json::json!(2)),
                ("new".to_owned(), serde_json::json!("x")),
            ]
            .into_iter()
            .collect(),
            expiry_date: time::OffsetDateTime::UNIX_EPOCH,
        };
        store.write(&record);
        assert_eq!(session.keys(), ["kept", "new"]);
        assert_eq!(session.get::<u32>("kept"), Some(2));
        assert_eq!(format!("{store:?}"), "CookieStore(…)");
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for inner in READINESS {
            let mut service = TowerSessionsLayer.layer(ReadyAs(inner));
            assert_eq!(
                Service::<Request<()>>::poll_ready(&mut service, &mut cx),
                inner
            );
        }
    }

    #[test]
    fn expiries_map_to_lifetimes() {
        let created = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            lifetime_of(Expiry::OnSessionEnd, created),
            Lifetime::configured().with_persistent(false)
        );
        assert_eq!(
            lifetime_of(Expiry::OnInactivity(time::Duration::hours(2)), created),
            Lifetime::configured()
                .with_idle_timeout(Duration::from_secs(7200))
                .with_persistent(true)
        );
        let at = time::OffsetDateTime::from_unix_timestamp(1_000_000 + 86_400).unwrap();
        assert_eq!(
            lifetime_of(Expiry::AtDateTime(at), created),
            Lifetime::configured()
                .with_absolute_lifetime(Duration::from_secs(86_400))
                .with_persistent(true)
        );
        // A date in the past still gives a valid (1 s) lifetime.
        let past = time::OffsetDateTime::from_unix_timestamp(10).unwrap();
        assert_eq!(
            lifetime_of(Expiry::AtDateTime(past), created),
            Lifetime::configured()
                .with_absolute_lifetime(Duration::from_secs(1))
                .with_persistent(true)
        );
        assert_eq!(
            tower_id(SessionId::from_bytes([1; 16]).unwrap()),
            Id(i128::from_le_bytes([1; 16]))
        );
    }
}
