//! Issue 12 over real HTTP: session identity, per-session lifetimes
//! ("remember me"), `regenerate` and `regenerate_keeping`, freshness, and
//! cookies of format v1 upgraded to v2.

use std::time::Duration;

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client_session::{Keyring, ManualClock, SessionCodec, SessionConfig};
use reqwest::StatusCode;
use serde_json::Value;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn config(clock: &ManualClock) -> client_session::SessionConfigBuilder {
    SessionConfig::builder(ring(&[1])).clock(clock.clone())
}

async fn meta(client: &reqwest::Client, url: &str) -> Value {
    json(get(client, format!("{url}/meta")).await).await
}

/// The only session `Set-Cookie` of a response.
fn session_cookie(response: &reqwest::Response) -> String {
    let cookies = set_cookies(response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    cookies.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_session_keeps_its_id_across_renewals_and_key_rotation_and_gets_a_new_one_on_regenerate()
{
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock).idle_timeout(Duration::from_secs(HOUR))).await;
    let client = browser();
    assert_eq!(
        meta(&client, &url).await["id"],
        Value::Null,
        "no session, no id"
    );
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let id = meta(&client, &url).await["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");

    // A renewal writes a new cookie: same id.
    clock.advance(HOUR - 60);
    let renewed = get(&client, format!("{url}/meta")).await;
    assert_eq!(set_cookies(&renewed).len(), 1, "renewed");
    assert_eq!(json(renewed).await["id"], id.as_str());

    // Another instance whose primary key is new re-seals it: same id.
    let rotated = app_with(
        SessionConfig::builder(ring(&[2, 1]))
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(HOUR)),
    )
    .await;
    let resealed = get(&client, format!("{rotated}/meta")).await;
    assert_eq!(set_cookies(&resealed).len(), 1, "re-sealed with key 2");
    assert_eq!(json(resealed).await["id"], id.as_str());
    assert_eq!(
        meta(&client, &url).await["valid"],
        false,
        "key 2 unknown to the old ring"
    );
    assert_eq!(meta(&client, &rotated).await["id"], id.as_str());

    // regenerate: no id until a value makes a new session, then a new one.
    send_post(&client, format!("{rotated}/regenerate"), "").await;
    assert_eq!(meta(&client, &rotated).await["id"], Value::Null);
    send_post(&client, format!("{rotated}/login/alice"), "").await;
    let new_id = meta(&client, &rotated).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_id, id);
}

#[tokio::test]
async fn two_sessions_get_different_ids_and_the_id_is_the_same_one_a_handler_saw_before_sealing() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock)).await;
    let (a, b) = (browser(), browser());
    send_post(&a, format!("{url}/login/alice"), "").await;
    send_post(&b, format!("{url}/login/alice"), "").await;
    let (id_a, id_b) = (
        meta(&a, &url).await["id"].clone(),
        meta(&b, &url).await["id"].clone(),
    );
    assert_ne!(id_a, id_b);
    // `id()` on a new session, before it is sealed, is the id it is sealed with.
    let codec = SessionCodec::new(ring(&[1]), "__Host-session");
    let c = bare_client();
    let response = c
        .post(format!("{url}/set/x"))
        .body("1")
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&response);
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    let sealed_id = codec.open(value, NOW).unwrap().id().to_string();
    let seen =
        json(get_with_cookie(&c, format!("{url}/meta"), cookie.split(';').next().unwrap()).await)
            .await["id"]
            .clone();
    assert_eq!(seen, sealed_id.as_str());
}

