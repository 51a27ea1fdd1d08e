//! CSRF protection over real HTTP: the [`CsrfLayer`] in front of axum and
//! hyper handlers, and the [`CsrfForm`] extractor — the rule of
//! `client_session::csrf` row by row, each refusal with the handler never run.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use client_session::{
    CsrfConfig, CsrfForm, CsrfLayer, CsrfRejection, RequestSessionExt as _, Session, SessionConfig,
    SessionLayer,
};
use http_body_util::{BodyExt as _, Full};
use reqwest::{Method, StatusCode};

use crate::common::*;

/// An application whose `/act` counts the requests that reached it.
struct Guarded {
    url: String,
    reached: Arc<AtomicUsize>,
}

impl Guarded {
    fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }
}

async fn guarded(csrf: CsrfConfig) -> Guarded {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reached);
    let app = Router::new()
        .route(
            "/token",
            get(|s: Session| async move { s.csrf_token().unwrap().to_string() }),
        )
        .route(
            "/act",
            any(move |body: Bytes| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    body
                }
            }),
        )
        .route(
            "/login",
            post(|s: Session| async move {
                s.regenerate();
                s.insert("user", "alice").unwrap()
            }),
        )
        .layer(CsrfLayer::new(csrf))
        .layer(SessionLayer::new(
            SessionConfig::builder(ring(&[1])).build().unwrap(),
        ));
    Guarded {
        url: serve(app).await,
        reached,
    }
}

