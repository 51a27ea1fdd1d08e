//! Typed sessions and several sessions in one application, over real HTTP.

use axum::Router;
use axum::routing::{get, post};
use client_session::{Session, SessionConfig, SessionLayer, SessionOf, TypedSession};
use serde::{Deserialize, Serialize};

use crate::common::*;

#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
struct Visit {
    count: u32,
    #[serde(default)]
    pages: Vec<String>,
}

fn typed_app() -> Router {
    Router::new()
        .route(
            "/visit",
            post(|mut visit: TypedSession<Visit>| async move {
                let mismatched = visit.mismatched();
                visit
                    .update(|v| {
                        v.count += 1;
                        v.pages.push("/visit".into());
                    })
                    .unwrap();
                format!("{} {mismatched}", visit.count)
            }),
        )
        .route(
            "/read",
            get(|visit: TypedSession<Visit>| async move {
                format!("{} {}", visit.count, visit.mismatched())
            }),
        )
        // What the previous version of the application stored: a text count.
        .route(
            "/old-version",
            post(|s: Session| async move { s.insert("count", "three").unwrap() }),
        )
        .route(
            "/id",
            get(|s: Session| async move { s.id().map(|id| id.to_string()).unwrap_or_default() }),
        )
        .layer(SessionLayer::new(
            SessionConfig::builder(ring(&[1])).build().unwrap(),
        ))
}

#[tokio::test]
async fn a_typed_session_reads_and_writes_the_whole_struct() {
    let url = serve(typed_app()).await;
    let client = browser();
    let visit = |c: &reqwest::Client| c.post(format!("{url}/visit")).send();
    assert_eq!(
        visit(&client).await.unwrap().text().await.unwrap(),
        "1 false"
    );
    assert_eq!(
        visit(&client).await.unwrap().text().await.unwrap(),
        "2 false"
    );
    assert_eq!(
        client
            .get(format!("{url}/read"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "2 false"
    );
}

#[tokio::test]
async fn stored_data_that_no_longer_matches_the_type_gives_the_default_and_is_replaced() {
    let url = serve(typed_app()).await;
    let client = browser();
    client
        .post(format!("{url}/old-version"))
        .send()
        .await
        .unwrap();
    let id = client
        .get(format!("{url}/id"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Reading: the default, the mismatch said, no error status, nothing written.
    let r = client.get(format!("{url}/read")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(set_cookies(&r).is_empty());
    assert_eq!(r.text().await.unwrap(), "0 true");
    // The first update replaces the old values; the session (its id) stays.
    assert_eq!(
        client
            .post(format!("{url}/visit"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1 true"
    );
    assert_eq!(
        client
            .get(format!("{url}/read"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1 false"
    );
    assert_eq!(
        client
            .get(format!("{url}/id"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        id
    );
}

/// The kind of the cart's session.
struct Cart;

#[tokio::test]
async fn two_sessions_each_with_its_own_cookie_keys_and_lifetime() {
    let auth = SessionConfig::builder(ring(&[1])).build().unwrap();
    let cart = SessionConfig::builder(ring(&[2]))
        .cookie_name("__Host-cart")
        .idle_timeout(std::time::Duration::from_secs(2 * 86_400))
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/login",
            post(|s: Session| async move {
                s.regenerate();
                s.insert("user", "alice").unwrap()
            }),
        )
        .route("/logout", post(|s: Session| async move { s.destroy() }))
        .route(
            "/add",
            post(|cart: SessionOf<Cart>| async move { cart.insert("items", &["pear"]).unwrap() }),
        )
        .route(
            "/both",
            get(|auth: Session, cart: SessionOf<Cart>| async move {
                format!(
                    "{:?} {:?}",
                    auth.get::<String>("user"),
                    cart.get::<Vec<String>>("items")
                )
            }),
        )
        .route(
            "/missing",
            get(|other: SessionOf<String>| async move { other.is_empty().to_string() }),
        )
        .layer(SessionLayer::new(auth))
        .layer(SessionLayer::<Cart>::of_kind(cart));
    let url = serve(app).await;
    let client = browser();
    let r = client.post(format!("{url}/add")).send().await.unwrap();
    let cookies = set_cookies(&r);
    assert_eq!(cookies.len(), 1);
    assert!(
        cookies[0].starts_with("__Host-cart=")
            && attribute(&cookies[0], "Max-Age").as_deref() == Some("172800"),
        "{cookies:?}"
    );
    let r = client.post(format!("{url}/login")).send().await.unwrap();
    let cookies = set_cookies(&r);
    assert!(
        cookies.len() == 1 && cookies[0].starts_with("__Host-session="),
        "{cookies:?}"
    );
    let both = || async {
        client
            .get(format!("{url}/both"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(both().await, r#"Some("alice") Some(["pear"])"#);
    // Logging out ends one session, not the other.
    client.post(format!("{url}/logout")).send().await.unwrap();
    assert_eq!(both().await, r#"None Some(["pear"])"#);
    // Each cookie opens only under its own name and ring: the cart's value
    // sent under the session's name is no session.
    let r = client.post(format!("{url}/add")).send().await.unwrap();
    let cart_value = set_cookies(&r).first().map(|c| {
        c.split(';')
            .next()
            .unwrap()
            .trim_start_matches("__Host-cart=")
            .to_owned()
    });
    if let Some(value) = cart_value {
        let r = get_with_cookie(
            &bare_client(),
            format!("{url}/both"),
            format!("__Host-session={value}"),
        )
        .await;
        assert_eq!(r.text().await.unwrap(), "None None");
    }
    // A kind no layer provides is a wiring bug: 500, named.
    let r = client.get(format!("{url}/missing")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap().as_str()),
        (500, "no SessionLayer wraps this route")
    );
}
