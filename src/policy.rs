//! What a response carries back to the browser: one pure function of what
//! the request brought, what the handler did, the response's status, the
//! configured lifetimes and the time. The response future applies the plan.
//!
//! The rules, in order:
//!
//! * a session the handler never touched: nothing, whatever the cookie;
//! * a 5xx response: nothing is saved or renewed (the browser keeps the
//!   cookie it had), except that a session the handler destroyed is still
//!   ended — its cookie and every chunk of it are expired;
//! * a session that holds no value: its cookie is expired when the handler
//!   changed it (emptied or destroyed it) and the request carried one;
//!   otherwise nothing;
//! * otherwise the session is sealed when the handler changed it, when it
//!   was opened with a key other than the primary or sealed in format v1 (so
//!   old keys and the old format fall out of use), when a revocation check
//!   passed (the cookie records when), or when the handler read it and less
//!   than the renewal fraction of its idle window remains;
//! * a re-seal keeps the session's id, creation time, login time and last
//!   check time: renewing a session never moves anything a revocation
//!   depends on, so a request in flight with a revoked session's cookie
//!   cannot make it live longer than the revocation allows;
//! * a seal that cannot be written (over the size caps) answers 500 only for
//!   a change the handler made; a renewal or re-seal is skipped, and the
//!   browser keeps a cookie that still works until it expires.
//!
//! A change made after the response left is not in the plan: the session
//! warns about it instead (see [`Session`](crate::Session)).

use http::StatusCode;

/// The session as the request's cookie carried it, when it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
    /// Position in the key ring of the key that sealed it; 0 is the primary.
    pub(crate) key_index: usize,
    /// The format version it was sealed in.
    pub(crate) version: u8,
}

/// What the request brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Brought {
    /// A cookie under the session's name, or chunks of one, valid or not:
    /// a response that ends the session must expire them.
    pub(crate) cookie: bool,
    /// The session, when the cookie opened.
    pub(crate) opened: Option<Opened>,
}

/// What the handler did with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Did {
    /// Read or changed it: the cookie was looked at.
    pub(crate) touched: bool,
    /// Changed a value, emptied it or destroyed it.
    pub(crate) changed: bool,
    /// Called `destroy()` (or `regenerate()`): the session the request
    /// brought is over, whatever comes next.
    pub(crate) destroyed: bool,
    /// The session holds no value now.
    pub(crate) empty: bool,
    /// A revocation check passed: the cookie must record it.
    pub(crate) checked: bool,
}

/// The session's lifetimes (its own, or the configured ones), in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lifetimes {
    pub(crate) idle: u64,
    pub(crate) absolute: Option<u64>,
    pub(crate) renew_fraction: f64,
    /// No `Max-Age`: a browser-session cookie.
    pub(crate) ephemeral: bool,
}

/// What the response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// No `Set-Cookie` for the session.
    Nothing,
    /// Expire the cookie and every chunk the request carried.
    Expire,
    /// Seal the session and set it (expiring chunks it no longer needs).
    Seal(Seal),
}

/// A seal to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seal {
    pub(crate) why: Why,
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
    /// `None` for an ephemeral cookie.
    pub(crate) max_age: Option<u64>,
}

/// Why a session is sealed; it decides what happens when it cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// The handler changed it.
    Changed,
    /// It opened with a key other than the primary.
    OldKey,
    /// It was sealed in an older format version.
    OldFormat,
    /// A revocation check passed.
    Checked,
    /// Less than the renewal fraction of its idle window remains.
    Renewal,
}

/// What to do when the seal cannot be written within the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsealable {
    /// Losing the handler's change silently would be worse: answer 500.
    Answer500,
    /// The cookie the browser holds still works until it expires: skip.
    KeepTheOldCookie,
}

impl Why {
    pub(crate) fn when_unsealable(self) -> Unsealable {
        match self {
            Why::Changed => Unsealable::Answer500,
            Why::OldKey | Why::OldFormat | Why::Checked | Why::Renewal => {
                Unsealable::KeepTheOldCookie
            }
        }
    }
}

