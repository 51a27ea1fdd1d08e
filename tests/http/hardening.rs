//! What the attack review of 0.1 asked for, as a client sees it over real
//! HTTP: cache headers that keep shared caches from replaying one user's
//! page or cookie, no session from two competing cookies (cookie tossing),
//! sealed expiries that cannot outlive the idle timeout, and failures that
//! do not punish legitimate users (5xx, renewals that no longer fit).

use std::time::Duration;

use crate::common::*;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use client_session::{ManualClock, Session, SessionConfig, SessionConfigBuilder, SessionLayer};

const COOKIE: &str = "__Host-session";

/// Routes whose handlers set their own caching headers.
fn app(builder: SessionConfigBuilder) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/login-public", post(login_public))
        .route("/login-no-store", post(login_no_store))
        .route("/me", get(me))
        .route("/static", get(static_page))
        .route("/fail-after-change", post(fail_after_change))
        .route("/fail-after-destroy", post(fail_after_destroy))
        .route("/fail-after-read", get(fail_after_read))
        .layer(SessionLayer::new(builder.build().unwrap()))
}

async fn serve_app(builder: SessionConfigBuilder) -> String {
    serve(app(builder)).await
}

async fn login(session: Session) -> StatusCode {
    session.regenerate();
    session.insert("user", "alice").unwrap();
    StatusCode::NO_CONTENT
}

fn public_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=60, s-maxage=600"),
    );
    headers.insert("vary", HeaderValue::from_static("Accept-Encoding"));
    headers
}

async fn login_public(session: Session) -> impl IntoResponse {
    session.insert("user", "alice").unwrap();
    (public_headers(), "welcome")
}

async fn login_no_store(session: Session) -> impl IntoResponse {
    session.insert("user", "alice").unwrap();
    ([("cache-control", "no-store")], "welcome")
}

async fn me(session: Session) -> impl IntoResponse {
    let user = session.get::<String>("user").unwrap_or_default();
    (public_headers(), user)
}

async fn static_page() -> impl IntoResponse {
    (
        [("cache-control", "public, max-age=3600")],
        "the same for all",
    )
}

async fn fail_after_change(session: Session) -> StatusCode {
    session.insert("user", "mallory").unwrap();
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn fail_after_destroy(session: Session) -> StatusCode {
    session.destroy();
    StatusCode::SERVICE_UNAVAILABLE
}

async fn fail_after_read(session: Session) -> StatusCode {
    let _ = session.get::<String>("user");
    StatusCode::INTERNAL_SERVER_ERROR
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    let values: Vec<&str> = response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    (!values.is_empty()).then(|| values.join(" | "))
}

fn config(clock: &ManualClock) -> SessionConfigBuilder {
    SessionConfig::builder(ring(&[1])).clock(clock.clone())
}

async fn logged_in(url: &str) -> String {
    let login = send_post(&bare_client(), format!("{url}/login"), "").await;
    as_cookie_header(&set_cookies(&login))
}

/// Every response that sets the session's cookie, or shows a session, is
/// `private` (the handler's `public` and `s-maxage` removed, its `no-store`
/// kept) and varies on `Cookie`; an anonymous read only varies on
/// `Cookie`, and a route that never touches the session is left alone.
#[tokio::test]
async fn responses_that_carry_or_reveal_a_session_are_private_and_vary_on_cookie() {
    let clock = ManualClock::new(NOW);
    let url = serve_app(config(&clock)).await;
    let client = bare_client();
    let cookie = logged_in(&url).await;

    let rows: Vec<(&str, reqwest::Response, Option<&str>, Option<&str>)> = vec![
        (
            "sets the cookie, handler said public",
            send_post(&client, format!("{url}/login-public"), "").await,
            Some("private, max-age=60"),
            Some("Accept-Encoding, Cookie"),
        ),
        (
            "sets the cookie, handler said no-store",
            send_post(&client, format!("{url}/login-no-store"), "").await,
            Some("no-store"),
            Some("Cookie"),
        ),
        (
            "shows a logged-in session, handler said public",
            get_with_cookie(&client, format!("{url}/me"), &cookie).await,
            Some("private, max-age=60"),
            Some("Accept-Encoding, Cookie"),
        ),
        (
            "anonymous read: the handler's caching kept",
            crate::common::get(&client, format!("{url}/me")).await,
            Some("public, max-age=60, s-maxage=600"),
            Some("Accept-Encoding, Cookie"),
        ),
        (
            "session untouched",
            get_with_cookie(&client, format!("{url}/static"), &cookie).await,
            Some("public, max-age=3600"),
            None,
        ),
    ];
    for (name, response, cache_control, vary) in rows {
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            cache_control,
            "{name}: Cache-Control"
        );
        assert_eq!(header(&response, "vary").as_deref(), vary, "{name}: Vary");
    }

    // The login response itself carried the cookie: private.
    let login = send_post(&client, format!("{url}/login"), "").await;
    assert_eq!(header(&login, "cache-control").as_deref(), Some("private"));
    assert_eq!(header(&login, "vary").as_deref(), Some("Cookie"));
}

