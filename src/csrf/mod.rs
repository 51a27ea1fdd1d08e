//! CSRF protection tied to the session: a synchronizer token kept in the
//! session ([`Session::csrf_token`], [`CsrfToken`]), the browser's own word
//! on where a request comes from (`Sec-Fetch-Site`, `Origin`), the token's
//! place in a form body, and the check that combines them — run by the tower [`CsrfLayer`] for every
//! unsafe request, or by the axum extractor [`CsrfForm`] in one handler.
//!
//! # The rule
//! `GET`, `HEAD`, `OPTIONS` and `TRACE` always pass: they must not change
//! anything. Any other method (`POST`, `PUT`, `PATCH`, `DELETE`…) passes
//! only when, in this order:
//! 1. the browser does not say it comes from another origin: a
//!    `Sec-Fetch-Site` other than `same-origin` or `none`, or (when that
//!    header is absent) an `Origin` that is not the request's `Host` /
//!    `X-Forwarded-Host`, is refused — unless the origin is one of
//!    [`CsrfConfig::trust_origin`], whose requests go on to step 3;
//! 2. with [`CsrfConfig::allow_same_origin_without_token`] (off by
//!    default), a request the browser marks same-origin passes here;
//! 3. it carries a token of this session ([`Session::csrf_token`]) in the
//!    header ([`CsrfConfig::header_name`], default `X-CSRF-Token`) or, in a
//!    urlencoded or multipart form, the field ([`CsrfConfig::form_field`],
//!    default `csrf_token`), compared in constant time.
//!
//! A refused request gets `403 Forbidden`, its handler never runs, and a
//! `warn` log names the method, path and [`Refusal`] (never a token); the
//! counter `client_session_csrf_refused_total{reason}` counts it.

mod extract;
mod form;
mod layer;
mod origin;
mod token;

use std::fmt;

use http::{HeaderMap, HeaderName, Method};

use crate::session::Session;

#[cfg(feature = "axum")]
pub use extract::{CsrfForm, CsrfRejection};
pub use layer::{CsrfBody, CsrfFuture, CsrfLayer, CsrfService};
pub use token::CsrfToken;

use origin::Provenance;

/// Default header for the token (what JavaScript sends).
pub const DEFAULT_HEADER: &str = "x-csrf-token";
/// Default form field for the token (a hidden input).
pub const DEFAULT_FIELD: &str = "csrf_token";
/// Default cap on a form body read to find the token: 2 MiB, axum's
/// default body limit. A larger form must send the token in the header.
pub const DEFAULT_MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// How the CSRF check runs: see [the rule](self). The defaults are the safe
/// choice; [`allow_same_origin_without_token`](Self::allow_same_origin_without_token)
/// is the one weakening knob.
#[derive(Debug, Clone)]
pub struct CsrfConfig {
    header: HeaderName,
    field: String,
    trusted: Vec<String>,
    same_origin_without_token: bool,
    max_form_bytes: usize,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        CsrfConfig {
            header: HeaderName::from_static(DEFAULT_HEADER),
            field: DEFAULT_FIELD.to_owned(),
            trusted: Vec::new(),
            same_origin_without_token: false,
            max_form_bytes: DEFAULT_MAX_FORM_BYTES,
        }
    }
}

impl CsrfConfig {
    /// The defaults: token required on every unsafe request, in
    /// `X-CSRF-Token` or the form field `csrf_token`; no other origin trusted.
    #[must_use]
    pub fn new() -> CsrfConfig {
        CsrfConfig::default()
    }

