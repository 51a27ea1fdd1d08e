//! What the layer logs, captured from `tracing`: an over-size session is an
//! error with its sizes, a rejected cookie a debug line with its coarse reason
//! — and only when the handler touches the session (the cookie is opened
//! lazily, so untouched requests pay no decryption). Nothing secret is logged.
//!
//! One test function: the log capture is process-global.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use client_session::{Compression, SessionConfig};
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
    assert!(
        !logged.contains("AfSGA_o"),
        "the cookie value is not logged: {logged}"
    );
}