/// The opt-out leaves the handler's headers exactly as they were.
#[tokio::test]
async fn the_opt_out_leaves_caching_headers_to_the_application() {
    let clock = ManualClock::new(NOW);
    let url = serve_app(config(&clock).insecure_skip_cache_headers()).await;
    let response = send_post(&bare_client(), format!("{url}/login-public"), "").await;
    assert_eq!(set_cookies(&response).len(), 1, "the session was set");
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("public, max-age=60, s-maxage=600")
    );
    assert_eq!(
        header(&response, "vary").as_deref(),
        Some("Accept-Encoding")
    );
}

/// A cookie tossed from a sibling domain arrives next to the real one, in
/// either order: the request has no session at all rather than one of them.
#[tokio::test]
async fn two_session_cookies_in_one_request_mean_no_session() {
    let clock = ManualClock::new(NOW);
    let url = serve_app(config(&clock)).await;
    let client = bare_client();
    let mine = logged_in(&url).await;
    let attackers = logged_in(&url).await;
    assert_ne!(mine, attackers);
    let alone = get_with_cookie(&client, format!("{url}/me"), &mine).await;
    assert_eq!(alone.text().await.unwrap(), "alice", "positive control");
    for header in [
        format!("{attackers}; {mine}"),
        format!("{mine}; {attackers}"),
        format!("{mine}; {mine}"),
    ] {
        let response = get_with_cookie(&client, format!("{url}/me"), &header).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(set_cookies(&response).is_empty());
        assert_eq!(response.text().await.unwrap(), "", "no session: {header}");
    }
}

