//! [`SessionService`]: the middleware itself.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue, Request, Response};
use tower_service::Service;

use crate::chunk::{self, IncomingCookie};
use crate::config::SessionConfig;
use crate::error::RejectReason;
use crate::future::ResponseFuture;
use crate::kind::{Primary, SessionOf};
use crate::session::{PendingCookie, Session};

/// Wraps a service: puts a [`Session`] in each request's extensions and
/// appends `Set-Cookie` to the response when needed. Made by [`SessionLayer`](crate::SessionLayer).
#[derive(Debug)]
pub struct SessionService<S, K = Primary> {
    inner: S,
    config: Arc<SessionConfig>,
    kind: PhantomData<fn() -> K>,
}

impl<S: Clone, K> Clone for SessionService<S, K> {
    fn clone(&self) -> Self {
        SessionService {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            kind: PhantomData,
        }
    }
}

impl<S, K> SessionService<S, K> {
    pub(crate) fn new(inner: S, config: Arc<SessionConfig>) -> Self {
        SessionService {
            inner,
            config,
            kind: PhantomData,
        }
    }
}

/// Puts `session` in the request's extensions as the session of kind `K`
/// ([`SessionOf::put`]), saying so when a layer of the same kind already did.
fn insert_session<K: 'static>(extensions: &mut http::Extensions, session: Session) {
    if SessionOf::<K>::is_in(extensions) {
        tracing::error!(
            kind = std::any::type_name::<K>(),
            "two SessionLayers of one kind wrap this route; handlers see only the inner one \
             (give each layer its own kind: SessionLayer::of_kind)"
        );
    }
    SessionOf::<K>::put(extensions, session);
}

impl<S, K: 'static, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S, K>
where
    // Clone: a revocation check runs before the handler, so the ready
    // service is taken for the response future and a clone stays (the
    // usual tower pattern; axum routers and hyper service_fns are Clone).
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // One span per request, at INFO (cheap when disabled): the
        // session's id and what the response did with it are recorded on it.
        let span = tracing::info_span!(
            "session",
            session_id = tracing::field::Empty,
            outcome = tracing::field::Empty
        );
        let entered = span.enter();
        let session = session_for(&self.config, request.headers());
        insert_session::<K>(request.extensions_mut(), session.clone());
        let check = session.due_check();
        drop(entered);
        match check {
            None => ResponseFuture::calling(self.inner.call(request), session, span),
            Some(check) => {
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::checking(check, ready, request, session, span)
            }
        }
    }
}

/// The request's session, not yet opened: only where the cookie is, is noted.
pub(crate) fn session_for(config: &Arc<SessionConfig>, headers: &HeaderMap) -> Session {
    let (incoming, only_header) = read_cookie(config, headers);
    let had_cookie = incoming.value.is_some() || incoming.highest_chunk > 0;
    if !had_cookie
        && let Some(legacy) = &config.legacy
        && let Some(found) = legacy_cookie(legacy.cookie_name(), headers)
    {
        let pending = match found {
            Ok(value) => PendingCookie::Legacy(value),
            Err(reason) => PendingCookie::Rejected(reason),
        };
        return Session::for_request(config, Some(pending), true, 0);
    }
    let pending = match incoming.value {
        // Refused before copying: the copy would be as large as the header.
        Some(Ok(value)) if value.len() > config.codec.max_value_len() => {
            Some(PendingCookie::Rejected(RejectReason::TooLarge))
        }
        Some(Ok(Cow::Borrowed(value))) => Some(match only_header {
            Some(header) => {
                let start = value.as_ptr() as usize - header.as_bytes().as_ptr() as usize;
                PendingCookie::InHeader {
                    header: header.clone(),
                    start,
                    end: start + value.len(),
                }
            }
            None => PendingCookie::Joined(value.to_owned()),
        }),
        Some(Ok(Cow::Owned(joined))) => Some(PendingCookie::Joined(joined)),
        // Logged when the handler first touches the session, like every
        // rejection: a route that never looks at it logs nothing.
        Some(Err(reason)) => Some(PendingCookie::Rejected(reason)),
        None => None,
    };
    Session::for_request(config, pending, had_cookie, incoming.highest_chunk)
}

