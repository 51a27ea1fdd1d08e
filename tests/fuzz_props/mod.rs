//! Property checks shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, which
//! include this file with `#[path]`) and by `tests/fuzz_corpus.rs`, which
//! replays the committed corpus and regressions through them under plain
//! `cargo test`. Every check panics when a property is violated.
//!
//! It depends only on what both crates have: `client-session`, `serde_json`
//! and `base64` (the root crate has no `arbitrary`, so structured input is
//! decoded by the small [`Bytes`] reader below, in the same spirit).
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client_session::chunk::{self, MAX_COOKIE_PAIR_LEN};
use client_session::defaults::{BODY_LIMIT as DEFAULT_BODY_LIMIT, COMPRESSION_THRESHOLD};
use client_session::{
    Compression, Key, Keyring, Lifetime, RejectReason, SealError, SessionCodec, SessionData,
    SessionId, SessionMeta,
};
use serde_json::{Map, Number, Value};

/// "Now" for every open: inside the validity window of the vectors and of the
/// seeds made by `regenerate_seed_corpus`, so authentic inputs get past the
/// time checks and the fuzzer reaches inflation and JSON parsing.
pub(crate) const NOW: u64 = 1_700_000_010;
/// Cookie name and context.
pub(crate) const NAME: &str = "session";
/// Chunk cap used by `chunk_header`.
pub(crate) const MAX_CHUNKS: usize = 4;
/// The vectors' primary key: bytes 0..32 (key id prefix `AfSGA_o…`).
pub(crate) const KEY_A: [u8; 32] = seq::<32>(0);
/// The vectors' second key: bytes 32..96 (key id prefix `ASaNPuE…`).
pub(crate) const KEY_B: [u8; 64] = seq::<64>(32);
/// Decoded bytes of the smallest sealed value of any version (v1): header
/// 29 + prefix 17 + tag 16.
const MIN_SEALED_LEN: usize = 62;
/// Decoded bytes of the smallest v2 value: header 29 + prefix 57 + tag 16.
const MIN_SEALED_LEN_V2: usize = 102;
/// Longest value `open` decodes with the default body limit (unpadded base64
/// of `MIN_SEALED_LEN_V2 + DEFAULT_BODY_LIMIT` bytes); longer is `TooLarge` up front.
pub(crate) const MAX_VALUE_LEN: usize = ((MIN_SEALED_LEN_V2 + DEFAULT_BODY_LIMIT) * 4).div_ceil(3);

const fn seq<const N: usize>(start: u8) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = start + i as u8;
        i += 1;
    }
    out
}

pub(crate) fn key_a() -> Key {
    Key::from_bytes(&KEY_A).expect("32-byte key")
}

pub(crate) fn key_b() -> Key {
    Key::from_bytes(&KEY_B).expect("64-byte key")
}

/// The fixed ring `[A, B]` with context `session` and default limits.
pub(crate) fn codec() -> &'static SessionCodec {
    static CODEC: LazyLock<SessionCodec> = LazyLock::new(|| {
        SessionCodec::new(
            Keyring::new([key_a(), key_b()]).expect("distinct keys"),
            NAME,
        )
    });
    &CODEC
}

/// The same ring, primary last: what `codec()` seals opens here with key index 1.
fn codec_reversed() -> &'static SessionCodec {
    static CODEC: LazyLock<SessionCodec> = LazyLock::new(|| {
        SessionCodec::new(
            Keyring::new([key_b(), key_a()]).expect("distinct keys"),
            NAME,
        )
    });
    &CODEC
}

/// A context nothing in the corpus was sealed for.
const UNUSED_CONTEXT: &str = "session.unused";

/// The same ring under [`UNUSED_CONTEXT`]: nothing opens here.
fn codec_other_context() -> &'static SessionCodec {
    static CODEC: LazyLock<SessionCodec> = LazyLock::new(|| {
        SessionCodec::new(
            Keyring::new([key_a(), key_b()]).expect("distinct keys"),
            UNUSED_CONTEXT,
        )
    });
    &CODEC
}

