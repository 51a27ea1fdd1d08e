//! Issue 12 over real HTTP: the three ways to revoke sessions without a
//! session store — everyone (a not-before instant), one user everywhere (the
//! application's check, at most once per session per interval), one session
//! (a deny-list by id, built by the application) — and the guarantee that a
//! renewal never extends a revoked session.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use client_session::{
    ConfigError, ManualClock, SessionConfig, SessionConfigBuilder, SessionId, Verdict,
};
use reqwest::StatusCode;
use serde_json::Value;

const HOUR: u64 = 3600;
const EVERY: u64 = 60;

async fn meta(client: &reqwest::Client, url: &str) -> Value {
    json(get(client, format!("{url}/meta")).await).await
}

#[tokio::test]
async fn a_not_before_instant_logs_out_every_session_created_before_it() {
    let clock = ManualClock::new(NOW);
    let before = app_with(SessionConfig::builder(ring(&[1])).clock(clock.clone())).await;
    let (old, new) = (browser(), browser());
    send_post(&old, format!("{before}/login/alice"), "").await;
    // A copy of the old cookie, kept by a thief or a request in flight.
    let thief = bare_client();
    let login = thief
        .post(format!("{before}/login/mallory"))
        .send()
        .await
        .unwrap();
    let copy = as_cookie_header(&set_cookies(&login));
    clock.advance(10);
    // The operator sets SESSION_NOT_BEFORE = now, and restarts.
    let after = app_with(
        SessionConfig::builder(ring(&[1]))
            .clock(clock.clone())
            .not_before(UNIX_EPOCH + Duration::from_secs(NOW + 10)),
    )
    .await;
    // Refused, and the cookie is expired: the browser forgets the old session.
    let refused = get(&old, format!("{after}/meta")).await;
    let cookies = set_cookies(&refused);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert_eq!(attribute(&cookies[0], "Max-Age").as_deref(), Some("0"));
    assert_eq!(
        json(refused).await["valid"],
        false,
        "created before: refused"
    );
    assert_eq!(meta(&old, &after).await["valid"], false);
    send_post(&new, format!("{after}/login/bob"), "").await;
    assert_eq!(
        meta(&new, &after).await["valid"],
        true,
        "created at the instant: kept"
    );

    // An instance not yet restarted renews the old copy: the renewal keeps
    // its creation time, so the restarted instance still refuses it.
    clock.advance(23 * HOUR);
    let renewed = get_with_cookie(&thief, format!("{before}/meta"), &copy).await;
    let renewed = as_cookie_header(&set_cookies(&renewed));
    assert!(!renewed.is_empty(), "renewed by the old instance");
    let response = get_with_cookie(&thief, format!("{after}/meta"), &renewed).await;
    assert_eq!(
        json(response).await["valid"],
        false,
        "still refused after renewal"
    );
}

#[test]
fn a_not_before_instant_in_the_future_is_refused_at_start_up() {
    let clock = ManualClock::new(NOW);
    let err = SessionConfig::builder(ring(&[1]))
        .clock(clock)
        .not_before(UNIX_EPOCH + Duration::from_secs(NOW + 61))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidSetting {
                setting: "not before",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("in the future"), "{err}");
}

/// What a check saw: creation and login times (Unix seconds), keys.
type Seen = (u64, Option<u64>, Vec<String>);

