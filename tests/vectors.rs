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

/// A vector's key ring: standard base64 keys, primary first.
fn ring_of(keys: &[String]) -> Keyring {
    Keyring::new(keys.iter().map(|k| {
        let bytes = base64::engine::general_purpose::STANDARD.decode(k).unwrap();
        Key::from_bytes(&bytes).unwrap()
    }))
    .unwrap()
}

/// Opens a vector's request cookies (joined from chunks, cap 4) with `codec` at `now`.
fn open(
    codec: &SessionCodec,
    cookies: &std::collections::BTreeMap<String, String>,
    cookie_name: &str,
    now: u64,
) -> Result<client_session::OpenedSession, RejectReason> {
    let header = cookies
        .iter()
        .map(|(n, c)| format!("{n}={c}"))
        .collect::<Vec<_>>()
        .join("; ");
    let incoming = chunk::read(std::iter::once(header.as_bytes()), cookie_name, 4);
    incoming
        .value
        .expect("every vector carries the cookie")
        .and_then(|value| codec.open(&value, now))
}

#[test]
fn every_open_vector_opens_or_is_rejected_as_stated() {
    let vectors = typed::vectors();
    assert_eq!(vectors.format, "client-session/v1");
    assert!(vectors.open.len() >= 40, "expected the full vector set");
    let (mut opened, mut rejected) = (0, 0);
    for v in &vectors.open {
        let name = &v.name;
        let codec = SessionCodec::new(ring_of(&v.keys), v.context.as_str())
            .absolute_lifetime(v.absolute_lifetime.map(Duration::from_secs));
        let outcome = open(&codec, &v.cookies, &v.cookie_name, v.now);
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
            // Written when only v1 existed: a v1 value with its version byte
            // set to 2. Version 2 is now read, and 74 bytes are too short for
            // it (opening step 2), so it is still refused, as malformed.
            Expect::Reject { reason } if name == "version 2" => {
                assert_eq!(reason, "version");
                assert_eq!(outcome.err(), Some(RejectReason::Malformed), "{name}");
                rejected += 1;
            }
            Expect::Reject { reason } => {
                assert_eq!(outcome.err(), Some(coarse(reason)), "vector {name:?}");
                rejected += 1;
            }
        }
    }
    assert_eq!((opened, rejected), (9, 33), "every vector was checked");
}

#[path = "vectors/typed_v2.rs"]
mod typed_v2;

/// Every `open` vector of `vectors/vectors-v2.json` (made by an independent
/// implementation of the v2 spec): the fields it opens to, or the exact
/// step that refuses it.
#[test]
fn every_v2_open_vector_opens_or_is_rejected_as_stated() {
    let vectors = typed_v2::vectors();
    assert_eq!(vectors.format, "client-session/v2");
    assert!(vectors.open.len() >= 80, "expected the full vector set");
    let (mut opened, mut rejected) = (0, 0);
    for v in &vectors.open {
        let name = &v.name;
        let secs = |s: Option<u64>| s.map(Duration::from_secs);
        let c = &v.config;
        let mut codec = SessionCodec::new(ring_of(&v.keys), v.context.as_str())
            .max_idle(secs(c.idle_timeout))
            .absolute_lifetime(secs(c.absolute_lifetime))
            .longest_idle(secs(c.max_idle_timeout))
            .longest_absolute_lifetime(secs(c.max_absolute_lifetime))
            .not_before(c.not_before);
        if let Some(limit) = c.body_limit {
            codec = codec.body_limit(limit);
        }
        let outcome = open(&codec, &v.cookies, &v.cookie_name, v.now);
        match &v.expect {
            typed_v2::Expect::Open {
                version,
                key_index,
                fields,
                body,
            } => {
                let session = outcome.unwrap_or_else(|r| panic!("vector {name:?} rejected: {r}"));
                let meta = session.meta();
                let lifetime = meta.lifetime();
                let secs =
                    |d: Option<Duration>| d.map_or(0, |d| u32::try_from(d.as_secs()).unwrap());
                let got = typed_v2::Fields {
                    created_at: meta.created_at(),
                    expires_at: meta.expires_at(),
                    session_id: meta.id().to_string(),
                    idle_timeout: secs(lifetime.idle_timeout()),
                    absolute_lifetime: secs(lifetime.absolute_lifetime()),
                    persistent: lifetime.persistent(),
                    authenticated_at: meta.authenticated_at().unwrap_or(0),
                    checked_at: meta.checked_at().unwrap_or(0),
                };
                assert_eq!(&got, fields, "vector {name:?} fields");
                assert_eq!(session.version(), *version, "{name}");
                assert_eq!(session.key_index(), *key_index, "{name}");
                assert_eq!(
                    &session.data().to_json_map().unwrap(),
                    body,
                    "vector {name:?} body"
                );
                opened += 1;
            }
            typed_v2::Expect::Reject { reason } => {
                assert_eq!(
                    outcome.err().map(RejectReason::as_str),
                    Some(reason.as_str()),
                    "vector {name:?}"
                );
                rejected += 1;
            }
        }
    }
    assert!(
        opened >= 20 && rejected >= 50,
        "{opened} opened, {rejected} rejected"
    );
}
