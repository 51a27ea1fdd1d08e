//! What goes back to the browser: the decision whether a response carries
//! `Set-Cookie`, and the headers themselves.
//!
//! A response carries the session cookie only when something requires it:
//!
//! * the handler changed the session and it is not empty → seal and send it;
//! * it became empty, or was destroyed, and the request had a cookie → expire
//!   the cookie and every chunk of it (`Max-Age=0`);
//! * it opened with a key other than the primary → seal it again with the
//!   primary, so old keys fall out of use within one idle timeout;
//! * the handler read it and less than the renewal fraction of its idle
//!   window remains → seal it again with a new `expires_at`.
//!
//! A session the handler never touched produces nothing, whatever the cookie.
//! A 5xx response saves and renews nothing, but still expires a destroyed
//! session's cookie. A renewal or re-seal that no longer fits the size caps
//! is skipped with a warning; only a change the handler made answers 500.

use std::fmt::Write as _;

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::chunk;
use crate::config::SessionConfig;
use crate::session::State;

/// The layer's verdict for one response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Writeback {
    /// No `Set-Cookie` for the session.
    Nothing,
    /// `Set-Cookie` headers were added (the session sealed, or its cookie expired).
    SetCookie,
    /// The handler changed the session and it cannot be stored in cookies
    /// within the limits: answer 500.
    TooLarge,
}

/// How a sealed value of `value_len` bytes would travel: its chunk count and
/// total `name=value` bytes, and whether both are within the configured caps.
/// The one rule behind both the layer's 500 and [`Session::fits`](crate::Session::fits).
pub(crate) struct CookieSize {
    pub(crate) chunks: usize,
    pub(crate) bytes: usize,
}

impl CookieSize {
    pub(crate) fn of(config: &SessionConfig, value_len: usize) -> CookieSize {
        let name_len = config.cookie_name.len();
        CookieSize {
            chunks: chunk::chunk_count(name_len, value_len),
            bytes: chunk::total_pair_bytes(name_len, value_len),
        }
    }

    pub(crate) fn fits(&self, config: &SessionConfig) -> bool {
        self.chunks <= config.max_chunks && self.bytes <= config.max_cookie_bytes
    }
}

/// Appends the `Set-Cookie` headers the session needs to `headers`, for a
/// response with `status`.
pub(crate) fn finish(state: &State, status: StatusCode, headers: &mut HeaderMap) -> Writeback {
    if !state.loaded {
        return Writeback::Nothing;
    }
    if status.is_server_error() {
        // A failed request saves nothing and renews nothing, but a session
        // the handler ended stays ended.
        if state.destroyed && state.had_cookie {
            expire_from(state, 0, headers);
            return Writeback::SetCookie;
        }
        if state.modified {
            tracing::debug!(
                status = status.as_u16(),
                "session changes not saved: the response is a server error"
            );
        }
        return Writeback::Nothing;
    }
    let config = &*state.config;
    let now = state.now;
    if state.data.is_empty() {
        if state.had_cookie && state.modified {
            expire_from(state, 0, headers);
            return Writeback::SetCookie;
        }
        return Writeback::Nothing;
    }
    let renewal_due = state.opened.is_some_and(|o| {
        let remaining = o.expires_at.saturating_sub(now);
        (remaining as f64) < config.idle_timeout as f64 * config.renew_fraction
    });
    let foreign_key = state.opened.is_some_and(|o| o.key_index != 0);
    if !(state.modified || foreign_key || renewal_due) {
        return Writeback::Nothing;
    }
    // A renewal or a re-seal with the primary key that cannot be written is
    // skipped: the cookie the browser holds still works until it expires.
    // Only a change the handler made is worth a 500 (losing it silently
    // would be worse).
    let created_at = state.opened.map_or(now, |o| o.created_at);
    let expires_at = now.saturating_add(config.idle_timeout);
    let value = match config.codec.seal(&state.data, created_at, expires_at) {
        Ok(value) => value,
        Err(err) if state.modified => {
            tracing::error!(%err, "session not saved; answering 500");
            return Writeback::TooLarge;
        }
        Err(err) => {
            tracing::warn!(%err, "session not renewed; the browser keeps its cookie until it expires");
            return Writeback::Nothing;
        }
    };
    let name = &config.cookie_name;
    let size = CookieSize::of(config, value.len());
    let chunks = size.chunks;
    if !size.fits(config) {
        let (cookie_bytes, max_cookie_bytes, max_chunks) =
            (size.bytes, config.max_cookie_bytes, config.max_chunks);
        let body_bytes = state.data.to_json().len();
        if state.modified {
            tracing::error!(
                cookie_bytes,
                max_cookie_bytes,
                chunks,
                max_chunks,
                body_bytes,
                "session not saved: too large for its cookies; answering 500"
            );
            return Writeback::TooLarge;
        }
        tracing::warn!(
            cookie_bytes,
            max_cookie_bytes,
            chunks,
            max_chunks,
            body_bytes,
            renewal = renewal_due,
            old_key = foreign_key,
            "session not renewed or re-sealed: too large for its cookies; \
             the browser keeps its cookie until it expires"
        );
        return Writeback::Nothing;
    }

    let max_age = (!config.ephemeral).then(|| {
        let limit = config
            .absolute_lifetime
            .map_or(expires_at, |l| expires_at.min(created_at.saturating_add(l)));
        limit.saturating_sub(now)
    });
    if chunks == 1 {
        headers.append(
            SET_COOKIE,
            render(name, &value, max_age, &config.attributes),
        );
    } else {
        for (name, value) in chunk::split(name, &value) {
            headers.append(
                SET_COOKIE,
                render(&name, &value, max_age, &config.attributes),
            );
        }
    }
    expire_from(state, chunks, headers);
    Writeback::SetCookie
}

/// `Set-Cookie` values expiring chunk `from` and every later chunk the
/// request carried (chunk 0 is the cookie named exactly like the session).
fn expire_from(state: &State, from: usize, headers: &mut HeaderMap) {
    let config = &*state.config;
    for i in from..=state.highest_chunk {
        let header = if i == 0 {
            render(&config.cookie_name, "", Some(0), &config.attributes)
        } else {
            render(
                &format!("{}.{i}", config.cookie_name),
                "",
                Some(0),
                &config.attributes,
            )
        };
        headers.append(SET_COOKIE, header);
    }
}

fn render(name: &str, value: &str, max_age: Option<u64>, attributes: &str) -> HeaderValue {
    // Exact capacity: a full `Vec` converts into the header's `Bytes` without reallocating.
    let max_age_len = max_age.map_or(0, |s| {
        "; Max-Age=".len() + s.checked_ilog10().map_or(1, |d| d as usize + 1)
    });
    let mut header =
        String::with_capacity(name.len() + 1 + value.len() + max_age_len + attributes.len());
    header.push_str(name);
    header.push('=');
    header.push_str(value);
    if let Some(seconds) = max_age {
        let _ = write!(header, "; Max-Age={seconds}");
    }
    header.push_str(attributes);
    HeaderValue::try_from(header)
        .expect("names and attributes are validated tokens, values base64url")
}
