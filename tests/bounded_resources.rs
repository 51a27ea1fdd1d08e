//! Hostile `Cookie` headers cost bounded memory and never yield a session.
//!
//! Every request below goes through the real middleware (`SessionLayer` in a
//! `tower::ServiceBuilder`, around a handler that reads the session) and is
//! called in-process. For each hostile header the user-visible outcome is
//! checked — no 5xx, the handler sees an empty session, the response sets no
//! cookie — and so is the largest amount of heap the call held at once,
//! measured by a counting global allocator.
//!
//! The meter is per thread: the requests run on a current-thread runtime, so
//! everything the layer, the codec and the handler allocate is counted, and
//! tests on other threads of this binary are not.
//!
//! A defining `#[global_allocator]` needs `unsafe impl GlobalAlloc`: this file
//! opts in with `#![allow(unsafe_code)]`, which requires the package-wide lint
//! to be `deny` (the library itself keeps `#![forbid(unsafe_code)]`).
#![allow(unsafe_code)]

use std::convert::Infallible;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use client_session::defaults::BODY_LIMIT as DEFAULT_BODY_LIMIT;
use client_session::{
    Key, Keyring, ManualClock, RejectReason, Session, SessionCodec, SessionConfig, SessionLayer,
    chunk,
};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use serde_json::Value;
use tower::{ServiceBuilder, ServiceExt as _, service_fn};

const VECTORS: &str = include_str!("vectors/vectors-v1.json");

/// Per-request memory that does not depend on the input: the session state
/// and its `Arc`, the request-extensions map, the response and its header
/// map, the handler's future and the runtime's bookkeeping for one
/// `block_on`. Measured at about 1 KiB (the smallest rows print their
/// peaks); 2 KiB leaves room for library changes without hiding anything
/// proportional to the input.
const FIXED_OVERHEAD: usize = 2 * 1024;

/// `miniz_oxide`'s decompressor state, boxed once per inflated cookie
/// (`format/deflate.rs` documents ~11 KiB).
const INFLATER_STATE: usize = 16 * 1024;

/// The inflate buffer: it doubles up to the body limit, and the meter counts
/// a growing buffer as moved (old and new both live), so the last doubling
/// holds ½ + 1 × the limit.
const INFLATE_BUFFER: usize = DEFAULT_BODY_LIMIT + DEFAULT_BODY_LIMIT / 2;

/// What a row's request may legitimately allocate beyond the fixed
/// per-request overhead: each row names the work its header calls for, and
/// its bound is the sum of those terms only. Nothing copies the header (the
/// layer keeps a range of it), so no term is a multiple of the header but
/// the decoding of a candidate value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Strict base64url decoding of the session cookie's value: ¾ of it.
    Decode,
    /// Inflating a compressed body: the inflate buffer, stopped at the body
    /// limit, and the inflater's state.
    Inflate,
    /// Several `Cookie` lines: a list of one 16-byte slice per line, in a
    /// `Vec` that grows by doubling (48 bytes per line during a move).
    LineList,
}

/// The most a request may hold at once for `row`'s header.
///
/// An implementation that copied the header (0.1 once did) would break the
/// bound of every row with a large header; one that inflated without a
/// limit would hold over 1 MiB for the bomb of the vectors
/// (`an_unbounded_inflate_would_break_the_bound` shows the meter seeing such
/// an inflate); one that sized its table of parts from the chunk count
/// before checking the cap would hold 16 bytes per part for `9999.` and ask
/// for 16 GB for `1000000000.`.
fn row_bound(work: &[Work], value_bytes: usize, lines: usize) -> usize {
    FIXED_OVERHEAD
        + work
            .iter()
            .map(|w| match w {
                Work::Decode => value_bytes * 3 / 4,
                Work::Inflate => INFLATE_BUFFER + INFLATER_STATE,
                Work::LineList => 48 * lines,
            })
            .sum::<usize>()
}

/// The most `SessionCodec::open` may hold for an input of `input_bytes`:
/// the inflate buffer and the inflater's state, and a few copies of the
/// input (its decoding is ¾ of it).
fn codec_bound(input_bytes: usize) -> usize {
    INFLATE_BUFFER + INFLATER_STATE + 4 * input_bytes
}

#[path = "alloc_meter/mod.rs"]
mod meter;

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
    /// What the header makes the layer do, and so may allocate for.
    work: &'static [Work],
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

