//! Database outage under load (SECURITY.md 5.3 R8, issue 7 done-when 3). A real
//! `nyckel serve` talks to PostgreSQL through a TCP proxy (`helpers::tcp_proxy`). For 30 s
//! the database fails three ways: hung (every table locked, so queries start and never
//! finish), partitioned (the proxy silences every connection, including those waiting
//! mid-query: no answer, no reset, ever) and stopped (the proxy resets and refuses
//! connections), while probes keep calling authorize,
//! token refresh, userinfo, the admin API (reads and writes), discovery, JWKS and the health
//! endpoints.
//! Database-dependent requests must answer 503 with `Retry-After` within the request deadline
//! (no hangs), readiness 503, liveness, discovery and JWKS 200; once traffic passes again a
//! complete login and code exchange succeed within 10 s without a restart, and no write is
//! half-done. On SQLite (embedded, nothing to cut) the test says so and passes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nyckel::http::api::table::PREFIX;

use crate::helpers::browser;
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::integrity;
use crate::helpers::load::{self, Fixture, Ledger, Target};
use crate::helpers::ops::{Install, api_answer_problems, api_method};
use crate::helpers::process::{ServerProcess, chosen_address};
use crate::helpers::tcp_proxy::{Mode, TcpProxy};

/// The server's `request_timeout` and `database.acquire_timeout` in this test (seconds).
const REQUEST_TIMEOUT: u64 = 5;
const ACQUIRE_TIMEOUT: u64 = 2;
/// The three phases of the outage, 30 s in all.
const HUNG: Duration = Duration::from_secs(10);
const PARTITION: Duration = Duration::from_secs(10);
const STOPPED: Duration = Duration::from_secs(10);

