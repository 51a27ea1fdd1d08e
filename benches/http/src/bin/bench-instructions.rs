//! `bench-instructions ROW [SESSIONS] [REQUESTS]`: one row of the
//! deterministic benchmark, in process, for `scripts/instructions.sh`.
//!
//! Mints `SESSIONS` (default 10,000) distinct sessions through the stack's
//! own `GET /login`, builds `REQUESTS` (default 10,000) requests that carry
//! them round-robin, then serves those requests in [`measured`] — the only
//! function callgrind counts (`--collect-atstart=no
//! --toggle-collect=*measured*`). Requests are served through the stack's
//! tower `Service` (an axum `Router`, or `SessionLayer` around a tower
//! `service_fn`), without TCP and hyper's HTTP/1 parser, which are the same
//! for every stack; each response's body is read to its end, as hyper would.
//!
//! Codec rows (`floor-open`, `codec-open`, `codec-seal`, …) run the cookie
//! codec alone on the same 10,000 cookies.
//!
//! Prints one line, `ROW requests=N allocations=A bytes=B ns=T`: heap
//! allocations and bytes allocated per request (a counting global
//! allocator), and wall-clock ns per request (informative only: the
//! deterministic figure is callgrind's instruction count).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use client_session::{Compression, Key, Keyring, SessionCodec, SessionData, SessionMeta};
use client_session_bench_http as stacks;
use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use tower::{Service, ServiceExt as _};

/// Counts every allocation (the process is one thread while measuring).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(new_size as u64, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Every row: name, what it serves or runs.
const ROWS: &[(&str, &str)] = &[
    (
        "hyper-hello",
        "tower service_fn answering hello (no session)",
    ),
    ("hyper-ours-read", "SessionLayer + service_fn, GET /read"),
    ("hyper-ours-modify", "SessionLayer + service_fn, GET /write"),
    ("axum-hello", "axum Router, GET /hello (no session)"),
    ("axum-ours-read", "axum + SessionLayer, GET /read"),
    ("axum-ours-modify", "axum + SessionLayer, GET /write"),
    (
        "axum-ts-read",
        "axum + tower-sessions MemoryStore, GET /read",
    ),
    (
        "axum-ts-modify",
        "axum + tower-sessions MemoryStore, GET /write",
    ),
    ("axum-jar-read", "axum + PrivateCookieJar, GET /read"),
    ("axum-jar-modify", "axum + PrivateCookieJar, GET /write"),
    (
        "floor-open",
        "base64 + HKDF + AES-GCM + JSON validation of our cookie, alone",
    ),
    ("codec-open", "SessionCodec::open of our cookie"),
    (
        "codec-seal",
        "SessionCodec::seal of the session (a new id, fresh nonce)",
    ),
    (
        "codec-open-1k5",
        "SessionCodec::open, 1.5 KiB body, uncompressed",
    ),
    (
        "codec-seal-1k5",
        "SessionCodec::seal, 1.5 KiB body, uncompressed",
    ),
    (
        "codec-open-1k5-deflate",
        "SessionCodec::open, 1.5 KiB body, compressed",
    ),
    (
        "codec-seal-1k5-deflate",
        "SessionCodec::seal, 1.5 KiB body, compressed",
    ),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(row) = args.next() else {
        eprintln!("usage: bench-instructions ROW [SESSIONS] [REQUESTS]\nrows:");
        for (name, what) in ROWS {
            eprintln!("  {name:24} {what}");
        }
        std::process::exit(2);
    };
    let number = |arg: Option<String>, default: usize| {
        arg.map_or(default, |text| {
            text.parse().unwrap_or_else(|_| {
                eprintln!("not a count: {text}");
                std::process::exit(2)
            })
        })
    };
    let sessions = number(args.next(), 10_000).max(1);
    let requests = number(args.next(), 10_000).max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let run = Run {
        runtime: &runtime,
        sessions,
        requests,
    };
    let report = match row.as_str() {
        "hyper-hello" => run.http(
            tower::service_fn(stacks::hyper_hello::<Body>),
            "/hello",
            false,
        ),
        "hyper-ours-read" | "hyper-ours-modify" => run.http(
            tower::ServiceBuilder::new()
                .layer(client_session::SessionLayer::new(stacks::our_config()))
                .service_fn(stacks::hyper_ours::<Body>),
            path_of(&row),
            true,
        ),
        "axum-hello" => run.http(stacks::axum_hello(), "/hello", false),
        "axum-ours-read" | "axum-ours-modify" => {
            run.http(stacks::ours::router(), path_of(&row), true)
        }
        "axum-ts-read" | "axum-ts-modify" => {
            run.http(stacks::tower_sessions_peer::router(), path_of(&row), true)
        }
        "axum-jar-read" | "axum-jar-modify" => {
            run.http(stacks::private_jar::router(), path_of(&row), true)
        }
        codec if codec.starts_with("floor-") || codec.starts_with("codec-") => run.codec(codec),
        other => {
            eprintln!("unknown row {other:?} (run without arguments for the list)");
            std::process::exit(2);
        }
    };
    println!(
        "{row} requests={requests} allocations={:.2} bytes={:.0} ns={:.0} value={}",
        report.allocations as f64 / requests as f64,
        report.bytes as f64 / requests as f64,
        report.nanos as f64 / requests as f64,
        report.value_bytes,
    );
}

