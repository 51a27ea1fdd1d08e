//! Loading a key ring from environment variables, the way operators deploy.
//!
//! Two forms, exactly one of which must be set:
//!
//! * `SESSION_KEYS`: base64 keys separated by commas, primary first. Standard
//!   or URL-safe alphabet, padding optional, whitespace around entries ignored.
//! * `SESSION_KEYS_FILE`: the path of a file with one base64 key per line
//!   (blank lines and lines starting with `#` ignored) — the form Docker and
//!   Kubernetes secrets mount.
//!
//! Every error names the variable (or file) and the entry's position, and
//! never any part of the entry itself.

use std::ffi::OsString;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, GeneralPurpose as Engine};
use zeroize::Zeroizing;

use crate::error::{ConfigError, KeyProblem};
use crate::key::{Key, MAX_KEY_LEN, MIN_KEY_LEN};
use crate::keyring::Keyring;

/// Default name of the variable holding a comma-separated key list.
pub const DEFAULT_KEYS_VAR: &str = "SESSION_KEYS";
/// Default name of the variable naming a key file.
pub const DEFAULT_KEYS_FILE_VAR: &str = "SESSION_KEYS_FILE";

/// Where to find the key ring: the names of the two environment variables.
///
/// ```
/// use client_session::KeySource;
/// // An application that namespaces its variables:
/// let source = KeySource::named("MYAPP_SESSION_KEYS", "MYAPP_SESSION_KEYS_FILE");
/// let keyring = source.load_from(|name| match name {
///     "MYAPP_SESSION_KEYS" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
///     _ => None,
/// })?;
/// assert_eq!(keyring.keys().len(), 1);
/// # Ok::<(), client_session::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    keys_var: String,
    file_var: String,
}

impl Default for KeySource {
    /// `SESSION_KEYS` and `SESSION_KEYS_FILE`.
    fn default() -> Self {
        KeySource::named(DEFAULT_KEYS_VAR, DEFAULT_KEYS_FILE_VAR)
    }
}

impl KeySource {
    /// Uses other variable names, e.g. `MYAPP_SESSION_KEYS` and `MYAPP_SESSION_KEYS_FILE`.
    #[must_use]
    pub fn named(keys_var: impl Into<String>, file_var: impl Into<String>) -> KeySource {
        KeySource {
            keys_var: keys_var.into(),
            file_var: file_var.into(),
        }
    }

    /// Loads the key ring from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable or file, the entry and the problem.
    pub fn load(&self) -> Result<Keyring, ConfigError> {
        self.load_from(|name| std::env::var_os(name))
    }

    /// Loads the key ring through `lookup` instead of the process environment
    /// (for tests, or for applications with their own configuration system).
    ///
    /// # Errors
    /// As [`KeySource::load`].
    pub fn load_from(
        &self,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Keyring, ConfigError> {
        let keys = lookup(&self.keys_var).map(|v| self.unicode(&self.keys_var, v));
        let file = lookup(&self.file_var).map(|v| self.unicode(&self.file_var, v));
        match (keys, file) {
            (Some(_), Some(_)) => Err(ConfigError::KeysSetTwice {
                keys_var: self.keys_var.clone(),
                file_var: self.file_var.clone(),
            }),
            (None, None) => Err(ConfigError::KeysNotSet {
                keys_var: self.keys_var.clone(),
                file_var: self.file_var.clone(),
            }),
            (Some(list), None) => {
                let list = list?;
                let entries = list.split(',').map(str::trim).enumerate();
                parse_entries(&self.keys_var, entries.map(|(i, e)| (i + 1, e)), true)
            }
            (None, Some(path)) => {
                let path = path?;
                let text = std::fs::read_to_string(path.as_str()).map_err(|err| {
                    if looks_like_a_key(&path) {
                        ConfigError::KeyInsteadOfPath {
                            var: self.file_var.clone(),
                            keys_var: self.keys_var.clone(),
                        }
                    } else {
                        ConfigError::KeyFileUnreadable {
                            var: self.file_var.clone(),
                            path: path.to_string(),
                            reason: err.kind().to_string(),
                        }
                    }
                })?;
                let text = Zeroizing::new(text);
                let lines = text.lines().map(str::trim).enumerate();
                let entries = lines
                    .map(|(i, line)| (i + 1, line))
                    .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
                let source = format!("{} ({})", self.file_var, path.as_str());
                parse_entries(&source, entries, false)
            }
        }
    }

    fn unicode(&self, var: &str, value: OsString) -> Result<Zeroizing<String>, ConfigError> {
        value
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| ConfigError::NotUnicode {
                var: var.to_owned(),
            })
    }
}

/// Base64 in either alphabet, padding optional.
const LENIENT: Engine = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn parse_entries<'a>(
    source: &str,
    entries: impl Iterator<Item = (usize, &'a str)>,
    empty_is_error: bool,
) -> Result<Keyring, ConfigError> {
    let mut keys = Vec::new();
    for (position, entry) in entries {
        let invalid = |problem| ConfigError::InvalidKey {
            source: source.to_owned(),
            position,
            problem,
        };
        if entry.is_empty() {
            if empty_is_error {
                return Err(invalid(KeyProblem::Empty));
            }
            continue;
        }
        let bytes = decode_key(entry).ok_or_else(|| invalid(KeyProblem::NotBase64))?;
        keys.push(Key::from_bytes(&bytes).map_err(invalid)?);
    }
    Keyring::from_keys(source, keys)
}

/// Decodes base64 in either alphabet, padding optional. Every buffer that
/// holds key material is allocated once at its final size and wiped on drop.
fn decode_key(entry: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut standard = Zeroizing::new(String::with_capacity(entry.len()));
    standard.extend(entry.chars().map(|c| match c {
        '-' => '+',
        '_' => '/',
        c => c,
    }));
    let mut bytes = Zeroizing::new(Vec::with_capacity(entry.len()));
    LENIENT.decode_vec(standard.as_bytes(), &mut bytes).ok()?;
    Some(bytes)
}

