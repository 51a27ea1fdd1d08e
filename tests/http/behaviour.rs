//! The session layer's behaviour, as a browser sees it: a real axum server on
//! 127.0.0.1, a real HTTP client with a cookie store (reqwest), and hand-made
//! `Cookie` headers where the test plays the attacker.

use std::time::Duration;

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client_session::{Compression, ManualClock, SessionConfig, SessionData};
use reqwest::StatusCode;

const HOUR: u64 = 3600;

fn config(clock: &ManualClock) -> client_session::SessionConfigBuilder {
    SessionConfig::builder(ring(&[1])).clock(clock.clone())
}

#[tokio::test]
async fn values_round_trip_through_the_browser_cookie() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let client = browser();
    assert_eq!(
        get(&client, format!("{url}/get/user")).await.status(),
        StatusCode::NOT_FOUND
    );
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    send_post(&client, format!("{url}/set/cart"), r#"["sku-1","sku-2"]"#).await;
    let user = get(&client, format!("{url}/get/user"))
        .await
        .text()
        .await
        .unwrap();
    let cart = get(&client, format!("{url}/get/cart"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        (user.as_str(), cart.as_str()),
        (r#""alice""#, r#"["sku-1","sku-2"]"#)
    );
}

#[tokio::test]
async fn set_cookie_has_secure_defaults_and_max_age_of_the_idle_timeout() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let response = send_post(&browser(), format!("{url}/set/user"), r#""alice""#).await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    assert!(
        cookie.ends_with("; Max-Age=86400; Path=/; HttpOnly; Secure; SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn max_age_mirrors_the_absolute_lifetime_when_it_ends_first() {
    let clock = ManualClock::new(NOW);
    let url =
        app_with(config(&clock).absolute_lifetime(Some(Duration::from_secs(30 * 3600)))).await;
    let client = browser();
    send_post(&client, format!("{url}/set/n"), "1").await;
    clock.advance(20 * HOUR);
    let response = send_post(&client, format!("{url}/set/n"), "2").await;
    let cookie = &set_cookies(&response)[0];
    assert_eq!(
        attribute(cookie, "Max-Age").as_deref(),
        Some("36000"),
        "10 h of absolute lifetime left: {cookie}"
    );
}

#[tokio::test]
async fn an_ephemeral_cookie_has_no_max_age_but_still_expires_on_the_server() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock).ephemeral(true)).await;
    let client = browser();
    let response = send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    assert_eq!(attribute(&set_cookies(&response)[0], "Max-Age"), None);
    // Positive control: within its idle window (and before renewal is due)
    // the ephemeral session opens.
    clock.advance(11 * HOUR);
    let within = get(&client, format!("{url}/get/user")).await;
    assert_eq!(within.status(), StatusCode::OK, "opens before it expires");
    assert!(set_cookies(&within).is_empty(), "no renewal yet");
    clock.advance(13 * HOUR);
    let status = get(&client, format!("{url}/get/user")).await.status();
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "idle timeout enforced from the sealed expiry"
    );
}

#[tokio::test]
async fn reading_or_writing_an_equal_value_sends_no_set_cookie() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let read = get(&client, format!("{url}/get/user")).await;
    assert!(set_cookies(&read).is_empty(), "read only");
    let same = send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    assert!(set_cookies(&same).is_empty(), "equal value is not a change");
    let untouched = get(&client, format!("{url}/untouched")).await;
    assert!(
        set_cookies(&untouched).is_empty(),
        "handler never touched the session"
    );
}

