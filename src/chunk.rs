//! Splitting a sealed value across several cookies, and joining it back.
//!
//! Browsers keep at most 4096 bytes of `name=value` per cookie. A value that
//! fits travels as one cookie, `<name>=<value>`. A longer one is split into
//! `n ≥ 2` parts sent as
//!
//! ```text
//! <name>=<n>.<part 0>    <name>.1=<part 1>    …    <name>.<n-1>=<part n-1>
//! ```
//!
//! `n` is decimal without leading zeros. A base64url value never contains a
//! `.`, so the dot tells a reader the cookie is chunked. Two cookies of the
//! session's name, or two of one chunk, make the whole session unreadable
//! ([`RejectReason::Duplicate`]): a reader never picks one of them. The reader checks `n`
//! against its cap *before* looking up any other cookie, and rejects the
//! session when a part is missing or the count is not canonical. Scanning is
//! linear in the size of the `Cookie` header and allocates only the joined
//! value, whose size is bounded by `cap × 4096`.

use std::borrow::Cow;

use crate::error::RejectReason;

/// Largest `name=value` a browser stores for one cookie, in bytes.
pub const MAX_COOKIE_PAIR_LEN: usize = 4096;

/// What a request carried under a session cookie's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCookie<'h> {
    /// The joined value; `None` when the request had no cookie of that name.
    pub value: Option<Result<Cow<'h, str>, RejectReason>>,
    /// The highest `N` of a `<name>.N` cookie present with `1 ≤ N ≤ cap`, or 0.
    /// A response that writes fewer chunks expires the ones up to here.
    pub highest_chunk: usize,
}

/// Reads the session cookie `name` from the values of a request's `Cookie`
/// headers, joining chunks, with at most `max_chunks` parts.
#[must_use]
pub fn read<'h, I>(cookie_headers: I, name: &str, max_chunks: usize) -> IncomingCookie<'h>
where
    I: Iterator<Item = &'h [u8]> + Clone,
{
    let name = name.as_bytes();
    let mut first = None;
    let mut duplicate = false;
    let mut highest_chunk = 0;
    for (cookie_name, value) in pairs(cookie_headers.clone()) {
        if cookie_name == name {
            duplicate |= first.replace(value).is_some();
        } else if let Some(i) = chunk_index(cookie_name, name)
            && i <= max_chunks
        {
            highest_chunk = highest_chunk.max(i);
        }
    }
    let Some(first) = first else {
        return IncomingCookie {
            value: None,
            highest_chunk,
        };
    };
    // Never pick one of two values: which one a browser sends first is up to
    // it, and a cookie tossed from a sibling domain counts on being picked.
    let value = if duplicate {
        Err(RejectReason::Duplicate)
    } else {
        join(cookie_headers, name, first, max_chunks)
    };
    IncomingCookie {
        value: Some(value),
        highest_chunk,
    }
}

fn join<'h, I>(
    cookie_headers: I,
    name: &[u8],
    first: &'h [u8],
    max_chunks: usize,
) -> Result<Cow<'h, str>, RejectReason>
where
    I: Iterator<Item = &'h [u8]> + Clone,
{
    let Some(dot) = memchr::memchr(b'.', first) else {
        return utf8(first).map(Cow::Borrowed);
    };
    let count = parse_canonical(&first[..dot]).ok_or(RejectReason::Malformed)?;
    if count < 2 || count > max_chunks {
        return Err(RejectReason::Malformed);
    }
    let mut parts: Vec<Option<&[u8]>> = vec![None; count];
    parts[0] = Some(&first[dot + 1..]);
    for (n, v) in pairs(cookie_headers) {
        if let Some(i) = chunk_index(n, name)
            && i < count
            && parts[i].replace(v).is_some()
        {
            return Err(RejectReason::Duplicate);
        }
    }
    let mut joined = String::with_capacity(parts.iter().flatten().map(|p| p.len()).sum());
    for part in parts {
        let part = part.ok_or(RejectReason::Malformed)?;
        if part.is_empty() || part.len() > MAX_COOKIE_PAIR_LEN {
            return Err(RejectReason::Malformed);
        }
        joined.push_str(utf8(part)?);
    }
    Ok(Cow::Owned(joined))
}

