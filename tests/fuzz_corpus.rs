//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every saved crash
//! (`fuzz/regressions/<target>/`) through the same property checks as the
//! fuzz targets, under plain `cargo test`: no fuzzer, no nightly.
//!
//! Every open is measured with a per-thread counting allocator, as in the
//! fuzz targets: the largest single allocation and the peak of live bytes
//! must stay within the bounds of `fuzz_props::check_open` (SECURITY.md, G5).
//!
//! The seed corpus itself is made by the ignored test below:
//! `cargo test --test fuzz_corpus -- --ignored regenerate_seed_corpus`.
#![allow(unsafe_code)] // the counting global allocator of `alloc_meter`

#[path = "alloc_meter/mod.rs"]
mod alloc_meter;
#[path = "fuzz_props/mod.rs"]
mod fuzz_props;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use client_session::{Compression, Keyring, SessionCodec, SessionData, chunk};
use fuzz_props::{AllocProbe, NAME, NOW, NoProbe};
use serde_json::{Value, json};

/// The per-thread meter as the fuzz properties' probe.
struct Meter;

impl AllocProbe for Meter {
    fn reset(&self) {
        alloc_meter::start();
    }
    fn peak(&self) -> Option<(usize, usize)> {
        Some(alloc_meter::stop())
    }
}

type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("open_value", |d| fuzz_props::open_value(d, &Meter)),
    ("seal_open", fuzz_props::seal_open),
    ("chunk_header", |d| fuzz_props::chunk_header(d, &Meter)),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Input files of a corpus or regressions folder (a missing folder has none;
/// dot files and READMEs are not inputs).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && !name.starts_with("README")
        })
        .collect();
    files.sort();
    files
}

