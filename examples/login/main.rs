//! The login demo: `cargo run --example login`, then open <http://localhost:3000>.
//!
//! The classic "sessions with Express" tutorial, done with sealed cookies:
//! log in as `user1` / `mypassword` (role `user`) or `admin` / `adminpassword`
//! (role `admin`), fill a cart, log out — and what a login needs on top:
//!
//! * **Remember me** (`remember=on` on `POST /login`): a persistent 30-day
//!   session; otherwise a browser-session cookie that also ends after 30
//!   idle minutes.
//! * **Log out everywhere** (`POST /logout-everywhere`): the user's epoch in
//!   the database moves on, and every other session of that user — other
//!   browsers, other instances — is anonymous within the check interval.
//! * **Log everyone out**: restart the instances with `SESSION_NOT_BEFORE`.
//! * `/me` shows the session `id` and `authenticated_at` (Unix seconds).
//! * **CSRF protection** on every form: a hidden `csrf_token` input (and a
//!   `<meta name="csrf-token">` for scripts, which send it as
//!   `X-CSRF-Token`); a post without this session's token, or from another
//!   origin, gets 403. A post from another origin is refused first; then
//!   anonymous posts to pages that need a login get 401 (nothing to forge),
//!   then the token is checked.
//! * **Migration from Express**: with `LEGACY_CLIENT_SESSIONS_SECRET` (and
//!   `LEGACY_CLIENT_SESSIONS_COOKIE`, default `session_state`), a visitor
//!   still holding a Mozilla client-sessions cookie of the old Express app
//!   is logged in from it, and leaves with this crate's cookie instead.
//! * **Flash messages**: "Logged out.", "Item added." after the redirect;
//!   "Unknown user name or wrong password." with the 401 form (a message
//!   for this response only: `flash_now`).
//!
//! Environment:
//! * `SESSION_KEYS` / `SESSION_KEYS_FILE` — the key ring (see the README). When
//!   neither is set the demo makes a key for this process only and warns.
//! * `SESSION_NOT_BEFORE` — Unix seconds or an RFC 3339 date-time: sessions
//!   created before it are refused.
//! * `SESSION_CHECK_INTERVAL` (seconds, default 10) — how often a session is
//!   checked against the user's epoch.
//! * `DATABASE_PATH` (default: `client-session-login-demo.sqlite3` in the
//!   system's temporary directory, shared by every instance on the machine)
//!   — the SQLite file of users and epochs, created on first run.
//! * `PORT` (default 3000), `BIND` (default 127.0.0.1) — where to listen.
//! * `INSTANCE` (default: the port) — sent as `X-Instance` on every response,
//!   so a load-balanced deployment shows which instance answered.
//! * `LEGACY_CLIENT_SESSIONS_SECRET`, `LEGACY_CLIENT_SESSIONS_COOKIE`,
//!   `LEGACY_CLIENT_SESSIONS_SIGNATURE_ALGORITHM` — read the old Express
//!   app's client-sessions cookies (off when the secret is unset).
//! * `METRICS_PORT` (off when unset) — the session layer's metrics in
//!   Prometheus format at `http://BIND:METRICS_PORT/metrics`.
//!
//! Run several instances with the same `SESSION_KEYS` behind a load balancer
//! and the session follows the user across all of them.

use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use client_session::{
    ConfigError, CsrfForm, CsrfRejection, Key, KeySource, Keyring, LegacyClientSessions, Level,
    Lifetime, Session, SessionConfig, SessionLayer, Verdict, defaults,
};
use serde::Deserialize;
use serde_json::json;

mod users;
use users::Users;