/// One answer a probe saw.
#[derive(Debug, Clone)]
struct Sample {
    kind: &'static str,
    sent: Instant,
    latency: Duration,
    /// `None`: no answer (transport error or the client's own timeout).
    status: Option<u16>,
    retry_after: bool,
    /// What the generated OpenAPI document does not allow in an admin API answer.
    api_problem: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_fast_and_service_returns_without_a_restart() {
    let why = "needs PostgreSQL (NYCKEL_TEST_POSTGRES_URL): SQLite is embedded in the process, so there is no connection to cut";
    let Some(install) = Install::postgres_only(why).await else {
        return;
    };
    let url = install.url();
    let fixture = Arc::new(Fixture::create(install.path(), url, 1));
    let (proxy, via_proxy) = TcpProxy::in_front_of(url).await;

    let (listen, issuer) = chosen_address();
    let request_timeout = REQUEST_TIMEOUT.to_string();
    let acquire_timeout = ACQUIRE_TIMEOUT.to_string();
    let env = [
        ("NYCKEL_REQUEST_TIMEOUT", request_timeout.as_str()),
        ("NYCKEL_DATABASE__ACQUIRE_TIMEOUT", acquire_timeout.as_str()),
        ("NYCKEL_LOG__FILTER", "warn"),
    ];
    let server = ServerProcess::spawn(install.path(), &via_proxy, &listen, &issuer, &env);
    let target = Target {
        addr: server.addr,
        issuer: issuer.clone(),
    };

    // Tokens for the probes, through the real flow.
    let ledger = Mutex::new(Ledger::default());
    let http = browser::client(target.addr, false);
    let flow = load::login(0, &fixture, &target, &ledger)
        .await
        .unwrap_or_else(|e| panic!("login before the outage: {e:?}"));
    let refresh = load::exchange(&fixture, &target, &http, &ledger, flow)
        .await
        .unwrap_or_else(|e| panic!("exchange before the outage: {e:?}"));
    let access = client_token(&http, &issuer, &fixture.app, "refresh_token", &refresh).await;
    let refresh = access.1;
    let access = access.0;
    let (service_token, _) =
        client_token(&http, &issuer, &fixture.service, "client_credentials", "").await;

    // The probes: each loops until `stop`, recording every answer.
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    // The client's own timeout is far above the bound we assert, so a hang shows as latency.
    let probe_http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", target.addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut tasks = Vec::new();
    let app = fixture.app.clone();
    let refresh = Arc::new(Mutex::new(refresh));
    type Make = Arc<dyn Fn() -> reqwest::RequestBuilder + Send + Sync>;
    let get = |path: &str| -> Make {
        let (h, url) = (probe_http.clone(), format!("{issuer}{path}"));
        Arc::new(move || h.get(&url))
    };
    let probes: Vec<(&'static str, Make)> = vec![
        ("discovery", get("/.well-known/openid-configuration")),
        ("jwks", get("/jwks")),
        ("healthz", get("/healthz")),
        ("readyz", get("/readyz")),
        ("authorize", {
            let (h, i, c) = (probe_http.clone(), issuer.clone(), app.0.clone());
            Arc::new(move || {
                let pkce = Pkce::new();
                h.get(authorize_url(&i, &c, "openid", "s", Some(&pkce), &[]))
            })
        }),
        ("userinfo", {
            let (h, i, a) = (probe_http.clone(), issuer.clone(), access.clone());
            Arc::new(move || h.get(format!("{i}/userinfo")).bearer_auth(&a))
        }),
        ("admin", {
            let (h, i, s) = (probe_http.clone(), issuer.clone(), service_token.clone());
            let org = fixture.org_slug.clone();
            Arc::new(move || {
                h.get(format!("{i}/api/admin/v1/orgs/{org}/members"))
                    .bearer_auth(&s)
            })
        }),
        // An admin write (a new role each time): 503 with Retry-After, never 500 (issue 15,
        // defect 7).
        ("admin_write", {
            let (h, i, s) = (probe_http.clone(), issuer.clone(), service_token.clone());
            let org = fixture.org_slug.clone();
            let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
            Arc::new(move || {
                let n = n.fetch_add(1, Ordering::SeqCst);
                h.put(format!("{i}/api/admin/v1/orgs/{org}/roles/probe-{n}"))
                    .bearer_auth(&s)
                    .json(&serde_json::json!({ "description": "outage probe" }))
            })
        }),
    ];
    for (kind, make) in probes {
        let (samples, stop) = (samples.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let sample = send(kind, make()).await;
                samples.lock().expect("samples").push(sample.0);
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }
    // Refresh rotation with the newest token; a 503 leaves the token as it was (the
    // rotation rolled back), so the same token is presented again.
    {
        let (samples, stop, refresh) = (samples.clone(), stop.clone(), refresh.clone());
        let (h, i, app) = (probe_http.clone(), issuer.clone(), app.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let current = refresh.lock().expect("refresh").clone();
                if let Some(token) = current {
                    let req = h
                        .post(format!("{i}/token"))
                        .basic_auth(&app.0, Some(&app.1))
                        .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)]);
                    let (sample, body) = send("refresh", req).await;
                    if sample.status != Some(200) && sample.status != Some(503) {
                        eprintln!("refresh answered {:?}: {body}", sample.status);
                    }
                    let next = (sample.status == Some(200))
                        .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
                        .flatten()
                        .and_then(|j| j["refresh_token"].as_str().map(str::to_string));
                    if sample.status != Some(503) || next.is_some() {
                        *refresh.lock().expect("refresh") = next;
                    }
                    samples.lock().expect("samples").push(sample);
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    // Phase 1, a hung database: every table is locked, so queries start and never finish.
    let mut locker = hang_every_table(url).await;
    // From here every table is locked (taking the locks can wait behind a transaction in
    // flight, so the outage starts when they are all held, not when locking began).
    let outage = Instant::now();
    tokio::time::sleep(HUNG).await;
    // Phase 2, a partition: the connections waiting mid-query go silent for good.
    proxy.set(Mode::BlackHole);
    sqlx::raw_sql("rollback")
        .execute(&mut locker)
        .await
        .expect("release the locks");
    tokio::time::sleep(PARTITION).await;
    // Phase 3, the database stopped: connections are reset, new ones refused.
    proxy.set(Mode::Refuse);
    tokio::time::sleep(STOPPED).await;
    let back = Instant::now();
    proxy.set(Mode::Pass);
    eprintln!("{} connections were silenced", proxy.held());

    // Full service within 10 s of the database's return: a complete login and code exchange.
    let mut recovered = None;
    let mut last = String::new();
    while back.elapsed() < Duration::from_secs(20) {
        let flow = load::login(0, &fixture, &target, &ledger).await;
        let done = match flow {
            Ok(flow) => load::exchange(&fixture, &target, &http, &ledger, flow).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(_) => {
                recovered = Some(back.elapsed());
                break;
            }
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.expect("probe");
    }
    let output = server.output();
    let recovered = recovered.unwrap_or_else(|| {
        panic!("no complete login within 20 s of the database's return: {last}\n{output}")
    });
    eprintln!(
        "full service {:.1} s after the database returned",
        recovered.as_secs_f64()
    );
    assert!(
        recovered <= Duration::from_secs(10),
        "full service took {recovered:?} after the database returned"
    );

    let samples = samples.lock().expect("samples").clone();
    report(&samples, outage, back);
    let cut = output.matches("request exceeded its deadline").count();
    eprintln!(
        "server: {cut} requests cut off by the deadline, {} pooled connections discarded by the bounded ping",
        output.matches("error from `after_release`").count()
    );
    assert!(cut > 0, "the hung phase left requests waiting mid-query");
    // No hangs: nothing waits longer than the request deadline plus generous slack.
    let bound = Duration::from_secs(REQUEST_TIMEOUT + 3);
    let slow: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.status.is_none() || s.latency > bound)
        .collect();
    assert!(slow.is_empty(), "answers slower than {bound:?}: {slow:#?}");
    // Nothing answers 500; every 503 says when to retry.
    let bad: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.status.is_some_and(|c| c >= 500 && c != 503)
                || (s.status == Some(503) && !s.retry_after)
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}\n{output}");
    // Sent and answered while the database was away (a request sent just before it returned
    // may get a connection once it is back, and rightly succeed).
    let during =
        |s: &&Sample| s.sent >= outage + Duration::from_millis(500) && s.sent + s.latency < back;
    // Answered before the outage began.
    let before = |s: &&Sample| s.sent + s.latency < outage;
    for kind in ["discovery", "jwks", "healthz"] {
        let not_ok: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.kind == kind && s.status != Some(200))
            .collect();
        assert!(
            not_ok.is_empty(),
            "{kind} is served from memory: {not_ok:#?}"
        );
    }
    for kind in [
        "readyz",
        "authorize",
        "userinfo",
        "admin",
        "admin_write",
        "refresh",
    ] {
        let failed_before: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.kind == kind)
            .filter(before)
            .filter(|s| s.status.is_none_or(|c| c >= 400))
            .collect();
        assert!(
            failed_before.is_empty(),
            "{kind} worked before the outage: {failed_before:#?}"
        );
        let answered: Vec<Option<u16>> = samples
            .iter()
            .filter(|s| s.kind == kind)
            .filter(during)
            .map(|s| s.status)
            .collect();
        assert!(
            !answered.is_empty() && answered.iter().all(|s| *s == Some(503)),
            "{kind} answers 503 during the outage: {answered:?}"
        );
    }
    let ready_after = samples
        .iter()
        .filter(|s| s.kind == "readyz" && s.sent > back + Duration::from_secs(10))
        .all(|s| s.status == Some(200));
    assert!(ready_after, "ready again after the database returned");
    // Every admin API answer (before, during and after the outage) is one the generated
    // OpenAPI document allows; a probe that got no answer has nothing to check.
    let undocumented: Vec<&String> = samples
        .iter()
        .filter_map(|s| s.api_problem.as_ref())
        .collect();
    assert!(undocumented.is_empty(), "{undocumented:#?}");

    drop(server);
    drop(proxy);
    let problems = integrity::engine(url).await;
    assert!(problems.is_empty(), "{problems:?}");
    let half = integrity::oauth_half_states(url).await;
    assert!(half.is_empty(), "half-done writes: {half:?}");
    let missing = ledger
        .into_inner()
        .expect("ledger")
        .missing(url, &fixture.org_slug)
        .await;
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");
}