/// A chunk sent twice, with different values: no session either.
#[tokio::test]
async fn a_chunk_sent_twice_means_no_session() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock)).await;
    let client = bare_client();
    let big = send_post(&client, format!("{url}/grow/5000"), "").await;
    let chunks = as_cookie_header(&set_cookies(&big));
    assert!(
        chunks.contains(&format!("{COOKIE}.1=")),
        "two chunks: {chunks}"
    );
    let whole = get_with_cookie(&client, format!("{url}/meta"), &chunks).await;
    assert!(whole.text().await.unwrap().contains(r#""valid":true"#));
    let tossed = format!("{chunks}; {COOKIE}.1=AAAA");
    let response = get_with_cookie(&client, format!("{url}/meta"), &tossed).await;
    assert!(response.text().await.unwrap().contains(r#""valid":false"#));
}

/// `expires_at` is bounded by the server's idle timeout (plus the clock
/// leeway): a cookie claiming to last longer does not open, and lowering
/// the idle timeout shortens sessions already issued.
#[tokio::test]
async fn a_sealed_expiry_beyond_the_idle_timeout_does_not_open() {
    let clock = ManualClock::new(NOW);
    let idle = 3600;
    let url = app_with(config(&clock).idle_timeout(Duration::from_secs(idle))).await;
    let codec = client_session::SessionCodec::new(ring(&[1]), COOKIE);
    let mut data = client_session::SessionData::new();
    data.insert("user", "alice").unwrap();
    let leeway = 60;
    let rows = [
        ("at the bound", NOW + idle + leeway, true),
        ("one second past the bound", NOW + idle + leeway + 1, false),
        ("ten years ahead", NOW + 10 * 365 * 86_400, false),
    ];
    for (name, expires_at, opens) in rows {
        let value = codec.seal(&data, NOW, expires_at).unwrap();
        let response = get_with_cookie(
            &bare_client(),
            format!("{url}/get/user"),
            format!("{COOKIE}={value}"),
        )
        .await;
        let expected = if opens {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(response.status(), expected, "{name}");
    }

    // Issued under a 24 h idle timeout, read after it was lowered to 1 h.
    let before = app_with(config(&clock)).await;
    let login = send_post(&bare_client(), format!("{before}/set/user"), r#""alice""#).await;
    let cookie = as_cookie_header(&set_cookies(&login));
    let long = get_with_cookie(&bare_client(), format!("{before}/get/user"), &cookie).await;
    assert_eq!(long.status(), StatusCode::OK, "positive control");
    let after = get_with_cookie(&bare_client(), format!("{url}/get/user"), &cookie).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
}

/// A 5xx saves no change and renews nothing (the browser keeps its cookie,
/// which still holds the old session), but a destroyed session is ended
/// whatever the status.
#[tokio::test]
async fn a_server_error_saves_nothing_but_destroy_still_ends_the_session() {
    let clock = ManualClock::new(NOW);
    let url = serve_app(config(&clock)).await;
    let client = bare_client();
    let cookie = logged_in(&url).await;

    let failed = post_with_cookie(&client, format!("{url}/fail-after-change"), &cookie, "").await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&failed).is_empty(), "the change is not saved");
    let me = get_with_cookie(&client, format!("{url}/me"), &cookie).await;
    assert_eq!(me.text().await.unwrap(), "alice");

    // Renewal due (23 h into a 24 h window), but the response is a 500.
    clock.advance(23 * 3600);
    let failed = get_with_cookie(&client, format!("{url}/fail-after-read"), &cookie).await;
    assert!(set_cookies(&failed).is_empty(), "no renewal on a 5xx");
    let renewed = get_with_cookie(&client, format!("{url}/me"), &cookie).await;
    assert_eq!(
        set_cookies(&renewed).len(),
        1,
        "positive control: renewal due"
    );

    let ended = post_with_cookie(&client, format!("{url}/fail-after-destroy"), &cookie, "").await;
    assert_eq!(ended.status(), StatusCode::SERVICE_UNAVAILABLE);
    let expired = set_cookies(&ended);
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert!(
        expired[0].starts_with(&format!("{COOKIE}=; Max-Age=0;")),
        "{expired:?}"
    );
    assert_eq!(
        header(&ended, "cache-control").as_deref(),
        Some("private"),
        "the expiring response is private too"
    );
}

/// A valid cookie that no longer fits the caps (they were lowered, or
/// another implementation sealed it) keeps working: its renewal, or its
/// re-seal with a new primary key, is skipped instead of answering 500.
/// A change the handler makes to it still answers 500, as before.
#[tokio::test]
async fn a_renewal_or_reseal_that_no_longer_fits_is_skipped_not_a_500() {
    let clock = ManualClock::new(NOW);
    let roomy = app_with(config(&clock)).await;
    let client = bare_client();
    let big = send_post(&client, format!("{roomy}/grow/4500"), "").await;
    let cookie = as_cookie_header(&set_cookies(&big));
    let cookie_bytes = cookie.len() - "; ".len();
    assert!(cookie_bytes > 4_500, "{cookie_bytes}");

    let tight = || config(&clock).max_cookie_bytes(4_096);
    let lowered_cap = app_with(tight()).await;
    // A cap under one cookie's worth: this server writes one cookie at most,
    // yet still reads the two the browser holds.
    let one_cookie_cap = app_with(config(&clock).max_cookie_bytes(4_000)).await;
    let rotated = app_with(
        SessionConfig::builder(ring(&[2, 1]))
            .clock(clock.clone())
            .max_cookie_bytes(4_096),
    )
    .await;

    // Renewal due.
    clock.advance(23 * 3600);
    for (name, url) in [
        ("lowered cap", &lowered_cap),
        ("cap lowered under one cookie", &one_cookie_cap),
        ("new primary key", &rotated),
    ] {
        let read = get_with_cookie(&client, format!("{url}/meta"), &cookie).await;
        assert_eq!(read.status(), StatusCode::OK, "{name}");
        assert!(set_cookies(&read).is_empty(), "{name}: skipped");
        assert!(
            read.text().await.unwrap().contains(r#""valid":true"#),
            "{name}: the session still opens"
        );
        let changed = post_with_cookie(&client, format!("{url}/set/user"), &cookie, r#""a""#).await;
        assert_eq!(
            changed.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{name}: a change that cannot be saved is still a 500"
        );
    }
}