const VECTORS: &str = include_str!("../vectors/vectors-v1.json");
const VECTORS_V2: &str = include_str!("../vectors/vectors-v2.json");
const KNOWN_SEALED: &str = include_str!("known_sealed.txt");

/// Values sealed for `session` with key A or B that open under [`codec`]
/// at `NOW`: the values of the v1 `open` vectors expected to open (chunked
/// ones joined) and the fresh seeds listed in `known_sealed.txt`.
pub(crate) fn known_openable() -> &'static HashSet<String> {
    static KNOWN: LazyLock<HashSet<String>> = LazyLock::new(|| {
        let mut known: HashSet<String> = KNOWN_SEALED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        known.extend(vector_open_values());
        known
    });
    &KNOWN
}

/// Values that were really sealed for `session` with key A or B: the
/// [openable](known_openable) ones and the v2 vectors that are authentic
/// (opened, or refused only after authentication under their own
/// configuration). These, and only these, may open; the fuzzer cannot
/// produce another authentic value without the keys.
pub(crate) fn known_sealed() -> &'static HashSet<String> {
    static KNOWN: LazyLock<HashSet<String>> = LazyLock::new(|| {
        let mut known = known_openable().clone();
        let v2: Value = serde_json::from_str(VECTORS_V2).expect("v2 vectors parse");
        for v in v2["open"].as_array().expect("open vectors") {
            let authentic = v["expect"] == "open"
                || ["expired", "revoked", "too_large", "invalid_body"]
                    .contains(&v["reason"].as_str().unwrap_or_default());
            if !authentic || v["context"] != NAME {
                continue;
            }
            let header = cookie_header_of(v);
            let incoming = chunk::read(std::iter::once(header.as_bytes()), NAME, MAX_CHUNKS);
            if let Some(Ok(value)) = incoming.value {
                known.insert(value.into_owned());
            }
        }
        known
    });
    &KNOWN
}

/// Joined cookie values of the `open` vectors that expect to open under `session`.
pub(crate) fn vector_open_values() -> Vec<String> {
    let vectors: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    let mut out = Vec::new();
    for v in vectors["open"].as_array().expect("open vectors") {
        if v["expect"] != "open" || v["context"] != NAME {
            continue;
        }
        let header = cookie_header_of(v);
        let incoming = chunk::read(std::iter::once(header.as_bytes()), NAME, MAX_CHUNKS);
        if let Some(Ok(value)) = incoming.value {
            out.push(value.into_owned());
        }
    }
    out
}