fn path_of(row: &str) -> &'static str {
    if row.ends_with("-read") {
        "/read"
    } else {
        "/write"
    }
}

struct Run<'a> {
    runtime: &'a tokio::runtime::Runtime,
    sessions: usize,
    requests: usize,
}

/// What the measured phase cost, in total.
struct Report {
    allocations: u64,
    bytes: u64,
    nanos: u128,
    /// Codec rows: the length of one sealed cookie value (0 otherwise).
    value_bytes: usize,
}

fn metered(f: impl FnOnce()) -> Report {
    let (allocations, bytes) = (ALLOCATIONS.load(Relaxed), ALLOCATED.load(Relaxed));
    let start = Instant::now();
    f();
    let nanos = start.elapsed().as_nanos();
    Report {
        allocations: ALLOCATIONS.load(Relaxed) - allocations,
        bytes: ALLOCATED.load(Relaxed) - bytes,
        nanos,
        value_bytes: 0,
    }
}

impl Run<'_> {
    /// Mints the sessions through `GET /login` (when `with_sessions`), then
    /// serves `requests` requests for `path` carrying them round-robin.
    fn http<S, B>(&self, mut service: S, path: &'static str, with_sessions: bool) -> Report
    where
        S: Service<Request<Body>, Response = Response<B>>,
        S::Error: std::fmt::Debug,
        B: http_body::Body,
        B::Error: std::fmt::Debug,
    {
        let cookies: Vec<String> = if with_sessions {
            (0..self.sessions)
                .map(|_| {
                    let response = self
                        .runtime
                        .block_on(serve(&mut service, get("/login", None)));
                    assert_eq!(response.status(), StatusCode::OK, "GET /login");
                    cookie_of(&response)
                })
                .collect()
        } else {
            Vec::new()
        };
        // As hyper hands them over: every header value a slice of one
        // shared buffer (a reference count, no copy, no allocation).
        let buffer = Bytes::from(cookies.concat());
        let mut at = 0;
        let values: Vec<Bytes> = cookies
            .iter()
            .map(|cookie| {
                at += cookie.len();
                buffer.slice(at - cookie.len()..at)
            })
            .collect();
        let requests: Vec<Request<Body>> = (0..self.requests)
            .map(|i| get(path, values.get(i % self.sessions).cloned()))
            .collect();
        let mut failed = 0usize;
        let report = metered(|| {
            failed = measured_http(self.runtime, &mut service, requests);
        });
        assert_eq!(failed, 0, "{failed} responses were not 200 OK");
        report
    }

    /// The codec rows: our cookies (minted through the codec, 10,000
    /// distinct ids and nonces) opened or sealed alone.
    fn codec(&self, row: &str) -> Report {
        let secret = [0x5a_u8; 32];
        let keyring = Keyring::single(Key::from_bytes(&secret).expect("key"));
        let large = row.contains("1k5");
        let compression = if row.ends_with("-deflate") {
            Compression::Above(client_session::defaults::COMPRESSION_THRESHOLD)
        } else {
            Compression::Off
        };
        let codec = SessionCodec::new(keyring, "__Host-session").compression(compression);
        let data = if large {
            large_session()
        } else {
            small_session()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let expires = now + 86_400;
        let cookies: Vec<String> = (0..self.sessions)
            .map(|_| {
                codec
                    .seal_with_meta(
                        &data,
                        &SessionMeta::new(
                            client_session::SessionId::generate().expect("id"),
                            now,
                            expires,
                        ),
                    )
                    .expect("seal")
            })
            .collect();
        let value_bytes = cookies[0].len();
        let inputs: Vec<&str> = (0..self.requests)
            .map(|i| cookies[i % self.sessions].as_str())
            .collect();
        let report = match row {
            "floor-open" => {
                let floor = Floor::new(&secret, b"__Host-session");
                metered(|| measured_floor(&floor, &inputs))
            }
            "codec-open" | "codec-open-1k5" | "codec-open-1k5-deflate" => {
                metered(|| measured_open(&codec, &inputs, now))
            }
            "codec-seal" | "codec-seal-1k5" | "codec-seal-1k5-deflate" => {
                let metas: Vec<SessionMeta> = (0..self.requests)
                    .map(|_| {
                        SessionMeta::new(
                            client_session::SessionId::generate().expect("id"),
                            now,
                            expires,
                        )
                    })
                    .collect();
                metered(|| measured_seal(&codec, &data, &metas))
            }
            other => {
                eprintln!("unknown row {other:?}");
                std::process::exit(2);
            }
        };
        Report {
            value_bytes,
            ..report
        }
    }
}

fn get(path: &str, cookie: Option<Bytes>) -> Request<Body> {
    let mut builder = Request::get(path).header(HOST, HeaderValue::from_static("127.0.0.1"));
    if let Some(cookie) = cookie {
        builder = builder.header(
            COOKIE,
            HeaderValue::from_maybe_shared(cookie).expect("a cookie is a header value"),
        );
    }
    builder.body(Body::empty()).expect("request")
}

/// The `Cookie` header that sends back what the response set.
fn cookie_of<B>(response: &Response<B>) -> String {
    let pairs: Vec<&str> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            let text = value.to_str().expect("ASCII Set-Cookie");
            text.split(';').next().expect("name=value")
        })
        .collect();
    assert!(!pairs.is_empty(), "GET /login set no cookie");
    pairs.join("; ")
}

