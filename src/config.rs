//! Everything the session layer is configured with: keys, cookie attributes,
//! lifetimes and limits. Defaults are the secure choice; settings that weaken
//! protection say so in their name, and inconsistent settings are refused
//! when the configuration is built, not discovered per request.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use crate::chunk::MAX_COOKIE_PAIR_LEN;
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::format::{Compression, DEFAULT_BODY_LIMIT, DEFAULT_CLOCK_LEEWAY, SessionCodec};
use crate::key_source::KeySource;
use crate::keyring::Keyring;

/// Default cookie name. The `__Host-` prefix makes browsers refuse the name
/// from anything but a `Secure`, host-only, `Path=/` cookie set by this very
/// host, so a sibling subdomain cannot toss a cookie that shadows it.
/// Browsers accept it on `https://` and on `http://localhost`.
///
/// When the settings do not allow `__Host-`, the default name is the most
/// protected one they allow: `__Secure-session` with a `Path` other than
/// `/` or a `Domain`, plain `session` with
/// [`insecure_allow_http`](SessionConfigBuilder::insecure_allow_http).
pub const DEFAULT_COOKIE_NAME: &str = "__Host-session";
/// Default idle timeout: a session not sealed again within 24 hours expires.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// Default absolute lifetime: 7 days after creation, however often renewed.
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Default renewal point: re-seal a session that was read once less than half its idle window remains.
pub const DEFAULT_RENEW_FRACTION: f64 = 0.5;
/// Default largest number of cookies one session may be split into.
pub const DEFAULT_MAX_CHUNKS: usize = 2;
/// Default largest total of `name=value` bytes over all of a session's cookies:
/// 7 KiB, so that the whole `Cookie` header, with 1 KiB left for the
/// application's other cookies, stays under the 8 KiB header line that nginx
/// (`large_client_header_buffers 4 8k`) and many other proxies accept by default.
///
/// Responses are the other direction: nginx holds an upstream's response
/// headers in `proxy_buffer_size` (4 KiB by default), so a proxy in front of
/// an application whose sessions grow past ~3.9 KB needs that raised
/// (DEPLOYING.md).
pub const DEFAULT_MAX_COOKIE_BYTES: usize = 7 * 1024;

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Sent on same-site requests and top-level cross-site navigations with safe methods (default).
    Lax,
    /// Sent on every request; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// A complete, validated configuration of the session layer.
///
/// Build it with [`SessionConfig::builder`] or [`SessionConfig::from_env`].
/// It is shared by every request (behind an `Arc`) and never changes.
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) codec: SessionCodec,
    pub(crate) cookie_name: String,
    /// `; Path=/; HttpOnly; Secure; SameSite=Lax…`: every attribute but Max-Age, rendered once.
    pub(crate) attributes: String,
    pub(crate) idle_timeout: u64,
    pub(crate) absolute_lifetime: Option<u64>,
    pub(crate) renew_fraction: f64,
    pub(crate) ephemeral: bool,
    pub(crate) max_chunks: usize,
    pub(crate) max_cookie_bytes: usize,
    pub(crate) clock: Arc<dyn Clock>,
    /// Whether responses get `Cache-Control: private` and `Vary: Cookie`
    /// (off only through [`SessionConfigBuilder::insecure_skip_cache_headers`]).
    pub(crate) cache_headers: bool,
}

impl SessionConfig {
    /// Starts a configuration with secure defaults around `keyring`.
    pub fn builder(keyring: Keyring) -> SessionConfigBuilder {
        SessionConfigBuilder {
            keyring,
            cookie_name: None,
            context: None,
            path: "/".to_owned(),
            domain: None,
            same_site: SameSite::Lax,
            secure: true,
            partitioned: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_lifetime: Some(DEFAULT_ABSOLUTE_LIFETIME),
            renew_fraction: DEFAULT_RENEW_FRACTION,
            ephemeral: false,
            clock_leeway: DEFAULT_CLOCK_LEEWAY,
            body_limit: DEFAULT_BODY_LIMIT,
            compression: Compression::default(),
            max_chunks: DEFAULT_MAX_CHUNKS,
            max_cookie_bytes: DEFAULT_MAX_COOKIE_BYTES,
            clock: Arc::new(SystemClock),
            cache_headers: true,
        }
    }

