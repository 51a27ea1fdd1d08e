//! The layer works where users put it: around a hyper 1 `service_fn` served
//! over TCP, inside a `tower::ServiceBuilder`, and as an axum `Router::layer`
//! with the `Session` extractor. Each test runs a real server on 127.0.0.1.

use std::convert::Infallible;

use crate::common::*;
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use client_session::{RequestSessionExt as _, Session, SessionConfig, SessionLayer};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use reqwest::StatusCode;
use tower::ServiceBuilder;

/// Counts visits in the session: the smallest stateful handler.
async fn count_visits(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // RequestSessionExt: no `extensions().get::<Session>().unwrap().clone()`.
    let session = request.session().expect("the layer adds a Session");
    let visits = session.get::<u64>("visits").unwrap_or(0) + 1;
    session.insert("visits", &visits).unwrap();
    Ok(Response::new(Full::new(Bytes::from(visits.to_string()))))
}

/// Serves a tower service with hyper 1 over TCP, one task per connection.
async fn serve_hyper<S>(service: S) -> String
where
    S: tower::Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

async fn visits(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn wraps_a_hyper_service_fn_served_over_tcp() {
    let config = SessionConfig::builder(ring(&[1])).build().unwrap();
    let service = tower::Layer::layer(&SessionLayer::new(config), tower::service_fn(count_visits));
    let url = serve_hyper(service).await;
    let client = browser();
    assert_eq!(visits(&client, &url).await, "1");
    assert_eq!(visits(&client, &url).await, "2");
    assert_eq!(visits(&client, &url).await, "3");
    assert_eq!(
        visits(&browser(), &url).await,
        "1",
        "another browser, another session"
    );
}

#[tokio::test]
async fn works_inside_a_tower_service_builder() {
    let config = SessionConfig::builder(ring(&[1])).build().unwrap();
    let service = ServiceBuilder::new()
        .map_response(|mut response: Response<Full<Bytes>>| {
            response
                .headers_mut()
                .insert("x-outer", "1".parse().unwrap());
            response
        })
        .layer(SessionLayer::new(config))
        .service_fn(count_visits);
    let url = serve_hyper(service).await;
    let client = browser();
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["x-outer"], "1", "the outer layer ran");
    assert_eq!(set_cookies(&first).len(), 1, "the session layer ran");
    assert_eq!(first.text().await.unwrap(), "1");
    assert_eq!(visits(&client, &url).await, "2");
}

#[tokio::test]
async fn works_as_an_axum_layer_with_the_session_extractor() {
    let config = SessionConfig::builder(ring(&[1])).build().unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|session: Session| async move {
                let visits = session.get::<u64>("visits").unwrap_or(0) + 1;
                session.insert("visits", &visits).unwrap();
                visits.to_string()
            }),
        )
        .layer(SessionLayer::new(config));
    let url = serve(app).await;
    let client = browser();
    assert_eq!(visits(&client, &url).await, "1");
    assert_eq!(visits(&client, &url).await, "2");
}

#[tokio::test]
async fn the_axum_extractor_without_the_layer_is_a_500_naming_the_problem() {
    let app = Router::new().route("/", get(|_: Session| async { "unreachable" }));
    let url = serve(app).await;
    let response = bare_client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.text().await.unwrap(),
        "no SessionLayer wraps this route"
    );
}
