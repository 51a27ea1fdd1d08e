//! Properties of the wire format and of chunking, checked on generated inputs.
//!
//! What a user of the crate can rely on, stated as properties:
//!
//! * sealing any JSON object and opening the value again gives back the same
//!   object, the same timestamps and the index of the key that sealed it, with
//!   and without compression; compression never makes a value longer and does
//!   shrink a repetitive body;
//! * any change to a sealed value — one flipped bit of the decoded bytes, one
//!   changed character of the text, a truncation — is rejected, and so is
//!   every random string, including ones that carry a genuine key id;
//! * a value opens only under the context (cookie name) it was sealed for;
//! * `chunk::split` followed by `chunk::read` gives back the value, in any
//!   cookie order, and every `name=value` pair fits a browser's 4096 bytes.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client_session::chunk::{self, MAX_COOKIE_PAIR_LEN};
use client_session::defaults::{BODY_LIMIT as DEFAULT_BODY_LIMIT, COMPRESSION_THRESHOLD};
use client_session::{
    Compression, Key, Keyring, OpenedSession, RejectReason, SealError, SessionCodec, SessionConfig,
    SessionData,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

/// Two fixed keys: tests are reproducible from proptest's seed alone.
static KEY_0: LazyLock<Key> = LazyLock::new(|| Key::from_bytes(&[0x11; 32]).unwrap());
static KEY_1: LazyLock<Key> = LazyLock::new(|| Key::from_bytes(&[0x22; 48]).unwrap());

/// A codec whose ring holds only `KEY_0`, for context `"session"`.
fn codec(compression: Compression) -> SessionCodec {
    SessionCodec::new(Keyring::single(KEY_0.clone()), "session").compression(compression)
}

/// A codec whose ring is `[KEY_0, KEY_1]`: it opens what either key sealed.
fn two_key_codec() -> SessionCodec {
    SessionCodec::new(
        Keyring::new([KEY_0.clone(), KEY_1.clone()]).unwrap(),
        "session",
    )
}

/// Strings a JSON encoder must escape or carry through as multi-byte UTF-8.
fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\/\\x00-\\x1f\\x7f a-zA-Z0-9é€\u{2028}\u{2029}\u{FEFF}💖ユ]{0,16}",
    ]
}

fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // `serde_json::Number` has no NaN or infinity.
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

/// Any JSON value, nested a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        json_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(json_string(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object as a session body.
fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(json_string(), json_value(), 0..8)
        .prop_map(|m| m.into_iter().collect())
}

/// A body over the default compression threshold (1 KiB) built by repeating
/// one small record, the shape of a cart or a list of recently viewed items.
fn repetitive_object() -> impl Strategy<Value = Map<String, Value>> {
    (json_object(), "[a-z]{1,10}", 30usize..200).prop_map(|(mut base, word, count)| {
        base.insert("items".into(), repeated_items(&word, count));
        base
    })
}

/// `count` copies of one cart line: at least 30 × 40 bytes of repetition.
fn repeated_items(word: &str, count: usize) -> Value {
    let item = serde_json::json!({ "sku": word, "qty": 1, "note": "same as before" });
    Value::Array(vec![item; count])
}

/// A cookie name and a value length: often uniform, often within a few bytes
/// of filling one or more cookies exactly, where an off-by-one would show —
/// with one-digit chunk indices (up to 9 chunks) and two-digit ones (10 to
/// 40 chunks, where the index takes one more byte).
fn cookie_name_and_value_len() -> impl Strategy<Value = (String, usize)> {
    "[A-Za-z0-9!#$%&'*+^_`|~.-]{1,40}".prop_flat_map(|name| {
        // `<name>.<i>=` or `<name>=<n>.`: name + 2 bytes + the index's digits.
        let part = |digits: usize| MAX_COOKIE_PAIR_LEN - name.len() - 2 - digits;
        let (one_digit, two_digits) = (part(1), part(2));
        let len = prop_oneof![
            1usize..30_000,
            30_000usize..160_000,
            (1usize..10, 0usize..8).prop_map(move |(parts, delta)| parts * one_digit + delta - 4),
            (10usize..40, 0usize..8).prop_map(move |(parts, delta)| parts * two_digits + delta - 4),
        ];
        (Just(name), len)
    })
}

