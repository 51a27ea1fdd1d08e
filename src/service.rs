//! [`SessionService`]: the middleware itself.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue, Request, Response};
use tower_service::Service;

use crate::chunk::{self, IncomingCookie};
use crate::config::SessionConfig;
use crate::future::ResponseFuture;
use crate::session::{Session, State};

/// Wraps a service: puts a [`Session`] in each request's extensions and
/// appends `Set-Cookie` to the response when needed. Made by [`SessionLayer`](crate::SessionLayer).
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<SessionConfig>,
}

impl<S> SessionService<S> {
    pub(crate) fn new(inner: S, config: Arc<SessionConfig>) -> Self {
        SessionService { inner, config }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let session = session_for(&self.config, request.headers());
        request.extensions_mut().insert(session.clone());
        ResponseFuture::new(self.inner.call(request), session)
    }
}

/// The request's session, not yet opened: only the cookie's value is copied out.
fn session_for(config: &Arc<SessionConfig>, headers: &HeaderMap) -> Session {
    let incoming = read_cookie(config, headers);
    let had_cookie = incoming.value.is_some() || incoming.highest_chunk > 0;
    let too_long = |value: &str| value.len() > config.codec.max_value_len();
    let pending = match incoming.value {
        // Refused before copying: the copy would be as large as the header.
        Some(Ok(value)) if too_long(&value) => {
            tracing::debug!(
                reason = "too_large",
                "session cookie rejected; request has no session"
            );
            None
        }
        Some(Ok(value)) => Some(value.into_owned()),
        Some(Err(reason)) => {
            tracing::debug!(
                reason = reason.as_str(),
                "session cookie rejected; request has no session"
            );
            None
        }
        None => None,
    };
    Session::new(State {
        config: Arc::clone(config),
        now: config.clock.now(),
        loaded: pending.is_none(),
        pending,
        data: Default::default(),
        opened: None,
        had_cookie,
        highest_chunk: incoming.highest_chunk,
        modified: false,
        renewed_identity: false,
    })
}

fn read_cookie<'h>(config: &SessionConfig, headers: &'h HeaderMap) -> IncomingCookie<'h> {
    let name = &config.cookie_name;
    let mut values = headers.get_all(COOKIE).iter();
    match (values.next(), values.next()) {
        (None, _) => IncomingCookie {
            value: None,
            highest_chunk: 0,
        },
        // One Cookie header (HTTP/1.1, and most HTTP/2 clients): no allocation.
        (Some(only), None) => {
            chunk::read(std::iter::once(only.as_bytes()), name, config.max_chunks)
        }
        _ => {
            let all: Vec<&[u8]> = headers
                .get_all(COOKIE)
                .iter()
                .map(HeaderValue::as_bytes)
                .collect();
            chunk::read(all.iter().copied(), name, config.max_chunks)
        }
    }
}
