//! Upgrading from the real previous release (issue 15; SECURITY.md 5.3 R7; docs/upgrades.md).
//! The previous release is built from this repository's history (scripts/previous-release.sh,
//! the commit CHANGELOG.md records) and runs as the real `nyckel serve` binary; the new one
//! is this code, started in process the way `nyckel serve` starts (it migrates).
//!
//! On PostgreSQL, both serve one database while browsers run complete logins (authorize,
//! password, code, token, refresh, userinfo, `prompt=none`) and a service client makes admin
//! writes, every request on the next node in rotation: the new node migrates under that
//! load, the old one leaves the rotation and stops, and the operator finishes the upgrade.
//! What must hold: no request fails at any point (the documented window is none), every
//! acknowledged admin write is in the database, what the new release adds (0.6.0: a webhook
//! endpoint) cannot be switched on while the old node serves (the new node answers 409, the
//! old one knows no such path), only after `nyckel upgrade finish`, and the back-channel logout of 0.4.0 works on the upgraded installation. On SQLite (one node), the old binary serves, stops, and the new one takes over
//! the same file.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use nyckel::http::api::table::Method;

use crate::helpers::ops::{
    Cli, Install, api_answer_problems, check_api_answer, get_text, skip_unless_postgres,
    skip_unless_sqlite,
};
use crate::helpers::process::chosen_address;
use crate::helpers::release::previous_binary;
use crate::helpers::{PASSWORD, REDIRECT_URI};
use crate::upgrade_load::{Balancer, Load, Node, Pair, WebClient, migration_rows, pool, ready};

const BROWSERS: usize = 4;
const LIMIT: Duration = Duration::from_secs(240);
/// A load balancer's deregistration delay (see rolling_upgrade.rs).
const DRAIN: Duration = Duration::from_secs(1);

/// What the previous release's CLI made.
struct Fixtures {
    emails: Vec<String>,
    web: WebClient,
    /// The organisation's service client for the admin API (`client_credentials`).
    service: WebClient,
    /// A member of the organisation.
    member: String,
}

/// People, an organisation and clients, made with the previous release's CLI.
fn fixtures(cli: &Cli) -> Fixtures {
    let emails: Vec<String> = (0..BROWSERS)
        .map(|i| format!("upgrading{i}@example.org"))
        .collect();
    let member = "club.member@example.org".to_string();
    for email in emails.iter().chain([&member]) {
        cli.person(email);
    }
    cli.ok(&["org", "create", "--name", "Club", "--slug", "club"]);
    cli.ok(&[
        "org",
        "add-member",
        "--org",
        "club",
        "--email",
        &member,
        "--role",
        "member",
    ]);
    let client = |(id, secret)| WebClient { id, secret };
    let web = client(cli.web_client("Web", &[]));
    let service = client(cli.client("Sync", &["--owner", "club", "--admin-api"]));
    Fixtures {
        emails,
        web,
        service,
        member,
    }
}

/// Which release answers at a node. Only this build's answers are checked against its
/// generated OpenAPI document; the previous release answers by its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    Previous,
    This,
}

/// Admin writes through the balancer until stopped: each puts a new role of the
/// organisation with the service client's token; every acknowledged one is remembered.
struct Writes {
    acked: Mutex<Vec<String>>,
    failures: Mutex<Vec<String>>,
    stop: AtomicBool,
    hop: AtomicUsize,
    /// The release of each node of the balancer.
    releases: Vec<Release>,
}

