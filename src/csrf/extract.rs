//! The axum side (feature `axum`): [`CsrfToken`] as an extractor for
//! pages, and [`CsrfForm`], a form extractor that runs the CSRF check in
//! one handler — where the handler decides what comes first (answering 401
//! to an anonymous request before looking for a token, say).
#![cfg(feature = "axum")]

use std::fmt;

use axum_core::body::Body;
use axum_core::extract::{FromRequest, FromRequestParts, Request};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use http_body_util::{BodyExt as _, Limited};
use serde::de::DeserializeOwned;

use super::{CsrfConfig, CsrfToken, Refusal, check_origin, check_token, form, log_refusal};
use crate::ext::MissingSessionLayer;
use crate::session::Session;

/// A form (`application/x-www-form-urlencoded`) whose request passed the
/// CSRF check: the same [rule](super) as [`CsrfLayer`](crate::CsrfLayer),
/// with the [`CsrfConfig`] found in the request's extensions (add one with
/// `axum::Extension(config)`) or the defaults. The token's field may be a
/// field of `T` or not (serde ignores unknown fields unless told not to).
///
/// ```
/// use axum::response::IntoResponse;
/// use client_session::{CsrfForm, CsrfRejection, Session};
///
/// #[derive(serde::Deserialize)]
/// struct NewItem { item: String }
///
/// // Anonymous requests get 401 before the token is looked at; a request
/// // without this session's token gets 403.
/// async fn add_item(session: Session, form: Result<CsrfForm<NewItem>, CsrfRejection>) -> axum::response::Response {
///     if session.get::<String>("user").is_none() {
///         return (http::StatusCode::UNAUTHORIZED, "log in first").into_response();
///     }
///     let CsrfForm(new) = match form {
///         Ok(form) => form,
///         Err(rejection) => return rejection.into_response(),
///     };
///     format!("added {}", new.item).into_response()
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::post(add_item));
/// ```
#[derive(Debug, Clone)]
pub struct CsrfForm<T>(pub T);

/// Why [`CsrfForm`] refused a request. A refusal is logged and counted
/// when it becomes the response ([`IntoResponse`]), so a handler that
/// answers something else first (401 to an anonymous request) logs none.
#[derive(Debug)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// The CSRF check failed: 403 (400 for a body that could not be read).
    Refused {
        /// Why.
        refusal: Refusal,
        /// The request's method, for the log line.
        method: http::Method,
        /// The request's path (no query), for the log line.
        path: String,
    },
    /// The body is not a urlencoded form: 415.
    NotAForm,
    /// The form does not deserialize into the handler's type: 422.
    InvalidForm,
    /// No [`SessionLayer`](crate::SessionLayer) wraps the route: 500.
    MissingSessionLayer,
}

impl fmt::Display for CsrfRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsrfRejection::Refused { refusal, .. } => write!(f, "request refused: {refusal}"),
            CsrfRejection::NotAForm => {
                f.write_str("expected an application/x-www-form-urlencoded body")
            }
            CsrfRejection::InvalidForm => {
                f.write_str("the form's fields are not the expected ones")
            }
            CsrfRejection::MissingSessionLayer => MissingSessionLayer.fmt(f),
        }
    }
}

impl std::error::Error for CsrfRejection {}

impl CsrfRejection {
    /// Whether the browser said the request comes from another origin
    /// ([`Refusal::CrossSite`], [`Refusal::ForeignOrigin`]): refuse it
    /// before anything else, whatever the handler would have answered.
    #[must_use]
    pub fn from_another_origin(&self) -> bool {
        matches!(
            self,
            CsrfRejection::Refused {
                refusal: Refusal::CrossSite | Refusal::ForeignOrigin,
                ..
            }
        )
    }
}

impl IntoResponse for CsrfRejection {
    fn into_response(self) -> Response {
        let status = match &self {
            CsrfRejection::Refused {
                refusal,
                method,
                path,
            } => {
                log_refusal(*refusal, method, path);
                match refusal {
                    Refusal::UnreadableBody => StatusCode::BAD_REQUEST,
                    _ => StatusCode::FORBIDDEN,
                }
            }
            CsrfRejection::NotAForm => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CsrfRejection::InvalidForm => StatusCode::UNPROCESSABLE_ENTITY,
            CsrfRejection::MissingSessionLayer => return MissingSessionLayer.into_response(),
        };
        (status, self.to_string()).into_response()
    }
}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = CsrfRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body): (Parts, Body) = request.into_parts();
        let config = parts
            .extensions
            .get::<CsrfConfig>()
            .cloned()
            .unwrap_or_default();
        let refuse = |refusal: Refusal| CsrfRejection::Refused {
            refusal,
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
        };
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(CsrfRejection::MissingSessionLayer)?;
        let passes = check_origin(&parts.method, &parts.headers, &config).map_err(refuse)?;
        let header_token = config.header_token(&parts.headers).map(str::to_owned);
        let kind = form::kind(&parts.headers);
        let bytes = match Limited::new(body, config.max_form_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => {
                return Err(refuse(Refusal::FormTooLarge));
            }
            Err(_) => return Err(refuse(Refusal::UnreadableBody)),
        };
        if !passes {
            let token = header_token.or_else(|| {
                kind.as_ref()
                    .and_then(|kind| form::find(kind, &bytes, &config.field))
            });
            check_token(&session, token.as_deref()).map_err(refuse)?;
        }
        if kind != Some(form::FormKind::UrlEncoded) {
            return Err(CsrfRejection::NotAForm);
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| CsrfRejection::InvalidForm)
    }
}

/// A fresh masked token of the request's session, for a page's forms
/// (creates the session's secret if needed: see [`Session::csrf_token`]).
impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .ok_or_else(|| MissingSessionLayer.into_response())?;
        session.csrf_token().map_err(|err| {
            tracing::error!(%err, "no CSRF token: the random generator failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
    }
}