#[tokio::test]
async fn regenerate_keeping_carries_only_the_named_values_into_a_new_session() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock)).await;
    let client = browser();
    send_post(&client, format!("{url}/set/cart"), r#"["sku-1"]"#).await;
    send_post(&client, format!("{url}/set/planted"), r#""by an attacker""#).await;
    let before = meta(&client, &url).await;
    clock.advance(100);
    let response = send_post(&client, format!("{url}/regenerate_keeping/cart"), "").await;
    assert_eq!(set_cookies(&response).len(), 1);
    let after = meta(&client, &url).await;
    assert_eq!(after["keys"], serde_json::json!(["cart"]));
    assert_ne!(after["id"], before["id"], "a new id");
    assert_eq!(after["created_at"], NOW + 100, "a new creation time");
    assert_eq!(
        get(&client, format!("{url}/get/cart"))
            .await
            .text()
            .await
            .unwrap(),
        r#"["sku-1"]"#
    );
    // Keeping a value that does not exist keeps nothing.
    send_post(&client, format!("{url}/regenerate_keeping/absent"), "").await;
    assert_eq!(
        meta(&client, &url).await["valid"],
        false,
        "nothing left: no session"
    );
}

#[tokio::test]
async fn remember_me_outlives_the_default_lifetimes_and_a_browser_session_cookie_has_no_max_age() {
    let clock = ManualClock::new(NOW);
    let builder = config(&clock)
        .idle_timeout(Duration::from_secs(2 * HOUR))
        .absolute_lifetime(Some(Duration::from_secs(DAY)))
        .max_idle_timeout(Duration::from_secs(30 * DAY))
        .max_absolute_lifetime(Duration::from_secs(30 * DAY));
    let url = app_with(builder).await;

    // Remember me: Max-Age of 30 days, and the server honours it.
    let remembered = browser();
    send_post(&remembered, format!("{url}/login/alice"), "").await;
    let response = send_post(
        &remembered,
        format!("{url}/lifetime"),
        r#"{"idle": 2592000, "absolute": 2592000, "persistent": true}"#,
    )
    .await;
    let cookie = session_cookie(&response);
    assert_eq!(
        attribute(&cookie, "Max-Age").as_deref(),
        Some("2592000"),
        "{cookie}"
    );

    // The default: 2 h Max-Age.
    let default = browser();
    let response = send_post(&default, format!("{url}/login/bob"), "").await;
    assert_eq!(
        attribute(&session_cookie(&response), "Max-Age").as_deref(),
        Some("7200")
    );

    // A browser session: no Max-Age, 10 idle minutes enforced by the server.
    let short = browser();
    send_post(&short, format!("{url}/login/carol"), "").await;
    let response = send_post(
        &short,
        format!("{url}/lifetime"),
        r#"{"idle": 600, "persistent": false}"#,
    )
    .await;
    let cookie = session_cookie(&response);
    assert_eq!(attribute(&cookie, "Max-Age"), None, "{cookie}");
    assert_eq!(attribute(&cookie, "Expires"), None, "{cookie}");

    clock.advance(11 * 60);
    assert_eq!(
        meta(&short, &url).await["valid"],
        false,
        "10 idle minutes are over"
    );
    assert_eq!(meta(&default, &url).await["valid"], true);
    clock.advance(3 * HOUR);
    assert_eq!(
        meta(&default, &url).await["valid"],
        false,
        "2 idle hours are over"
    );
    let remembered_meta = meta(&remembered, &url).await;
    assert_eq!(remembered_meta["valid"], true, "remembered");
    assert_eq!(remembered_meta["lifetime"]["persistent"], true);
    // Past the default absolute lifetime (1 day), within its own (30 days).
    for _ in 0..5 {
        clock.advance(DAY - HOUR);
        assert_eq!(meta(&remembered, &url).await["valid"], true);
    }
    clock.advance(26 * DAY);
    assert_eq!(
        meta(&remembered, &url).await["valid"],
        false,
        "its own 30-day absolute lifetime is over"
    );
}

#[tokio::test]
async fn a_lifetime_above_the_configured_maximum_is_cut_to_it() {
    let clock = ManualClock::new(NOW);
    let url = app_with(
        config(&clock)
            .idle_timeout(Duration::from_secs(HOUR))
            .max_idle_timeout(Duration::from_secs(7 * DAY))
            .max_absolute_lifetime(Duration::from_secs(7 * DAY)),
    )
    .await;
    let client = browser();
    send_post(&client, format!("{url}/login/alice"), "").await;
    let ten_years = 10 * 365 * DAY;
    let response = send_post(
        &client,
        format!("{url}/lifetime"),
        &format!(r#"{{"idle": {ten_years}, "absolute": {ten_years}, "persistent": true}}"#),
    )
    .await;
    let cookie = session_cookie(&response);
    assert_eq!(
        attribute(&cookie, "Max-Age").as_deref(),
        Some(&*(7 * DAY).to_string()),
        "{cookie}"
    );
    clock.advance(7 * DAY);
    assert_eq!(meta(&client, &url).await["valid"], false, "7 days at most");
}

#[tokio::test]
async fn lowering_the_maximum_shortens_the_sessions_already_issued() {
    let clock = ManualClock::new(NOW);
    let generous = app_with(
        config(&clock)
            .idle_timeout(Duration::from_secs(HOUR))
            .max_idle_timeout(Duration::from_secs(30 * DAY)),
    )
    .await;
    let strict = app_with(
        config(&clock)
            .idle_timeout(Duration::from_secs(HOUR))
            .max_idle_timeout(Duration::from_secs(DAY)),
    )
    .await;
    let client = browser();
    send_post(&client, format!("{generous}/login/alice"), "").await;
    send_post(
        &client,
        format!("{generous}/lifetime"),
        r#"{"idle": 2592000}"#,
    )
    .await;
    assert_eq!(meta(&client, &generous).await["valid"], true);
    assert_eq!(
        meta(&client, &strict).await["valid"],
        false,
        "its sealed expiry is beyond what the lower maximum allows"
    );
}

#[tokio::test]
async fn login_time_is_kept_across_renewals_and_freshness_follows_it() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock).idle_timeout(Duration::from_secs(HOUR))).await;
    let client = browser();
    send_post(&client, format!("{url}/set/cart"), "[]").await;
    let fresh = |secs: u64| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            get(&client, format!("{url}/fresh/{secs}"))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(fresh(1_000_000).await, "false", "never authenticated");
    assert_eq!(meta(&client, &url).await["authenticated_at"], Value::Null);

    send_post(&client, format!("{url}/login/alice"), "").await;
    assert_eq!(meta(&client, &url).await["authenticated_at"], NOW);
    assert_eq!(fresh(300).await, "true");
    clock.advance(300);
    assert_eq!(fresh(300).await, "true", "exactly 300 s ago");
    clock.advance(1);
    assert_eq!(fresh(300).await, "false", "301 s ago");

    // Renewals keep it.
    clock.advance(HOUR - 400);
    let renewed = get(&client, format!("{url}/meta")).await;
    assert_eq!(set_cookies(&renewed).len(), 1, "renewed");
    assert_eq!(json(renewed).await["authenticated_at"], NOW);

    // Asking for the password again makes it fresh.
    send_post(&client, format!("{url}/reauthenticate"), "").await;
    assert_eq!(fresh(60).await, "true");
    assert_eq!(
        meta(&client, &url).await["authenticated_at"],
        NOW + HOUR - 99
    );
}

