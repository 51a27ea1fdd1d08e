#![allow(unreachable_pub, dead_code)]
//! `vectors-v1.json` read into typed structs, shared by the seal vectors
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

/// Seal `body` with `key`, `context` and `nonce`: exactly `value`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealVector {
    pub name: String,
    /// Standard base64.
    pub key: String,
    pub context: String,
    /// 24 bytes, hex.
    pub nonce: String,
    pub created_at: u64,
    pub expires_at: u64,
    /// The exact JSON bytes sealed.
    pub body: String,
    pub value: String,
}

/// Open the request's `cookies` with the ring `keys` at `now`. (No
/// `deny_unknown_fields`: serde does not combine it with `flatten`.)
#[derive(Debug, Deserialize)]
pub struct OpenVector {
    pub name: String,
    /// Standard base64, primary first.
    pub keys: Vec<String>,
    pub context: String,
    pub cookie_name: String,
    pub now: u64,
    pub absolute_lifetime: Option<u64>,
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
        created_at: u64,
        expires_at: u64,
        body: serde_json::Map<String, serde_json::Value>,
        key_index: usize,
    },
    /// It is rejected, for this (free-text) reason.
    Reject { reason: String },
}

pub fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors-v1.json")).expect("vectors-v1.json is well-formed")
}

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