/// The value of the cookie `name` (a Mozilla client-sessions cookie) in the
/// request's `Cookie` headers: `Err(Duplicate)` when there are two, as for
/// this crate's own cookie.
fn legacy_cookie(name: &str, headers: &HeaderMap) -> Option<Result<String, RejectReason>> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if key.trim() == name {
                if found.is_some() {
                    return Some(Err(RejectReason::Duplicate));
                }
                found = Some(value.trim().to_owned());
            }
        }
    }
    found.map(Ok)
}

/// The session cookie of the request, and the `Cookie` header it was read
/// from when there was exactly one (so the value can be kept by reference).
fn read_cookie<'h>(
    config: &SessionConfig,
    headers: &'h HeaderMap,
) -> (IncomingCookie<'h>, Option<&'h HeaderValue>) {
    let name = config.cookie_name();
    let mut values = headers.get_all(COOKIE).iter();
    match (values.next(), values.next()) {
        (None, _) => (
            IncomingCookie {
                value: None,
                highest_chunk: 0,
            },
            None,
        ),
        // One Cookie header (HTTP/1.1, and most HTTP/2 clients): no allocation.
        (Some(only), None) => (
            chunk::read(std::iter::once(only.as_bytes()), name, config.read_chunks),
            Some(only),
        ),
        _ => {
            let all: Vec<&[u8]> = headers
                .get_all(COOKIE)
                .iter()
                .map(HeaderValue::as_bytes)
                .collect();
            (
                chunk::read(all.iter().copied(), name, config.read_chunks),
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Key, Keyring};
    use crate::ready_stub::{READINESS, ReadyAs};

    /// A `tracing` writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Two layers of one kind around a route: the handler sees only the
    /// inner one's session, and the log says so; two layers of two kinds
    /// each put their own session and log nothing.
    #[tokio::test]
    async fn two_layers_of_one_kind_are_an_error_in_the_log_two_kinds_are_not() {
        use tower::{ServiceExt as _, service_fn};

        struct Cart;
        let logs = Logs::default();
        let writer = logs.clone();
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish(),
        );
        let config = || {
            Arc::new(
                SessionConfig::builder(Keyring::single(Key::from_bytes(&[4; 32]).unwrap()))
                    .build()
                    .unwrap(),
            )
        };
        let handler = service_fn(|request: Request<()>| async move {
            let kinds = (
                SessionOf::<Primary>::is_in(request.extensions()),
                SessionOf::<Cart>::is_in(request.extensions()),
            );
            Ok::<_, std::convert::Infallible>(Response::new(format!("{kinds:?}")))
        });
        let warning = "two SessionLayers of one kind";

        let twice: SessionService<_> =
            SessionService::new(SessionService::<_>::new(handler, config()), config());
        let response = twice.oneshot(Request::new(())).await.unwrap();
        assert_eq!(response.body(), "(true, false)");
        let logged = String::from_utf8(logs.0.lock().unwrap().split_off(0)).unwrap();
        assert!(
            logged.contains("ERROR") && logged.contains(warning),
            "{logged}"
        );

        let two_kinds: SessionService<_> =
            SessionService::new(SessionService::<_, Cart>::new(handler, config()), config());
        let response = two_kinds.oneshot(Request::new(())).await.unwrap();
        assert_eq!(response.body(), "(true, true)");
        let logged = String::from_utf8(logs.0.lock().unwrap().split_off(0)).unwrap();
        assert!(!logged.contains(warning), "{logged}");
    }

    /// The layer is ready exactly when the service it wraps is (back-pressure
    /// and errors pass through).
    #[test]
    fn readiness_is_the_inner_services() {
        let config = SessionConfig::builder(Keyring::single(Key::from_bytes(&[4; 32]).unwrap()))
            .build()
            .unwrap();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for inner in READINESS {
            let mut service: SessionService<_> =
                SessionService::new(ReadyAs(inner), Arc::new(config.clone()));
            assert_eq!(
                Service::<Request<()>>::poll_ready(&mut service, &mut cx),
                inner
            );
        }
    }
}