/// A cookie sealed in format v1 (by release 0.2) opens, with the id the
/// spec derives from its nonce, and the first response re-seals it as v2,
/// keeping that id and its creation time.
#[tokio::test]
async fn a_v1_cookie_opens_and_is_resealed_as_v2_keeping_its_id_and_creation_time() {
    let vectors: Value =
        serde_json::from_str(include_str!("../vectors/sealed-by-releases.json")).unwrap();
    let entry = &vectors.as_array().unwrap()[0];
    let key = base64::engine::general_purpose::STANDARD
        .decode(entry["key"].as_str().unwrap())
        .unwrap();
    let keyring = Keyring::single(client_session::Key::from_bytes(&key).unwrap());
    let created_at = entry["created_at"].as_u64().unwrap();
    let clock = ManualClock::new(created_at + 1);
    let context = entry["context"].as_str().unwrap();
    let url = app_with(
        SessionConfig::builder(keyring.clone())
            .clock(clock.clone())
            .cookie_name("session")
            .context(context)
            .insecure_allow_http(),
    )
    .await;
    let header = entry["cookie_header"].as_str().unwrap();
    let v1_value = header.split_once('=').unwrap().1;
    assert_eq!(
        URL_SAFE_NO_PAD.decode(v1_value).unwrap()[0],
        1,
        "a v1 cookie"
    );
    let codec = SessionCodec::new(keyring, context);
    let v1 = codec.open(v1_value, created_at + 1).unwrap();
    assert_eq!(v1.version(), 1);

    let client = bare_client();
    let response = get_with_cookie(&client, format!("{url}/meta"), header).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_cookie(&response);
    let shown = json(response).await;
    assert_eq!(shown["valid"], true);
    assert_eq!(shown["id"], v1.id().to_string().as_str());
    let v2_value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    let v2 = codec.open(v2_value, created_at + 1).unwrap();
    assert_eq!(v2.version(), 2, "re-sealed as v2");
    assert_eq!(v2.id(), v1.id(), "same id");
    assert_eq!(v2.created_at(), created_at, "same creation time");
    assert_eq!(v2.data(), v1.data(), "same values");
    // The v2 cookie is not re-sealed again on the next read.
    let again = get_with_cookie(
        &client,
        format!("{url}/meta"),
        format!("session={v2_value}"),
    )
    .await;
    assert!(set_cookies(&again).is_empty());
}
