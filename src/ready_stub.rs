//! For the crate's unit tests: a service whose readiness is whatever the
//! test says, to show that a layer passes its inner service's readiness
//! (back-pressure and errors) through unchanged.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

use http::Response;
use tower_service::Service;

/// Ready, busy or failed as given; answers an empty response to any request.
#[derive(Clone, Copy)]
pub(crate) struct ReadyAs(pub(crate) Poll<Result<(), &'static str>>);

impl<Req> Service<Req> for ReadyAs {
    type Response = Response<String>;
    type Error = &'static str;
    type Future = Ready<Result<Response<String>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0
    }

    fn call(&mut self, _: Req) -> Self::Future {
        ready(Ok(Response::new(String::new())))
    }
}

/// Busy, failed, ready: the three answers every readiness test runs through.
pub(crate) const READINESS: [Poll<Result<(), &'static str>>; 3] =
    [Poll::Pending, Poll::Ready(Err("down")), Poll::Ready(Ok(()))];