/// The vectors' cookie name and context.
fn config(keyring: Keyring, now: u64) -> SessionConfig {
    SessionConfig::builder(keyring)
        .cookie_name("session")
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
    let oversize_again = oversize.clone();

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
            work: &[Work::Decode],
        },
        Row {
            name: "10,000 cookies",
            cookie_headers: vec![many_cookies.into_bytes()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
            work: &[Work::Decode],
        },
        Row {
            name: "2,000 Cookie header lines",
            cookie_headers: (0..2_000).map(|i| format!("c{i}=v").into_bytes()).collect(),
            config: plain(),
            now: NOW,
            path: Path::NoSessionCookie,
            work: &[Work::LineList],
        },
        Row {
            name: "chunk count of 10^9",
            cookie_headers: vec![b"session=1000000000.xxx".to_vec()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
            work: &[],
        },
        Row {
            name: "chunk count 9999, over the reading cap",
            cookie_headers: vec![b"session=9999.xxx; session.1=yyy".to_vec()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
            work: &[],
        },
        Row {
            name: "5,000 session.N chunk names",
            cookie_headers: vec![chunk_names.into_bytes()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
            work: &[],
        },
        Row {
            name: "non-UTF-8 bytes",
            cookie_headers: vec![
                b"a=\x80; session=2.\xff\xfeAA; session.1=\xc3\x28; b=\xe9t\xe9".to_vec(),
            ],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Malformed),
            work: &[],
        },
        Row {
            name: "deflate bomb vector (1 MiB body in a 1.4 KiB cookie)",
            cookie_headers: vec![format!("session={}", bomb.value).into_bytes()],
            config: config(bomb.keyring, bomb.now),
            now: bomb.now,
            path: Path::Rejected(RejectReason::TooLarge),
            work: &[Work::Decode, Work::Inflate],
        },
        Row {
            name: "one 100 KiB cookie",
            cookie_headers: vec![oversize],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::TooLarge),
            work: &[],
        },
        Row {
            // Two `Cookie` lines: the value cannot stay a range of one
            // header, so it would be copied if it were not refused first.
            name: "one 100 KiB cookie in the second of two Cookie lines",
            cookie_headers: vec![b"theme=dark".to_vec(), oversize_again],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::TooLarge),
            work: &[Work::LineList],
        },
        Row {
            name: "forged: valid header, garbage tag",
            cookie_headers: vec![forged.into_bytes()],
            config: plain(),
            now: NOW,
            path: Path::Rejected(RejectReason::Unauthenticated),
            work: &[Work::Decode],
        },
    ]
}

/// What the crate's public reader makes of the row's header.
fn read(row: &Row) -> chunk::IncomingCookie<'_> {
    let config = &row.config;
    chunk::read(
        row.cookie_headers.iter().map(Vec::as_slice),
        config.cookie_name(),
        config.max_chunks(),
    )
}

/// Length of the session cookie's value the reader hands on (0 when none).
fn session_value_len(row: &Row) -> usize {
    match read(row).value {
        Some(Ok(value)) => value.len(),
        _ => 0,
    }
}

