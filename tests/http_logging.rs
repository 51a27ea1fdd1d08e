//! What the layer logs, captured from `tracing`: an over-size session is an
//! error with its sizes, a rejected cookie a debug line with its coarse reason
//! — and only when the handler touches the session (the cookie is opened
//! lazily, so untouched requests pay no decryption). Nothing secret is logged.
//!
//! One test function: the log capture is process-global.

mod common;

use std::sync::{Arc, Mutex};

use client_session::{Compression, SessionConfig};
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn logs_say_what_happened_and_nothing_secret() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("client_session=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let url = app_with(SessionConfig::builder(ring(&[1])).compression(Compression::Off)).await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let cookie = client.get(format!("{url}/get/user")).send().await.unwrap();
    assert_eq!(cookie.status(), StatusCode::OK);
    logs.take();

    // Over the cap: 500 and an error with the sizes.
    let response = send_post(&client, format!("{url}/grow/9000"), "").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let logged = logs.take();
    assert!(logged.contains("ERROR"), "{logged}");
    assert!(
        logged.contains("session not saved: too large for its cookies"),
        "{logged}"
    );
    assert!(
        logged.contains("cookie_bytes=") && logged.contains("max_cookie_bytes=7168"),
        "{logged}"
    );
    // {"blob":"<9000 characters>","user":"alice"}: the exact JSON length.
    assert!(logged.contains("body_bytes=9026"), "{logged}");
    assert!(
        !logged.contains("alice"),
        "no session values in logs: {logged}"
    );

    // A forged cookie: opened lazily, so only a handler that touches it logs.
    let forged = "__Host-session=AfSGA_oHCAkKCwwNDg8QERITFBUWFxgZGhscHR4najOnPuVPHDaDw7LldbqEvGn8l27RWQbOQt3Rr6OENxgPQP-cbNoS_0v9m7PeRtSD";
    let bare = bare_client();
    let untouched = bare
        .get(format!("{url}/untouched"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(untouched.status(), StatusCode::OK);
    assert_eq!(
        logs.take(),
        "",
        "untouched session: the cookie was never opened"
    );
    let touched = bare
        .get(format!("{url}/get/user"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(touched.status(), StatusCode::NOT_FOUND);
    let logged = logs.take();
    assert!(
        logged.contains("DEBUG") && logged.contains("reason=\"unknown_key\""),
        "{logged}"
    );
    // A rejected cookie is a client's doing: debug only, never a level an
    // operator would be paged for (G4).
    for level in ["ERROR", "WARN", "INFO"] {
        assert!(
            !logged.contains(level),
            "a rejection logged at {level}: {logged}"
        );
    }
    assert!(
        !logged.contains("AfSGA_o"),
        "the cookie value is not logged: {logged}"
    );

    warnings_name_what_went_wrong(&logs).await;
    revocation_logs_name_the_session_id(&logs).await;
    a_lifetime_over_the_maximum_is_a_warning(&logs).await;
    csrf_refusals_name_the_reason_never_the_token(&logs).await;
}

/// A refused unsafe request: one warning with the method, path and reason;
/// neither the token sent nor the session's appears.
async fn csrf_refusals_name_the_reason_never_the_token(logs: &Captured) {
    use axum::routing::{get, post};
    use client_session::{CsrfConfig, CsrfLayer, Session, SessionLayer};
    let app = axum::Router::new()
        .route(
            "/token",
            get(|s: Session| async move { s.csrf_token().unwrap().to_string() }),
        )
        .route("/transfer", post(|| async { "done" }))
        .layer(CsrfLayer::new(CsrfConfig::new()))
        .layer(SessionLayer::new(
            SessionConfig::builder(ring(&[1])).build().unwrap(),
        ));
    let url = serve(app).await;
    let alice = browser();
    let token = alice
        .get(format!("{url}/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mallory = browser();
    let mallory_token = mallory
        .get(format!("{url}/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    logs.take();
    let refused = alice
        .post(format!("{url}/transfer?to=mallory"))
        .header("x-csrf-token", &mallory_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let logged = logs.take();
    let warnings: Vec<&str> = logged.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{logged}");
    assert!(
        warnings[0].contains(
            "request refused by the CSRF check (403): the CSRF token is not this session's"
        ) && warnings[0].contains("method=POST")
            && warnings[0].contains("path=\"/transfer\"")
            && warnings[0].contains("reason=\"wrong_token\""),
        "{logged}"
    );
    assert!(!logged.contains("mallory"), "no query string: {logged}");
    for secret in [&token, &mallory_token] {
        assert!(
            !logged.contains(&secret[..20]),
            "a token in the logs: {logged}"
        );
    }
}

/// A handler asking for more than the configured maximum gets the maximum
/// and a warning with both figures; asking for exactly the maximum is quiet.
async fn a_lifetime_over_the_maximum_is_a_warning(logs: &Captured) {
    use std::time::Duration;
    let url = app_with(
        SessionConfig::builder(ring(&[1]))
            .idle_timeout(Duration::from_secs(100))
            .absolute_lifetime(Some(Duration::from_secs(1000)))
            .max_idle_timeout(Duration::from_secs(200))
            .max_absolute_lifetime(Duration::from_secs(2000)),
    )
    .await;
    let client = browser();
    logs.take();
    for (body, warned) in [
        (r#"{"idle": 200, "absolute": 2000}"#, false),
        (r#"{"idle": 201}"#, true),
        (r#"{"absolute": 2001}"#, true),
        (r#"{"idle": 100, "absolute": 500}"#, false),
    ] {
        send_post(&client, format!("{url}/lifetime"), body).await;
        let logged = logs.take();
        assert_eq!(
            logged.contains("WARN") && logged.contains("above the configured maximum"),
            warned,
            "{body}: {logged}"
        );
        if warned {
            assert!(
                logged.contains("granted_idle_secs=") && logged.contains("granted_absolute_secs="),
                "{logged}"
            );
        }
    }
}

/// Revocation outcomes are logged with the session's id (not a credential),
/// never with the cookie: revoked at `INFO`, a failing check at `WARN`
/// within the grace and `ERROR` past it.
async fn revocation_logs_name_the_session_id(logs: &Captured) {
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::time::Duration;
    let clock = client_session::ManualClock::new(1_700_000_000);
    // 0: valid, 1: revoked, 2: the check errs.
    let mode = Arc::new(AtomicU8::new(0));
    let answer = Arc::clone(&mode);
    let config = SessionConfig::builder(ring(&[1]))
        .clock(clock.clone())
        .revalidate(Duration::from_secs(60), move |_| {
            let mode = answer.load(Ordering::SeqCst);
            async move {
                match mode {
                    0 => Ok(client_session::Verdict::Valid),
                    1 => Ok(client_session::Verdict::Revoked),
                    _ => Err("the user database is down".into()),
                }
            }
        })
        .revalidation_grace(Duration::from_secs(60));
    let url = app_with(config).await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let meta: serde_json::Value = serde_json::from_str(
        &get(&client, format!("{url}/meta"))
            .await
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let id = meta["id"].as_str().unwrap().to_owned();
    logs.take();
    // The line that says `message` names the session (other lines, like the
    // trace of the cookie opening, carry the id too: look at this one).
    let line_of = |logged: &str, message: &str| {
        logged
            .lines()
            .find(|line| line.contains(message))
            .unwrap_or_else(|| panic!("no {message:?} in {logged}"))
            .to_owned()
    };
    let names_the_session = |line: &str| line.contains(&format!("session_id=\"{id}\""));

    mode.store(2, Ordering::SeqCst);
    clock.advance(60);
    get(&client, format!("{url}/get/user")).await;
    let logged = logs.take();
    let line = line_of(&logged, "revocation check failed");
    assert!(line.contains("WARN") && names_the_session(&line), "{line}");
    assert!(line.contains("the user database is down"), "{line}");
    clock.advance(60);
    get(&client, format!("{url}/get/user")).await;
    let logged = logs.take();
    let line = line_of(&logged, "past the grace");
    assert!(line.contains("ERROR") && names_the_session(&line), "{line}");
    mode.store(1, Ordering::SeqCst);
    get(&client, format!("{url}/get/user")).await;
    let logged = logs.take();
    let line = line_of(&logged, "session revoked");
    assert!(line.contains("INFO") && names_the_session(&line), "{line}");
    assert!(!logged.contains("alice"), "no values: {logged}");
}

/// Cookie tossing, a change after the response left, a renewal that no
/// longer fits and a handler's public caching of a session response are
/// each a `WARN` saying what happened, with no cookie value in it.
async fn warnings_name_what_went_wrong(logs: &Captured) {
    let clock = client_session::ManualClock::new(1_700_000_000);
    let config = || SessionConfig::builder(ring(&[1])).clock(clock.clone());
    let url = app_with(config()).await;
    let bare = bare_client();
    let login = send_post(&bare, format!("{url}/set/user"), r#""alice""#).await;
    let cookie = as_cookie_header(&set_cookies(&login));
    let value = cookie.split_once('=').unwrap().1.to_owned();
    logs.take();

    let doubled = get_with_cookie(
        &bare,
        format!("{url}/get/user"),
        format!("{cookie}; {cookie}"),
    )
    .await;
    assert_eq!(doubled.status(), StatusCode::NOT_FOUND);
    let logged = logs.take();
    assert!(
        logged.contains("WARN") && logged.contains("possible cookie tossing"),
        "{logged}"
    );
    assert!(logged.contains("reason=\"duplicate\""), "{logged}");
    assert!(!logged.contains(&value[..20]), "no cookie value: {logged}");

    // A clone of the session moved into a task that writes after the response.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let late = axum::Router::new()
        .route(
            "/late",
            axum::routing::get(move |session: client_session::Session| {
                let done = tx.lock().unwrap().take();
                async move {
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        session.insert("late", &1).unwrap();
                        if let Some(done) = done {
                            let _ = done.send(());
                        }
                    });
                    "answered"
                }
            }),
        )
        .layer(client_session::SessionLayer::new(config().build().unwrap()));
    let late = serve(late).await;
    let response = get(&bare, format!("{late}/late")).await;
    assert!(set_cookies(&response).is_empty(), "nothing to write yet");
    rx.await.unwrap();
    let logged = logs.take();
    assert!(
        logged.contains("WARN") && logged.contains("session changed after its response was sent"),
        "{logged}"
    );

    // A handler that marks a session response public: made private, with a warning.
    let public = axum::Router::new()
        .route(
            "/public",
            axum::routing::post(|session: client_session::Session| async move {
                session.insert("user", "bob").unwrap();
                ([("cache-control", "public, s-maxage=600")], "cached?")
            }),
        )
        .layer(client_session::SessionLayer::new(config().build().unwrap()));
    let public = serve(public).await;
    logs.take();
    let response = send_post(&bare, format!("{public}/public"), "").await;
    assert_eq!(response.headers()["cache-control"], "private");
    let logged = logs.take();
    assert!(
        logged.contains("WARN")
            && logged.contains("made private")
            && logged.contains("removed=public, s-maxage=600"),
        "{logged}"
    );

    // A change on a 5xx response is not saved, and a debug line says so —
    // not for a successful change, nor for a destroy (which is applied).
    let failing = axum::Router::new()
        .route(
            "/change",
            axum::routing::post(|session: client_session::Session| async move {
                session.insert("user", "mallory").unwrap();
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .route(
            "/destroy",
            axum::routing::post(|session: client_session::Session| async move {
                session.destroy();
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .layer(client_session::SessionLayer::new(config().build().unwrap()));
    let failing = serve(failing).await;
    const NOT_SAVED: &str = "session changes not saved: the response is a server error";
    logs.take();
    post_with_cookie(&bare, format!("{failing}/change"), &cookie, "").await;
    let logged = logs.take();
    assert!(
        logged.contains("DEBUG") && logged.contains(NOT_SAVED),
        "{logged}"
    );
    post_with_cookie(&bare, format!("{failing}/destroy"), &cookie, "").await;
    assert!(
        !logs.take().contains(NOT_SAVED),
        "a destroy is applied on a 5xx"
    );
    send_post(&bare, format!("{url}/set/user"), r#""bob""#).await;
    assert!(!logs.take().contains(NOT_SAVED), "a 2xx change is saved");

    // A renewal that no longer fits a lowered cap: skipped, with a warning.
    let big = send_post(&bare, format!("{url}/grow/4500"), "").await;
    let big = as_cookie_header(&set_cookies(&big));
    let tight = app_with(config().max_cookie_bytes(4_096)).await;
    clock.advance(23 * 3600);
    logs.take();
    let read = get_with_cookie(&bare, format!("{tight}/meta"), &big).await;
    assert_eq!(read.status(), StatusCode::OK);
    let logged = logs.take();
    assert!(
        logged.contains("WARN") && logged.contains("session not renewed or re-sealed"),
        "{logged}"
    );
    assert!(!logged.contains("ERROR"), "{logged}");
}