/// Opens a connection straight to the database (not through the proxy) holding an
/// `access exclusive` lock on every table of ours until it rolls back.
async fn hang_every_table(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let tables: Vec<(String,)> =
        sqlx::query_as("select tablename::text from pg_tables where schemaname = 'public'")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
    let list: Vec<String> = tables.into_iter().map(|(t,)| format!("\"{t}\"")).collect();
    assert!(list.len() > 10, "{list:?}");
    sqlx::raw_sql(&format!(
        "begin; lock table {} in access exclusive mode",
        list.join(", ")
    ))
    .execute(&mut conn)
    .await
    .expect("lock every table");
    conn
}

/// Sends `req`; returns the sample and the body. An answer of the admin API is checked
/// against the generated OpenAPI document.
async fn send(kind: &'static str, req: reqwest::RequestBuilder) -> (Sample, String) {
    let (client, request) = req.header("accept-language", "en").build_split();
    let request = request.expect("a request");
    let (method, url) = (request.method().clone(), request.url().to_string());
    let sent = Instant::now();
    let (status, retry_after, body) = match client.execute(request).await {
        Ok(res) => {
            let status = res.status().as_u16();
            let retry = res.headers().contains_key("retry-after");
            let body = res.text().await.unwrap_or_default();
            (Some(status), retry, body)
        }
        Err(_) => (None, false, String::new()),
    };
    let latency = sent.elapsed();
    // Every admin API answer, including one cut off by the request deadline, must be one the
    // OpenAPI document allows.
    let api_problem = match status {
        Some(status) if url.contains(PREFIX) => {
            api_answer_problems(api_method(&method), &url, status, &body).err()
        }
        _ => None,
    };
    let sample = Sample {
        kind,
        sent,
        latency,
        status,
        retry_after,
        api_problem,
    };
    (sample, body)
}