async fn serve<S, B>(service: &mut S, request: Request<Body>) -> Response<Bytes>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service
        .ready()
        .await
        .expect("ready")
        .call(request)
        .await
        .expect("response");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    Response::from_parts(parts, bytes)
}

/// The measured phase of the HTTP rows: every request served, its response
/// read to the end and dropped. Returns how many were not 200.
#[inline(never)]
fn measured_http<S, B>(
    runtime: &tokio::runtime::Runtime,
    service: &mut S,
    requests: Vec<Request<Body>>,
) -> usize
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    runtime.block_on(async {
        let mut failed = 0;
        for request in requests {
            let response = serve(service, request).await;
            failed += usize::from(response.status() != StatusCode::OK);
            black_box(response);
        }
        failed
    })
}

#[inline(never)]
fn measured_open(codec: &SessionCodec, inputs: &[&str], now: u64) {
    for input in inputs {
        black_box(codec.open(black_box(input), now).expect("open"));
    }
}

#[inline(never)]
fn measured_seal(codec: &SessionCodec, data: &SessionData, metas: &[SessionMeta]) {
    for meta in metas {
        black_box(codec.seal_with_meta(black_box(data), meta).expect("seal"));
    }
}

#[inline(never)]
fn measured_floor(floor: &Floor, inputs: &[&str]) {
    for input in inputs {
        black_box(floor.open(black_box(input)));
    }
}

/// What opening a cookie cannot do without, from the format spec with the
/// primitives alone: base64url, HKDF-Expand from the key's prepared PRK,
/// AES-256-GCM with the header and context as associated data, and a JSON
/// syntax check of the body. Nothing else (no expiry or lifetime checks, no
/// session state).
struct Floor {
    expander: hkdf::Hkdf<sha2::Sha256>,
    context: Vec<u8>,
}

impl Floor {
    fn new(secret: &[u8], context: &[u8]) -> Floor {
        let (_, expander) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(b"client-session/v1"), secret);
        Floor {
            expander,
            context: context.to_vec(),
        }
    }

    fn open(&self, value: &str) -> usize {
        use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
        const HEADER: usize = 29;
        const PREFIX: usize = 57;
        let mut sealed = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(value)
            .expect("base64url");
        let (header, rest) = sealed.split_at_mut(HEADER);
        let (ciphertext, tag) = rest.split_at_mut(rest.len() - 16);
        let mut okm = [0u8; 32];
        self.expander
            .expand_multi_info(
                &[b"client-session/v2 message-key", &header[5..17]],
                &mut okm,
            )
            .expect("32 bytes");
        let cipher = aes_gcm::Aes256Gcm::new((&okm).into());
        let mut aad = [0u8; 128];
        let aad_len = HEADER + self.context.len();
        aad[..HEADER].copy_from_slice(header);
        aad[HEADER..aad_len].copy_from_slice(&self.context);
        cipher
            .decrypt_inout_detached(
                (&header[17..29]).try_into().expect("12 bytes"),
                &aad[..aad_len],
                (&mut *ciphertext).into(),
                (&*tag).try_into().expect("16 bytes"),
            )
            .expect("authentic");
        serde_json::from_slice::<serde::de::IgnoredAny>(&ciphertext[PREFIX..]).expect("JSON");
        ciphertext.len()
    }
}

/// The benchmark's session, as `GET /login` makes it.
fn small_session() -> SessionData {
    let mut data = SessionData::new();
    data.insert("user", &"user1").expect("insert");
    data.insert("cart", &["sku-1", "sku-2"]).expect("insert");
    data.insert("theme", &"dark").expect("insert");
    data
}

/// The 1.5 KiB fixture of `benches/codec.rs` (1,740 bytes of JSON): a
/// signed-in shopper, a profile, a 20-line cart with names and prices, flags.
fn large_session() -> SessionData {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../fixtures/session-1k5.json"))
            .expect("the fixture is JSON");
    let serde_json::Value::Object(object) = fixture else {
        panic!("the fixture is an object");
    };
    let data = SessionData::from(object);
    assert_eq!(
        data.to_json().len(),
        1_740,
        "the fixture of benches/codec.rs"
    );
    data
}
