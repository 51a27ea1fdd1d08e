//! Every boundary of the opening checks and of the compression decision,
//! one second or one byte either side, so that a `>` written as `>=` (or
//! the reverse) fails a test.

use super::*;
use crate::keys::Key;

const NOW: u64 = 1_700_000_000;
const LEEWAY: u64 = 60;
const IDLE: u64 = 3_600;
const LIFETIME: u64 = 86_400;

fn codec() -> SessionCodec {
    SessionCodec::new(Keyring::single(Key::from_bytes(&[3; 32]).unwrap()), "s")
        .clock_leeway(Duration::from_secs(LEEWAY))
        .absolute_lifetime(Some(Duration::from_secs(LIFETIME)))
        .max_idle(Some(Duration::from_secs(IDLE)))
}

#[test]
fn check_times_table() {
    // (name, created_at, expires_at, now, opens)
    let rows: &[(&str, u64, u64, u64, bool)] = &[
        ("a second before expiry", NOW, NOW + 100, NOW + 99, true),
        ("at expiry", NOW, NOW + 100, NOW + 100, false),
        (
            "created at the leeway edge",
            NOW + LEEWAY,
            NOW + 100,
            NOW,
            true,
        ),
        (
            "created past the leeway",
            NOW + LEEWAY + 1,
            NOW + 100,
            NOW,
            false,
        ),
        (
            "a second before the absolute lifetime",
            NOW,
            NOW + LIFETIME + 100,
            NOW + LIFETIME - 1,
            true,
        ),
        (
            "at the absolute lifetime",
            NOW,
            NOW + LIFETIME + 100,
            NOW + LIFETIME,
            false,
        ),
        (
            "expiry at the idle bound",
            NOW,
            NOW + IDLE + LEEWAY,
            NOW,
            true,
        ),
        (
            "expiry past the idle bound",
            NOW,
            NOW + IDLE + LEEWAY + 1,
            NOW,
            false,
        ),
    ];
    let codec = codec();
    for (name, created_at, expires_at, now, opens) in rows {
        let meta = SessionMeta::new(id(), *created_at, *expires_at);
        let got = codec.check_times(&meta, *now);
        let expected = if *opens {
            Ok(())
        } else {
            Err(RejectReason::Expired)
        };
        assert_eq!(got, expected, "{name}");
        // And through a whole seal and open.
        let value = codec
            .seal(&SessionData::new(), *created_at, *expires_at)
            .unwrap();
        assert_eq!(codec.open(&value, *now).is_ok(), *opens, "{name}: open");
    }
}

#[test]
fn without_a_maximum_idle_the_sealed_expiry_is_trusted() {
    let codec = codec().max_idle(None);
    let meta = SessionMeta::new(id(), NOW, NOW + 10 * LIFETIME);
    assert_eq!(codec.check_times(&meta, NOW), Ok(()));
}

/// The compression threshold is inclusive: a body of exactly the threshold
/// is offered to DEFLATE, one byte less is not.
#[test]
fn a_body_of_exactly_the_threshold_is_compressed_and_one_byte_less_is_not() {
    let threshold = 200;
    let codec = codec().compression(Compression::Above(threshold));
    // `{"k":"aaaa…"}` is 8 bytes of JSON around the string.
    let body = |len: usize| {
        let mut data = SessionData::new();
        data.insert("k", &"a".repeat(len - 8)).unwrap();
        assert_eq!(data.to_json().len(), len);
        data
    };
    assert!(codec.encode_body(&body(threshold)).unwrap().deflated);
    assert!(!codec.encode_body(&body(threshold - 1)).unwrap().deflated);
}

/// A compressed body is kept only when it is strictly smaller: equal length
/// is stored uncompressed (no inflate cost on every open for nothing).
#[test]
fn compression_that_saves_nothing_is_not_kept() {
    let codec = codec().compression(Compression::Above(0));
    // Search deterministic bodies for one DEFLATE makes exactly as long, and
    // one it makes one byte shorter.
    let (mut equal, mut shorter) = (None, None);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    'search: for repeat in 0..400 {
        for random in 0..64 {
            let mut text = "a".repeat(repeat);
            for _ in 0..random {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(char::from(b'!' + (state % 90) as u8).max('#'));
            }
            let mut data = SessionData::new();
            data.insert("k", &text).unwrap();
            let json = data.to_json();
            let packed = deflate::deflate(json.as_bytes()).len();
            if packed == json.len() && equal.is_none() {
                equal = Some(data);
            } else if packed + 1 == json.len() && shorter.is_none() {
                shorter = Some(data);
            }
            if equal.is_some() && shorter.is_some() {
                break 'search;
            }
        }
    }
    let equal = equal.expect("a body DEFLATE does not shrink");
    let shorter = shorter.expect("a body DEFLATE shrinks by one byte");
    assert!(!codec.encode_body(&equal).unwrap().deflated, "equal length");
    assert!(
        codec.encode_body(&shorter).unwrap().deflated,
        "one byte shorter"
    );
}

