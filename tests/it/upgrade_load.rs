//! The machinery of the rolling-upgrade tests (rolling_upgrade.rs): a "next version" node
//! (this code with extra test migrations, started in process through `Db::migrate_with`), a
//! load balancer the test steers (which nodes are in rotation), and a load generator that
//! runs complete password logins whose every request goes to the next node in rotation, so
//! one flow's steps alternate between nodes.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nyckel::config::{Config, TlsMode};
use nyckel::state::AppState;
use nyckel::store::Backend;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::helpers::browser::{form_fields, query};
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::ops::Cli;
use crate::helpers::process::ServerProcess;
use crate::helpers::{PASSWORD, REDIRECT_URI};

/// The test's expand migration: adds columns (with a default, or nullable), so the
/// previous version keeps working on the new schema.
pub const EXPAND: (i64, &str, &str) = (
    9001,
    "add upgrade probe columns",
    "alter table users add column upgrade_probe text not null default 'next';
     alter table sessions add column upgrade_probe text;
     alter table refresh_tokens add column upgrade_probe text;",
);

/// The test's contract migration (a later release): removes what the expand added.
pub const CONTRACT: (i64, &str, &str) = (
    9002,
    "contract drop upgrade probe",
    "alter table refresh_tokens drop column upgrade_probe;",
);

/// The migrations of the "next version": the embedded ones plus `extra`.
pub fn next_version(backend: Backend, extra: &[(i64, &'static str, &'static str)]) -> Migrator {
    let embedded = nyckel::store::schema::embedded(backend);
    let mut migrations: Vec<Migration> = embedded.migrations.to_vec();
    for (version, description, sql) in extra {
        migrations.push(Migration::new(
            *version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        ));
    }
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// The engine behind a database URL.
pub fn backend_of(url: &str) -> Backend {
    if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// A pool on the database at `url`.
pub async fn pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.expect("database")
}

/// How often each migration version was recorded.
pub async fn migration_rows(url: &str) -> Vec<(i64, i64)> {
    let p = pool(url).await;
    let rows = sqlx::query_as(
        "select version, count(*) from _sqlx_migrations group by version order by version",
    )
    .fetch_all(&p)
    .await
    .expect("migrations");
    p.close().await;
    rows
}

/// A listener on any port for a node started in this process, and the base URL naming it.
pub fn bind_node() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, format!("https://localhost:{port}"))
}

/// The two nodes of a rolling upgrade behind a balancer (neither in rotation yet): node A
/// (the previous version, a process) listens on the issuer's port; node B (the next, in
/// this process) on a listener bound now.
pub struct Pair {
    listen_a: String,
    pub issuer: String,
    listener_b: Option<std::net::TcpListener>,
    pub base_b: String,
    pub lb: Arc<Balancer>,
}

impl Pair {
    pub fn new() -> Pair {
        let (listen_a, issuer) = crate::helpers::process::chosen_address();
        let (listener_b, base_b) = bind_node();
        let lb = Arc::new(Balancer::new(&issuer, vec![issuer.clone(), base_b.clone()]));
        Pair {
            listen_a,
            issuer,
            listener_b: Some(listener_b),
            base_b,
            lb,
        }
    }

    /// Starts node A (`nyckel serve` of `cli`'s binary) and, once it is ready, puts it alone
    /// in the rotation.
    pub async fn start_a(&self, cli: &Cli) -> ServerProcess {
        let node = cli.serve(&self.listen_a, &self.issuer, &[]);
        ready(&self.issuer).await;
        self.lb.rotate(&[0]);
        node
    }

    /// Starts node A again on the same address (it left the rotation and stopped).
    pub async fn restart_a(&self, cli: &Cli) -> ServerProcess {
        let node = cli.serve(&self.listen_a, &self.issuer, &[]);
        ready(&self.issuer).await;
        node
    }

    /// Starts node B in this process (see [`Node::start`]; `expect` says what must hold if
    /// it fails) and, once it is ready, puts both nodes in the rotation.
    pub async fn start_b(&mut self, cli: &Cli, known: Option<&Migrator>, expect: &str) -> Node {
        let listener = self.listener_b.take().expect("node B starts once");
        let node = Node::start(
            cli.path(),
            "node-b",
            cli.url(),
            &self.issuer,
            listener,
            known,
        )
        .await
        .expect(expect);
        ready(&self.base_b).await;
        self.lb.rotate(&[0, 1]);
        node
    }

    /// Waits for `flows` more logins and asserts that both nodes served some of them.
    pub async fn both_serve(&self, load: &Load, flows: usize, limit: Duration) {
        let (a, b) = (self.lb.served(0), self.lb.served(1));
        load.wait_for(flows, limit).await;
        assert!(
            self.lb.served(0) > a && self.lb.served(1) > b,
            "both nodes served"
        );
    }
}