/// Splits `value` into the `(name, value)` cookies to send for `name`.
///
/// Every `name=value` pair fits in 4096 bytes. Parts are cut on character
/// boundaries, so any string splits and joins back (sealed values are ASCII).
#[must_use]
pub fn split(name: &str, value: &str) -> Vec<(String, String)> {
    if name.len() + 1 + value.len() <= MAX_COOKIE_PAIR_LEN {
        return vec![(name.to_owned(), value.to_owned())];
    }
    let mut count = chunk_count(name.len(), value.len());
    let parts = loop {
        let capacity = MAX_COOKIE_PAIR_LEN
            .saturating_sub(name.len() + 2 + decimal_digits(count))
            .max(4);
        let parts = cut(value, capacity);
        if parts.len() <= count {
            break parts;
        }
        count = parts.len();
    };
    let mut cookies = Vec::with_capacity(parts.len());
    cookies.push((name.to_owned(), format!("{}.{}", parts.len(), parts[0])));
    for (i, part) in parts.iter().enumerate().skip(1) {
        cookies.push((format!("{name}.{i}"), (*part).to_owned()));
    }
    cookies
}

/// Cuts `value` into parts of at most `capacity` bytes, on character boundaries.
fn cut(value: &str, capacity: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut end = capacity.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (part, tail) = rest.split_at(end);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// How many chunks a value of `value_len` bytes needs under `name`.
#[must_use]
pub fn chunk_count(name_len: usize, value_len: usize) -> usize {
    if name_len + 1 + value_len <= MAX_COOKIE_PAIR_LEN {
        return 1;
    }
    // Every chunk's pair is at most name + '=' + digits(n) + '.' + part (the
    // first) or name + '.' + digits(i) + '=' + part, with i < n.
    let mut count = 2;
    loop {
        let overhead = name_len + 2 + decimal_digits(count);
        let capacity = MAX_COOKIE_PAIR_LEN.saturating_sub(overhead).max(1);
        let needed = value_len.div_ceil(capacity);
        if needed <= count {
            return count;
        }
        count = needed;
    }
}

/// Total bytes of all `name=value` pairs [`split`] makes of a value of
/// `value_len` bytes under a name of `name_len` bytes.
#[must_use]
pub fn total_pair_bytes(name_len: usize, value_len: usize) -> usize {
    let count = chunk_count(name_len, value_len);
    if count == 1 {
        return name_len + 1 + value_len;
    }
    let separators = count * (name_len + 2);
    let indices = decimal_digits(count) + (1..count).map(decimal_digits).sum::<usize>();
    value_len + separators + indices
}

/// `name=value` pairs of `Cookie` header values, trimmed; pairs without `=` are skipped.
fn pairs<'h>(
    headers: impl Iterator<Item = &'h [u8]>,
) -> impl Iterator<Item = (&'h [u8], &'h [u8])> {
    headers.flat_map(|header| HeaderPairs { rest: Some(header) })
}

/// The pairs of one `Cookie` header. `memchr` finds the separators: the
/// header is scanned on every request, and most of it is the session's own
/// long value, which a byte-at-a-time split walked through at ~12
/// instructions per byte.
struct HeaderPairs<'h> {
    /// What follows the last `;` consumed; `None` after the last pair.
    rest: Option<&'h [u8]>,
}

impl<'h> Iterator for HeaderPairs<'h> {
    type Item = (&'h [u8], &'h [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let pair = match memchr::memchr(b';', rest) {
                Some(semicolon) => {
                    self.rest = Some(&rest[semicolon + 1..]);
                    &rest[..semicolon]
                }
                None => {
                    self.rest = None;
                    rest
                }
            };
            if let Some(eq) = memchr::memchr(b'=', pair) {
                return Some((pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii()));
            }
        }
    }
}

/// `Some(i)` when `cookie_name` is `<name>.<i>` with canonical decimal `i ≥ 1`.
fn chunk_index(cookie_name: &[u8], name: &[u8]) -> Option<usize> {
    let suffix = cookie_name.strip_prefix(name)?.strip_prefix(b".")?;
    parse_canonical(suffix).filter(|&i| i >= 1)
}

/// Decimal without sign or leading zeros, at most 4 digits (no cap is larger).
fn parse_canonical(digits: &[u8]) -> Option<usize> {
    let canonical = !digits.is_empty()
        && digits.len() <= 4
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    canonical.then(|| {
        digits
            .iter()
            .fold(0, |n, &d| n * 10 + usize::from(d - b'0'))
    })
}

