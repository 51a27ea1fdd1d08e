//! Lifetimes, limits and the assembly of a [`SessionConfig`]. Defaults are
//! the secure choice ([`defaults`](crate::defaults)); settings that weaken
//! protection say so in their name, and inconsistent settings are refused
//! when the configuration is built, not discovered per request. The cookie's
//! name and attributes are validated by [`crate::cookie`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::chunk::{self, MAX_COOKIE_PAIR_LEN};
use crate::clock::{Clock, SystemClock};
use crate::cookie::{CookieSettings, SameSite, SessionCookie};
use crate::defaults;
use crate::error::ConfigError;
use crate::format::{Compression, SessionCodec};
use crate::keys::{KeySource, LiveKeyring};
use crate::legacy::LegacyClientSessions;
use crate::revocation::{CheckError, Revalidation, SessionSnapshot, Verdict};
use crate::rfc3339::parse_instant;

/// The variable [`SessionConfigBuilder::not_before_from_env`] reads.
pub const NOT_BEFORE_VAR: &str = "SESSION_NOT_BEFORE";

/// Most cookies one session may be split into.
const MAX_CHUNKS: usize = 64;

/// A complete, validated configuration of the session layer.
///
/// Build it with [`SessionConfig::builder`] or [`SessionConfig::from_env`].
/// It is shared by every request (behind an `Arc`) and never changes.
#[derive(Clone)]
pub struct SessionConfig {
    /// Seals and opens; the one home of the idle timeout, absolute lifetime,
    /// clock leeway, body limit and compression.
    pub(crate) codec: SessionCodec,
    pub(crate) cookie: SessionCookie,
    pub(crate) renew_fraction: f64,
    pub(crate) ephemeral: bool,
    pub(crate) max_cookie_bytes: usize,
    /// Derived from `max_cookie_bytes` and the name: how many chunks a
    /// session this configuration writes can need.
    pub(crate) max_chunks: usize,
    /// How many chunks a request's cookie may have: as many as the longest
    /// value the codec would open needs (bounded by the body limit), and
    /// never fewer than this configuration writes. Independent of the write
    /// cap, so lowering `max_cookie_bytes` does not log anyone out: their
    /// larger cookie still opens (its renewal is skipped).
    pub(crate) read_chunks: usize,
    pub(crate) clock: Arc<dyn Clock>,
    /// Whether responses get `Cache-Control: private` and `Vary: Cookie`
    /// (off only through [`SessionConfigBuilder::insecure_skip_cache_headers`]).
    pub(crate) cache_headers: bool,
    /// The revocation check, if the application configured one.
    pub(crate) revalidation: Option<Revalidation>,
    /// Mozilla client-sessions cookies to migrate, if configured.
    pub(crate) legacy: Option<Arc<LegacyClientSessions>>,
}

/// How a sealed value would travel: its chunk count and total `name=value`
/// bytes, and whether both are within the configured caps. The one rule
/// behind both the layer's refusal and [`Session::fits`](crate::Session::fits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieSize {
    pub(crate) chunks: usize,
    pub(crate) bytes: usize,
    pub(crate) fits: bool,
}

impl SessionConfig {
    /// Starts a configuration with secure defaults around `keyring`: a
    /// [`Keyring`](crate::Keyring), or a [`LiveKeyring`] that follows a key file.
    pub fn builder(keyring: impl Into<LiveKeyring>) -> SessionConfigBuilder {
        SessionConfigBuilder {
            keyring: keyring.into(),
            cookie: CookieSettings::default(),
            context: None,
            idle_timeout: defaults::IDLE_TIMEOUT,
            absolute_lifetime: Some(defaults::ABSOLUTE_LIFETIME),
            renew_fraction: defaults::RENEW_WHEN_REMAINING,
            ephemeral: false,
            clock_leeway: defaults::CLOCK_LEEWAY,
            body_limit: defaults::BODY_LIMIT,
            compression: Compression::default(),
            max_cookie_bytes: defaults::MAX_COOKIE_BYTES,
            clock: Arc::new(SystemClock),
            cache_headers: true,
            max_idle_timeout: None,
            max_absolute_lifetime: None,
            not_before: None,
            revalidation: None,
            revalidation_grace: None,
            legacy: None,
        }
    }

