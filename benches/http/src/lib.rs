//! The stacks measured by `scripts/bench-http.sh` (over TCP, with wrk) and by
//! `scripts/instructions.sh` (in process, under callgrind): the same routes
//! and handlers for client-session and its peers, so both measure one thing.
//!
//! | stack                 | what                                                         |
//! |-----------------------|--------------------------------------------------------------|
//! | `hyper-hello`         | hyper 1 `service_fn`, answers `hello` to everything          |
//! | `hyper-ours`          | a tower `service_fn` in `SessionLayer` (hyper without axum)   |
//! | `axum-hello`          | axum `Router`, `GET /hello` only                              |
//! | `axum-ours`           | axum `Router` + `SessionLayer`, `Session` extractor           |
//! | `axum-tower-sessions` | axum `Router` + `tower-sessions` with its `MemoryStore`       |
//! | `axum-private-jar`    | axum `Router` + axum-extra `PrivateCookieJar`                 |
//!
//! Every session stack has the same routes:
//! * `GET /login`: starts a session `{"user":"user1","cart":["sku-1","sku-2"],"theme":"dark"}`
//!   and answers with its `Set-Cookie` (the benchmarks mint 10,000 sessions
//!   this way and send them round-robin);
//! * `GET /read`: reads `user` and answers it (`user1`), 401 without a session;
//! * `GET /write`: reads `user` (401 without), increments `counter` and answers
//!   the new value, so every response carries `Set-Cookie`;
//! * `GET /hello`: `hello`, session untouched.

use std::convert::Infallible;

use axum::Router;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde::{Deserialize, Serialize};

const USER: &str = "user1";
const CART: [&str; 2] = ["sku-1", "sku-2"];
const THEME: &str = "dark";
const COOKIE_NAME: &str = "session";

/// The name of every stack, as the server and the instruction counter take it.
pub const STACKS: [&str; 6] = [
    "hyper-hello",
    "hyper-ours",
    "axum-hello",
    "axum-ours",
    "axum-tower-sessions",
    "axum-private-jar",
];

async fn hello() -> &'static str {
    "hello"
}

/// The key ring and configuration of our layer: a fresh key per process and
/// the defaults a user gets (`Secure` included: the clients send the cookie
/// whatever its attributes, so it changes nothing but the `Set-Cookie` size,
/// as in production).
pub fn our_config() -> client_session::SessionConfig {
    use client_session::{Key, Keyring, SessionConfig};
    SessionConfig::builder(Keyring::single(Key::generate()))
        .build()
        .expect("session config")
}

// ---------------------------------------------------------------- hyper ----

