//! Every `open` vector of `vectors/vectors-v1.json` (made by an independent
//! implementation of the spec) through the public API: read the cookies from a
//! `Cookie` header, join chunks, open with the ring, compare the outcome.

use std::time::Duration;

use base64::Engine as _;
use client_session::{Key, Keyring, RejectReason, SessionCodec, chunk};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/vectors-v1.json");

/// The vector's free-text reason, as this crate's coarse reason.
fn coarse(reason: &str) -> RejectReason {
    match reason {
        "missing or broken chunks" | "too short" => RejectReason::Malformed,
        r if r.starts_with("base64") => RejectReason::Malformed,
        "version" => RejectReason::UnsupportedVersion,
        "unknown key id" => RejectReason::UnknownKey,
        "authentication failed" => RejectReason::Unauthenticated,
        "expired" | "created in the future" | "past absolute lifetime" => RejectReason::Expired,
        "inflated body too large or truncated" => RejectReason::TooLarge,
        "unknown flags" | "bad deflate" | "body is not a JSON object" | "body is not JSON" => {
            RejectReason::InvalidBody
        }
        other => panic!("vector reason {other:?} has no mapping"),
    }
}

#[test]
fn every_open_vector_opens_or_is_rejected_as_stated() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let cases = vectors["open"].as_array().unwrap();
    assert!(cases.len() >= 40, "expected the full vector set");
    let (mut opened, mut rejected) = (0, 0);
    for v in cases {
        let name = v["name"].as_str().unwrap();
        let keys = v["keys"].as_array().unwrap().iter().map(|k| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(k.as_str().unwrap())
                .unwrap();
            Key::from_bytes(&bytes).unwrap()
        });
        let codec = SessionCodec::new(Keyring::new(keys).unwrap(), v["context"].as_str().unwrap())
            .with_absolute_lifetime(v["absolute_lifetime"].as_u64().map(Duration::from_secs));
        let header = v["cookies"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, c)| format!("{n}={}", c.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("; ");
        let incoming = chunk::read(
            std::iter::once(header.as_bytes()),
            v["cookie_name"].as_str().unwrap(),
            4,
        );
        let now = v["now"].as_u64().unwrap();
        let outcome = incoming
            .value
            .expect("every vector carries the cookie")
            .and_then(|value| codec.open(&value, now));
        match v["expect"].as_str().unwrap() {
            "open" => {
                let session = outcome.unwrap_or_else(|r| panic!("vector {name:?} rejected: {r}"));
                assert_eq!(
                    session.created_at(),
                    v["created_at"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    session.expires_at(),
                    v["expires_at"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    session.key_index() as u64,
                    v["key_index"].as_u64().unwrap(),
                    "{name}"
                );
                let body = Value::Object(session.data().to_json_map().unwrap());
                assert_eq!(body, v["body"], "vector {name:?} body");
                opened += 1;
            }
            "reject" => {
                let expected = coarse(v["reason"].as_str().unwrap());
                assert_eq!(outcome.err(), Some(expected), "vector {name:?}");
                rejected += 1;
            }
            other => panic!("unknown expectation {other}"),
        }
    }
    assert_eq!((opened, rejected), (9, 33), "every vector was checked");
}
