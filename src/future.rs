//! [`ResponseFuture`]: applies the session's plan ([`crate::policy`]) to
//! the inner service's response — `Set-Cookie` headers, or a 500 for a change
//! that cannot be stored — and the cache headers, without boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, Response, StatusCode};
use pin_project_lite::pin_project;

use crate::cache_headers::{self, Exposure};
use crate::policy::{Plan, Unsealable};
use crate::session::{Finished, Session};

pin_project! {
    /// The response future of [`SessionService`](crate::SessionService).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        session: Option<Session>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, session: Session) -> Self {
        ResponseFuture {
            inner,
            session: Some(session),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        let Some(session) = this.session.take() else {
            return Poll::Ready(Ok(response));
        };
        let finished = session.finish(response.status());
        let written = apply(&finished, response.headers_mut());
        if written == Written::Refused {
            // The handler's response promised a saved session; sending it
            // without the cookie would lose the user's data silently.
            response = Response::new(B::default());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        if finished.config.cache_headers {
            let exposure = Exposure {
                private: written == Written::SetCookie || finished.revealed,
                varies_on_cookie: finished.touched,
            };
            if let Some(removed) = cache_headers::protect(response.headers_mut(), exposure) {
                tracing::warn!(
                    %removed,
                    "Cache-Control of a response that carries or shows a session made private; \
                     a shared cache would serve it to other users"
                );
            }
        }
        Poll::Ready(Ok(response))
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// No `Set-Cookie` for the session.
    Nothing,
    /// `Set-Cookie` headers were added (the session set, or its cookie expired).
    SetCookie,
    /// The handler's change cannot be stored within the limits: answer 500.
    Refused,
}

/// Adds the `Set-Cookie` headers the plan calls for.
fn apply(finished: &Finished, headers: &mut HeaderMap) -> Written {
    let config = &*finished.config;
    let cookie = &config.cookie;
    let seal = match finished.plan {
        Plan::Nothing => return Written::Nothing,
        Plan::Expire => {
            cookie.expire(0, finished.highest_chunk, headers);
            return Written::SetCookie;
        }
        Plan::Seal(seal) => seal,
    };
    let unsealable = seal.why.when_unsealable();
    let (value, size) = match &finished.sealed {
        Some(Ok((value, size))) => (value, *size),
        Some(Err(err)) if unsealable == Unsealable::Answer500 => {
            tracing::error!(%err, "session not saved; answering 500");
            return Written::Refused;
        }
        Some(Err(err)) => {
            tracing::warn!(%err, why = ?seal.why, "session not renewed or re-sealed; the browser keeps its cookie until it expires");
            return Written::Nothing;
        }
        None => return Written::Nothing,
    };
    if !size.fits {
        let (cookie_bytes, chunks, body_bytes) = (size.bytes, size.chunks, finished.body_len);
        let (max_cookie_bytes, max_chunks) = (config.max_cookie_bytes, config.max_chunks);
        if unsealable == Unsealable::Answer500 {
            tracing::error!(
                cookie_bytes,
                max_cookie_bytes,
                chunks,
                max_chunks,
                body_bytes,
                "session not saved: too large for its cookies; answering 500"
            );
            return Written::Refused;
        }
        tracing::warn!(
            cookie_bytes,
            max_cookie_bytes,
            chunks,
            max_chunks,
            body_bytes,
            why = ?seal.why,
            "session not renewed or re-sealed: too large for its cookies; \
             the browser keeps its cookie until it expires"
        );
        return Written::Nothing;
    }
    let chunks = cookie.set(value, seal.max_age, headers);
    if chunks <= finished.highest_chunk {
        cookie.expire(chunks, finished.highest_chunk, headers);
    }
    Written::SetCookie
}