/// A vector's `cookies` as one `Cookie` header value.
pub(crate) fn cookie_header_of(vector: &Value) -> String {
    vector["cookies"]
        .as_object()
        .expect("cookies")
        .iter()
        .map(|(n, c)| format!("{n}={}", c.as_str().expect("cookie value")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Allocation measurements a fuzz target may provide (the fuzz crate has a
/// counting global allocator; the root crate forbids `unsafe`, so its tests
/// pass [`NoProbe`]).
pub(crate) trait AllocProbe {
    /// Starts a measurement.
    fn reset(&self);
    /// `(largest single allocation, peak live bytes)` since `reset`, in bytes.
    fn peak(&self) -> Option<(usize, usize)>;
}

/// No allocation measurement.
pub(crate) struct NoProbe;

impl AllocProbe for NoProbe {
    fn reset(&self) {}
    fn peak(&self) -> Option<(usize, usize)> {
        None
    }
}

/// Fixed slack for allocations that do not depend on the input: the
/// inflater's state (~11 KiB), the decoded header copy, small maps.
const ALLOC_SLACK: usize = 32 * 1024;

/// Opens `value` and checks what any cookie value must satisfy:
/// * no panic;
/// * it opens only if it is a known sealed value (garbage never opens), and
///   then to the key and timestamps it was sealed with;
/// * it never opens under a context nothing was sealed for;
/// * a rejection happens at the first failing step of the spec, computed here
///   independently (own strict base64url decoder);
/// * the largest single allocation is at most `max(len, body limit)` plus a
///   constant, and peak live memory is linear in `len + body limit`.
pub(crate) fn check_open(value: &str, probe: &dyn AllocProbe) {
    probe.reset();
    let outcome = codec().open(value, NOW);
    if let Some((largest, live)) = probe.peak() {
        let bound = value.len().max(DEFAULT_BODY_LIMIT) + ALLOC_SLACK;
        assert!(
            largest <= bound,
            "open of a {}-byte value made a {largest}-byte allocation (bound {bound})",
            value.len()
        );
        let live_bound = 4 * (value.len() + DEFAULT_BODY_LIMIT) + ALLOC_SLACK;
        assert!(
            live <= live_bound,
            "open of a {}-byte value peaked at {live} live bytes (bound {live_bound})",
            value.len()
        );
    }
    let known = known_sealed().contains(value);
    match outcome {
        Ok(opened) => {
            assert!(
                known,
                "a value that was never sealed opened: {value:?} (len {})",
                value.len()
            );
            assert!(opened.created_at() <= NOW + 60 && NOW < opened.expires_at());
            assert!(opened.key_index() < 2);
            // Opening again is deterministic.
            let again = codec().open(value, NOW).expect("opened once, opens again");
            assert_eq!(again.data(), opened.data());
        }
        Err(reason) => check_reject_order(value, reason, known),
    }
    if let Ok(opened) = codec_other_context().open(value, NOW) {
        panic!(
            "a value opened under the context {UNUSED_CONTEXT:?} (key index {}): {value:?}",
            opened.key_index()
        );
    }
}

/// The reason must be the first failing step of the spec's opening procedure.
fn check_reject_order(value: &str, reason: RejectReason, known: bool) {
    if value.len() > MAX_VALUE_LEN {
        assert_eq!(reason, RejectReason::TooLarge, "{} chars", value.len());
        return;
    }
    let Some(bytes) = strict_base64url(value.as_bytes()) else {
        assert_eq!(
            reason,
            RejectReason::Malformed,
            "not strict base64url: {value:?}"
        );
        return;
    };
    assert_eq!(
        bytes,
        URL_SAFE_NO_PAD.decode(value).expect("base64 crate agrees"),
        "{value:?}"
    );
    if bytes.len() < MIN_SEALED_LEN {
        assert_eq!(reason, RejectReason::Malformed, "too short: {value:?}");
    } else if bytes[0] != 0x01 && bytes[0] != 0x02 {
        assert_eq!(reason, RejectReason::UnsupportedVersion, "{value:?}");
    } else if bytes[0] == 0x02 && bytes.len() < MIN_SEALED_LEN_V2 {
        assert_eq!(reason, RejectReason::Malformed, "v2 too short: {value:?}");
    } else if bytes[1..5] != key_a().id().to_bytes() && bytes[1..5] != key_b().id().to_bytes() {
        assert_eq!(reason, RejectReason::UnknownKey, "{value:?}");
    } else if !authentic(&bytes) {
        // Nothing about the body may be looked at before the tag verifies.
        assert_eq!(
            reason,
            RejectReason::Unauthenticated,
            "not sealed by a ring key, yet rejected for another reason: {value:?}"
        );
    } else {
        assert!(
            matches!(
                reason,
                RejectReason::InvalidBody | RejectReason::Expired | RejectReason::TooLarge
            ),
            "{reason:?} for an authentic value: {value:?}"
        );
        assert!(
            !known,
            "a known sealed value was rejected ({reason:?}): {value:?}"
        );
    }
}

/// The spec's HKDF label of the message key of a version.
fn message_key_label(version: u8) -> &'static [u8] {
    match version {
        0x01 => b"client-session/v1 message-key",
        0x02 => b"client-session/v2 message-key",
        other => panic!("no label for version {other}"),
    }
}

/// Whether decoded `bytes` (at least a header and a tag, version 1 or 2) carry a
/// GCM tag that verifies under the ring key their key id names, computed
/// from the spec with `hkdf` and `aes-gcm` directly, not with the crate's
/// `Key`: the independent answer to "was this sealed by a ring key?".
fn authentic(bytes: &[u8]) -> bool {
    use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
    use aes_gcm::{Aes256Gcm, Nonce, Tag};
    let (header, rest) = bytes.split_at(29);
    let (ciphertext, tag) = rest.split_at(rest.len() - 16);
    for key in [&KEY_A[..], &KEY_B[..]] {
        let kdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"client-session/v1"), key);
        let mut id = [0u8; 4];
        kdf.expand(b"client-session/v1 key-id", &mut id).unwrap();
        if header[1..5] != id {
            continue;
        }
        let mut message_key = [0u8; 32];
        kdf.expand_multi_info(
            &[message_key_label(header[0]), &header[5..17]],
            &mut message_key,
        )
        .unwrap();
        let aad = [header, NAME.as_bytes()].concat();
        let mut plaintext = ciphertext.to_vec();
        return Aes256Gcm::new((&message_key).into())
            .decrypt_inout_detached(
                <&Nonce<_>>::try_from(&header[17..29]).unwrap(),
                &aad,
                plaintext.as_mut_slice().into(),
                <&Tag>::try_from(tag).unwrap(),
            )
            .is_ok();
    }
    false
}

/// RFC 4648 §5 base64url without padding, strict: no `=`, URL-safe alphabet
/// only, unused trailing bits zero. Independent of the `base64` crate.
pub(crate) fn strict_base64url(text: &[u8]) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        }))
    }
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for group in text.chunks(4) {
        let mut acc = 0u32;
        for &c in group {
            acc = acc << 6 | sextet(c)?;
        }
        match group.len() {
            4 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
            3 => {
                if acc & 0b11 != 0 {
                    return None;
                }
                out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]);
            }
            2 => {
                if acc & 0b1111 != 0 {
                    return None;
                }
                out.push((acc >> 4) as u8);
            }
            _ => unreachable!("length % 4 == 1 was rejected"),
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// Target `open_value`: the input bytes, as a cookie value.

