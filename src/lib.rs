//! Stateless, encrypted, client-side web sessions for hyper, tower and axum.
//!
//! The whole session — a JSON object — lives in a cookie, sealed with
//! AES-256-GCM under a key derived per cookie with HKDF-SHA256. There is no
//! server-side store: every instance of an application that shares the key
//! ring (from `SESSION_KEYS`) opens every session, so sessions survive
//! restarts and scale out behind a load balancer without Redis.
//!
//! * **Key rotation with key ids**: the first key of the ring seals, all open;
//!   a cookie opened with an older key is re-sealed with the primary.
//! * **Idle and absolute lifetimes enforced by the server** from timestamps
//!   sealed in the cookie, never from the browser's `Max-Age`.
//! * **Chunking** past the browser's 4 KiB per-cookie limit, with a cap.
//! * **Identity and revocation without a store**: a random [`SessionId`],
//!   per-session lifetimes ("remember me"), login freshness, and three ways
//!   to revoke (see the security model below).
//! * **A published wire format** ([`format`](mod@format)) with cross-language test vectors.
//! * **Hostile input is "no session"**: a forged, expired or oversized cookie
//!   never panics, never causes a 5xx, never allocates without bound.
//! * **Around the session**: CSRF protection tied to it ([`csrf`](mod@csrf):
//!   [`Session::csrf_token`], [`CsrfLayer`], `CsrfForm`), flash messages
//!   ([`Session::flash`]), typed sessions ([`TypedSession`]), several
//!   sessions in one app ([`SessionOf`]), test helpers ([`testing`]), and
//!   [`RequestSessionExt`] for hyper.
//! * **The tower-sessions ecosystem without a store** (feature
//!   `tower-sessions`): `TowerSessionsLayer` gives handlers a
//!   `tower_sessions::Session` backed by the sealed cookie, so axum-login and
//!   axum-messages run unchanged.
//!
//! # Quick start (axum)
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use client_session::{Key, Keyring, Session, SessionConfig, SessionLayer};
//!
//! async fn login(session: Session) -> &'static str {
//!     session.regenerate(); // a new session at every login
//!     session.insert("user", "alice").expect("a string serializes");
//!     "welcome"
//! }
//!
//! async fn me(session: Session) -> String {
//!     session.get::<String>("user").unwrap_or_else(|| "anonymous".into())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: SessionConfig::from_env()?.build()? — the same SESSION_KEYS everywhere.
//! let config = SessionConfig::builder(Keyring::single(Key::generate())).build()?;
//! let app: Router = Router::new()
//!     .route("/login", post(login))
//!     .route("/me", get(me))
//!     .layer(SessionLayer::new(config));
//! # use tower::ServiceExt as _;
//! # use axum::body::Body;
//! # use http::Request;
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let response = app.clone()
//!     .oneshot(Request::post("/login").body(Body::empty())?)
//!     .await?;
//! let set_cookie = response.headers()["set-cookie"].to_str()?;
//! assert!(set_cookie.ends_with("; Max-Age=86400; Path=/; HttpOnly; Secure; SameSite=Lax"));
//! let cookie = set_cookie.split(';').next().unwrap_or_default();
//!
//! let response = app.oneshot(Request::get("/me").header("cookie", cookie).body(Body::empty())?).await?;
//! let body = axum::body::to_bytes(response.into_body(), 1024).await?;
//! assert_eq!(body, "alice");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok(())
//! # }
//! ```
//!
//! The same [`SessionLayer`] wraps any tower service whose request has a
//! body type and whose response body implements `Default` — a hyper 1
//! `service_fn`, a `tower::ServiceBuilder` stack; handlers find the
//! [`Session`] in the request's extensions. Frameworks outside tower can use
//! [`SessionCodec`] and [`chunk`] directly.
//!
//! # When a response carries `Set-Cookie`
//! Only when the handler changed the session, when it emptied or destroyed a
//! session the request carried (every chunk is expired), when the cookie was
//! sealed by a key other than the primary, or when a session that was read
//! has less than the renewal fraction of its idle window left. A handler
//! that never touches the session costs no decryption. A 5xx response saves
//! and renews nothing but still expires a destroyed session; a renewal or
//! re-seal that no longer fits the size cap is skipped (only a change the
//! handler made answers 500). The whole rule is `src/policy.rs`.
//!
//! # Security model
//! In short (SECURITY.md has the full threat model, each claim with its test):
//!
//! * Confidentiality and integrity of the session data against anyone without
//!   a key; the cookie's name (the *context*) is authenticated, so a value
//!   cannot be moved to another cookie or application.
//! * Lifetimes are enforced by the server, including a session's own
//!   ([`Lifetime`], "remember me"), bounded by configured maxima. Logout
//!   deletes the browser's copy; revoking every copy takes one of three
//!   store-less ways: a not-before instant (everyone), the application's
//!   check run at most once per session per interval (one user, everywhere),
//!   or a deny-list of [`SessionId`]s (one session) — SECURITY.md, L1. Call
//!   [`Session::regenerate`] at login.
//! * Every failure to open a cookie is "no session" for the request, with a
//!   coarse [`RejectReason`] in a debug log (a warning for two cookies of
//!   the session's name: cookie tossing) — no oracle for an attacker.
//! * Secure defaults: a `__Host-` cookie name, `Cache-Control: private` and
//!   `Vary: Cookie` on responses that carry or show a session, nonces from
//!   the operating system, key mistakes refused at start-up.
//! * Keys never print (`Debug` shows the public [`KeyId`] only), compare in
//!   constant time and are zeroized on drop. `unsafe` is forbidden.
//! * Nothing is kept after a request: no cache of cookies or decrypted
//!   sessions, no server-side state.
//! * Compression, off by default, can leak information through the
//!   cookie's length when a session mixes secrets with attacker-chosen
//!   data: see [`Compression`].
//! * Concurrent requests of one browser: the last response to set the cookie
//!   wins (see [`Session`]).
//!
//! # Metrics
//! Through the [`metrics`](https://docs.rs/metrics) facade, for whatever
//! exporter the application installs (the login demo serves Prometheus on
//! `METRICS_PORT`). Labels come from small fixed sets; no cookie value,
//! session value or session id is ever a label.
//!
//! | name | labels | counts |
//! |---|---|---|
//! | `client_session_opened_total` | `key_id`, `version` | cookies that opened, by the key that sealed them — when an old key's count stops moving, it can go |
//! | `client_session_rejected_total` | `reason` ([`RejectReason::as_str`]) | cookies refused (counted when looked at: lazily, or before the handler with a revocation check) |
//! | `client_session_sealed_total` | `why`: `changed`, `old_key`, `old_format`, `checked`, `renewal` | sessions written to a `Set-Cookie` |
//! | `client_session_cookie_bytes` (histogram) | | `name=value` bytes of each session written, all chunks |
//! | `client_session_expired_total` | | session cookies expired (destroyed, emptied, revoked) |
//! | `client_session_not_written_total` | `outcome`: `answered_500`, `kept_old_cookie` | seals over the size caps, or failed |
//! | `client_session_revocation_checks_total` | `outcome`: `valid`, `revoked`, `failed_forgiven`, `failed_refused` | revocation checks run |
//! | `client_session_key_reloads_total` | `outcome`: `loaded`, `refused` | changed key files read again ([`KeySource::watch`]) |
//! | `client_session_csrf_refused_total` | `reason` ([`Refusal::as_str`]) | unsafe requests refused by the CSRF check |
//! | `client_session_legacy_opened_total` | | Mozilla client-sessions cookies opened for migration ([`LegacyClientSessions`]) — when it stops moving, the legacy secret can go |
//!
//! Each request also runs in an `INFO` span named `session`, closed with
//! `session_id` (when there is a session) and `outcome` (`untouched`,
//! `read`, `sealed_changed`, `sealed_renewal`, `sealed_old_key`,
//! `sealed_old_format`, `sealed_checked`, `expired`, `answered_500`,
//! `kept_old_cookie`); the handler's own events nest in it.
//!
//! # Features
//! * `axum` (default): the extractors for axum 0.8 — [`Session`],
//!   [`SessionOf`], [`TypedSession`], [`CsrfToken`], `CsrfForm`.
//! * `tower-sessions`: `TowerSessionsLayer` (module `tower_sessions_bridge`),
//!   `tower_sessions::Session` backed by this crate's cookies.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![deny(unreachable_pub)]