fn decimal_digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn utf8(bytes: &[u8]) -> Result<&str, RejectReason> {
    std::str::from_utf8(bytes).map_err(|_| RejectReason::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `Cookie` header a browser sends back for `split`'s cookies.
    fn cookie_header(cookies: &[(String, String)]) -> String {
        cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn read_str<'h>(header: &'h str, max: usize) -> IncomingCookie<'h> {
        read(std::iter::once(header.as_bytes()), "session", max)
    }

    #[test]
    fn reading_table() {
        let ok = |v: &'static str| Some(Ok(Cow::Borrowed(v)));
        let bad = Some(Err(RejectReason::Malformed));
        type Expected = Option<Result<Cow<'static, str>, RejectReason>>;
        let cases: &[(&str, &str, Expected, usize)] = &[
            ("absent", "other=1; x=2", None, 0),
            ("single", "a=1; session=abc; b=2", ok("abc"), 0),
            ("spaces trimmed", "  session = abc ;x=1", ok("abc"), 0),
            (
                "chunked",
                "session=3.ab; session.2=ef; session.1=cd",
                Some(Ok(Cow::Owned("abcdef".into()))),
                2,
            ),
            ("missing part", "session=3.ab; session.2=ef", bad.clone(), 2),
            ("count of one", "session=1.ab", bad.clone(), 0),
            (
                "leading zero",
                "session=02.ab; session.1=cd",
                bad.clone(),
                1,
            ),
            ("over the cap", "session=5.ab; session.1=cd", bad.clone(), 1),
            ("absurd count", "session=1000000000.ab", bad.clone(), 0),
            (
                "non-canonical chunk name",
                "session=2.ab; session.01=cd",
                bad.clone(),
                0,
            ),
            ("empty part", "session=2.ab; session.1=", bad.clone(), 1),
            (
                "stale chunks only",
                "session.1=x; session.3=y; session.9=z",
                None,
                3,
            ),
            (
                "two values: neither",
                "session=first; session=second",
                Some(Err(RejectReason::Duplicate)),
                0,
            ),
            (
                "two values of a chunk: neither",
                "session=2.ab; session.1=cd; session.1=xx",
                Some(Err(RejectReason::Duplicate)),
                1,
            ),
            (
                "a stale chunk at the count is ignored",
                "session=2.ab; session.1=cd; session.2=x",
                Some(Ok(Cow::Owned("abcd".into()))),
                2,
            ),
            (
                "a duplicate stale chunk at the count is ignored",
                "session=2.ab; session.1=cd; session.2=x; session.2=y",
                Some(Ok(Cow::Owned("abcd".into()))),
                2,
            ),
            (
                "a duplicate stale chunk beyond the count is ignored",
                "session=2.ab; session.1=cd; session.3=x; session.3=y",
                Some(Ok(Cow::Owned("abcd".into()))),
                3,
            ),
        ];
        for (name, header, value, highest) in cases {
            let got = read_str(header, 4);
            assert_eq!(&got.value, value, "case {name:?}");
            assert_eq!(got.highest_chunk, *highest, "case {name:?} highest chunk");
        }
    }

    #[test]
    fn non_utf8_values_are_malformed_not_a_panic() {
        let header: &[u8] = b"session=\xff\xfe; session.1=x";
        let got = read(std::iter::once(header), "session", 4);
        assert_eq!(got.value, Some(Err(RejectReason::Malformed)));
    }

    #[test]
    fn several_cookie_headers_are_read_as_one() {
        let headers: [&[u8]; 2] = [b"session=2.ab", b"x=1; session.1=cd"];
        let got = read(headers.into_iter(), "session", 4);
        assert_eq!(got.value, Some(Ok(Cow::Owned("abcd".into()))));
    }

    #[test]
    fn split_fits_every_pair_and_joins_back() {
        for len in [10, 4088, 4089, 4090, 8000, 8180, 8200, 20_000] {
            let value: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let cookies = split("session", &value);
            assert_eq!(cookies.len(), chunk_count(7, len), "len {len}");
            for (n, v) in &cookies {
                assert!(
                    n.len() + 1 + v.len() <= MAX_COOKIE_PAIR_LEN,
                    "len {len}: {n}"
                );
            }
            let header = cookie_header(&cookies);
            let back = read(std::iter::once(header.as_bytes()), "session", 10);
            assert_eq!(back.value.unwrap().unwrap(), value, "len {len}");
        }
    }

    #[test]
    fn non_ascii_values_split_on_character_boundaries_and_join_back() {
        let value = "a".to_owned() + &"é".repeat(2999);
        let cookies = split("s", &value);
        assert!(
            cookies
                .iter()
                .all(|(n, v)| n.len() + 1 + v.len() <= MAX_COOKIE_PAIR_LEN)
        );
        let header = cookie_header(&cookies);
        let back = read(std::iter::once(header.as_bytes()), "s", 10);
        assert_eq!(back.value.unwrap().unwrap(), value);
    }

    #[test]
    fn a_value_that_just_fits_is_one_cookie() {
        let value = "a".repeat(MAX_COOKIE_PAIR_LEN - "session=".len());
        assert_eq!(split("session", &value).len(), 1);
        let value = "a".repeat(MAX_COOKIE_PAIR_LEN - "session=".len() + 1);
        assert_eq!(split("session", &value).len(), 2);
    }
}