/// The input as UTF-8 if it is, and lossily converted (which is what a
/// server that decodes header bytes leniently would pass on) — both checked.
pub(crate) fn open_value(data: &[u8], probe: &dyn AllocProbe) {
    match std::str::from_utf8(data) {
        Ok(value) => check_open(value, probe),
        Err(_) => check_open(&String::from_utf8_lossy(data), probe),
    }
}

// ---------------------------------------------------------------------------
// Target `chunk_header`: the input as `Cookie` header values.

/// Splits the input into header values at `\n`, reads the session cookie
/// with a cap of [`MAX_CHUNKS`], compares with an independent model of the
/// spec's chunk rules, checks the allocation bound of a joined value, and
/// opens the value (see [`check_open`]).
pub(crate) fn chunk_header(data: &[u8], probe: &dyn AllocProbe) {
    let headers: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let incoming = chunk::read(headers.iter().copied(), NAME, MAX_CHUNKS);
    let (model_value, model_highest) = model_read(&headers, NAME.as_bytes(), MAX_CHUNKS);
    assert!(incoming.highest_chunk <= MAX_CHUNKS);
    assert_eq!(incoming.highest_chunk, model_highest, "highest chunk");
    let value = match (incoming.value, model_value) {
        (None, None) => return,
        (Some(Err(reason)), Some(Err(expected))) => {
            assert_eq!(reason, expected);
            return;
        }
        (Some(Ok(value)), Some(Ok(expected))) => {
            assert_eq!(value.as_bytes(), expected.as_slice(), "joined value");
            match &value {
                Cow::Owned(joined) => assert!(
                    joined.len() <= MAX_CHUNKS * MAX_COOKIE_PAIR_LEN,
                    "joined {} bytes from at most {MAX_CHUNKS} chunks",
                    joined.len()
                ),
                // Not copied: an unchunked value is a slice of a header.
                Cow::Borrowed(slice) => assert!(headers.iter().any(|h| {
                    let range = h.as_ptr_range();
                    range.start <= slice.as_ptr()
                        && slice.as_bytes().as_ptr_range().end <= range.end
                })),
            }
            value
        }
        (got, model) => panic!("chunk::read gave {got:?}, the model {model:?}"),
    };
    check_open(&value, probe);
}

