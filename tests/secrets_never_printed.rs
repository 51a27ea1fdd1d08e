//! Nothing the crate prints shows a key: not `Debug` or `Display` of any type
//! that holds one, not a configuration error about a bad key entry. Session
//! values (often personal data) do not print either; their keys do.
//!
//! A key "shows" when 8 consecutive bytes of it, or of the HKDF PRK the crate
//! keeps in its place, appear in hex or as a decimal or hex array (`[12, 34,
//! …]`, whatever the spacing), or 6 consecutive bytes appear in base64
//! (standard or URL-safe). Key ids (4 public bytes) may show.

use std::convert::Infallible;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use client_session::{
    Compression, ConfigError, Key, KeyProblem, KeySource, Keyring, ManualClock, Session,
    SessionCodec, SessionConfig, SessionConfigBuilder, SessionData, SessionLayer, SessionService,
};
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response};
use tower::util::ServiceFn;
use tower::{ServiceBuilder, ServiceExt as _, service_fn};

/// The primary key of every test: 32 distinctive, random-looking bytes
/// (the loader refuses patterned keys, such as arithmetic sequences).
fn secret_a() -> Vec<u8> {
    pseudo_random(32, 0x243F_6A88_85A3_08D3)
}

/// A second, 64-byte key.
fn secret_b() -> Vec<u8> {
    pseudo_random(64, 0x1319_8A2E_0370_7344)
}

/// Deterministic bytes from xorshift64*.
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// What the crate keeps of a key instead of its bytes.
fn prk(secret: &[u8]) -> Vec<u8> {
    let (prk, _) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(b"client-session/v1"), secret);
    prk.to_vec()
}

/// Every secret the tests put in a key, and what is derived from each.
fn secrets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("key A", secret_a()),
        ("PRK of key A", prk(&secret_a())),
        ("key B", secret_b()),
        ("PRK of key B", prk(&secret_b())),
    ]
}

const WINDOW: usize = 8;

/// The first form in which `secret` shows in `shown`, if any.
fn leak(shown: &str, secret: &[u8]) -> Option<String> {
    let lower = shown.to_lowercase();
    let compact: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    for (offset, window) in secret.windows(WINDOW).enumerate() {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        if lower.contains(&hex) {
            return Some(format!("hex of bytes {offset}.."));
        }
        for (alphabet, engine) in [("base64", STANDARD_NO_PAD), ("base64url", URL_SAFE_NO_PAD)] {
            // An encoding that starts at a byte offset ≡ `offset` (mod 3)
            // spells these 6 bytes as exactly these 8 characters; with a
            // window at every offset, every encoding of the key is caught.
            let encoded = engine.encode(&window[..6]);
            if shown.contains(&encoded) {
                return Some(format!("{alphabet} of bytes {offset}.."));
            }
        }
        let decimal = window.iter().map(u8::to_string).collect::<Vec<_>>();
        if compact.contains(&decimal.join(",")) {
            return Some(format!("decimal array of bytes {offset}.."));
        }
        let hex_array = window.iter().map(|b| format!("{b:x}")).collect::<Vec<_>>();
        if compact.to_lowercase().contains(&hex_array.join(",")) {
            return Some(format!("hex array of bytes {offset}.."));
        }
    }
    None
}

/// Asserts that no secret shows in `shown`, naming the case and the form.
fn assert_no_secret(case: &str, shown: &str) {
    for (secret_name, secret) in secrets() {
        if let Some(form) = leak(shown, &secret) {
            panic!("{case}: {secret_name} shows as {form} in:\n{shown}");
        }
    }
}

/// The detector finds each form it claims to find, so that a pass means
/// something.
#[test]
fn the_leak_detector_sees_every_form() {
    let a = secret_a();
    let forms = [
        (
            "hex",
            a.iter().map(|b| format!("{b:02X}")).collect::<String>(),
        ),
        ("base64", STANDARD.encode(&a)),
        ("base64url", URL_SAFE.encode(&a[1..])),
        ("decimal array", format!("{:?}", &a[5..20])),
        ("pretty decimal array", format!("{:#?}", &a[..10])),
        ("hex array", format!("{:x?}", &a[2..12])),
        (
            "PRK in hex",
            prk(&a).iter().map(|b| format!("{b:02x}")).collect(),
        ),
    ];
    for (name, shown) in forms {
        let shown = format!("Key {{ bytes: {shown} }}");
        let found = secrets().iter().any(|(_, s)| leak(&shown, s).is_some());
        assert!(found, "the detector misses {name}: {shown}");
    }
    assert_eq!(leak("Key { id: KeyId(f48603fa), .. }", &a), None);
}