/// Contexts a value must not open under: anything, and above all the near
/// misses of `session` (prefixes, extensions, case changes, chunk names,
/// stray bytes).
fn other_context() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (1usize..7).prop_map(|n| "session"[..n].to_owned()),
        "[a-zA-Z0-9._ -]{1,3}".prop_map(|tail| format!("session{tail}")),
        "[a-zA-Z0-9._ -]{1,3}".prop_map(|head| format!("{head}session")),
        (0usize..7).prop_map(|i| {
            let mut name: Vec<char> = "session".chars().collect();
            name[i] = name[i].to_ascii_uppercase();
            name.into_iter().collect()
        }),
        Just("SESSION".to_owned()),
        Just("__Host-session".to_owned()),
        Just("session\0".to_owned()),
    ]
    .prop_filter("another context", |c| c != "session")
}

/// Timestamps that open at `now`: `created_at <= now < expires_at`.
fn times() -> impl Strategy<Value = (u64, u64, u64)> {
    (0u64..1 << 62, 0u64..1 << 40, 1u64..1 << 40)
        .prop_map(|(created, age, left)| (created, created + age, created + age + left))
}

/// Asserts that `opened` is `data` sealed at `created_at`/`expires_at` by key `key_index`.
fn assert_same_session(
    opened: &OpenedSession,
    original: &Map<String, Value>,
    data: &SessionData,
    (created_at, expires_at): (u64, u64),
    key_index: usize,
) {
    assert_eq!(opened.data(), data);
    // Values are carried as raw JSON text: the body comes back byte for byte.
    assert_eq!(opened.data().to_json(), data.to_json());
    assert_eq!(opened.data().to_json_map(), data.to_json_map());
    // `serde_json` may parse a float one ulp off without `float_roundtrip`, so
    // the generated tree is compared after the same text round trip.
    assert_eq!(
        &opened.data().to_json_map().unwrap(),
        &serde_json::from_str::<Map<String, Value>>(&Value::Object(original.clone()).to_string())
            .unwrap()
    );
    assert_eq!(opened.created_at(), created_at);
    assert_eq!(opened.expires_at(), expires_at);
    assert_eq!(opened.key_index(), key_index);
}

