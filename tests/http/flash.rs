//! Flash messages over real HTTP: set before a redirect, shown by the next
//! request that uses the session, then gone.

use axum::Router;
use axum::routing::{get, post};
use axum::{Json, http::StatusCode};
use client_session::{Flash, Level, Session, SessionConfig, SessionLayer};

use crate::common::*;

async fn app() -> String {
    let router = Router::new()
        .route(
            "/add",
            post(|s: Session| async move {
                s.insert("cart", &["pear"]).unwrap();
                s.flash(Level::Success, "Item added.");
                s.flash(Level::Warning, "Stock is low.");
            }),
        )
        .route(
            "/logout",
            post(|s: Session| async move {
                s.destroy();
                s.flash(Level::Info, "Logged out.");
            }),
        )
        .route(
            "/only-flash",
            post(|s: Session| async move { s.flash(Level::Info, "Hello.") }),
        )
        .route(
            "/now",
            post(|s: Session| async move {
                s.flash_now(Level::Error, "Wrong password.");
                Json(s.flashes())
            }),
        )
        .route("/show", get(|s: Session| async move { Json(s.flashes()) }))
        .route(
            "/cart",
            get(|s: Session| async move { Json(s.get::<Vec<String>>("cart")) }),
        )
        .route(
            "/fail",
            get(|s: Session| async move {
                let shown = s.flashes();
                (StatusCode::INTERNAL_SERVER_ERROR, Json(shown))
            }),
        )
        .route("/untouched", get(|| async { "static" }))
        .layer(SessionLayer::new(
            SessionConfig::builder(ring(&[1])).build().unwrap(),
        ));
    serve(router).await
}

async fn shown(client: &reqwest::Client, url: String) -> Vec<Flash> {
    serde_json::from_value(json(client.get(url).send().await.unwrap()).await).unwrap()
}

fn flash(level: Level, message: &str) -> Flash {
    Flash {
        level,
        message: message.into(),
    }
}

#[tokio::test]
async fn a_flash_survives_exactly_the_next_request_that_uses_the_session() {
    let url = app().await;
    let client = browser();
    client.post(format!("{url}/add")).send().await.unwrap();
    // A stylesheet or favicon between the redirect and the page does not use it up.
    let r = client.get(format!("{url}/untouched")).send().await.unwrap();
    assert!(set_cookies(&r).is_empty());
    assert_eq!(
        shown(&client, format!("{url}/show")).await,
        [
            flash(Level::Success, "Item added."),
            flash(Level::Warning, "Stock is low.")
        ]
    );
    assert_eq!(
        shown(&client, format!("{url}/show")).await,
        [],
        "gone after one request"
    );
    // The session's values were not touched by the sweep.
    let cart = json(client.get(format!("{url}/cart")).send().await.unwrap()).await;
    assert_eq!(cart, serde_json::json!(["pear"]));
}

#[tokio::test]
async fn a_request_that_only_reads_the_flash_expires_a_cookie_that_held_nothing_else() {
    let url = app().await;
    let client = browser();
    let r = client
        .post(format!("{url}/only-flash"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        set_cookies(&r).len(),
        1,
        "the flash is sealed into a session"
    );
    let r = client.get(format!("{url}/show")).send().await.unwrap();
    let expired = set_cookies(&r);
    assert_eq!(expired.len(), 1);
    assert_eq!(attribute(&expired[0], "Max-Age").as_deref(), Some("0"));
    assert_eq!(
        serde_json::from_value::<Vec<Flash>>(json(r).await).unwrap(),
        [flash(Level::Info, "Hello.")]
    );
}

#[tokio::test]
async fn a_flash_set_after_logout_follows_it_and_nothing_else_does() {
    let url = app().await;
    let client = browser();
    client.post(format!("{url}/add")).send().await.unwrap();
    client.post(format!("{url}/logout")).send().await.unwrap();
    // The pre-logout messages were the old session's: only the logout's shows.
    assert_eq!(
        shown(&client, format!("{url}/show")).await,
        [flash(Level::Info, "Logged out.")]
    );
    let cart = json(client.get(format!("{url}/cart")).send().await.unwrap()).await;
    assert_eq!(
        cart,
        serde_json::Value::Null,
        "the old session's values are gone"
    );
}

#[tokio::test]
async fn flash_now_shows_in_this_response_and_is_never_stored() {
    let url = app().await;
    let client = browser();
    let r = client.post(format!("{url}/now")).send().await.unwrap();
    assert!(set_cookies(&r).is_empty(), "nothing stored: no cookie");
    assert_eq!(
        serde_json::from_value::<Vec<Flash>>(json(r).await).unwrap(),
        [flash(Level::Error, "Wrong password.")]
    );
    assert_eq!(shown(&client, format!("{url}/show")).await, []);
}

#[tokio::test]
async fn a_server_error_does_not_use_the_flash_up() {
    let url = app().await;
    let client = browser();
    client
        .post(format!("{url}/only-flash"))
        .send()
        .await
        .unwrap();
    let r = client.get(format!("{url}/fail")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(set_cookies(&r).is_empty(), "a 5xx saves nothing");
    assert_eq!(
        shown(&client, format!("{url}/show")).await,
        [flash(Level::Info, "Hello.")],
        "still there after the error"
    );
}
