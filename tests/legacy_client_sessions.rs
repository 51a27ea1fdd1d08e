//! Migration from Mozilla client-sessions: cookies minted by the real npm
//! package (`tests/legacy/mint.cjs`, client-sessions 0.8.0) open — or are
//! refused for the reason the case names — and, through the layer, a
//! request carrying one gets its content as the session, re-sealed in this
//! crate's format with the legacy cookie expired in the same response.
//!
//! The cookies come from `LEGACY_FIXTURE` when set (`tests/legacy/run.sh`
//! mints a fresh set with the package before running this test), else from
//! the set committed in `tests/legacy/client-sessions-0.8.0.json`. Times are
//! the minting time, on a manual clock.

mod common;

use client_session::defaults::COMPRESSION_THRESHOLD;
use client_session::legacy::{LegacyClientSessions, SignatureAlgorithm};
use client_session::{Compression, ConfigError, ManualClock, RejectReason, SessionConfig};
use common::*;
use serde_json::Value;

struct Fixture {
    minted_at: u64,
    secret: String,
    cookie_name: String,
    cases: Vec<Value>,
}

fn fixture() -> Fixture {
    let path = std::env::var("LEGACY_FIXTURE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/legacy/client-sessions-0.8.0.json"
        )
        .to_owned()
    });
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["package"], "client-sessions@0.8.0", "{path}");
    Fixture {
        minted_at: json["minted_at_ms"].as_u64().unwrap() / 1000,
        secret: json["secret"].as_str().unwrap().to_owned(),
        cookie_name: json["cookie_name"].as_str().unwrap().to_owned(),
        cases: json["cases"].as_array().unwrap().clone(),
    }
}

fn case<'a>(fixture: &'a Fixture, name: &str) -> &'a Value {
    fixture
        .cases
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn algorithm(name: &str) -> SignatureAlgorithm {
    match name {
        "sha256" => SignatureAlgorithm::Sha256,
        "sha256-drop128" => SignatureAlgorithm::Sha256Drop128,
        "sha512" => SignatureAlgorithm::Sha512,
        other => panic!("algorithm {other} not in the fixture's cases"),
    }
}

fn reader(fixture: &Fixture, case: &Value) -> LegacyClientSessions {
    let hex = |field: &str| -> Option<Vec<u8>> {
        let text = case[field].as_str()?;
        Some(
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
                .collect(),
        )
    };
    let legacy = match (hex("encryption_key_hex"), hex("signature_key_hex")) {
        (Some(enc), Some(sig)) => {
            LegacyClientSessions::from_keys(&fixture.cookie_name, &enc, &sig).unwrap()
        }
        _ => LegacyClientSessions::from_secret(&fixture.cookie_name, &fixture.secret).unwrap(),
    };
    match case["signature"].as_str() {
        Some(name) => legacy.signature_algorithm(algorithm(name)).unwrap(),
        None => legacy,
    }
}

#[test]
fn every_cookie_minted_by_client_sessions_opens_or_is_refused_as_its_case_says() {
    let fixture = fixture();
    assert!(fixture.cases.len() >= 20);
    for case in &fixture.cases {
        let name = case["name"].as_str().unwrap();
        let opened =
            reader(&fixture, case).open(case["value"].as_str().unwrap(), fixture.minted_at);
        match case["expect"].as_str().unwrap() {
            "open" => {
                let session = opened.unwrap_or_else(|reason| panic!("{name}: refused ({reason})"));
                let content: Value = serde_json::from_str(&session.data.to_json()).unwrap();
                assert_eq!(content, case["content"], "{name}");
                assert!(session.expires_at() > fixture.minted_at, "{name}");
            }
            "reject" => {
                let reason = opened.map(|_| ()).expect_err(name);
                assert_eq!(reason.as_str(), case["reason"].as_str().unwrap(), "{name}");
            }
            other => panic!("{name}: expect {other}"),
        }
    }
}