    /// Starts a configuration whose key ring comes from `SESSION_KEYS` or
    /// `SESSION_KEYS_FILE` — a key file is followed, so rotation needs no
    /// restart ([`KeySource::watch`]; see [`KeySource`] for other variable
    /// names) — and
    /// whose not-before instant comes from `SESSION_NOT_BEFORE` when it is set
    /// ([`SessionConfigBuilder::not_before_from_env`]).
    ///
    /// # Errors
    /// The [`ConfigError`] of [`Keyring::from_env`](crate::Keyring::from_env), or of a bad `SESSION_NOT_BEFORE`.
    pub fn from_env() -> Result<SessionConfigBuilder, ConfigError> {
        SessionConfig::builder(KeySource::default().watch(defaults::KEY_RELOAD_INTERVAL)?)
            .not_before_from_env()
    }

    /// The codec that seals and opens this configuration's cookies.
    #[must_use]
    pub fn codec(&self) -> &SessionCodec {
        &self.codec
    }

    /// The cookie's name (the first chunk's name when chunked).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        self.cookie.name()
    }

    /// The idle timeout of sessions that did not choose their own.
    #[must_use]
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.codec.limits().idle.unwrap_or(u64::MAX))
    }

    /// The absolute lifetime of sessions that did not choose their own, if any.
    #[must_use]
    pub fn absolute_lifetime(&self) -> Option<Duration> {
        self.codec.limits().absolute.map(Duration::from_secs)
    }

    /// The largest total of `name=value` bytes a session's cookies may take.
    #[must_use]
    pub fn max_cookie_bytes(&self) -> usize {
        self.max_cookie_bytes
    }

    /// The largest number of cookies a session is split into when written:
    /// as many as a session within [`max_cookie_bytes`](Self::max_cookie_bytes)
    /// can need under this cookie name. Reading accepts as many chunks as
    /// the longest value within the body limit needs (so a cookie written
    /// under a larger cap still opens) and refuses more before any lookup.
    #[must_use]
    pub fn max_chunks(&self) -> usize {
        self.max_chunks
    }

    /// How a sealed value of `value_len` bytes would travel, against the caps.
    pub(crate) fn cookie_size(&self, value_len: usize) -> CookieSize {
        let name_len = self.cookie.name().len();
        let chunks = chunk::chunk_count(name_len, value_len);
        let bytes = chunk::total_pair_bytes(name_len, value_len);
        CookieSize {
            chunks,
            bytes,
            fits: chunks <= self.max_chunks && bytes <= self.max_cookie_bytes,
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("codec", &self.codec)
            .field("cookie", &self.cookie)
            .field("renew_fraction", &self.renew_fraction)
            .field("ephemeral", &self.ephemeral)
            .field("max_cookie_bytes", &self.max_cookie_bytes)
            .field("max_chunks", &self.max_chunks)
            .field("read_chunks", &self.read_chunks)
            .field("cache_headers", &self.cache_headers)
            .field("revalidation", &self.revalidation)
            .finish_non_exhaustive()
    }
}

/// Builder of a [`SessionConfig`]; [`build`](Self::build) validates it.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct SessionConfigBuilder {
    keyring: LiveKeyring,
    cookie: CookieSettings,
    context: Option<String>,
    idle_timeout: Duration,
    absolute_lifetime: Option<Duration>,
    renew_fraction: f64,
    ephemeral: bool,
    clock_leeway: Duration,
    body_limit: usize,
    compression: Compression,
    max_cookie_bytes: usize,
    clock: Arc<dyn Clock>,
    cache_headers: bool,
    max_idle_timeout: Option<Duration>,
    max_absolute_lifetime: Option<Duration>,
    /// The instant, and where it came from (the setting or the variable's
    /// name), for the error of an instant in the future.
    not_before: Option<(u64, &'static str)>,
    revalidation: Option<(Duration, Revalidation)>,
    revalidation_grace: Option<Duration>,
    legacy: Option<LegacyClientSessions>,
}