    /// Starts a configuration whose key ring comes from `SESSION_KEYS` or
    /// `SESSION_KEYS_FILE` (see [`KeySource`] for other variable names).
    ///
    /// # Errors
    /// The [`ConfigError`] of [`Keyring::from_env`].
    pub fn from_env() -> Result<SessionConfigBuilder, ConfigError> {
        Ok(SessionConfig::builder(KeySource::default().load()?))
    }

    /// The codec that seals and opens this configuration's cookies.
    #[must_use]
    pub fn codec(&self) -> &SessionCodec {
        &self.codec
    }

    /// The cookie's name (the first chunk's name when chunked).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The idle timeout.
    #[must_use]
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout)
    }

    /// The absolute lifetime, if any.
    #[must_use]
    pub fn absolute_lifetime(&self) -> Option<Duration> {
        self.absolute_lifetime.map(Duration::from_secs)
    }

    /// The largest total of `name=value` bytes a session's cookies may take.
    #[must_use]
    pub fn max_cookie_bytes(&self) -> usize {
        self.max_cookie_bytes
    }

    /// The largest number of cookies a session may be split into.
    #[must_use]
    pub fn max_chunks(&self) -> usize {
        self.max_chunks
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("keyring", self.codec.keyring())
            .field("cookie_name", &self.cookie_name)
            .field("attributes", &self.attributes)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("renew_fraction", &self.renew_fraction)
            .field("ephemeral", &self.ephemeral)
            .field("max_chunks", &self.max_chunks)
            .field("max_cookie_bytes", &self.max_cookie_bytes)
            .field("cache_headers", &self.cache_headers)
            .finish_non_exhaustive()
    }
}

/// Builder of a [`SessionConfig`]; [`build`](Self::build) validates it.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct SessionConfigBuilder {
    keyring: Keyring,
    /// `None`: the most protected default the other settings allow.
    cookie_name: Option<String>,
    context: Option<String>,
    path: String,
    domain: Option<String>,
    same_site: SameSite,
    secure: bool,
    partitioned: bool,
    idle_timeout: Duration,
    absolute_lifetime: Option<Duration>,
    renew_fraction: f64,
    ephemeral: bool,
    clock_leeway: Duration,
    body_limit: usize,
    compression: Compression,
    max_chunks: usize,
    max_cookie_bytes: usize,
    clock: Arc<dyn Clock>,
    cache_headers: bool,
}

