//! What the layer counts through the `metrics` facade, after a scripted
//! sequence of requests over real HTTP: each counter moves as the crate
//! docs say, labels come from small fixed sets (or the key ids), and no
//! metric carries a cookie value, a session value or a session id. And the
//! per-request `session` span: its outcome and session id.
//!
//! One test function: the recorder and the subscriber are process-global.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use client_session::{ManualClock, SessionConfig, Verdict};
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use reqwest::StatusCode;

/// What was recorded since the last reading (the debugging recorder hands
/// each count and sample out once): `name{label=value,…}` → counter
/// increments or histogram samples, zeros left out.
fn read(snapshotter: &Snapshotter) -> BTreeMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            let value = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Histogram(samples) => samples.len() as u64,
                DebugValue::Gauge(g) => g.into_inner() as u64,
            };
            (name, value)
        })
        .filter(|(_, value)| *value > 0)
        .collect()
}

#[tokio::test]
async fn counters_follow_what_the_layer_did_and_carry_nothing_secret() {
    // The spans, at INFO (the level an operator leaves on), closed with their fields.
    let spans = Captured::default();
    let writer = spans.clone();
    tracing_subscriber::fmt()
        .with_env_filter("client_session=info")
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    let mut all_names = BTreeMap::new();
    let mut step = |name: &str, expected: &[(&str, u64)]| {
        let got = read(&snapshotter);
        let want: BTreeMap<String, u64> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        assert_eq!(got, want, "{name}");
        all_names.extend(got);
    };
    let k1 = key(1).id().to_string();
    let k2 = key(2).id().to_string();
    let opened_k1 = format!("client_session_opened_total{{key_id={k1},version=2}}");

    let clock = ManualClock::new(NOW);
    let revoked = Arc::new(AtomicBool::new(false));
    let check = Arc::clone(&revoked);
    let url = app_with(
        SessionConfig::builder(ring(&[1]))
            .clock(clock.clone())
            .revalidate(Duration::from_secs(60), move |_| {
                let revoked = check.load(Ordering::SeqCst);
                async move {
                    Ok(if revoked {
                        Verdict::Revoked
                    } else {
                        Verdict::Valid
                    })
                }
            }),
    )
    .await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    step(
        "a new session",
        &[
            ("client_session_sealed_total{why=changed}", 1),
            ("client_session_cookie_bytes{}", 1),
        ],
    );
    get(&client, format!("{url}/get/user")).await;
    step("a read", &[(opened_k1.as_str(), 1)]);

    let forged = "__Host-session=AfSGA_oHCAkKCwwNDg8QERITFBUWFxgZGhscHR4najOnPuVPHDaDw7LldbqEvGn8l27RWQbOQt3Rr6OENxgPQP-cbNoS_0v9m7PeRtSD";
    let bare = bare_client();
    // With a revocation check configured, the cookie is opened before the
    // handler, even on a route that never reads the session.
    get_with_cookie(&bare, format!("{url}/untouched"), forged).await;
    step(
        "a cookie of a key not in the ring",
        &[("client_session_rejected_total{reason=unknown_key}", 1)],
    );
    get_with_cookie(&bare, format!("{url}/get/user"), "__Host-session=AAAA").await;
    step(
        "a malformed cookie",
        &[("client_session_rejected_total{reason=malformed}", 1)],
    );

    // Rotation: another instance whose primary is key 2.
    let rotated = app_with(SessionConfig::builder(ring(&[2, 1])).clock(clock.clone())).await;
    get(&client, format!("{rotated}/get/user")).await;
    step(
        "an old key re-sealed",
        &[
            (opened_k1.as_str(), 1),
            ("client_session_sealed_total{why=old_key}", 1),
            ("client_session_cookie_bytes{}", 1),
        ],
    );
    get(&client, format!("{rotated}/get/user")).await;
    let opened_k2 = format!("client_session_opened_total{{key_id={k2},version=2}}");
    step("now under key 2", &[(opened_k2.as_str(), 1)]);
    get(&client, format!("{url}/get/user")).await;
    step(
        "key 2 unknown to the old ring",
        &[("client_session_rejected_total{reason=unknown_key}", 1)],
    );

    // Revocation checks.
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;
    step(
        "another new session",
        &[
            ("client_session_sealed_total{why=changed}", 1),
            ("client_session_cookie_bytes{}", 1),
        ],
    );
    clock.advance(60);
    get(&client, format!("{url}/get/user")).await;
    step(
        "a check that passes",
        &[
            (opened_k1.as_str(), 1),
            ("client_session_revocation_checks_total{outcome=valid}", 1),
            ("client_session_sealed_total{why=checked}", 1),
            ("client_session_cookie_bytes{}", 1),
        ],
    );
    revoked.store(true, Ordering::SeqCst);
    clock.advance(60);
    let response = get(&client, format!("{url}/get/user")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    step(
        "a revoked session",
        &[
            (opened_k1.as_str(), 1),
            ("client_session_revocation_checks_total{outcome=revoked}", 1),
            ("client_session_expired_total{}", 1),
        ],
    );

    // Too large: the change is answered 500.
    send_post(&client, format!("{url}/grow/9000"), "").await;
    step(
        "a change over the cap",
        &[("client_session_not_written_total{outcome=answered_500}", 1)],
    );

    // One span per request, closed with what the response did and, when
    // there was a session, its id.
    // (A span closes when the server drops the response future, just after
    // the client got the response: wait for the last one.)
    let read_spans = || spans.text();
    let started = std::time::Instant::now();
    while !read_spans().contains("outcome=\"answered_500\"") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}",
            read_spans()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let closed = read_spans();
    let closes: Vec<&str> = closed.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 11, "one span per request: {closed}");
    for outcome in [
        "sealed_changed",
        "read",
        "untouched",
        "sealed_old_key",
        "sealed_checked",
        "expired",
        "answered_500",
    ] {
        assert!(
            closes
                .iter()
                .any(|l| l.contains(&format!("outcome=\"{outcome}\""))),
            "no span closed with {outcome}: {closed}"
        );
    }
    let with_id = closes
        .iter()
        .find(|l| l.contains("outcome=\"sealed_changed\""))
        .unwrap();
    let id = with_id.split("session_id=").nth(1).unwrap();
    assert!(
        id.len() >= 32 && id[..32].bytes().all(|b| b.is_ascii_hexdigit()),
        "{with_id}"
    );

    // A CSRF refusal, by reason.
    let guarded = serve(
        axum::Router::new()
            .route("/act", axum::routing::post(|| async { "done" }))
            .layer(client_session::CsrfLayer::default())
            .layer(client_session::SessionLayer::new(
                SessionConfig::builder(ring(&[1])).build().unwrap(),
            )),
    )
    .await;
    let refused = send_post(&bare, format!("{guarded}/act"), "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    step(
        "a post without a CSRF token",
        &[("client_session_csrf_refused_total{reason=missing_token}", 1)],
    );

    // Nothing secret, bounded labels: every metric recorded above.
    let everything = all_names;
    assert!(everything.len() >= 10, "{everything:?}");
    let allowed_labels = ["key_id", "version", "reason", "why", "outcome"];
    for name in everything.keys() {
        assert!(name.starts_with("client_session_"), "{name}");
        let labels = name.split_once('{').unwrap().1.trim_end_matches('}');
        for label in labels.split(',').filter(|l| !l.is_empty()) {
            let (key, value) = label.split_once('=').unwrap();
            assert!(allowed_labels.contains(&key), "label {key} in {name}");
            assert!(
                value.len() <= 20,
                "a long label value (a cookie?) in {name}"
            );
            assert!(!value.contains("alice"), "a session value in {name}");
            if key == "key_id" {
                assert!([&k1, &k2].contains(&&value.to_owned()), "{name}");
            }
        }
    }
}