const MAX_ITEM_CHARS: usize = 200;
const DAY: Duration = Duration::from_secs(86_400);
/// "Remember me": a persistent session of 30 days.
const REMEMBERED: Duration = Duration::from_secs(30 * 86_400);
/// Otherwise: a browser-session cookie, ended after 30 idle minutes.
const BROWSER_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
const DEFAULT_CHECK_INTERVAL: u64 = 10;

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

    // A key file (SESSION_KEYS_FILE) is followed: rotation without restarts.
    let keyring = match KeySource::default().watch(defaults::KEY_RELOAD_INTERVAL) {
        Ok(keyring) => keyring,
        Err(ConfigError::KeysNotSet { .. }) => {
            eprintln!(
                "warning: SESSION_KEYS is not set; using a random key for this process only. \
                 Sessions will not survive a restart nor be shared between instances. \
                 Make a key with `cargo run --example keygen`."
            );
            Keyring::single(Key::generate()).into()
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };
    let check_interval = match std::env::var("SESSION_CHECK_INTERVAL") {
        Err(_) => DEFAULT_CHECK_INTERVAL,
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => seconds,
            _ => {
                eprintln!(
                    "error: SESSION_CHECK_INTERVAL must be a whole number of seconds, at least 1"
                );
                std::process::exit(2);
            }
        },
    };
    let database = Users::default_path();
    let users = match Users::open(&database) {
        Ok(users) => users,
        Err(err) => {
            eprintln!(
                "error: cannot open the user database {}: {err}",
                database.display()
            );
            std::process::exit(2);
        }
    };
    let config = SessionConfig::builder(keyring)
        .max_idle_timeout(REMEMBERED)
        .max_absolute_lifetime(REMEMBERED)
        .revalidate(Duration::from_secs(check_interval), {
            let users = users.clone();
            move |session| {
                let users = users.clone();
                async move {
                    // Anonymous sessions have nothing to revoke.
                    let Some(name) = session.get::<String>("user") else {
                        return Ok(Verdict::Valid);
                    };
                    // Sessions migrated from client-sessions carry no epoch:
                    // they count as epoch 0, so a "log out everywhere" since
                    // then ends them too.
                    let epoch: i64 = session.get("epoch").unwrap_or(0);
                    // The request waits for the check: a deadline of its own,
                    // after which the layer's grace rule applies.
                    let found = tokio::time::timeout(Duration::from_secs(2), users.find(&name))
                        .await
                        .map_err(|_| "the user database did not answer within 2 s")??;
                    Ok(match found {
                        Some(user) if user.epoch == epoch => Verdict::Valid,
                        _ => Verdict::Revoked,
                    })
                }
            }
        })
        .not_before_from_env()
        .and_then(|builder| {
            // LEGACY_CLIENT_SESSIONS_SECRET: users of the Express app on
            // Mozilla client-sessions keep their session (migration guide:
            // MIGRATING.md).
            Ok(match LegacyClientSessions::from_env()? {
                Some(legacy) => {
                    eprintln!(
                        "reading client-sessions cookies named {} (migration)",
                        legacy.cookie_name()
                    );
                    builder.legacy_client_sessions(legacy)
                }
                None => builder,
            })
        })
        .and_then(|builder| builder.build());
    let config = match config {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };

    if let Ok(port) = std::env::var("METRICS_PORT") {
        let Ok(port) = port.trim().parse::<u16>() else {
            eprintln!("error: METRICS_PORT must be a port number");
            std::process::exit(2);
        };
        let Ok(ip) = bind.parse::<std::net::IpAddr>() else {
            eprintln!("error: BIND={bind:?} is not an IP address");
            std::process::exit(2);
        };
        if let Err(err) = metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(SocketAddr::new(ip, port))
            .install()
        {
            eprintln!("error: cannot serve metrics on port {port}: {err}");
            std::process::exit(2);
        }
        eprintln!("metrics on http://{ip}:{port}/metrics");
    }
    let app = app(config, users, instance);
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

fn app(config: SessionConfig, users: Users, instance: String) -> Router {
    let instance = HeaderValue::from_str(&instance).unwrap_or(HeaderValue::from_static("?"));
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/me", get(me))
        .route("/cart", get(cart).post(add_to_cart))
        .route("/admin", get(admin))
        .route_layer(middleware::from_fn_with_state(
            users.clone(),
            complete_migrated,
        ))
        .with_state(users)
        .layer(SessionLayer::new(config))
        .layer(middleware::map_response(move |mut response: Response| {
            let instance = instance.clone();
            async move {
                response.headers_mut().insert("x-instance", instance);
                response
            }
        }))
}

