//! Shared harness for the HTTP tests: a real server on 127.0.0.1 and helpers
//! to read what the browser would store.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing;
use client_session::{Key, Keyring, Session, SessionConfig, SessionConfigBuilder, SessionLayer};
use serde_json::Value;

pub const NOW: u64 = 1_800_000_000;

pub fn key(byte: u8) -> Key {
    Key::from_bytes(&[byte; 32]).unwrap()
}

pub fn ring(bytes: &[u8]) -> Keyring {
    Keyring::new(bytes.iter().map(|b| key(*b))).unwrap()
}

/// Serves `app` on an ephemeral 127.0.0.1 port until the test's runtime ends.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A small application exercising the whole `Session` API.
pub fn test_app(config: SessionConfig) -> Router {
    Router::new()
        .route("/get/{key}", routing::get(get_value))
        .route("/set/{key}", routing::post(set_value))
        .route("/remove/{key}", routing::post(remove_value))
        .route("/take/{key}", routing::post(take_value))
        .route(
            "/clear",
            routing::post(|s: Session| async move { s.clear() }),
        )
        .route(
            "/destroy",
            routing::post(|s: Session| async move { s.destroy() }),
        )
        .route(
            "/regenerate",
            routing::post(|s: Session| async move { s.regenerate() }),
        )
        .route("/meta", routing::get(meta))
        .route("/login/{user}", routing::post(login))
        .route(
            "/reauthenticate",
            routing::post(|s: Session| async move { s.mark_authenticated() }),
        )
        .route("/fresh/{secs}", routing::get(fresh))
        .route("/lifetime", routing::post(set_lifetime))
        .route(
            "/regenerate_keeping/{key}",
            routing::post(regenerate_keeping),
        )
        .route("/untouched", routing::get(|| async { "no session here" }))
        .route("/grow/{len}", routing::post(grow))
        .route("/size", routing::get(size))
        .route("/would_fit/{len}", routing::post(would_fit))
        .layer(SessionLayer::new(config))
}

pub async fn app_with(builder: SessionConfigBuilder) -> String {
    serve(test_app(builder.build().unwrap())).await
}

async fn get_value(session: Session, Path(key): Path<String>) -> impl IntoResponse {
    match session.get::<Value>(&key) {
        Some(value) => (StatusCode::OK, value.to_string()),
        None => (StatusCode::NOT_FOUND, "none".to_owned()),
    }
}

async fn set_value(session: Session, Path(key): Path<String>, body: String) -> StatusCode {
    let value: Value = serde_json::from_str(&body).unwrap();
    session.insert(&key, &value).unwrap();
    StatusCode::NO_CONTENT
}

async fn take_value(session: Session, Path(key): Path<String>) -> impl IntoResponse {
    match session.take::<Value>(&key) {
        Some(value) => (StatusCode::OK, value.to_string()),
        None => (StatusCode::NOT_FOUND, "none".to_owned()),
    }
}

async fn remove_value(session: Session, Path(key): Path<String>) -> StatusCode {
    session.remove(&key);
    StatusCode::NO_CONTENT
}

async fn meta(session: Session) -> String {
    let secs = |t: Option<std::time::SystemTime>| {
        t.map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
    };
    let lifetime = session.lifetime();
    serde_json::json!({
        "valid": session.had_valid_cookie(),
        "created_at": secs(session.created_at()),
        "expires_at": secs(session.expires_at()),
        "keys": session.keys(),
        "empty": session.is_empty(),
        "id": session.id().map(|id| id.to_string()),
        "authenticated_at": secs(session.authenticated_at()),
        "lifetime": {
            "idle": lifetime.idle_timeout().map(|d| d.as_secs()),
            "absolute": lifetime.absolute_lifetime().map(|d| d.as_secs()),
            "persistent": lifetime.persistent(),
        },
    })
    .to_string()
}

/// A login: a new session, authenticated now, holding the user's name.
async fn login(session: Session, Path(user): Path<String>) -> StatusCode {
    session.regenerate();
    session.mark_authenticated();
    session.insert("user", &user).unwrap();
    StatusCode::NO_CONTENT
}

async fn fresh(session: Session, Path(secs): Path<u64>) -> String {
    session
        .authenticated_within(std::time::Duration::from_secs(secs))
        .to_string()
}

/// Body: `{"idle": secs, "absolute": secs, "persistent": bool}`, each optional.
async fn set_lifetime(session: Session, body: String) -> StatusCode {
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut lifetime = client_session::Lifetime::configured();
    if let Some(idle) = body["idle"].as_u64() {
        lifetime = lifetime.with_idle_timeout(std::time::Duration::from_secs(idle));
    }
    if let Some(absolute) = body["absolute"].as_u64() {
        lifetime = lifetime.with_absolute_lifetime(std::time::Duration::from_secs(absolute));
    }
    if let Some(persistent) = body["persistent"].as_bool() {
        lifetime = lifetime.with_persistent(persistent);
    }
    session.set_lifetime(lifetime);
    StatusCode::NO_CONTENT
}

async fn regenerate_keeping(session: Session, Path(key): Path<String>) -> StatusCode {
    session.regenerate_keeping(&[&key]);
    StatusCode::NO_CONTENT
}

/// Stores `len` characters that DEFLATE cannot shrink much.
async fn grow(session: Session, Path(len): Path<usize>) -> StatusCode {
    session.insert("blob", &incompressible(len)).unwrap();
    StatusCode::NO_CONTENT
}

async fn size(session: Session) -> String {
    format!("{} {}", session.encoded_len().unwrap(), session.fits())
}

/// Whether the session would be written with a `len`-character blob added;
/// the blob is taken out again, so the layer writes the session as it was.
async fn would_fit(session: Session, Path(len): Path<usize>) -> String {
    session.insert("probe", &incompressible(len)).unwrap();
    let fits = session.fits();
    session.remove("probe");
    fits.to_string()
}

pub fn incompressible(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 64) as usize] as char
        })
        .collect()
}

/// A client with a cookie store, like a browser (loopback counts as secure).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client without cookies, for sending hand-made `Cookie` headers.
pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of each `Set-Cookie`, joined like a `Cookie` header.
pub fn as_cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .filter(|pair| !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The value of attribute `name` (e.g. `Max-Age`) in a `Set-Cookie`.
/// The JSON body of a response.
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

pub fn attribute(set_cookie: &str, name: &str) -> Option<String> {
    set_cookie.split(';').skip(1).find_map(|attr| {
        let (k, v) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
        k.eq_ignore_ascii_case(name).then(|| v.to_owned())
    })
}

pub async fn get(client: &reqwest::Client, url: String) -> reqwest::Response {
    client.get(url).send().await.unwrap()
}

pub async fn get_with_cookie(
    client: &reqwest::Client,
    url: String,
    cookie: impl AsRef<str>,
) -> reqwest::Response {
    client
        .get(url)
        .header("cookie", cookie.as_ref())
        .send()
        .await
        .unwrap()
}

pub async fn post_with_cookie(
    client: &reqwest::Client,
    url: String,
    cookie: impl AsRef<str>,
    body: &str,
) -> reqwest::Response {
    client
        .post(url)
        .header("cookie", cookie.as_ref())
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

pub async fn send_post(client: &reqwest::Client, url: String, body: &str) -> reqwest::Response {
    client.post(url).body(body.to_owned()).send().await.unwrap()
}

/// A log writer for `tracing_subscriber`'s `with_writer` that tests read back.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Everything written since the last `take`.
    pub fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}
