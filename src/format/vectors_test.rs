//! The `seal` test vectors, byte for byte. They need a fixed nonce, which only
//! the crate's own tests can choose, so they live here rather than in `tests/`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::keys::Key;
use crate::lifetime::Lifetime;

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
        let value = codec.seal_v1_with_nonce(&nonce, v.created_at, v.expires_at, v.body.as_bytes());
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

#[path = "../../tests/vectors/typed_v2.rs"]
mod typed_v2;

#[test]
fn every_v2_seal_vector_is_reproduced_byte_for_byte() {
    let vectors = typed_v2::vectors();
    assert_eq!(vectors.format, "client-session/v2");
    assert!(vectors.seal.len() >= 10, "expected the full vector set");
    for v in &vectors.seal {
        let key = Key::from_bytes(&STANDARD.decode(&v.key).unwrap()).unwrap();
        let nonce: [u8; NONCE_LEN] = typed_v2::hex(&v.nonce).try_into().unwrap();
        let f = &v.fields;
        let id = SessionId::from_bytes(typed_v2::hex(&f.session_id).try_into().unwrap()).unwrap();
        let nonzero = |t: u64| (t != 0).then_some(t);
        let meta = SessionMeta::new(id, f.created_at, f.expires_at)
            .with_lifetime(Lifetime::from_sealed(
                f.idle_timeout,
                f.absolute_lifetime,
                f.persistent,
            ))
            .with_authenticated_at(nonzero(f.authenticated_at))
            .with_checked_at(nonzero(f.checked_at));
        let codec = SessionCodec::new(Keyring::single(key), v.context.as_str());
        let body = EncodedBody::uncompressed(v.body.as_bytes());
        let value = codec.seal_with_nonce(&codec.keyring(), &nonce, &meta, body);
        assert_eq!(value, v.value, "v2 seal vector {:?}", v.name);
        // And the codec writes that body the same way.
        let data = SessionData::from_json(v.body.as_bytes()).unwrap();
        assert_eq!(data.to_json(), v.body, "v2 vector {:?}", v.name);
    }
}
