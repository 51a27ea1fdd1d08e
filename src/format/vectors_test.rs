//! The `seal` test vectors, byte for byte. They need a fixed nonce, which only
//! the crate's own tests can choose, so they live here rather than in `tests/`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::keys::Key;

#[path = "../../tests/vectors/typed.rs"]
mod typed;

#[test]
fn every_seal_vector_is_reproduced_byte_for_byte() {
    let vectors = typed::vectors();
    assert!(!vectors.seal.is_empty());
    for v in &vectors.seal {
        let key = Key::from_bytes(&STANDARD.decode(&v.key).unwrap()).unwrap();
        let nonce: [u8; NONCE_LEN] = typed::hex(&v.nonce).try_into().unwrap();
        let codec = SessionCodec::new(Keyring::single(key), v.context.as_str());
        let value =
            codec.seal_v1_with_nonce(&nonce, v.created_at, v.expires_at, v.body.as_bytes());
        assert_eq!(value, v.value, "seal vector {:?}", v.name);
    }
}

#[test]
fn the_codec_writes_bodies_the_way_the_vectors_do() {
    // The vectors' bodies are compact JSON with sorted keys: what SessionData writes.
    for v in &typed::vectors().seal {
        let data = SessionData::from_json(v.body.as_bytes()).unwrap();
        assert_eq!(data.to_json(), v.body, "vector {:?}", v.name);
    }
}
