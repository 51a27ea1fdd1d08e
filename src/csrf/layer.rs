//! [`CsrfLayer`]: the check of [the rule](super) in front of every handler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt as _, Limited};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{CsrfConfig, Refusal, check_origin, check_token, form, log_refusal};
use crate::session::Session;

/// A tower [`Layer`] that refuses unsafe requests failing the CSRF check
/// with `403 Forbidden` before they reach the handler — see [the
/// rule](super). Put it inside the [`SessionLayer`](crate::SessionLayer)
/// (which it needs), around the routes to protect:
///
/// ```
/// use axum::{Router, routing::post};
/// use client_session::{CsrfConfig, CsrfLayer, Key, Keyring, SessionConfig, SessionLayer};
///
/// # fn main() -> Result<(), client_session::ConfigError> {
/// let sessions = SessionConfig::builder(Keyring::single(Key::generate())).build()?;
/// let app: Router = Router::new()
///     .route("/transfer", post(|| async { "done" }))
///     .layer(CsrfLayer::new(CsrfConfig::new()))
///     .layer(SessionLayer::new(sessions));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// When the token is in a form field, the layer reads the body (up to
/// [`CsrfConfig::max_form_bytes`]) and hands it on whole: the handler sees
/// a [`CsrfBody`] with the same bytes.
#[derive(Debug, Clone, Default)]
pub struct CsrfLayer {
    config: Arc<CsrfConfig>,
}

