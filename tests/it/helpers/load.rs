//! A write-load generator for fault tests against a real `nyckel serve` process: workers run
//! password logins through the authorization endpoint (a session and a code), code→token
//! exchanges, refresh rotations, and admin API writes (a new role, a member's roles changed).
//! Every request that was answered 2xx/3xx as expected is recorded in a [`Ledger`] of
//! acknowledged writes, which [`Ledger::missing`] compares with the database. Requests never
//! panic: a connection error or a killed server just ends the worker's current step.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nyckel::crypto::sha256_b64;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

use nyckel::http::api::table::Method;

use crate::helpers::browser::{self, form_fields, query};
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::integrity;
use crate::helpers::ops::{Cli, api_answer_problems};
use crate::helpers::{PASSWORD, REDIRECT_URI};

/// The people, organisation and clients the load uses, made with the real CLI.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// People who log in, one per worker.
    pub logins: Vec<String>,
    /// Members whose roles the admin API changes, one per worker: (user id, email).
    pub members: Vec<(String, String)>,
    pub org_slug: String,
    /// The first-party web client: (id, secret).
    pub app: (String, String),
    /// The organisation's admin-API service client: (id, secret).
    pub service: (String, String),
}

impl Fixture {
    /// Creates the fixture for `workers` workers in the database at `url`.
    pub fn create(dir: &Path, url: &str, workers: usize) -> Fixture {
        let cli = Cli::new(dir, url);
        let org_slug = "club".to_string();
        cli.ok(&["org", "create", "--name", "Club", "--slug", &org_slug]);
        let mut logins = Vec::new();
        let mut members = Vec::new();
        for w in 0..workers {
            let email = format!("login{w}@example.org");
            cli.person(&email);
            logins.push(email);
            let email = format!("member{w}@example.org");
            let id = cli.user(&email);
            cli.ok(&[
                "org",
                "add-member",
                "--org",
                &org_slug,
                "--email",
                &email,
                "--role",
                "member",
            ]);
            members.push((id, email));
        }
        let app = cli.web_client("App", &[]);
        let service = cli.client(
            "Service",
            &[
                "--owner",
                &org_slug,
                "--grant-type",
                "client_credentials",
                "--admin-api",
            ],
        );
        assert!(
            !service.1.is_empty(),
            "the service client is shown its secret"
        );
        Fixture {
            logins,
            members,
            org_slug,
            app,
            service,
        }
    }
}

/// Writes the server acknowledged.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Cookie hashes of sessions made by a login answered 303.
    pub sessions: Vec<String>,
    /// Hashes of codes handed to the client.
    pub codes: Vec<String>,
    /// Hashes of refresh tokens handed out and not (acknowledged as) rotated.
    pub refresh_live: Vec<String>,
    /// Hashes of refresh tokens whose rotation was acknowledged.
    pub refresh_used: Vec<String>,
    /// Roles created through the admin API.
    pub roles: Vec<String>,
    /// Per member user id: the number of the newest role set on it (`w<worker>-<n>`).
    pub member_roles: HashMap<String, (usize, u64)>,
    /// Requests answered with something else than success while the server was up.
    pub unexpected: Vec<String>,
    /// Acknowledged requests by kind.
    pub acked: HashMap<&'static str, u64>,
}

impl Ledger {
    fn ack(&mut self, kind: &'static str) {
        *self.acked.entry(kind).or_default() += 1;
    }

