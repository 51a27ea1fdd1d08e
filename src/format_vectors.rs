//! The `seal` test vectors, byte for byte. They need a fixed nonce, which only
//! the crate's own tests can choose, so they live here rather than in `tests/`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../tests/vectors/vectors-v1.json");

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_seal_vector_is_reproduced_byte_for_byte() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let seal = vectors["seal"].as_array().unwrap();
    assert!(!seal.is_empty());
    for v in seal {
        let name = v["name"].as_str().unwrap();
        let key = Key::from_bytes(&STANDARD.decode(v["key"].as_str().unwrap()).unwrap()).unwrap();
        let nonce: [u8; NONCE_LEN] = hex(v["nonce"].as_str().unwrap()).try_into().unwrap();
        let body = EncodedBody::uncompressed(v["body"].as_str().unwrap().as_bytes());
        let value = seal_with_nonce(
            &key,
            v["context"].as_str().unwrap().as_bytes(),
            &nonce,
            v["created_at"].as_u64().unwrap(),
            v["expires_at"].as_u64().unwrap(),
            body,
        );
        assert_eq!(value, v["value"].as_str().unwrap(), "seal vector {name:?}");
    }
}

#[test]
fn the_codec_writes_bodies_the_way_the_vectors_do() {
    // The vectors' bodies are compact JSON with sorted keys: what SessionData writes.
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    for v in vectors["seal"].as_array().unwrap() {
        let body = v["body"].as_str().unwrap();
        let data = SessionData::from_json(body.as_bytes()).unwrap();
        assert_eq!(data.to_json(), body, "vector {:?}", v["name"]);
    }
}
