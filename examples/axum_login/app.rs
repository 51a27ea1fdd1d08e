//! The application of the axum-login example, shared with its test over
//! TCP (`tests/tower_sessions.rs`): axum-login and axum-messages exactly as
//! their own docs use them, on `tower_sessions::Session`, which
//! [`TowerSessionsLayer`] backs with this crate's sealed cookie.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_login::{AuthManager, AuthSession, AuthUser, AuthnBackend, UserId};
use axum_messages::{Messages, MessagesManagerLayer};
use client_session::{
    CsrfForm, CsrfRejection, Session, SessionConfig, SessionLayer, TowerSessionsLayer,
};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tower::layer::layer_fn;

/// A user as axum-login sees it. The session auth hash is derived from the
/// password hash: changing the password logs out every session.
#[derive(Clone)]
pub(crate) struct User {
    id: u64,
    name: String,
    password: String,
    /// Stands for a password hash (a real app stores argon2 output).
    auth_hash: Vec<u8>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AuthUser for User {
    type Id = u64;

    fn id(&self) -> u64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// In-memory users; `set_password` changes the auth hash.
#[derive(Clone, Default)]
pub(crate) struct Backend {
    users: Arc<std::sync::RwLock<HashMap<u64, User>>>,
}

impl Backend {
    /// `alice` / `wonderland` (id 1) and `bob` / `builder` (id 2).
    pub(crate) fn with_demo_users() -> Backend {
        let backend = Backend::default();
        backend.set_password(1, "alice", "wonderland");
        backend.set_password(2, "bob", "builder");
        backend
    }

    /// Creates or updates a user; a new password logs out their sessions.
    pub(crate) fn set_password(&self, id: u64, name: &str, password: &str) {
        let user = User {
            id,
            name: name.to_owned(),
            password: password.to_owned(),
            auth_hash: format!("{id}:{password}").into_bytes(),
        };
        self.users.write().expect("not poisoned").insert(id, user);
    }
}

#[derive(Clone, Deserialize)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

/// The backend cannot fail: users live in memory.
#[derive(Debug)]
pub(crate) enum Never {}

impl std::fmt::Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Never {}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = Never;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, Never> {
        let users = self.users.read().expect("not poisoned");
        Ok(users
            .values()
            .find(|u| u.name == creds.username && u.password == creds.password)
            .cloned())
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Never> {
        Ok(self.users.read().expect("not poisoned").get(id).cloned())
    }
}

type Auth = AuthSession<Backend>;

/// The whole application: the routes, axum-messages, axum-login's
/// `AuthManager`, the bridge, and this crate's session layer outermost.
pub(crate) fn app(config: SessionConfig, backend: Backend) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .layer(MessagesManagerLayer)
        .layer(layer_fn(move |inner| {
            AuthManager::new(inner, backend.clone(), "axum-login.data")
        }))
        .layer(TowerSessionsLayer)
        .layer(SessionLayer::new(config))
}

fn flashes(messages: Messages) -> String {
    messages
        .map(|m| format!(r#"<p class="{:?}">{}</p>"#, m.level, escape(&m.message)))
        .collect()
}

async fn home(auth: Auth, messages: Messages, session: Session) -> Response {
    let Some(user) = auth.user else {
        return Redirect::to("/login").into_response();
    };
    let token = session
        .csrf_token()
        .map(|t| t.to_string())
        .unwrap_or_default();
    Html(format!(
        r#"<h1>Hello, {name}</h1>{flashes}
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{token}"><button>Log out</button></form>"#,
        name = escape(&user.name),
        flashes = flashes(messages),
    ))
    .into_response()
}

async fn login_page(messages: Messages, session: Session) -> Html<String> {
    let token = session
        .csrf_token()
        .map(|t| t.to_string())
        .unwrap_or_default();
    Html(format!(
        r#"<h1>Log in</h1>{flashes}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{token}">
<input name="username"> <input name="password" type="password"> <button>Log in</button>
</form>"#,
        flashes = flashes(messages),
    ))
}

async fn login(
    mut auth: Auth,
    messages: Messages,
    form: Result<CsrfForm<Credentials>, CsrfRejection>,
) -> Response {
    let CsrfForm(creds) = match form {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let user = match auth.authenticate(creds).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            messages.error("Wrong user name or password.");
            return (StatusCode::UNAUTHORIZED, Redirect::to("/login")).into_response();
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if auth.login(&user).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    messages.success(format!("Welcome, {}.", user.name));
    Redirect::to("/").into_response()
}

#[derive(Deserialize)]
struct Nothing {}

async fn logout(
    mut auth: Auth,
    messages: Messages,
    form: Result<CsrfForm<Nothing>, CsrfRejection>,
) -> Response {
    if let Err(rejection) = form {
        return rejection.into_response();
    }
    if auth.logout().await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    messages.info("Logged out.");
    Redirect::to("/login").into_response()
}

/// Who is logged in, and the session's id as both crates see it.
async fn me(
    auth: Auth,
    session: Session,
    bridged: axum_login::tower_sessions::Session,
) -> Response {
    match auth.user {
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "not logged in"})),
        )
            .into_response(),
        Some(user) => axum::Json(json!({
            "user": user.name,
            "id": session.id().map(|id| id.to_string()),
            "tower_sessions_id": bridged.id().map(|id| id.0.to_string()),
        }))
        .into_response(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
