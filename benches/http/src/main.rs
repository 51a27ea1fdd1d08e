//! HTTP load-test servers for `scripts/bench-http.sh`.
//!
//! `bench-http-server MODE ADDR` serves one of:
//!
//! | mode             | stack                                                        |
//! |------------------|--------------------------------------------------------------|
//! | `hyper-hello`    | hyper 1 `service_fn`, answers `hello` to everything          |
//! | `hyper-ours`     | tower `service_fn` in `SessionLayer`, via `TowerToHyperService` |
//! | `axum-hello`     | axum `Router`, `GET /hello` only                              |
//! | `axum-ours`      | axum `Router` + `SessionLayer`, `Session` extractor           |
//! | `axum-tower-sessions` | axum `Router` + `tower-sessions` with its `MemoryStore`  |
//! | `axum-private-jar`    | axum `Router` + axum-extra `PrivateCookieJar`            |
//!
//! Every session mode has the same routes:
//! * `GET /login`: starts a session `{"user":"user1","cart":["sku-1","sku-2"],"theme":"dark"}`
//!   and answers with its `Set-Cookie` (the script sends that cookie with every request);
//! * `GET /read`: reads `user` and answers it (`user1`), 401 without a session;
//! * `GET /write`: reads `user` (401 without), increments `counter` and answers
//!   the new value, so every response carries `Set-Cookie`;
//! * `GET /hello`: `hello`, session untouched.
//!
//! Everything runs on one thread (tokio `current_thread`); the script pins the
//! process to one CPU with `taskset`.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::get;
use axum::serve::ListenerExt;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

const USER: &str = "user1";
const CART: [&str; 2] = ["sku-1", "sku-2"];
const THEME: &str = "dark";
const COOKIE_NAME: &str = "session";

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(addr)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: bench-http-server MODE ADDR\n  MODE: hyper-hello | hyper-ours | \
             axum-hello | axum-ours | \
             axum-tower-sessions | axum-private-jar"
        );
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().unwrap_or_else(|err| {
        eprintln!("bad address {addr:?}: {err}");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|err| {
            eprintln!("cannot listen on {addr}: {err}");
            std::process::exit(1);
        });
        eprintln!("{mode} listening on http://{addr}");
        match mode.as_str() {
            "hyper-hello" => hyper_hello(listener).await,
            "hyper-ours" => hyper_ours(listener).await,
            "axum-hello" => serve_axum(listener, Router::new().route("/hello", get(hello))).await,
            "axum-ours" => serve_axum(listener, ours::router()).await,
            "axum-tower-sessions" => serve_axum(listener, tower_sessions_peer::router()).await,
            "axum-private-jar" => serve_axum(listener, private_jar::router()).await,
            other => {
                eprintln!("unknown mode {other:?}");
                std::process::exit(2);
            }
        }
    });
}

async fn hello() -> &'static str {
    "hello"
}

/// The key ring and configuration of our layer: a fresh key per process,
/// secure defaults (the client is wrk with a fixed `Cookie` header, so the
/// `Secure` attribute changes nothing but the `Set-Cookie` size, as in production).
fn our_config() -> client_session::SessionConfig {
    use client_session::{Key, Keyring, SessionConfig};
    SessionConfig::builder(Keyring::single(Key::generate()))
        .build()
        .expect("session config")
}

// ---------------------------------------------------------------- hyper ----

/// Accepts connections forever, serving each with hyper's HTTP/1 server.
async fn serve_hyper<S>(listener: TcpListener, service: S)
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Full<Bytes>>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        // One task per connection on the current_thread runtime.
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Bare hyper: `hyper::service::service_fn`, "hello" for every request.
async fn hyper_hello(listener: TcpListener) {
    let service = hyper::service::service_fn(|_request: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
    });
    serve_hyper(listener, service).await;
}

/// The same hyper server with `SessionLayer` in front of a tower `service_fn`.
async fn hyper_ours(listener: TcpListener) {
    let service = tower::ServiceBuilder::new()
        .layer(client_session::SessionLayer::new(our_config()))
        .service_fn(hyper_ours_handler);
    serve_hyper(listener, TowerToHyperService::new(service)).await;
}

async fn hyper_ours_handler(
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
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

async fn serve_axum(listener: TcpListener, router: Router) {
    // TCP_NODELAY as in the hyper servers.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, router).await.expect("axum server");
}

fn unauthorized() -> AxumResponse {
    (StatusCode::UNAUTHORIZED, "no session").into_response()
}

/// Our layer with the `Session` extractor.
mod ours {
    use super::*;
    use client_session::{Session, SessionLayer};

    pub(super) fn router() -> Router {
        Router::new()
            .route("/hello", get(hello))
            .route("/login", get(login))
            .route("/read", get(read))
            .route("/write", get(write))
            .layer(SessionLayer::new(our_config()))
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
mod tower_sessions_peer {
    use super::*;
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    pub(super) fn router() -> Router {
        // Defaults (Secure, HttpOnly, SameSite=Strict, browser-session expiry),
        // named like ours.
        let layer = SessionManagerLayer::new(MemoryStore::default()).with_name(COOKIE_NAME);
        Router::new()
            .route("/hello", get(hello))
            .route("/login", get(login))
            .route("/read", get(read))
            .route("/write", get(write))
            .layer(layer)
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
        let counter = session.get::<u64>("counter").await.ok().flatten().unwrap_or(0) + 1;
        match session.insert("counter", counter).await {
            Ok(()) => counter.to_string().into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// axum-extra's `PrivateCookieJar` (AES-256-GCM, the `cookie` crate) holding
/// the session as JSON, the do-it-yourself alternative.
mod private_jar {
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

    pub(super) fn router() -> Router {
        Router::new()
            .route("/hello", get(hello))
            .route("/login", get(login))
            .route("/read", get(read))
            .route("/write", get(write))
            .with_state(AppState {
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
