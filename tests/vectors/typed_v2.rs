#![allow(unreachable_pub, dead_code)]
//! `vectors-v2.json` read into typed structs, shared by the seal vectors
//! (`src/format/vectors_test.rs`, which need the crate's fixed-nonce seal)
//! and the open vectors (`tests/vectors.rs`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vectors {
    pub format: String,
    pub about: String,
    pub seal: Vec<SealVector>,
    pub open: Vec<OpenVector>,
}

/// The session fields of format v2, as sealed (0 = none or default).
#[derive(Debug, Deserialize, PartialEq, Eq, Clone)]
pub struct Fields {
    pub created_at: u64,
    pub expires_at: u64,
    /// 16 bytes, hex.
    pub session_id: String,
    pub idle_timeout: u32,
    pub absolute_lifetime: u32,
    pub persistent: Option<bool>,
    pub authenticated_at: u64,
    pub checked_at: u64,
}

/// Seal `body` (uncompressed) with `key`, `context`, `nonce` and the fields: exactly `value`.
#[derive(Debug, Deserialize)]
pub struct SealVector {
    pub name: String,
    /// Standard base64.
    pub key: String,
    pub context: String,
    /// 24 bytes, hex.
    pub nonce: String,
    #[serde(flatten)]
    pub fields: Fields,
    /// The exact JSON bytes sealed.
    pub body: String,
    pub value: String,
}

/// The configuration an open vector is read under; absent is "not set".
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub idle_timeout: Option<u64>,
    pub absolute_lifetime: Option<u64>,
    pub max_idle_timeout: Option<u64>,
    pub max_absolute_lifetime: Option<u64>,
    pub not_before: Option<u64>,
    pub body_limit: Option<usize>,
}

/// Open the request's `cookies` with the ring `keys` at `now` under `config`.
#[derive(Debug, Deserialize)]
pub struct OpenVector {
    pub name: String,
    /// Standard base64, primary first.
    pub keys: Vec<String>,
    pub context: String,
    pub cookie_name: String,
    pub now: u64,
    #[serde(default)]
    pub config: Config,
    /// The request's cookies, name to value.
    pub cookies: BTreeMap<String, String>,
    #[serde(flatten)]
    pub expect: Expect,
}

/// What opening gives.
#[derive(Debug, Deserialize)]
#[serde(tag = "expect", rename_all = "lowercase")]
pub enum Expect {
    /// It opens to exactly this.
    Open {
        version: u8,
        key_index: usize,
        #[serde(flatten)]
        fields: Fields,
        body: serde_json::Map<String, serde_json::Value>,
    },
    /// It is rejected at this step ([`RejectReason::as_str`] labels).
    Reject { reason: String },
}

pub fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors-v2.json")).expect("vectors-v2.json is well-formed")
}

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
