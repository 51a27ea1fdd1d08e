//! What the layer logs, captured from `tracing`: an over-size session is an
//! error with its sizes, a rejected cookie a debug line with its coarse reason
//! — and only when the handler touches the session (the cookie is opened
//! lazily, so untouched requests pay no decryption). Nothing secret is logged.
//! A cookie opened again on the same thread comes from the per-thread cache
//! (a trace line says so), which still enforces the cookie's expiry.
//!
//! One test function: the log capture is process-global.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use client_session::{Compression, ManualClock, SessionConfig};
use common::*;
use reqwest::StatusCode;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

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
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

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
    assert!(
        !logged.contains("alice"),
        "no session values in logs: {logged}"
    );

    // A forged cookie: opened lazily, so only a handler that touches it logs.
    let forged = "session=AfSGA_oHCAkKCwwNDg8QERITFBUWFxgZGhscHR4najOnPuVPHDaDw7LldbqEvGn8l27RWQbOQt3Rr6OENxgPQP-cbNoS_0v9m7PeRtSD";
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
    assert!(
        !logged.contains("AfSGA_o"),
        "the cookie value is not logged: {logged}"
    );

    cached_opens_are_logged_and_expire_with_the_cookie(&logs).await;
}

const CACHE_HIT: &str = "session cookie opened from this thread's cache";

/// `#[tokio::test]` runs server and client on one thread, so a cookie opened
/// once is in that thread's cache for the next request.
async fn cached_opens_are_logged_and_expire_with_the_cookie(logs: &Captured) {
    let clock = ManualClock::new(1_700_000_000);
    let config = || {
        SessionConfig::builder(ring(&[1]))
            .clock(clock.clone())
            .idle_timeout(std::time::Duration::from_secs(3600))
    };
    let url = app_with(config()).await;
    let bare = bare_client();
    let login = send_post(&bare, format!("{url}/set/user"), r#""alice""#).await;
    let cookie = as_cookie_header(&set_cookies(&login));
    logs.take();

    let first = get_with_cookie(&bare, format!("{url}/get/user"), &cookie).await;
    assert_eq!(first.status(), StatusCode::OK);
    let logged = logs.take();
    assert!(!logged.contains(CACHE_HIT), "first open decrypts: {logged}");
    let second = get_with_cookie(&bare, format!("{url}/get/user"), &cookie).await;
    assert_eq!(second.text().await.unwrap(), r#""alice""#);
    let logged = logs.take();
    assert!(logged.contains(CACHE_HIT), "second open is a hit: {logged}");

    // Past the cookie's expiry the cached copy is not used: the codec opens
    // the value again and rejects it as expired.
    clock.advance(3600);
    let expired = get_with_cookie(&bare, format!("{url}/get/user"), &cookie).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    let logged = logs.take();
    assert!(!logged.contains(CACHE_HIT), "{logged}");
    assert!(logged.contains("reason=\"expired\""), "{logged}");

    // The same cookie under a configuration that turned the cache off: never a hit.
    clock.set(1_700_000_000);
    let uncached = app_with(config().cache_opened_sessions(false)).await;
    for _ in 0..3 {
        // A cookie sealed by the same key ring and name opens in either app.
        let response = get_with_cookie(&bare, format!("{uncached}/get/user"), &cookie).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let logged = logs.take();
    assert!(!logged.contains(CACHE_HIT), "cache off: {logged}");
}