impl CsrfLayer {
    /// A layer with this configuration.
    #[must_use]
    pub fn new(config: CsrfConfig) -> CsrfLayer {
        CsrfLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> CsrfService<S> {
        CsrfService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`CsrfLayer`].
#[derive(Debug, Clone)]
pub struct CsrfService<S> {
    inner: S,
    config: Arc<CsrfConfig>,
}

/// The body the handler behind a [`CsrfLayer`] reads: the request's own
/// body, or the same bytes after the layer read them to find the token.
#[derive(Debug)]
pub struct CsrfBody<B> {
    inner: Inner<B>,
}

#[derive(Debug)]
enum Inner<B> {
    Streaming(B),
    Buffered(Option<Bytes>),
}

impl<B> CsrfBody<B> {
    fn streaming(body: B) -> Self {
        CsrfBody {
            inner: Inner::Streaming(body),
        }
    }

    fn buffered(bytes: Bytes) -> Self {
        CsrfBody {
            inner: Inner::Buffered(Some(bytes)),
        }
    }
}

impl<B> Body for CsrfBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match &mut self.get_mut().inner {
            Inner::Streaming(body) => Pin::new(body).poll_frame(cx),
            Inner::Buffered(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Streaming(body) => body.is_end_stream(),
            Inner::Buffered(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Streaming(body) => body.size_hint(),
            Inner::Buffered(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// The response future of [`CsrfService`]: the handler's own future
    /// (no allocation) unless the layer reads a form body first.
    pub struct CsrfFuture<F, ResBody, E> {
        #[pin]
        state: FutureState<F, ResBody, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum FutureState<F, ResBody, E> {
        Refused { response: Option<Response<ResBody>> },
        Calling { #[pin] future: F },
        Reading { future: Boxed<Result<Response<ResBody>, E>> },
    }
}

impl<F, ResBody, E> Future for CsrfFuture<F, ResBody, E>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("a CsrfFuture is not polled after it completed"))),
            StateProj::Calling { future } => future.poll(cx),
            StateProj::Reading { future } => future.as_mut().poll(cx),
        }
    }
}

fn refused<ResBody: Default>(refusal: Refusal) -> Response<ResBody> {
    let status = match refusal {
        Refusal::UnreadableBody => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    let mut response = Response::new(ResBody::default());
    *response.status_mut() = status;
    response
}

impl<S, B, ResBody> Service<Request<B>> for CsrfService<S>
where
    S: Service<Request<CsrfBody<B>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CsrfFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let refuse = |refusal: Refusal, request: &Request<B>| {
            log_refusal(refusal, request.method(), request.uri().path());
            CsrfFuture {
                state: FutureState::Refused {
                    response: Some(refused(refusal)),
                },
            }
        };
        let passes = match check_origin(request.method(), request.headers(), &self.config) {
            Err(refusal) => return refuse(refusal, &request),
            Ok(passes) => passes,
        };
        let call = |inner: &mut S, request: Request<B>| CsrfFuture {
            state: FutureState::Calling {
                future: inner.call(request.map(CsrfBody::streaming)),
            },
        };
        if passes {
            return call(&mut self.inner, request);
        }
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            tracing::error!(
                "CsrfLayer found no Session: put it inside the SessionLayer (500, a wiring bug)"
            );
            let mut response = Response::new(ResBody::default());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return CsrfFuture {
                state: FutureState::Refused {
                    response: Some(response),
                },
            };
        };
        if let Some(token) = self.config.header_token(request.headers()) {
            return match check_token(&session, Some(token)) {
                Ok(()) => call(&mut self.inner, request),
                Err(refusal) => refuse(refusal, &request),
            };
        }
        let Some(kind) = form::kind(request.headers()) else {
            return refuse(Refusal::MissingToken, &request);
        };
        // The token is in the body: read it (bounded), check, hand it on.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        CsrfFuture {
            state: FutureState::Reading {
                future: Box::pin(async move {
                    let (parts, body) = request.into_parts();
                    let read = Limited::new(body, config.max_form_bytes).collect().await;
                    let bytes = match read {
                        Ok(collected) => collected.to_bytes(),
                        Err(err) => {
                            let refusal = if err.is::<http_body_util::LengthLimitError>() {
                                Refusal::FormTooLarge
                            } else {
                                Refusal::UnreadableBody
                            };
                            log_refusal(refusal, &parts.method, parts.uri.path());
                            return Ok(refused(refusal));
                        }
                    };
                    let token = form::find(&kind, &bytes, &config.field);
                    if let Err(refusal) = check_token(&session, token.as_deref()) {
                        log_refusal(refusal, &parts.method, parts.uri.path());
                        return Ok(refused(refusal));
                    }
                    inner
                        .call(Request::from_parts(parts, CsrfBody::buffered(bytes)))
                        .await
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready_stub::{READINESS, ReadyAs};
    use http_body_util::Full;

    /// The layer is ready exactly when the service it wraps is.
    #[test]
    fn readiness_is_the_inner_services() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for inner in READINESS {
            let mut service = CsrfLayer::default().layer(ReadyAs(inner));
            assert_eq!(
                Service::<Request<Full<Bytes>>>::poll_ready(&mut service, &mut cx),
                inner
            );
        }
    }

    #[test]
    fn an_unreadable_body_is_a_400_every_other_refusal_a_403() {
        for (refusal, status) in [
            (Refusal::UnreadableBody, 400),
            (Refusal::FormTooLarge, 403),
            (Refusal::MissingToken, 403),
            (Refusal::CrossSite, 403),
        ] {
            assert_eq!(refused::<String>(refusal).status().as_u16(), status);
        }
    }

    #[tokio::test]
    async fn a_buffered_body_says_its_exact_size_and_ends_after_its_bytes() {
        let body: CsrfBody<Full<Bytes>> = CsrfBody::buffered(Bytes::from_static(b"item=pear"));
        assert_eq!(body.size_hint().exact(), Some(9));
        assert!(!body.is_end_stream());
        let mut body = body;
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "item=pear");
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn a_streaming_body_is_the_inner_one() {
        let inner = Full::new(Bytes::from_static(b"abc"));
        let body = CsrfBody::streaming(inner);
        assert_eq!(body.size_hint().exact(), Some(3));
        assert!(!body.is_end_stream());
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes, "abc");
        let empty = CsrfBody::streaming(Full::new(Bytes::new()));
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
    }
}
