//! Every `open` vector of `vectors/vectors-v1.json` (made by an independent
//! implementation of the spec) through the public API: read the cookies from a
//! `Cookie` header, join chunks, open with the ring, compare the outcome.

#[path = "vectors/typed.rs"]
mod typed;

use std::time::Duration;

use base64::Engine as _;
use client_session::{Key, Keyring, RejectReason, SessionCodec, chunk};
use typed::Expect;

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
    let vectors = typed::vectors();
    assert_eq!(vectors.format, "client-session/v1");
    assert!(vectors.open.len() >= 40, "expected the full vector set");
    let (mut opened, mut rejected) = (0, 0);
    for v in &vectors.open {
        let name = &v.name;
        let keys = v.keys.iter().map(|k| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(k).unwrap();
            Key::from_bytes(&bytes).unwrap()
        });
        let codec = SessionCodec::new(Keyring::new(keys).unwrap(), v.context.as_str())
            .absolute_lifetime(v.absolute_lifetime.map(Duration::from_secs));
        let header = v
            .cookies
            .iter()
            .map(|(n, c)| format!("{n}={c}"))
            .collect::<Vec<_>>()
            .join("; ");
        let incoming = chunk::read(std::iter::once(header.as_bytes()), &v.cookie_name, 4);
        let outcome = incoming
            .value
            .expect("every vector carries the cookie")
            .and_then(|value| codec.open(&value, v.now));
        match &v.expect {
            Expect::Open {
                created_at,
                expires_at,
                body,
                key_index,
            } => {
                let session = outcome.unwrap_or_else(|r| panic!("vector {name:?} rejected: {r}"));
                assert_eq!(session.created_at(), *created_at, "{name}");
                assert_eq!(session.expires_at(), *expires_at, "{name}");
                assert_eq!(session.key_index(), *key_index, "{name}");
                assert_eq!(
                    &session.data().to_json_map().unwrap(),
                    body,
                    "vector {name:?} body"
                );
                opened += 1;
            }
            Expect::Reject { reason } => {
                assert_eq!(outcome.err(), Some(coarse(reason)), "vector {name:?}");
                rejected += 1;
            }
        }
    }
    assert_eq!((opened, rejected), (9, 33), "every vector was checked");
}
