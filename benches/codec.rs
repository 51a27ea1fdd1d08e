//! What sealing and opening a session costs, next to a peer and to the bare cipher.
//!
//! Two bodies: the small session `{"user":"user1","cart":["sku-1","sku-2"],"theme":"dark"}`
//! and a realistic ~1.5 KiB one (a user profile, a cart of 20 lines with names
//! and prices, a few flags). For each, with `Compression::Off` (the default)
//! and with DEFLATE switched on (`Compression::Above(COMPRESSION_THRESHOLD)`):
//!
//! * `seal`, `open`, and `seal_open` (one seal then one open) with [`SessionCodec`];
//! * the peer: the `cookie` crate's `PrivateJar`, adding then getting a cookie
//!   holding the same JSON text (`cookie_private_jar/add_get`);
//! * the cipher alone: AES-256-GCM with a prepared key, encrypting then
//!   decrypting a buffer of the size our codec encrypts without compression
//!   (`aes_256_gcm/encrypt_decrypt`).
//!
//! After criterion's report come two tables: the medians, read back from the
//! `estimates.json` criterion wrote in this run, and the ratios of our
//! seal+open to the peer and to the cipher — from those medians, and measured
//! again by alternating batches of ours and theirs and taking the median of
//! the per-round ratios, which the changing load of a shared machine disturbs
//! far less than medians taken minutes apart. Run it with
//!
//! ```text
//! cargo bench --bench codec
//! ```
//!
//! Our `open` parses and checks the JSON body and derives a per-cookie key with
//! HKDF; the peer does neither, so part of the gap is that work.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use client_session::{Compression, Key, Keyring, OpenedSession, SessionCodec, SessionData};
use cookie::{Cookie, CookieJar};
use criterion::{BenchmarkId, Criterion};
use serde_json::{Value, json};

const NOW: u64 = 1_700_000_000;
const EXPIRES_AT: u64 = NOW + 3_600;
const COOKIE_NAME: &str = "session";
/// Version, key id and nonce: the header our codec authenticates with the name.
const HEADER_LEN: usize = 29;
/// Flags and the two timestamps our codec encrypts in front of the body.
const PREFIX_LEN: usize = 17;

