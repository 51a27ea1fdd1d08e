//! How long a session lives: the configured defaults, the caps that bound
//! what a handler may ask for, and [`Lifetime`], one session's own choice
//! ("remember me for 30 days"). The codec enforces the resolved values when
//! it opens a cookie; the policy uses them when it seals one.

use std::time::Duration;

/// One session's own lifetime, overriding the configured defaults — for
/// example a "remember me" login next to short anonymous sessions.
///
/// Each part left unset follows the configuration, including a
/// configuration changed after the session was sealed. The values are
/// sealed in the cookie and enforced by the server like the defaults; they
/// are bounded by [`SessionConfigBuilder::max_idle_timeout`] and
/// [`SessionConfigBuilder::max_absolute_lifetime`], so a handler bug cannot
/// mint a ten-year session. Set with [`Session::set_lifetime`].
///
/// ```
/// use std::time::Duration;
/// use client_session::Lifetime;
///
/// const DAY: Duration = Duration::from_secs(86_400);
/// // Remember me: 30 days, a cookie that outlives the browser.
/// let remember = Lifetime::remember_for(30 * DAY);
/// assert_eq!(remember.idle_timeout(), Some(30 * DAY));
/// assert_eq!(remember.persistent(), Some(true));
/// // Otherwise: gone when the browser closes, or after 30 idle minutes.
/// let short = Lifetime::browser_session(Duration::from_secs(30 * 60));
/// assert_eq!(short.persistent(), Some(false));
/// ```
///
/// [`SessionConfigBuilder::max_idle_timeout`]: crate::SessionConfigBuilder::max_idle_timeout
/// [`SessionConfigBuilder::max_absolute_lifetime`]: crate::SessionConfigBuilder::max_absolute_lifetime
/// [`Session::set_lifetime`]: crate::Session::set_lifetime
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifetime {
    idle: Option<u32>,
    absolute: Option<u32>,
    persistent: Option<bool>,
}

impl Lifetime {
    /// The configured defaults for every part.
    #[must_use]
    pub const fn configured() -> Lifetime {
        Lifetime {
            idle: None,
            absolute: None,
            persistent: None,
        }
    }

    /// "Remember me": a persistent cookie (`Max-Age`) with an idle timeout
    /// and absolute lifetime of `duration`.
    #[must_use]
    pub fn remember_for(duration: Duration) -> Lifetime {
        Lifetime::configured()
            .with_idle_timeout(duration)
            .with_absolute_lifetime(duration)
            .with_persistent(true)
    }

    /// A browser-session cookie (no `Max-Age`: the browser drops it when it
    /// closes) that the server also ends after `idle` without a request.
    ///
    /// "When it closes" is the browser's promise, not a guarantee: a browser
    /// that restores its last session (Chromium's "continue where you left
    /// off", or after a crash) keeps such cookies. The server's idle timeout
    /// is what bounds them.
    #[must_use]
    pub fn browser_session(idle: Duration) -> Lifetime {
        Lifetime::configured()
            .with_idle_timeout(idle)
            .with_persistent(false)
    }

    /// This session's idle timeout (at least one second; whole seconds).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Lifetime {
        self.idle = Some(seconds(idle));
        self
    }

    /// This session's absolute lifetime (at least one second; whole seconds).
    #[must_use]
    pub fn with_absolute_lifetime(mut self, lifetime: Duration) -> Lifetime {
        self.absolute = Some(seconds(lifetime));
        self
    }

    /// Whether this session's cookie carries `Max-Age` (survives a browser
    /// restart) or is a browser-session cookie.
    #[must_use]
    pub fn with_persistent(mut self, persistent: bool) -> Lifetime {
        self.persistent = Some(persistent);
        self
    }

    /// The idle timeout asked for, if any (before the configured cap).
    #[must_use]
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle.map(|s| Duration::from_secs(s.into()))
    }

    /// The absolute lifetime asked for, if any (before the configured cap).
    #[must_use]
    pub fn absolute_lifetime(&self) -> Option<Duration> {
        self.absolute.map(|s| Duration::from_secs(s.into()))
    }

    /// Whether the cookie persists, if chosen.
    #[must_use]
    pub fn persistent(&self) -> Option<bool> {
        self.persistent
    }

    /// The sealed form: seconds, 0 for "the configured default".
    pub(crate) fn sealed_idle(&self) -> u32 {
        self.idle.unwrap_or(0)
    }

    pub(crate) fn sealed_absolute(&self) -> u32 {
        self.absolute.unwrap_or(0)
    }

    /// From the sealed form (0 is "the configured default").
    pub(crate) fn from_sealed(idle: u32, absolute: u32, persistent: Option<bool>) -> Lifetime {
        Lifetime {
            idle: (idle != 0).then_some(idle),
            absolute: (absolute != 0).then_some(absolute),
            persistent,
        }
    }
}

