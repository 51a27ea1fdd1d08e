//! Cookies sealed by each release of the crate, kept in
//! `vectors/sealed-by-releases.json`, must open forever (at the time they were
//! sealed): the wire format is a frozen artefact. Each release appends its
//! own cookies with `cargo test --test release_cookies -- --ignored append`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;

use client_session::{
    Compression, Key, Keyring, Lifetime, SessionCodec, SessionData, SessionId, SessionMeta, chunk,
};
use serde_json::{Value, json};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/sealed-by-releases.json"
);

fn codec(entry: &Value) -> SessionCodec {
    let key = STANDARD.decode(entry["key"].as_str().unwrap()).unwrap();
    SessionCodec::new(
        Keyring::single(Key::from_bytes(&key).unwrap()),
        entry["context"].as_str().unwrap(),
    )
}

#[test]
fn every_cookie_sealed_by_a_release_still_opens() {
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap();
    assert!(!entries.is_empty());
    for entry in &entries {
        let what = format!("{} / {}", entry["release"], entry["name"]);
        let header = entry["cookie_header"].as_str().unwrap();
        let value = chunk::read(std::iter::once(header.as_bytes()), "session", 4)
            .value
            .unwrap_or_else(|| panic!("{what}: no cookie"))
            .unwrap_or_else(|r| panic!("{what}: {r}"));
        let opened = codec(entry)
            .open(&value, entry["created_at"].as_u64().unwrap() + 1)
            .unwrap_or_else(|r| panic!("{what}: rejected: {r}"));
        assert_eq!(
            Value::Object(opened.data().to_json_map().unwrap()),
            entry["body"],
            "{what}"
        );
        assert_eq!(
            opened.expires_at(),
            entry["expires_at"].as_u64().unwrap(),
            "{what}"
        );
        // From 0.3 (format v2): the sealed fields too.
        if let Some(meta) = entry.get("meta") {
            assert_eq!(opened.version(), 2, "{what}");
            assert_eq!(
                opened.id().to_string(),
                meta["id"].as_str().unwrap(),
                "{what}"
            );
            let m = opened.meta();
            let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs());
            assert_eq!(
                secs(m.lifetime().idle_timeout()),
                meta["idle"].as_u64(),
                "{what}"
            );
            assert_eq!(
                secs(m.lifetime().absolute_lifetime()),
                meta["absolute"].as_u64(),
                "{what}"
            );
            assert_eq!(
                m.lifetime().persistent(),
                meta["persistent"].as_bool(),
                "{what}"
            );
            assert_eq!(
                m.authenticated_at(),
                meta["authenticated_at"].as_u64(),
                "{what}"
            );
            assert_eq!(m.checked_at(), meta["checked_at"].as_u64(), "{what}");
        }
    }
    assert!(
        entries.iter().any(|e| e.get("meta").is_some()),
        "a cookie of format v2 is recorded"
    );
}

/// Appends this release's cookies to the file (run once per release).
#[test]
#[ignore = "run once per release to append its cookies"]
fn append() {
    let mut entries: Vec<Value> = std::fs::read_to_string(FILE)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or_default();
    let release = env!("CARGO_PKG_VERSION");
    assert!(
        entries.iter().all(|e| e["release"] != release),
        "release {release} is already recorded"
    );
    let key = [0x42u8; 32];
    let created_at = 1_800_000_000;
    let bodies = [
        (
            "small",
            json!({"user": "user1", "cart": ["sku-1", "sku-2"], "theme": "dark"}),
            Compression::Off,
        ),
        (
            "compressed",
            json!({"cart": vec!["the same item again"; 40]}),
            Compression::Above(0),
        ),
        (
            "chunked",
            json!({"blob": "x".repeat(6000)}),
            Compression::Off,
        ),
    ];
    for (name, body, compression) in bodies {
        let entry = json!({"release": release, "name": name, "key": STANDARD.encode(key), "context": "session",
                           "created_at": created_at, "expires_at": created_at + 3600, "body": body});
        let data = SessionData::from(body.as_object().unwrap().clone());
        // Every field of the format this release seals, set.
        let meta = SessionMeta::new(
            SessionId::generate().unwrap(),
            created_at,
            created_at + 3600,
        )
        .with_lifetime(Lifetime::remember_for(Duration::from_secs(30 * 86_400)))
        .with_authenticated_at(Some(created_at))
        .with_checked_at(Some(created_at + 10));
        let value = codec(&entry)
            .compression(compression)
            .seal_with_meta(&data, &meta)
            .unwrap();
        let mut entry = entry;
        entry["meta"] = json!({
            "id": meta.id().to_string(), "idle": 30 * 86_400, "absolute": 30 * 86_400,
            "persistent": true, "authenticated_at": created_at, "checked_at": created_at + 10,
        });
        let header = chunk::split("session", &value)
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        entry["cookie_header"] = json!(header);
        entries.push(entry);
    }
    std::fs::write(FILE, serde_json::to_string_pretty(&entries).unwrap() + "\n").unwrap();
}