mod cache_headers;
pub mod chunk;
mod clock;
mod config;
mod cookie;
mod counters;
pub mod csrf;
mod data;
pub mod defaults;
mod error;
mod ext;
#[cfg(feature = "axum")]
mod extract;
mod flash;
pub mod format;
mod future;
mod id;
mod keys;
mod kind;
mod layer;
pub mod legacy;
mod lifetime;
mod policy;
#[cfg(test)]
mod ready_stub;
mod reserved;
mod revocation;
mod rfc3339;
mod service;
mod session;
pub mod testing;
#[cfg(feature = "tower-sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions")))]
pub mod tower_sessions_bridge;
mod typed;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{NOT_BEFORE_VAR, SessionConfig, SessionConfigBuilder};
pub use cookie::SameSite;
pub use csrf::{CsrfConfig, CsrfLayer, CsrfToken, Refusal};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use csrf::{CsrfForm, CsrfRejection};
pub use data::SessionData;
pub use error::{ConfigError, KeyProblem, RejectReason, SealError, ValueError};
pub use ext::{MissingSessionLayer, RequestSessionExt};
pub use flash::{Flash, Level};
pub use format::{Compression, OpenedSession, SessionCodec, SessionMeta};
pub use future::ResponseFuture;
pub use id::{ParseSessionIdError, SessionId};
pub use keys::{Key, KeyId, KeySource, Keyring, LiveKeyring, MAX_KEY_LEN, MIN_KEY_LEN};
pub use kind::{Primary, SessionOf};
pub use layer::SessionLayer;
pub use legacy::LegacyClientSessions;
pub use lifetime::Lifetime;
pub use revocation::{CheckError, SessionSnapshot, Verdict};
pub use service::SessionService;
pub use session::Session;
#[cfg(feature = "tower-sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions")))]
pub use tower_sessions_bridge::TowerSessionsLayer;
pub use typed::TypedSession;

/// The README's code blocks, compiled as doctests so the quick start cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
