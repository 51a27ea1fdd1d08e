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
//! never any part of the entry itself. Entries that decode to the right
//! length but are not plausibly random — a file path, a passphrase, base64
//! of a sentence, a repeated or sequential pattern — are refused (see
//! `keys/plausibility.rs` for the tests and their false-refusal odds).

use std::ffi::OsString;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, GeneralPurpose as Engine};
use zeroize::Zeroizing;

use super::key::{Key, MAX_KEY_LEN, MIN_KEY_LEN};
use super::keyring::Keyring;
use super::plausibility::{self, Implausible};
use crate::defaults;
use crate::error::{ConfigError, KeyProblem};

/// Where to find the key ring: the names of the two environment variables.
///
/// ```
/// use client_session::{Key, KeySource};
/// // An application that namespaces its variables:
/// let source = KeySource::named("MYAPP_SESSION_KEYS", "MYAPP_SESSION_KEYS_FILE");
/// let secret = Key::generate_base64(); // in production: from a secret store
/// let keyring = source.load_from(|name| match name {
///     "MYAPP_SESSION_KEYS" => Some(secret.as_str().into()),
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
        KeySource::named(defaults::KEYS_VAR, defaults::KEYS_FILE_VAR)
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

    /// The variable naming a key file, e.g. `SESSION_KEYS_FILE`.
    #[must_use]
    pub fn file_var(&self) -> &str {
        &self.file_var
    }

    /// The variable holding a comma-separated key list, e.g. `SESSION_KEYS`.
    pub(super) fn keys_var(&self) -> &str {
        &self.keys_var
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
                self.parse_entries(&self.keys_var, entries.map(|(i, e)| (i + 1, e)), true)
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
                            path: can_only_be_a_path(&path).then(|| path.to_string()),
                            reason: err.kind().to_string(),
                        }
                    }
                })?;
                self.parse_file(path.as_str(), &Zeroizing::new(text))
            }
        }
    }

    /// The ring in the text of the key file at `path` (which opened, so it
    /// is a path: safe to show).
    pub(super) fn parse_file(&self, path: &str, text: &str) -> Result<Keyring, ConfigError> {
        let lines = text.lines().map(str::trim).enumerate();
        let entries = lines
            .map(|(i, line)| (i + 1, line))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
        let source = format!("{} ({path})", self.file_var);
        self.parse_entries(&source, entries, false)
    }

    fn parse_entries<'a>(
        &self,
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
            let implausible = |why| match why {
                Implausible::Path => ConfigError::PathInsteadOfKey {
                    source: source.to_owned(),
                    position,
                    file_var: self.file_var.clone(),
                },
                Implausible::NotRandom => invalid(KeyProblem::NotRandom),
            };
            if entry.is_empty() {
                if empty_is_error {
                    return Err(invalid(KeyProblem::Empty));
                }
                continue;
            }
            let Some(bytes) = decode_key(entry) else {
                return Err(if plausibility::looks_like_a_path(entry) {
                    implausible(Implausible::Path)
                } else {
                    invalid(KeyProblem::NotBase64)
                });
            };
            let key = Key::from_bytes(&bytes).map_err(invalid)?;
            plausibility::check_text(entry).map_err(implausible)?;
            plausibility::check_bytes(&bytes).map_err(implausible)?;
            keys.push(key);
        }
        Keyring::from_keys(source, keys)
    }

    pub(super) fn unicode(
        &self,
        var: &str,
        value: OsString,
    ) -> Result<Zeroizing<String>, ConfigError> {
        value
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| ConfigError::NotUnicode {
                var: var.to_owned(),
            })
    }
}

impl Keyring {
    /// Loads the key ring from `SESSION_KEYS` or `SESSION_KEYS_FILE`.
    ///
    /// See [`KeySource`] for the format and for other variable names.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable, the entry's position and the problem.
    pub fn from_env() -> Result<Keyring, ConfigError> {
        KeySource::default().load()
    }
}

/// Base64 in either alphabet, padding optional.
const LENIENT: Engine = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

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