fn key_a() -> Key {
    Key::from_bytes(&secret_a()).unwrap()
}

fn key_b() -> Key {
    Key::from_bytes(&secret_b()).unwrap()
}

fn ring() -> Keyring {
    Keyring::new([key_a(), key_b()]).unwrap()
}

/// `{:?}` and `{:#?}` of `value`.
fn debug_forms(value: &impl std::fmt::Debug) -> [String; 2] {
    [format!("{value:?}"), format!("{value:#?}")]
}

#[test]
fn keys_and_everything_holding_them_print_key_ids_only() {
    let ring = ring();
    let id_a = key_a().id().to_string();
    let id_b = key_b().id().to_string();
    let builder = SessionConfig::builder(ring.clone()).clock(ManualClock::new(1_700_000_000));
    let config = builder.clone().build().unwrap();
    let layer = SessionLayer::new(config.clone());
    let service = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let codec = SessionCodec::new(ring.clone(), "session");

    let cases: Vec<(&str, [String; 2], Vec<&str>)> = vec![
        ("Key", debug_forms(&key_a()), vec![&id_a]),
        ("Key (64 bytes)", debug_forms(&key_b()), vec![&id_b]),
        ("Keyring", debug_forms(&ring), vec![&id_a, &id_b]),
        // Each shows the ring's key ids, so a reader can tell which keys it holds.
        (
            "SessionConfigBuilder",
            debug_forms(&builder),
            vec![&id_a, &id_b],
        ),
        ("SessionConfig", debug_forms(&config), vec![&id_a, &id_b]),
        ("SessionLayer", debug_forms(&layer), vec![&id_a, &id_b]),
        ("SessionService", debug_forms(&service), vec![&id_a, &id_b]),
        ("SessionCodec", debug_forms(&codec), vec![&id_a, &id_b]),
    ];
    for (name, shown, ids) in &cases {
        for shown in shown {
            assert_no_secret(name, shown);
            for id in ids {
                assert!(
                    shown.contains(id),
                    "{name} does not show key id {id}: {shown}"
                );
            }
        }
    }
}

