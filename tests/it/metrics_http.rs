//! Operations surface: `/healthz`, `/readyz` (database reachable and migrations current),
//! request ids, and the Prometheus series on the metrics listener (requests by route and
//! status, latency histograms, logins by method and result, tokens issued, pool use, outbox
//! depth). Counters are per process and shared by the tests running in it, so the checks
//! compare before and after.

use crate::flows::authorize_url;
use crate::helpers::browser::query;
use crate::helpers::{PASSWORD, TestApp};
use crate::token_common::{Auth, redeem};

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let addr = app.metrics_addr.expect("metrics listener");
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain; version=0.0.4")
    );
    res.text().await.expect("body")
}

#[tokio::test]
async fn the_listed_series_exist_and_count_what_happened() {
    let app = TestApp::spawn_with(|c| c.metrics.listen = Some("127.0.0.1:0".into())).await;
    app.create_user("anna@example.org").await;
    let (client_id, secret) = app.web_client().await;
    let before = scrape(&app).await;

    let b = app.browser();
    let login = b.get("/login").await;
    let wrong = b
        .submit(
            &login,
            "/login",
            &[
                ("email", "anna@example.org"),
                ("password", "not it at all, sorry"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 200);
    let start = authorize_url(&app.issuer, &client_id, "openid", "st", None, &[]);
    let done = b
        .authorize_and_login(&start, "anna@example.org", PASSWORD)
        .await;
    let code = query(&done.location.expect("redirect"))["code"].clone();
    let res = redeem(
        &app,
        Auth::Basic(&client_id, &secret),
        &code,
        Some(crate::authorize_support::VERIFIER),
    )
    .await;
    assert_eq!(res.status, 200);

    let after = scrape(&app).await;
    let grew = |series: &str, by: f64| {
        assert!(
            value(&after, series) >= value(&before, series) + by,
            "{series} did not grow by {by}:\n{after}"
        );
    };
    grew(
        r#"nyckel_http_requests_total{method="GET",route="/login",status="200"}"#,
        1.0,
    );
    grew(
        r#"nyckel_http_requests_total{method="POST",route="/token",status="200"}"#,
        1.0,
    );
    grew(
        r#"nyckel_http_request_duration_seconds_count{route="/login"}"#,
        2.0,
    );
    grew(
        r#"nyckel_http_request_duration_seconds_bucket{route="/login",le="+Inf"}"#,
        2.0,
    );
    grew(r#"nyckel_logins_total{method="pwd",result="failure"}"#, 1.0);
    grew(r#"nyckel_logins_total{method="pwd",result="success"}"#, 1.0);
    grew(
        r#"nyckel_tokens_issued_total{grant_type="authorization_code"}"#,
        1.0,
    );
    for series in [
        "# TYPE nyckel_http_request_duration_seconds histogram",
        "nyckel_db_pool_connections{pool=\"read\",state=\"idle\"}",
        "nyckel_db_pool_connections{pool=\"write\",state=\"in_use\"}",
        "nyckel_outbox_depth{channel=\"email\"}",
        "nyckel_key_messages_total{channel=\"sms\",outcome=\"refused\"}",
        "nyckel_sms_global_cap_hits_total",
    ] {
        assert!(after.contains(series), "{series} missing:\n{after}");
    }
    // Keys in paths never become labels: the pattern is used, and unknown paths are one label.
    b.get("/l/zq9canary-looking-key-value").await;
    b.get("/no/such/page/zq9canary-value").await;
    let last = scrape(&app).await;
    assert!(!last.contains("zq9canary"), "{last}");
    assert!(last.contains(r#"route="/l/{key}""#));
    assert!(last.contains(r#"route="unmatched""#));
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = TestApp::spawn().await;
    let http = app.http();
    let live = http.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(live.status(), 200);
    let ready = http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let id = ready.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    assert!(!id.is_empty());
    let echoed = http
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-1234.abc_DEF")
        .send()
        .await
        .expect("healthz");
    assert_eq!(echoed.headers()["x-request-id"], "lb-1234.abc_DEF");
    let replaced = http
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .expect("healthz");
    assert_ne!(replaced.headers()["x-request-id"], "bad id with spaces");

    // A database missing a migration this binary knows is not ready (liveness stays 200).
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(app.state.db.writer())
    .await
    .expect("forget a migration");
    let not_ready = http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(not_ready.status(), 503);
    assert!(not_ready.headers().contains_key("retry-after"));
    assert_eq!(
        not_ready.text().await.expect("body"),
        "database migrations are not current"
    );
    let live = http.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn plain_http_only_redirects_to_the_configured_https_issuer() {
    let app = TestApp::spawn_with(|c| c.tls.redirect_listen = Some("127.0.0.1:0".into())).await;
    let addr = app.redirect_addr.expect("redirect listener");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = http
        .get(format!("http://{addr}/login?next=/admin"))
        .header("host", "evil.test")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 301);
    assert_eq!(
        res.headers()["location"],
        format!("{}/login?next=/admin", app.issuer).as_str()
    );
    let double = http
        .get(format!("http://{addr}//evil.test/x"))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        double.headers()["location"],
        format!("{}/", app.issuer).as_str()
    );
    let post = http
        .post(format!("http://{addr}/login"))
        .form(&[("password", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 400);
}

#[tokio::test]
async fn without_its_database_the_server_answers_503_quickly_and_serves_discovery() {
    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    let b = app.browser();
    let login = b.get("/login").await;
    app.state.db.close().await;

    let started = std::time::Instant::now();
    let page = b
        .submit(
            &login,
            "/login",
            &[("email", "anna@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.headers.contains_key("retry-after"));
    assert!(page.body.contains("briefly unavailable"));
    let token = app
        .http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "c"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), 503);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no hang"
    );

    let http = app.http();
    let discovery = http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery");
    assert_eq!(discovery.status(), 200, "discovery is served from memory");
    assert_eq!(
        http.get(app.url("/jwks"))
            .send()
            .await
            .expect("jwks")
            .status(),
        200
    );
    assert_eq!(
        http.get(app.url("/healthz"))
            .send()
            .await
            .expect("live")
            .status(),
        200
    );
    assert_eq!(
        http.get(app.url("/readyz"))
            .send()
            .await
            .expect("ready")
            .status(),
        503
    );
}