/// A browser-like client with a session that holds a token; returns the token.
async fn visitor(app: &Guarded) -> (reqwest::Client, String) {
    let client = browser();
    let token = client
        .get(format!("{}/token", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(token.len(), 86);
    (client, token)
}

async fn send(
    client: &reqwest::Client,
    method: Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> reqwest::Response {
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    request.send().await.unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn safe_methods_pass_and_unsafe_ones_need_this_sessions_token() {
    let app = guarded(CsrfConfig::new()).await;
    let (client, token) = visitor(&app).await;
    let act = || format!("{}/act", app.url);
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        let r = send(&client, method.clone(), act(), &[], None).await;
        assert_eq!(r.status(), StatusCode::OK, "{method}");
    }
    assert_eq!(app.reached(), 3);
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let before = app.reached();
        let r = send(&client, method.clone(), act(), &[], None).await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{method} without a token"
        );
        let r = send(
            &client,
            method.clone(),
            act(),
            &[("x-csrf-token", "A".repeat(86).as_str())],
            None,
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{method} with a made-up token"
        );
        assert_eq!(
            app.reached(),
            before,
            "{method}: a refused request never reaches the handler"
        );
        let r = send(
            &client,
            method.clone(),
            act(),
            &[("x-csrf-token", &token)],
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "{method} with the header");
        assert_eq!(app.reached(), before + 1);
    }
    // In a urlencoded form, anywhere among the fields; the handler gets the body as sent.
    let body = format!("item=a%26b&csrf_token={token}&note=x");
    let r = send(
        &client,
        Method::POST,
        act(),
        &[],
        Some((FORM, body.clone())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        body,
        "the form reaches the handler intact"
    );
    // In a multipart form (a file input before the token).
    let multipart = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nfile bytes\r\n--b0undary\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--b0undary--\r\n"
    );
    let r = send(
        &client,
        Method::POST,
        act(),
        &[],
        Some(("multipart/form-data; boundary=b0undary", multipart.clone())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), multipart);
    // A JSON body carries no form field: the header is the way.
    let r = send(
        &client,
        Method::POST,
        act(),
        &[],
        Some(("application/json", format!(r#"{{"csrf_token":"{token}"}}"#))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_only_opens_its_own_session() {
    let app = guarded(CsrfConfig::new()).await;
    let (alice, alice_token) = visitor(&app).await;
    let (mallory, mallory_token) = visitor(&app).await;
    let act = || format!("{}/act", app.url);
    // Mallory's own token in Alice's browser (the classic forged form).
    let r = send(
        &alice,
        Method::POST,
        act(),
        &[],
        Some((FORM, format!("csrf_token={mallory_token}"))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Alice's token without her cookie (a client with no session).
    let r = send(
        &bare_client(),
        Method::POST,
        act(),
        &[("x-csrf-token", &alice_token)],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A token with one character changed.
    let mut changed = alice_token.clone().into_bytes();
    changed[50] = if changed[50] == b'A' { b'B' } else { b'A' };
    let r = send(
        &alice,
        Method::POST,
        act(),
        &[("x-csrf-token", std::str::from_utf8(&changed).unwrap())],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.reached(), 0);
    // Every mask of the secret works, as many times as needed.
    let second = alice
        .get(format!("{}/token", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(second, alice_token, "each page gets another mask");
    for token in [&alice_token, &second, &alice_token] {
        let r = send(
            &alice,
            Method::POST,
            act(),
            &[("x-csrf-token", token)],
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let _ = mallory;
}

#[tokio::test]
async fn the_token_rotates_with_the_session() {
    let app = guarded(CsrfConfig::new()).await;
    let (client, before_login) = visitor(&app).await;
    // Logging in is a POST too: it needs the pre-login token.
    let r = send(
        &client,
        Method::POST,
        format!("{}/login", app.url),
        &[("x-csrf-token", &before_login)],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // regenerate() started a new session: the old token is worthless.
    let r = send(
        &client,
        Method::POST,
        format!("{}/act", app.url),
        &[("x-csrf-token", &before_login)],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let after_login = client
        .get(format!("{}/token", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = send(
        &client,
        Method::POST,
        format!("{}/act", app.url),
        &[("x-csrf-token", &after_login)],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_browsers_word_on_the_origin_comes_first() {
    let app = guarded(CsrfConfig::new().trust_origin("https://admin.example.com/")).await;
    let (client, token) = visitor(&app).await;
    let host = app.url.trim_start_matches("http://").to_owned();
    let own = app.url.clone();
    let act = || format!("{}/act", app.url);
    let with_token = |extra: &[(&'static str, String)]| {
        let mut headers: Vec<(&str, String)> = vec![("x-csrf-token", token.clone())];
        headers.extend(extra.iter().cloned());
        headers
    };
    let rows: Vec<(Vec<(&str, String)>, StatusCode)> = vec![
        // Refused whatever the token.
        (
            with_token(&[("sec-fetch-site", "cross-site".into())]),
            StatusCode::FORBIDDEN,
        ),
        (
            with_token(&[
                ("sec-fetch-site", "same-site".into()),
                ("origin", "http://127.0.0.2:1".into()),
            ]),
            StatusCode::FORBIDDEN,
        ),
        (
            with_token(&[("origin", "http://evil.example".into())]),
            StatusCode::FORBIDDEN,
        ),
        (
            with_token(&[("origin", "null".into())]),
            StatusCode::FORBIDDEN,
        ),
        // Same origin, or trusted: the token decides.
        (
            with_token(&[("sec-fetch-site", "same-origin".into())]),
            StatusCode::OK,
        ),
        (with_token(&[("origin", own.clone())]), StatusCode::OK),
        (
            with_token(&[
                ("sec-fetch-site", "cross-site".into()),
                ("origin", "https://admin.example.com".into()),
            ]),
            StatusCode::OK,
        ),
        (
            vec![
                ("sec-fetch-site", "cross-site".into()),
                ("origin", "https://admin.example.com".into()),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("sec-fetch-site", "same-origin".into())],
            StatusCode::FORBIDDEN,
        ),
        (vec![("origin", own.clone())], StatusCode::FORBIDDEN),
    ];
    for (headers, expected) in rows {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = send(&client, Method::POST, act(), &pairs, None).await;
        assert_eq!(r.status(), expected, "{headers:?} (host {host})");
    }
}

#[tokio::test]
async fn same_origin_without_a_token_only_when_the_app_opts_in() {
    let app = guarded(CsrfConfig::new().allow_same_origin_without_token()).await;
    let (client, _) = visitor(&app).await;
    let act = || format!("{}/act", app.url);
    let rows: [(&[(&str, &str)], StatusCode); 5] = [
        (&[("sec-fetch-site", "same-origin")], StatusCode::OK),
        (&[("sec-fetch-site", "cross-site")], StatusCode::FORBIDDEN),
        (&[("origin", "http://evil.example")], StatusCode::FORBIDDEN),
        // No word from a browser: a token is still needed.
        (&[], StatusCode::FORBIDDEN),
        (&[("sec-fetch-site", "none")], StatusCode::FORBIDDEN),
    ];
    for (headers, expected) in rows {
        assert_eq!(
            send(&client, Method::POST, act(), headers, None)
                .await
                .status(),
            expected,
            "{headers:?}"
        );
    }
    let origin = app.url.clone();
    let r = send(&client, Method::POST, act(), &[("origin", &origin)], None).await;
    assert_eq!(r.status(), StatusCode::OK, "Origin equal to the host");
}

#[tokio::test]
async fn a_form_over_the_cap_needs_the_header_and_is_never_cut() {
    let app = guarded(CsrfConfig::new().max_form_bytes(1024)).await;
    let (client, token) = visitor(&app).await;
    let big = format!("csrf_token={token}&text={}", "x".repeat(4096));
    let r = send(
        &client,
        Method::POST,
        format!("{}/act", app.url),
        &[],
        Some((FORM, big.clone())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.reached(), 0);
    let r = send(
        &client,
        Method::POST,
        format!("{}/act", app.url),
        &[("x-csrf-token", &token)],
        Some((FORM, big.clone())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        big,
        "with the header the body streams through untouched"
    );
}

/// The layer around a hyper `service_fn`: the handler reads the form the
/// layer read first.
#[tokio::test]
async fn the_layer_wraps_a_hyper_service_and_hands_the_body_on() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceBuilder;

    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(SessionConfig::builder(ring(&[1])).build().unwrap()))
        .layer(CsrfLayer::new(CsrfConfig::new()))
        .service_fn(|request: http::Request<client_session::csrf::CsrfBody<hyper::body::Incoming>>| async move {
            let session = request.session().expect("the layer adds a Session");
            let token = session.csrf_token().unwrap().to_string();
            let body = request.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(format!("{token}|{}", String::from_utf8_lossy(&body))))))
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
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
    let client = browser();
    let text = client
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = text.split('|').next().unwrap().to_owned();
    let r = send(
        &client,
        Method::POST,
        format!("{url}/"),
        &[],
        Some((FORM, "item=pear".into())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let form = format!("item=pear&csrf_token={token}");
    let r = send(
        &client,
        Method::POST,
        format!("{url}/"),
        &[],
        Some((FORM, form.clone())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().ends_with(&format!("|{form}")));
}

/// Request headers, body (content type, text), expected status.
type HeaderRow<'a> = (
    Vec<(&'a str, &'a str)>,
    Option<(&'a str, String)>,
    StatusCode,
);

/// Request headers, body (content type, text), expected status and body.
type Row<'a> = (
    Vec<(&'a str, String)>,
    Option<(&'a str, String)>,
    StatusCode,
    &'a str,
);

#[derive(serde::Deserialize)]
struct Item {
    item: String,
}

/// The extractor: the same rule, in the order the handler chooses.
#[tokio::test]
async fn the_csrf_form_extractor_checks_then_deserializes() {
    let app = Router::new()
        .route(
            "/token",
            get(|s: Session| async move { s.csrf_token().unwrap().to_string() }),
        )
        .route(
            "/add",
            post(
                |s: Session, form: Result<CsrfForm<Item>, CsrfRejection>| async move {
                    if s.get::<bool>("member").is_none() {
                        return (StatusCode::UNAUTHORIZED, "log in first").into_response();
                    }
                    match form {
                        Ok(CsrfForm(item)) => format!("added {}", item.item).into_response(),
                        Err(rejection) => rejection.into_response(),
                    }
                },
            ),
        )
        .route(
            "/join",
            get(|s: Session| async move { s.insert("member", &true).unwrap() }),
        )
        .layer(SessionLayer::new(
            SessionConfig::builder(ring(&[1])).build().unwrap(),
        ));
    let url = serve(app).await;
    let client = browser();
    let add = || format!("{url}/add");
    // Anonymous: the handler answers 401 before the token matters.
    let r = send(
        &client,
        Method::POST,
        add(),
        &[],
        Some((FORM, "item=x".into())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    client.get(format!("{url}/join")).send().await.unwrap();
    let token = client
        .get(format!("{url}/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<Row> = vec![
        (
            vec![],
            Some((FORM, "item=x".into())),
            StatusCode::FORBIDDEN,
            "request refused: no CSRF token in the header or the form",
        ),
        (
            vec![],
            Some((FORM, format!("item=pear&csrf_token={token}"))),
            StatusCode::OK,
            "added pear",
        ),
        (
            vec![("x-csrf-token", token.clone())],
            Some((FORM, "item=fig".into())),
            StatusCode::OK,
            "added fig",
        ),
        (
            vec![("sec-fetch-site", "cross-site".into())],
            Some((FORM, format!("item=x&csrf_token={token}"))),
            StatusCode::FORBIDDEN,
            "request refused: the browser says the request comes from another site or origin (Sec-Fetch-Site)",
        ),
        (
            vec![("x-csrf-token", token.clone())],
            Some(("application/json", r#"{"item":"x"}"#.into())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected an application/x-www-form-urlencoded body",
        ),
        (
            vec![],
            Some((FORM, format!("csrf_token={token}"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "the form's fields are not the expected ones",
        ),
    ];
    for (headers, body, status, text) in rows {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = send(&client, Method::POST, add(), &pairs, body).await;
        assert_eq!(
            (r.status(), r.text().await.unwrap().as_str()),
            (status, text)
        );
    }
}

#[tokio::test]
async fn the_header_and_field_names_are_the_configured_ones() {
    let app = guarded(
        CsrfConfig::new()
            .header_name(http::HeaderName::from_static("x-my-token"))
            .form_field("authenticity_token"),
    )
    .await;
    let (client, token) = visitor(&app).await;
    let act = || format!("{}/act", app.url);
    let rows: Vec<HeaderRow> = vec![
        (vec![("x-csrf-token", &token)], None, StatusCode::FORBIDDEN),
        (vec![("x-my-token", &token)], None, StatusCode::OK),
        (
            vec![],
            Some((FORM, format!("csrf_token={token}"))),
            StatusCode::FORBIDDEN,
        ),
        (
            vec![],
            Some((FORM, format!("authenticity_token={token}"))),
            StatusCode::OK,
        ),
    ];
    for (headers, body, expected) in rows {
        let r = send(&client, Method::POST, act(), &headers, body.clone()).await;
        assert_eq!(r.status(), expected, "{headers:?} {body:?}");
    }
}

#[tokio::test]
async fn the_default_form_cap_is_two_mebibytes() {
    let app = guarded(CsrfConfig::new()).await;
    let (client, token) = visitor(&app).await;
    let form = |total: usize| {
        let head = format!("csrf_token={token}&text=");
        format!("{head}{}", "x".repeat(total - head.len()))
    };
    let r = send(
        &client,
        Method::POST,
        format!("{}/act", app.url),
        &[],
        Some((FORM, form(2 * 1024 * 1024))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "exactly 2 MiB");
    let r = send(
        &client,
        Method::POST,
        format!("{}/act", app.url),
        &[],
        Some((FORM, form(2 * 1024 * 1024 + 1))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "one byte more");
}

/// The extractor's refusals, one by one, without a network: the status each
/// becomes, which count as "from another origin", and a body that cannot
/// be read (a client that vanished) against one over the cap.
#[tokio::test]
async fn csrf_form_rejections_map_to_their_statuses() {
    use axum::extract::FromRequest as _;
    use client_session::Refusal;

    let refused = |refusal| CsrfRejection::Refused {
        refusal,
        method: http::Method::POST,
        path: "/p".into(),
    };
    for (rejection, status, other_origin) in [
        (refused(Refusal::CrossSite), 403, true),
        (refused(Refusal::ForeignOrigin), 403, true),
        (refused(Refusal::MissingToken), 403, false),
        (refused(Refusal::WrongToken), 403, false),
        (refused(Refusal::FormTooLarge), 403, false),
        (refused(Refusal::UnreadableBody), 400, false),
        (CsrfRejection::NotAForm, 415, false),
        (CsrfRejection::InvalidForm, 422, false),
        (CsrfRejection::MissingSessionLayer, 500, false),
    ] {
        assert_eq!(rejection.from_another_origin(), other_origin, "{rejection}");
        assert_eq!(rejection.into_response().status().as_u16(), status);
    }

    let session = client_session::testing::session();
    let token = session.csrf_token().unwrap().to_string();
    let request = |body: axum::body::Body, config: Option<CsrfConfig>| {
        let mut request = http::Request::post("/p")
            .header("content-type", FORM)
            .body(body)
            .unwrap();
        request.extensions_mut().insert(session.clone());
        if let Some(config) = config {
            request.extensions_mut().insert(config);
        }
        request
    };
    let broken = axum::body::Body::from_stream(futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"csrf_token=")),
        Err(std::io::Error::other("connection reset")),
    ]));
    let outcome = CsrfForm::<Item>::from_request(request(broken, None), &()).await;
    assert!(matches!(
        outcome,
        Err(CsrfRejection::Refused {
            refusal: Refusal::UnreadableBody,
            ..
        })
    ));
    let big = axum::body::Body::from(format!("csrf_token={token}&item={}", "x".repeat(200)));
    let outcome = CsrfForm::<Item>::from_request(
        request(big, Some(CsrfConfig::new().max_form_bytes(64))),
        &(),
    )
    .await;
    assert!(matches!(
        outcome,
        Err(CsrfRejection::Refused {
            refusal: Refusal::FormTooLarge,
            ..
        })
    ));
    // A token, but a session without a secret (expired, or no cookie); a
    // session with a secret, but another token.
    let fresh = client_session::testing::session();
    let mut stranger = http::Request::post("/p")
        .header("content-type", FORM)
        .body(axum::body::Body::from(format!("csrf_token={token}&item=x")))
        .unwrap();
    stranger.extensions_mut().insert(fresh);
    let outcome = CsrfForm::<Item>::from_request(stranger, &()).await;
    assert!(matches!(
        outcome,
        Err(CsrfRejection::Refused {
            refusal: Refusal::NoSessionToken,
            ..
        })
    ));
    let other = client_session::testing::session()
        .csrf_token()
        .unwrap()
        .to_string();
    let wrong = axum::body::Body::from(format!("csrf_token={other}&item=x"));
    let outcome = CsrfForm::<Item>::from_request(request(wrong, None), &()).await;
    assert!(matches!(
        outcome,
        Err(CsrfRejection::Refused {
            refusal: Refusal::WrongToken,
            ..
        })
    ));
    let fine = axum::body::Body::from(format!("csrf_token={token}&item=fig"));
    let outcome = CsrfForm::<Item>::from_request(request(fine, None), &()).await;
    assert!(matches!(outcome, Ok(CsrfForm(Item { ref item })) if item == "fig"));
}
