//! The load benchmark: `cargo bench --bench load`.
//!
//! Starts the real `nyckel serve` (the release build cargo makes for benches) on 127.0.0.1
//! with TLS off and SQLite in a temporary directory, creates fixtures with the CLI, and
//! measures over loopback, one phase after another (each `BENCH_SECONDS`, default 10, after a
//! short warm-up):
//!
//! - discovery, JWKS, `client_credentials`, `refresh_token` rotation, userinfo and
//!   introspection: requests per second and p50/p99 latency with `BENCH_CONNECTIONS`
//!   (default 64) keep-alive connections, one request in flight on each;
//! - complete password logins with the code exchange (`BENCH_LOGIN_CONNECTIONS`, default 8,
//!   browsers at once), while paced probes measure discovery and token latency under that load;
//! - password logins on `BENCH_IMPORT_LOGINS` (default 2) connections idle and while
//!   `nyckel org import` brings in `BENCH_IMPORT_ROWS` (default 10,000) members, the import's
//!   time, and the same file again (which must change nothing; import.rs);
//! - a flood of `BENCH_FLOOD_LOGINS` (default 1,000) password logins at once, while paced
//!   probes measure discovery, token refresh and userinfo (target p99 <= 100 ms; flood.rs);
//! - the server's startup time, idle RSS, peak RSS (VmHWM) and RSS after the load.
//!
//! `BENCH_PHASES` picks phases (comma-separated; default all): `cheap` (discovery, JWKS),
//! `token` (client_credentials), `refresh` (refresh, userinfo, introspection), `logins`,
//! `flood`, `import`. `BENCH_PHASES=flood cargo bench --bench load` repeats the flood alone.
//!
//! Prints a table and writes it as JSON to `target/bench-report.json` (`BENCH_REPORT` to move
//! it). `BENCH_CLIENT_THREADS` (default 1) sets the generator's threads; it shares the cores
//! with the server. An endpoint that does not exist yet (404) is reported as unavailable.

#[path = "load/client.rs"]
mod client;
#[path = "load/flood.rs"]
mod flood;
#[path = "load/flow.rs"]
mod flow;
#[path = "load/import.rs"]
mod import;
#[path = "load/report.rs"]
mod report;
#[path = "load/server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::header;
use serde_json::json;

use client::{Conn, Resp, Template};
use flow::{Tokens, Unavailable, WebClient};
use report::{Report, Row, ServerFigures, Stats, Target};
use server::Setup;
use std::sync::atomic::Ordering;

/// The fixtures' password (passes the default policy).
const PASSWORD: &str = "lingonberry jam under the old pine 7";
/// The web client's redirect URI; never contacted (the flow reads the code from `Location`).
const REDIRECT_URI: &str = "https://app.example.org/callback";

/// Targets from the product brief, for a 2-core machine.
const CHEAP_TARGET: f64 = 40_000.0;
const TOKEN_TARGET: f64 = 15_000.0;
const P99_DURING_LOGINS_MS: f64 = 20.0;