fn compressions() -> [(&'static str, Compression); 2] {
    [
        ("off", Compression::Off),
        (
            "deflate",
            Compression::Above(client_session::defaults::COMPRESSION_THRESHOLD),
        ),
    ]
}

/// A session body under test, and the label of its criterion group.
struct Body {
    group: &'static str,
    data: SessionData,
    json: String,
}

impl Body {
    fn new(group: &'static str, value: Value) -> Body {
        let Value::Object(map) = value else {
            unreachable!("bodies are objects")
        };
        let data = SessionData::from(map);
        let json = data.to_json();
        Body { group, data, json }
    }
}

fn small() -> Body {
    Body::new(
        "small",
        json!({"user": "user1", "cart": ["sku-1", "sku-2"], "theme": "dark"}),
    )
}

/// A signed-in shopper: profile, a 20-line cart, flags: 1,740 bytes of
/// JSON (`benches/fixtures/session-1k5.json`, shared with `benches/http`).
fn profile() -> Body {
    let fixture = include_str!("fixtures/session-1k5.json");
    Body::new(
        "1.5KiB",
        serde_json::from_str(fixture).expect("the fixture is JSON"),
    )
}

fn bench_body(c: &mut Criterion, body: &Body) {
    let mut group = c.benchmark_group(body.group);
    for (label, codec) in codecs() {
        let sealed = codec.seal(&body.data, NOW, EXPIRES_AT).unwrap();
        assert_eq!(codec.open(&sealed, NOW).unwrap().data(), &body.data);

        group.bench_function(BenchmarkId::new("seal", label), |b| {
            b.iter(|| codec.seal(black_box(&body.data), NOW, EXPIRES_AT).unwrap());
        });
        group.bench_function(BenchmarkId::new("open", label), |b| {
            b.iter(|| codec.open(black_box(&sealed), NOW).unwrap());
        });
        group.bench_function(BenchmarkId::new("seal_open", label), |b| {
            b.iter(|| seal_open(&codec, black_box(&body.data)));
        });
    }

    let key = cookie::Key::generate();
    group.bench_function(BenchmarkId::new("cookie_private_jar", "add_get"), |b| {
        b.iter(|| private_jar_add_get(&key, black_box(&body.json)));
    });

    let mut cipher = BareCipher::new(body);
    group.bench_function(BenchmarkId::new("aes_256_gcm", "encrypt_decrypt"), |b| {
        b.iter(|| cipher.encrypt_decrypt());
    });
    group.finish();
}

/// One codec per compression setting, sharing one fresh key.
fn codecs() -> [(&'static str, SessionCodec); 2] {
    let keyring = Keyring::single(Key::generate());
    compressions().map(|(label, compression)| {
        let codec = SessionCodec::new(keyring.clone(), COOKIE_NAME).compression(compression);
        (label, codec)
    })
}

/// What a request that changes its session costs us: seal, then open.
fn seal_open(codec: &SessionCodec, data: &SessionData) -> OpenedSession {
    let value = codec.seal(data, NOW, EXPIRES_AT).unwrap();
    codec.open(&value, NOW).unwrap()
}

/// The peer's equivalent: add a private cookie to a jar, get it back decrypted.
fn private_jar_add_get(key: &cookie::Key, json: &str) -> Cookie<'static> {
    let mut jar = CookieJar::new();
    jar.private_mut(key)
        .add(Cookie::new(COOKIE_NAME, json.to_owned()));
    jar.private(key).get(COOKIE_NAME).unwrap()
}

/// AES-256-GCM with a prepared key over a buffer the size of our plaintext
/// without compression (flags, timestamps, body), with our AAD's size.
struct BareCipher {
    cipher: Aes256Gcm,
    plaintext: Vec<u8>,
    buffer: Vec<u8>,
    aad: [u8; HEADER_LEN + COOKIE_NAME.len()],
    counter: u64,
}

impl BareCipher {
    fn new(body: &Body) -> BareCipher {
        let plaintext = vec![0x5a; PREFIX_LEN + body.json.len()];
        BareCipher {
            cipher: Aes256Gcm::new(&[0x42; 32].into()),
            buffer: plaintext.clone(),
            plaintext,
            aad: [0x01; HEADER_LEN + COOKIE_NAME.len()],
            counter: 0,
        }
    }

    fn encrypt_decrypt(&mut self) {
        // A fresh nonce per message, as a real sealer would use.
        self.counter += 1;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&self.counter.to_be_bytes());
        let nonce = (&nonce).into();
        self.buffer.copy_from_slice(black_box(&self.plaintext));
        let tag = self
            .cipher
            .encrypt_inout_detached(nonce, &self.aad, self.buffer.as_mut_slice().into())
            .unwrap();
        self.cipher
            .decrypt_inout_detached(nonce, &self.aad, self.buffer.as_mut_slice().into(), &tag)
            .unwrap();
        black_box(&self.buffer);
    }
}

const INTERLEAVED_ROUNDS: usize = 41;

