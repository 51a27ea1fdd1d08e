//! [`ResponseFuture`]: runs a due revocation check before the handler
//! ([`crate::revocation`]), then applies the session's plan
//! ([`crate::policy`]) to the inner service's response — `Set-Cookie`
//! headers, or a 500 for a change that cannot be stored — and the cache
//! headers. Boxes only the application's check, and only when one is due.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::cache_headers::{self, Exposure};
use crate::counters;
use crate::policy::{Plan, Unsealable};
use crate::revocation::CheckFuture;
use crate::session::{Finished, Session};

pin_project! {
    /// The response future of [`SessionService`](crate::SessionService).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        stage: Stage<S, ReqBody>,
        session: Option<Session>,
        // The request's `session` span: entered while the check and the
        // handler run, closed with the session's id and outcome.
        span: tracing::Span,
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        /// The revocation check runs; the handler waits (with its request).
        Checking {
            check: CheckFuture,
            call: Option<(S, Request<ReqBody>)>,
        },
        /// The handler runs.
        Calling {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    /// The handler already called: no check was due.
    pub(crate) fn calling(future: S::Future, session: Session, span: tracing::Span) -> Self {
        ResponseFuture {
            stage: Stage::Calling { future },
            session: Some(session),
            span,
        }
    }

    /// `check` first, then `service` (ready) is called with `request`.
    pub(crate) fn checking(
        check: CheckFuture,
        service: S,
        request: Request<ReqBody>,
        session: Session,
        span: tracing::Span,
    ) -> Self {
        ResponseFuture {
            stage: Stage::Checking {
                check,
                call: Some((service, request)),
            },
            session: Some(session),
            span,
        }
    }
}

impl<S, ReqBody, B> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Default,
{
    type Output = Result<Response<B>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.span.enter();
        let mut response = loop {
            let next = match this.stage.as_mut().project() {
                StageProj::Checking { check, call } => {
                    let outcome = ready!(check.as_mut().poll(cx));
                    if let Some(session) = this.session.as_ref() {
                        session.after_check(outcome);
                    }
                    let (mut service, request) = call
                        .take()
                        .expect("a checking stage calls the service once, then becomes calling");
                    Stage::Calling {
                        future: service.call(request),
                    }
                }
                StageProj::Calling { future } => break ready!(future.poll(cx))?,
            };
            this.stage.set(next);
        };
        let Some(session) = this.session.take() else {
            return Poll::Ready(Ok(response));
        };
        let finished = session.finish(response.status());
        let written = apply(&finished, response.headers_mut());
        // Nothing to record on a span no subscriber wants (the common case
        // without an INFO-level subscriber): no formatting, no calls.
        if !this.span.is_disabled() {
            if let Some(id) = finished.id {
                this.span.record("session_id", tracing::field::display(id));
            }
            this.span.record("outcome", outcome(&finished, written));
        }
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

/// The request's outcome for its span: what the response did with the session.
fn outcome(finished: &Finished, written: Written) -> &'static str {
    match (finished.plan, written) {
        (Plan::Nothing, _) if finished.touched => "read",
        (Plan::Nothing, _) => "untouched",
        (Plan::Expire, _) => "expired",
        (Plan::Seal(_), Written::Refused) => "answered_500",
        (Plan::Seal(_), Written::Nothing) => "kept_old_cookie",
        (Plan::Seal(seal), Written::SetCookie) => match seal.why {
            crate::policy::Why::Changed => "sealed_changed",
            crate::policy::Why::OldKey => "sealed_old_key",
            crate::policy::Why::OldFormat => "sealed_old_format",
            crate::policy::Why::Checked => "sealed_checked",
            crate::policy::Why::Renewal => "sealed_renewal",
        },
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// No `Set-Cookie` for the session.
    Nothing,
    /// `Set-Cookie` headers were added (the session set, or its cookie expired).
    SetCookie,
    /// The handler's change cannot be stored within the limits: answer 500.
    Refused,
}

/// Adds the `Set-Cookie` headers the plan calls for — and, when the session
/// came from a legacy client-sessions cookie and is now written (or
/// ended), the one that deletes that cookie.
pub(crate) fn apply(finished: &Finished, headers: &mut HeaderMap) -> Written {
    let written = apply_session(finished, headers);
    if written == Written::SetCookie
        && let Some(expiry) = &finished.legacy_expiry
        && let Ok(value) = http::HeaderValue::from_str(expiry)
    {
        headers.append(http::header::SET_COOKIE, value);
    }
    written
}

/// Adds the session's own `Set-Cookie` headers the plan calls for.
fn apply_session(finished: &Finished, headers: &mut HeaderMap) -> Written {
    let config = &*finished.config;
    let cookie = &config.cookie;
    let seal = match finished.plan {
        Plan::Nothing => return Written::Nothing,
        Plan::Expire => {
            cookie.expire(0, finished.highest_chunk, headers);
            counters::expired();
            return Written::SetCookie;
        }
        Plan::Seal(seal) => seal,
    };
    let unsealable = seal.why.when_unsealable();
    // Formatted only if a line below is logged: no allocation per seal.
    let session_id = finished.id.map(tracing::field::display);
    let (value, size) = match &finished.sealed {
        Some(Ok((value, size))) => (value, *size),
        Some(Err(err)) if unsealable == Unsealable::Answer500 => {
            tracing::error!(session_id, %err, "session not saved; answering 500");
            counters::not_written(true);
            return Written::Refused;
        }
        Some(Err(err)) => {
            counters::not_written(false);
            tracing::warn!(session_id, %err, why = ?seal.why, "session not renewed or re-sealed; the browser keeps its cookie until it expires");
            return Written::Nothing;
        }
        None => return Written::Nothing,
    };
    if !size.fits {
        let (cookie_bytes, chunks, body_bytes) = (size.bytes, size.chunks, finished.body_len);
        let (max_cookie_bytes, max_chunks) = (config.max_cookie_bytes, config.max_chunks);
        if unsealable == Unsealable::Answer500 {
            tracing::error!(
                session_id,
                cookie_bytes,
                max_cookie_bytes,
                chunks,
                max_chunks,
                body_bytes,
                "session not saved: too large for its cookies; answering 500"
            );
            counters::not_written(true);
            return Written::Refused;
        }
        tracing::warn!(
            session_id,
            cookie_bytes,
            max_cookie_bytes,
            chunks,
            max_chunks,
            body_bytes,
            why = ?seal.why,
            "session not renewed or re-sealed: too large for its cookies; \
             the browser keeps its cookie until it expires"
        );
        counters::not_written(false);
        return Written::Nothing;
    }
    let chunks = cookie.set(value, seal.max_age, headers);
    counters::sealed(seal.why, size.bytes);
    if chunks <= finished.highest_chunk {
        cookie.expire(chunks, finished.highest_chunk, headers);
    }
    Written::SetCookie
}
