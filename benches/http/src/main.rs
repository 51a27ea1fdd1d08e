//! `bench-http-server STACK ADDR`: serves one of the stacks of the library
//! (`client_session_bench_http`) over TCP, for `scripts/bench-http.sh`.
//!
//! Everything runs on one thread (tokio `current_thread`); the script pins the
//! process to one CPU with `taskset`.

use std::net::SocketAddr;

use axum::Router;
use axum::serve::ListenerExt;
use bytes::Bytes;
use client_session_bench_http as stacks;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(stack), Some(addr)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: bench-http-server STACK ADDR\n  STACK: {}",
            stacks::STACKS.join(" | ")
        );
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().unwrap_or_else(|err| {
        eprintln!("bad address {addr:?}: {err}");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|err| {
            eprintln!("cannot listen on {addr}: {err}");
            std::process::exit(1);
        });
        eprintln!("{stack} listening on http://{addr}");
        match stack.as_str() {
            "hyper-hello" => {
                serve_hyper(listener, hyper::service::service_fn(stacks::hyper_hello)).await
            }
            "hyper-ours" => {
                let service = tower::ServiceBuilder::new()
                    .layer(client_session::SessionLayer::new(stacks::our_config()))
                    .service_fn(stacks::hyper_ours::<Incoming>);
                serve_hyper(listener, TowerToHyperService::new(service)).await
            }
            "axum-hello" => serve_axum(listener, stacks::axum_hello()).await,
            "axum-ours" => serve_axum(listener, stacks::ours::router()).await,
            "axum-tower-sessions" => {
                serve_axum(listener, stacks::tower_sessions_peer::router()).await
            }
            "axum-private-jar" => serve_axum(listener, stacks::private_jar::router()).await,
            other => {
                eprintln!("unknown stack {other:?}");
                std::process::exit(2);
            }
        }
    });
}

/// Accepts connections forever, serving each with hyper's HTTP/1 server.
async fn serve_hyper<S>(listener: TcpListener, service: S)
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Full<Bytes>>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        // One task per connection on the current_thread runtime.
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve_axum(listener: TcpListener, router: Router) {
    // TCP_NODELAY as in the hyper servers.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, router).await.expect("axum server");
}
