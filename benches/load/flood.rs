//! The login flood (issue 7, point 6): `BENCH_FLOOD_LOGINS` (default 1,000) people, each on
//! their own fresh connection and from their own address (`X-Forwarded-For` from a trusted
//! proxy, as behind a reverse proxy), POST the login form at the same moment: real accounts
//! with the default argon2id parameters, `BENCH_FLOOD_WRONG_PERCENT` (default 10) of them with
//! a wrong password. Meanwhile paced probes on their own keep-alive connections measure
//! discovery, `refresh_token` rotation and userinfo; the target is p99 <= 100 ms each.
//!
//! The login pages are fetched first (authorization request, cookies, hidden fields), so
//! the flood itself is only the password POSTs. Probe samples count from the flood's first
//! POST until its last answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::header::{self, HeaderName};

use crate::client::{Conn, Jar, Resp, Template, form};
use crate::flow::{Tokens, WebClient, hidden_inputs, random_token};
use crate::report::{Row, Stats, Target};
use crate::server::{Setup, cpu_seconds};

/// The target for the probes during the flood.
pub const FLOOD_P99_MS: f64 = 100.0;
/// Probe connections per probed endpoint.
const PROBES: usize = 2;
/// Login pages fetched at once while preparing.
const PREPARERS: usize = 16;

/// The flood's knobs.
#[derive(Debug, Clone)]
pub struct Flood {
    pub logins: usize,
    pub users: usize,
    pub wrong_percent: usize,
}

/// One person in front of the login form.
struct Pending {
    jar: Jar,
    fields: Vec<(String, String)>,
    ip: String,
    wrong: bool,
}

/// The address person `i` comes from.
fn address(i: usize) -> String {
    format!("10.{}.{}.{}", 64 + (i >> 16) % 64, (i >> 8) % 256, i % 256)
}

fn xff() -> HeaderName {
    HeaderName::from_static("x-forwarded-for")
}