/// The plan for one response.
pub(crate) fn plan(
    brought: Brought,
    did: Did,
    status: StatusCode,
    lifetimes: Lifetimes,
    now: u64,
) -> Plan {
    if !did.touched {
        return Plan::Nothing;
    }
    if status.is_server_error() {
        return if did.destroyed && brought.cookie {
            Plan::Expire
        } else {
            Plan::Nothing
        };
    }
    if did.empty {
        return if brought.cookie && did.changed {
            Plan::Expire
        } else {
            Plan::Nothing
        };
    }
    // A destroyed session's replacement is a new session.
    let opened = brought.opened.filter(|_| !did.destroyed);
    let why = if did.changed {
        Why::Changed
    } else if opened.is_some_and(|o| o.key_index != 0) {
        Why::OldKey
    } else if opened.is_some_and(|o| o.version != crate::format::VERSION) {
        Why::OldFormat
    } else if did.checked && opened.is_some() {
        Why::Checked
    } else if opened.is_some_and(|o| {
        let remaining = o.expires_at.saturating_sub(now);
        (remaining as f64) < lifetimes.idle as f64 * lifetimes.renew_fraction
    }) {
        Why::Renewal
    } else {
        return Plan::Nothing;
    };
    let created_at = opened.map_or(now, |o| o.created_at);
    let expires_at = now.saturating_add(lifetimes.idle);
    let max_age = (!lifetimes.ephemeral).then(|| {
        let end = lifetimes
            .absolute
            .map_or(expires_at, |l| expires_at.min(created_at.saturating_add(l)));
        end.saturating_sub(now)
    });
    Plan::Seal(Seal {
        why,
        created_at,
        expires_at,
        max_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const IDLE: u64 = 1_000;
    const LIFETIMES: Lifetimes = Lifetimes {
        idle: IDLE,
        absolute: Some(10_000),
        renew_fraction: 0.5,
        ephemeral: false,
    };
    const OK: StatusCode = StatusCode::OK;

    /// A session opened with the primary key, created 100 s ago, with
    /// `remaining` seconds of its idle window left.
    fn opened(remaining: u64) -> Option<Opened> {
        Some(Opened {
            created_at: NOW - 100,
            expires_at: NOW + remaining,
            key_index: 0,
            version: crate::format::VERSION,
        })
    }

    const FRESH: u64 = 900;
    const READ: Did = Did {
        touched: true,
        changed: false,
        destroyed: false,
        empty: false,
        checked: false,
    };
    const CHANGED: Did = Did {
        changed: true,
        ..READ
    };

    fn seal(why: Why, created_at: u64, max_age: Option<u64>) -> Plan {
        Plan::Seal(Seal {
            why,
            created_at,
            expires_at: NOW + IDLE,
            max_age,
        })
    }

    struct Row {
        name: &'static str,
        brought: Brought,
        did: Did,
        status: StatusCode,
        lifetimes: Lifetimes,
        expect: Plan,
    }

    fn rows() -> Vec<Row> {
        let with_cookie = Brought {
            cookie: true,
            opened: opened(FRESH),
        };
        let no_cookie = Brought {
            cookie: false,
            opened: None,
        };
        let broken_cookie = Brought {
            cookie: true,
            opened: None,
        };
        vec![
            Row {
                name: "untouched: nothing, whatever the cookie",
                brought: with_cookie,
                did: Did::default(),
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "read, fresh: nothing",
                brought: with_cookie,
                did: READ,
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "modified: sealed, created_at kept",
                brought: with_cookie,
                did: CHANGED,
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::Changed, NOW - 100, Some(IDLE)),
            },
            Row {
                name: "new session without a cookie: sealed, created now",
                brought: no_cookie,
                did: CHANGED,
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::Changed, NOW, Some(IDLE)),
            },
            Row {
                name: "emptied: the cookie expired",
                brought: with_cookie,
                did: Did {
                    empty: true,
                    ..CHANGED
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Expire,
            },
            Row {
                name: "emptied without a cookie: nothing to expire",
                brought: no_cookie,
                did: Did {
                    empty: true,
                    ..CHANGED
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "read an empty session: nothing",
                brought: broken_cookie,
                did: Did {
                    empty: true,
                    ..READ
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "destroyed: the cookie expired",
                brought: with_cookie,
                did: Did {
                    destroyed: true,
                    empty: true,
                    ..CHANGED
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Expire,
            },
            Row {
                name: "destroyed, then a value inserted: a new session, created now",
                brought: with_cookie,
                did: Did {
                    destroyed: true,
                    ..CHANGED
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::Changed, NOW, Some(IDLE)),
            },
            Row {
                name: "opened with an old key: re-sealed",
                brought: Brought {
                    cookie: true,
                    opened: Some(Opened {
                        key_index: 1,
                        ..opened(FRESH).unwrap()
                    }),
                },
                did: READ,
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::OldKey, NOW - 100, Some(IDLE)),
            },
            Row {
                name: "sealed in format v1: re-sealed as v2, created_at kept",
                brought: Brought {
                    cookie: true,
                    opened: Some(Opened {
                        version: 1,
                        ..opened(FRESH).unwrap()
                    }),
                },
                did: READ,
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::OldFormat, NOW - 100, Some(IDLE)),
            },
            Row {
                name: "revocation check passed: re-sealed to record it",
                brought: with_cookie,
                did: Did {
                    checked: true,
                    ..READ
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::Checked, NOW - 100, Some(IDLE)),
            },
            Row {
                name: "check passed, then destroyed: the new session is a change, not a check",
                brought: with_cookie,
                did: Did {
                    checked: true,
                    destroyed: true,
                    empty: true,
                    ..CHANGED
                },
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Expire,
            },
            Row {
                name: "check passed on a 5xx: nothing (checked again next time)",
                brought: with_cookie,
                did: Did {
                    checked: true,
                    ..READ
                },
                status: StatusCode::INTERNAL_SERVER_ERROR,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "renewal due: one second under half the window",
                brought: Brought {
                    cookie: true,
                    opened: opened(IDLE / 2 - 1),
                },
                did: READ,
                status: OK,
                lifetimes: LIFETIMES,
                expect: seal(Why::Renewal, NOW - 100, Some(IDLE)),
            },
            Row {
                name: "renewal not due: exactly half the window",
                brought: Brought {
                    cookie: true,
                    opened: opened(IDLE / 2),
                },
                did: READ,
                status: OK,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "5xx after a change: nothing saved",
                brought: with_cookie,
                did: CHANGED,
                status: StatusCode::INTERNAL_SERVER_ERROR,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "5xx with renewal due: not renewed",
                brought: Brought {
                    cookie: true,
                    opened: opened(1),
                },
                did: READ,
                status: StatusCode::BAD_GATEWAY,
                lifetimes: LIFETIMES,
                expect: Plan::Nothing,
            },
            Row {
                name: "5xx after destroy: still expired",
                brought: with_cookie,
                did: Did {
                    destroyed: true,
                    ..CHANGED
                },
                status: StatusCode::SERVICE_UNAVAILABLE,
                lifetimes: LIFETIMES,
                expect: Plan::Expire,
            },
            Row {
                name: "4xx after a change: saved (only 5xx discards)",
                brought: with_cookie,
                did: CHANGED,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                lifetimes: LIFETIMES,
                expect: seal(Why::Changed, NOW - 100, Some(IDLE)),
            },
            Row {
                name: "ephemeral: no Max-Age",
                brought: with_cookie,
                did: CHANGED,
                status: OK,
                lifetimes: Lifetimes {
                    ephemeral: true,
                    ..LIFETIMES
                },
                expect: seal(Why::Changed, NOW - 100, None),
            },
            Row {
                name: "Max-Age stops at the absolute lifetime",
                brought: with_cookie,
                did: CHANGED,
                status: OK,
                lifetimes: Lifetimes {
                    absolute: Some(500),
                    ..LIFETIMES
                },
                expect: seal(Why::Changed, NOW - 100, Some(400)),
            },
        ]
    }

    #[test]
    fn plan_table() {
        for row in rows() {
            let got = plan(row.brought, row.did, row.status, row.lifetimes, NOW);
            assert_eq!(got, row.expect, "{}", row.name);
        }
    }

    /// A seal that does not fit: only the handler's change answers 500.
    #[test]
    fn a_seal_that_no_longer_fits_is_skipped_unless_the_handler_changed_it() {
        let rows = [
            (
                "change that does not fit",
                Why::Changed,
                Unsealable::Answer500,
            ),
            (
                "renewal that no longer fits",
                Why::Renewal,
                Unsealable::KeepTheOldCookie,
            ),
            (
                "old-key re-seal that no longer fits",
                Why::OldKey,
                Unsealable::KeepTheOldCookie,
            ),
            (
                "v1 upgrade that no longer fits",
                Why::OldFormat,
                Unsealable::KeepTheOldCookie,
            ),
            (
                "check record that no longer fits",
                Why::Checked,
                Unsealable::KeepTheOldCookie,
            ),
        ];
        for (name, why, expect) in rows {
            assert_eq!(why.when_unsealable(), expect, "{name}");
        }
    }
}
