//! The import phase (`BENCH_PHASES=import`): password logins with the code exchange on
//! `BENCH_IMPORT_LOGINS` (default 2) connections, first with nothing else running (for
//! `BENCH_SECONDS`), then while `nyckel org import` brings in a file of `BENCH_IMPORT_ROWS`
//! (default 10,000) new members at the default `[admin] import_rows_per_second`; then the
//! same file imported again. Reported: login p50/p99 idle and during the import (target:
//! p99 within twice the idle p99), the import's rows per second, and the second run, which
//! must create nothing (its summary is checked: every row unchanged).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::PASSWORD;
use crate::client::Conn;
use crate::flow::{self, WebClient};
use crate::report::{Row, Stats, Target};
use crate::server::Setup;

/// The phase's knobs.
#[derive(Debug, Clone)]
pub struct ImportBench {
    pub rows: usize,
    pub logins: usize,
    pub idle: Duration,
}

/// Logins on `workers` connections until `stop` is set (or `until` passes).
async fn logins(
    setup: &Setup,
    web: &WebClient,
    users: &[String],
    workers: usize,
    stop: Arc<AtomicBool>,
    until: Option<Instant>,
) -> Stats {
    let mut tasks = Vec::new();
    for i in 0..workers.max(1) {
        let (web, email, host, issuer, addr, stop) = (
            web.clone(),
            users[i % users.len()].clone(),
            setup.host(),
            setup.issuer.clone(),
            setup.addr,
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut conn = match Conn::open(addr).await {
                Ok(c) => c,
                Err(e) => {
                    stats.error(|| format!("{e:#}"));
                    return stats;
                }
            };
            while !stop.load(Ordering::Relaxed) && until.is_none_or(|u| Instant::now() < u) {
                let t0 = Instant::now();
                match flow::login(&mut conn, &host, &issuer, &web, (&email, PASSWORD), true).await {
                    Ok(_) => stats.ok(t0.elapsed(), true),
                    Err(e) => {
                        stats.error(|| format!("{e:#}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            stats
        }));
    }
    let mut all = Stats::default();
    for t in tasks {
        if let Ok(s) = t.await {
            all.merge(s);
        }
    }
    all
}

fn summary(out: &serde_json::Value) -> anyhow::Result<[u64; 4]> {
    let s = &out["summary"];
    let n = |k: &str| s[k].as_u64().with_context(|| format!("no {k} in {out}"));
    Ok([n("rows")?, n("invited")?, n("unchanged")?, n("refused")?])
}

/// Runs the phase.
pub async fn run(
    setup: &Setup,
    web: &WebClient,
    users: &[String],
    b: &ImportBench,
) -> anyhow::Result<Vec<Row>> {
    eprintln!("bench: import of {} rows", b.rows);
    setup.cli(
        &[
            "org",
            "create",
            "--name",
            "Import club",
            "--slug",
            "import-club",
        ],
        None,
    )?;
    let file = setup.dir.join("members.csv");
    let mut csv = String::from("name,email,phone,roles,external_id\n");
    for i in 0..b.rows {
        csv.push_str(&format!(
            "Member {i},member{i}@import.example,+4670{i:07},member,{}\n",
            100_000 + i
        ));
    }
    std::fs::write(&file, csv)?;
    let path = file.to_str().context("path")?.to_string();

    let idle = logins(
        setup,
        web,
        users,
        b.logins,
        Arc::new(AtomicBool::new(false)),
        Some(Instant::now() + b.idle),
    )
    .await;
    let idle_row = Row::from_stats(
        &format!("login + code exchange, idle ({} browsers)", b.logins),
        b.logins,
        idle,
        b.idle,
        None,
    );

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let child = setup
        .command()
        .args(["--json", "org", "import", "--org", "import-club", &path])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting nyckel org import")?;
    let waiter = {
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            let out = child.wait_with_output();
            stop.store(true, Ordering::Relaxed);
            out
        })
    };
    let during = logins(setup, web, users, b.logins, stop, None).await;
    let out = waiter.await??;
    let took = started.elapsed();
    if !out.status.success() {
        bail!(
            "nyckel org import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let first: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let [rows, invited, _, refused] = summary(&first)?;
    if rows != b.rows as u64 || invited != rows || refused != 0 {
        bail!(
            "the first import did not invite every row: {}",
            first["summary"]
        );
    }
    let target = Some(Target::MaxP99Ms(2.0 * idle_row.p99_ms));
    let during_row = Row::from_stats(
        &format!("login + code exchange during a {}-row import", b.rows),
        b.logins,
        during,
        took,
        target,
    );
    let import_row = |name: &str, took: Duration| Row {
        scenario: name.to_string(),
        connections: 1,
        ok: b.rows as u64,
        errors: 0,
        rate: b.rows as f64 / took.as_secs_f64().max(1e-9),
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        max_ms: took.as_secs_f64() * 1000.0,
        note: format!("took {:.1} s", took.as_secs_f64()),
        target: None,
        server_cpu: f64::NAN,
        client_cpu: f64::NAN,
    };
    let first_row = import_row(
        &format!("org import, {} rows, first run (rows/s)", b.rows),
        took,
    );

    let again = Instant::now();
    let second = setup.cli(&["org", "import", "--org", "import-club", &path], None)?;
    let again = again.elapsed();
    let [_, invited, unchanged, _] = summary(&second)?;
    if invited != 0 || unchanged != b.rows as u64 {
        bail!("the second import changed something: {}", second["summary"]);
    }
    let mut second_row = import_row(
        &format!("org import, the same {} rows again (rows/s)", b.rows),
        again,
    );
    second_row.note = format!("took {:.1} s, every row unchanged", again.as_secs_f64());
    Ok(vec![idle_row, during_row, first_row, second_row])
}