/// The `flood{i}@example.org` accounts, made with the CLI (a few at once).
pub fn create_users(setup: &Setup, count: usize, password: &str) -> anyhow::Result<Vec<String>> {
    let emails: Vec<String> = (0..count)
        .map(|i| format!("flood{i}@example.org"))
        .collect();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let stdin = format!("{password}\n");
    std::thread::scope(|s| {
        let tasks: Vec<_> = (0..workers)
            .map(|w| {
                let (emails, stdin) = (&emails, &stdin);
                s.spawn(move || -> anyhow::Result<()> {
                    for email in emails.iter().skip(w).step_by(workers) {
                        setup.cli(
                            &["user", "create", "--email", email, "--password-stdin"],
                            Some(stdin),
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        for t in tasks {
            t.join()
                .map_err(|_| anyhow::anyhow!("user creation panicked"))??;
        }
        anyhow::Ok(())
    })?;
    Ok(emails)
}

/// Fetches the login page for person `i` (authorization request, redirects, form).
async fn prepare_one(
    conn: &mut Conn,
    setup: &Setup,
    web: &WebClient,
    ip: &str,
) -> anyhow::Result<(Jar, Vec<(String, String)>)> {
    let host = setup.host();
    let mut jar = Jar::default();
    let query = form(&[
        ("response_type", "code"),
        ("client_id", &web.id),
        ("redirect_uri", &web.redirect_uri),
        ("scope", "openid email profile"),
        ("state", &random_token()),
        ("code_challenge", &random_token()),
        ("code_challenge_method", "S256"),
    ]);
    let mut path = format!("/authorize?{query}");
    for _ in 0..5 {
        let mut tpl = Template::get(&host, &path)?.with_header(xff(), ip)?;
        if let Some(c) = jar.header() {
            tpl = tpl.with_header(header::COOKIE, &c)?;
        }
        let res = conn.send(tpl.build()).await?;
        jar.store(&res.headers);
        match res.status {
            302 | 303 => {
                let loc = res.location().context("redirect without Location")?;
                path = loc.strip_prefix(&setup.issuer).unwrap_or(loc).to_string();
            }
            200 => {
                let fields = hidden_inputs(&res.text(), "/login")
                    .with_context(|| format!("no login form: {}", res.describe()))?;
                return Ok((jar, fields.into_iter().collect()));
            }
            _ => bail!("preparing the login page: {}", res.describe()),
        }
    }
    bail!("too many redirects before the login page")
}

/// The people of the flood with their login pages open.
async fn prepare(
    setup: &Arc<Setup>,
    web: &WebClient,
    emails: &[String],
    f: &Flood,
) -> anyhow::Result<Vec<Pending>> {
    let mut tasks = Vec::new();
    for p in 0..PREPARERS {
        let (setup, web) = (setup.clone(), web.clone());
        let mine: Vec<(usize, String)> = (p..f.logins)
            .step_by(PREPARERS)
            .map(|i| (i, emails[i % emails.len()].clone()))
            .collect();
        let wrong_percent = f.wrong_percent;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(setup.addr).await?;
            let mut out = Vec::new();
            for (i, email) in mine {
                let ip = address(i);
                let (jar, mut fields) = prepare_one(&mut conn, &setup, &web, &ip).await?;
                // Every k-th person mistypes, spread over the accounts.
                let wrong = wrong_percent > 0 && (i * wrong_percent) % 100 < wrong_percent;
                let password = if wrong {
                    "not the password at all 123".to_string()
                } else {
                    crate::PASSWORD.to_string()
                };
                fields.push(("email".into(), email));
                fields.push(("password".into(), password));
                out.push((
                    i,
                    Pending {
                        jar,
                        fields,
                        ip,
                        wrong,
                    },
                ));
            }
            anyhow::Ok(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, p)| p).collect())
}

/// What one login POST got.
enum Outcome {
    /// Right password: redirected onwards.
    LoggedIn(Duration),
    /// Wrong password: the form again.
    Refused(Duration),
    Throttled,
    Failed(String),
}

async fn post_login(setup: &Setup, p: Pending) -> Outcome {
    let fields: Vec<(&str, &str)> = p
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let tpl = Template::post_form(&setup.host(), "/login", &fields)
        .and_then(|t| t.with_header(xff(), &p.ip))
        .and_then(|t| match p.jar.header() {
            Some(c) => t.with_header(header::COOKIE, &c),
            None => Ok(t),
        });
    let tpl = match tpl {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    let t0 = Instant::now();
    let res: anyhow::Result<Resp> = async {
        let mut conn = Conn::open(setup.addr).await?;
        conn.send(tpl.build()).await
    }
    .await;
    let took = t0.elapsed();
    match res {
        Ok(r) if !p.wrong && (r.status == 302 || r.status == 303) => Outcome::LoggedIn(took),
        Ok(r) if p.wrong && r.status == 200 => Outcome::Refused(took),
        Ok(r) if r.status == 429 => Outcome::Throttled,
        Ok(r) => Outcome::Failed(format!(
            "{} password: {}",
            if p.wrong { "wrong" } else { "right" },
            r.describe()
        )),
        Err(e) => Outcome::Failed(format!("{e:#}")),
    }
}

/// A probe's samples: when each request started, how long it took, or what went wrong.
type Samples = Vec<(Instant, Result<Duration, String>)>;

/// Paced requests on one keep-alive connection until `stop`; `next` makes each request on
/// the connection it is handed (and hands it back) and checks the answer (a refresh probe
/// rotates its token in it).
fn probe<F, Fut>(
    setup: &Setup,
    interval: Duration,
    stop: Arc<AtomicBool>,
    mut next: F,
) -> tokio::task::JoinHandle<Samples>
where
    F: FnMut(Conn) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = (Conn, anyhow::Result<()>)> + Send + 'static,
{
    let addr = setup.addr;
    tokio::spawn(async move {
        let mut samples = Samples::new();
        let Ok(mut conn) = Conn::open(addr).await else {
            samples.push((Instant::now(), Err("cannot connect".into())));
            return samples;
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::SeqCst) {
            tick.tick().await;
            let t0 = Instant::now();
            let (back, r) = next(conn).await;
            conn = back;
            samples.push((t0, r.map(|()| t0.elapsed()).map_err(|e| format!("{e:#}"))));
        }
        samples
    })
}

/// Sends `req` on `conn`; an answer other than 200 is a failure.
async fn expect_200(
    mut conn: Conn,
    req: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> (Conn, anyhow::Result<()>) {
    let r = match conn.send(req).await {
        Ok(res) if res.status == 200 => Ok(()),
        Ok(res) => Err(anyhow::anyhow!("{}", res.describe())),
        Err(e) => Err(e),
    };
    (conn, r)
}

/// Runs the flood with its probes; returns the login row and one row per probe.
pub async fn run(
    setup: Arc<Setup>,
    web: &WebClient,
    emails: &[String],
    f: &Flood,
    probe_tokens: Vec<Tokens>,
    interval: Duration,
) -> anyhow::Result<Vec<Row>> {
    eprintln!(
        "bench: flood: preparing {} login pages ({} accounts, {}% wrong passwords)",
        f.logins,
        emails.len(),
        f.wrong_percent
    );
    let people = prepare(&setup, web, emails, f).await?;

    // Probes start before the flood and stop after it; samples in the flood count.
    let stop = Arc::new(AtomicBool::new(false));
    let host = setup.host();
    let discovery = Template::get(&host, "/.well-known/openid-configuration")?;
    let mut probes: Vec<(&str, Vec<tokio::task::JoinHandle<Samples>>)> = vec![
        ("  discovery during the flood (paced)", Vec::new()),
        ("  token refresh_token during the flood (paced)", Vec::new()),
        ("  userinfo during the flood (paced)", Vec::new()),
    ];
    for k in 0..PROBES {
        let tpl = discovery.clone();
        probes[0]
            .1
            .push(probe(&setup, interval, stop.clone(), move |conn| {
                expect_200(conn, tpl.build())
            }));
        let chain = probe_tokens
            .get(k)
            .cloned()
            .context("no tokens for the refresh probe")?;
        let refresh = Arc::new(std::sync::Mutex::new(chain.refresh_token.clone()));
        let (host2, basic) = (
            host.clone(),
            crate::client::basic_auth(&web.id, &web.secret),
        );
        probes[1]
            .1
            .push(probe(&setup, interval, stop.clone(), move |mut conn| {
                let refresh = refresh.clone();
                let current = refresh.lock().map(|r| r.clone()).unwrap_or_default();
                let tpl = current
                    .context("no refresh token")
                    .and_then(|rt| {
                        Template::post_form(
                            &host2,
                            "/token",
                            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                        )
                    })
                    .and_then(|t| t.with_header(header::AUTHORIZATION, &basic));
                async move {
                    let r = async {
                        let res = conn.send(tpl?.build()).await?;
                        let new = Tokens::parse(&res)?;
                        if let (Some(rt), Ok(mut slot)) = (new.refresh_token, refresh.lock()) {
                            *slot = Some(rt);
                        }
                        Ok::<(), anyhow::Error>(())
                    }
                    .await;
                    (conn, r)
                }
            }));
        let userinfo = Template::get(&host, "/userinfo")?.with_header(
            header::AUTHORIZATION,
            &format!("Bearer {}", chain.access_token),
        )?;
        probes[2]
            .1
            .push(probe(&setup, interval, stop.clone(), move |conn| {
                expect_200(conn, userinfo.build())
            }));
    }
    // Let the probes connect and settle.
    tokio::time::sleep(Duration::from_millis(300)).await;

    eprintln!("bench: flood: {} password logins at once", people.len());
    let pid = setup.pid.load(Ordering::Relaxed);
    let (cpu_srv0, cpu_gen0) = (cpu_seconds(Some(pid)), cpu_seconds(None));
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let mut logins = Vec::new();
    for p in people {
        let (setup, mut go) = (setup.clone(), go_rx.clone());
        logins.push(tokio::spawn(async move {
            let _ = go.wait_for(|g| *g).await;
            post_login(&setup, p).await
        }));
    }
    tokio::task::yield_now().await;
    let started = Instant::now();
    let _ = go_tx.send(true);
    let mut stats = Stats::default();
    let (mut refused, mut throttled) = (0u64, 0u64);
    let mut logged_in = 0u64;
    for t in logins {
        match t.await? {
            Outcome::LoggedIn(took) => {
                logged_in += 1;
                stats.ok(took, true);
            }
            Outcome::Refused(took) => {
                refused += 1;
                stats.ok(took, true);
            }
            Outcome::Throttled => {
                throttled += 1;
                stats.error(|| "throttled (429)".into());
            }
            Outcome::Failed(e) => stats.error(|| e),
        }
    }
    let ended = Instant::now();
    let length = ended - started;
    let cpu = (
        (cpu_seconds(Some(pid)) - cpu_srv0) / length.as_secs_f64(),
        (cpu_seconds(None) - cpu_gen0) / length.as_secs_f64(),
    );
    stop.store(true, Ordering::SeqCst);

    let mut login_row = Row::from_stats(
        &format!("flood: {} password logins at once", f.logins),
        f.logins,
        stats,
        length,
        None,
    )
    .with_cpu(cpu);
    let first = std::mem::take(&mut login_row.note);
    login_row.note = format!(
        "{logged_in} logged in, {refused} wrong passwords refused, {throttled} throttled, all answered in {:.1} s{}{first}",
        length.as_secs_f64(),
        if first.is_empty() { "" } else { "; " },
    );
    let mut rows = vec![login_row];
    for (name, tasks) in probes {
        let mut stats = Stats::default();
        for t in tasks {
            for (t0, r) in t.await? {
                let measured = t0 >= started && t0 < ended;
                match r {
                    Ok(took) => stats.ok(took, measured),
                    Err(e) => stats.error(|| e),
                }
            }
        }
        rows.push(Row::from_stats(
            name,
            PROBES,
            stats,
            length,
            Some(Target::MaxP99Ms(FLOOD_P99_MS)),
        ));
    }
    Ok(rows)
}