/// A session migrated from the Express app may name its user without the
/// role this demo stores at login: the role comes from the database then
/// (the epoch does not: a missing one counts as 0, see the check).
async fn complete_migrated(
    State(users): State<Users>,
    session: Session,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    if session.had_valid_cookie()
        && session.get::<String>("role").is_none()
        && let Some(name) = session.get::<String>("user")
    {
        match users.find(&name).await {
            Ok(Some(user)) => {
                let _ = session.insert("role", &user.role);
            }
            Ok(None) => session.destroy(),
            Err(err) => return unavailable(&err),
        }
    }
    next.run(request).await
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
        None => Html(page(&session, &login_form(&session))),
        Some(user) => {
            let cart: Vec<String> = session.get("cart").unwrap_or_default();
            let items: String = cart
                .iter()
                .map(|item| format!("<li>{}</li>", escape(item)))
                .collect();
            let id = session.id().map(|id| id.to_string()).unwrap_or_default();
            let remembered = session.lifetime().persistent() == Some(true);
            let csrf = csrf_field(&session);
            Html(page(
                &session,
                &format!(
                    r#"<h1>Welcome, {name}</h1>
<p>Role: {role}</p>
<p>Session <code id="session-id">{id}</code>, logged in at <span id="authenticated-at">{at}</span> (Unix time){remember}.</p>
<h2>Your cart ({count} items)</h2>
<ul id="cart">{items}</ul>
<form method="post" action="/cart">{csrf}
  <input name="item" maxlength="200" required placeholder="Item"> <button type="submit">Add to cart</button>
</form>
<form method="post" action="/logout">{csrf}<button type="submit">Log out</button></form>
<form method="post" action="/logout-everywhere">{csrf}<button type="submit">Log out everywhere</button></form>"#,
                    name = escape(&user.name),
                    role = escape(&user.role),
                    at = authenticated_at(&session).unwrap_or_default(),
                    remember = if remembered {
                        ", remembered for 30 days"
                    } else {
                        ""
                    },
                    count = cart.len(),
                ),
            ))
        }
    }
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// The "remember me" checkbox: `on` when ticked, absent otherwise.
    remember: Option<String>,
}

/// The login form on its own URL too (`/` shows it to anonymous visitors).
async fn login_page(session: Session) -> Response {
    if current_user(&session).is_some() {
        return Redirect::to("/").into_response();
    }
    Html(page(&session, &login_form(&session))).into_response()
}