/// A sealed value of a small, fixed session.
fn sealed_sample(codec: &SessionCodec) -> String {
    let mut data = SessionData::new();
    data.insert("user", "user1").unwrap();
    data.insert("cart", &["sku-1", "sku-2"]).unwrap();
    codec.seal(&data, 1_000, 2_000).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sealed_objects_open_unchanged(
        object in prop_oneof![json_object(), repetitive_object()],
        (created_at, now, expires_at) in times(),
    ) {
        let data = SessionData::from(object.clone());
        let mut lens = Vec::new();
        for compression in [Compression::Off, Compression::Above(COMPRESSION_THRESHOLD)] {
            let codec = codec(compression);
            let value = codec.seal(&data, created_at, expires_at).unwrap();
            prop_assert_eq!(value.len(), codec.sealed_len(&data).unwrap());
            let opened = codec.open(&value, now).unwrap();
            assert_same_session(&opened, &object, &data, (created_at, expires_at), 0);
            prop_assert_eq!(codec.open(&value, expires_at).unwrap_err(), RejectReason::Expired);
            lens.push(value.len());
        }
        // A writer compresses only when that makes the value smaller.
        prop_assert!(lens[1] <= lens[0], "compressed {} > uncompressed {}", lens[1], lens[0]);
    }

    #[test]
    fn repetitive_bodies_are_compressed(
        user in json_string(),
        word in "[a-z]{1,10}",
        count in 30usize..200,
    ) {
        // At least 30 × 40 bytes: over the default 1 KiB threshold.
        let mut data = SessionData::new();
        data.insert("user", &user).unwrap();
        data.insert("items", &repeated_items(&word, count)).unwrap();
        let off = codec(Compression::Off).sealed_len(&data).unwrap();
        let on = codec(Compression::Above(COMPRESSION_THRESHOLD)).sealed_len(&data).unwrap();
        prop_assert!(on < off / 2, "compressed {on} bytes, off {off} bytes");
        // Off by default (SECURITY.md L2): a codec and a layer configured
        // with nothing seal the body as it is, however well it compresses.
        let default_codec = SessionCodec::new(Keyring::single(KEY_0.clone()), "session");
        prop_assert_eq!(default_codec.sealed_len(&data).unwrap(), off);
        let config = SessionConfig::builder(Keyring::single(KEY_0.clone())).build().unwrap();
        prop_assert_eq!(config.codec().sealed_len(&data).unwrap(), off);
    }

    /// SECURITY.md L2: with compression, two bodies of the same size seal to
    /// different lengths when one compresses better — the cookie's length
    /// tells about the content; without compression it tells only the size.
    #[test]
    fn compression_makes_the_length_depend_on_content_not_only_size(
        len in 1_100usize..3_000,
        seed in any::<u64>(),
    ) {
        let body = |text: &str| {
            let mut data = SessionData::new();
            data.insert("v", text).unwrap();
            data
        };
        // Same size (neither string needs escaping), different content.
        let (a, b) = (body(&"x".repeat(len)), body(&base64url_text(len, seed)));
        prop_assert_eq!(a.to_json().len(), b.to_json().len(), "same size");
        let on = codec(Compression::Above(COMPRESSION_THRESHOLD));
        prop_assert!(
            on.sealed_len(&a).unwrap() < on.sealed_len(&b).unwrap(),
            "compressed: the repetitive body seals shorter"
        );
        let off = codec(Compression::Off);
        prop_assert_eq!(off.sealed_len(&a).unwrap(), off.sealed_len(&b).unwrap());
    }

    #[test]
    fn a_value_sealed_by_the_second_key_of_a_ring_opens_with_index_1(
        object in json_object(),
        (created_at, now, expires_at) in times(),
    ) {
        let data = SessionData::from(object.clone());
        let old_server = SessionCodec::new(Keyring::single(KEY_1.clone()), "session");
        let value = old_server.seal(&data, created_at, expires_at).unwrap();
        let opened = two_key_codec().open(&value, now).unwrap();
        assert_same_session(&opened, &object, &data, (created_at, expires_at), 1);

        let value = two_key_codec().seal(&data, created_at, expires_at).unwrap();
        let opened = two_key_codec().open(&value, now).unwrap();
        assert_same_session(&opened, &object, &data, (created_at, expires_at), 0);
        // The ring seals with its primary, which the old server does not have.
        prop_assert_eq!(old_server.open(&value, now).unwrap_err(), RejectReason::UnknownKey);
    }

    #[test]
    fn a_value_opens_only_under_its_own_context(
        context in other_context(),
    ) {
        let value = sealed_sample(&codec(Compression::Above(COMPRESSION_THRESHOLD)));
        let other = SessionCodec::new(Keyring::single(KEY_0.clone()), context);
        prop_assert_eq!(other.open(&value, 1_500).unwrap_err(), RejectReason::Unauthenticated);
    }

    #[test]
    fn any_flipped_bit_is_rejected(
        object in prop_oneof![json_object(), repetitive_object()],
        byte in any::<Index>(),
        bit in 0u8..8,
    ) {
        let codec = codec(Compression::Above(COMPRESSION_THRESHOLD));
        let value = codec.seal(&SessionData::from(object), 1_000, 2_000).unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        let at = byte.index(bytes.len());
        bytes[at] ^= 1 << bit;
        let expected = match at {
            0 => RejectReason::UnsupportedVersion,
            1..=4 => RejectReason::UnknownKey,
            _ => RejectReason::Unauthenticated,
        };
        prop_assert_eq!(
            codec.open(&URL_SAFE_NO_PAD.encode(&bytes), 1_500).unwrap_err(),
            expected,
            "bit {} of byte {}", bit, at
        );
    }

    #[test]
    fn any_truncation_is_rejected(
        object in prop_oneof![json_object(), repetitive_object()],
        cut in any::<Index>(),
    ) {
        let codec = codec(Compression::Above(COMPRESSION_THRESHOLD));
        let value = codec.seal(&SessionData::from(object), 1_000, 2_000).unwrap();
        let kept = cut.index(value.len());
        let reason = codec.open(&value[..kept], 1_500).unwrap_err();
        prop_assert!(
            matches!(reason, RejectReason::Malformed | RejectReason::Unauthenticated),
            "{} of {} characters kept: {:?}", kept, value.len(), reason
        );
    }

    #[test]
    fn any_changed_character_is_rejected(
        object in prop_oneof![json_object(), repetitive_object()],
        // The last character is drawn often: its unused low bits are where a
        // lenient decoder would accept a second spelling of the same bytes.
        at in prop_oneof![any::<Index>().prop_map(Some), Just(None)],
        stranger in any::<char>(),
    ) {
        let codec = codec(Compression::Above(COMPRESSION_THRESHOLD));
        let value = codec.seal(&SessionData::from(object), 1_000, 2_000).unwrap();
        let at = at.map_or(value.len() - 1, |at| at.index(value.len()));
        let replacements = BASE64URL_ALPHABET.iter().map(|&b| char::from(b)).chain([stranger]);
        for replacement in replacements.filter(|&c| !value[at..].starts_with(c)) {
            let mut changed = value[..at].to_owned();
            changed.push(replacement);
            changed.push_str(&value[at + 1..]);
            prop_assert!(
                codec.open(&changed, 1_500).is_err(),
                "character {} of {} replaced by {:?}", at, value.len(), replacement
            );
        }
    }

    #[test]
    fn random_strings_never_open(value in any::<String>()) {
        prop_assert!(codec(Compression::Above(COMPRESSION_THRESHOLD)).open(&value, 1_500).is_err());
    }

    #[test]
    fn random_base64url_never_opens(value in "[A-Za-z0-9_-]{0,700}") {
        prop_assert!(codec(Compression::Above(COMPRESSION_THRESHOLD)).open(&value, 1_500).is_err());
    }

    #[test]
    fn random_bytes_behind_a_genuine_key_id_are_unauthenticated(
        rest in prop::collection::vec(any::<u8>(), 57..700),
    ) {
        let mut bytes = vec![0x01];
        bytes.extend_from_slice(&KEY_0.id().to_bytes());
        bytes.extend_from_slice(&rest);
        prop_assert_eq!(
            codec(Compression::Above(COMPRESSION_THRESHOLD)).open(&URL_SAFE_NO_PAD.encode(&bytes), 1_500).unwrap_err(),
            RejectReason::Unauthenticated
        );
    }

    #[test]
    fn split_then_read_gives_the_value_back(
        (name, len) in cookie_name_and_value_len(),
        seed in any::<u64>(),
        order in any::<u64>(),
    ) {
        let value = base64url_text(len, seed);
        let mut cookies = chunk::split(&name, &value);
        prop_assert_eq!(cookies.len(), chunk::chunk_count(name.len(), len));
        prop_assert_eq!(cookies.len() == 1, name.len() + 1 + len <= MAX_COOKIE_PAIR_LEN);
        for (n, v) in &cookies {
            prop_assert!(n.len() + 1 + v.len() <= MAX_COOKIE_PAIR_LEN, "{}: {} bytes", n, v.len());
        }
        let count = cookies.len();
        // Browsers send cookies in any order, next to unrelated ones.
        shuffle(&mut cookies, order);
        cookies.insert(cookies.len() / 2, ("theme".into(), "dark".into()));
        let header = cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");

        let read = chunk::read(std::iter::once(header.as_bytes()), &name, count);
        prop_assert_eq!(read.value.unwrap().unwrap(), value);
        prop_assert_eq!(read.highest_chunk, count - 1);
        if count > 1 {
            // A reader whose cap is below the count rejects instead of looking further.
            let capped = chunk::read(std::iter::once(header.as_bytes()), &name, count - 1);
            prop_assert_eq!(capped.value.unwrap().unwrap_err(), RejectReason::Malformed);
        }
    }
}

