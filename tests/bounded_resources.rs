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
use client_session::format::DEFAULT_BODY_LIMIT;
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
/// `block_on`. Measured at about 1 KiB; 8 KiB leaves room for library
/// changes without hiding anything proportional to the input.
const FIXED_OVERHEAD: usize = 8 * 1024;

/// `miniz_oxide`'s decompressor state, boxed once per inflated cookie
/// (`compress.rs` documents ~11 KiB).
const INFLATER_STATE: usize = 16 * 1024;

/// The inflate buffer: it doubles up to the body limit, and the meter counts
/// a growing buffer as moved (old and new both live), so the last doubling
/// holds ½ + 1 × the limit.
const INFLATE_BUFFER: usize = DEFAULT_BODY_LIMIT + DEFAULT_BODY_LIMIT / 2;

/// The most a request may hold at once while rejecting a hostile `Cookie`
/// header of `header_bytes` bytes over `lines` header lines:
///
/// * 1 × the header: the layer copies the candidate cookie value out of it
///   (at most the whole header) so that the handler can open it later;
/// * ¾ × the header: the strict base64url decoding of that copy;
/// * the inflate buffer and the inflater's state: inflation stops at the
///   body limit;
/// * with several `Cookie` lines, a list of one 16-byte slice per line, in a
///   `Vec` that grows by doubling (48 bytes per line during a move);
/// * the fixed per-request overhead.
///
/// Only the first two terms grow with the cookie. An implementation that
/// inflated without a limit would hold over 1 MiB for the bomb of the
/// vectors, a 1.4 KiB cookie whose bound is 125,473 bytes
/// (`an_unbounded_inflate_would_break_the_bound` shows the meter seeing such
/// an inflate); one that sized its table of parts from the chunk count
/// before checking the cap would hold 16 bytes per part for
/// `9999.` (159,984 bytes against a bound of 122,934) and ask for 16 GB for
/// `1000000000.`.
fn layer_bound(header_bytes: usize, lines: usize) -> usize {
    let per_line = if lines > 1 { 48 * lines } else { 0 };
    header_bytes
        + header_bytes * 3 / 4
        + INFLATE_BUFFER
        + INFLATER_STATE
        + per_line
        + FIXED_OVERHEAD
}

/// The most `SessionCodec::open` may hold for an input of `input_bytes`:
/// the inflate buffer and the inflater's state, and a few copies of the
/// input (its decoding is ¾ of it).
fn codec_bound(input_bytes: usize) -> usize {
    INFLATE_BUFFER + INFLATER_STATE + 4 * input_bytes
}

mod meter {
    //! A global allocator that counts, for the thread that asks, how many
    //! bytes are live and the most that were live at once.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub(crate) struct Counting;

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    struct Meter {
        on: Cell<bool>,
        live: Cell<isize>,
        peak: Cell<isize>,
    }

    thread_local! {
        // Const-initialised and without `Drop`: using it allocates nothing,
        // so the allocator may touch it.
        static METER: Meter = const {
            Meter { on: Cell::new(false), live: Cell::new(0), peak: Cell::new(0) }
        };
    }

    fn record(delta: isize) {
        let _ = METER.try_with(|m| {
            if m.on.get() {
                let live = m.live.get() + delta;
                m.live.set(live);
                m.peak.set(m.peak.get().max(live));
            }
        });
    }

    fn size(bytes: usize) -> isize {
        isize::try_from(bytes).unwrap_or(isize::MAX)
    }

    // SAFETY: every call is forwarded unchanged to `System`; the only added
    // work is arithmetic on thread-local cells, which does not allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                record(size(layout.size()));
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as for `alloc`.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                record(size(layout.size()));
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` was allocated by `System` with `layout`.
            unsafe { System.dealloc(ptr, layout) };
            record(-size(layout.size()));
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if !new.is_null() {
                // Counted as a move, the worst case: for a moment the new
                // block is live next to the old one.
                record(size(new_size));
                record(-size(layout.size()));
            }
            new
        }
    }

    /// Runs `f` with the meter counting from zero: its result, the bytes it
    /// left live (allocated and not freed), and the most that were live at once.
    fn metered<R>(f: impl FnOnce() -> R) -> (R, isize, isize) {
        METER.with(|m| {
            m.live.set(0);
            m.peak.set(0);
            m.on.set(true);
        });
        let result = f();
        let (live, peak) = METER.with(|m| {
            m.on.set(false);
            (m.live.get(), m.peak.get())
        });
        (result, live, peak)
    }

    /// Runs `f` and returns its result with the bytes it left live.
    pub(crate) fn retained_by<R>(f: impl FnOnce() -> R) -> (R, isize) {
        let (result, live, _) = metered(f);
        (result, live)
    }

    /// Runs `f` and returns its result with the most bytes that were live at
    /// once during the call, beyond what was live before it.
    pub(crate) fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let (result, _, peak) = metered(f);
        (result, usize::try_from(peak).unwrap_or(0))
    }
}

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
        let bound = layer_bound(header_bytes, row.cookie_headers.len());
        assert!(
            peak < bound,
            "row {name:?}: the request held {peak} bytes at once, over the bound of {bound} \
             for a {header_bytes}-byte header"
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

/// The layer keeps nothing after a request: no cache of cookie values, no
/// decrypted session. After 300 different sessions of ~4 KB have been
/// opened through the default layer, what stays allocated is the 300
/// response headers the closure returns and nothing of the sessions (a cache
/// of even one of them would leave ~7 KB: the value and its decrypted body).
#[test]
fn the_default_layer_keeps_no_cookie_or_session_after_its_request() {
    const NOW: u64 = 1_700_000_000;
    let runtime = runtime();
    let config = SessionConfig::builder(Keyring::single(Key::from_bytes(&[7; 32]).unwrap()))
        .compression(client_session::Compression::Off)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let codec = config.codec().clone();
    let name = config.cookie_name().to_owned();
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(config))
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
