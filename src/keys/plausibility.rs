//! Whether a configured key entry is plausibly what it must be: 32 to 64
//! bytes from a CSPRNG, base64-encoded.
//!
//! Operators make two mistakes that a length check lets through: a *path*
//! in `SESSION_KEYS` (`/etc/secrets/app/keys` decodes as base64 to 32
//! bytes), and a *passphrase* (`changeme-changeme-…`, or a sentence run
//! through `base64`). Either becomes a key that anyone who reads the
//! deployment's manifest, or guesses, can forge sessions with.
//!
//! The tests below look at the entry's text and at its decoded bytes. Each
//! is chosen so that a genuinely random key fails it with a probability
//! far below 10⁻⁹ (the numbers are with each test), while the mistakes above
//! fail at least one:
//!
//! * the text has both upper- and lower-case letters (a random key of 43
//!   characters or more lacks one with probability < 2·10⁻¹⁰);
//! * the text uses at least half as many distinct characters as a random
//!   text of its length is expected to (43 random characters use ~31.5 of
//!   the 64; fewer than 16 has probability < 10⁻¹²);
//! * the bytes are not all printable ASCII (text that was base64-encoded:
//!   32 random bytes are all printable with probability (95/256)³² < 2·10⁻¹⁴);
//! * the bytes take at least half as many distinct values as there are bytes,
//!   and their successive differences too (repeated or sequential patterns,
//!   such as the bytes 0, 1, 2, … of the format's test vectors);
//! * the text is not a rooted path with two or more of the directory names
//!   secrets are mounted under (`/run/secrets/…`, `/etc/…/keys`): a random
//!   key holds two such `/name/` segments with probability far below 10⁻¹²;
//! * the text does not contain, in any letter case, a word of eight letters
//!   or more that passphrases are made of (`password`, `changeme`, …): one
//!   given 8-letter word appears in the 88 characters of a 64-byte key with
//!   probability below 81 × 32⁻⁸ < 10⁻¹⁰, so the list of seven stays below
//!   10⁻⁹.
//!
//! What it cannot do: tell a mixed-case passphrase of ordinary words
//! (`CorrectHorseBatteryStaple…`) from a key with the odds above — 43
//! characters of such text are not improbable enough under the uniform
//! model. It catches the common mistakes; keys still must come from a CSPRNG
//! (`cargo run --example keygen`).

/// Directory names that secrets are mounted under: two of them as whole
/// segments of a rooted text make it a path.
const SECRET_DIRECTORIES: &[&str] = &[
    "etc", "run", "var", "secrets", "secret", "keys", "config", "srv", "opt", "home", "mnt",
    "data", "vault", "private", "certs",
];

/// Words of eight letters or more that a passphrase is made of and a random
/// key almost never contains.
const PASSPHRASE_WORDS: &[&str] = &[
    "password",
    "passphrase",
    "changeme",
    "production",
    "development",
    "sessionkey",
    "secretkey",
];

/// What is wrong with an entry that is not plausibly a random key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Implausible {
    /// The text looks like a file path.
    Path,
    /// Not random: text, a passphrase, or a repeated or sequential pattern.
    NotRandom,
}

/// Checks the entry's text before it is decoded: a path is recognised even
/// when it is not base64 at all (`/etc/keys.txt`).
pub(crate) fn check_text(text: &str) -> Result<(), Implausible> {
    let letters = |f: fn(&char) -> bool| text.chars().any(|c| f(&c));
    let mixed_case = letters(char::is_ascii_uppercase) && letters(char::is_ascii_lowercase);
    let symbols = text.trim_end_matches('=');
    let distinct = {
        let mut seen = [false; 128];
        for b in symbols.bytes().filter(u8::is_ascii) {
            seen[usize::from(b)] = true;
        }
        seen.iter().filter(|s| **s).count()
    };
    // Expected distinct symbols of a random base64 text of this length.
    let len = symbols.len() as f64;
    let expected = 64.0 * (1.0 - (63.0_f64 / 64.0).powf(len));
    if is_a_mount_path(text) {
        return Err(Implausible::Path);
    }
    let lower = text.to_ascii_lowercase();
    let passphrase = PASSPHRASE_WORDS.iter().any(|w| lower.contains(w));
    if mixed_case && distinct as f64 >= expected / 2.0 && !passphrase {
        return Ok(());
    }
    Err(if looks_like_a_path(text) {
        Implausible::Path
    } else {
        Implausible::NotRandom
    })
}

