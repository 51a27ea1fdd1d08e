//! The tower-sessions bridge over real HTTP (feature `tower-sessions`):
//! axum-login and axum-messages, unchanged, on this crate's sealed cookies —
//! the `axum_login` example's application, served on 127.0.0.1.

#[path = "../examples/axum_login/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use client_session::{SessionConfig, SessionId};
use common::{browser, ring, serve};

const NAME: &str = "__Host-session";

fn config(keys: &[u8]) -> SessionConfig {
    SessionConfig::builder(ring(keys)).build().unwrap()
}

/// The value of the hidden `csrf_token` input of a page.
fn token(page: &str) -> String {
    let start = page
        .find(r#"name="csrf_token" value=""#)
        .expect("a CSRF field")
        + 25;
    page[start..start + 86].to_owned()
}

/// The session cookie's value in a `Set-Cookie` list (`None`: not set;
/// `Some("")`: expired).
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    common::set_cookies(response).iter().find_map(|c| {
        c.strip_prefix(&format!("{NAME}="))
            .map(|rest| rest.split(';').next().unwrap().to_owned())
    })
}

/// The id sealed in a cookie value, opened with the ring `keys`.
fn sealed_id(keys: &[u8], value: &str) -> SessionId {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    config(keys)
        .codec()
        .open(value, now)
        .expect("our sealed cookie")
        .id()
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

async fn post_form(
    client: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(url).form(form).send().await.unwrap()
}

#[tokio::test]
async fn axum_login_and_axum_messages_run_unchanged_on_sealed_cookies() {
    let backend = app::Backend::with_demo_users();
    let base = serve(app::app(config(&[1]), backend.clone())).await;
    let c = browser();

    // Anonymous: axum-login finds no user.
    let r = c.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/login")
    );
    let r = c.get(format!("{base}/login")).send().await.unwrap();
    let anonymous_cookie =
        session_cookie(&r).expect("the login page's CSRF token starts a session");
    let anonymous_id = sealed_id(&[1], &anonymous_cookie);
    let login_token = token(&text(r).await);

    // A wrong password: 401, and axum-messages' error shows on the next page, once.
    let r = post_form(
        &c,
        format!("{base}/login"),
        &[
            ("username", "alice"),
            ("password", "nope"),
            ("csrf_token", &login_token),
        ],
    )
    .await;
    assert_eq!(r.status(), 401);
    let page = text(c.get(format!("{base}/login")).send().await.unwrap()).await;
    assert!(page.contains("Wrong user name or password."), "{page}");
    let page = text(c.get(format!("{base}/login")).send().await.unwrap()).await;
    assert!(
        !page.contains("Wrong user name"),
        "a flash message shows once"
    );

    // No CSRF token: 403, nobody logged in.
    let r = post_form(
        &c,
        format!("{base}/login"),
        &[("username", "alice"), ("password", "wonderland")],
    )
    .await;
    assert_eq!(r.status(), 403);

    // The right password: axum-login's cycle_id gives a new session.
    let r = post_form(
        &c,
        format!("{base}/login"),
        &[
            ("username", "alice"),
            ("password", "wonderland"),
            ("csrf_token", &token(&page)),
        ],
    )
    .await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/")
    );
    let cookie = session_cookie(&r).expect("logged in: a new cookie");
    let id = sealed_id(&[1], &cookie);
    assert_ne!(
        id, anonymous_id,
        "login must change the session id (session fixation)"
    );
    let page = text(c.get(format!("{base}/")).send().await.unwrap()).await;
    assert!(
        page.contains("Hello, alice") && page.contains("Welcome, alice."),
        "{page}"
    );
    let page = text(c.get(format!("{base}/")).send().await.unwrap()).await;
    assert!(
        page.contains("Hello, alice") && !page.contains("Welcome"),
        "{page}"
    );

    // Both crates see one id: tower-sessions' is this crate's, as an i128.
    let me = common::json(c.get(format!("{base}/me")).send().await.unwrap()).await;
    assert_eq!(me["user"], "alice");
    assert_eq!(me["id"], id.to_string());
    assert_eq!(
        me["tower_sessions_id"],
        i128::from_le_bytes(id.to_bytes()).to_string()
    );

    // No store: another instance with the same keys (and its own memory) knows alice.
    let other = serve(app::app(config(&[1]), app::Backend::with_demo_users())).await;
    let cookie_header = format!("{NAME}={cookie}");
    let r = common::get_with_cookie(
        &common::bare_client(),
        format!("{other}/me"),
        &cookie_header,
    )
    .await;
    assert_eq!(r.status(), 200);
    // Rotation: an instance whose primary key is 2 still opens key 1's cookie,
    // and re-seals it with key 2 in the same response.
    let rotated = serve(app::app(config(&[2, 1]), app::Backend::with_demo_users())).await;
    let r = common::get_with_cookie(
        &common::bare_client(),
        format!("{rotated}/me"),
        &cookie_header,
    )
    .await;
    assert_eq!(r.status(), 200);
    let resealed = session_cookie(&r).expect("re-sealed with the primary key");
    assert_eq!(
        sealed_id(&[2], &resealed),
        id,
        "the same session, under the new key"
    );
    // Revocation: an instance with a not-before after the login refuses it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after_login = SessionConfig::builder(ring(&[1]))
        .not_before(SystemTime::now())
        .build()
        .unwrap();
    let revoked = serve(app::app(after_login, app::Backend::with_demo_users())).await;
    let r = common::get_with_cookie(
        &common::bare_client(),
        format!("{revoked}/me"),
        &cookie_header,
    )
    .await;
    assert_eq!(r.status(), 401);

    // axum-login's session auth hash: a new password logs the session out
    // (axum-login flushes; the cookie is expired).
    backend.set_password(1, "alice", "looking-glass");
    let r = c.get(format!("{base}/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        session_cookie(&r).as_deref(),
        Some(""),
        "the cookie is expired"
    );
    backend.set_password(1, "alice", "wonderland");

    // Log in again, then log out: flush expires the session, the message follows.
    let page = text(c.get(format!("{base}/login")).send().await.unwrap()).await;
    let r = post_form(
        &c,
        format!("{base}/login"),
        &[
            ("username", "alice"),
            ("password", "wonderland"),
            ("csrf_token", &token(&page)),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = text(c.get(format!("{base}/")).send().await.unwrap()).await;
    let logged_in_id = me_id(&c, &base).await;
    let r = post_form(
        &c,
        format!("{base}/logout"),
        &[("csrf_token", &token(&page))],
    )
    .await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/login")
    );
    let after = session_cookie(&r).expect("the response carries the logout");
    assert!(
        after.is_empty() || sealed_id(&[1], &after) != logged_in_id,
        "the old session is gone"
    );
    let page = text(c.get(format!("{base}/login")).send().await.unwrap()).await;
    assert!(page.contains("Logged out."), "{page}");
    assert_eq!(
        c.get(format!("{base}/me")).send().await.unwrap().status(),
        401
    );
}

async fn me_id(c: &reqwest::Client, base: &str) -> SessionId {
    let me = common::json(c.get(format!("{base}/me")).send().await.unwrap()).await;
    me["id"].as_str().unwrap().parse().unwrap()
}