impl SessionConfigBuilder {
    /// The cookie name (default [`defaults::COOKIE_NAME`], `__Host-session`).
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
        self.cookie.name = Some(name.into());
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
        self.cookie.path = path.into();
        self
    }

    /// The cookie's `Domain` (default: none, a host-only cookie).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie.domain = Some(domain.into());
        self
    }

    /// The cookie's `SameSite` (default `Lax`).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.cookie.same_site = same_site;
        self
    }

    /// Sets `Partitioned` (CHIPS) for cookies used inside third-party iframes.
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.cookie.partitioned = partitioned;
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
        self.cookie.secure = false;
        self
    }

    /// How long a session lives without being sealed again (default 24 h).
    /// Each seal sets `expires_at = now + idle_timeout`, and a cookie whose
    /// sealed `expires_at` is further ahead than `now + idle_timeout +
    /// leeway` is refused: lowering it shortens the sessions already issued.
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

    /// The longest idle timeout a session may choose for itself with
    /// [`Session::set_lifetime`](crate::Session::set_lifetime) (default: the [idle timeout](Self::idle_timeout),
    /// so a session can only shorten it). A longer request is cut to this,
    /// when sealing and again when opening, so lowering it shortens the
    /// sessions already issued.
    pub fn max_idle_timeout(mut self, cap: Duration) -> Self {
        self.max_idle_timeout = Some(cap);
        self
    }

    /// The longest absolute lifetime a session may choose for itself
    /// (default: the [absolute lifetime](Self::absolute_lifetime)). Enforced
    /// like [`max_idle_timeout`](Self::max_idle_timeout).
    pub fn max_absolute_lifetime(mut self, cap: Duration) -> Self {
        self.max_absolute_lifetime = Some(cap);
        self
    }

    /// Logs everyone out: every session created before `instant` is refused
    /// ([`RejectReason::Revoked`](crate::RejectReason::Revoked)), whatever key
    /// sealed it — no key rotation, no waiting. Sessions created afterwards
    /// (new logins) are unaffected. Set it on every instance (a rolling
    /// restart with `SESSION_NOT_BEFORE` does it: an instance still running
    /// without it may renew an old session, but a renewal keeps the
    /// creation time, so the updated instances refuse that cookie too).
    /// Refused by [`build`](Self::build) when further in the future than the
    /// [clock leeway](Self::clock_leeway) (60 s by default): sessions created
    /// before it would be refused too, so nobody could stay logged in until
    /// then. Within the leeway it is accepted — an instant taken on another
    /// machine, or "now + 1 s" to be strictly after the last old login.
    pub fn not_before(mut self, instant: SystemTime) -> Self {
        let seconds = instant
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.not_before = Some((seconds, "not before"));
        self
    }

    /// [`not_before`](Self::not_before) from the `SESSION_NOT_BEFORE`
    /// variable, when it is set: Unix seconds, or an RFC 3339 date-time with
    /// a zone (`2026-11-30T08:00:00Z`). Unset or empty: no not-before.
    ///
    /// # Errors
    /// As [`not_before_from`](Self::not_before_from).
    pub fn not_before_from_env(self) -> Result<Self, ConfigError> {
        self.not_before_from(|name| std::env::var_os(name))
    }

    /// [`not_before_from_env`](Self::not_before_from_env) with `lookup`
    /// standing for the environment (for tests, or another configuration source).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] naming `SESSION_NOT_BEFORE` when it is
    /// set to anything else (the value is not repeated: a secret pasted into
    /// the wrong variable must not reach the logs);
    /// [`ConfigError::NotUnicode`].
    pub fn not_before_from(
        self,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, ConfigError> {
        let Some(value) = lookup(NOT_BEFORE_VAR) else {
            return Ok(self);
        };
        let value = value.into_string().map_err(|_| ConfigError::NotUnicode {
            var: NOT_BEFORE_VAR.to_owned(),
        })?;
        if value.trim().is_empty() {
            return Ok(self);
        }
        let seconds = parse_instant(&value).ok_or_else(|| ConfigError::InvalidSetting {
            setting: NOT_BEFORE_VAR,
            problem: "is neither Unix seconds nor an RFC 3339 date-time with a zone \
                      (e.g. 2026-11-30T08:00:00Z)"
                .to_owned(),
        })?;
        let mut builder = self;
        builder.not_before = Some((seconds, NOT_BEFORE_VAR));
        Ok(builder)
    }

    /// Revokes sessions "one user, everywhere" without a session store:
    /// before the handler, the layer runs `check` on a session whose last
    /// passed check is `every` or more ago (or that was never checked), and
    /// seals the time of the pass in the cookie — so a fleet asks once per
    /// session per interval, not once per request.
    ///
    /// A typical check compares a per-user epoch or security stamp stored in
    /// the session at login with the one in the application's database
    /// (bumped by "log out everywhere", a password change, a disabled
    /// account). The check gets a [`SessionSnapshot`] (id, times, values)
    /// and answers:
    /// * [`Verdict::Valid`]: the request proceeds; the response records the pass;
    /// * [`Verdict::Revoked`]: the request is anonymous and the response
    ///   expires the cookie;
    /// * an error (database down): within the
    ///   [grace](Self::revalidation_grace) after the check fell due, the
    ///   session is served and checked again on the next request; past it,
    ///   the request is anonymous (fail closed) but the cookie is kept, so
    ///   the user is back once the check works again.
    ///
    /// A revoked session stays usable for at most `every` after the
    /// revocation (plus the grace while checks fail). A new session counts
    /// as checked when it is created. With a check configured, every request
    /// carrying a session cookie opens it before the handler runs.
    ///
    /// The request waits for the check: give it a deadline of its own (for
    /// example `tokio::time::timeout` around the query, turning a timeout
    /// into an error), so a stalled database costs at most that deadline and
    /// then falls under the grace rule above.
    pub fn revalidate<F, Fut>(mut self, every: Duration, check: F) -> Self
    where
        F: Fn(SessionSnapshot) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Verdict, CheckError>> + Send + 'static,
    {
        let revalidation = Revalidation {
            every: every.as_secs(),
            grace: 0,
            check: Arc::new(move |session| Box::pin(check(session))),
        };
        self.revalidation = Some((every, revalidation));
        self
    }

    /// How long after a check fell due a check that errs still lets the
    /// session through (default: the check interval). Past it, fail closed.
    pub fn revalidation_grace(mut self, grace: Duration) -> Self {
        self.revalidation_grace = Some(grace);
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

    /// When bodies are compressed (default: never). Switching it on weakens
    /// the session's secrecy: read [`Compression`] and SECURITY.md (L2, the
    /// length side channel) first.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Largest total of `name=value` bytes over the session's cookies
    /// (default 7 KiB, two cookies). It also sets how many cookies a session
    /// may be split into ([`SessionConfig::max_chunks`]).
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

    /// Migrates users of an Express application on Mozilla `client-sessions`:
    /// a request with no session cookie of this crate but a legacy cookie
    /// that opens gets its content as the session, re-sealed in this
    /// crate's format while the legacy cookie is expired, in the same
    /// response (see [`LegacyClientSessions`]).
    pub fn legacy_client_sessions(mut self, legacy: LegacyClientSessions) -> Self {
        self.legacy = Some(legacy);
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
        let cookie = SessionCookie::new(&self.cookie)?;
        if self.idle_timeout.as_secs() == 0 {
            return invalid("idle timeout", "must be at least one second");
        }
        if self.absolute_lifetime.is_some_and(|l| l.as_secs() == 0) {
            return invalid("absolute lifetime", "must be at least one second, or None");
        }
        if !(0.0..=1.0).contains(&self.renew_fraction) {
            return invalid("renewal fraction", "must be between 0.0 and 1.0");
        }
        let max_chunks = chunk::chunk_count(cookie.name().len(), self.max_cookie_bytes);
        if self.max_cookie_bytes < 256 || max_chunks > MAX_CHUNKS {
            return invalid(
                "max cookie bytes",
                &format!(
                    "must be between 256 and {} (64 cookies)",
                    MAX_CHUNKS * (MAX_COOKIE_PAIR_LEN - cookie.name().len() - 4)
                ),
            );
        }
        if self.body_limit == 0 {
            return invalid("body limit", "must be at least one byte");
        }
        if self
            .max_idle_timeout
            .is_some_and(|cap| cap < self.idle_timeout)
        {
            return invalid(
                "max idle timeout",
                "must be at least the idle timeout (it caps what a session may choose)",
            );
        }
        if let (Some(cap), Some(default)) = (self.max_absolute_lifetime, self.absolute_lifetime)
            && cap < default
        {
            return invalid(
                "max absolute lifetime",
                "must be at least the absolute lifetime (it caps what a session may choose)",
            );
        }
        if let Some((instant, setting)) = self.not_before
            && instant > self.clock.now().saturating_add(self.clock_leeway.as_secs())
        {
            return invalid(
                setting,
                "is in the future (beyond the clock leeway): every session, even a new login, \
                 would be refused until then",
            );
        }
        let revalidation = match self.revalidation {
            None => None,
            Some((every, _)) if every.as_secs() == 0 => {
                return invalid("revalidation interval", "must be at least one second");
            }
            Some((every, mut revalidation)) => {
                revalidation.grace = self.revalidation_grace.unwrap_or(every).as_secs();
                Some(revalidation)
            }
        };
        if let Some(legacy) = &self.legacy
            && legacy.cookie_name() == cookie.name()
        {
            return invalid(
                "legacy client-sessions cookie",
                "must have another name than the session cookie",
            );
        }
        let context = self.context.unwrap_or_else(|| cookie.name().to_owned());
        let codec = SessionCodec::new(self.keyring, context)
            .body_limit(self.body_limit)
            .clock_leeway(self.clock_leeway)
            .absolute_lifetime(self.absolute_lifetime)
            .max_idle(Some(self.idle_timeout))
            .longest_idle(self.max_idle_timeout)
            .longest_absolute_lifetime(self.max_absolute_lifetime)
            .not_before(self.not_before.map(|(instant, _)| instant))
            .compression(self.compression);
        let read_chunks = chunk::chunk_count(cookie.name().len(), codec.max_value_len())
            .max(max_chunks)
            .min(MAX_CHUNKS);
        Ok(SessionConfig {
            read_chunks,
            codec,
            cookie,
            renew_fraction: self.renew_fraction,
            ephemeral: self.ephemeral,
            max_cookie_bytes: self.max_cookie_bytes,
            max_chunks,
            clock: self.clock,
            cache_headers: self.cache_headers,
            revalidation,
            legacy: self.legacy.map(Arc::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Key;
    use crate::keys::Keyring;

    fn builder() -> SessionConfigBuilder {
        SessionConfig::builder(Keyring::single(Key::from_bytes(&[9; 32]).unwrap()))
    }

    #[test]
    fn session_not_before_table() {
        use std::ffi::OsString;
        let with = |value: Option<&str>| {
            let value = value.map(OsString::from);
            builder()
                .clock(crate::ManualClock::new(2_000_000_000))
                .not_before_from(move |name| {
                    assert_eq!(name, "SESSION_NOT_BEFORE");
                    value.clone()
                })
                .map(|b| b.not_before.map(|(instant, _)| instant))
        };
        assert_eq!(with(None), Ok(None), "unset");
        assert_eq!(with(Some("  ")), Ok(None), "empty");
        assert_eq!(with(Some("1764489600")), Ok(Some(1_764_489_600)));
        assert_eq!(with(Some("2025-11-30T08:00:00Z")), Ok(Some(1_764_489_600)));
        for bad in [
            "yesterday",
            "2025-11-30",
            "-42",
            "1.5",
            "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
        ] {
            let err = with(Some(bad)).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with("SESSION_NOT_BEFORE: "), "{shown}");
            assert!(!shown.contains(bad), "the value is not repeated: {shown}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt as _;
            let err = builder()
                .not_before_from(|_| Some(OsString::from_vec(vec![0xff])))
                .unwrap_err();
            assert_eq!(err.to_string(), "SESSION_NOT_BEFORE is not valid Unicode");
        }
        // Further in the future than the leeway (60 s): refused by build().
        let future = builder()
            .clock(crate::ManualClock::new(1_000))
            .not_before_from(|_| Some("1061".into()))
            .unwrap()
            .build()
            .unwrap_err();
        assert!(
            future
                .to_string()
                .starts_with("SESSION_NOT_BEFORE: is in the future"),
            "{future}"
        );
        for within in ["1000", "1001", "1060"] {
            let built = builder()
                .clock(crate::ManualClock::new(1_000))
                .not_before_from(|_| Some(within.into()))
                .unwrap()
                .build();
            assert!(built.is_ok(), "{within}: within the leeway");
        }
    }

    #[test]
    fn debug_shows_the_revalidation_settings_not_the_check() {
        let config = builder()
            .revalidate(Duration::from_secs(60), |_| async {
                Ok(crate::Verdict::Valid)
            })
            .revalidation_grace(Duration::from_secs(30))
            .build()
            .unwrap();
        let shown = format!("{config:?}");
        assert!(
            shown.contains("revalidation: Some(Revalidation { every: 60, grace: 30, .. })"),
            "{shown}"
        );
        let default_grace = builder()
            .revalidate(Duration::from_secs(60), |_| async {
                Ok(crate::Verdict::Valid)
            })
            .build()
            .unwrap();
        assert!(format!("{default_grace:?}").contains("every: 60, grace: 60"));
    }

    #[test]
    fn lifetime_caps_below_the_defaults_are_refused() {
        let err = builder()
            .idle_timeout(Duration::from_secs(100))
            .max_idle_timeout(Duration::from_secs(99))
            .build()
            .unwrap_err();
        assert!(err.to_string().starts_with("max idle timeout: "), "{err}");
        assert!(
            builder()
                .idle_timeout(Duration::from_secs(100))
                .max_idle_timeout(Duration::from_secs(100))
                .build()
                .is_ok()
        );
        let err = builder()
            .absolute_lifetime(Some(Duration::from_secs(100)))
            .max_absolute_lifetime(Duration::from_secs(99))
            .build()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("max absolute lifetime: "),
            "{err}"
        );
        assert!(
            builder()
                .absolute_lifetime(None)
                .max_absolute_lifetime(Duration::from_secs(99))
                .build()
                .is_ok(),
            "no default absolute lifetime: any cap"
        );
        let err = builder()
            .revalidate(Duration::from_millis(500), |_| async {
                Ok(crate::Verdict::Valid)
            })
            .build()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("revalidation interval: "),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_secure() {
        let config = builder().build().unwrap();
        assert_eq!(
            config.cookie.attributes(),
            "; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(config.cookie_name(), "__Host-session");
        assert!(config.cache_headers);
        assert_eq!(config.max_cookie_bytes(), 7 * 1024);
        assert_eq!(config.max_chunks(), 2);
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
            config.cookie.attributes(),
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
            (
                "cookie bytes under 256",
                |b| b.max_cookie_bytes(255),
                "max cookie bytes: must be between 256 and",
            ),
            (
                "cookie bytes over 64 cookies",
                |b| b.max_cookie_bytes(64 * 4096),
                "max cookie bytes: must be between 256 and",
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

    /// The byte cap's range, at both edges: 256 bytes, and as many bytes as
    /// 64 cookies hold under the default name (the message says how many).
    #[test]
    fn the_byte_cap_is_accepted_exactly_within_its_range() {
        let built = |bytes| builder().max_cookie_bytes(bytes).build();
        assert!(built(256).is_ok());
        assert!(built(255).is_err());
        assert_eq!(built(260_992).unwrap().max_chunks(), 64);
        let err = built(260_993).unwrap_err().to_string();
        assert_eq!(
            err,
            "max cookie bytes: must be between 256 and 260992 (64 cookies)"
        );
    }

    /// The chunk cap follows the byte cap: one knob, no way to disagree.
    #[test]
    fn the_chunk_cap_is_derived_from_the_byte_cap() {
        let chunks = |bytes| {
            builder()
                .max_cookie_bytes(bytes)
                .build()
                .unwrap()
                .max_chunks()
        };
        assert_eq!(chunks(defaults::MAX_COOKIE_BYTES), 2);
        assert_eq!(chunks(4_000), 1);
        assert_eq!(chunks(4 * 4096), 5);
        let config = builder().build().unwrap();
        // Reading is bounded by the body limit, not by the write cap.
        assert_eq!(config.read_chunks, 22);
        let lowered = builder().max_cookie_bytes(4_000).build().unwrap();
        assert_eq!((lowered.max_chunks(), lowered.read_chunks), (1, 22));
        let within = config.cookie_size(7_100);
        assert!(within.fits && within.chunks == 2, "{within:?}");
        let over = config.cookie_size(7_200);
        assert!(!over.fits, "{over:?}");
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