/// Replays `fuzz/<kind>/<target>/` for every target; `min_files` gives the
/// fewest inputs each target's folder must hold, so a moved or emptied
/// folder cannot make the replay pass on nothing.
fn replay(kind: &str, min_files: &[(&str, usize)]) {
    let mut failures = Vec::new();
    for (target, check) in TARGETS {
        let files = inputs(&fuzz_dir().join(kind).join(target));
        let min = min_files
            .iter()
            .find(|(t, _)| t == target)
            .map_or(0, |(_, n)| *n);
        assert!(
            files.len() >= min,
            "fuzz/{kind}/{target} has {} inputs, expected at least {min}",
            files.len()
        );
        for file in files {
            let data = std::fs::read(&file).expect("readable corpus file");
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} input(s) violate a fuzz property (messages above; findings: fuzz/README.md):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_fuzz_corpus_satisfies_every_property() {
    replay(
        "corpus",
        &[("open_value", 10), ("seal_open", 10), ("chunk_header", 10)],
    );
}

#[test]
fn every_saved_fuzz_crash_is_fixed() {
    // The saved findings (fuzz/README.md): four seal_open inputs so far.
    replay("regressions", &[("seal_open", 4)]);
}

#[test]
fn garbage_never_opens_and_known_values_do() {
    for value in fuzz_props::known_openable() {
        assert!(
            fuzz_props::codec().open(value, NOW).is_ok(),
            "a known sealed value does not open (stale tests/fuzz_props/known_sealed.txt?)"
        );
    }
    for garbage in ["", "AfSGA_o", "x".repeat(200).as_str(), "session=abc"] {
        fuzz_props::open_value(garbage.as_bytes(), &NoProbe);
    }
}

#[test]
fn the_chunk_model_agrees_on_hand_written_headers() {
    for header in [
        "session=3.ab; session.2=ef; session.1=cd",
        "session=3.ab; session.2=ef",
        "session=02.ab; session.1=cd",
        "session=2.ab; session.01=cd",
        "session.1=x; session.3=y; session.9=z",
        "  session = abc ;x=1",
        "session=2.ab\nx=1; session.1=cd",
        "session=5.a; session.1=b; session.2=c; session.3=d; session.4=e",
        "session=4.a; session.1=b; session.2=c; session.3=d",
        "session=first; session=second",
        "session=",
        "session=.",
        "session=0.a",
    ] {
        fuzz_props::chunk_header(header.as_bytes(), &NoProbe);
    }
}

// ---------------------------------------------------------------------------
// Seed corpus generator.

/// Writes the seed corpus under `fuzz/corpus/<target>/seed-*` and the list of
/// freshly sealed values to `tests/fuzz_props/known_sealed.txt`. Run by hand;
/// the nonces are random, so the files change at every run.
#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn regenerate_seed_corpus() {
    let vectors: Value =
        serde_json::from_str(include_str!("vectors/vectors-v1.json")).expect("vectors parse");
    let created = 1_700_000_000;
    let expires = 1_700_086_400;
    let ring = fuzz_props::codec().keyring().clone();
    let seal = |codec: &SessionCodec, body: &Value, created: u64, expires: u64| -> String {
        let data = SessionData::from(body.as_object().expect("object").clone());
        codec.seal(&data, created, expires).expect("seals")
    };
    let codec_a = SessionCodec::new(ring.clone(), NAME);
    let codec_b = SessionCodec::new(Keyring::single(fuzz_props::key_b()), NAME);
    let codec_off = SessionCodec::new(ring.clone(), NAME).compression(Compression::Off);

    // Pseudo-random, incompressible-ish text for large bodies.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |len: usize| -> String {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'!' + (state % 90) as u8)
            })
            .filter(|&c| c != '"' && c != '\\')
            .collect()
    };
    let cart: Vec<String> = (0..60).map(|i| format!("sku-{}", i % 7)).collect();
    let bodies: Vec<(&str, Value)> = vec![
        ("small", json!({"user": "fuzz"})),
        ("empty", json!({})),
        (
            "nested",
            json!({"a": {"b": [1, 2.5, null, true, "ユーザー"]}, "e": "\u{0}\"\\", "n": -7}),
        ),
        ("cart", json!({"cart": cart, "theme": "dark"})),
        ("three-chunks", json!({"blob": noise(9000)})),
        ("five-chunks", json!({"blob": noise(13000)})),
    ];

    // (file name, value, opens under the fuzz codec at NOW)
    let mut fresh: Vec<(String, String, bool)> = Vec::new();
    for (name, body) in &bodies {
        let codec = if name.contains("chunks") {
            &codec_off
        } else {
            &codec_a
        };
        fresh.push((
            format!("fresh-{name}"),
            seal(codec, body, created, expires),
            true,
        ));
    }
    fresh.push((
        "fresh-key-b".into(),
        seal(&codec_b, &bodies[0].1, created, expires),
        true,
    ));
    fresh.push((
        "fresh-expired".into(),
        seal(&codec_a, &bodies[0].1, 1_600_000_000, 1_600_000_100),
        false,
    ));
    let other = SessionCodec::new(ring.clone(), "other");
    fresh.push((
        "fresh-other-context".into(),
        seal(&other, &bodies[0].1, created, expires),
        false,
    ));
    let big_limit = SessionCodec::new(ring.clone(), NAME).body_limit(1 << 20);
    let zeros = json!({"z": "0".repeat(70_000)});
    fresh.push((
        "fresh-over-body-limit".into(),
        seal(&big_limit, &zeros, created, expires),
        false,
    ));
    for (name, value, opens) in &fresh {
        assert_eq!(
            fuzz_props::codec().open(value, NOW).is_ok(),
            *opens,
            "{name}"
        );
    }

    let corpus = fuzz_dir().join("corpus");
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    };

    // open_value: every vector cookie value, every seal vector, fresh values.
    for (i, v) in vectors["open"].as_array().unwrap().iter().enumerate() {
        for (cookie, value) in v["cookies"].as_object().unwrap() {
            let name = format!("vector-{i:02}-{cookie}");
            write("open_value", &name, value.as_str().unwrap().as_bytes());
        }
    }
    for (i, v) in vectors["seal"].as_array().unwrap().iter().enumerate() {
        write(
            "open_value",
            &format!("seal-vector-{i}"),
            v["value"].as_str().unwrap().as_bytes(),
        );
    }
    for (i, value) in fuzz_props::vector_open_values().iter().enumerate() {
        write(
            "open_value",
            &format!("vector-joined-{i}"),
            value.as_bytes(),
        );
    }
    for (name, value, _) in &fresh {
        if value.len() <= 16_384 {
            write("open_value", name, value.as_bytes());
        }
    }

    // chunk_header: every vector's Cookie header, fresh values in headers.
    for (i, v) in vectors["open"].as_array().unwrap().iter().enumerate() {
        write(
            "chunk_header",
            &format!("vector-{i:02}"),
            fuzz_props::cookie_header_of(v).as_bytes(),
        );
    }
    let header = |cookies: &[(String, String)], sep: &str| {
        cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let small = &fresh[0].1;
    write(
        "chunk_header",
        "fresh-small-among-others",
        format!("theme=dark; {NAME}={small}; lang=en").as_bytes(),
    );
    write(
        "chunk_header",
        "stale-chunks-only",
        b"a=1; session.1=x; session.3=y; session.9=z",
    );
    for (name, value, _) in fresh.iter().filter(|(n, ..)| n.contains("chunks")) {
        let mut cookies = chunk::split(NAME, value);
        write("chunk_header", name, header(&cookies, "; ").as_bytes());
        write(
            "chunk_header",
            &format!("{name}-lines"),
            header(&cookies, "\n").as_bytes(),
        );
        cookies.reverse();
        write(
            "chunk_header",
            &format!("{name}-reversed"),
            header(&cookies, "; ").as_bytes(),
        );
        cookies.reverse();
        let mut garbage_first = cookies.clone();
        garbage_first.insert(0, (format!("{NAME}.1"), "garbage".into()));
        garbage_first.push((format!("{NAME}.4"), "stale".into()));
        write(
            "chunk_header",
            &format!("{name}-duplicate-chunk"),
            header(&garbage_first, "; ").as_bytes(),
        );
        cookies.remove(1);
        write(
            "chunk_header",
            &format!("{name}-missing-chunk"),
            header(&cookies, "; ").as_bytes(),
        );
    }

    // seal_open: JSON bodies, then NUL, then control bytes.
    let mut json_bodies: Vec<String> = vectors["seal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["body"].as_str().unwrap().to_owned())
        .collect();
    json_bodies.extend(
        vectors["open"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["body"].is_object())
            .map(|v| v["body"].to_string()),
    );
    json_bodies.extend(bodies.iter().take(4).map(|(_, b)| b.to_string()));
    json_bodies.sort();
    json_bodies.dedup();
    for (i, body) in json_bodies.iter().enumerate() {
        let mut input = body.clone().into_bytes();
        input.push(0);
        // Compression choice, body limit choice, then timestamps and mutations.
        input.extend([i as u8 % 4, 1 + i as u8 % 3]);
        input.extend((0..48u8).map(|j| j.wrapping_mul(37).wrapping_add(i as u8)));
        write("seal_open", &format!("json-{i:02}"), &input);
    }
    for i in 0..4u8 {
        let input: Vec<u8> = (0..200u16)
            .map(|j| (j as u8).wrapping_mul(i * 2 + 1).wrapping_add(i))
            .collect();
        write("seal_open", &format!("structured-{i}"), &input);
    }

    let mut known = String::from(
        "# Values sealed by `regenerate_seed_corpus` (tests/fuzz_corpus.rs) for context\n\
         # `session` with the fuzz key ring; with the vectors' open values, the only\n\
         # inputs the fuzz targets allow to open. One per line.\n",
    );
    for (_, value, opens) in &fresh {
        if *opens {
            known.push_str(value);
            known.push('\n');
        }
    }
    let known_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_props/known_sealed.txt");
    std::fs::write(known_path, known).unwrap();
}
