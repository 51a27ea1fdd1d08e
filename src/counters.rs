//! What the layer counts, through the [`metrics`] facade: any exporter the
//! application installs (Prometheus, StatsD…) sees these; without one they
//! cost an atomic load each. The names and labels are the list in the
//! crate docs ("Metrics"), each label drawn from a small fixed set (or the
//! key ids of the ring): no cookie value, no session content, no session id.

use metrics::{Key, Label, Level, Metadata};

use crate::error::RejectReason;
use crate::policy::Why;
use crate::revocation::AfterCheck;

/// Cookies that opened, by the id of the key that sealed them and format
/// version: a key whose count stops growing opens nothing any more.
pub(crate) const OPENED: &str = "client_session_opened_total";
/// Cookies refused, by coarse reason.
pub(crate) const REJECTED: &str = "client_session_rejected_total";
/// Sessions sealed into a `Set-Cookie`, by why.
pub(crate) const SEALED: &str = "client_session_sealed_total";
/// Session cookies expired (destroyed, emptied, revoked).
pub(crate) const EXPIRED: &str = "client_session_expired_total";
/// Seals that could not be written within the size caps or failed, by
/// what happened instead (`answered_500`, `kept_old_cookie`).
pub(crate) const NOT_WRITTEN: &str = "client_session_not_written_total";
/// Revocation checks, by outcome.
pub(crate) const CHECKS: &str = "client_session_revocation_checks_total";
/// Mozilla client-sessions cookies opened (and migrated).
pub(crate) const LEGACY_OPENED: &str = "client_session_legacy_opened_total";
/// Unsafe requests refused by the CSRF check, by reason.
pub(crate) const CSRF_REFUSED: &str = "client_session_csrf_refused_total";
/// Size of the session cookies written, in `name=value` bytes (all chunks).
pub(crate) const COOKIE_BYTES: &str = "client_session_cookie_bytes";

/// Where the counters of this module come from (what `metrics::counter!`
/// would say from here).
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Increments the counter `key`. The counters on every request (opened,
/// sealed) use keys made once, so the crate allocates and formats nothing
/// to count one (what an installed recorder does with the key is its own
/// business; without one, counting is a lookup of the no-op recorder).
fn increment(key: &Key) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

/// A counter key whose name and one label are fixed at compile time.
macro_rules! static_key {
    ($name:expr, $label:literal => $value:literal) => {{
        static LABELS: [Label; 1] = [Label::from_static_parts($label, $value)];
        static KEY: Key = Key::from_static_parts($name, &LABELS);
        &KEY
    }};
}

/// The `opened` counter keys of one key id, for each format version; made
/// once per key of the ring.
#[derive(Debug, Clone)]
pub(crate) struct OpenedKeys {
    v1: Key,
    v2: Key,
}

impl OpenedKeys {
    pub(crate) fn new(key_id: &str) -> OpenedKeys {
        let key = |version: &'static str| {
            Key::from_parts(
                OPENED,
                vec![
                    Label::new("key_id", key_id.to_owned()),
                    Label::from_static_parts("version", version),
                ],
            )
        };
        OpenedKeys {
            v1: key("1"),
            v2: key("2"),
        }
    }
}

pub(crate) fn opened(keys: &OpenedKeys, version: u8) {
    increment(if version == 1 { &keys.v1 } else { &keys.v2 });
}

pub(crate) fn rejected(reason: RejectReason) {
    metrics::counter!(REJECTED, "reason" => reason.as_str()).increment(1);
}

pub(crate) fn sealed(why: Why, cookie_bytes: usize) {
    increment(match why {
        Why::Changed => static_key!(SEALED, "why" => "changed"),
        Why::OldKey => static_key!(SEALED, "why" => "old_key"),
        Why::OldFormat => static_key!(SEALED, "why" => "old_format"),
        Why::Checked => static_key!(SEALED, "why" => "checked"),
        Why::Renewal => static_key!(SEALED, "why" => "renewal"),
    });
    // Cookie sizes are far below 2^52: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    metrics::histogram!(COOKIE_BYTES).record(cookie_bytes as f64);
}

pub(crate) fn expired() {
    metrics::counter!(EXPIRED).increment(1);
}

pub(crate) fn not_written(answered_500: bool) {
    let outcome = if answered_500 {
        "answered_500"
    } else {
        "kept_old_cookie"
    };
    metrics::counter!(NOT_WRITTEN, "outcome" => outcome).increment(1);
}

pub(crate) fn checked(after: AfterCheck) {
    let outcome = match after {
        AfterCheck::Pass => "valid",
        AfterCheck::Revoke => "revoked",
        AfterCheck::Forgive => "failed_forgiven",
        AfterCheck::Refuse => "failed_refused",
    };
    metrics::counter!(CHECKS, "outcome" => outcome).increment(1);
}

/// Key files read again after a change: `loaded` or `refused`.
pub(crate) const KEY_RELOADS: &str = "client_session_key_reloads_total";

pub(crate) fn key_reload(loaded: bool) {
    let outcome = if loaded { "loaded" } else { "refused" };
    metrics::counter!(KEY_RELOADS, "outcome" => outcome).increment(1);
}

pub(crate) fn csrf_refused(reason: &'static str) {
    metrics::counter!(CSRF_REFUSED, "reason" => reason).increment(1);
}

pub(crate) fn legacy_opened() {
    metrics::counter!(LEGACY_OPENED).increment(1);
}