/// Whether a value that failed to open as a file can only be a path, and so
/// may be shown in the error: absolute, no character a path would not have
/// but a key list, a quoted key or a passphrase might, and a parent
/// directory that exists here (other than `/`, which any value starting
/// with `/` has).
fn can_only_be_a_path(value: &str) -> bool {
    let plain = !value.is_empty()
        && value.len() <= 4096
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || ",;\"'#=".contains(c));
    // Absolute only: a relative "parent" may exist under any working
    // directory (`tmp/<secret>` in a container running in `/`).
    let path = std::path::Path::new(value);
    let parent = path.parent();
    plain
        && path.is_absolute()
        && parent.is_some_and(|dir| dir != std::path::Path::new("/") && dir.is_dir())
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

    // Random test keys (32 bytes, standard alphabet; 64 bytes, URL-safe unpadded).
    const K1: &str = "vaiatencLx/cq206+ILCzvHMX9i4JyUJ1hPtca+tdTM=";
    const K2_URL_NO_PAD: &str =
        "hI7J7XqBCwQdN9SPdYJTEnbvF62dxNG-0FYOah6JJJ1nifZezMWlcMGw7uPY3CavYrHI-aHgYkBzXasUP-vDdQ";

    fn id_of(text: &str) -> String {
        Key::from_bytes(&decode_key(text).unwrap())
            .unwrap()
            .id()
            .to_string()
    }

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
        assert_eq!(ring.primary().id().to_string(), id_of(K1));
        assert_eq!(ring.keys()[1].id().to_string(), id_of(K2_URL_NO_PAD));
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
        let long = format!("{K2_URL_NO_PAD}AAAA");
        let err = load(&[("SESSION_KEYS", &long)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SESSION_KEYS: key #1: the key is 67 bytes long; a key must be 32 to 64 bytes"
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
        assert_eq!(ring.keys()[1].id().to_string(), id_of(K1));

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
        // A path into an existing directory is shown, to help the operator.
        let missing = std::env::temp_dir().join("no-such-session-keys");
        let missing = missing.to_str().unwrap();
        let err = load(&[("SESSION_KEYS_FILE", missing)]).unwrap_err();
        assert!(err.to_string().contains(missing), "{err}");
    }

    /// Values that are not a key on their own but hold one, or are another
    /// kind of secret: the error never shows them, nor any part of a key.
    #[test]
    fn a_secret_in_the_file_variable_is_never_shown_whatever_its_shape() {
        let long_secret = format!("{K2_URL_NO_PAD}{K2_URL_NO_PAD}");
        let shapes = [
            ("a key list", format!("{K1},{K2_URL_NO_PAD}")),
            ("a quoted key", format!("\"{K1}\"")),
            ("a key and a comment", format!("{K1} # primary")),
            ("a secret over 64 bytes", long_secret),
            ("a passphrase", "correct horse battery staple".to_owned()),
            ("an absolute-looking secret", format!("/{K1}")),
            (
                "a path into no existing directory",
                "/run/no-such-dir/keys".to_owned(),
            ),
            (
                // Tests run in the crate's directory, where `src/` exists.
                "a relative value whose parent exists",
                "src/horse-battery-staple".to_owned(),
            ),
        ];
        for (name, value) in shapes {
            let err = load(&[("SESSION_KEYS_FILE", &value)]).unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.starts_with("cannot read the key file named by SESSION_KEYS_FILE")
                    || matches!(err, ConfigError::KeyInsteadOfPath { .. }),
                "{name}: {shown}"
            );
            assert!(!shown.contains(&value), "{name}: shown: {shown}");
            for part in [K1, K2_URL_NO_PAD, &K1[..20], &K2_URL_NO_PAD[..20], "horse"] {
                assert!(!shown.contains(part), "{name}: {part:?} shown: {shown}");
            }
        }
    }

    /// The file variable's value is shown only when it is an absolute path
    /// into an existing directory with no character a secret list, a quoted
    /// key or a passphrase would have: each rule, one row.
    #[test]
    fn only_a_plain_absolute_path_into_an_existing_directory_is_shown() {
        let dir = std::env::temp_dir();
        let dir = dir.to_str().unwrap().trim_end_matches('/');
        let long = format!("{dir}/{}", "a".repeat(5_000));
        let rows: Vec<(&str, String, bool)> = vec![
            ("plain", format!("{dir}/no-such-keys"), true),
            ("empty", String::new(), false),
            ("over 4096 bytes", long, false),
            ("a comma", format!("{dir}/a,b"), false),
            ("a semicolon", format!("{dir}/a;b"), false),
            ("a quote", format!("{dir}/a\"b"), false),
            ("an apostrophe", format!("{dir}/a'b"), false),
            ("a hash", format!("{dir}/a#b"), false),
            ("an equals sign", format!("{dir}/a=b"), false),
            ("a space", format!("{dir}/a b"), false),
            ("a control character", format!("{dir}/a\u{7}b"), false),
            ("relative", "src/no-such-keys".to_owned(), false),
            ("under the root only", "/no-such-keys".to_owned(), false),
            ("no such directory", "/no/such/dir/keys".to_owned(), false),
        ];
        for (name, value, shown) in rows {
            assert_eq!(can_only_be_a_path(&value), shown, "{name}: {value:?}");
        }
    }

    /// Entries of the right length that are not random keys are refused at
    /// start-up, naming the variable and the position and never the entry.
    #[test]
    fn paths_passphrases_and_patterns_are_refused_as_keys() {
        let sentence = base64::engine::general_purpose::STANDARD
            .encode("my very long and very secret password");
        let rows: &[(&str, &str, &str)] = &[
            (
                "a path",
                "/etc/secrets/client-session/production/keys",
                "SESSION_KEYS: key #2 looks like a file path, not a key (not shown); \
                 to read keys from a file, set SESSION_KEYS_FILE to its path",
            ),
            (
                "a path that is not base64",
                "/etc/client-session/keys.txt",
                "SESSION_KEYS: key #2 looks like a file path, not a key",
            ),
            (
                "a passphrase",
                "changeme-changeme-changeme-changeme-changeme",
                "SESSION_KEYS: key #2: the key does not look random",
            ),
            (
                "base64 of a sentence",
                &sentence,
                "SESSION_KEYS: key #2: the key does not look random",
            ),
            (
                "the bytes 0..32 (0.1's documented example key)",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                "SESSION_KEYS: key #2: the key does not look random",
            ),
        ];
        for (name, entry, expected) in rows {
            let err = load(&[("SESSION_KEYS", &format!("{K1},{entry}"))]).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with(expected), "{name}: {shown}");
            assert!(!shown.contains(entry), "{name}: entry shown: {shown}");
        }
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
