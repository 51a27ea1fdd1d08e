//! Recently opened cookie values, kept per thread, so that a request bringing
//! the same cookie as a recent one skips base64, HKDF, AES-GCM and the JSON
//! scan.
//!
//! A browser sends the same cookie with every request until a response
//! changes it: a page and the API calls it makes, or a series of reads, all
//! open the same value. Opening costs about 1 µs for a small session and
//! 4 µs for 1.5 KiB (BENCHMARKS.md, codec); a hit costs a table lookup, a
//! constant-time comparison and a copy of the session.
//!
//! What keeps it safe:
//! * Only values that *opened* are stored: a forged, expired or broken cookie
//!   never enters the table, so it cannot be used to fill or poison it.
//! * A hit must equal the stored value byte for byte, compared in constant
//!   time: the cookie is a bearer token, and an early-exit comparison would
//!   tell a prober how much of a stored value it had guessed.
//! * Each [`SessionConfig`](crate::SessionConfig) has its own owner id: a
//!   value opened under one key ring, context or body limit never answers for
//!   another configuration. Configurations are immutable, so an entry never
//!   outlives the keys that opened it.
//! * The expiry checks run again on every hit, with the request's time: a
//!   cached session expires exactly when its cookie does.
//! * Bounded: [`SLOTS`] entries per thread, each holding a value of at most
//!   [`MAX_CACHED_VALUE_LEN`] bytes and its session, whose body is smaller
//!   still (it is sealed inside the value) — at most ~260 KiB per thread.
//!
//! The table is direct-mapped: the slot comes from characters of the
//! cookie's random nonce, and a new value evicts whatever was in its slot.
//! Under many concurrent users most lookups miss; a miss costs a few
//! nanoseconds and the copy stored after a successful open.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use subtle::ConstantTimeEq as _;

use crate::format::OpenedSession;

/// Entries per thread: a power of two, so the slot is the top bits of a hash.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_BITS: u32 = 5;

/// Longest value cached: one browser cookie's worth. Chunked sessions are
/// rarer and dearer to keep.
pub(crate) const MAX_CACHED_VALUE_LEN: usize = 4096;

/// Where in a sealed value the slot index is read: base64 characters 8..24
/// encode bytes 6..18 of the decoded header, all of them from the cookie's
/// 24 random nonce bytes (the header is version, 4-byte key id, nonce).
const SLOT_BYTES: std::ops::Range<usize> = 8..24;

/// One configuration's view of the per-thread table. Clones share the owner
/// id: they belong to clones of one immutable configuration.
#[derive(Debug, Clone)]
pub(crate) struct OpenCache {
    owner: u64,
}

struct Entry {
    owner: u64,
    value: Box<str>,
    opened: OpenedSession,
}

