//! Revoking sessions without a session store, "one user, everywhere": an
//! application-supplied check, run by the layer before the handler at most
//! once per session per interval, the time of the last pass sealed in the
//! cookie. The other two ways — everyone at once (a not-before instant,
//! [`SessionConfigBuilder::not_before`](crate::SessionConfigBuilder::not_before))
//! and one session (a deny-list of [`SessionId`](crate::SessionId)s kept by the
//! application) — are described in SECURITY.md, L1.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use crate::data::SessionData;
use crate::id::SessionId;

/// What a revocation check sees of the session: a copy, taken before the
/// handler runs, of its id, times and values.
#[derive(Debug, Clone)]
pub struct SessionSnapshot {
    pub(crate) id: SessionId,
    pub(crate) created_at: u64,
    pub(crate) authenticated_at: Option<u64>,
    pub(crate) data: SessionData,
}

impl SessionSnapshot {
    /// The session's id.
    #[must_use]
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// When the session was created.
    #[must_use]
    pub fn created_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.created_at)
    }

    /// When the user last authenticated in it, if ever.
    #[must_use]
    pub fn authenticated_at(&self) -> Option<SystemTime> {
        self.authenticated_at
            .map(|at| UNIX_EPOCH + Duration::from_secs(at))
    }

    /// The value at `key` as a `T` (`None` when absent or not a `T`) — for
    /// example the user id and the epoch stored at login.
    #[must_use]
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.data.get(key).ok().flatten()
    }

    /// All the values.
    #[must_use]
    pub fn data(&self) -> &SessionData {
        &self.data
    }
}

/// What a revocation check says of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still good: the cookie records the time of this check, and the next
    /// one runs an interval later.
    Valid,
    /// Revoked (password changed, "log out everywhere", account disabled):
    /// the request is anonymous and the response expires the cookie.
    Revoked,
}

/// The error a check may return (its database is down, say).
pub type CheckError = Box<dyn std::error::Error + Send + Sync>;

/// The boxed future of a check.
pub(crate) type CheckFuture = Pin<Box<dyn Future<Output = Result<Verdict, CheckError>> + Send>>;

/// The configured check: how often, how long a failing check is forgiven,
/// and the check itself.
#[derive(Clone)]
pub(crate) struct Revalidation {
    /// Seconds between two checks of one session.
    pub(crate) every: u64,
    /// Seconds past a due check during which a check that errs lets the
    /// session through; after that, a check that errs makes the request anonymous.
    pub(crate) grace: u64,
    pub(crate) check: Arc<dyn Fn(SessionSnapshot) -> CheckFuture + Send + Sync>,
}

impl fmt::Debug for Revalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revalidation")
            .field("every", &self.every)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// What the layer does with a session after its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCheck {
    /// Record the pass (`checked_at = now`) and serve the session.
    Pass,
    /// End the session: anonymous request, cookie expired.
    Revoke,
    /// The check failed within the grace: serve the session, record nothing
    /// (the next request checks again).
    Forgive,
    /// The check failed past the grace: this request is anonymous; the
    /// cookie is kept, so the session works again once checks succeed.
    Refuse,
}

impl Revalidation {
    /// Whether a session last checked at `checked_at` (never: `None`) is due at `now`.
    pub(crate) fn due(&self, checked_at: Option<u64>, now: u64) -> bool {
        checked_at.is_none_or(|at| now >= at.saturating_add(self.every))
    }

    /// What the outcome of a due check means.
    pub(crate) fn after(
        &self,
        outcome: &Result<Verdict, CheckError>,
        checked_at: Option<u64>,
        now: u64,
    ) -> AfterCheck {
        match outcome {
            Ok(Verdict::Valid) => AfterCheck::Pass,
            Ok(Verdict::Revoked) => AfterCheck::Revoke,
            Err(_) => {
                let forgiven_until =
                    checked_at.map(|at| at.saturating_add(self.every).saturating_add(self.grace));
                if forgiven_until.is_some_and(|until| now < until) {
                    AfterCheck::Forgive
                } else {
                    AfterCheck::Refuse
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revalidation() -> Revalidation {
        Revalidation {
            every: 60,
            grace: 300,
            check: Arc::new(|_| Box::pin(async { Ok(Verdict::Valid) })),
        }
    }

    #[test]
    fn due_table() {
        let r = revalidation();
        let rows = [
            ("never checked (a v1 session)", None, 1_000, true),
            ("checked just now", Some(1_000), 1_000, false),
            ("one second before the interval", Some(1_000), 1_059, false),
            ("at the interval", Some(1_000), 1_060, true),
            ("long after", Some(1_000), 9_000, true),
            (
                "checked at the end of time: saturates",
                Some(u64::MAX),
                u64::MAX - 1,
                false,
            ),
        ];
        for (name, checked_at, now, expect) in rows {
            assert_eq!(r.due(checked_at, now), expect, "{name}");
        }
    }

    #[test]
    fn outcome_table() {
        let r = revalidation();
        let down = || Err::<Verdict, CheckError>("database down".into());
        let rows = [
            (
                "valid",
                Ok(Verdict::Valid),
                Some(1_000),
                1_100,
                AfterCheck::Pass,
            ),
            (
                "revoked",
                Ok(Verdict::Revoked),
                Some(1_000),
                1_100,
                AfterCheck::Revoke,
            ),
            (
                "revoked, never checked",
                Ok(Verdict::Revoked),
                None,
                1_100,
                AfterCheck::Revoke,
            ),
            (
                "error within the grace",
                down(),
                Some(1_000),
                1_359,
                AfterCheck::Forgive,
            ),
            (
                "error at the end of the grace",
                down(),
                Some(1_000),
                1_360,
                AfterCheck::Refuse,
            ),
            (
                "error, never checked: no grace",
                down(),
                None,
                1_000,
                AfterCheck::Refuse,
            ),
        ];
        for (name, outcome, checked_at, now, expect) in rows {
            assert_eq!(r.after(&outcome, checked_at, now), expect, "{name}");
        }
    }
}