/// What the crate's public reader and codec say about the header.
fn path_of(row: &Row) -> Path {
    let config = &row.config;
    match read(row).value {
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
fn hostile_cookie_headers_give_no_session_no_set_cookie_and_bounded_memory() {
    let runtime = runtime();
    for row in rows() {
        let name = row.name;
        assert_eq!(
            path_of(&row),
            row.path,
            "row {name:?} exercises another path"
        );

        let header_bytes: usize = row.cookie_headers.iter().map(Vec::len).sum();
        let value_bytes = session_value_len(&row);
        let mut request = Request::new(());
        for line in &row.cookie_headers {
            let value = HeaderValue::from_bytes(line).unwrap();
            request.headers_mut().append(COOKIE, value);
        }
        let service = ServiceBuilder::new()
            .layer(SessionLayer::new(row.config))
            .service(service_fn(handler));

        let (response, peak) = meter::peak_during(|| {
            runtime
                .block_on(service.oneshot(request))
                .expect("the handler is infallible")
        });

        println!("{name:<55} header {header_bytes:>7} B   peak {peak:>7} B");
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
        let bound = row_bound(row.work, value_bytes, row.cookie_headers.len());
        assert!(
            peak < bound,
            "row {name:?}: the request held {peak} bytes at once, over the bound of {bound} \
             for a {header_bytes}-byte header ({value_bytes}-byte value; work {:?})",
            row.work
        );
    }
}

#[test]
fn the_codec_stops_the_bomb_at_the_body_limit() {
    let bomb = bomb();
    let codec = SessionCodec::new(bomb.keyring, "session");
    let (outcome, peak) = meter::peak_during(|| codec.open(&bomb.value, bomb.now).map(|_| ()));
    let input = bomb.value.len();
    println!("SessionCodec::open on the bomb: input {input} B   peak {peak} B");
    assert_eq!(outcome, Err(RejectReason::TooLarge));
    let bound = codec_bound(input);
    assert!(
        peak < bound,
        "opening the {input}-byte bomb held {peak} bytes at once, over the bound of {bound}"
    );
}

/// The meter sees a regression: inflating a bomb of the vector's size ratio
/// without a limit holds the whole 1 MiB, far over the bound `open` keeps.
#[test]
fn an_unbounded_inflate_would_break_the_bound() {
    let body = br#"{"pad":""#
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b' ', 1 << 20))
        .collect::<Vec<u8>>();
    let packed = miniz_oxide::deflate::compress_to_vec(&body, 1);
    let (inflated, peak) = meter::peak_during(|| {
        miniz_oxide::inflate::decompress_to_vec(&packed)
            .map(|v| v.len())
            .ok()
    });
    println!(
        "unbounded inflate: input {} B   peak {peak} B",
        packed.len()
    );
    assert_eq!(inflated, Some(body.len()));
    assert!(peak >= 1 << 20, "peak {peak}");
    let bound = codec_bound(packed.len());
    assert!(
        peak > bound,
        "peak {peak} is within {bound}: the bound would not catch it"
    );
}

/// The default layer (compression off, so sizes are exact, clock at `NOW`),
/// with its codec and cookie name for sealing cookies to send it.
fn uncompressed_layer() -> (SessionCodec, String, SessionLayer) {
    let config = SessionConfig::builder(Keyring::single(Key::from_bytes(&[7; 32]).unwrap()))
        .compression(client_session::Compression::Off)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let codec = config.codec().clone();
    let name = config.cookie_name().to_owned();
    (codec, name, SessionLayer::new(config))
}

/// The layer keeps nothing after a request: no cache of cookie values, no
/// decrypted session. After 300 different sessions of ~4 KB have been
/// opened through the default layer, what stays allocated is the 300
/// response headers the closure returns and nothing of the sessions (a cache
/// of even one of them would leave ~7 KB: the value and its decrypted body).
#[test]
fn the_default_layer_keeps_no_cookie_or_session_after_its_request() {
    let runtime = runtime();
    let (codec, name, layer) = uncompressed_layer();
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(handler));
    let cookies: Vec<HeaderValue> = (0..300)
        .map(|i| {
            let mut data = client_session::SessionData::new();
            data.insert("user", &format!("{i:04}{}", "u".repeat(2_960)))
                .unwrap();
            let value = codec.seal(&data, NOW, NOW + 3_600).unwrap();
            assert!(
                value.len() > 4_000,
                "near one cookie's size: {}",
                value.len()
            );
            HeaderValue::from_str(&format!("{name}={value}")).unwrap()
        })
        .collect();
    let (saw, retained) = meter::retained_by(|| {
        cookies
            .iter()
            .map(|cookie| {
                let mut request = Request::new(());
                request.headers_mut().insert(COOKIE, cookie.clone());
                let response = runtime.block_on(service.clone().oneshot(request)).unwrap();
                response.headers().get(SAW).unwrap().clone()
            })
            .collect::<Vec<_>>()
    });
    assert!(saw.iter().all(|s| s == "a session"), "every cookie opened");
    // The Vec of 300 header values the closure returns is live, nothing else.
    let retained = usize::try_from(retained).unwrap_or(0);
    let results = 300 * std::mem::size_of::<HeaderValue>() * 2;
    println!("{retained} B retained after 300 opens");
    assert!(
        retained < results + 1024,
        "{retained} B retained after the requests: the layer kept something"
    );
}

