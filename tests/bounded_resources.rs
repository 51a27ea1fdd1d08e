//! Hostile `Cookie` headers never yield a session, a 5xx or a `Set-Cookie`.
//!
//! Every request below goes through the real middleware (`SessionLayer` in a
//! `tower::ServiceBuilder`, around a handler that reads the session) and is
//! called in-process. For each hostile header the user-visible outcome is
//! checked: no 5xx, the handler sees an empty session, the response sets no
//! cookie. Each row first checks, with the crate's public reader and codec,
//! that it reaches the code path it is named after.
//!
//! The peak heap of each request is not measured here: that needs a counting
//! `#[global_allocator]`, i.e. `unsafe impl GlobalAlloc`, and Cargo.toml's
//! `[lints.rust] unsafe_code = "forbid"` refuses it in test binaries too.

use std::convert::Infallible;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use client_session::{
    Key, Keyring, ManualClock, RejectReason, Session, SessionConfig, SessionLayer, chunk,
};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use serde_json::Value;
use tower::{ServiceBuilder, ServiceExt as _, service_fn};

const VECTORS: &str = include_str!("vectors/vectors-v1.json");

/// What the handler saw, sent back in a response header.
const SAW: &str = "x-saw-session";

async fn handler(request: Request<()>) -> Result<Response<String>, Infallible> {
    let session = request
        .extensions()
        .get::<Session>()
        .expect("the layer puts a session in every request");
    let user = session.get::<String>("user");
    let saw = if user.is_none() && session.is_empty() && !session.had_valid_cookie() {
        "empty"
    } else {
        "a session"
    };
    let mut response = Response::new(String::new());
    response
        .headers_mut()
        .insert(SAW, HeaderValue::from_static(saw));
    Ok(response)
}

/// What the crate's own reader and codec make of a row's header, checked
/// outside the measurement so that each row is known to reach the code path
/// it is named after (and is not, say, refused early for a wrong key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The session cookie's name does not occur.
    NoSessionCookie,
    /// The cookie is refused with this reason.
    Rejected(RejectReason),
}

struct Row {
    name: &'static str,
    /// The request's `Cookie` header lines.
    cookie_headers: Vec<Vec<u8>>,
    config: SessionConfig,
    /// The time the layer's clock shows, also used to check the path.
    now: u64,
    path: Path,
}

