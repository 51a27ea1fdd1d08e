//! [`ResponseFuture`]: appends the session's `Set-Cookie` headers to the
//! inner service's response, without boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Response, StatusCode};
use pin_project_lite::pin_project;

use crate::cache_headers::{self, Exposure};
use crate::session::Session;
use crate::writer::{self, Writeback};

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
        let mut state = session.lock();
        state.responded = true;
        let status = response.status();
        let verdict = writer::finish(&state, status, response.headers_mut());
        if verdict == Writeback::TooLarge {
            // The handler's response promised a saved session; sending it
            // without the cookie would lose the user's data silently.
            response = Response::new(B::default());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        if state.config.cache_headers {
            let exposure = Exposure {
                private: verdict == Writeback::SetCookie
                    || (state.accessed && state.opened.is_some()),
                varies_on_cookie: state.accessed,
            };
            cache_headers::protect(response.headers_mut(), exposure);
        }
        drop(state);
        Poll::Ready(Ok(response))
    }
}