    /// Acknowledged writes missing from the database at `url` (empty: all present).
    pub async fn missing(&self, url: &str, org_slug: &str) -> Vec<String> {
        let pool = integrity::open(url).await;
        let mut missing = Vec::new();
        let exists = |sql: &'static str, key: String| {
            let pool = pool.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as(sql)
                    .bind(key)
                    .fetch_one(&pool)
                    .await
                    .expect("ledger query");
                n > 0
            }
        };
        let by_hash: [(&str, &Vec<String>, &'static str); 4] = [
            (
                "session",
                &self.sessions,
                "select count(*) from sessions where id_hash = $1",
            ),
            (
                "code",
                &self.codes,
                "select count(*) from auth_codes where code_hash = $1",
            ),
            (
                "refresh token",
                &self.refresh_live,
                "select count(*) from refresh_tokens where token_hash = $1",
            ),
            (
                "rotation of refresh token",
                &self.refresh_used,
                "select count(*) from refresh_tokens where token_hash = $1 and used_at is not null",
            ),
        ];
        for (what, hashes, sql) in by_hash {
            for h in hashes {
                if !exists(sql, h.clone()).await {
                    missing.push(format!("{what} {h}"));
                }
            }
        }
        let roles: Vec<(String,)> = sqlx::query_as(
            "select r.name from organisation_roles r join organisations o on o.id = r.organisation_id
             where o.slug = $1",
        )
        .bind(org_slug)
        .fetch_all(&pool)
        .await
        .expect("roles");
        let roles: std::collections::HashSet<String> = roles.into_iter().map(|(r,)| r).collect();
        for r in &self.roles {
            if !roles.contains(r) {
                missing.push(format!("role {r}"));
            }
        }
        for (user, (worker, n)) in &self.member_roles {
            let (text,): (String,) = sqlx::query_as(
                "select m.roles from memberships m join organisations o on o.id = m.organisation_id
                 where o.slug = $1 and m.user_id = $2",
            )
            .bind(org_slug)
            .bind(user)
            .fetch_one(&pool)
            .await
            .expect("membership");
            let list: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
            // The newest acknowledged change, or a later one in flight at the kill.
            let prefix = format!("w{worker}-");
            let newest = list
                .iter()
                .filter_map(|r| r.strip_prefix(&prefix)?.parse::<u64>().ok())
                .max();
            if newest.is_none_or(|got| got < *n) {
                missing.push(format!(
                    "roles of {user}: {list:?}, acknowledged w{worker}-{n}"
                ));
            }
        }
        pool.close().await;
        missing
    }
}

/// The target server as the workers see it.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: std::net::SocketAddr,
    pub issuer: String,
}

/// Why a step ended early.
#[derive(Debug)]
pub enum Stop {
    /// No answer (connection refused or reset, server killed).
    Transport,
    /// An answer other than the expected one.
    Status(String),
}

impl From<reqwest::Error> for Stop {
    fn from(_: reqwest::Error) -> Self {
        Stop::Transport
    }
}

/// One answer, fully read.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Vec<String>,
    body: String,
}

async fn read(res: reqwest::Response) -> Result<Answer, Stop> {
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let set_cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let body = res.text().await?;
    Ok(Answer {
        status,
        location,
        set_cookie,
        body,
    })
}

fn expect(a: &Answer, what: &str, ok: impl Fn(StatusCode) -> bool) -> Result<(), Stop> {
    if ok(a.status) {
        Ok(())
    } else {
        let body: String = a.body.chars().take(200).collect();
        Err(Stop::Status(format!("{what}: {} {body}", a.status)))
    }
}

/// An admin API answer that the generated OpenAPI document does not allow is an unexpected
/// answer (the check is a schema validation of one small body: it does not slow the load).
fn documented(method: Method, url: &str, a: &Answer) -> Result<(), Stop> {
    api_answer_problems(method, url, a.status.as_u16(), &a.body).map_err(Stop::Status)
}