/// The chunk rules of the spec and of `chunk`'s docs, written independently:
/// `(value, highest chunk index ≤ cap)`; `Some(Err(reason))` for a rejected
/// session: `Duplicate` when the name, or a chunk within the count, comes
/// twice; `Malformed` for any other broken chunking.
#[allow(clippy::type_complexity)]
pub(crate) fn model_read(
    headers: &[&[u8]],
    name: &[u8],
    cap: usize,
) -> (Option<Result<Vec<u8>, RejectReason>>, usize) {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let trim = |mut s: &[u8]| -> Vec<u8> {
        while s.first().is_some_and(is_ws) {
            s = &s[1..];
        }
        while s.last().is_some_and(is_ws) {
            s = &s[..s.len() - 1];
        }
        s.to_vec()
    };
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for header in headers {
        for segment in header.split(|&b| b == b';') {
            if let Some(eq) = segment.iter().position(|&b| b == b'=') {
                pairs.push((trim(&segment[..eq]), trim(&segment[eq + 1..])));
            }
        }
    }
    let decimal = |d: &[u8]| -> Option<usize> {
        let ok = !d.is_empty()
            && d.len() <= 4
            && d.iter().all(u8::is_ascii_digit)
            && !(d.len() > 1 && d[0] == b'0');
        ok.then(|| std::str::from_utf8(d).unwrap().parse().unwrap())
    };
    let index_of = |n: &[u8]| -> Option<usize> {
        if n.len() > name.len() + 1 && n.starts_with(name) && n[name.len()] == b'.' {
            decimal(&n[name.len() + 1..]).filter(|&i| i >= 1)
        } else {
            None
        }
    };
    let highest = pairs
        .iter()
        .filter_map(|(n, _)| index_of(n))
        .filter(|&i| i <= cap)
        .max()
        .unwrap_or(0);
    let Some((_, first)) = pairs.iter().find(|(n, _)| n == name) else {
        return (None, highest);
    };
    let value = (|| {
        let bad = RejectReason::Malformed;
        if pairs.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(RejectReason::Duplicate);
        }
        let Some(dot) = first.iter().position(|&b| b == b'.') else {
            std::str::from_utf8(first).map_err(|_| bad)?;
            return Ok(first.clone());
        };
        let count = decimal(&first[..dot]).ok_or(bad)?;
        if !(2..=cap).contains(&count) {
            return Err(bad);
        }
        let with_index = |i| pairs.iter().filter(move |(n, _)| index_of(n) == Some(i));
        if (1..count).any(|i| with_index(i).count() > 1) {
            return Err(RejectReason::Duplicate);
        }
        let mut joined = Vec::new();
        for i in 0..count {
            let part = if i == 0 {
                &first[dot + 1..]
            } else {
                &with_index(i).next().ok_or(bad)?.1
            };
            if part.is_empty() || part.len() > MAX_COOKIE_PAIR_LEN {
                return Err(bad);
            }
            std::str::from_utf8(part).map_err(|_| bad)?;
            joined.extend_from_slice(part);
        }
        Ok(joined)
    })();
    (Some(value), highest)
}

// ---------------------------------------------------------------------------
// Target `seal_open`: build a session, seal, open, mutate.

/// A reader of fuzzer bytes that never fails: past the end it reads zeros.
pub(crate) struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bytes(data)
    }
    pub(crate) fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.u32() as usize % n
    }
    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Nesting depth of generated values. Deeper than serde_json's recursion
/// limit (128) is a separate matter, see `fuzz/README.md`.
const MAX_DEPTH: usize = 6;

/// Bytes of generated strings, at most: enough for bodies that compress and
/// values that need chunks (bodies over a limit come from the small limits
/// the control bytes pick), small enough to keep executions fast.
const STRING_BUDGET: usize = 24 * 1024;

