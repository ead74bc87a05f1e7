//! Operations surface: `/healthz`, `/readyz` (database reachable and migrations current),
//! request ids, and the Prometheus series on the metrics listener (requests by route and
//! status, latency histograms, logins by method and result, tokens issued, pool use, outbox
//! depth, build information, whether the database answers, job runs). Counters are per
//! process and shared by the tests running in it, so the checks compare before and after;
//! what a fresh process reports is checked on a real `nyckel serve`.

use crate::helpers::pages::client_tokens;
use crate::helpers::{PASSWORD, TestApp};

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The status of a GET of `path` without cookies.
async fn status_of(app: &TestApp, path: &str) -> u16 {
    let res = app.http().get(app.url(path)).send().await.expect("GET");
    res.status().as_u16()
}

/// The request id the server answers a GET of `/healthz` sending `sent` as the id with.
async fn request_id(app: &TestApp, sent: &str) -> String {
    let request = app.http().get(app.url("/healthz"));
    let res = request
        .header("x-request-id", sent)
        .send()
        .await
        .expect("GET");
    res.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string()
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
    let wrong = b
        .login_at("/login", "anna@example.org", "not it at all, sorry")
        .await;
    assert_eq!(wrong.status, 200);
    client_tokens(&app, &b, (&client_id, &secret), "anna@example.org").await;

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
        "nyckel_db_pool_connections{pool=",
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
    assert_eq!(status_of(&app, "/healthz").await, 200);
    let ready = http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let id = ready.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    assert!(!id.is_empty());
    assert_eq!(request_id(&app, "lb-1234.abc_DEF").await, "lb-1234.abc_DEF");
    assert_ne!(
        request_id(&app, "bad id with spaces").await,
        "bad id with spaces"
    );

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
    assert_eq!(status_of(&app, "/healthz").await, 200);
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
    let page = b.submit_login(&login, "anna@example.org", PASSWORD).await;
    page.assert_says(503, "briefly unavailable");
    assert!(page.headers.contains_key("retry-after"));
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

    let discovery = status_of(&app, "/.well-known/openid-configuration").await;
    assert_eq!(discovery, 200, "discovery is served from memory");
    assert_eq!(status_of(&app, "/jwks").await, 200);
    assert_eq!(status_of(&app, "/healthz").await, 200);
    assert_eq!(status_of(&app, "/readyz").await, 503);
}

/// The lines of `series` (with any labels) in a scrape.
fn lines_of<'a>(text: &'a str, series: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

/// Issue 15, defect 8: a node right after its start reports its build (version and git
/// commit), that its database answers, every scheduled job's run counter at 0, and each
/// database pool once: SQLite has a read and a write pool; PostgreSQL one pool for both,
/// reported once (it was reported as `read` and `write`, twice its real size).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_reports_its_build_its_database_its_jobs_and_each_pool_once() {
    use crate::helpers::db;
    use crate::helpers::ops::Install;
    use crate::helpers::process::{ServerProcess, free_port};

    let scratch = Install::new().await;
    let port = free_port();
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = ServerProcess::spawn(
        scratch.path(),
        scratch.url(),
        &format!("127.0.0.1:{port}"),
        &format!("https://localhost:{port}"),
        &[
            ("NYCKEL_METRICS__LISTEN", metrics.as_str()),
            ("NYCKEL_DATABASE__MAX_CONNECTIONS", "3"),
            ("NYCKEL_LOG__FILTER", "warn"),
        ],
    );
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(res) = reqwest::get(format!("http://{metrics}/metrics")).await {
            assert_eq!(res.status(), 200);
            text = res.text().await.expect("body");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!text.is_empty(), "no metrics:\n{}", server.output());

    // The build: this version and the commit it was built from.
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let build = format!(
        "nyckel_build_info{{version=\"{}\",commit=\"{commit}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        lines_of(&text, "nyckel_build_info"),
        vec![build.as_str()],
        "{text}"
    );
    assert!(text.contains("# TYPE nyckel_build_info gauge"));
    assert_eq!(
        lines_of(&text, "nyckel_db_up"),
        vec!["nyckel_db_up 1"],
        "{text}"
    );
    assert!(text.contains("# TYPE nyckel_db_up gauge"));

    // Every scheduled job is counted from the start: 0, not absent.
    let jobs = lines_of(&text, "nyckel_jobs_run_total");
    for job in ["cleanup", "rotate_keys"] {
        let line = format!("nyckel_jobs_run_total{{job=\"{job}\"}} 0");
        assert!(jobs.contains(&line.as_str()), "{line} missing:\n{text}");
    }

    // Each pool once; never more connections than the pools may open.
    let pools = lines_of(&text, "nyckel_db_pool_connections");
    let labels: std::collections::BTreeSet<&str> = pools
        .iter()
        .filter_map(|l| l.split("pool=\"").nth(1)?.split('"').next())
        .collect();
    let total: u64 = pools
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    if db::postgres_url().is_some() {
        assert_eq!(labels.into_iter().collect::<Vec<_>>(), ["shared"], "{text}");
        assert!(
            total <= 3,
            "{total} connections reported, 3 at most:\n{text}"
        );
    } else {
        assert_eq!(
            labels.into_iter().collect::<Vec<_>>(),
            ["read", "write"],
            "{text}"
        );
        assert!(
            total <= 4,
            "{total} connections reported, 3 + 1 at most:\n{text}"
        );
    }
    drop(server);
}

/// With its database gone the metrics are still served (a scrape that failed would hide
/// the outage): the database is reported down; what needs the database is left out.
#[tokio::test]
async fn metrics_are_served_while_the_database_is_down_and_say_so() {
    let app = TestApp::spawn_with(|c| c.metrics.listen = Some("127.0.0.1:0".into())).await;
    let up = scrape(&app).await;
    assert_eq!(lines_of(&up, "nyckel_db_up"), vec!["nyckel_db_up 1"]);
    app.state.db.close().await;
    let down = scrape(&app).await;
    assert_eq!(
        lines_of(&down, "nyckel_db_up"),
        vec!["nyckel_db_up 0"],
        "{down}"
    );
    assert_eq!(lines_of(&down, "nyckel_build_info").len(), 1);
    assert!(down.contains("nyckel_http_requests_total"));
}