/// Runs one worker until `stop` is set. Counts and acknowledgements go to `ledger`.
pub async fn worker(
    w: usize,
    fixture: Arc<Fixture>,
    target: Target,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    round: Arc<std::sync::atomic::AtomicU64>,
) {
    let http = browser::client(target.addr, false);
    let mut admin_token: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        let n = round.fetch_add(1, Ordering::SeqCst);
        // One round: a login, its code exchanged, three rotations, the admin writes.
        let (f, t, ledger) = (&*fixture, &target, &*ledger);
        let result = async {
            let code_and_pkce = login(w, f, t, ledger).await?;
            let mut refresh = exchange(f, t, &http, ledger, code_and_pkce).await?;
            for _ in 0..3 {
                refresh = rotate(f, t, &http, ledger, &refresh).await?;
            }
            admin(w, n, f, t, &http, ledger, &mut admin_token).await
        }
        .await;
        match result {
            Ok(()) => {}
            Err(Stop::Transport) => {
                // The server is gone (killed) or restarting; wait for the harness.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(Stop::Status(s)) => {
                if !stop.load(Ordering::SeqCst) {
                    lock(ledger).unexpected.push(s);
                }
                admin_token = None;
            }
        }
    }
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

/// A password login through the authorization endpoint; returns the code and its PKCE pair.
pub async fn login(
    w: usize,
    f: &Fixture,
    t: &Target,
    ledger: &Mutex<Ledger>,
) -> Result<(String, Pkce), Stop> {
    let browser = browser::client(t.addr, true);
    let pkce = Pkce::new();
    let start = authorize_url(&t.issuer, &f.app.0, "openid", "s", Some(&pkce), &[]);
    let mut a = read(browser.get(&start).send().await?).await?;
    let mut logged_in = false;
    for _ in 0..8 {
        if a.status.is_redirection() {
            let loc = a.location.clone().unwrap_or_default();
            if loc.starts_with(REDIRECT_URI) {
                let q = query(&loc);
                let code = q
                    .get("code")
                    .cloned()
                    .ok_or_else(|| Stop::Status(format!("no code in {loc}")))?;
                let mut l = lock(ledger);
                l.codes.push(sha256_b64(&code));
                l.ack("code");
                return Ok((code, pkce));
            }
            let next = if loc.starts_with('/') {
                format!("{}{loc}", t.issuer)
            } else {
                loc
            };
            a = read(browser.get(&next).send().await?).await?;
        } else if !logged_in && a.status == StatusCode::OK {
            let Some(mut fields) = form_fields(&a.body, "/login") else {
                return Err(Stop::Status("no login form".into()));
            };
            fields.insert("email".into(), f.logins[w].clone());
            fields.insert("password".into(), PASSWORD.into());
            logged_in = true;
            a = read(
                browser
                    .post(format!("{}/login", t.issuer))
                    .form(&fields)
                    .send()
                    .await?,
            )
            .await?;
            expect(&a, "login", |s| s == StatusCode::SEE_OTHER)?;
            let cookie = a
                .set_cookie
                .iter()
                .find_map(|c| c.strip_prefix("__Host-nyckel_session="))
                .and_then(|c| c.split(';').next())
                .ok_or_else(|| Stop::Status("login set no session cookie".into()))?;
            let mut l = lock(ledger);
            l.sessions.push(sha256_b64(cookie));
            l.ack("login");
        } else {
            expect(&a, "authorize", |_| false)?;
        }
    }
    Err(Stop::Status("too many redirects".into()))
}

async fn token(
    f: &Fixture,
    t: &Target,
    http: &reqwest::Client,
    form: &[(&str, &str)],
) -> Result<serde_json::Value, Stop> {
    let a = read(
        http.post(format!("{}/token", t.issuer))
            .basic_auth(&f.app.0, Some(&f.app.1))
            .form(form)
            .send()
            .await?,
    )
    .await?;
    expect(&a, "token", |s| s == StatusCode::OK)?;
    serde_json::from_str(&a.body).map_err(|e| Stop::Status(format!("token JSON: {e}")))
}

pub async fn exchange(
    f: &Fixture,
    t: &Target,
    http: &reqwest::Client,
    ledger: &Mutex<Ledger>,
    (code, pkce): (String, Pkce),
) -> Result<String, Stop> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let json = token(f, t, http, &form).await?;
    let refresh = json["refresh_token"]
        .as_str()
        .ok_or_else(|| Stop::Status(format!("no refresh token: {json}")))?
        .to_string();
    let mut l = lock(ledger);
    l.refresh_live.push(sha256_b64(&refresh));
    l.ack("exchange");
    Ok(refresh)
}