impl Writes {
    fn start(
        lb: Arc<Balancer>,
        service: WebClient,
        releases: &[Release],
    ) -> (Arc<Writes>, tokio::task::JoinHandle<()>) {
        let w = Arc::new(Writes {
            acked: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            hop: AtomicUsize::new(0),
            releases: releases.to_vec(),
        });
        let writes = w.clone();
        let task = tokio::spawn(async move {
            let http = crate::helpers::browser::client(([127, 0, 0, 1], 0).into(), false);
            let mut n = 0;
            while !writes.stop.load(Ordering::SeqCst) {
                n += 1;
                let role = format!("role-{n}");
                match writes.put_role(&lb, &http, &service, &role).await {
                    Ok(()) => writes.acked.lock().expect("acked").push(role),
                    Err(e) => writes.failures.lock().expect("failures").push(e),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        (w, task)
    }

    /// A token from one node, the write on the next: the two versions read each other's.
    async fn put_role(
        &self,
        lb: &Balancer,
        http: &reqwest::Client,
        service: &WebClient,
        role: &str,
    ) -> Result<(), String> {
        let (node, base) = lb.pick(self.hop.fetch_add(1, Ordering::SeqCst));
        let token = token_at(http, &base, service)
            .await
            .map_err(|e| format!("token at node {node}: {e}"))?;
        let (node, base) = lb.pick(self.hop.fetch_add(1, Ordering::SeqCst));
        let url = format!("{base}/api/admin/v1/orgs/club/roles/{role}");
        let res = http
            .put(&url)
            .bearer_auth(token)
            .json(&json!({ "description": "made during the upgrade" }))
            .send()
            .await
            .map_err(|e| format!("role {role} at node {node}: {e}"))?;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        if self.releases[node] == Release::This {
            api_answer_problems(Method::Put, &url, status, &text)
                .map_err(|p| format!("role {role} at node {node}: {p}"))?;
        }
        if status != 200 {
            return Err(format!("role {role} at node {node}: HTTP {status} {text}"));
        }
        Ok(())
    }

    fn acked(&self) -> Vec<String> {
        self.acked.lock().expect("acked").clone()
    }

    fn failures(&self) -> Vec<String> {
        self.failures.lock().expect("failures").clone()
    }

    async fn stop(&self, task: tokio::task::JoinHandle<()>) {
        self.stop.store(true, Ordering::SeqCst);
        task.await.expect("writes");
    }
}

/// A service token (`client_credentials`, scope `admin`) from `base`.
async fn token_at(
    http: &reqwest::Client,
    base: &str,
    service: &WebClient,
) -> Result<String, String> {
    let res = http
        .post(format!("{base}/token"))
        .basic_auth(&service.id, Some(&service.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    match body["access_token"].as_str() {
        Some(token) => Ok(token.to_string()),
        None => Err(format!("HTTP {status} {body}")),
    }
}

/// A service token from `base`.
async fn service_token(http: &reqwest::Client, base: &str, service: &WebClient) -> String {
    token_at(http, base, service)
        .await
        .expect("a service token")
}

/// Where the organisation's membership platform wants events (nothing is delivered here).
const CLUB_WEBHOOK: &str = "https://club.example/nyckel/webhooks";

/// Tries to switch on what this release adds (a webhook endpoint of the organisation) at
/// `base`, a node of `release`; returns the status and the body.
async fn switch_on(
    http: &reqwest::Client,
    (base, release): (&str, Release),
    token: &str,
) -> (u16, String) {
    let url = format!("{base}/api/admin/v1/orgs/club/webhooks");
    let res = http
        .post(&url)
        .bearer_auth(token)
        .json(&json!({ "url": CLUB_WEBHOOK, "events": ["member.added"], "enabled": false }))
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    if release == Release::This {
        check_api_answer(Method::Post, &url, status, &text);
    }
    (status, text)
}

/// `nyckel upgrade finish`, run again until it succeeds, as docs/upgrades.md tells the
/// operator: the stopped node of the previous release (which records its version since
/// 0.3.0) was seen less than a minute ago, and until that minute has passed the command
/// refuses, naming it.
async fn finish_once_the_old_node_is_gone(install: &Install) -> String {
    let old = format!("({})", crate::helpers::release::previous().version);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (ok, out, err) = install.run(&["upgrade", "finish"]);
        if ok {
            return out;
        }
        assert!(
            err.contains(&old) && err.contains("nyckel upgrade finish"),
            "refused for the old node only: {out}\n{err}"
        );
        assert!(Instant::now() < deadline, "still refused: {err}");
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Back-channel logout works after the upgrade: the web app gets a back-channel logout URI (the
/// operator's command; a loopback receiver), the member logs in through it, the operator
/// ends that session, and the receiver gets a logout token naming it, posted by a node
/// (which looks at the outbox at least every 15 s).
async fn told_of_a_logout(install: &Install, base: &str, f: &Fixtures) {
    let rp = crate::helpers::backchannel::Receiver::start().await;
    let web = f.web.id.as_str();
    install.ok(&["client", "update", web, "--backchannel-logout-uri", &rp.url]);
    let to = login_leads_to(base, web, &f.member).await;
    assert!(to.starts_with(REDIRECT_URI), "a code for the app: {to}");
    let sessions = install.json(&["session", "list", "--email", &f.member]);
    let sid = sessions["items"][0]["sid"]
        .as_str()
        .expect("a session")
        .to_string();
    install.ok(&["session", "end", "--sid", &sid]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let sids = loop {
        let sids: Vec<String> = rp
            .tokens()
            .iter()
            .map(|t| crate::helpers::token::decode(t).1["sid"].to_string())
            .collect();
        if sids.contains(&format!("{sid:?}")) || Instant::now() > deadline {
            break sids;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        sids.contains(&format!("{sid:?}")),
        "told of {sid}: {sids:?}"
    );
}

/// Where a password login of `email` through `client` at `base` leads.
async fn login_leads_to(base: &str, client: &str, email: &str) -> String {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", ([127, 0, 0, 1], 0).into())
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    let pkce = crate::helpers::flows::Pkce::new();
    let start = crate::helpers::flows::authorize_url(base, client, "openid", "s", Some(&pkce), &[]);
    let res = http.get(start).send().await.expect("authorize");
    let login = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let page = get_text(&http, &format!("{base}{login}")).await;
    let mut fields = crate::helpers::browser::form_fields(&page, "/login").expect("login form");
    fields.insert("email".into(), email.into());
    fields.insert("password".into(), PASSWORD.into());
    let res = http
        .post(format!("{base}/login"))
        .form(&fields)
        .send()
        .await
        .expect("login");
    let mut to = location(&res);
    // The login continues the authorization request, which decides what comes next.
    while to.starts_with("/authorize/continue") {
        let res = http
            .get(format!("{base}{to}"))
            .send()
            .await
            .expect("continue");
        to = location(&res);
    }
    to
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn roles_of_club(url: &str) -> Vec<String> {
    let p = pool(url).await;
    let rows: Vec<(String,)> = sqlx::query_as(
        "select r.name from organisation_roles r join organisations o on o.id = r.organisation_id
         where o.slug = 'club'",
    )
    .fetch_all(&p)
    .await
    .expect("roles");
    p.close().await;
    rows.into_iter().map(|(r,)| r).collect()
}

/// The previous release's binary, and an installation with an empty database that the
/// previous release fills (schema, keys, and the fixtures through its CLI); `None` (with a
/// recorded skip) when this pass or this machine cannot run test `name`.
async fn installed_by_the_previous_release(
    name: &str,
    on_postgres: bool,
) -> Option<(Cli, Install, Fixtures)> {
    let previous = previous_binary(name)?;
    let skipped = match on_postgres {
        true => skip_unless_postgres(
            "several nodes share PostgreSQL only (the SQLite pass has its own test)",
        ),
        false => skip_unless_sqlite("SQLite pass only (the PostgreSQL pass has its own test)"),
    };
    if skipped {
        return None;
    }
    let install = Install::empty().await;
    let previous = install.with_binary(&previous);
    let f = fixtures(&previous);
    Some((previous, install, f))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_the_previous_release_on_postgresql_under_load() {
    let name = "upgrade_release::from_the_previous_release_on_postgresql_under_load";
    let started = Instant::now();
    let Some((previous, install, f)) = installed_by_the_previous_release(name, true).await else {
        return;
    };
    let url = install.url();
    let mut pair = Pair::new();
    let (lb, issuer, base_b) = (pair.lb.clone(), pair.issuer.clone(), pair.base_b.clone());

    // The previous release serves alone, under load.
    let mut node_a = pair.start_a(&previous).await;
    let (load, tasks) = Load::start(lb.clone(), f.web.clone(), f.emails.clone());
    let releases = [Release::Previous, Release::This];
    let (writes, writer) = Writes::start(lb.clone(), f.service.clone(), &releases);
    load.wait_for(2, LIMIT).await;

    // The new release starts, migrates while the old one serves, and joins the rotation.
    let starts = "the new release starts on the previous release's database";
    let node_b = pair.start_b(&install, None, starts).await;
    pair.both_serve(&load, 2 * BROWSERS, LIMIT).await;

    // While the old release serves, the new setting cannot be switched on: the new node
    // refuses until the upgrade is finished, the old one knows no such path.
    let http = crate::helpers::browser::client(([127, 0, 0, 1], 0).into(), false);
    let token = service_token(&http, &base_b, &f.service).await;
    let new_node = (base_b.as_str(), Release::This);
    let (status, text) = switch_on(&http, new_node, &token).await;
    assert_eq!(status, 409, "the new node: {text}");
    assert!(text.contains("nyckel upgrade finish"), "{text}");
    let old_node = (issuer.as_str(), Release::Previous);
    let (status, text) = switch_on(&http, old_node, &token).await;
    assert_eq!(status, 404, "the old node: {text}");

    // The old node leaves the rotation and stops; the load goes on at the new one.
    lb.rotate(&[1]);
    tokio::time::sleep(DRAIN).await;
    assert!(node_a.terminate(), "the previous release stopped cleanly");
    load.wait_for(BROWSERS, LIMIT).await;

    // The operator finishes the upgrade; the setting can be switched on, and works: a
    // session that ends is told to the app that had tokens in it.
    let out = finish_once_the_old_node_is_gone(&install).await;
    assert!(out.contains(nyckel::upgrade::CURRENT), "{out}");
    let (status, text) = switch_on(&http, new_node, &token).await;
    assert_eq!(status, 201, "{text}");
    told_of_a_logout(&install, &base_b, &f).await;

    load.wait_for(BROWSERS, LIMIT).await;
    load.stop(tasks).await;
    writes.stop(writer).await;
    let failures = load.failures();
    if !failures.is_empty() {
        eprintln!("--- the previous release printed:\n{}", node_a.output());
    }
    assert!(failures.is_empty(), "failed logins: {failures:#?}");
    assert!(
        writes.failures().is_empty(),
        "failed admin writes: {:#?}",
        writes.failures()
    );
    let acked = writes.acked();
    assert!(acked.len() >= 4, "admin writes were made: {acked:?}");
    let stored = roles_of_club(url).await;
    let lost: Vec<&String> = acked.iter().filter(|r| !stored.contains(r)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let rows = migration_rows(url).await;
    assert!(rows.iter().all(|(_, n)| *n == 1), "{rows:?}");
    let embedded = nyckel::store::schema::embedded(nyckel::store::Backend::Postgres);
    assert_eq!(rows.len(), embedded.iter().count(), "{rows:?}");
    node_b.stop().await;
    eprintln!(
        "{name}: {} logins, {} admin writes in {:.1} s",
        load.completed(),
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_the_previous_release_on_sqlite() {
    let name = "upgrade_release::from_the_previous_release_on_sqlite";
    let Some((previous, install, f)) = installed_by_the_previous_release(name, false).await else {
        return;
    };
    let (listen, issuer) = chosen_address();
    let lb = Arc::new(Balancer::new(&issuer, vec![issuer.clone()]));

    // The previous release serves; its writes are acknowledged.
    let mut old = previous.serve(&listen, &issuer, &[]);
    ready(&issuer).await;
    lb.rotate(&[0]);
    let (load, tasks) = Load::start(lb.clone(), f.web.clone(), f.emails.clone());
    let (writes, writer) = Writes::start(lb.clone(), f.service.clone(), &[Release::Previous]);
    load.wait_for(2 * BROWSERS, LIMIT).await;
    load.stop(tasks).await;
    writes.stop(writer).await;
    assert!(old.terminate(), "the previous release stopped cleanly");

    // The new release takes over the same file: it migrates, finishes the upgrade (one node),
    // and everything acknowledged before is there and works.
    let listener = std::net::TcpListener::bind(listen.as_str()).expect("bind the same port");
    let node = Node::start(
        install.path(),
        "node-new",
        install.url(),
        &issuer,
        listener,
        None,
    )
    .await
    .expect("the new release starts on the previous release's file");
    ready(&issuer).await;
    let (load, tasks) = Load::start(lb.clone(), f.web.clone(), f.emails.clone());
    load.wait_for(2 * BROWSERS, LIMIT).await;
    load.stop(tasks).await;
    assert!(load.failures().is_empty(), "{:#?}", load.failures());
    assert!(writes.failures().is_empty(), "{:#?}", writes.failures());
    let stored = roles_of_club(install.url()).await;
    assert!(
        writes.acked().iter().all(|r| stored.contains(r)),
        "acknowledged writes lost"
    );
    assert_eq!(
        nyckel::upgrade::finished(&node.state.db).await.expect("db"),
        Some(nyckel::upgrade::Version::current())
    );
    let http = crate::helpers::browser::client(([127, 0, 0, 1], 0).into(), false);
    let token = service_token(&http, &issuer, &f.service).await;
    let (status, text) = switch_on(&http, (&issuer, Release::This), &token).await;
    assert_eq!(status, 201, "{text}");
    node.stop().await;
}
