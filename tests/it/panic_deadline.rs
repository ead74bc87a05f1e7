//! The production middleware around the production routes plus two routes this test adds
//! (the product has no route that panics or stalls on purpose): a handler that panics is
//! answered 500 and the server keeps serving, and a handler that outlives `request_timeout`
//! is answered 503 with `Retry-After` at the deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;

use nyckel::http::api::table::Method;

use crate::helpers::TestApp;
use crate::helpers::ops::check_api_answer;

#[tokio::test]
async fn a_panicking_handler_answers_500_and_a_stalled_one_503_while_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let routes = nyckel::http::routes(app.state.clone())
        .route(
            "/test-only/panic",
            get(|| async {
                if true {
                    panic!("handler panicked on purpose");
                }
                "unreachable"
            }),
        )
        .route(
            "/test-only/stall",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        );
    let service = nyckel::http::middleware(routes, Duration::from_secs(1))
        .into_make_service_with_connect_info::<SocketAddr>();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum_server::from_tcp(listener).serve(service).await });
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");
    let get = |p: &str| http.get(url(p)).send();

    for _ in 0..3 {
        let res = get("/test-only/panic")
            .await
            .expect("an answer, not a reset");
        assert_eq!(res.status(), 500);
        for h in [
            "content-security-policy",
            "x-frame-options",
            "x-content-type-options",
        ] {
            assert!(res.headers().contains_key(h), "the 500 lacks {h}");
        }
        let body = res.text().await.expect("body");
        assert!(
            !body.contains("on purpose"),
            "the panic message is not shown: {body}"
        );
        let live = get("/healthz").await.expect("healthz");
        assert_eq!(live.status(), 200, "still serving after a panic");
        let discovery = get("/.well-known/openid-configuration")
            .await
            .expect("discovery");
        assert_eq!(discovery.status(), 200);
        let token = http
            .post(url("/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
            .send()
            .await
            .expect("token");
        assert_eq!(token.status(), 401, "database-backed endpoints still work");
    }

    let started = Instant::now();
    let stalled = get("/test-only/stall").await.expect("stall");
    let took = started.elapsed();
    assert_eq!(stalled.status(), 503);
    assert!(stalled.headers().contains_key("retry-after"));
    assert!(
        took < Duration::from_secs(10),
        "answered at the deadline, took {took:?}"
    );
    let api_url = url("/api/admin/v1/openapi.json");
    let api = get("/api/admin/v1/openapi.json").await.expect("api");
    assert_eq!(api.status(), 200);
    let body = api.text().await.expect("the document");
    check_api_answer(Method::Get, &api_url, 200, &body);
    server.abort();
}