/// The median over rounds of time(`a`) / time(`b`), each round timing a batch
/// of `a` right after a batch of `b`: a change in the machine's load between
/// rounds (other jobs on a shared machine) hits both sides of a round alike.
fn interleaved_ratio(mut a: impl FnMut(), mut b: impl FnMut()) -> f64 {
    const BATCH: u32 = 100;
    fn batch(f: &mut dyn FnMut()) -> f64 {
        let started = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        started.elapsed().as_secs_f64()
    }
    for _ in 0..BATCH {
        a();
        b();
    }
    let mut ratios: Vec<f64> = (0..INTERLEAVED_ROUNDS)
        .map(|_| {
            let b_time = batch(&mut b);
            batch(&mut a) / b_time
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[INTERLEAVED_ROUNDS / 2]
}

fn main() {
    let started = SystemTime::now();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .without_plots()
        .configure_from_args();
    let bodies = [small(), profile()];
    for body in &bodies {
        bench_body(&mut criterion, body);
    }
    criterion.final_summary();
    report(started, &bodies);
}

/// Prints the medians criterion measured in this run, and the ratios of our
/// seal+open to the peer and to the cipher: from those medians, and measured
/// again interleaved, which a shared machine's changing load disturbs less.
fn report(started: SystemTime, bodies: &[Body]) {
    let Some(dir) = criterion_dir() else {
        println!("ratio table: criterion's output directory not found");
        return;
    };
    let median = |group: &str, function: &str, parameter: &str| {
        fresh_median_ns(&dir.join(group).join(function).join(parameter), started)
    };
    if bodies
        .iter()
        .all(|body| median(body.group, "seal_open", "off").is_none())
    {
        println!("ratio table: nothing measured in this run (test mode or a filter)");
        return;
    }
    let us = |ns: Option<f64>| ns.map_or_else(|| "-".to_owned(), |ns| format!("{:.2}", ns / 1e3));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}x", a / b),
        _ => "-".to_owned(),
    };

    println!();
    println!("Medians in µs (criterion, this run; {})", dir.display());
    println!(
        "{:<7} {:<8} {:>6} {:>8} {:>8} {:>10} {:>19} {:>16}",
        "body",
        "compr.",
        "JSON B",
        "seal",
        "open",
        "seal+open",
        "PrivateJar add+get",
        "AES-GCM enc+dec"
    );
    for body in bodies {
        for (label, _) in compressions() {
            println!(
                "{:<7} {:<8} {:>6} {:>8} {:>8} {:>10} {:>19} {:>16}",
                body.group,
                label,
                body.json.len(),
                us(median(body.group, "seal", label)),
                us(median(body.group, "open", label)),
                us(median(body.group, "seal_open", label)),
                us(median(body.group, "cookie_private_jar", "add_get")),
                us(median(body.group, "aes_256_gcm", "encrypt_decrypt")),
            );
        }
    }

    println!();
    println!("Our seal+open over the peer's add+get and over the cipher's encrypt+decrypt");
    println!(
        "{:<7} {:<8} {:>15} {:>15} {:>15} {:>15} {:>14}",
        "body",
        "compr.",
        "/peer criterion",
        "/peer interl.",
        "/AES criterion",
        "/AES interl.",
        "value B ours"
    );
    let jar_key = cookie::Key::generate();
    for body in bodies {
        let peer = median(body.group, "cookie_private_jar", "add_get");
        let aes = median(body.group, "aes_256_gcm", "encrypt_decrypt");
        let mut cipher = BareCipher::new(body);
        for (label, codec) in codecs() {
            let ours = median(body.group, "seal_open", label);
            let ours_run = || {
                black_box(seal_open(&codec, black_box(&body.data)));
            };
            let to_peer = interleaved_ratio(ours_run, || {
                black_box(private_jar_add_get(&jar_key, black_box(&body.json)));
            });
            let to_aes = interleaved_ratio(ours_run, || cipher.encrypt_decrypt());
            println!(
                "{:<7} {:<8} {:>15} {:>14.2}x {:>15} {:>14.2}x {:>14}",
                body.group,
                label,
                ratio(ours, peer),
                to_peer,
                ratio(ours, aes),
                to_aes,
                codec.sealed_len(&body.data).unwrap(),
            );
        }
        println!(
            "{:<7} PrivateJar's value for the same JSON: {} B",
            body.group,
            private_jar_value_len(&body.json)
        );
    }
    println!(
        "The cipher's buffer is our plaintext without compression: 17 + JSON bytes. \
         Interleaved: median of {INTERLEAVED_ROUNDS} rounds."
    );
}

/// Where criterion writes: as criterion decides it, `$CRITERION_HOME`, then
/// `$CARGO_TARGET_DIR/criterion`, then the target directory holding this binary.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .map(|dir| dir.join("criterion"))
        .find(|dir| dir.is_dir())
}

/// The median of a benchmark in ns, if criterion wrote it after `since`.
fn fresh_median_ns(bench_dir: &Path, since: SystemTime) -> Option<f64> {
    let path = bench_dir.join("new").join("estimates.json");
    let written = std::fs::metadata(&path).ok()?.modified().ok()?;
    if written < since {
        return None;
    }
    let estimates: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// Length of the value `PrivateJar` sets for a cookie holding `json`.
fn private_jar_value_len(json: &str) -> usize {
    let key = cookie::Key::generate();
    let mut jar = CookieJar::new();
    jar.private_mut(&key)
        .add(Cookie::new(COOKIE_NAME, json.to_owned()));
    jar.get(COOKIE_NAME).unwrap().value().len()
}