    /// The header that carries the token.
    #[must_use]
    pub fn header_name(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// The form field that carries the token. Name it so that form parsers
    /// and scanners recognise it (the default, `csrf_token`, does).
    #[must_use]
    pub fn form_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// Lets requests from another origin (`https://admin.example.com`: a
    /// scheme, a host, a port if not the default; no path) through the
    /// origin step; they still need a token.
    #[must_use]
    pub fn trust_origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        self.trusted
            .push(origin.trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// Lets requests the browser marks same-origin (`Sec-Fetch-Site:
    /// same-origin`, or an `Origin` equal to the host) pass without a
    /// token. Weaker than the default: it trusts the browser's headers
    /// alone, so a browser that sends neither header still needs a token,
    /// and any script running on your origin (XSS, a user-uploaded HTML
    /// page served from it) can post freely — as it could read a token
    /// anyway.
    #[must_use]
    pub fn allow_same_origin_without_token(mut self) -> Self {
        self.same_origin_without_token = true;
        self
    }

    /// The most bytes of a form body read to find the token (default
    /// [`DEFAULT_MAX_FORM_BYTES`]). A larger form without the header is
    /// refused ([`Refusal::FormTooLarge`]).
    #[must_use]
    pub fn max_form_bytes(mut self, bytes: usize) -> Self {
        self.max_form_bytes = bytes;
        self
    }

    /// Whether `method` must pass the check.
    fn guards(method: &Method) -> bool {
        !matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    }

    /// The token in the request's header, if any.
    fn header_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers.get(&self.header).and_then(|v| v.to_str().ok())
    }
}

/// Why the CSRF check refused a request. Never says anything secret: no
/// token, no session content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// `Sec-Fetch-Site` says the request comes from another site or
    /// another origin of this site.
    CrossSite,
    /// `Origin` names another origin than the request's host.
    ForeignOrigin,
    /// No token in the header or the form field.
    MissingToken,
    /// A token, but not one of this session.
    WrongToken,
    /// A token, but the request has no session with a CSRF secret (expired,
    /// logged out, cookie blocked or not sent).
    NoSessionToken,
    /// The form body is larger than [`CsrfConfig::max_form_bytes`] and no
    /// header carries the token.
    FormTooLarge,
    /// The body could not be read.
    UnreadableBody,
}

impl Refusal {
    /// A short, stable name: the `reason` label of the counter.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::CrossSite => "cross_site",
            Refusal::ForeignOrigin => "foreign_origin",
            Refusal::MissingToken => "missing_token",
            Refusal::WrongToken => "wrong_token",
            Refusal::NoSessionToken => "no_session_token",
            Refusal::FormTooLarge => "form_too_large",
            Refusal::UnreadableBody => "unreadable_body",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::CrossSite => "the browser says the request comes from another site or origin (Sec-Fetch-Site)",
            Refusal::ForeignOrigin => "the Origin header names another origin than the request's host",
            Refusal::MissingToken => "no CSRF token in the header or the form",
            Refusal::WrongToken => "the CSRF token is not this session's",
            Refusal::NoSessionToken => "the request has no session with a CSRF token (expired, logged out, or no cookie sent)",
            Refusal::FormTooLarge => "the form is too large to look for the CSRF token; send it in the header",
            Refusal::UnreadableBody => "the request body could not be read",
        })
    }
}

impl std::error::Error for Refusal {}

/// The origin steps (1 and 2) of [the rule](self): `Ok(true)` when the
/// request passes without a token, `Ok(false)` when a token decides.
fn check_origin(
    method: &Method,
    headers: &HeaderMap,
    config: &CsrfConfig,
) -> Result<bool, Refusal> {
    if !CsrfConfig::guards(method) {
        return Ok(true);
    }
    match origin::judge(headers, &config.trusted) {
        Provenance::Refused(refusal) => Err(refusal),
        Provenance::SameOrigin => Ok(config.same_origin_without_token),
        Provenance::Unknown => Ok(false),
    }
}

/// The token step (3): `token` against the session's secret.
fn check_token(session: &Session, token: Option<&str>) -> Result<(), Refusal> {
    let Some(token) = token else {
        return Err(Refusal::MissingToken);
    };
    if session.verify_csrf_token(token) {
        Ok(())
    } else if session.has_csrf_secret() {
        Err(Refusal::WrongToken)
    } else {
        Err(Refusal::NoSessionToken)
    }
}

/// Logs and counts a refusal.
fn log_refusal(refusal: Refusal, method: &Method, path: &str) {
    crate::counters::csrf_refused(refusal.as_str());
    tracing::warn!(
        %method,
        path,
        reason = refusal.as_str(),
        "request refused by the CSRF check (403): {refusal}"
    );
}
