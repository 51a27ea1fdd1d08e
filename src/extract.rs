//! The axum extractors (feature `axum`): [`Session`], [`SessionOf`].

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::ext::{MissingSessionLayer, RequestSessionExt as _};
use crate::kind::SessionOf;
use crate::session::Session;

/// A 500, since it is a bug in the application's wiring, not in the request.
impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!("a handler asked for a Session but no SessionLayer wraps the route");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.session()
    }
}

impl<K: 'static, S: Send + Sync> FromRequestParts<S> for SessionOf<K> {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.session_of::<K>()
    }
}