thread_local! {
    static TABLE: RefCell<[Option<Entry>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

impl OpenCache {
    /// A cache view with an owner id no other configuration has.
    pub(crate) fn new() -> OpenCache {
        static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);
        OpenCache {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The session `value` opened to, if this thread opened it recently for
    /// this configuration. The caller checks the times again.
    pub(crate) fn get(&self, value: &str) -> Option<OpenedSession> {
        let slot = slot_of(value)?;
        // A table being torn down with its thread, or borrowed further up
        // the stack, is a miss: the cache never makes a request fail.
        TABLE
            .try_with(|table| {
                let table = table.try_borrow().ok()?;
                let entry = table[slot].as_ref()?;
                (entry.owner == self.owner && equal_in_constant_time(&entry.value, value))
                    .then(|| entry.opened.clone())
            })
            .ok()
            .flatten()
    }

    /// Remembers that `value` opened to `opened`.
    pub(crate) fn put(&self, value: &str, opened: &OpenedSession) {
        let Some(slot) = slot_of(value) else {
            return;
        };
        let entry = Entry {
            owner: self.owner,
            value: value.into(),
            opened: opened.clone(),
        };
        let _ = TABLE.try_with(|table| {
            if let Ok(mut table) = table.try_borrow_mut() {
                table[slot] = Some(entry);
            }
        });
    }
}

/// The slot of a cacheable value; `None` for values too long (or too short
/// to be a sealed value).
fn slot_of(value: &str) -> Option<usize> {
    if value.len() > MAX_CACHED_VALUE_LEN {
        return None;
    }
    let bytes = value.as_bytes().get(SLOT_BYTES)?;
    let (low, high) = bytes.split_at(8);
    let mixed = u64::from_le_bytes(low.try_into().ok()?)
        ^ u64::from_le_bytes(high.try_into().ok()?).rotate_left(29);
    // Fibonacci hashing: the top bits of the product depend on every input bit.
    Some((mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOT_BITS)) as usize)
}

/// Whether `a == b`, in time that depends on their lengths only.
fn equal_in_constant_time(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    // XOR-accumulate eight bytes at a time: no branch on the contents.
    let mut difference = 0u64;
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        difference |= u64::from(x ^ y);
    }
    for (x, y) in a_words.zip(b_words) {
        let x = u64::from_ne_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_ne_bytes(y.try_into().expect("8 bytes"));
        difference |= x ^ y;
    }
    difference.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Key, Keyring, SessionCodec, SessionData};

    const NOW: u64 = 1_700_000_000;

    fn sealed(codec: &SessionCodec, user: &str) -> (String, OpenedSession) {
        let mut data = SessionData::new();
        data.insert("user", user).unwrap();
        let value = codec.seal(&data, NOW, NOW + 60).unwrap();
        let opened = codec.open(&value, NOW).unwrap();
        (value, opened)
    }

    fn codec() -> SessionCodec {
        SessionCodec::new(Keyring::single(Key::generate()), "session")
    }

    #[test]
    fn a_stored_value_is_found_by_its_owner_only() {
        let codec = codec();
        let (value, opened) = sealed(&codec, "alice");
        let (mine, other) = (OpenCache::new(), OpenCache::new());
        assert!(mine.get(&value).is_none(), "nothing stored yet");
        mine.put(&value, &opened);
        let hit = mine.get(&value).expect("stored on this thread");
        assert_eq!(hit.data(), opened.data());
        assert_eq!(hit.expires_at(), opened.expires_at());
        assert!(other.get(&value).is_none(), "another configuration");
        std::thread::scope(|s| {
            s.spawn(|| assert!(mine.get(&value).is_none(), "another thread"));
        });
    }

    #[test]
    fn a_value_differing_in_any_byte_misses() {
        let codec = codec();
        let (value, opened) = sealed(&codec, "alice");
        let cache = OpenCache::new();
        cache.put(&value, &opened);
        for i in 0..value.len() {
            let mut altered = value.clone().into_bytes();
            altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).unwrap();
            assert!(cache.get(&altered).is_none(), "byte {i} changed");
        }
        assert!(cache.get(&value[..value.len() - 1]).is_none(), "truncated");
    }

    #[test]
    fn a_new_value_in_the_same_slot_evicts_the_old_one() {
        let codec = codec();
        let cache = OpenCache::new();
        let (first, opened) = sealed(&codec, "alice");
        cache.put(&first, &opened);
        let rival = std::iter::repeat_with(|| sealed(&codec, "bob"))
            .find(|(value, _)| slot_of(value) == slot_of(&first))
            .expect("one value in 32 shares the slot");
        cache.put(&rival.0, &rival.1);
        assert!(cache.get(&first).is_none());
        assert!(cache.get(&rival.0).is_some());
    }

    #[test]
    fn values_longer_than_one_cookie_are_not_kept() {
        let long = "A".repeat(MAX_CACHED_VALUE_LEN + 1);
        assert_eq!(slot_of(&long), None);
        assert!(slot_of(&long[..MAX_CACHED_VALUE_LEN]).is_some());
        assert_eq!(slot_of("short"), None);
    }

    #[test]
    fn slots_spread_over_the_table() {
        let codec = codec();
        let mut used = [false; SLOTS];
        for _ in 0..2_000 {
            used[slot_of(&sealed(&codec, "x").0).unwrap()] = true;
        }
        assert!(used.iter().all(|&u| u), "every slot is reachable: {used:?}");
    }

    #[test]
    fn constant_time_equality_is_equality() {
        let cases = ["", "a", "abcdefgh", "abcdefghi", "abcdefghijklmnopq"];
        for a in cases {
            for b in cases {
                assert_eq!(equal_in_constant_time(a, b), a == b, "{a:?} vs {b:?}");
            }
        }
        assert!(!equal_in_constant_time("abcdefghX", "abcdefghY"));
        assert!(!equal_in_constant_time("Xbcdefghi", "Ybcdefghi"));
    }
}