impl SessionConfigBuilder {
    /// The cookie name (default [`DEFAULT_COOKIE_NAME`], `__Host-session`).
    /// A `__Host-` name requires `Secure`, `Path=/` and no `Domain`; a
    /// `__Secure-` name requires `Secure`. Prefixes are recognised in any
    /// letter case, as browsers do (RFC 6265bis).
    ///
    /// # Security
    /// A name without the `__Host-` prefix can be shadowed by a cookie that a
    /// sibling subdomain sets with `Domain=` (cookie tossing). The layer then
    /// sees two values and uses neither, but the user is logged out until the
    /// tossed cookie expires.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// The context sealed into every cookie as associated data (default: the
    /// cookie name). Two applications sharing keys but not sessions should use
    /// different contexts.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// The cookie's `Path` (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The cookie's `Domain` (default: none, a host-only cookie).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The cookie's `SameSite` (default `Lax`).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// Sets `Partitioned` (CHIPS) for cookies used inside third-party iframes.
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = partitioned;
        self
    }

    /// Drops the `Secure` attribute so the cookie also travels over plain HTTP.
    /// The default cookie name becomes plain `session` (prefixed names
    /// require `Secure`).
    ///
    /// # Security
    /// Anyone on the network path can then read and replay the session cookie,
    /// and a sibling subdomain can shadow it (no `__Host-` prefix).
    /// Only for development on a non-localhost address (browsers already accept
    /// `Secure` cookies from `http://localhost`).
    pub fn insecure_allow_http(mut self) -> Self {
        self.secure = false;
        self
    }

    /// How long a session lives without being sealed again (default 24 h).
    /// Each seal sets `expires_at = now + idle_timeout`.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// How long a session lives after creation however often it is renewed
    /// (default 7 days; `None` for no limit).
    pub fn absolute_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.absolute_lifetime = lifetime;
        self
    }

    /// A session the handler read is sealed again when less than this
    /// fraction of the idle window remains (default 0.5; 1.0 renews on every
    /// read, 0.0 never renews on read alone).
    pub fn renew_when_remaining(mut self, fraction: f64) -> Self {
        self.renew_fraction = fraction;
        self
    }

    /// Sends a browser-session cookie (no `Max-Age`), which the browser drops
    /// when it closes. The server still enforces the idle and absolute limits.
    pub fn ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = ephemeral;
        self
    }

    /// Tolerated clock skew between servers for `created_at` (default 60 s).
    pub fn clock_leeway(mut self, leeway: Duration) -> Self {
        self.clock_leeway = leeway;
        self
    }

    /// Largest session body, uncompressed JSON, in bytes (default 64 KiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// When bodies are compressed (default: from 1 KiB of JSON, when it helps).
    /// See SECURITY.md on the length side channel before relying on it.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Largest number of cookies a session is split into (default 2).
    pub fn max_chunks(mut self, chunks: usize) -> Self {
        self.max_chunks = chunks;
        self
    }

    /// Largest total of `name=value` bytes over the session's cookies (default 7 KiB).
    pub fn max_cookie_bytes(mut self, bytes: usize) -> Self {
        self.max_cookie_bytes = bytes;
        self
    }

    /// Leaves `Cache-Control` and `Vary` to the application.
    ///
    /// By default a response that sets or expires the session cookie, or whose
    /// handler read a session the request's cookie opened, gets
    /// `Cache-Control: private` (a handler's `no-store` or `private` is kept;
    /// its `public` or `s-maxage` is removed, with a warning), and every
    /// response whose handler read or changed the session gets `Vary: Cookie`.
    ///
    /// # Security
    /// Without them a shared cache (a CDN, nginx `proxy_cache`) may store one
    /// user's page — or the `Set-Cookie` that carries their session — and
    /// serve it to the next user. Use this only when every route that touches
    /// the session already sends the right headers.
    pub fn insecure_skip_cache_headers(mut self) -> Self {
        self.cache_headers = false;
        self
    }

    /// The clock (default: the system clock). For tests, see [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Validates the settings.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] naming the setting and the problem.
    pub fn build(self) -> Result<SessionConfig, ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::InvalidSetting {
                setting,
                problem: problem.to_owned(),
            })
        };
        let name = &self.cookie_name.clone().unwrap_or_else(|| {
            if !self.secure {
                "session".to_owned()
            } else if self.path != "/" || self.domain.is_some() {
                "__Secure-session".to_owned()
            } else {
                DEFAULT_COOKIE_NAME.to_owned()
            }
        });
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return invalid(
                "cookie name",
                "must be a non-empty HTTP token (letters, digits and !#$%&'*+-.^_`|~)",
            );
        }
        if name.len() > 256 {
            return invalid("cookie name", "must be at most 256 bytes");
        }
        if !self.path.starts_with('/') || !self.path.bytes().all(is_attribute_byte) {
            return invalid(
                "Path",
                "must start with '/' and contain no ';', spaces or control characters",
            );
        }
        if let Some(domain) = &self.domain
            && (domain.is_empty() || !domain.bytes().all(is_attribute_byte))
        {
            return invalid(
                "Domain",
                "must be a non-empty host name without ';', spaces or control characters",
            );
        }
        if has_prefix(name, "__Host-") {
            if !self.secure {
                return invalid(
                    "cookie name",
                    "a __Host- cookie requires Secure; remove insecure_allow_http()",
                );
            }
            if self.path != "/" {
                return invalid("cookie name", "a __Host- cookie requires Path=/");
            }
            if self.domain.is_some() {
                return invalid("cookie name", "a __Host- cookie must not set Domain");
            }
        }
        if has_prefix(name, "__Secure-") && !self.secure {
            return invalid(
                "cookie name",
                "a __Secure- cookie requires Secure; remove insecure_allow_http()",
            );
        }
        if self.same_site == SameSite::None && !self.secure {
            return invalid(
                "SameSite",
                "SameSite=None requires Secure (browsers drop the cookie otherwise)",
            );
        }
        if self.partitioned && !self.secure {
            return invalid("Partitioned", "a Partitioned cookie requires Secure");
        }
        let idle = self.idle_timeout.as_secs();
        if idle == 0 {
            return invalid("idle timeout", "must be at least one second");
        }
        if self.absolute_lifetime.is_some_and(|l| l.as_secs() == 0) {
            return invalid("absolute lifetime", "must be at least one second, or None");
        }
        if !(0.0..=1.0).contains(&self.renew_fraction) {
            return invalid("renewal fraction", "must be between 0.0 and 1.0");
        }
        if !(1..=64).contains(&self.max_chunks) {
            return invalid("max chunks", "must be between 1 and 64");
        }
        let chunk_room = self.max_chunks * MAX_COOKIE_PAIR_LEN;
        if self.max_cookie_bytes < 256 || self.max_cookie_bytes > chunk_room {
            return invalid(
                "max cookie bytes",
                &format!("must be between 256 and max_chunks × 4096 = {chunk_room}"),
            );
        }
        if self.body_limit == 0 {
            return invalid("body limit", "must be at least one byte");
        }

        let mut attributes = String::new();
        let _ = write!(attributes, "; Path={}", self.path);
        if let Some(domain) = &self.domain {
            let _ = write!(attributes, "; Domain={domain}");
        }
        attributes.push_str("; HttpOnly");
        if self.secure {
            attributes.push_str("; Secure");
        }
        let _ = write!(attributes, "; SameSite={}", self.same_site.as_str());
        if self.partitioned {
            attributes.push_str("; Partitioned");
        }

        let context = self.context.unwrap_or_else(|| name.clone());
        let codec = SessionCodec::new(self.keyring, context)
            .with_body_limit(self.body_limit)
            .with_clock_leeway(self.clock_leeway)
            .with_absolute_lifetime(self.absolute_lifetime)
            .with_max_idle(Some(self.idle_timeout))
            .with_compression(self.compression);
        Ok(SessionConfig {
            codec,
            cookie_name: name.clone(),
            attributes,
            idle_timeout: idle,
            absolute_lifetime: self.absolute_lifetime.map(|l| l.as_secs()),
            renew_fraction: self.renew_fraction,
            ephemeral: self.ephemeral,
            max_chunks: self.max_chunks,
            max_cookie_bytes: self.max_cookie_bytes,
            clock: self.clock,
            cache_headers: self.cache_headers,
        })
    }
}