/// The longest legitimate value — a body of exactly the body limit, sealed
/// without compression, 87,518 characters in 22 chunks (the reading cap
/// with the defaults) — opens through the layer; the same value one
/// character longer is refused by its length before it is copied.
#[test]
fn the_longest_legitimate_cookie_opens_through_the_layer() {
    let runtime = runtime();
    let (codec, name, layer) = uncompressed_layer();
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(handler));
    let mut data = client_session::SessionData::new();
    // {"user":"…"}: 11 bytes around the string.
    data.insert("user", &"u".repeat(DEFAULT_BODY_LIMIT - 11))
        .unwrap();
    assert_eq!(data.to_json().len(), DEFAULT_BODY_LIMIT);
    let value = codec.seal(&data, NOW, NOW + 3_600).unwrap();
    assert_eq!(value.len(), 87_518);
    let send = |value: &str| {
        let cookies = chunk::split(&name, value);
        let header = cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = Request::new(());
        request
            .headers_mut()
            .insert(COOKIE, HeaderValue::from_str(&header).unwrap());
        let response = runtime.block_on(service.clone().oneshot(request)).unwrap();
        (cookies.len(), response.headers()[SAW].clone())
    };
    assert_eq!(send(&value), (22, HeaderValue::from_static("a session")));
    let longer = format!("{value}A");
    assert_eq!(send(&longer).1, "empty", "one character over the limit");
}

/// Allocations a session costs per request, above the same request to a
/// service without a session, and the cheapest peer's (BENCHMARKS.md,
/// `scripts/instructions.sh`: axum-extra's `PrivateCookieJar` minus axum's
/// hello, 2026-11-30: 19.4 and 29.8, rounded down; tower-sessions with its
/// `MemoryStore` makes 24 and 46).
const PEER_READ_ALLOCATIONS: usize = 19;
const PEER_MODIFY_ALLOCATIONS: usize = 29;

/// Reads `user`, or with `x-modify` also increments `counter`, like the
/// benchmark's handlers.
async fn bench_handler(request: Request<()>) -> Result<Response<String>, Infallible> {
    let session = request.extensions().get::<Session>().unwrap();
    let user = session.get::<String>("user").unwrap_or_default();
    if request.headers().contains_key("x-modify") {
        let counter = session.get::<u64>("counter").unwrap_or(0) + 1;
        session.insert("counter", &counter).unwrap();
    }
    Ok(Response::new(user))
}

/// Each request of 100 distinct sessions (the benchmark's session, default
/// configuration) makes at most as many allocations in the layer as the
/// cheapest peer makes for the same read or change — counted, not timed.
#[test]
fn a_session_costs_fewer_allocations_per_request_than_the_cheapest_peer() {
    let runtime = runtime();
    let config = SessionConfig::builder(Keyring::single(Key::from_bytes(&[7; 32]).unwrap()))
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let (codec, name) = (config.codec().clone(), config.cookie_name().to_owned());
    // Sealed now for the whole idle window, as the layer seals: a read does
    // not renew it.
    let expires = NOW + config.idle_timeout().as_secs();
    let ours = ServiceBuilder::new()
        .layer(SessionLayer::new(config))
        .service(service_fn(bench_handler));
    let bare = service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::from("user1")))
    });
    let request = |i: usize, modify: bool| {
        let mut data = client_session::SessionData::new();
        data.insert("user", &format!("user{i}")).unwrap();
        data.insert("cart", &["sku-1", "sku-2"]).unwrap();
        data.insert("theme", "dark").unwrap();
        let value = codec.seal(&data, NOW, expires).unwrap();
        let mut request = Request::new(());
        request.headers_mut().insert(
            COOKIE,
            HeaderValue::from_str(&format!("{name}={value}")).unwrap(),
        );
        if modify {
            request
                .headers_mut()
                .insert("x-modify", HeaderValue::from_static("1"));
        }
        request
    };
    for (modify, peer) in [
        (false, PEER_READ_ALLOCATIONS),
        (true, PEER_MODIFY_ALLOCATIONS),
    ] {
        let mut most = 0;
        for i in 0..100 {
            let (service, baseline) = (ours.clone(), bare);
            let (with_session, without) = (request(i, modify), request(i, modify));
            let (response, session_allocations) =
                meter::allocations_during(|| runtime.block_on(service.oneshot(with_session)));
            let response = response.unwrap();
            assert_eq!(response.body(), &format!("user{i}"), "the session opened");
            assert_eq!(
                response.headers().contains_key(SET_COOKIE),
                modify,
                "only a change sets the cookie"
            );
            let (_, bare_allocations) =
                meter::allocations_during(|| runtime.block_on(baseline.oneshot(without)));
            most = most.max(session_allocations.saturating_sub(bare_allocations));
        }
        let what = if modify { "change" } else { "read" };
        println!("a {what}: at most {most} allocations per request for the session (peer: {peer})");
        assert!(
            most <= peer,
            "a {what} made {most} allocations for the session, more than the cheapest peer's {peer}"
        );
    }
}