/// A token from `/token` for `client` with `grant` (`secret_or_token` is the refresh token
/// for `refresh_token`): (access token, refresh token).
async fn client_token(
    http: &reqwest::Client,
    issuer: &str,
    client: &(String, String),
    grant: &str,
    refresh: &str,
) -> (String, Option<String>) {
    let mut form = vec![("grant_type", grant)];
    if grant == "refresh_token" {
        form.push(("refresh_token", refresh));
    } else {
        form.push(("scope", "admin"));
    }
    let json: serde_json::Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    (
        json["access_token"]
            .as_str()
            .expect("access token")
            .to_string(),
        json["refresh_token"].as_str().map(str::to_string),
    )
}

/// Prints per kind: answers before, during and after the outage, and the slowest.
fn report(samples: &[Sample], outage: Instant, back: Instant) {
    let mut kinds: Vec<&str> = samples.iter().map(|s| s.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.kind == kind).collect();
        let count = |f: &dyn Fn(&Sample) -> bool| of.iter().filter(|s| f(s)).count();
        let max = of.iter().map(|s| s.latency).max().unwrap_or_default();
        eprintln!(
            "{kind:>9}: {} before, {} during ({} x 503), {} after; slowest {:.2} s",
            count(&|s| s.sent < outage),
            count(&|s| s.sent >= outage && s.sent < back),
            count(&|s| s.sent >= outage && s.sent < back && s.status == Some(503)),
            count(&|s| s.sent >= back),
            max.as_secs_f64()
        );
    }
}