/// Whether a value meant to be a path decodes as a plausible key, so that an
/// error message must not repeat it. (A path that happens to decode too is
/// merely not shown: erring towards silence.)
fn looks_like_a_key(value: &str) -> bool {
    decode_key(value.trim()).is_some_and(|k| (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&k.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2_URL_NO_PAD: &str =
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eXw";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Keyring, ConfigError> {
        KeySource::default().load_from(env(pairs))
    }

    #[test]
    fn a_list_with_whitespace_and_both_alphabets_loads_in_order() {
        let ring = load(&[("SESSION_KEYS", &format!(" {K1} ,\t{K2_URL_NO_PAD} "))]).unwrap();
        assert_eq!(ring.keys().len(), 2);
        assert_eq!(ring.primary().id().to_string(), "f48603fa");
    }

    #[test]
    fn errors_name_the_variable_and_position_but_never_the_entry() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "%%zz%%",
                "SESSION_KEYS",
                "SESSION_KEYS: key #2: the entry is not base64",
            ),
            (
                "c2hvcnQ=",
                "SESSION_KEYS",
                "SESSION_KEYS: key #2: the key is 5 bytes long",
            ),
            (
                "",
                "SESSION_KEYS",
                "SESSION_KEYS: key #2: the entry is empty",
            ),
        ];
        for (second, var, expected) in cases {
            let err = load(&[(var, &format!("{K1},{second}"))]).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with(expected), "case {second:?}: {shown}");
            assert!(
                second.is_empty() || !shown.contains(second),
                "case {second:?} leaked: {shown}"
            );
            assert!(!shown.contains(K1), "{shown}");
        }
    }

    #[test]
    fn too_long_and_duplicate_keys_are_refused() {
        let long = base64::engine::general_purpose::STANDARD.encode([7u8; 65]);
        let err = load(&[("SESSION_KEYS", &long)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SESSION_KEYS: key #1: the key is 65 bytes long; a key must be 32 to 64 bytes"
        );
        let err = load(&[("SESSION_KEYS", &format!("{K1},{K1}"))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SESSION_KEYS: key #2 is the same key as key #1 (same key id)"
        );
    }

    #[test]
    fn both_or_neither_variable_is_an_error() {
        let err = load(&[]).unwrap_err();
        assert!(matches!(err, ConfigError::KeysNotSet { .. }), "{err}");
        let err = load(&[("SESSION_KEYS", K1), ("SESSION_KEYS_FILE", "/x")]).unwrap_err();
        assert!(matches!(err, ConfigError::KeysSetTwice { .. }), "{err}");
    }

    #[test]
    fn a_key_file_skips_comments_and_blank_lines_and_reports_line_numbers() {
        let dir = std::env::temp_dir().join(format!("cs-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(
            &good,
            format!("# rotated 2026-11\n\n{K2_URL_NO_PAD}\n  {K1}  \n"),
        )
        .unwrap();
        let ring = load(&[("SESSION_KEYS_FILE", good.to_str().unwrap())]).unwrap();
        assert_eq!(ring.keys().len(), 2);
        assert_eq!(ring.keys()[1].id().to_string(), "f48603fa");

        let bad = dir.join("bad");
        std::fs::write(&bad, format!("{K1}\n# comment\nAAAA\n")).unwrap();
        let err = load(&[("SESSION_KEYS_FILE", bad.to_str().unwrap())]).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("SESSION_KEYS_FILE ("), "{shown}");
        assert!(shown.contains("key #3: the key is 3 bytes long"), "{shown}");

        let err =
            load(&[("SESSION_KEYS_FILE", dir.join("missing").to_str().unwrap())]).unwrap_err();
        assert!(
            matches!(err, ConfigError::KeyFileUnreadable { .. }),
            "{err}"
        );
        let empty = dir.join("empty");
        std::fs::write(&empty, "# nothing yet\n").unwrap();
        let err = load(&[("SESSION_KEYS_FILE", empty.to_str().unwrap())]).unwrap_err();
        assert!(matches!(err, ConfigError::NoKeys { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_put_in_the_file_variable_is_not_repeated() {
        for key in [
            K1,
            K2_URL_NO_PAD,
            "CzBVep/6Nq0r7ZpHYYiLQ9hXy0qCnV9cF0vAb6+Ws2M=",
        ] {
            let err = load(&[("SESSION_KEYS_FILE", key)]).unwrap_err();
            let shown = err.to_string();
            assert!(
                matches!(err, ConfigError::KeyInsteadOfPath { .. }),
                "{shown}"
            );
            assert!(!shown.contains(key), "{shown}");
            assert!(shown.contains("did you mean SESSION_KEYS?"), "{shown}");
        }
        // A real path that does not exist is shown, to help the operator.
        let err = load(&[("SESSION_KEYS_FILE", "/run/secrets/session-keys")]).unwrap_err();
        assert!(
            err.to_string().contains("/run/secrets/session-keys"),
            "{err}"
        );
    }

    #[test]
    fn custom_variable_names_are_used_in_lookups_and_messages() {
        let source = KeySource::named("MYAPP_SESSION_KEYS", "MYAPP_SESSION_KEYS_FILE");
        let err = source.load_from(env(&[("SESSION_KEYS", K1)])).unwrap_err();
        assert!(err.to_string().contains("MYAPP_SESSION_KEYS"), "{err}");
        let ring = source
            .load_from(env(&[("MYAPP_SESSION_KEYS", K1)]))
            .unwrap();
        assert_eq!(ring.keys().len(), 1);
    }
}