fn gen_string(r: &mut Bytes<'_>, budget: &mut usize) -> String {
    let len = usize::from(r.byte());
    let s: String = if r.byte() & 1 == 0 {
        String::from_utf8_lossy(r.take(len)).into_owned()
    } else {
        // A run of one character: compressible, to reach the DEFLATE path.
        let c = char::from_u32(u32::from(r.u16())).unwrap_or('x');
        std::iter::repeat_n(c, (len * 8).min(*budget)).collect()
    };
    *budget = budget.saturating_sub(s.len());
    s
}

fn gen_value(r: &mut Bytes<'_>, depth: usize, budget: &mut usize) -> Value {
    let kinds = if depth >= MAX_DEPTH { 5 } else { 7 };
    match r.byte() % kinds {
        0 => Value::Null,
        1 => Value::Bool(r.byte() & 1 == 1),
        2 => match r.byte() % 3 {
            0 => Value::from(r.u64()),
            1 => Value::from(r.u64() as i64),
            _ => Number::from_f64(f64::from_bits(r.u64())).map_or(Value::Null, Value::Number),
        },
        3 | 4 => Value::String(gen_string(r, budget)),
        5 => Value::Array(
            (0..r.byte() % 6)
                .map(|_| gen_value(r, depth + 1, budget))
                .collect(),
        ),
        _ => Value::Object(gen_object(r, depth + 1, budget)),
    }
}

fn gen_object(r: &mut Bytes<'_>, depth: usize, budget: &mut usize) -> Map<String, Value> {
    (0..r.byte() % 9)
        .map(|_| (gen_string(r, budget), gen_value(r, depth, budget)))
        .collect()
}

/// Half the time, v2 fields chosen by the fuzzer: an id, the session's own
/// idle timeout and absolute lifetime (long enough for the session to be
/// open at `now`), a persistence choice, and login and check times within
/// the session's life. `None`: `seal` with its defaults.
fn gen_meta(r: &mut Bytes<'_>, created_at: u64, expires_at: u64, now: u64) -> Option<SessionMeta> {
    let choice = r.byte();
    if choice & 1 == 0 {
        return None;
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&[r.u64().to_be_bytes(), r.u64().to_be_bytes()].concat());
    let id = SessionId::from_bytes(id).unwrap_or(SessionId::from_bytes([1; 16])?);
    let mut lifetime = Lifetime::configured();
    let fits = |secs: u64| u32::try_from(secs).is_ok_and(|s| s < u32::MAX);
    // Idle: at least what the sealed expiry needs (it opens at `now`).
    let idle = expires_at
        .saturating_sub(now)
        .saturating_add(u64::from(r.u16()));
    if choice & 2 != 0 && fits(idle) {
        lifetime = lifetime.with_idle_timeout(Duration::from_secs(idle));
    }
    // Absolute: longer than the session's age at `now`.
    let absolute = now
        .saturating_sub(created_at)
        .saturating_add(1 + u64::from(r.u16()));
    if choice & 4 != 0 && fits(absolute) {
        lifetime = lifetime.with_absolute_lifetime(Duration::from_secs(absolute));
    }
    match (choice >> 3) % 3 {
        0 => {}
        1 => lifetime = lifetime.with_persistent(true),
        _ => lifetime = lifetime.with_persistent(false),
    }
    let span = expires_at.saturating_sub(created_at);
    let mut within = |wanted: bool| {
        let offset = r.u64();
        // 0 is the format's "never": not a time a session can record.
        (wanted && span > 0)
            .then(|| created_at + offset % span)
            .filter(|&t| t != 0)
    };
    let authenticated_at = within(choice & 32 != 0);
    let checked_at = within(choice & 64 != 0);
    Some(
        SessionMeta::new(id, created_at, expires_at)
            .with_lifetime(lifetime)
            .with_authenticated_at(authenticated_at)
            .with_checked_at(checked_at),
    )
}

