//! [`ResponseFuture`]: appends the session's `Set-Cookie` headers to the
//! inner service's response, without boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Response, StatusCode};
use pin_project_lite::pin_project;

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
        let verdict = writer::finish(&session.lock(), response.headers_mut());
        match verdict {
            Writeback::Done => {}
            Writeback::TooLarge => {
                // The handler's response promised a saved session; sending it
                // without the cookie would lose the user's data silently.
                response = Response::new(B::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            }
        }
        Poll::Ready(Ok(response))
    }
}
