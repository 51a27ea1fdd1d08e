//! The property of the whole service, shared by the fuzz target
//! `fuzz/fuzz_targets/service.rs` and the corpus replay in
//! `tests/fuzz_service_corpus.rs`: an arbitrary `Cookie` header (one header
//! line per `\n`-separated part of the input) through `SessionLayer` around a
//! handler that reads the session
//!
//! * never panics and never answers 5xx;
//! * without a valid session, produces no `Set-Cookie` (the handler only reads);
//! * with a valid one (the corpus holds real sealed cookies), any `Set-Cookie`
//!   it sends (a re-seal with the primary key, or a renewal) opens to the
//!   same session;
//! * the layer keeps nothing between requests: the same header sent again
//!   gives the same outcome and the same session.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};

use client_session::{Key, Keyring, ManualClock, Session, SessionConfig, SessionLayer, chunk};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

/// "Now" inside the validity window of the vectors' cookies.
pub const NOW: u64 = 1_700_000_010;

/// The vectors' two keys (bytes 0..32 and 32..96), so their cookies open.
fn keyring() -> Keyring {
    let a: Vec<u8> = (0..32).collect();
    let b: Vec<u8> = (32..96).collect();
    Keyring::new([Key::from_bytes(&a).unwrap(), Key::from_bytes(&b).unwrap()]).unwrap()
}

static LAYER: LazyLock<SessionLayer> = LazyLock::new(layer);

fn layer() -> SessionLayer {
    let config = SessionConfig::builder(keyring())
        .cookie_name("session")
        .clock(ManualClock::new(NOW))
        .max_cookie_bytes(4 * 4096)
        .build()
        .expect("valid configuration");
    SessionLayer::new(config)
}

/// A handler that reads the whole session and reports what it saw.
#[derive(Clone)]
struct ReadsSession;

impl Service<Request<()>> for ReadsSession {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let session = request
            .extensions()
            .get::<Session>()
            .expect("the layer adds a Session")
            .clone();
        let seen = if session.had_valid_cookie() {
            let keys = session.keys();
            let values: Vec<Option<serde_json::Value>> =
                keys.iter().map(|k| session.get(k)).collect();
            format!(
                "valid {}",
                serde_json::json!({"keys": keys, "values": values})
            )
        } else {
            assert!(
                session.is_empty(),
                "no valid cookie, yet the session has values"
            );
            "none".to_owned()
        };
        ready(Ok(Response::new(seen)))
    }
}

/// What one request did, for tests that want to know which path ran.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler saw no session.
    NoSession,
    /// A valid session, no `Set-Cookie`.
    Session,
    /// A valid session, sent back re-sealed (checked to open to the same data).
    Resealed,
}

/// Runs one request through the layer and checks the properties; then the
/// same request again, which must be seen the same.
pub fn service(data: &[u8]) -> Outcome {
    let (outcome, seen) = one_request(&LAYER, data);
    let again = one_request(&LAYER, data);
    assert_eq!(
        (&again.0, &again.1),
        (&outcome, &seen),
        "the same Cookie header sent again was seen differently"
    );
    outcome
}

/// One request through `layer`: its outcome and what the handler saw.
fn one_request(layer: &SessionLayer, data: &[u8]) -> (Outcome, String) {
    let mut request = Request::new(());
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            request.headers_mut().append(COOKIE, value);
        }
    }
    let mut service = layer.layer(ReadsSession);
    let future = pin!(service.call(request));
    let Poll::Ready(Ok(response)) = future.poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("a ready handler behind the layer must answer at once");
    };
    assert!(
        !response.status().is_server_error(),
        "5xx for a Cookie header: {}",
        response.status()
    );
    let set_cookies: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("Set-Cookie is ASCII").to_owned())
        .collect();
    let seen = response.body().clone();
    if seen == "none" {
        assert!(
            set_cookies.is_empty(),
            "no session, yet Set-Cookie: {set_cookies:?}"
        );
        return (Outcome::NoSession, seen);
    }
    if set_cookies.is_empty() {
        return (Outcome::Session, seen);
    }
    // A re-seal or renewal: it must carry the same session.
    let header = set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .filter(|pair| !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ");
    let value = chunk::read(
        std::iter::once(header.as_bytes()),
        "session",
        layer.config().max_chunks(),
    )
    .value
    .expect("a Set-Cookie for the session")
    .expect("well-formed chunks");
    let reopened = layer
        .config()
        .codec()
        .open(&value, NOW)
        .expect("a re-sealed cookie opens");
    assert_eq!(reopened.key_index(), 0, "re-sealed with the primary key");
    let keys: Vec<&str> = reopened.data().keys().collect();
    let values: Vec<Option<serde_json::Value>> = keys
        .iter()
        .map(|k| reopened.data().get(k).ok().flatten())
        .collect();
    assert_eq!(
        seen,
        format!(
            "valid {}",
            serde_json::json!({"keys": keys, "values": values})
        )
    );
    (Outcome::Resealed, seen)
}