/// The input is `<body> 0x00 <control bytes>`. `<body>` is used as JSON
/// text when it parses as an object (so JSON seeds are meaningful), and is
/// otherwise decoded into a structured object; the control bytes pick the
/// codec settings, the timestamps and the mutations.
pub(crate) fn seal_open(data: &[u8]) {
    let (body, control) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let mut object = match serde_json::from_slice::<Map<String, Value>>(body) {
        Ok(object) => object,
        Err(_) => gen_object(&mut Bytes::new(body), 0, &mut { STRING_BUDGET }),
    };
    let mut r = Bytes::new(control);

    let settings = r.byte();
    if settings >= 0xF0 {
        // One value nested in up to 510 arrays: around and past serde_json's
        // recursion limit (128), which `open` does not apply (it keeps values
        // as raw text) but `to_json_map` does.
        let depth = 2 * usize::from(r.byte());
        let deep = (0..depth).fold(Value::Null, |v, _| Value::Array(vec![v]));
        object.insert("deep".to_owned(), deep);
    }
    let session = SessionData::from(object);
    let compression = match settings % 4 {
        0 => Compression::Above(COMPRESSION_THRESHOLD),
        1 => Compression::Off,
        2 => Compression::Above(0),
        _ => Compression::Above(usize::from(r.u16())),
    };
    let limit_choice = r.byte();
    let body_limit = match limit_choice % 4 {
        0 => usize::from(r.u16()),
        // "No limit": a limit near usize::MAX must not break opening.
        3 if limit_choice >= 0xF0 => usize::MAX - usize::from(r.u16()),
        _ => DEFAULT_BODY_LIMIT,
    };
    // now, with created_at ≤ now (or a little ahead, within the leeway) < expires_at.
    let now = r.u64() >> (r.byte() % 64);
    let created_at = match r.byte() % 3 {
        0 => now.saturating_add(u64::from(r.byte() % 61)),
        _ => now.saturating_sub(u64::from(r.u32())),
    };
    let Some(expires_at) = now.checked_add(1 + u64::from(r.u32())) else {
        return;
    };
    let lifetime = (r.byte() % 2 == 1)
        .then(|| now.saturating_sub(created_at) + 1 + u64::from(r.u16()))
        .filter(|&l| created_at.checked_add(l).is_some());
    let with = |ring: Keyring, context: &str| {
        SessionCodec::new(ring, context)
            .compression(compression)
            .body_limit(body_limit)
            .absolute_lifetime(lifetime.map(Duration::from_secs))
    };
    let seal_codec = with(codec().keyring().clone(), NAME);
    let meta = gen_meta(&mut r, created_at, expires_at, now);
    // A session's own absolute lifetime replaces the codec's.
    let lifetime = match meta.map(|m| m.lifetime().absolute_lifetime()) {
        Some(Some(own)) => Some(own.as_secs()),
        _ => lifetime,
    };

    let json_len = session.to_json().len();
    let sealed = match &meta {
        Some(meta) => seal_codec.seal_with_meta(&session, meta),
        None => seal_codec.seal(&session, created_at, expires_at),
    };
    let value = match sealed {
        Ok(value) => value,
        Err(SealError::BodyTooLarge { len, limit }) => {
            assert_eq!((len, limit), (json_len, body_limit));
            assert!(json_len > body_limit);
            return;
        }
        Err(other) => panic!("unexpected seal error {other:?}"),
    };
    assert!(json_len <= body_limit);
    assert_eq!(
        seal_codec.sealed_len(&session),
        Ok(value.len()),
        "sealed_len"
    );
    assert!(value.starts_with("AvSGA_"), "v2 header of key A: {value}");
    let decoded = strict_base64url(value.as_bytes()).expect("a sealed value is strict base64url");
    assert!(decoded.len() >= MIN_SEALED_LEN_V2);

    // Round trip, with either key position.
    let opened = seal_codec
        .open(&value, now)
        .expect("a freshly sealed value opens");
    assert_eq!(opened.data(), &session, "opened body differs");
    assert_eq!(opened.data().to_json(), session.to_json());
    // Every value of an opened session can be read back as a JSON map.
    let map = catch_unwind(AssertUnwindSafe(|| opened.data().to_json_map()))
        .unwrap_or_else(|_| panic!("to_json_map panicked on an opened session"));
    assert_eq!(map, session.to_json_map());
    assert_eq!(
        (opened.created_at(), opened.expires_at()),
        (created_at, expires_at)
    );
    if let Some(meta) = &meta {
        assert_eq!(opened.meta(), meta, "every v2 field round-trips");
    }
    assert_eq!(opened.key_index(), 0);
    let reversed = with(codec_reversed().keyring().clone(), NAME);
    assert_eq!(
        reversed
            .open(&value, now)
            .expect("opens with A second")
            .key_index(),
        1
    );

    // Bound to its context, its key and its lifetime.
    let other = with(codec().keyring().clone(), "other");
    assert_eq!(
        other.open(&value, now).unwrap_err(),
        RejectReason::Unauthenticated
    );
    let only_b = with(Keyring::single(key_b()), NAME);
    assert_eq!(
        only_b.open(&value, now).unwrap_err(),
        RejectReason::UnknownKey
    );
    assert_eq!(
        seal_codec.open(&value, expires_at).unwrap_err(),
        RejectReason::Expired
    );
    if let Some(lifetime) = lifetime {
        let end = created_at + lifetime;
        assert_eq!(
            seal_codec.open(&value, end).unwrap_err(),
            RejectReason::Expired
        );
    }

    // Chunked and joined back.
    let cookies = chunk::split(NAME, &value);
    assert_eq!(cookies.len(), chunk::chunk_count(NAME.len(), value.len()));
    assert!(
        cookies
            .iter()
            .all(|(n, v)| n.len() + 1 + v.len() <= MAX_COOKIE_PAIR_LEN)
    );
    let header = cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let joined = chunk::read(
        std::iter::once(header.as_bytes()),
        NAME,
        cookies.len().max(2),
    );
    assert_eq!(joined.value, Some(Ok(Cow::Borrowed(value.as_str()))));

    // Mutations: none of them may open.
    let mutations = 1 + r.below(4);
    for _ in 0..mutations {
        if r.is_empty() && mutations > 1 {
            break;
        }
        let (what, mutated) = mutate(&value, &decoded, &mut r);
        if mutated == value {
            continue;
        }
        if let Ok(o) = seal_codec.open(&mutated, now) {
            panic!(
                "mutation {what} of a sealed value opened (key index {}): {value} -> {mutated}",
                o.key_index()
            );
        }
    }
}