fn vector_named(prefix: &str) -> Value {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    vectors["open"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no vector named {prefix:?}…"))
        .clone()
}

fn vector_keyring(vector: &Value) -> Keyring {
    Keyring::new(
        vector["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| Key::from_bytes(&STANDARD.decode(k.as_str().unwrap()).unwrap()).unwrap()),
    )
    .unwrap()
}

/// The deflate-bomb vector: its keys, `now`, and its one cookie.
struct Bomb {
    keyring: Keyring,
    now: u64,
    value: String,
}

fn bomb() -> Bomb {
    let vector = vector_named("deflate bomb");
    assert_eq!(vector["cookie_name"], "session");
    assert_eq!(vector["context"], "session");
    Bomb {
        keyring: vector_keyring(&vector),
        now: vector["now"].as_u64().unwrap(),
        value: vector["cookies"]["session"].as_str().unwrap().to_owned(),
    }
}

const NOW: u64 = 1_700_000_000;

fn config(keyring: Keyring, now: u64) -> SessionConfig {
    SessionConfig::builder(keyring)
        .clock(ManualClock::new(now))
        .build()
        .unwrap()
}

/// Deterministic bytes from `alphabet` (a fixed LCG: the same junk every run).
fn junk(len: usize, alphabet: &[u8]) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            alphabet[(state >> 33) as usize % alphabet.len()]
        })
        .collect()
}

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn rows() -> Vec<Row> {
    let key = Key::from_bytes(&[0x5A; 32]).unwrap();
    let key_id = key.id();
    let keyring = Keyring::single(key);
    let plain = || config(keyring.clone(), NOW);
    let bomb = bomb();

    // Visible ASCII without ';' and '.', so the whole junk is one unchunked
    // session cookie: it is copied out and handed to the codec.
    let printable: Vec<u8> = (0x21..=0x7E).filter(|&b| b != b';' && b != b'.').collect();
    let mut junk_64k = b"session=".to_vec();
    junk_64k.extend(junk(64 * 1024, &printable));

    let mut many_cookies = (0..10_000)
        .map(|i| format!("c{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("; ");
    many_cookies.push_str("; session=AAAA");

    let mut chunk_names = String::from("session=2.AAAA");
    for i in 1..=5_000 {
        chunk_names.push_str(&format!("; session.{i}=AAAA"));
    }

    let mut oversize = b"session=".to_vec();
    oversize.extend(junk(100 * 1024, BASE64URL));

    // A well-formed v1 header naming the ring's key, then garbage where the
    // ciphertext and the tag go.
    let mut forged = vec![0x01];
    forged.extend_from_slice(&key_id.to_bytes());
    forged.extend(junk(24 + 17 + 64 + 16, &(0..=255).collect::<Vec<u8>>()));
    let forged = format!("session={}", URL_SAFE_NO_PAD.encode(&forged));

    vec![
        Row {
            name: "64 KiB of junk",
            cookie_headers: vec![junk_64k],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
        },
        Row {
            name: "10,000 cookies",
            cookie_headers: vec![many_cookies.into_bytes()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
        },
        Row {
            name: "2,000 Cookie header lines",
            cookie_headers: (0..2_000).map(|i| format!("c{i}=v").into_bytes()).collect(),
            config: plain(),
            now: NOW,
            path: Path::NoSessionCookie,
        },
        Row {
            name: "chunk count of 10^9",
            cookie_headers: vec![b"session=1000000000.xxx".to_vec()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
        },
        Row {
            name: "chunk count 9999, over the cap of 2",
            cookie_headers: vec![b"session=9999.xxx; session.1=yyy".to_vec()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
        },
        Row {
            name: "5,000 session.N chunk names",
            cookie_headers: vec![chunk_names.into_bytes()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
        },
        Row {
            name: "non-UTF-8 bytes",
            cookie_headers: vec![
                b"a=\x80; session=2.\xff\xfeAA; session.1=\xc3\x28; b=\xe9t\xe9".to_vec(),
            ],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
        },
        Row {
            name: "deflate bomb vector (1 MiB body in a 1.4 KiB cookie)",
            cookie_headers: vec![format!("session={}", bomb.value).into_bytes()],
            config: config(bomb.keyring, bomb.now),
            now: bomb.now,
            path: Path::Rejected(RejectReason::TooLarge),
        },
        Row {
            name: "one 100 KiB cookie",
            cookie_headers: vec![oversize],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::TooLarge),
        },
        Row {
            name: "forged: valid header, garbage tag",
            cookie_headers: vec![forged.into_bytes()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Unauthenticated),
        },
    ]
}

/// What the crate's public reader and codec say about the header.
fn path_of(row: &Row) -> Path {
    let config = &row.config;
    let incoming = chunk::read(
        row.cookie_headers.iter().map(Vec::as_slice),
        config.cookie_name(),
        config.max_chunks(),
    );
    match incoming.value {
        None => Path::NoSessionCookie,
        Some(Err(reason)) => Path::Rejected(reason),
        Some(Ok(value)) => match config.codec().open(&value, row.now) {
            Ok(_) => panic!("row {:?}: the hostile cookie opened", row.name),
            Err(reason) => Path::Rejected(reason),
        },
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn hostile_cookie_headers_give_no_session_and_no_set_cookie() {
    let runtime = runtime();
    for row in rows() {
        let name = row.name;
        assert_eq!(
            path_of(&row),
            row.path,
            "row {name:?} exercises another path"
        );

        let mut request = Request::new(());
        for line in &row.cookie_headers {
            let value = HeaderValue::from_bytes(line).unwrap();
            request.headers_mut().append(COOKIE, value);
        }
        let service = ServiceBuilder::new()
            .layer(SessionLayer::new(row.config))
            .service(service_fn(handler));
        let response = runtime
            .block_on(service.oneshot(request))
            .expect("the handler is infallible");

        assert!(
            !response.status().is_server_error(),
            "row {name:?}: status {}",
            response.status()
        );
        assert_eq!(
            response.headers().get(SAW).unwrap(),
            "empty",
            "row {name:?}: the handler saw a session"
        );
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "row {name:?}: the response sets {:?}",
            response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .collect::<Vec<_>>()
        );
    }
}