/// Waits until `GET /readyz` answers 200 at `base` (fails the test after three minutes).
pub async fn ready(base: &str) {
    let http = crate::helpers::browser::client(([127, 0, 0, 1], 0).into(), false);
    let started = Instant::now();
    loop {
        if let Ok(res) = http.get(format!("{base}/readyz")).send().await
            && res.status() == 200
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{base} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A node running in this process.
pub struct Node {
    pub state: AppState,
    handle: axum_server::Handle,
    task: Option<tokio::task::JoinHandle<nyckel::error::Result<()>>>,
}

impl Node {
    /// Starts a node the way `nyckel serve` does (migrate, build, listen), with `known` as
    /// the migrations it carries (`None`: the embedded ones, i.e. this version).
    pub async fn start(
        dir: &std::path::Path,
        name: &str,
        db_url: &str,
        issuer: &str,
        listener: std::net::TcpListener,
        known: Option<&Migrator>,
    ) -> nyckel::error::Result<Node> {
        let mut config = Config {
            issuer: Some(issuer.to_string()),
            listen: listener.local_addr()?.to_string(),
            data_dir: dir.join(name),
            keys_dir: dir.join("keys"),
            ..Config::default()
        };
        config.database.url = Some(db_url.to_string());
        config.database.max_connections = 4;
        config.tls.mode = TlsMode::SelfSigned;
        config.validate().expect("valid configuration");
        let state = match known {
            None => AppState::build(config).await?,
            Some(known) => {
                // The next version's start: its migrations, under the migration lock.
                let db = nyckel::store::Db::connect(&config).await?;
                db.migrate_with(known).await?;
                let clock = Arc::new(nyckel::clock::SystemClock);
                AppState::build_on(config, clock, db).await?
            }
        };
        let (running, task) = nyckel::http::server::start_on(state.clone(), listener).await?;
        Ok(Node {
            state,
            handle: running.handle,
            task: Some(task),
        })
    }

    /// Graceful stop: in-flight requests finish, then the pools close.
    pub async fn stop(mut self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(10)));
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state.db.close().await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// The confidential first-party client the flows log in to.
#[derive(Clone)]
pub struct WebClient {
    pub id: String,
    pub secret: String,
}

/// The load balancer: nodes (by base URL) and which of them are in rotation.
pub struct Balancer {
    /// The issuer every node is configured with (node 0 listens on its port).
    pub issuer: String,
    bases: Vec<String>,
    rotation: Mutex<Vec<usize>>,
    /// Requests each node answered.
    pub served: Vec<AtomicUsize>,
}

impl Balancer {
    /// Nodes at `bases`; none in rotation yet.
    pub fn new(issuer: &str, bases: Vec<String>) -> Self {
        Self {
            issuer: issuer.to_string(),
            served: bases.iter().map(|_| AtomicUsize::new(0)).collect(),
            bases,
            rotation: Mutex::new(Vec::new()),
        }
    }

    /// Sets the nodes in rotation.
    pub fn rotate(&self, nodes: &[usize]) {
        *self.rotation.lock().unwrap_or_else(|e| e.into_inner()) = nodes.to_vec();
    }

    /// Requests answered by `node` so far.
    pub fn served(&self, node: usize) -> usize {
        self.served[node].load(Ordering::SeqCst)
    }

    /// The node for a flow's `hop`-th request: consecutive hops go to different nodes.
    pub fn pick(&self, hop: usize) -> (usize, String) {
        let rotation = self.rotation.lock().unwrap_or_else(|e| e.into_inner());
        let node = rotation[hop % rotation.len()];
        (node, self.bases[node].clone())
    }
}

/// Complete logins on a few browsers until stopped; counts flows and keeps every failure.
pub struct Load {
    pub completed: AtomicUsize,
    /// Flows whose requests went to more than one node.
    pub mixed: AtomicUsize,
    pub failures: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Load {
    /// Starts `browsers` looping logins of `emails[i]` through `lb`.
    pub fn start(
        lb: std::sync::Arc<Balancer>,
        web: WebClient,
        emails: Vec<String>,
    ) -> (std::sync::Arc<Load>, Vec<tokio::task::JoinHandle<()>>) {
        let load = std::sync::Arc::new(Load {
            completed: AtomicUsize::new(0),
            mixed: AtomicUsize::new(0),
            failures: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let flows = std::sync::Arc::new(AtomicUsize::new(0));
        let tasks = emails
            .into_iter()
            .map(|email| {
                let (lb, web, load, flows) = (lb.clone(), web.clone(), load.clone(), flows.clone());
                tokio::spawn(async move {
                    while !load.stop.load(Ordering::SeqCst) {
                        let seed = flows.fetch_add(1, Ordering::SeqCst);
                        let mut flow = Flow {
                            lb: &lb,
                            hop: seed,
                            nodes: Vec::new(),
                        };
                        match flow.run(&web, &email).await {
                            Ok(()) => {
                                load.completed.fetch_add(1, Ordering::SeqCst);
                                flow.nodes.sort_unstable();
                                flow.nodes.dedup();
                                if flow.nodes.len() > 1 {
                                    load.mixed.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                            Err(e) => load
                                .failures
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("{email}: {e}")),
                        }
                    }
                })
            })
            .collect();
        (load, tasks)
    }

    /// Flows completed so far.
    pub fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }

    /// The failures so far.
    pub fn failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until `more` flows completed after this call (fails the test after `limit`,
    /// or at the first failed login).
    pub async fn wait_for(&self, more: usize, limit: Duration) {
        let goal = self.completed() + more;
        let started = Instant::now();
        while self.completed() < goal {
            let failures = self.failures();
            assert!(failures.is_empty(), "failed logins: {failures:#?}");
            assert!(
                started.elapsed() < limit,
                "only {} of {goal} logins in {limit:?}",
                self.completed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the browsers after their current flow.
    pub async fn stop(&self, tasks: Vec<tokio::task::JoinHandle<()>>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in tasks {
            t.await.expect("load task");
        }
    }
}

/// One login: authorize → login form → code → token → refresh → userinfo → `prompt=none`
/// (the session accepted), every request on the next node in rotation.
struct Flow<'a> {
    lb: &'a Balancer,
    hop: usize,
    nodes: Vec<usize>,
}

type Step = Result<reqwest::Response, String>;

impl Flow<'_> {
    /// The next node's URL for a path or an absolute URL on the issuer.
    fn next(&mut self, path_or_url: &str) -> (usize, String) {
        self.hop += 1;
        let (node, base) = self.lb.pick(self.hop);
        self.nodes.push(node);
        let path = path_or_url
            .strip_prefix(&self.lb.issuer)
            .unwrap_or(path_or_url);
        (node, format!("{base}{path}"))
    }

    async fn send(&mut self, node: usize, what: &str, req: reqwest::RequestBuilder) -> Step {
        match req.header("accept-language", "en").send().await {
            Ok(res) => {
                self.lb.served[node].fetch_add(1, Ordering::SeqCst);
                Ok(res)
            }
            Err(e) => Err(format!("{what} at node {node}: {e}")),
        }
    }

    async fn run(&mut self, web: &WebClient, email: &str) -> Result<(), String> {
        // A new browser each flow; no connection reuse, so each request picks its node.
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .resolve("localhost", ([127, 0, 0, 1], 0).into())
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| e.to_string())?;
        let pkce = Pkce::new();
        let start = authorize_url(&self.lb.issuer, &web.id, "openid", "s", Some(&pkce), &[]);
        let (node, url) = self.next(&start);
        let mut res = self.send(node, "authorize", http.get(url)).await?;
        let mut submitted = false;
        let code = loop {
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = res.text().await.unwrap_or_default();
            match location {
                Some(loc) if loc.starts_with(REDIRECT_URI) => match query(&loc).get("code") {
                    Some(code) => break code.clone(),
                    None => return Err(format!("no code: {loc}")),
                },
                Some(loc) if status.is_redirection() => {
                    let (node, url) = self.next(&loc);
                    res = self.send(node, "redirect", http.get(url)).await?;
                }
                _ if !submitted && form_fields(&body, "/login").is_some() => {
                    submitted = true;
                    let mut fields = form_fields(&body, "/login").unwrap_or_default();
                    fields.insert("email".into(), email.into());
                    fields.insert("password".into(), PASSWORD.into());
                    let (node, url) = self.next("/login");
                    res = self
                        .send(node, "login", http.post(url).form(&fields))
                        .await?;
                }
                _ => {
                    let short: String = body.chars().take(300).collect();
                    return Err(format!("unexpected page (HTTP {status}): {short}"));
                }
            }
        };
        let tokens = self
            .token(
                &http,
                web,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", &pkce.verifier),
                ],
            )
            .await?;
        let refresh = tokens["refresh_token"]
            .as_str()
            .ok_or("no refresh token")?
            .to_string();
        let tokens = self
            .token(
                &http,
                web,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await?;
        let access = tokens["access_token"].as_str().ok_or("no access token")?;
        let (node, url) = self.next("/userinfo");
        let res = self
            .send(node, "userinfo", http.get(url).bearer_auth(access))
            .await?;
        if res.status() != 200 {
            return Err(format!("userinfo at node {node}: HTTP {}", res.status()));
        }
        // The session cookie from the login is accepted by whichever node answers now.
        let again = authorize_url(
            &self.lb.issuer,
            &web.id,
            "openid",
            "s2",
            Some(&Pkce::new()),
            &[("prompt", "none")],
        );
        let (node, url) = self.next(&again);
        let res = self.send(node, "prompt=none", http.get(url)).await?;
        let loc = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !(loc.starts_with(REDIRECT_URI) && query(loc).contains_key("code")) {
            return Err(format!("prompt=none at node {node}: {loc}"));
        }
        Ok(())
    }

    async fn token(
        &mut self,
        http: &reqwest::Client,
        web: &WebClient,
        form: &[(&str, &str)],
    ) -> Result<serde_json::Value, String> {
        let (node, url) = self.next("/token");
        let req = http
            .post(url)
            .basic_auth(&web.id, Some(&web.secret))
            .form(form);
        let res = self.send(node, form[0].1, req).await?;
        let status = res.status();
        let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!(
                "{} at node {node}: HTTP {status} {body}",
                form[0].1
            ));
        }
        Ok(body)
    }
}