const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. ;\0";

/// One mutation of a sealed value chosen by the fuzzer.
fn mutate(value: &str, decoded: &[u8], r: &mut Bytes<'_>) -> (&'static str, String) {
    let len = value.len();
    let at = r.below(len + 1);
    let mut bytes = value.as_bytes().to_vec();
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    match r.byte() % 7 {
        0 => {
            let i = at % len;
            bytes[i] ^= 1 << (r.byte() % 8);
            ("flip a bit of a character", text(bytes))
        }
        1 => ("truncate", value[..at.min(len - 1)].to_owned()),
        2 => {
            bytes.insert(at, CHARSET[r.below(CHARSET.len())]);
            ("insert a character", text(bytes))
        }
        3 => {
            bytes[at % len] = CHARSET[r.below(CHARSET.len())];
            ("replace a character", text(bytes))
        }
        4 => {
            bytes.remove(at % len);
            ("remove a character", text(bytes))
        }
        5 => {
            let mut raw = decoded.to_vec();
            let i = at % raw.len();
            raw[i] ^= 1 << (r.byte() % 8);
            (
                "flip a bit of the decoded value",
                URL_SAFE_NO_PAD.encode(raw),
            )
        }
        _ => {
            // Re-encode after cutting or extending the decoded bytes.
            let mut raw = decoded.to_vec();
            if r.byte() & 1 == 0 {
                raw.truncate(at % raw.len());
            } else {
                let extra = 1 + usize::from(r.byte() % 16);
                raw.extend_from_slice(r.take(extra));
                raw.push(0);
            }
            ("resize the decoded value", URL_SAFE_NO_PAD.encode(raw))
        }
    }
}
