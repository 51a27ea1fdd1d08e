//! The login demo: `cargo run --example login`, then open <http://localhost:3000>.
//!
//! The classic "sessions with Express" tutorial, done with sealed cookies:
//! log in as `user1` / `mypassword` (role `user`) or `admin` / `adminpassword`
//! (role `admin`), fill a cart, log out.
//!
//! Environment:
//! * `SESSION_KEYS` / `SESSION_KEYS_FILE` — the key ring (see the README). When
//!   neither is set the demo makes a key for this process only and warns.
//! * `PORT` (default 3000), `BIND` (default 127.0.0.1) — where to listen.
//! * `INSTANCE` (default: the port) — sent as `X-Instance` on every response,
//!   so a load-balanced deployment shows which instance answered.
//!
//! Run several instances with the same `SESSION_KEYS` behind a load balancer
//! and the session follows the user across all of them.

use std::net::SocketAddr;

use axum::extract::Form;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use client_session::{ConfigError, Key, Keyring, Session, SessionConfig, SessionLayer};
use serde::Deserialize;
use serde_json::json;

const USERS: &[(&str, &str, &str)] = &[
    ("user1", "mypassword", "user"),
    ("admin", "adminpassword", "admin"),
];
const MAX_ITEM_CHARS: usize = 200;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,client_session=debug".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1".into());
    let instance = std::env::var("INSTANCE").unwrap_or_else(|_| port.to_string());

    let keyring = match Keyring::from_env() {
        Ok(keyring) => keyring,
        Err(ConfigError::KeysNotSet { .. }) => {
            eprintln!(
                "warning: SESSION_KEYS is not set; using a random key for this process only. \
                 Sessions will not survive a restart nor be shared between instances. \
                 Make a key with `cargo run --example keygen`."
            );
            Keyring::single(Key::generate())
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };
    let config = match SessionConfig::builder(keyring).build() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };

    let app = app(config, instance);
    let addr: SocketAddr = match format!("{bind}:{port}").parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!("error: BIND={bind:?} and PORT={port} do not make an address");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|err| {
            eprintln!("error: cannot listen on {addr}: {err}");
            std::process::exit(1);
        });
    eprintln!("listening on http://{addr}");
    axum::serve(listener, app).await.expect("server error");
}

fn app(config: SessionConfig, instance: String) -> Router {
    let instance = HeaderValue::from_str(&instance).unwrap_or(HeaderValue::from_static("?"));
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/cart", get(cart).post(add_to_cart))
        .route("/admin", get(admin))
        .layer(SessionLayer::new(config))
        .layer(middleware::map_response(move |mut response: Response| {
            let instance = instance.clone();
            async move {
                response.headers_mut().insert("x-instance", instance);
                response
            }
        }))
}

/// Who is logged in: the name and role stored at login.
struct User {
    name: String,
    role: String,
}

fn current_user(session: &Session) -> Option<User> {
    Some(User {
        name: session.get("user")?,
        role: session.get("role")?,
    })
}

async fn home(session: Session) -> Html<String> {
    match current_user(&session) {
        None => Html(page(&login_form(None))),
        Some(user) => {
            let cart: Vec<String> = session.get("cart").unwrap_or_default();
            let items: String = cart
                .iter()
                .map(|item| format!("<li>{}</li>", escape(item)))
                .collect();
            Html(page(&format!(
                r#"<h1>Welcome, {name}</h1>
<p>Role: {role}</p>
<h2>Your cart ({count} items)</h2>
<ul id="cart">{items}</ul>
<form method="post" action="/cart">
  <input name="item" maxlength="200" required placeholder="Item"> <button type="submit">Add to cart</button>
</form>
<form method="post" action="/logout"><button type="submit">Log out</button></form>"#,
                name = escape(&user.name),
                role = escape(&user.role),
                count = cart.len(),
            )))
        }
    }
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn login(session: Session, Form(form): Form<Credentials>) -> Response {
    let found = USERS
        .iter()
        .find(|(name, password, _)| *name == form.username && *password == form.password);
    let Some((name, _, role)) = found else {
        let form = login_form(Some("Unknown user name or wrong password."));
        return (StatusCode::UNAUTHORIZED, Html(page(&form))).into_response();
    };
    // A new session at login: nothing from before survives, and the absolute
    // lifetime counts from now.
    session.regenerate();
    let stored = session
        .insert("user", name)
        .and_then(|()| session.insert("role", role))
        .and_then(|()| session.insert("cart", &Vec::<String>::new()));
    match stored {
        Ok(()) => Redirect::to("/").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn logout(session: Session) -> Redirect {
    session.destroy();
    Redirect::to("/")
}

async fn me(session: Session) -> Response {
    match current_user(&session) {
        Some(user) => Json(json!({"user": user.name, "role": user.role})).into_response(),
        None => not_logged_in(),
    }
}

async fn cart(session: Session) -> Response {
    if current_user(&session).is_none() {
        return not_logged_in();
    }
    let cart: Vec<String> = session.get("cart").unwrap_or_default();
    Json(cart).into_response()
}

#[derive(Deserialize)]
struct NewItem {
    item: Option<String>,
}

async fn add_to_cart(session: Session, Form(form): Form<NewItem>) -> Response {
    if current_user(&session).is_none() {
        return not_logged_in();
    }
    let item = form.item.unwrap_or_default();
    let chars = item.chars().count();
    if chars == 0 || chars > MAX_ITEM_CHARS {
        let error = json!({"error": format!("item must be 1 to {MAX_ITEM_CHARS} characters")});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let mut cart: Vec<String> = session.get("cart").unwrap_or_default();
    cart.push(item);
    match session.insert("cart", &cart) {
        Ok(()) => Redirect::to("/").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn admin(session: Session) -> Response {
    match current_user(&session) {
        None => not_logged_in(),
        Some(user) if user.role == "admin" => Html(page(&format!(
            "<h1>Admin area</h1><p>Hello, {}.</p>",
            escape(&user.name)
        )))
        .into_response(),
        Some(_) => (StatusCode::FORBIDDEN, Json(json!({"error": "admins only"}))).into_response(),
    }
}

fn not_logged_in() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "not logged in"})),
    )
        .into_response()
}

fn login_form(error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))
    });
    format!(
        r#"<h1>Log in</h1>{error}
<form method="post" action="/login">
  <label>User name <input name="username" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Log in</button>
</form>
<p>Try <code>user1</code> / <code>mypassword</code> or <code>admin</code> / <code>adminpassword</code>.</p>"#
    )
}

fn page(body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>client-session demo</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}} label{{display:block;margin:.5em 0}} .error{{color:#b00}}</style>
</head><body>
{body}
</body></html>"#
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