#[test]
fn expiry_is_created_at_plus_duration_to_the_millisecond_second() {
    let fixture = fixture();
    let case = case(&fixture, "expires in a minute");
    let legacy = reader(&fixture, case);
    let value = case["value"].as_str().unwrap();
    let expires = legacy.open(value, fixture.minted_at).unwrap().expires_at();
    assert!((fixture.minted_at + 59..=fixture.minted_at + 61).contains(&expires));
    assert!(legacy.open(value, expires - 1).is_ok());
    assert_eq!(
        legacy.open(value, expires + 1).map(|_| ()),
        Err(RejectReason::Expired)
    );
}

#[test]
fn settings_are_checked_and_never_repeat_the_secret() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert!(
        LegacyClientSessions::from_lookup(lookup(&[]))
            .unwrap()
            .is_none(),
        "off when the secret is unset"
    );
    let on = LegacyClientSessions::from_lookup(lookup(&[(
        "LEGACY_CLIENT_SESSIONS_SECRET",
        "s3cret-value",
    )]))
    .unwrap()
    .unwrap();
    assert_eq!(on.cookie_name(), "session_state");
    let named = LegacyClientSessions::from_lookup(lookup(&[
        ("LEGACY_CLIENT_SESSIONS_SECRET", "s3cret-value"),
        ("LEGACY_CLIENT_SESSIONS_COOKIE", "mysess"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(named.cookie_name(), "mysess");
    let empty = LegacyClientSessions::from_lookup(lookup(&[("LEGACY_CLIENT_SESSIONS_SECRET", "")]))
        .unwrap_err();
    assert_eq!(
        empty.to_string(),
        "LEGACY_CLIENT_SESSIONS_SECRET: the secret is empty"
    );
    let bad_algorithm = LegacyClientSessions::from_lookup(lookup(&[
        ("LEGACY_CLIENT_SESSIONS_SECRET", "s3cret-value"),
        ("LEGACY_CLIENT_SESSIONS_SIGNATURE_ALGORITHM", "md5"),
    ]))
    .unwrap_err();
    assert!(bad_algorithm.to_string().starts_with(
        "LEGACY_CLIENT_SESSIONS_SIGNATURE_ALGORITHM: not a client-sessions signature algorithm"
    ));
    let too_long_for_a_secret = LegacyClientSessions::from_lookup(lookup(&[
        ("LEGACY_CLIENT_SESSIONS_SECRET", "s3cret-value"),
        ("LEGACY_CLIENT_SESSIONS_SIGNATURE_ALGORITHM", "sha512"),
    ]))
    .unwrap_err();
    assert!(
        too_long_for_a_secret
            .to_string()
            .contains("use sha256 or sha256-drop128")
    );
    let bad_name = LegacyClientSessions::from_lookup(lookup(&[
        ("LEGACY_CLIENT_SESSIONS_SECRET", "s3cret-value"),
        ("LEGACY_CLIENT_SESSIONS_COOKIE", "a=b"),
    ]))
    .unwrap_err();
    assert!(
        bad_name
            .to_string()
            .starts_with("LEGACY_CLIENT_SESSIONS_COOKIE: not a cookie name")
    );
    for err in [bad_algorithm, too_long_for_a_secret, bad_name] {
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
    }
    assert!(!format!("{on:?}").contains("s3cret"));
    assert!(
        format!("{on:?}").starts_with(
            r#"LegacyClientSessions { cookie_name: "session_state", signature: Sha256"#
        ),
        "{on:?}"
    );
    for name in ["a;b", "a,b", "a b", "", "a=b", "é"] {
        assert!(
            LegacyClientSessions::from_secret(name, "s3cret-value").is_err(),
            "{name:?}"
        );
    }
    assert!(LegacyClientSessions::from_secret("session_state.v2-x", "s3cret-value").is_ok());
    // Explicit keys: lengths as the library requires them.
    assert!(LegacyClientSessions::from_keys("s", &[1; 15], &[2; 32]).is_err());
    assert!(LegacyClientSessions::from_keys("s", &[1; 32], &[2; 31]).is_err());
    assert!(
        LegacyClientSessions::from_keys("s", &[1; 32], &[1; 32]).is_err(),
        "equal keys"
    );
    assert!(
        LegacyClientSessions::from_keys("s", &[1; 24], &[2; 48])
            .unwrap()
            .signature_algorithm(SignatureAlgorithm::Sha384)
            .is_ok()
    );
    // The legacy cookie cannot be the session cookie.
    let clash = SessionConfig::builder(ring(&[1]))
        .legacy_client_sessions(
            LegacyClientSessions::from_secret("__Host-session", "s3cret-value").unwrap(),
        )
        .build();
    assert!(matches!(clash, Err(ConfigError::InvalidSetting { .. })));
}

/// The HTTP test app with legacy cookies on, at the minting time; a cap
/// under the default is set without compression, so a large session
/// cannot fit.
async fn migrating_app(fixture: &Fixture, max_cookie_bytes: usize) -> String {
    let compression = if max_cookie_bytes < 7168 {
        Compression::Off
    } else {
        Compression::Above(COMPRESSION_THRESHOLD)
    };
    let config = SessionConfig::builder(ring(&[1]))
        .clock(ManualClock::new(fixture.minted_at))
        .max_cookie_bytes(max_cookie_bytes)
        .compression(compression)
        .legacy_client_sessions(
            LegacyClientSessions::from_secret(&fixture.cookie_name, &fixture.secret).unwrap(),
        );
    app_with(config).await
}

fn legacy_cookie(fixture: &Fixture, name: &str) -> String {
    format!(
        "{}={}",
        fixture.cookie_name,
        case(fixture, name)["value"].as_str().unwrap()
    )
}

#[tokio::test]
async fn a_legacy_session_is_resealed_and_the_legacy_cookie_expired_in_one_response() {
    let fixture = fixture();
    let url = migrating_app(&fixture, 7168).await;
    let bare = bare_client();
    let legacy = legacy_cookie(&fixture, "set by the middleware");
    // Lazy: a route that never touches the session migrates nothing.
    let r = get_with_cookie(&bare, format!("{url}/untouched"), &legacy).await;
    assert!(set_cookies(&r).is_empty());
    let r = get_with_cookie(&bare, format!("{url}/get/cart"), &legacy).await;
    assert_eq!(r.status(), 200);
    let cookies = set_cookies(&r);
    assert_eq!(r.text().await.unwrap(), r#"["from","express"]"#);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with("__Host-session=")
            && attribute(&cookies[0], "Max-Age").as_deref() == Some("86400"),
        "{cookies:?}"
    );
    assert_eq!(
        cookies[1],
        "session_state=; Max-Age=0; Path=/; HttpOnly; Secure"
    );
    // The next request carries only the new cookie: the same content, a session id of its own.
    let ours = as_cookie_header(&cookies);
    assert!(!ours.contains("session_state"));
    let r = get_with_cookie(&bare, format!("{url}/get/user"), &ours).await;
    assert_eq!(r.text().await.unwrap(), r#""user1""#);
    let meta = json(get_with_cookie(&bare, format!("{url}/meta"), &ours).await).await;
    assert!(
        meta["id"].as_str().is_some_and(|id| id.len() == 32),
        "{meta}"
    );
    // Both cookies (a race with the migration): ours wins, the legacy one is left alone.
    let both = format!("{ours}; {}", legacy_cookie(&fixture, "admin"));
    let r = get_with_cookie(&bare, format!("{url}/get/user"), &both).await;
    assert!(set_cookies(&r).is_empty());
    assert_eq!(r.text().await.unwrap(), r#""user1""#);
}

#[tokio::test]
async fn every_minted_cookie_through_the_layer() {
    let fixture = fixture();
    let url = migrating_app(&fixture, 7168).await;
    let bare = bare_client();
    for case in &fixture.cases {
        let name = case["name"].as_str().unwrap();
        let default_reader = case["signature"].is_null() && case["encryption_key_hex"].is_null();
        let cookie = format!(
            "{}={}",
            fixture.cookie_name,
            case["value"].as_str().unwrap()
        );
        let r = get_with_cookie(&bare, format!("{url}/get/user"), &cookie).await;
        let cookies = set_cookies(&r);
        let status = r.status();
        let body = r.text().await.unwrap();
        if case["expect"] == "open" && default_reader && !case["content"]["user"].is_null() {
            assert_eq!(
                (status.as_u16(), body),
                (200, case["content"]["user"].to_string()),
                "{name}"
            );
            assert_eq!(cookies.len(), 2, "{name}: {cookies:?}");
        } else if case["expect"] == "open" && default_reader {
            assert_eq!(status, 404, "{name}: opened, no user");
        } else {
            // Refused (or made for another reader): no session, no cookie touched.
            assert_eq!((status.as_u16(), body.as_str()), (404, "none"), "{name}");
            assert!(cookies.is_empty(), "{name}: {cookies:?}");
        }
    }
}

#[tokio::test]
async fn ending_a_legacy_session_expires_both_cookies_and_errors_change_nothing() {
    let fixture = fixture();
    let url = migrating_app(&fixture, 7168).await;
    let bare = bare_client();
    let legacy = legacy_cookie(&fixture, "user1");
    let r = post_with_cookie(&bare, format!("{url}/destroy"), &legacy, "").await;
    let cookies = set_cookies(&r);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies
            .iter()
            .all(|c| attribute(c, "Max-Age").as_deref() == Some("0")),
        "{cookies:?}"
    );
    assert!(cookies[1].starts_with("session_state=;"));
    // Too large for this crate's cookies (a 1 KiB cap): served as it is,
    // never a 500, and the legacy cookie is kept for later.
    let small = migrating_app(&fixture, 1024).await;
    let r = get_with_cookie(
        &bare,
        format!("{small}/get/user"),
        legacy_cookie(&fixture, "large"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        set_cookies(&r).is_empty(),
        "nothing written, nothing expired"
    );
    assert_eq!(r.text().await.unwrap(), r#""user1""#);
}

#[tokio::test]
async fn the_legacy_cookie_is_expired_with_the_sites_attributes() {
    let fixture = fixture();
    let legacy = LegacyClientSessions::from_secret(&fixture.cookie_name, &fixture.secret)
        .unwrap()
        .cookie_path("/app")
        .cookie_domain("example.test");
    // Over plain HTTP (insecure_allow_http): the deletion carries no Secure,
    // which a browser would refuse from an http:// page.
    let url = app_with(
        SessionConfig::builder(ring(&[1]))
            .clock(ManualClock::new(fixture.minted_at))
            .insecure_allow_http()
            .legacy_client_sessions(legacy),
    )
    .await;
    let r = get_with_cookie(
        &bare_client(),
        format!("{url}/get/user"),
        legacy_cookie(&fixture, "user1"),
    )
    .await;
    let cookies = set_cookies(&r);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with("session=") && !cookies[0].contains("Secure"),
        "{cookies:?}"
    );
    assert_eq!(
        cookies[1],
        "session_state=; Max-Age=0; Path=/app; Domain=example.test; HttpOnly"
    );
}

/// A legacy session goes through the revocation check on its very first
/// request, like any opened session: "log out everywhere" since the Express
/// days ends it.
#[tokio::test]
async fn the_revocation_check_sees_a_legacy_session_on_its_first_request() {
    let fixture = fixture();
    let legacy = LegacyClientSessions::from_secret(&fixture.cookie_name, &fixture.secret).unwrap();
    let url = app_with(
        SessionConfig::builder(ring(&[1]))
            .clock(ManualClock::new(fixture.minted_at))
            .legacy_client_sessions(legacy)
            .revalidate(std::time::Duration::from_secs(60), |session| {
                let user: Option<String> = session.get("user");
                async move {
                    Ok(if user.as_deref() == Some("admin") {
                        client_session::Verdict::Revoked
                    } else {
                        client_session::Verdict::Valid
                    })
                }
            }),
    )
    .await;
    let bare = bare_client();
    let user_seen = async |user: &str| {
        let r = get_with_cookie(
            &bare,
            format!("{url}/get/user"),
            legacy_cookie(&fixture, user),
        )
        .await;
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(user_seen("admin").await, (404, "none".to_owned()));
    assert_eq!(user_seen("user1").await, (200, r#""user1""#.to_owned()));
}
