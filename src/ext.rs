//! [`RequestSessionExt`]: the session of a request, for hyper and tower
//! code that has no extractors.

use std::fmt;

use http::Request;
use http::request::Parts;

use crate::kind::SessionOf;
use crate::session::Session;

/// No [`SessionLayer`](crate::SessionLayer) (of the asked kind) wraps the
/// service: a bug in the application's wiring, not in the request (with
/// axum, a 500).
#[derive(Debug, Clone, Copy)]
pub struct MissingSessionLayer;

impl fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no SessionLayer wraps this route")
    }
}

impl std::error::Error for MissingSessionLayer {}

/// The session of a request, without `extensions().get::<Session>().unwrap().clone()`.
///
/// ```
/// use client_session::RequestSessionExt as _;
/// # use std::convert::Infallible;
/// # use http::{Request, Response};
///
/// async fn handler(request: Request<hyper::body::Incoming>) -> Result<Response<String>, Box<dyn std::error::Error + Send + Sync>> {
///     let session = request.session()?; // Err only when no SessionLayer wraps the service
///     let visits = session.get::<u32>("visits").unwrap_or(0) + 1;
///     session.insert("visits", &visits)?;
///     Ok(Response::new(format!("visit {visits}")))
/// }
/// ```
pub trait RequestSessionExt {
    /// The request's [`Session`].
    ///
    /// # Errors
    /// [`MissingSessionLayer`] when no [`SessionLayer`](crate::SessionLayer)
    /// wraps the service.
    fn session(&self) -> Result<Session, MissingSessionLayer>;

    /// The request's session of kind `K` (see [`SessionOf`]).
    ///
    /// # Errors
    /// [`MissingSessionLayer`] when no layer of that kind wraps the service.
    fn session_of<K: 'static>(&self) -> Result<SessionOf<K>, MissingSessionLayer>;
}

impl<B> RequestSessionExt for Request<B> {
    fn session(&self) -> Result<Session, MissingSessionLayer> {
        self.extensions()
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }

    fn session_of<K: 'static>(&self) -> Result<SessionOf<K>, MissingSessionLayer> {
        SessionOf::find(self.extensions()).ok_or(MissingSessionLayer)
    }
}

impl RequestSessionExt for Parts {
    fn session(&self) -> Result<Session, MissingSessionLayer> {
        self.extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }

    fn session_of<K: 'static>(&self) -> Result<SessionOf<K>, MissingSessionLayer> {
        SessionOf::find(&self.extensions).ok_or(MissingSessionLayer)
    }
}