/// Whole seconds, at least 1, at most what the format holds (`u32`).
fn seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX).max(1)
}

/// The configured lifetimes, in seconds: the defaults a session follows
/// unless it chose its own, and the caps on what it may choose. `None` is
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Limits {
    pub(crate) idle: Option<u64>,
    pub(crate) absolute: Option<u64>,
    /// Cap on a session's own idle timeout; `None` is the default `idle`.
    pub(crate) longest_idle: Option<u64>,
    /// Cap on a session's own absolute lifetime; `None` is the default `absolute`.
    pub(crate) longest_absolute: Option<u64>,
}

/// One session's lifetimes, resolved against the configuration, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// `None`: no idle bound (a codec without an idle timeout).
    pub(crate) idle: Option<u64>,
    pub(crate) absolute: Option<u64>,
}

impl Limits {
    /// What `lifetime` means under this configuration: its own values
    /// bounded by the caps, the defaults where it has none.
    pub(crate) fn resolve(&self, lifetime: &Lifetime) -> Resolved {
        let own = |asked: Option<u32>, default: Option<u64>, cap: Option<u64>| match asked {
            None => default,
            Some(asked) => Some(u64::from(asked).min(cap.or(default).unwrap_or(u64::MAX))),
        };
        Resolved {
            idle: own(lifetime.idle, self.idle, self.longest_idle),
            absolute: own(lifetime.absolute, self.absolute, self.longest_absolute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        idle: Some(3_600),
        absolute: Some(86_400),
        longest_idle: Some(30 * 86_400),
        longest_absolute: Some(30 * 86_400),
    };

    #[test]
    fn resolution_table() {
        let day = Duration::from_secs(86_400);
        let rows = [
            (
                "defaults",
                Lifetime::configured(),
                LIMITS,
                Some(3_600),
                Some(86_400),
            ),
            (
                "remember me within the caps",
                Lifetime::remember_for(30 * day),
                LIMITS,
                Some(30 * 86_400),
                Some(30 * 86_400),
            ),
            (
                "ten years is capped",
                Lifetime::remember_for(3650 * day),
                LIMITS,
                Some(30 * 86_400),
                Some(30 * 86_400),
            ),
            (
                "shorter than the default is allowed",
                Lifetime::browser_session(Duration::from_secs(600)),
                LIMITS,
                Some(600),
                Some(86_400),
            ),
            (
                "no cap configured: the default is the cap",
                Lifetime::remember_for(30 * day),
                Limits {
                    longest_idle: None,
                    longest_absolute: None,
                    ..LIMITS
                },
                Some(3_600),
                Some(86_400),
            ),
            (
                "no limits at all: the session's own values",
                Lifetime::remember_for(day),
                Limits::default(),
                Some(86_400),
                Some(86_400),
            ),
            (
                "no limits, no own values: unbounded",
                Lifetime::configured(),
                Limits::default(),
                None,
                None,
            ),
        ];
        for (name, lifetime, limits, idle, absolute) in rows {
            assert_eq!(
                limits.resolve(&lifetime),
                Resolved { idle, absolute },
                "{name}"
            );
        }
    }

    #[test]
    fn durations_are_whole_seconds_between_1_and_u32_max() {
        let l = Lifetime::configured().with_idle_timeout(Duration::from_millis(10));
        assert_eq!(l.idle_timeout(), Some(Duration::from_secs(1)));
        let l = Lifetime::configured().with_absolute_lifetime(Duration::from_secs(u64::MAX));
        assert_eq!(l.sealed_absolute(), u32::MAX);
        assert_eq!(Lifetime::configured().sealed_idle(), 0);
        assert_eq!(Lifetime::from_sealed(0, 0, None), Lifetime::configured());
        assert_eq!(
            Lifetime::from_sealed(5, 7, Some(true)),
            Lifetime::configured()
                .with_idle_timeout(Duration::from_secs(5))
                .with_absolute_lifetime(Duration::from_secs(7))
                .with_persistent(true)
        );
    }
}