/// Knobs, from the environment.
#[derive(Debug, Clone)]
struct Settings {
    seconds: Duration,
    warmup: Duration,
    connections: usize,
    login_connections: usize,
    client_threads: usize,
    probe_interval: Duration,
    phases: Vec<String>,
    flood: flood::Flood,
    import: import::ImportBench,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        fn num(name: &str, default: f64) -> anyhow::Result<f64> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| *n > 0.0)
                    .with_context(|| format!("{name}={v:?} is not a positive number")),
                Err(_) => Ok(default),
            }
        }
        let seconds = num("BENCH_SECONDS", 10.0)?;
        Ok(Settings {
            seconds: Duration::from_secs_f64(seconds),
            warmup: Duration::from_secs_f64(num(
                "BENCH_WARMUP_SECONDS",
                (seconds / 10.0).min(1.0),
            )?),
            connections: num("BENCH_CONNECTIONS", 64.0)? as usize,
            login_connections: num("BENCH_LOGIN_CONNECTIONS", 8.0)? as usize,
            client_threads: num("BENCH_CLIENT_THREADS", 1.0)? as usize,
            probe_interval: Duration::from_secs_f64(num("BENCH_PROBE_INTERVAL_MS", 10.0)? / 1000.0),
            phases: phases_from_env()?,
            import: import::ImportBench {
                rows: num("BENCH_IMPORT_ROWS", 10_000.0)? as usize,
                logins: num("BENCH_IMPORT_LOGINS", 2.0)? as usize,
                idle: Duration::from_secs_f64(seconds),
            },
            flood: flood::Flood {
                logins: num("BENCH_FLOOD_LOGINS", 1000.0)? as usize,
                users: num("BENCH_FLOOD_USERS", 200.0)? as usize,
                wrong_percent: match std::env::var("BENCH_FLOOD_WRONG_PERCENT") {
                    Ok(v) => v
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n <= 100)
                        .with_context(|| format!("BENCH_FLOOD_WRONG_PERCENT={v:?}"))?,
                    Err(_) => 10,
                },
            },
        })
    }

    /// Whether the phase `name` runs.
    fn has(&self, name: &str) -> bool {
        self.phases.iter().any(|p| p == name)
    }
}

const PHASES: [&str; 6] = ["cheap", "token", "refresh", "logins", "flood", "import"];

/// `BENCH_PHASES`, checked against the known phases; all of them by default.
fn phases_from_env() -> anyhow::Result<Vec<String>> {
    let Ok(v) = std::env::var("BENCH_PHASES") else {
        return Ok(PHASES.iter().map(|p| p.to_string()).collect());
    };
    let phases: Vec<String> = v
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(bad) = phases.iter().find(|p| !PHASES.contains(&p.as_str())) {
        anyhow::bail!(
            "BENCH_PHASES: unknown phase {bad:?} (known: {})",
            PHASES.join(", ")
        );
    }
    Ok(phases)
}

/// The measured part of a phase: requests that start in `[from, until)` count.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

impl Window {
    fn new(s: &Settings) -> Window {
        let from = Instant::now() + s.warmup;
        Window {
            from,
            until: from + s.seconds,
        }
    }

    /// Measures the CPU the server (`pid`) and this generator use during the window, in
    /// cores (1.0 = one core busy all the time).
    fn cpu(&self, pid: u32) -> tokio::task::JoinHandle<(f64, f64)> {
        let w = *self;
        tokio::spawn(async move {
            tokio::time::sleep_until(w.from.into()).await;
            let (s0, c0) = (server::cpu_seconds(Some(pid)), server::cpu_seconds(None));
            tokio::time::sleep_until(w.until.into()).await;
            let (s1, c1) = (server::cpu_seconds(Some(pid)), server::cpu_seconds(None));
            let secs = w.length().as_secs_f64();
            ((s1 - s0) / secs, (c1 - c0) / secs)
        })
    }

    fn length(&self) -> Duration {
        self.until - self.from
    }
}

fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let runtime = if settings.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(settings.client_threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bin = std::env::var_os("NYCKEL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nyckel")));
    let tmp = tempfile::Builder::new().prefix("nyckel-bench-").tempdir()?;
    let setup = Arc::new(Setup::new(bin.clone(), tmp.path())?);
    let host = setup.host();
    eprintln!(
        "bench: {} on {}, {} s per phase, {} connections, {} login browsers, {} client thread(s), {} cores",
        bin.display(),
        setup.issuer,
        settings.seconds.as_secs_f64(),
        settings.connections,
        settings.login_connections,
        settings.client_threads,
        cores
    );
    eprintln!("bench: phases {}", settings.phases.join(", "));

    // Fixtures through the CLI, as an operator would make them.
    let users: Vec<String> = (0..settings.login_connections.max(1))
        .map(|i| format!("bench{i}@example.org"))
        .collect();
    for (i, email) in users.iter().enumerate() {
        setup.cli(
            &[
                "user",
                "create",
                "--email",
                email,
                "--name",
                &format!("Bench Person {i}"),
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )?;
    }
    let service = setup.cli(
        &[
            "client",
            "create",
            "--name",
            "Bench service",
            "--grant-type",
            "client_credentials",
        ],
        None,
    )?;
    let web = setup.cli(
        &[
            "client",
            "create",
            "--name",
            "Bench web app",
            "--redirect-uri",
            REDIRECT_URI,
            "--first-party",
        ],
        None,
    )?;
    let text = |v: &serde_json::Value, k: &str| -> anyhow::Result<String> {
        v[k].as_str()
            .map(str::to_string)
            .with_context(|| format!("client create printed no {k}: {v}"))
    };
    let (service_id, service_secret) = (
        text(&service, "client_id")?,
        text(&service, "client_secret")?,
    );
    let web = WebClient {
        id: text(&web, "client_id")?,
        secret: text(&web, "client_secret")?,
        redirect_uri: REDIRECT_URI.into(),
    };
    let flood_users = if settings.has("flood") {
        eprintln!(
            "bench: creating {} accounts for the flood",
            settings.flood.users
        );
        flood::create_users(&setup, settings.flood.users.max(1), PASSWORD)?
    } else {
        Vec::new()
    };

    // First start creates the signing keys; the second is the measured startup.
    let (first, first_start) = setup.start().await?;
    first.stop()?;
    let (server, startup) = setup.start().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.memory()?;
    eprintln!(
        "bench: started in {:.0} ms (first start {:.0} ms), idle RSS {} KiB",
        startup.as_secs_f64() * 1000.0,
        first_start.as_secs_f64() * 1000.0,
        idle.rss_kib
    );

    let mut rows = Vec::new();
    let conns = settings.connections;

    // Cheap endpoints.
    let cheap: &[(&str, &str)] = if settings.has("cheap") {
        &[
            (
                "GET /.well-known/openid-configuration",
                "/.well-known/openid-configuration",
            ),
            ("GET /jwks", "/jwks"),
        ]
    } else {
        &[]
    };
    for &(name, path) in cheap {
        let tpl = Template::get(&host, path)?;
        rows.push(
            hammer(
                &setup,
                &settings,
                name,
                vec![tpl],
                ok_200,
                Some(Target::MinRate(CHEAP_TARGET)),
            )
            .await?,
        );
    }

    // client_credentials; its answer also tells whether the token endpoint exists yet.
    let cc = Template::post_form(&host, "/token", &[("grant_type", "client_credentials")])?
        .with_basic(&service_id, &service_secret)?;
    let cc_name = "POST /token client_credentials";
    let token_missing = probe_once(&setup, &cc).await?;
    match &token_missing {
        Some(why) => rows.push(Row::unavailable(
            cc_name,
            why,
            Some(Target::MinRate(TOKEN_TARGET)),
        )),
        None if !settings.has("token") => {}
        None => rows.push(
            hammer(
                &setup,
                &settings,
                cc_name,
                vec![cc.clone()],
                ok_200,
                Some(Target::MinRate(TOKEN_TARGET)),
            )
            .await?,
        ),
    }

    // Full logins give every refresh worker its own token chain.
    if settings.has("refresh") {
        let refresh_name = "POST /token refresh_token (rotating)";
        let tokens = match &token_missing {
            Some(why) => Err(why.clone()),
            None => {
                eprintln!("bench: {conns} logins for the refresh-token workers");
                prep_logins(&setup, &settings, &web, &users, conns)
                    .await
                    .map_err(|e| match e.downcast_ref::<Unavailable>() {
                        Some(u) => u.0.clone(),
                        None => format!("login failed: {e:#}"),
                    })
            }
        };
        match tokens {
            Err(why) => {
                for name in [refresh_name, "GET /userinfo", "POST /introspect"] {
                    rows.push(Row::unavailable(name, &why, None));
                }
            }
            Ok(tokens) => {
                let tokens = if tokens.iter().any(|t| t.refresh_token.is_none()) {
                    rows.push(Row::unavailable(
                        refresh_name,
                        "no refresh_token issued",
                        None,
                    ));
                    tokens
                } else {
                    let (row, tokens) = refresh_phase(&setup, &settings, &web, tokens).await?;
                    rows.push(row);
                    tokens
                };
                let userinfo: Vec<Template> = tokens
                    .iter()
                    .map(|t| {
                        Template::get(&host, "/userinfo")?.with_header(
                            header::AUTHORIZATION,
                            &format!("Bearer {}", t.access_token),
                        )
                    })
                    .collect::<anyhow::Result<_>>()?;
                match probe_once(&setup, &userinfo[0]).await? {
                    Some(why) => rows.push(Row::unavailable("GET /userinfo", &why, None)),
                    None => rows.push(
                        hammer(&setup, &settings, "GET /userinfo", userinfo, ok_200, None).await?,
                    ),
                }
                let introspect: Vec<Template> = tokens
                    .iter()
                    .map(|t| {
                        Template::post_form(&host, "/introspect", &[("token", &t.access_token)])?
                            .with_basic(&web.id, &web.secret)
                    })
                    .collect::<anyhow::Result<_>>()?;
                match probe_once(&setup, &introspect[0]).await? {
                    Some(why) => rows.push(Row::unavailable("POST /introspect", &why, None)),
                    None => rows.push(
                        hammer(
                            &setup,
                            &settings,
                            "POST /introspect",
                            introspect,
                            active_token,
                            None,
                        )
                        .await?,
                    ),
                }
            }
        }
    }

    // Logins, with discovery and token latency probed while they run. Without a token
    // endpoint yet, the logins stop at the code.
    if settings.has("logins") {
        let exchange = token_missing.is_none();
        let login_name = if exchange {
            "login + code exchange (full flow)"
        } else {
            "login up to the code (POST /token: 404)"
        };
        let mut trial = Conn::open(setup.addr).await?;
        let trial = flow::login(
            &mut trial,
            &host,
            &setup.issuer,
            &web,
            (&users[0], PASSWORD),
            exchange,
        )
        .await;
        match trial {
            Err(e) if e.downcast_ref::<Unavailable>().is_some() => {
                rows.push(Row::unavailable(login_name, &e.to_string(), None));
            }
            _ => {
                let probe_cc = token_missing.is_none().then_some(&cc);
                rows.extend(
                    login_phase(
                        &setup, &settings, &web, &users, probe_cc, login_name, exchange,
                    )
                    .await?,
                );
            }
        }
    }

    // Logins while an organisation imports its members (import.rs).
    if settings.has("import") {
        rows.extend(import::run(&setup, &web, &users, &settings.import).await?);
    }

    // The flood, with probes that need two token chains of their own.
    if settings.has("flood") {
        match &token_missing {
            Some(why) => rows.push(Row::unavailable(
                "flood",
                why,
                Some(Target::MaxP99Ms(flood::FLOOD_P99_MS)),
            )),
            None => {
                let tokens = prep_logins(&setup, &settings, &web, &users, 2).await?;
                rows.extend(
                    flood::run(
                        setup.clone(),
                        &web,
                        &flood_users,
                        &settings.flood,
                        tokens,
                        settings.probe_interval,
                    )
                    .await?,
                );
            }
        }
    }

    let after = server.memory()?;
    server.stop()?;
    let (argon2_ms, argon2_per_s) = argon2_ceiling(cores).await?;
    let report = Report {
        cores,
        settings: json!({
            "seconds_per_phase": settings.seconds.as_secs_f64(),
            "warmup_seconds": settings.warmup.as_secs_f64(),
            "connections": settings.connections,
            "login_connections": settings.login_connections,
            "client_threads": settings.client_threads,
            "probe_interval_ms": settings.probe_interval.as_secs_f64() * 1000.0,
            "phases": settings.phases,
            "flood_logins": settings.flood.logins,
            "flood_accounts": settings.flood.users,
            "flood_wrong_percent": settings.flood.wrong_percent,
            "server": bin.display().to_string(),
            "database": "sqlite (temporary directory)",
        }),
        rows,
        server: ServerFigures {
            first_start_ms: first_start.as_secs_f64() * 1000.0,
            startup_ms: startup.as_secs_f64() * 1000.0,
            idle_rss_kib: idle.rss_kib,
            peak_rss_kib: after.hwm_kib,
            rss_after_kib: after.rss_kib,
            argon2_ms_per_hash: argon2_ms,
            argon2_hashes_per_s: argon2_per_s,
        },
    };
    println!("\n{}", report.table());
    let path = match std::env::var_os("BENCH_REPORT") {
        Some(p) => PathBuf::from(p),
        None => target_dir(&bin).join("bench-report.json"),
    };
    std::fs::write(&path, serde_json::to_string_pretty(&report.json())? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("report written to {}", path.display());
    Ok(())
}

/// What argon2id with the default parameters costs on this machine, through Nyckel's own
/// hasher (with the server stopped): milliseconds per hash on one core, and hashes per second
/// with one hash per core at once. The second figure bounds password logins per second before
/// any other work a login does.
async fn argon2_ceiling(cores: usize) -> anyhow::Result<(f64, f64)> {
    use nyckel::auth::password::{Hasher, Password};
    let hasher = std::sync::Arc::new(Hasher::new(&nyckel::config::PasswordConfig::default()));
    let pw = Password::new("bench password for the argon2 ceiling".into());
    hasher.hash(&pw).await?;
    let rounds = 10;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        hasher.hash(&pw).await?;
    }
    let one = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..cores)
        .map(|_| {
            let hasher = hasher.clone();
            let pw = pw.clone();
            tokio::spawn(async move {
                for _ in 0..rounds {
                    hasher.hash(&pw).await?;
                }
                Ok::<_, nyckel::error::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let all = f64::from(rounds) * cores as f64 / started.elapsed().as_secs_f64();
    Ok((one, all))
}

/// `target/` of the build that made `bin` (`target/release/nyckel`), else `./target`.
fn target_dir(bin: &std::path::Path) -> PathBuf {
    bin.parent()
        .and_then(|p| p.parent())
        .filter(|p| p.join("CACHEDIR.TAG").exists())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn ok_200(r: &Resp) -> bool {
    r.status == 200
}

fn active_token(r: &Resp) -> bool {
    r.status == 200 && r.body.windows(13).any(|w| w == b"\"active\":true")
}

/// Sends one request; `Some(reason)` when the endpoint does not exist (404).
async fn probe_once(setup: &Setup, tpl: &Template) -> anyhow::Result<Option<String>> {
    let mut conn = Conn::open(setup.addr).await?;
    let res = conn.send(tpl.build()).await?;
    Ok((res.status == 404).then(|| format!("{} {}: 404", tpl_method(tpl), tpl_path(tpl))))
}

fn tpl_method(tpl: &Template) -> String {
    tpl.build().method().to_string()
}

fn tpl_path(tpl: &Template) -> String {
    tpl.build().uri().path().to_string()
}

/// `connections` keep-alive connections, each sending `templates[i % len]` back to back.
async fn hammer(
    setup: &Setup,
    s: &Settings,
    name: &str,
    templates: Vec<Template>,
    check: fn(&Resp) -> bool,
    target: Option<Target>,
) -> anyhow::Result<Row> {
    eprintln!("bench: {name}");
    let window = Window::new(s);
    let cpu = window.cpu(setup.pid.load(Ordering::Relaxed));
    let templates = Arc::new(templates);
    let mut tasks = Vec::new();
    for i in 0..s.connections {
        let templates = templates.clone();
        let addr = setup.addr;
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let tpl = &templates[i % templates.len()];
            let mut conn = match Conn::open(addr).await {
                Ok(c) => c,
                Err(e) => {
                    stats.error(|| format!("{e:#}"));
                    return stats;
                }
            };
            loop {
                let t0 = Instant::now();
                if t0 >= window.until {
                    break;
                }
                match conn.send(tpl.build()).await {
                    Ok(res) if check(&res) => stats.ok(t0.elapsed(), t0 >= window.from),
                    Ok(res) => stats.error(|| res.describe()),
                    Err(e) => {
                        stats.error(|| format!("{e:#}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            stats
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        stats.merge(t.await?);
    }
    Ok(Row::from_stats(name, s.connections, stats, window.length(), target).with_cpu(cpu.await?))
}

/// One full login per refresh worker, `login_connections` at a time.
async fn prep_logins(
    setup: &Setup,
    s: &Settings,
    web: &WebClient,
    users: &[String],
    count: usize,
) -> anyhow::Result<Vec<Tokens>> {
    let parallel = s.login_connections.max(1);
    let mut tasks = Vec::new();
    for t in 0..parallel {
        let (web, users, host, issuer, addr) = (
            web.clone(),
            users.to_vec(),
            setup.host(),
            setup.issuer.clone(),
            setup.addr,
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut out = Vec::new();
            for i in (t..count).step_by(parallel) {
                let email = &users[i % users.len()];
                let tokens =
                    flow::login(&mut conn, &host, &issuer, &web, (email, PASSWORD), true).await?;
                out.push((i, tokens.unwrap_or_default()));
            }
            anyhow::Ok(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

/// Every worker rotates its own refresh token chain; returns the row and the newest tokens.
async fn refresh_phase(
    setup: &Setup,
    s: &Settings,
    web: &WebClient,
    tokens: Vec<Tokens>,
) -> anyhow::Result<(Row, Vec<Tokens>)> {
    let name = "POST /token refresh_token (rotating)";
    eprintln!("bench: {name}");
    let window = Window::new(s);
    let cpu = window.cpu(setup.pid.load(Ordering::Relaxed));
    let basic = client::basic_auth(&web.id, &web.secret);
    let mut tasks = Vec::new();
    for mut tok in tokens {
        let (addr, host, basic) = (setup.addr, setup.host(), basic.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut conn = match Conn::open(addr).await {
                Ok(c) => c,
                Err(e) => {
                    stats.error(|| format!("{e:#}"));
                    return (stats, tok);
                }
            };
            loop {
                let t0 = Instant::now();
                if t0 >= window.until {
                    break;
                }
                let Some(rt) = tok.refresh_token.clone() else {
                    break;
                };
                let tpl = match Template::post_form(
                    &host,
                    "/token",
                    &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                )
                .and_then(|t| t.with_header(header::AUTHORIZATION, &basic))
                {
                    Ok(t) => t,
                    Err(e) => {
                        stats.error(|| format!("{e:#}"));
                        break;
                    }
                };
                let res = conn.send(tpl.build()).await.and_then(|r| Tokens::parse(&r));
                match res {
                    Ok(new) => {
                        stats.ok(t0.elapsed(), t0 >= window.from);
                        tok = Tokens {
                            access_token: new.access_token,
                            // Without rotation the same token stays valid.
                            refresh_token: new.refresh_token.or(Some(rt)),
                        };
                    }
                    Err(e) => {
                        // The chain is broken (or reuse was detected): this worker stops.
                        stats.error(|| format!("{e:#}"));
                        break;
                    }
                }
            }
            (stats, tok)
        }));
    }
    let mut stats = Stats::default();
    let mut out = Vec::new();
    for t in tasks {
        let (st, tok) = t.await?;
        stats.merge(st);
        out.push(tok);
    }
    Ok((
        Row::from_stats(name, out.len(), stats, window.length(), None).with_cpu(cpu.await?),
        out,
    ))
}

/// Complete logins on `login_connections` browsers, with paced discovery and token probes.
async fn login_phase(
    setup: &Setup,
    s: &Settings,
    web: &WebClient,
    users: &[String],
    cc: Option<&Template>,
    name: &str,
    exchange: bool,
) -> anyhow::Result<Vec<Row>> {
    eprintln!("bench: {name}");
    let window = Window::new(s);
    let cpu = window.cpu(setup.pid.load(Ordering::Relaxed));
    let mut logins = Vec::new();
    for i in 0..s.login_connections.max(1) {
        let (web, email, host, issuer, addr) = (
            web.clone(),
            users[i % users.len()].clone(),
            setup.host(),
            setup.issuer.clone(),
            setup.addr,
        );
        logins.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut conn = match Conn::open(addr).await {
                Ok(c) => c,
                Err(e) => {
                    stats.error(|| format!("{e:#}"));
                    return stats;
                }
            };
            loop {
                let t0 = Instant::now();
                if t0 >= window.until {
                    break;
                }
                let login = (email.as_str(), PASSWORD);
                match flow::login(&mut conn, &host, &issuer, &web, login, exchange).await {
                    Ok(_) => stats.ok(t0.elapsed(), t0 >= window.from),
                    Err(e) => {
                        stats.error(|| format!("{e:#}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            stats
        }));
    }
    const PROBES: usize = 2;
    let discovery = Template::get(&setup.host(), "/.well-known/openid-configuration")?;
    let probe_names = [
        "  discovery during logins (paced)",
        "  token client_credentials during logins (paced)",
    ];
    let mut probes: Vec<Vec<tokio::task::JoinHandle<Stats>>> = vec![Vec::new(), Vec::new()];
    for (k, tpl) in [Some(discovery), cc.cloned()].into_iter().enumerate() {
        let Some(tpl) = tpl else { continue };
        for _ in 0..PROBES {
            let (tpl, addr, interval) = (tpl.clone(), setup.addr, s.probe_interval);
            probes[k].push(tokio::spawn(async move {
                let mut stats = Stats::default();
                let mut conn = match Conn::open(addr).await {
                    Ok(c) => c,
                    Err(e) => {
                        stats.error(|| format!("{e:#}"));
                        return stats;
                    }
                };
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let t0 = Instant::now();
                    if t0 >= window.until {
                        break;
                    }
                    match conn.send(tpl.build()).await {
                        Ok(res) if res.status == 200 => stats.ok(t0.elapsed(), t0 >= window.from),
                        Ok(res) => stats.error(|| res.describe()),
                        Err(e) => stats.error(|| format!("{e:#}")),
                    }
                }
                stats
            }));
        }
    }
    let mut rows = Vec::new();
    let mut stats = Stats::default();
    for t in logins {
        stats.merge(t.await?);
    }
    rows.push(
        Row::from_stats(
            name,
            s.login_connections.max(1),
            stats,
            window.length(),
            None,
        )
        .with_cpu(cpu.await?),
    );
    for (k, tasks) in probes.into_iter().enumerate() {
        let target = Some(Target::MaxP99Ms(P99_DURING_LOGINS_MS));
        if tasks.is_empty() {
            rows.push(Row::unavailable(probe_names[k], "POST /token: 404", target));
            continue;
        }
        let mut stats = Stats::default();
        for t in tasks {
            stats.merge(t.await?);
        }
        rows.push(Row::from_stats(
            probe_names[k],
            PROBES,
            stats,
            window.length(),
            target,
        ));
    }
    Ok(rows)
}