async fn login(
    State(users): State<Users>,
    session: Session,
    form: Result<CsrfForm<Credentials>, CsrfRejection>,
) -> Response {
    // Login forms need the token too: without it, another site could log
    // a visitor into the attacker's account (login CSRF).
    let CsrfForm(form) = match form {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let user = match users.authenticate(&form.username, &form.password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            // Shown with this response (no redirect): nothing is stored.
            session.flash_now(Level::Error, "Unknown user name or wrong password.");
            let form = login_form(&session);
            return (StatusCode::UNAUTHORIZED, Html(page(&session, &form))).into_response();
        }
        Err(err) => return unavailable(&err),
    };
    // A new session at login: a new id, nothing from before survives, and
    // the absolute lifetime counts from now.
    session.regenerate();
    session.mark_authenticated();
    session.set_lifetime(if form.remember.as_deref() == Some("on") {
        Lifetime::remember_for(REMEMBERED)
    } else {
        Lifetime::browser_session(BROWSER_SESSION_IDLE).with_absolute_lifetime(DAY)
    });
    let stored = session
        .insert("user", &user.name)
        .and_then(|()| session.insert("role", &user.role))
        .and_then(|()| session.insert("epoch", &user.epoch))
        .and_then(|()| session.insert("cart", &Vec::<String>::new()));
    match stored {
        Ok(()) => Redirect::to("/").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A post the browser says comes from another origin is refused (403)
/// before anything else; the rest of the check waits for the handler's own
/// order (401 to an anonymous request first: there is nothing to forge).
fn refuse_other_origins<T>(
    form: Result<CsrfForm<T>, CsrfRejection>,
) -> Result<Result<CsrfForm<T>, CsrfRejection>, CsrfRejection> {
    match form {
        Err(rejection) if rejection.from_another_origin() => Err(rejection),
        form => Ok(form),
    }
}

/// A form post without fields besides the CSRF token.
#[derive(Deserialize)]
struct Confirm {}

async fn logout(session: Session, form: Result<CsrfForm<Confirm>, CsrfRejection>) -> Response {
    let form = match refuse_other_origins(form) {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    // Nobody to log out: nothing to forge, nothing to do.
    if current_user(&session).is_none() {
        return Redirect::to("/").into_response();
    }
    if let Err(rejection) = form {
        return rejection.into_response();
    }
    session.destroy();
    session.flash(Level::Info, "Logged out.");
    Redirect::to("/").into_response()
}

/// Ends every session of the user: this one now, the others (other
/// browsers, other instances) at their next check.
async fn logout_everywhere(
    State(users): State<Users>,
    session: Session,
    form: Result<CsrfForm<Confirm>, CsrfRejection>,
) -> Response {
    let form = match refuse_other_origins(form) {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(user) = current_user(&session) else {
        return not_logged_in();
    };
    if let Err(rejection) = form {
        return rejection.into_response();
    }
    if let Err(err) = users.bump_epoch(&user.name).await {
        return unavailable(&err);
    }
    session.destroy();
    session.flash(Level::Info, "Logged out everywhere.");
    Redirect::to("/").into_response()
}

async fn me(session: Session) -> Response {
    match current_user(&session) {
        Some(user) => Json(json!({
            "user": user.name,
            "role": user.role,
            "id": session.id().map(|id| id.to_string()),
            "authenticated_at": authenticated_at(&session),
            "remembered": session.lifetime().persistent() == Some(true),
        }))
        .into_response(),
        None => not_logged_in(),
    }
}

/// When the user logged in, in Unix seconds.
fn authenticated_at(session: &Session) -> Option<u64> {
    session
        .authenticated_at()
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map(|since| since.as_secs())
}

fn unavailable(err: &rusqlite::Error) -> Response {
    eprintln!("error: user database: {err}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "user database unavailable"})),
    )
        .into_response()
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

async fn add_to_cart(session: Session, form: Result<CsrfForm<NewItem>, CsrfRejection>) -> Response {
    let form = match refuse_other_origins(form) {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    if current_user(&session).is_none() {
        return not_logged_in();
    }
    let CsrfForm(form) = match form {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let item = form.item.unwrap_or_default();
    let chars = item.chars().count();
    if chars == 0 || chars > MAX_ITEM_CHARS {
        let error = json!({"error": format!("item must be 1 to {MAX_ITEM_CHARS} characters")});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let mut cart: Vec<String> = session.get("cart").unwrap_or_default();
    cart.push(item);
    match session.insert("cart", &cart) {
        Ok(()) => {
            session.flash(Level::Success, "Item added.");
            Redirect::to("/").into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn admin(session: Session) -> Response {
    match current_user(&session) {
        None => not_logged_in(),
        Some(user) if user.role == "admin" => Html(page(
            &session,
            &format!("<h1>Admin area</h1><p>Hello, {}.</p>", escape(&user.name)),
        ))
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

fn login_form(session: &Session) -> String {
    let csrf = csrf_field(session);
    format!(
        r#"<h1>Log in</h1>
<form method="post" action="/login">{csrf}
  <label>User name <input name="username" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <label><input name="remember" type="checkbox"> Remember me for 30 days</label>
  <button type="submit">Log in</button>
</form>
<p>Try <code>user1</code> / <code>mypassword</code> or <code>admin</code> / <code>adminpassword</code>.</p>"#
    )
}

/// The hidden input that carries this session's CSRF token in a form.
fn csrf_field(session: &Session) -> String {
    format!(
        r#"<input type="hidden" name="csrf_token" value="{}">"#,
        csrf_token(session)
    )
}

/// A fresh masked token (empty only if the OS random generator failed,
/// and then the post is refused: safe).
fn csrf_token(session: &Session) -> String {
    session
        .csrf_token()
        .map(|token| token.to_string())
        .unwrap_or_default()
}

/// The page around `body`: the flash messages for this response first,
/// and the CSRF token for scripts in a `<meta>`.
fn page(session: &Session, body: &str) -> String {
    let flashes: String = session
        .flashes()
        .iter()
        .map(|flash| {
            let role = if flash.level == Level::Error {
                "alert"
            } else {
                "status"
            };
            format!(
                r#"<p class="flash {level}" role="{role}">{message}</p>"#,
                level = flash.level,
                message = escape(&flash.message)
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>client-session demo</title>
<meta name="csrf-token" content="{token}">
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}} label{{display:block;margin:.5em 0}} .flash{{padding:.5em;border-radius:.3em}} .error{{color:#b00;background:#fee}} .success{{background:#efe}} .info{{background:#eef}} .warning{{background:#ffe}}</style>
</head><body>
<div id="flashes">{flashes}</div>
{body}
</body></html>"#,
        token = csrf_token(session),
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