/// Values a handler stores: key, JSON, and text of the value that must not print.
const VALUES: &[(&str, &str, &str)] = &[
    ("email", r#""alice@example.com""#, "alice"),
    ("card", "4111111111111111", "4111"),
    (
        "oauth",
        r#"{"access_token":"ya29.secret-token","scope":["mail"]}"#,
        "ya29",
    ),
    ("csrf", r#""c3JmLXRva2VuLXZhbHVl""#, "c3JmLXRva2VuLXZhbHVl"),
];

fn store_values(mut insert: impl FnMut(&str, &serde_json::Value)) {
    for (key, json, _) in VALUES {
        insert(key, &serde_json::from_str(json).unwrap());
    }
}

/// Asserts that `shown` names every key of [`VALUES`] and shows no value.
fn assert_keys_not_values(case: &str, shown: &str) {
    for (key, _, value) in VALUES {
        assert!(shown.contains(key), "{case} hides key {key:?}: {shown}");
        assert!(!shown.contains(value), "{case} shows {value:?}: {shown}");
    }
}

#[test]
fn session_data_prints_its_keys_and_not_its_values() {
    let mut data = SessionData::new();
    store_values(|key, value| {
        data.insert(key, value).unwrap();
    });
    for shown in debug_forms(&data) {
        assert_keys_not_values("SessionData", &shown);
    }
}

#[test]
fn an_opened_session_prints_its_keys_and_not_its_values() {
    let codec = SessionCodec::new(ring(), "session");
    let mut data = SessionData::new();
    store_values(|key, value| {
        data.insert(key, value).unwrap();
    });
    let value = codec.seal(&data, 1_700_000_000, 1_700_003_600).unwrap();
    let opened = codec.open(&value, 1_700_000_010).unwrap();
    for shown in debug_forms(&opened) {
        assert_no_secret("OpenedSession", &shown);
        assert_keys_not_values("OpenedSession", &shown);
    }
}

type Handler = fn(Request<()>) -> std::future::Ready<Result<Response<String>, Infallible>>;

/// The session layer around `handler`, called in-process on a
/// current-thread runtime.
struct App {
    runtime: tokio::runtime::Runtime,
    service: SessionService<ServiceFn<Handler>>,
}

impl App {
    fn new(config: SessionConfigBuilder, handler: Handler) -> App {
        let config = config
            .clock(ManualClock::new(1_700_000_000))
            .build()
            .unwrap();
        App {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            service: ServiceBuilder::new()
                .layer(SessionLayer::new(config))
                .service(service_fn(handler)),
        }
    }

    /// Sends a request to `path` carrying `cookie` (a `name=value` pair), if any.
    fn send(&self, path: &str, cookie: Option<&str>) -> Response<String> {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let call = self.service.clone().oneshot(request.body(()).unwrap());
        self.runtime.block_on(call).unwrap()
    }
}

fn session_of(request: &Request<()>) -> Session {
    request.extensions().get::<Session>().unwrap().clone()
}

/// The `name=value` pair of the response's (single) session cookie.
fn cookie_of(response: &Response<String>) -> String {
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// `/store` stores [`VALUES`], any other path opens the cookie; both answer
/// with the session's `Debug` forms.
fn debug_session(request: Request<()>) -> std::future::Ready<Result<Response<String>, Infallible>> {
    let session = session_of(&request);
    if request.uri().path() == "/store" {
        store_values(|key, value| session.insert(key, value).unwrap());
    } else {
        assert_eq!(session.keys().len(), VALUES.len(), "the cookie opened");
    }
    std::future::ready(Ok(Response::new(format!("{session:?}\n{session:#?}"))))
}

#[test]
fn a_session_prints_its_keys_and_not_its_values_before_and_after_the_cookie() {
    let app = App::new(SessionConfig::builder(ring()), debug_session);
    let stored = app.send("/store", None);
    let read = app.send("/read", Some(&cookie_of(&stored)));
    for (case, shown) in [
        ("Session that stored values", stored.body()),
        ("Session opened from the cookie", read.body()),
    ] {
        assert_no_secret(case, shown);
        assert_keys_not_values(case, shown);
    }
}

/// What the crate hands the browser is sealed: with compression off (so
/// that a plaintext body would appear verbatim), the `Set-Cookie` value,
/// decoded, contains no stored value, and no form of the key shows in it.
#[test]
fn the_cookie_shows_neither_the_key_nor_the_values() {
    let config = SessionConfig::builder(ring()).compression(Compression::Off);
    let response = App::new(config, debug_session).send("/store", None);
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert_no_secret("Set-Cookie", set_cookie);
    let cookie = cookie_of(&response);
    let sealed = URL_SAFE_NO_PAD
        .decode(cookie.strip_prefix("__Host-session=").unwrap())
        .unwrap();
    assert!(sealed.len() > 62 + 100, "the cookie holds a body: {cookie}");
    for (key, json, value) in VALUES {
        for clear in [json, value] {
            assert!(
                !sealed.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "the cookie carries the value of {key:?} in clear"
            );
        }
    }
}

/// An environment of `(name, value)` pairs for [`KeySource::load_from`].
fn env(pairs: Vec<(&'static str, OsString)>) -> impl Fn(&str) -> Option<OsString> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A file in a fresh temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!(
            "client-session-secrets-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys");
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn var(&self) -> OsString {
        self.0.clone().into_os_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

/// The variant's name, and for `InvalidKey` its problem's.
fn variant(err: &ConfigError) -> String {
    match err {
        ConfigError::KeysNotSet { .. } => "KeysNotSet".into(),
        ConfigError::KeysSetTwice { .. } => "KeysSetTwice".into(),
        ConfigError::NoKeys { .. } => "NoKeys".into(),
        ConfigError::NotUnicode { .. } => "NotUnicode".into(),
        ConfigError::KeyFileUnreadable { .. } => "KeyFileUnreadable".into(),
        ConfigError::KeyInsteadOfPath { .. } => "KeyInsteadOfPath".into(),
        ConfigError::PathInsteadOfKey { .. } => "PathInsteadOfKey".into(),
        ConfigError::InvalidKey { problem, .. } => format!(
            "InvalidKey/{}",
            match problem {
                KeyProblem::Empty => "Empty",
                KeyProblem::NotBase64 => "NotBase64",
                KeyProblem::TooShort { .. } => "TooShort",
                KeyProblem::TooLong { .. } => "TooLong",
                KeyProblem::NotRandom => "NotRandom",
                _ => "another problem",
            }
        ),
        ConfigError::DuplicateKey { .. } => "DuplicateKey".into(),
        ConfigError::InvalidSetting { .. } => "InvalidSetting".into(),
        _ => "another variant".into(),
    }
}

#[test]
fn every_key_configuration_error_names_the_source_and_never_the_key() {
    let a = secret_a();
    let b = secret_b();
    let a64 = b64(&a);
    let a_url = URL_SAFE_NO_PAD.encode(&a);
    let too_long = b64(&[&a[..], &b[..33]].concat());
    let file_short = TempFile::new("short", &format!("# keys\n{a64}\n{}\n", b64(&a[..20])));
    let file_empty = TempFile::new("empty", "# no key yet\n\n");
    let mut not_unicode = a64.clone().into_bytes();
    not_unicode.push(0xFF);
    let missing = std::env::temp_dir().join("client-session-no-such-dir/keys");

    type Case = (
        &'static str,
        Vec<(&'static str, OsString)>,
        &'static str,
        String,
    );
    let cases: Vec<Case> = vec![
        ("neither variable", vec![], "KeysNotSet", String::new()),
        (
            "both variables",
            vec![
                ("SESSION_KEYS", a64.clone().into()),
                ("SESSION_KEYS_FILE", file_short.var()),
            ],
            "KeysSetTwice",
            a64.clone(),
        ),
        (
            "not Unicode",
            vec![("SESSION_KEYS", OsString::from_vec(not_unicode))],
            "NotUnicode",
            a64.clone(),
        ),
        (
            "empty entry after a key",
            vec![("SESSION_KEYS", format!("{a64},").into())],
            "InvalidKey/Empty",
            a64.clone(),
        ),
        (
            "key with a stray character",
            vec![("SESSION_KEYS", format!("{a64}!").into())],
            "InvalidKey/NotBase64",
            format!("{a64}!"),
        ),
        (
            "second entry too short",
            vec![("SESSION_KEYS", format!("{a_url},{}", b64(&b[..16])).into())],
            "InvalidKey/TooShort",
            b64(&b[..16]),
        ),
        (
            "key too long",
            vec![("SESSION_KEYS", too_long.clone().into())],
            "InvalidKey/TooLong",
            too_long,
        ),
        (
            "the same key in both alphabets",
            vec![("SESSION_KEYS", format!("{a64}, {a_url}").into())],
            "DuplicateKey",
            a_url.clone(),
        ),
        (
            "key file with a short line",
            vec![("SESSION_KEYS_FILE", file_short.var())],
            "InvalidKey/TooShort",
            b64(&a[..20]),
        ),
        (
            "key file without keys",
            vec![("SESSION_KEYS_FILE", file_empty.var())],
            "NoKeys",
            String::new(),
        ),
        (
            "key file missing",
            vec![("SESSION_KEYS_FILE", missing.into_os_string())],
            "KeyFileUnreadable",
            String::new(),
        ),
        (
            "a key where the key file's path goes",
            vec![("SESSION_KEYS_FILE", b64(&a).into())],
            "KeyInsteadOfPath",
            b64(&a),
        ),
        (
            "a key list where the key file's path goes",
            vec![("SESSION_KEYS_FILE", format!("{a64},{}", b64(&b)).into())],
            "KeyFileUnreadable",
            format!("{a64},{}", b64(&b)),
        ),
        (
            "a path where a key goes",
            vec![(
                "SESSION_KEYS",
                format!("{a64},/etc/secrets/client-session/production/keys").into(),
            )],
            "PathInsteadOfKey",
            "/etc/secrets/client-session/production/keys".to_owned(),
        ),
        (
            "a passphrase where a key goes",
            vec![(
                "SESSION_KEYS",
                "changeme-changeme-changeme-changeme-changeme".into(),
            )],
            "InvalidKey/NotRandom",
            "changeme-changeme-changeme-changeme-changeme".to_owned(),
        ),
    ];

    let mut seen = Vec::new();
    for (name, vars, expected, entry) in cases {
        let err = KeySource::default().load_from(env(vars)).unwrap_err();
        assert_eq!(variant(&err), expected, "case {name:?}: {err}");
        seen.push(expected);
        for shown in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert_no_secret(name, &shown);
            assert!(
                entry.is_empty() || !shown.contains(&entry),
                "case {name:?} shows the entry: {shown}"
            );
        }
    }
    // Every variant `load_from` can return, and every key problem.
    for variant in [
        "KeysNotSet",
        "KeysSetTwice",
        "NoKeys",
        "NotUnicode",
        "KeyFileUnreadable",
        "KeyInsteadOfPath",
        "PathInsteadOfKey",
        "InvalidKey/Empty",
        "InvalidKey/NotBase64",
        "InvalidKey/TooShort",
        "InvalidKey/TooLong",
        "InvalidKey/NotRandom",
        "DuplicateKey",
    ] {
        assert!(seen.contains(&variant), "no case reaches {variant}");
    }
}

/// An operator who confuses the two variables and puts a key where the key
/// file's path goes gets an error saying so — which must not repeat the
/// "path", since it is the key.
/// (Found by this test: `KeyFileUnreadable` used to print the "path".)
#[test]
fn a_key_put_in_the_key_file_variable_is_not_printed() {
    let a64 = b64(&secret_a());
    for value in [a64.clone(), URL_SAFE_NO_PAD.encode(secret_a())] {
        let err = KeySource::default()
            .load_from(env(vec![("SESSION_KEYS_FILE", value.clone().into())]))
            .unwrap_err();
        assert!(matches!(err, ConfigError::KeyInsteadOfPath { .. }), "{err}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert_no_secret("key in SESSION_KEYS_FILE", &shown);
        }
    }
}

/// Everything `tracing` writes on this thread while `f` runs, at every level.
fn logs_of(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = captured.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

/// `/store` stores [`VALUES`]; any other path reads each of them with the
/// wrong type, which logs a warning.
fn mistyped_reads(
    request: Request<()>,
) -> std::future::Ready<Result<Response<String>, Infallible>> {
    let session = session_of(&request);
    if request.uri().path() == "/store" {
        store_values(|key, value| session.insert(key, value).unwrap());
    } else {
        for (key, _, _) in VALUES {
            assert_eq!(session.get::<bool>(key), None, "{key} is not a bool");
        }
    }
    std::future::ready(Ok(Response::new(String::new())))
}

/// Stores [`VALUES`], then sends the cookie back, intact and tampered with,
/// to a handler that reads every value with the wrong type. Returns what was
/// logged and the cookie's value.
fn store_then_misread() -> (String, String) {
    let app = App::new(SessionConfig::builder(ring()), mistyped_reads);
    let mut cookie = String::new();
    let logs = logs_of(|| {
        cookie = cookie_of(&app.send("/store", None));
        // A character in the middle of the ciphertext, always changed (the
        // last one may be 'A' already, or carry unused bits).
        let middle = cookie.len() / 2;
        let changed = if cookie.as_bytes()[middle] == b'A' {
            "B"
        } else {
            "A"
        };
        let tampered = format!("{}{changed}{}", &cookie[..middle], &cookie[middle + 1..]);
        app.send("/read", Some(&cookie));
        app.send("/read", Some(&tampered));
    });
    assert!(
        logs.contains("unauthenticated"),
        "the tampered cookie is logged as rejected: {logs}"
    );
    let value = cookie.strip_prefix("__Host-session=").unwrap().to_owned();
    (logs, value)
}

#[test]
fn logs_show_neither_a_key_nor_the_session_cookie() {
    let (logs, cookie) = store_then_misread();
    assert!(
        logs.contains("email"),
        "a mistyped read is logged with its key: {logs}"
    );
    assert_no_secret("logs", &logs);
    // The cookie is a bearer credential: any 24 characters of it would do.
    for part in cookie.as_bytes().chunks_exact(24) {
        let part = std::str::from_utf8(part).unwrap();
        assert!(!logs.contains(part), "the logs show the cookie: {logs}");
    }
}

/// (Found by this test: `Session::get` used to log the `serde_json` error,
/// whose text quotes the stored value.)
#[test]
fn a_mistyped_read_logs_the_key_and_not_the_value() {
    let (logs, _) = store_then_misread();
    for (key, _, value) in VALUES {
        assert!(
            !logs.contains(value),
            "the logs show the value of {key:?}: {logs}"
        );
    }
}