/// A check the test controls: what it answers, and how often it ran.
#[derive(Clone, Default)]
struct Check {
    calls: Arc<AtomicUsize>,
    revoked_users: Arc<Mutex<HashSet<String>>>,
    down: Arc<Mutex<bool>>,
    seen_ids: Arc<Mutex<Vec<SessionId>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Check {
    fn install(&self, builder: SessionConfigBuilder) -> SessionConfigBuilder {
        let check = self.clone();
        builder.revalidate(Duration::from_secs(EVERY), move |session| {
            let check = check.clone();
            async move {
                check.calls.fetch_add(1, Ordering::SeqCst);
                check.seen_ids.lock().unwrap().push(session.id());
                let secs =
                    |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
                check.seen.lock().unwrap().push((
                    secs(session.created_at()),
                    session.authenticated_at().map(secs),
                    session.data().keys().map(str::to_owned).collect(),
                ));
                if *check.down.lock().unwrap() {
                    return Err("database down".into());
                }
                let user: Option<String> = session.get("user");
                let revoked =
                    user.is_some_and(|u| check.revoked_users.lock().unwrap().contains(&u));
                Ok(if revoked {
                    Verdict::Revoked
                } else {
                    Verdict::Valid
                })
            }
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn checked_app(clock: &ManualClock, check: &Check, grace: Option<u64>) -> String {
    let mut builder = check.install(
        SessionConfig::builder(ring(&[1]))
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(HOUR)),
    );
    if let Some(grace) = grace {
        builder = builder.revalidation_grace(Duration::from_secs(grace));
    }
    app_with(builder).await
}

#[tokio::test]
async fn the_check_runs_once_per_session_per_interval_and_the_cookie_records_it() {
    let clock = ManualClock::new(NOW);
    let check = Check::default();
    let url = checked_app(&clock, &check, None).await;
    let client = browser();
    send_post(&client, format!("{url}/login/alice"), "").await;
    assert_eq!(
        check.calls(),
        0,
        "a new session counts as checked when created"
    );
    // So does one started without regenerate(), and one regenerated over an
    // existing session: neither is checked on its next request.
    let (plain, relogged) = (browser(), browser());
    send_post(&plain, format!("{url}/set/cart"), "[]").await;
    send_post(&relogged, format!("{url}/set/cart"), "[]").await;
    clock.advance(1);
    send_post(&relogged, format!("{url}/login/bob"), "").await;
    clock.advance(1);
    meta(&plain, &url).await;
    meta(&relogged, &url).await;
    assert_eq!(check.calls(), 0, "new sessions are checked at creation");
    clock.advance(EVERY - 2);
    meta(&relogged, &url).await;
    assert_eq!(
        check.calls(),
        0,
        "the regenerated session counts from its own creation"
    );
    // Those two browsers are done; alice's session continues from NOW.
    clock.set(NOW);
    for _ in 0..5 {
        clock.advance(10);
        assert_eq!(meta(&client, &url).await["valid"], true);
    }
    assert_eq!(check.calls(), 0, "50 s: not due");
    clock.advance(10);
    let response = get(&client, format!("{url}/meta")).await;
    assert_eq!(check.calls(), 1, "60 s: due");
    assert_eq!(
        set_cookies(&response).len(),
        1,
        "the pass is sealed in the cookie"
    );
    for _ in 0..5 {
        clock.advance(10);
        let response = get(&client, format!("{url}/meta")).await;
        assert!(
            set_cookies(&response).is_empty(),
            "no re-seal between checks"
        );
    }
    assert_eq!(check.calls(), 1, "not due again before another interval");
    clock.advance(10);
    meta(&client, &url).await;
    assert_eq!(check.calls(), 2);
    // A route that never touches the session still gets the check: the
    // request carried a session, and the check comes before the handler.
    clock.advance(EVERY);
    get(&client, format!("{url}/untouched")).await;
    assert_eq!(check.calls(), 3);
    // Requests without a session cookie are never checked.
    clock.advance(EVERY);
    meta(&bare_client(), &url).await;
    assert_eq!(check.calls(), 3);
    let id: SessionId = meta(&client, &url).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        check
            .seen_ids
            .lock()
            .unwrap()
            .iter()
            .all(|seen| *seen == id),
        "the check saw the session"
    );
    // ...with its creation and login times and its values.
    let seen = check.seen.lock().unwrap();
    assert!(
        seen.iter()
            .all(|s| *s == (NOW, Some(NOW), vec!["user".to_owned()])),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_revoked_session_is_anonymous_and_its_cookie_expired_on_every_instance() {
    let clock = ManualClock::new(NOW);
    let check = Check::default();
    let (one, two) = (
        checked_app(&clock, &check, None).await,
        checked_app(&clock, &check, None).await,
    );
    let (laptop, phone, other_user) = (browser(), browser(), browser());
    send_post(&laptop, format!("{one}/login/alice"), "").await;
    send_post(&phone, format!("{two}/login/alice"), "").await;
    send_post(&other_user, format!("{one}/login/bob"), "").await;

    // "Log out everywhere" for alice: her epoch moves on in the database.
    check.revoked_users.lock().unwrap().insert("alice".into());
    clock.advance(EVERY - 1);
    assert_eq!(
        meta(&phone, &two).await["valid"],
        true,
        "within the interval: not yet checked"
    );
    clock.advance(1);
    for (client, url) in [(&laptop, &one), (&phone, &two)] {
        let response = get(client, format!("{url}/meta")).await;
        let cookies = set_cookies(&response);
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        assert_eq!(
            attribute(&cookies[0], "Max-Age").as_deref(),
            Some("0"),
            "expired"
        );
        let shown = json(response).await;
        assert_eq!(
            (shown["valid"].clone(), shown["empty"].clone()),
            (false.into(), true.into())
        );
        assert_eq!(meta(client, &one).await["valid"], false);
        assert_eq!(meta(client, &two).await["valid"], false);
    }
    assert_eq!(
        meta(&other_user, &one).await["valid"],
        true,
        "bob is not revoked"
    );
    // A new login works again (the application stores the new epoch).
    check.revoked_users.lock().unwrap().clear();
    send_post(&laptop, format!("{one}/login/alice"), "").await;
    assert_eq!(meta(&laptop, &two).await["valid"], true);
}

#[tokio::test]
async fn a_renewal_in_flight_cannot_extend_a_revoked_session_past_the_interval() {
    let clock = ManualClock::new(NOW);
    let check = Check::default();
    let url = checked_app(&clock, &check, None).await;
    let client = bare_client();
    let login = client
        .post(format!("{url}/login/alice"))
        .send()
        .await
        .unwrap();
    let cookie = as_cookie_header(&set_cookies(&login));
    // Revoked at NOW + 1; a request with the old cookie, in flight, renews it
    // at NOW + 59 (renewal due: the idle window is almost over).
    check.revoked_users.lock().unwrap().insert("alice".into());
    clock.advance(59);
    let renewing = app_with(
        SessionConfig::builder(ring(&[1]))
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(HOUR))
            .renew_when_remaining(1.0),
    )
    .await;
    let renewed = get_with_cookie(&client, format!("{renewing}/meta"), &cookie).await;
    let renewed = as_cookie_header(&set_cookies(&renewed));
    assert!(!renewed.is_empty(), "renewed");
    // The renewed cookie keeps the last check time: at NOW + 60 it is checked and refused.
    clock.advance(1);
    let response = get_with_cookie(&client, format!("{url}/meta"), &renewed).await;
    assert_eq!(json(response).await["valid"], false);
}

#[tokio::test]
async fn a_check_that_fails_is_forgiven_within_the_grace_then_fails_closed_without_deleting_the_cookie()
 {
    let clock = ManualClock::new(NOW);
    let check = Check::default();
    let url = checked_app(&clock, &check, Some(120)).await;
    let client = browser();
    send_post(&client, format!("{url}/login/alice"), "").await;
    *check.down.lock().unwrap() = true;
    clock.advance(EVERY);
    let response = get(&client, format!("{url}/meta")).await;
    assert!(set_cookies(&response).is_empty(), "nothing recorded");
    assert_eq!(
        json(response).await["valid"],
        true,
        "forgiven: the database is down"
    );
    clock.advance(119);
    assert_eq!(
        meta(&client, &url).await["valid"],
        true,
        "last second of the grace"
    );
    assert_eq!(check.calls(), 2, "checked again on each request");
    clock.advance(1);
    let response = get(&client, format!("{url}/meta")).await;
    assert!(set_cookies(&response).is_empty(), "the cookie is kept");
    assert_eq!(
        json(response).await["valid"],
        false,
        "past the grace: fail closed"
    );
    // The database is back: the session is back.
    *check.down.lock().unwrap() = false;
    let response = get(&client, format!("{url}/meta")).await;
    assert_eq!(set_cookies(&response).len(), 1, "the pass is recorded");
    assert_eq!(json(response).await["valid"], true);
}

#[tokio::test]
async fn with_no_grace_a_failing_check_fails_closed_as_soon_as_it_is_due() {
    let clock = ManualClock::new(NOW);
    let check = Check::default();
    let url = checked_app(&clock, &check, Some(0)).await;
    let client = browser();
    send_post(&client, format!("{url}/login/alice"), "").await;
    *check.down.lock().unwrap() = true;
    clock.advance(EVERY);
    assert_eq!(
        meta(&client, &url).await["valid"],
        false,
        "no grace configured"
    );
}

/// "This session": the id makes a deny-list possible (SECURITY.md, L1). The
/// check is where an application consults it.
#[tokio::test]
async fn a_deny_list_of_ids_in_the_check_revokes_one_session() {
    let clock = ManualClock::new(NOW);
    let denied: Arc<Mutex<HashSet<SessionId>>> = Arc::default();
    let builder = SessionConfig::builder(ring(&[1]))
        .clock(clock.clone())
        .revalidate(Duration::from_secs(EVERY), {
            let denied = Arc::clone(&denied);
            move |session| {
                let revoked = denied.lock().unwrap().contains(&session.id());
                async move {
                    Ok(if revoked {
                        Verdict::Revoked
                    } else {
                        Verdict::Valid
                    })
                }
            }
        });
    let url = app_with(builder).await;
    let (a, b) = (browser(), browser());
    send_post(&a, format!("{url}/login/alice"), "").await;
    send_post(&b, format!("{url}/login/alice"), "").await;
    let id: SessionId = meta(&a, &url).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    denied.lock().unwrap().insert(id);
    clock.advance(EVERY);
    assert_eq!(meta(&a, &url).await["valid"], false, "this session");
    assert_eq!(meta(&b, &url).await["valid"], true, "not the other one");
}

#[tokio::test]
async fn a_revoked_session_reads_as_empty_to_the_handler() {
    let clock = ManualClock::new(NOW);
    let check = Check::default();
    let url = checked_app(&clock, &check, None).await;
    let client = browser();
    send_post(&client, format!("{url}/login/alice"), "").await;
    check.revoked_users.lock().unwrap().insert("alice".into());
    clock.advance(EVERY);
    // The handler runs after the check: it finds nothing; the cookie is expired.
    let response = get(&client, format!("{url}/get/user")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        attribute(&set_cookies(&response)[0], "Max-Age").as_deref(),
        Some("0")
    );
}
