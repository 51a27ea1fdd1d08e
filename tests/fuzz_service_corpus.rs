//! Replays `fuzz/corpus/service/` and `fuzz/regressions/service/` through the
//! property of the `service` fuzz target (see `tests/fuzz_service/mod.rs`)
//! under plain `cargo test`.

mod fuzz_service;

use fuzz_service::Outcome;

use std::path::Path;

fn inputs(kind: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join("service");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("README")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_input_passes_through_the_layer_without_5xx() {
    let files = inputs("corpus");
    assert!(
        files.len() >= 10,
        "the service corpus has {} seeds",
        files.len()
    );
    let mut outcomes = Vec::new();
    for file in files.iter().chain(&inputs("regressions")) {
        let data = std::fs::read(file).unwrap();
        outcomes.push(fuzz_service::service(&data));
    }
    for path in [Outcome::NoSession, Outcome::Session, Outcome::Resealed] {
        assert!(outcomes.contains(&path), "no seed reaches {path:?}");
    }
}

#[test]
fn a_genuine_cookie_sealed_by_the_second_key_comes_back_resealed() {
    // The vectors' "sealed by the second key of the ring" cookie.
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("vectors/vectors-v1.json")).unwrap();
    let case = vectors["open"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "sealed by the second key of the ring")
        .unwrap();
    let header = format!("session={}", case["cookies"]["session"].as_str().unwrap());
    assert_eq!(fuzz_service::service(header.as_bytes()), Outcome::Resealed);
}