proptest! {
    // Large bodies cost tens of milliseconds per case unoptimized: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn large_bodies_round_trip_and_compress_when_repetitive(
        words in prop::collection::vec("[a-z]{1,12}", 1..16),
        count in 500usize..5_000,
        noise in json_object(),
        (created_at, now, expires_at) in times(),
    ) {
        let mut object = noise;
        let items: Vec<Value> = (0..count).map(|i| Value::from(words[i % words.len()].as_str())).collect();
        object.insert("history".into(), Value::Array(items));
        let data = SessionData::from(object.clone());
        prop_assume!(data.to_json().len() <= DEFAULT_BODY_LIMIT);
        let mut lens = Vec::new();
        for compression in [Compression::Off, Compression::Above(COMPRESSION_THRESHOLD)] {
            let codec = codec(compression);
            let value = codec.seal(&data, created_at, expires_at).unwrap();
            let opened = codec.open(&value, now).unwrap();
            assert_same_session(&opened, &object, &data, (created_at, expires_at), 0);
            lens.push(value.len());
        }
        prop_assert!(lens[1] < lens[0], "default {} bytes, off {} bytes", lens[1], lens[0]);
    }
}

#[test]
fn a_body_of_exactly_the_limit_seals_and_opens_and_one_byte_more_does_not() {
    // `{"k":"…"}` is 8 bytes around the string.
    let body_of = |len: usize| {
        let mut data = SessionData::new();
        data.insert("k", &"a".repeat(len - 8)).unwrap();
        assert_eq!(data.to_json().len(), len);
        data
    };
    for compression in [Compression::Off, Compression::Above(COMPRESSION_THRESHOLD)] {
        let codec = codec(compression);
        let data = body_of(DEFAULT_BODY_LIMIT);
        let value = codec.seal(&data, 1_000, 2_000).unwrap();
        assert_eq!(codec.open(&value, 1_500).unwrap().data(), &data);
        assert_eq!(
            codec.seal(&body_of(DEFAULT_BODY_LIMIT + 1), 1_000, 2_000),
            Err(SealError::BodyTooLarge {
                len: DEFAULT_BODY_LIMIT + 1,
                limit: DEFAULT_BODY_LIMIT
            })
        );
    }
}

#[test]
fn the_sample_value_opens_before_it_is_tampered_with() {
    // The tampering properties start from values that do open.
    let codec = codec(Compression::Above(COMPRESSION_THRESHOLD));
    let opened = codec.open(&sealed_sample(&codec), 1_500).unwrap();
    assert_eq!(
        opened.data().get::<String>("user").unwrap().unwrap(),
        "user1"
    );
}

const BASE64URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` characters of the base64url alphabet, chosen by `seed`.
fn base64url_text(len: usize, seed: u64) -> String {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state = xorshift(state);
            char::from(BASE64URL_ALPHABET[(state % 64) as usize])
        })
        .collect()
}

/// Fisher–Yates with a seeded xorshift.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state = xorshift(state);
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}