#[tokio::test]
async fn forged_tampered_and_garbage_cookies_are_anonymous_never_5xx() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock)).await;
    let client = browser();
    let response = send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let genuine = as_cookie_header(&set_cookies(&response));
    let value = genuine.strip_prefix("__Host-session=").unwrap().to_owned();
    let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = URL_SAFE_NO_PAD.encode(&bytes);
    let other_key = {
        let codec = client_session::SessionCodec::new(ring(&[2]), "__Host-session");
        let mut data = SessionData::new();
        data.insert("user", "mallory").unwrap();
        codec.seal(&data, NOW, NOW + HOUR).unwrap()
    };
    let other_name = format!("othername={value}");
    let cases: &[(&str, String)] = &[
        ("tampered tag", format!("__Host-session={tampered}")),
        (
            "sealed by a key not in the ring",
            format!("__Host-session={other_key}"),
        ),
        (
            "truncated",
            format!("__Host-session={}", &value[..value.len() - 5]),
        ),
        ("not base64", "__Host-session=hello world!".to_owned()),
        ("empty", "__Host-session=".to_owned()),
        (
            "absurd chunk count",
            "__Host-session=999999999.AAAA".to_owned(),
        ),
        ("missing chunk", format!("__Host-session=2.{value}")),
        ("moved to another name", other_name),
    ];
    let bare = bare_client();
    for (name, cookie) in cases {
        let response = get_with_cookie(&bare, format!("{url}/get/user"), cookie).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "case {name:?}: anonymous"
        );
        assert!(
            set_cookies(&response).is_empty(),
            "case {name:?}: no Set-Cookie when the handler doesn't write"
        );
    }
    // A handler that writes replaces the bad cookie with a fresh session.
    let response = send_post(&bare, format!("{url}/set/user"), r#""bob""#).await;
    assert_eq!(set_cookies(&response).len(), 1);
    // The genuine cookie still works, and expires after the idle timeout.
    let ok = get_with_cookie(&bare, format!("{url}/get/user"), &genuine).await;
    assert_eq!(ok.status(), StatusCode::OK);
    clock.advance(24 * HOUR);
    let expired = get_with_cookie(&bare, format!("{url}/get/user"), &genuine).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND, "expired");
}

#[tokio::test]
async fn a_cookie_sealed_by_a_secondary_key_is_accepted_and_resealed_with_the_primary() {
    let clock = ManualClock::new(NOW);
    // Before rotation: the old key 1 is primary.
    let old = app_with(SessionConfig::builder(ring(&[1])).clock(clock.clone())).await;
    let response = send_post(&bare_client(), format!("{old}/set/user"), r#""alice""#).await;
    let sealed_by_old = as_cookie_header(&set_cookies(&response));
    let key_id = |cookie: &str| {
        let value = cookie.strip_prefix("__Host-session=").unwrap();
        URL_SAFE_NO_PAD.decode(value).unwrap()[1..5].to_vec()
    };
    assert_eq!(key_id(&sealed_by_old), key(1).id().to_bytes());

    // After promoting key 2: [2, 1].
    let new = app_with(SessionConfig::builder(ring(&[2, 1])).clock(clock.clone())).await;
    let response = bare_client()
        .get(format!("{new}/get/user"))
        .header("cookie", &sealed_by_old)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        r#""alice""#,
        "the old key still opens"
    );
    let response = bare_client()
        .get(format!("{new}/get/user"))
        .header("cookie", &sealed_by_old)
        .send()
        .await
        .unwrap();
    let resealed = as_cookie_header(&set_cookies(&response));
    assert_eq!(
        key_id(&resealed),
        key(2).id().to_bytes(),
        "re-sealed with the new primary on a read"
    );

    // With key 1 dropped, the re-sealed cookie still opens; the old one doesn't.
    let dropped = app_with(SessionConfig::builder(ring(&[2])).clock(clock.clone())).await;
    let get = |cookie: String| {
        let url = format!("{dropped}/get/user");
        async move {
            bare_client()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get(resealed).await, StatusCode::OK);
    assert_eq!(get(sealed_by_old).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn renewal_happens_only_past_the_configured_fraction_of_the_idle_window() {
    let clock = ManualClock::new(NOW);
    let url = app_with(
        config(&clock)
            .idle_timeout(Duration::from_secs(10 * HOUR))
            .renew_when_remaining(0.5),
    )
    .await;
    let client = browser();
    let login = send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let first = as_cookie_header(&set_cookies(&login));
    clock.advance(4 * HOUR); // 6 h of 10 left: more than half
    let early = get(&client, format!("{url}/get/user")).await;
    assert!(set_cookies(&early).is_empty(), "not renewed with 60% left");
    // The edge, with the same cookie from a client that keeps no jar.
    clock.advance(HOUR); // exactly half left: not less than half
    let edge = get_with_cookie(&bare_client(), format!("{url}/get/user"), &first).await;
    assert!(
        set_cookies(&edge).is_empty(),
        "not renewed with exactly 50% left"
    );
    clock.advance(1); // one second under half
    let just = get_with_cookie(&bare_client(), format!("{url}/get/user"), &first).await;
    assert_eq!(set_cookies(&just).len(), 1, "renewed one second under 50%");
    clock.advance(HOUR - 1); // 4 h left of the first cookie: less than half
    let due = get(&client, format!("{url}/get/user")).await;
    let cookies = set_cookies(&due);
    assert_eq!(cookies.len(), 1, "renewed with 40% left");
    assert_eq!(attribute(&cookies[0], "Max-Age").as_deref(), Some("36000"));
    // The renewed cookie carries the session past the original expiry.
    clock.advance(9 * HOUR);
    let later = get(&client, format!("{url}/get/user")).await;
    assert_eq!(
        later.status(),
        StatusCode::OK,
        "alive 15 h after login thanks to renewal"
    );
    let meta = json(get(&client, format!("{url}/meta")).await).await;
    assert_eq!(meta["created_at"], NOW, "renewal keeps created_at");
    // The read at 15 h renewed again (1 h of 10 left): 15 h + 10 h.
    assert_eq!(
        meta["expires_at"],
        NOW + 25 * HOUR,
        "renewal moves expires_at"
    );
}

#[tokio::test]
async fn the_absolute_lifetime_ends_a_session_however_often_it_was_renewed() {
    let clock = ManualClock::new(NOW);
    let url = app_with(
        config(&clock)
            .idle_timeout(Duration::from_secs(2 * HOUR))
            .absolute_lifetime(Some(Duration::from_secs(8 * HOUR)))
            .renew_when_remaining(1.0),
    )
    .await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    for hour in 1..8 {
        clock.advance(HOUR);
        let response = get(&client, format!("{url}/get/user")).await;
        assert_eq!(response.status(), StatusCode::OK, "hour {hour}");
        assert_eq!(set_cookies(&response).len(), 1, "hour {hour}: renewed");
    }
    clock.advance(HOUR); // 8 h after creation
    let response = get(&client, format!("{url}/get/user")).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "absolute lifetime reached"
    );
}

#[tokio::test]
async fn regenerate_starts_a_new_session_with_a_new_created_at() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock)).await;
    let client = browser();
    send_post(&client, format!("{url}/set/pre_login"), "true").await;
    clock.advance(HOUR);
    send_post(&client, format!("{url}/regenerate"), "").await;
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let meta = json(get(&client, format!("{url}/meta")).await).await;
    assert_eq!(meta["created_at"], NOW + HOUR);
    assert_eq!(
        meta["keys"],
        serde_json::json!(["user"]),
        "nothing of the old session survives"
    );
}