/// The longest value that could hold a body within the limit is refused
/// one character later, by its length alone (before decoding).
#[test]
fn the_value_length_limit_is_exact() {
    let codec = SessionCodec::new(Keyring::single(Key::from_bytes(&[3; 32]).unwrap()), "s");
    // ⌈4 × (102 + 65,536) / 3⌉: the figure SECURITY.md (G5) states.
    assert_eq!(codec.max_value_len(), 87_518);
    let at_limit = "A".repeat(87_518);
    assert_ne!(
        codec.open(&at_limit, NOW).err(),
        Some(RejectReason::TooLarge)
    );
    let over = "A".repeat(87_519);
    assert_eq!(codec.open(&over, NOW).err(), Some(RejectReason::TooLarge));
}

/// Every seal draws a fresh nonce: two seals of the same session at the same
/// instant share no nonce bytes position by position more than chance would.
#[test]
fn every_seal_has_its_own_nonce() {
    let codec = codec();
    let nonces: Vec<Vec<u8>> = (0..64)
        .map(|_| {
            let value = codec.seal(&SessionData::new(), NOW, NOW + 10).unwrap();
            URL_SAFE_NO_PAD.decode_to_vec(value).unwrap()[5..29].to_vec()
        })
        .collect();
    for (i, a) in nonces.iter().enumerate() {
        for b in &nonces[i + 1..] {
            assert_ne!(a, b, "two seals with the same nonce");
            let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
            assert!(
                same < 8,
                "{same} of 24 nonce bytes equal: not independent draws"
            );
        }
    }
}

/// The associated data `header || context` is built on the stack up to 128
/// bytes and on the heap beyond: contexts on both sides of the edge (99 and
/// 100 bytes after the 29-byte header) and a long one seal and open, and
/// only under their own context.
#[test]
fn contexts_of_any_length_seal_and_open() {
    for len in [0, 1, 98, 99, 100, 101, 300] {
        let context = "c".repeat(len);
        let codec = SessionCodec::new(Keyring::single(Key::from_bytes(&[3; 32]).unwrap()), context);
        let value = codec.seal(&SessionData::new(), NOW, NOW + 10).unwrap();
        assert!(codec.open(&value, NOW).is_ok(), "context of {len} bytes");
        let other = SessionCodec::new(codec.keyring().clone(), "d".repeat(len.max(1)));
        assert_eq!(
            other.open(&value, NOW).err(),
            Some(RejectReason::Unauthenticated),
            "context of {len} bytes, opened under another"
        );
    }
}

fn id() -> SessionId {
    SessionId::from_bytes([7; 16]).unwrap()
}

/// A meta whose login or check time is outside `created_at..expires_at`
/// would seal a cookie that never opens (step 5): sealing refuses it, each
/// field on its own, at both edges.
#[test]
fn times_outside_the_sessions_life_are_refused_when_sealing() {
    let codec = codec();
    let meta = SessionMeta::new(id(), NOW, NOW + 100);
    let rows = [
        ("none", None, None, true),
        ("login at creation", Some(NOW), None, true),
        ("check a second before expiry", None, Some(NOW + 99), true),
        ("login before creation", Some(NOW - 1), None, false),
        ("login at expiry", Some(NOW + 100), None, false),
        ("check before creation", None, Some(NOW - 1), false),
        ("check at expiry", None, Some(NOW + 100), false),
        ("both good", Some(NOW + 1), Some(NOW + 2), true),
        ("login bad, check good", Some(NOW - 1), Some(NOW + 2), false),
        (
            "login good, check bad",
            Some(NOW + 1),
            Some(NOW + 100),
            false,
        ),
    ];
    // 0 is the format's "never": a session created at the epoch cannot
    // record a login or a check at 0 (it would open as none).
    let epoch = SessionMeta::new(id(), 0, 100);
    for meta in [
        epoch.with_authenticated_at(Some(0)),
        epoch.with_checked_at(Some(0)),
    ] {
        assert_eq!(
            codec.seal_with_meta(&SessionData::new(), &meta),
            Err(SealError::InconsistentTimes)
        );
    }
    assert!(
        codec
            .seal_with_meta(&SessionData::new(), &epoch.with_checked_at(Some(1)))
            .is_ok()
    );
    for (name, authenticated_at, checked_at, ok) in rows {
        let meta = meta
            .with_authenticated_at(authenticated_at)
            .with_checked_at(checked_at);
        let sealed = codec.seal_with_meta(&SessionData::new(), &meta);
        assert_eq!(
            sealed.as_ref().err(),
            (!ok).then_some(&SealError::InconsistentTimes),
            "{name}"
        );
        if let Ok(value) = sealed {
            let opened = codec.open(&value, NOW).unwrap();
            assert_eq!(opened.meta(), &meta, "{name}: opens to the same fields");
        }
    }
}
