//! What sealing and opening a session costs, next to a peer and to the bare cipher.
//!
//! Two bodies: the small session `{"user":"user1","cart":["sku-1","sku-2"],"theme":"dark"}`
//! and a realistic ~1.5 KiB one (a user profile, a cart of 20 lines with names
//! and prices, a few flags). For each, with `Compression::Off` and with the
//! default compression:
//!
//! * `seal`, `open`, and `seal_open` (one seal then one open) with [`SessionCodec`];
//! * the peer: the `cookie` crate's `PrivateJar`, adding then getting a cookie
//!   holding the same JSON text (`cookie_private_jar/add_get`);
//! * the cipher alone: AES-256-GCM with a prepared key, encrypting then
//!   decrypting a buffer of the size our codec encrypts without compression
//!   (`aes_256_gcm/encrypt_decrypt`).
//!
//! After criterion's report, a table gives the medians and the ratios
//! ours/peer and ours/cipher, read back from criterion's `estimates.json` of
//! this run. Run it with
//!
//! ```text
//! cargo bench --bench codec
//! ```
//!
//! Our `open` parses and checks the JSON body and derives a per-cookie key with
//! HKDF; the peer does neither, so part of the gap is that work.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use client_session::{Compression, Key, Keyring, SessionCodec, SessionData};
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
        ("default", Compression::default()),
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

/// A signed-in shopper: profile, a 20-line cart, flags. About 1.5 KiB of JSON.
fn profile() -> Body {
    const PRODUCTS: [&str; 10] = [
        "Blue ceramic mug",
        "Linen tea towel",
        "Walnut cutting board",
        "Cast iron skillet 26cm",
        "Espresso cups (set of 4)",
        "Bamboo utensil set",
        "Glass storage jar 1L",
        "Chef's knife 20cm",
        "Oven mitts, grey",
        "Pour-over coffee filter",
    ];
    let cart: Vec<Value> = (0..20u32)
        .map(|i| {
            json!({
                "sku": format!("SKU-{:05}", 10_000 + i * 379),
                "name": PRODUCTS[(i * 7 % 10) as usize],
                "qty": 1 + i % 3,
                "price_cents": 299 + (i * 1_237) % 8_000,
            })
        })
        .collect();
    Body::new(
        "1.5KiB",
        json!({
            "user": {
                "id": 482_913,
                "name": "Ada Lovelace",
                "email": "ada.lovelace@example.com",
                "locale": "en-GB",
                "roles": ["customer", "beta"],
            },
            "cart": cart,
            "flags": {"newsletter": true, "dark_mode": false},
            "csrf": "9f86d081884c7d659a2feaa0c55ad015",
        }),
    )
}

fn bench_body(c: &mut Criterion, body: &Body) {
    let mut group = c.benchmark_group(body.group);
    let keyring = Keyring::single(Key::generate());
    for (label, compression) in compressions() {
        let codec = SessionCodec::new(keyring.clone(), COOKIE_NAME).with_compression(compression);
        let sealed = codec.seal(&body.data, NOW, EXPIRES_AT).unwrap();
        assert_eq!(codec.open(&sealed, NOW).unwrap().data(), &body.data);

        group.bench_function(BenchmarkId::new("seal", label), |b| {
            b.iter(|| codec.seal(black_box(&body.data), NOW, EXPIRES_AT).unwrap());
        });
        group.bench_function(BenchmarkId::new("open", label), |b| {
            b.iter(|| codec.open(black_box(&sealed), NOW).unwrap());
        });
        group.bench_function(BenchmarkId::new("seal_open", label), |b| {
            b.iter(|| {
                let value = codec.seal(black_box(&body.data), NOW, EXPIRES_AT).unwrap();
                codec.open(&value, NOW).unwrap()
            });
        });
    }

    let key = cookie::Key::generate();
    group.bench_function(BenchmarkId::new("cookie_private_jar", "add_get"), |b| {
        b.iter(|| {
            let mut jar = CookieJar::new();
            jar.private_mut(&key)
                .add(Cookie::new(COOKIE_NAME, black_box(&body.json).clone()));
            jar.private(&key).get(COOKIE_NAME).unwrap()
        });
    });

    let cipher = Aes256Gcm::new(&[0x42; 32].into());
    let plaintext = vec![0x5a; PREFIX_LEN + body.json.len()];
    let aad = [0x01; HEADER_LEN + COOKIE_NAME.len()];
    let mut buffer = plaintext.clone();
    let mut counter = 0u64;
    group.bench_function(BenchmarkId::new("aes_256_gcm", "encrypt_decrypt"), |b| {
        b.iter(|| {
            // A fresh nonce per message, as a real sealer would use.
            counter += 1;
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&counter.to_be_bytes());
            let nonce = (&nonce).into();
            buffer.copy_from_slice(black_box(&plaintext));
            let tag = cipher
                .encrypt_inout_detached(nonce, &aad, buffer.as_mut_slice().into())
                .unwrap();
            cipher
                .decrypt_inout_detached(nonce, &aad, buffer.as_mut_slice().into(), &tag)
                .unwrap();
            black_box(&buffer);
        });
    });
    group.finish();
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

/// Prints medians and ratios from what criterion measured in this run.
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
        "{:<8} {:<8} {:>6} {:>8} {:>8} {:>10} {:>12} {:>12} {:>12} {:>12}",
        "body",
        "compr.",
        "bytes",
        "seal",
        "open",
        "seal+open",
        "PrivateJar",
        "AES-GCM",
        "ours/peer",
        "ours/cipher"
    );
    let keyring = Keyring::single(Key::generate());
    for body in bodies {
        let peer = median(body.group, "cookie_private_jar", "add_get");
        let cipher = median(body.group, "aes_256_gcm", "encrypt_decrypt");
        for (label, compression) in compressions() {
            let codec =
                SessionCodec::new(keyring.clone(), COOKIE_NAME).with_compression(compression);
            let seal_open = median(body.group, "seal_open", label);
            println!(
                "{:<8} {:<8} {:>6} {:>8} {:>8} {:>10} {:>12} {:>12} {:>12} {:>12}",
                body.group,
                label,
                body.json.len(),
                us(median(body.group, "seal", label)),
                us(median(body.group, "open", label)),
                us(seal_open),
                us(peer),
                us(cipher),
                ratio(seal_open, peer),
                ratio(seal_open, cipher),
            );
            println!(
                "{:<17} cookie value: ours {} bytes, PrivateJar {} bytes",
                "",
                codec.sealed_len(&body.data).unwrap(),
                private_jar_value_len(&body.json),
            );
        }
    }
    println!(
        "PrivateJar and AES-GCM: add+get and encrypt+decrypt of the uncompressed body; \
         ratios use our seal+open."
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