#[tokio::test]
async fn destroy_and_emptying_expire_the_cookie() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let response = send_post(&client, format!("{url}/destroy"), "").await;
    assert_eq!(
        set_cookies(&response),
        ["__Host-session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"]
    );
    assert_eq!(
        get(&client, format!("{url}/get/user")).await.status(),
        StatusCode::NOT_FOUND
    );

    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    let response = send_post(&client, format!("{url}/remove/user"), "").await;
    assert_eq!(
        attribute(&set_cookies(&response)[0], "Max-Age").as_deref(),
        Some("0"),
        "empty session"
    );
    // clear() empties the session but keeps its creation time: the cookie
    // is expired too (nothing left to store).
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    send_post(&client, format!("{url}/set/cart"), "[1]").await;
    let response = send_post(&client, format!("{url}/clear"), "").await;
    assert_eq!(
        attribute(&set_cookies(&response)[0], "Max-Age").as_deref(),
        Some("0"),
        "cleared session"
    );
    for key in ["user", "cart"] {
        let gone = get(&client, format!("{url}/get/{key}")).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "{key} cleared");
    }

    // Without a cookie there is nothing to expire.
    let response = send_post(&bare_client(), format!("{url}/destroy"), "").await;
    assert!(set_cookies(&response).is_empty());
}