/// Whether `name` starts with `prefix`, ignoring ASCII case: browsers
/// enforce `__Host-` and `__Secure-` in any case (RFC 6265bis §4.1.3).
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte allowed in a Path or Domain attribute value.
fn is_attribute_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b';'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    fn builder() -> SessionConfigBuilder {
        SessionConfig::builder(Keyring::single(Key::from_bytes(&[9; 32]).unwrap()))
    }

    #[test]
    fn defaults_are_secure() {
        let config = builder().build().unwrap();
        assert_eq!(
            config.attributes,
            "; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(config.cookie_name(), "__Host-session");
        assert!(config.cache_headers);
        assert_eq!(config.idle_timeout(), Duration::from_secs(86_400));
        assert_eq!(
            config.absolute_lifetime(),
            Some(Duration::from_secs(604_800))
        );
    }

    #[test]
    fn every_attribute_renders() {
        let config = builder()
            .cookie_name("app")
            .path("/app")
            .domain("example.com")
            .same_site(SameSite::None)
            .partitioned(true)
            .build()
            .unwrap();
        assert_eq!(
            config.attributes,
            "; Path=/app; Domain=example.com; HttpOnly; Secure; SameSite=None; Partitioned"
        );
    }

    #[test]
    fn unsafe_or_inconsistent_settings_are_refused_at_build() {
        type Case = (
            &'static str,
            fn(SessionConfigBuilder) -> SessionConfigBuilder,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "__Host- without Secure",
                |b| b.cookie_name("__Host-s").insecure_allow_http(),
                "cookie name: a __Host- cookie requires Secure",
            ),
            (
                "__Host- with a Path",
                |b| b.cookie_name("__Host-s").path("/app"),
                "cookie name: a __Host- cookie requires Path=/",
            ),
            (
                "__Host- with a Domain",
                |b| b.cookie_name("__Host-s").domain("example.com"),
                "cookie name: a __Host- cookie must not set Domain",
            ),
            (
                "__Secure- without Secure",
                |b| b.cookie_name("__Secure-s").insecure_allow_http(),
                "cookie name: a __Secure- cookie requires Secure",
            ),
            (
                "SameSite=None without Secure",
                |b| b.same_site(SameSite::None).insecure_allow_http(),
                "SameSite: SameSite=None requires Secure",
            ),
            (
                "Partitioned without Secure",
                |b| b.partitioned(true).insecure_allow_http(),
                "Partitioned: a Partitioned cookie requires Secure",
            ),
            (
                "name with a space",
                |b| b.cookie_name("my session"),
                "cookie name: must be a non-empty HTTP token",
            ),
            (
                "empty name",
                |b| b.cookie_name(""),
                "cookie name: must be a non-empty HTTP token",
            ),
            (
                "path without slash",
                |b| b.path("app"),
                "Path: must start with '/'",
            ),
            (
                "path with a semicolon",
                |b| b.path("/a;b"),
                "Path: must start with '/'",
            ),
            (
                "zero idle timeout",
                |b| b.idle_timeout(Duration::ZERO),
                "idle timeout: must be at least one second",
            ),
            (
                "renew fraction over 1",
                |b| b.renew_when_remaining(1.5),
                "renewal fraction",
            ),
            ("no chunks", |b| b.max_chunks(0), "max chunks"),
            (
                "cookie bytes over chunk room",
                |b| b.max_cookie_bytes(9000),
                "max cookie bytes: must be between 256 and max_chunks × 4096 = 8192",
            ),
        ];
        for (name, setup, expected) in cases {
            let err = setup(builder()).build().unwrap_err().to_string();
            assert!(err.starts_with(expected), "case {name:?}: {err}");
        }
    }

    #[test]
    fn the_default_name_is_the_most_protected_the_settings_allow() {
        let name = |b: SessionConfigBuilder| b.build().unwrap().cookie_name().to_owned();
        assert_eq!(name(builder()), "__Host-session");
        assert_eq!(name(builder().path("/app")), "__Secure-session");
        assert_eq!(name(builder().domain("example.com")), "__Secure-session");
        assert_eq!(name(builder().insecure_allow_http()), "session");
        assert_eq!(name(builder().cookie_name("sid")), "sid");
    }

    /// Browsers match `__Host-` and `__Secure-` in any case (RFC 6265bis),
    /// so the rules that go with them apply in any case too.
    #[test]
    fn prefixes_are_validated_in_any_letter_case() {
        for name in ["__host-s", "__HOST-s", "__HoSt-s"] {
            let err = builder().cookie_name(name).insecure_allow_http().build();
            assert!(err.is_err(), "{name} without Secure");
            let err = builder().cookie_name(name).path("/app").build();
            assert!(err.is_err(), "{name} with a Path");
            let err = builder().cookie_name(name).domain("example.com").build();
            assert!(err.is_err(), "{name} with a Domain");
        }
        for name in ["__secure-s", "__SECURE-s"] {
            let err = builder().cookie_name(name).insecure_allow_http().build();
            assert!(err.is_err(), "{name} without Secure");
        }
    }

    #[test]
    fn a_valid_host_prefixed_cookie_builds() {
        let config = builder().cookie_name("__Host-session").build().unwrap();
        assert_eq!(config.cookie_name(), "__Host-session");
    }

    #[test]
    fn debug_shows_no_key_material() {
        let shown = format!("{:?}", builder().build().unwrap());
        assert!(shown.contains("Keyring { ids: [KeyId("), "{shown}");
        assert!(!shown.contains("0909"), "{shown}");
    }
}