pub async fn rotate(
    f: &Fixture,
    t: &Target,
    http: &reqwest::Client,
    ledger: &Mutex<Ledger>,
    refresh: &str,
) -> Result<String, Stop> {
    let json = token(
        f,
        t,
        http,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await?;
    let next = json["refresh_token"]
        .as_str()
        .ok_or_else(|| Stop::Status(format!("no refresh token: {json}")))?
        .to_string();
    let old = sha256_b64(refresh);
    let mut l = lock(ledger);
    l.refresh_live.retain(|h| *h != old);
    l.refresh_used.push(old);
    l.refresh_live.push(sha256_b64(&next));
    l.ack("rotate");
    Ok(next)
}

async fn admin(
    w: usize,
    n: u64,
    f: &Fixture,
    t: &Target,
    http: &reqwest::Client,
    ledger: &Mutex<Ledger>,
    admin_token: &mut Option<String>,
) -> Result<(), Stop> {
    let bearer = match admin_token {
        Some(b) => b.clone(),
        None => {
            let a = read(
                http.post(format!("{}/token", t.issuer))
                    .basic_auth(&f.service.0, Some(&f.service.1))
                    .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
                    .send()
                    .await?,
            )
            .await?;
            expect(&a, "client_credentials", |s| s == StatusCode::OK)?;
            let json: serde_json::Value = serde_json::from_str(&a.body)
                .map_err(|e| Stop::Status(format!("token JSON: {e}")))?;
            let b = json["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *admin_token = Some(b.clone());
            b
        }
    };
    let api = format!("{}/api/admin/v1/orgs/{}", t.issuer, f.org_slug);
    let role = format!("w{w}-{n}");
    let put = async |url: String, body: serde_json::Value, what: &str| {
        let a = read(
            http.put(&url)
                .bearer_auth(&bearer)
                .json(&body)
                .send()
                .await?,
        )
        .await?;
        documented(Method::Put, &url, &a)?;
        expect(&a, what, |s| s.is_success())
    };
    let description = serde_json::json!({ "description": "load" });
    put(format!("{api}/roles/{role}"), description, "put role").await?;
    {
        let mut l = lock(ledger);
        l.roles.push(role.clone());
        l.ack("role");
    }
    let (member, _) = &f.members[w];
    let roles = serde_json::json!({ "roles": ["member", role] });
    put(
        format!("{api}/members/{member}/roles"),
        roles,
        "set member roles",
    )
    .await?;
    let mut l = lock(ledger);
    l.member_roles.insert(member.clone(), (w, n));
    l.ack("member roles");
    Ok(())
}

/// Runs `workers` workers against `target` until `stop`; returns their handles.
pub fn start(
    workers: usize,
    fixture: &Arc<Fixture>,
    target: &Target,
    ledger: &Arc<Mutex<Ledger>>,
    stop: &Arc<AtomicBool>,
    round: &Arc<std::sync::atomic::AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..workers)
        .map(|w| {
            tokio::spawn(worker(
                w,
                fixture.clone(),
                target.clone(),
                ledger.clone(),
                stop.clone(),
                round.clone(),
            ))
        })
        .collect()
}

/// A small deterministic generator for random delays (seed printed by the test).
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock unless `NYCKEL_TEST_SEED` is set.
    pub fn new() -> Self {
        let seed = std::env::var("NYCKEL_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7)
                    | 1
            });
        eprintln!("random seed {seed} (NYCKEL_TEST_SEED to repeat)");
        Rng(seed)
    }

    /// A number in `lo..hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo).max(1)
    }
}

/// Waits until `f` is true or `limit` passed; returns whether it became true.
pub async fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f()
}