/// `take` returns the value it removes; `remove` says whether there was one.
#[tokio::test]
async fn take_returns_the_value_and_removes_it() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let client = browser();
    send_post(&client, format!("{url}/set/cart"), r#"["sku-1"]"#).await;
    let meta = json(get(&client, format!("{url}/meta")).await).await;
    assert_eq!(meta["empty"], false, "holds the cart");
    let taken = send_post(&client, format!("{url}/take/cart"), "").await;
    assert_eq!(taken.text().await.unwrap(), r#"["sku-1"]"#);
    let meta = json(get(&client, format!("{url}/meta")).await).await;
    assert_eq!(meta["empty"], true, "the cart was its only value");
    let gone = get(&client, format!("{url}/get/cart")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let again = send_post(&client, format!("{url}/take/cart"), "").await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

/// A change over the body limit cannot be sealed: 500, not a lost change.
#[tokio::test]
async fn a_change_over_the_body_limit_answers_500() {
    let url = app_with(config(&ManualClock::new(NOW)).body_limit(100)).await;
    let client = browser();
    let small = send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    assert_eq!(set_cookies(&small).len(), 1, "within the limit");
    let big = send_post(&client, format!("{url}/grow/200"), "").await;
    assert_eq!(big.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&big).is_empty());
}

/// A request that carries only stale chunks (`<name>.1`, no first cookie)
/// has no session, but ending the session expires those chunks too.
#[tokio::test]
async fn destroy_expires_stale_chunks_even_without_the_first_cookie() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let response = post_with_cookie(
        &bare_client(),
        format!("{url}/destroy"),
        "__Host-session.1=stale",
        "",
    )
    .await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with("__Host-session=; Max-Age=0;"),
        "{cookies:?}"
    );
    assert!(
        cookies[1].starts_with("__Host-session.1=; Max-Age=0;"),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn a_session_past_4_kib_travels_in_chunks_and_shrinks_back_to_one_cookie() {
    let url = app_with(config(&ManualClock::new(NOW)).compression(Compression::Off)).await;
    let client = browser();
    let response = send_post(&client, format!("{url}/grow/5000"), "").await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with("__Host-session=2."),
        "{}",
        &cookies[0][..20]
    );
    assert!(
        cookies[1].starts_with("__Host-session.1="),
        "{}",
        &cookies[1][..20]
    );
    for cookie in &cookies {
        let pair = cookie.split(';').next().unwrap();
        assert!(pair.len() <= 4096, "each name=value fits a browser cookie");
    }
    let blob = get(&client, format!("{url}/get/blob"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        blob,
        format!("\"{}\"", incompressible(5000)),
        "joined back whole"
    );

    let response = send_post(&client, format!("{url}/grow/10"), "").await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        !cookies[0].contains("__Host-session=2."),
        "one cookie again"
    );
    assert!(
        cookies[1].starts_with("__Host-session.1=; Max-Age=0;"),
        "stale chunk expired: {}",
        cookies[1]
    );
    let blob = get(&client, format!("{url}/get/blob"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(blob, format!("\"{}\"", incompressible(10)));

    send_post(&client, format!("{url}/grow/5000"), "").await;
    let response = send_post(&client, format!("{url}/destroy"), "").await;
    let expired: Vec<_> = set_cookies(&response)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        expired,
        ["__Host-session=", "__Host-session.1="],
        "logout clears every chunk"
    );
}

#[tokio::test]
async fn a_session_over_the_cap_answers_500_and_the_old_cookie_stays_valid() {
    let url = app_with(config(&ManualClock::new(NOW)).compression(Compression::Off)).await;
    let client = browser();
    send_post(&client, format!("{url}/grow/3000"), "").await;
    let size: String = get(&client, format!("{url}/size"))
        .await
        .text()
        .await
        .unwrap();
    assert!(size.ends_with(" true"), "{size}");
    // The handler can tell beforehand, by the same rule the layer applies.
    let probe = |len: usize| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            send_post(&client, format!("{url}/would_fit/{len}"), "")
                .await
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(probe(1000).await, "true");
    assert_eq!(
        probe(3000).await,
        "false",
        "blob 3000 + probe 3000 is over 7 KiB"
    );
    let response = send_post(&client, format!("{url}/grow/6000"), "").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    let blob = get(&client, format!("{url}/get/blob"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(blob.len(), 3002, "the browser kept the last good session");
}

#[tokio::test]
async fn the_handler_can_ask_for_the_encoded_size_before_writing() {
    let url = app_with(config(&ManualClock::new(NOW)).compression(Compression::Off)).await;
    let client = browser();
    send_post(&client, format!("{url}/grow/1000"), "").await;
    let response = get(&client, format!("{url}/size"))
        .await
        .text()
        .await
        .unwrap();
    let (len, fits) = response.split_once(' ').unwrap();
    let len: usize = len.parse().unwrap();
    // 1000 chars + JSON framing, sealed (102 bytes overhead in v2), base64 (4/3), plus "__Host-session=".
    assert!((1480..1530).contains(&len), "{len}");
    assert_eq!(fits, "true");
}

/// SECURITY.md L1: logout deletes the browser's copy; a copy taken before
/// still opens until it expires. This is the documented limit of any
/// stateless session — the test keeps the documentation honest.
#[tokio::test]
async fn a_copy_of_the_cookie_taken_before_logout_still_works_until_it_expires() {
    let clock = ManualClock::new(NOW);
    let url = app_with(config(&clock).idle_timeout(Duration::from_secs(HOUR))).await;
    let bare = bare_client();
    let login = send_post(&bare, format!("{url}/set/user"), r#""alice""#).await;
    let stolen = as_cookie_header(&set_cookies(&login));
    let logout = post_with_cookie(&bare, format!("{url}/destroy"), &stolen, "").await;
    assert_eq!(
        attribute(&set_cookies(&logout)[0], "Max-Age").as_deref(),
        Some("0")
    );
    let replay = get_with_cookie(&bare, format!("{url}/get/user"), &stolen).await;
    assert_eq!(
        replay.status(),
        StatusCode::OK,
        "the copy still opens after logout"
    );
    clock.advance(HOUR);
    let replay = get_with_cookie(&bare, format!("{url}/get/user"), &stolen).await;
    assert_eq!(
        replay.status(),
        StatusCode::NOT_FOUND,
        "but not past its idle expiry"
    );
}

/// SECURITY.md L5 / the `Session` docs: two requests that modify the session
/// from the same starting cookie each produce a cookie; whichever the browser
/// stores last wins and the other change is lost.
#[tokio::test]
async fn concurrent_writes_from_one_cookie_last_write_wins() {
    let url = app_with(config(&ManualClock::new(NOW))).await;
    let bare = bare_client();
    let start = as_cookie_header(&set_cookies(
        &send_post(&bare, format!("{url}/set/cart"), "[]").await,
    ));
    let write = |item: &'static str| {
        let (bare, url, start) = (bare.clone(), url.clone(), start.clone());
        async move {
            let response = bare
                .post(format!("{url}/set/cart"))
                .header("cookie", start)
                .body(item)
                .send()
                .await
                .unwrap();
            as_cookie_header(&set_cookies(&response))
        }
    };
    let (first, second) = tokio::join!(write(r#"["from tab 1"]"#), write(r#"["from tab 2"]"#));
    for (cookie, expected) in [(first, r#"["from tab 1"]"#), (second, r#"["from tab 2"]"#)] {
        let cart = get_with_cookie(&bare, format!("{url}/get/cart"), cookie).await;
        assert_eq!(
            cart.text().await.unwrap(),
            expected,
            "each cookie holds only its own change"
        );
    }
}

/// A cookie opens only under the key ring and context that sealed it: sent
/// under the right cookie name to an application with other keys, or with
/// the same keys and name but another context, it is refused (it reaches
/// decryption there: same name), while the first application keeps opening it.
#[tokio::test]
async fn a_cookie_opens_only_under_the_keys_and_context_that_sealed_it() {
    let clock = ManualClock::new(NOW);
    let first = app_with(config(&clock)).await;
    let other_keys = app_with(SessionConfig::builder(ring(&[2])).clock(clock.clone())).await;
    let other_context = app_with(config(&clock).context("another purpose")).await;
    let bare = bare_client();
    let login = send_post(&bare, format!("{first}/set/user"), r#""alice""#).await;
    let cookie = as_cookie_header(&set_cookies(&login));
    for round in 0..2 {
        let own = get_with_cookie(&bare, format!("{first}/get/user"), &cookie).await;
        assert_eq!(own.status(), StatusCode::OK, "round {round}");
        for other in [&other_keys, &other_context] {
            let response = get_with_cookie(&bare, format!("{other}/get/user"), &cookie).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "round {round}");
        }
    }
}