/// Bare hyper's handler: "hello" for every request.
pub async fn hyper_hello<B>(_request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// The handler behind `SessionLayer` on bare hyper (no axum): the session
/// from the request's extensions.
pub async fn hyper_ours<B>(request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(session) = request.extensions().get::<client_session::Session>() else {
        return Ok(status(500, "no session layer"));
    };
    let body = match request.uri().path() {
        "/hello" => "hello".to_owned(),
        "/login" => {
            session.regenerate();
            session.insert("user", USER).expect("insert");
            session.insert("cart", &CART).expect("insert");
            session.insert("theme", THEME).expect("insert");
            "ok".to_owned()
        }
        "/read" => match session.get::<String>("user") {
            Some(user) => user,
            None => return Ok(status(401, "no session")),
        },
        "/write" => {
            if session.get::<String>("user").is_none() {
                return Ok(status(401, "no session"));
            }
            let counter = session.get::<u64>("counter").unwrap_or(0) + 1;
            session.insert("counter", &counter).expect("insert");
            counter.to_string()
        }
        _ => return Ok(status(404, "not found")),
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn status(code: u16, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = http::StatusCode::from_u16(code).expect("status");
    response
}

// ----------------------------------------------------------------- axum ----

/// axum with `GET /hello` only: the baseline of every axum row.
pub fn axum_hello() -> Router {
    Router::new().route("/hello", get(hello))
}

/// The four routes every session stack serves, with its own handlers.
fn session_routes<S: Clone + Send + Sync + 'static>(
    login: MethodRouter<S>,
    read: MethodRouter<S>,
    write: MethodRouter<S>,
) -> Router<S> {
    Router::new()
        .route("/hello", get(hello))
        .route("/login", login)
        .route("/read", read)
        .route("/write", write)
}

fn unauthorized() -> AxumResponse {
    (StatusCode::UNAUTHORIZED, "no session").into_response()
}

/// Our layer with the `Session` extractor.
pub mod ours {
    use super::*;
    use client_session::{Session, SessionLayer};

    /// The router with the four routes in `SessionLayer`.
    pub fn router() -> Router {
        session_routes(get(login), get(read), get(write)).layer(SessionLayer::new(our_config()))
    }

    async fn login(session: Session) -> &'static str {
        session.regenerate();
        session.insert("user", USER).expect("insert");
        session.insert("cart", &CART).expect("insert");
        session.insert("theme", THEME).expect("insert");
        "ok"
    }

    async fn read(session: Session) -> AxumResponse {
        match session.get::<String>("user") {
            Some(user) => user.into_response(),
            None => unauthorized(),
        }
    }

    async fn write(session: Session) -> AxumResponse {
        if session.get::<String>("user").is_none() {
            return unauthorized();
        }
        let counter = session.get::<u64>("counter").unwrap_or(0) + 1;
        session.insert("counter", &counter).expect("insert");
        counter.to_string().into_response()
    }
}

/// tower-sessions with its in-process `MemoryStore` (the cheapest store it has).
pub mod tower_sessions_peer {
    use super::*;
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    /// The router with the four routes in tower-sessions' layer.
    pub fn router() -> Router {
        // Defaults (Secure, HttpOnly, SameSite=Strict, browser-session expiry),
        // named like ours.
        let layer = SessionManagerLayer::new(MemoryStore::default()).with_name(COOKIE_NAME);
        session_routes(get(login), get(read), get(write)).layer(layer)
    }

    async fn login(session: Session) -> AxumResponse {
        let stored = async {
            session.cycle_id().await?;
            session.insert("user", USER).await?;
            session.insert("cart", CART).await?;
            session.insert("theme", THEME).await
        };
        match stored.await {
            Ok(()) => "ok".into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    async fn read(session: Session) -> AxumResponse {
        match session.get::<String>("user").await {
            Ok(Some(user)) => user.into_response(),
            _ => unauthorized(),
        }
    }

    async fn write(session: Session) -> AxumResponse {
        match session.get::<String>("user").await {
            Ok(Some(_)) => {}
            _ => return unauthorized(),
        }
        let counter = session
            .get::<u64>("counter")
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
            + 1;
        match session.insert("counter", counter).await {
            Ok(()) => counter.to_string().into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// axum-extra's `PrivateCookieJar` (AES-256-GCM, the `cookie` crate) holding
/// the session as JSON, the do-it-yourself alternative.
pub mod private_jar {
    use super::*;
    use axum_extra::extract::PrivateCookieJar;
    use axum_extra::extract::cookie::{Cookie, Key, SameSite};

    #[derive(Clone)]
    struct AppState {
        key: Key,
    }

    impl FromRef<AppState> for Key {
        fn from_ref(state: &AppState) -> Key {
            state.key.clone()
        }
    }

    /// The session, typed (a jar user would write a struct, which is the
    /// cheapest way to read it).
    #[derive(Serialize, Deserialize)]
    struct SessionBody {
        user: String,
        cart: Vec<String>,
        theme: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<u64>,
    }

    /// The router with the four routes, the jar's key in its state.
    pub fn router() -> Router {
        session_routes(get(login), get(read), get(write)).with_state(AppState {
            key: Key::generate(),
        })
    }

    /// The same attributes as our layer's cookie.
    fn cookie(body: &SessionBody) -> Cookie<'static> {
        let json = serde_json::to_string(body).expect("serialize");
        Cookie::build((COOKIE_NAME, json))
            .path("/")
            .http_only(true)
            .secure(true)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::hours(24))
            .build()
    }

    fn open(jar: &PrivateCookieJar) -> Option<SessionBody> {
        let cookie = jar.get(COOKIE_NAME)?;
        serde_json::from_str(cookie.value()).ok()
    }

    async fn login(jar: PrivateCookieJar) -> (PrivateCookieJar, &'static str) {
        let body = SessionBody {
            user: USER.to_owned(),
            cart: CART.iter().map(|s| (*s).to_owned()).collect(),
            theme: THEME.to_owned(),
            counter: None,
        };
        (jar.add(cookie(&body)), "ok")
    }

    async fn read(jar: PrivateCookieJar) -> AxumResponse {
        match open(&jar) {
            Some(body) => body.user.into_response(),
            None => unauthorized(),
        }
    }

    async fn write(jar: PrivateCookieJar) -> AxumResponse {
        let Some(mut body) = open(&jar) else {
            return unauthorized();
        };
        let counter = body.counter.unwrap_or(0) + 1;
        body.counter = Some(counter);
        let jar = jar.add(cookie(&body));
        (jar, counter.to_string()).into_response()
    }
}