/// A rooted text with two or more [`SECRET_DIRECTORIES`] as whole segments.
fn is_a_mount_path(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('/') else {
        return false;
    };
    let known = rest
        .split('/')
        .filter(|segment| {
            SECRET_DIRECTORIES
                .iter()
                .any(|d| segment.eq_ignore_ascii_case(d))
        })
        .count();
    known >= 2
}

/// Checks the decoded bytes.
pub(crate) fn check_bytes(bytes: &[u8]) -> Result<(), Implausible> {
    let printable = bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    let half = bytes.len().div_ceil(2);
    let differences: Vec<u8> = bytes.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    if printable
        || distinct_bytes(bytes) < half
        || distinct_bytes(&differences) < differences.len().div_ceil(2)
    {
        return Err(Implausible::NotRandom);
    }
    Ok(())
}

/// A leading `/`, `./`, `../` or `~/` and a second `/` after it, or a
/// file-name extension: what a path looks like and a key does not need to.
pub(crate) fn looks_like_a_path(text: &str) -> bool {
    let rooted = ["/", "./", "../", "~/"]
        .iter()
        .find_map(|start| text.strip_prefix(start));
    rooted.is_some_and(|rest| rest.contains('/'))
        || text.rsplit_once('.').is_some_and(|(stem, extension)| {
            !stem.is_empty()
                && (1..=4).contains(&extension.len())
                && extension.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

fn distinct_bytes(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    for &b in bytes {
        seen[usize::from(b)] = true;
    }
    seen.iter().filter(|s| **s).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    fn check(text: &str) -> Result<(), Implausible> {
        check_text(text)?;
        let bytes = STANDARD.decode(text).expect("the table's base64 decodes");
        check_bytes(&bytes)
    }

    #[test]
    fn mistakes_are_refused() {
        let sentence = STANDARD.encode("this is my long and very secret session password!!");
        let sequential = STANDARD.encode((0u8..32).collect::<Vec<_>>());
        let repeated = STANDARD.encode([0xA5u8; 32]);
        let two_bytes = STANDARD.encode([0x12u8, 0xF0].repeat(16));
        // 32 distinct printable characters: only "all printable" refuses it.
        let varied_text = STANDARD.encode("K8#pZ2!mQ7@vR4$wT9%xY1^zA5&bC3*d");
        let rows: &[(&str, &str, Implausible)] = &[
            (
                "a path",
                "/etc/secrets/client-session/production/keys",
                Implausible::Path,
            ),
            (
                "a relative path",
                "./secrets/session/keys",
                Implausible::Path,
            ),
            (
                "a mixed-case mount path",
                "/run/secrets/MyApp/SessionKeys/ProductionKey",
                Implausible::Path,
            ),
            (
                "a mixed-case mount path without a passphrase word",
                "/run/secrets/WebShop/CookieSigning/Primary9",
                Implausible::Path,
            ),
            (
                "a mixed-case passphrase with a telling word",
                "CorrectHorseBatteryStapleMyVeryLongPassword2024",
                Implausible::NotRandom,
            ),
            (
                "a passphrase with a long dotted tail is no path",
                "changeme.changeme-changeme-changeme",
                Implausible::NotRandom,
            ),
            (
                "a passphrase ending in a dotted non-word is no path",
                "correct-horse-battery-staple.a-b",
                Implausible::NotRandom,
            ),
            (
                "base64 of varied printable text",
                &varied_text,
                Implausible::NotRandom,
            ),
            (
                "a passphrase",
                "changeme-changeme-changeme-changeme-changeme",
                Implausible::NotRandom,
            ),
            (
                "a capitalised passphrase",
                "CorrectHorseBatteryStapleCorrectHorseBattery",
                Implausible::NotRandom,
            ),
            ("base64 of a sentence", &sentence, Implausible::NotRandom),
            ("bytes 0, 1, 2, …", &sequential, Implausible::NotRandom),
            ("one byte repeated", &repeated, Implausible::NotRandom),
            ("two bytes repeated", &two_bytes, Implausible::NotRandom),
        ];
        for (name, text, expected) in rows {
            assert_eq!(check(text), Err(*expected), "case {name:?}");
        }
    }

    /// 32 non-printable bytes with exactly `values` distinct values, in a
    /// seeded order; asserts how many distinct successive differences it has.
    fn bytes_with(values: usize, seed: u64) -> (Vec<u8>, usize) {
        let mut state = seed | 1;
        let mut bytes: Vec<u8> = (0..32).map(|i| 0x80 + (i % values) as u8 * 3).collect();
        for i in (1..bytes.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let differences = bytes.windows(2).map(|w| w[1].wrapping_sub(w[0]));
        (
            bytes.clone(),
            distinct_bytes(&differences.collect::<Vec<u8>>()),
        )
    }

    /// The two distinctness thresholds are exact: half the bytes (16 of 32)
    /// distinct values pass, 15 do not; likewise 16 of 31 distinct
    /// differences pass and 15 do not.
    #[test]
    fn the_distinctness_thresholds_are_exact() {
        // 16 (then 15) distinct values in a seeded order with at least 16
        // distinct differences, so only the value count decides.
        let with_values = |values: usize| {
            (1..10_000)
                .map(|seed| bytes_with(values, seed))
                .find(|(_, d)| *d >= 16)
                .map(|(b, _)| b)
                .expect("a seed with varied differences")
        };
        let sixteen = with_values(16);
        assert_eq!(distinct_bytes(&sixteen), 16);
        assert_eq!(check_bytes(&sixteen), Ok(()), "16 distinct values");
        let fifteen = with_values(15);
        assert_eq!(distinct_bytes(&fifteen), 15);
        assert_eq!(
            check_bytes(&fifteen),
            Err(Implausible::NotRandom),
            "15 distinct values"
        );

        // 32 distinct values rising by steps drawn from `count` distinct
        // sizes (1..=count, then steps of 1): exactly `count` distinct differences.
        let with_differences = |count: u8| {
            let steps: Vec<u8> = (1..=count)
                .chain(std::iter::repeat_n(1, 31 - usize::from(count)))
                .collect();
            let mut bytes = vec![0x10u8];
            for step in steps {
                bytes.push(bytes[bytes.len() - 1].wrapping_add(step));
            }
            assert_eq!(distinct_bytes(&bytes), 32);
            bytes
        };
        assert_eq!(check_bytes(&with_differences(16)), Ok(()), "16 differences");
        assert_eq!(
            check_bytes(&with_differences(15)),
            Err(Implausible::NotRandom),
            "15 differences"
        );
    }

    #[test]
    fn a_path_that_is_not_base64_is_recognised_from_its_text() {
        for path in ["/etc/keys.txt", "/run/secrets/session-keys", "keys.env"] {
            assert_eq!(check_text(path), Err(Implausible::Path), "{path}");
        }
    }

    /// 100,000 random keys of each accepted length, from the OS generator:
    /// none is refused (each test's false-refusal rate is below 10⁻⁹).
    #[test]
    fn random_keys_are_accepted() {
        use rand::TryRng as _;
        for len in [32usize, 48, 64] {
            for _ in 0..100_000 {
                let mut bytes = vec![0u8; len];
                rand::rngs::SysRng.try_fill_bytes(&mut bytes).unwrap();
                let text = STANDARD.encode(&bytes);
                assert_eq!(check(&text), Ok(()), "a random {len}-byte key: {text}");
                let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
                assert_eq!(check_text(&url), Ok(()), "URL-safe: {url}");
            }
        }
    }
}
