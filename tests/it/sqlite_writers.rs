//! Writers in several processes on one database (issue 15, defect 5). On SQLite only one
//! connection writes at a time; the others wait in the busy handler (`busy_timeout`, 5 s).
//! A transaction that reads before it writes must start as `begin immediate`: a deferred
//! one that read first and then wants to write while another process writes fails at once
//! with "database is locked", without waiting. Here two loops of `nyckel org add-member`
//! (a read-then-write transaction) run at once while a real `nyckel serve` takes logins,
//! code exchanges, refresh rotations and admin API writes: every command and every request
//! must succeed. The same test runs on PostgreSQL, where it must hold as well.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::nyckel;
use crate::helpers::db;
use crate::helpers::load::{self, Fixture, Ledger, Target};
use crate::helpers::process::{ServerProcess, free_port};

/// Commands per CLI loop.
const COMMANDS: usize = 40;
/// Load workers against the server.
const WORKERS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_writes_and_server_writes_together_all_succeed() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_path_buf();
    let url_db = db::prepare(&d).await;
    let url = url_db.url.clone();
    let fixture = Arc::new(Fixture::create(&d, &url, WORKERS));
    for i in 0..2 {
        crate::cli::create_user(&d, &url, &format!("cli{i}@example.org"));
    }
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("https://localhost:{port}");
    let server = ServerProcess::spawn(
        &d,
        &url,
        &listen,
        &issuer,
        &[
            ("NYCKEL_LOG__FILTER", "warn"),
            ("NYCKEL_THROTTLE__IP_FREE_FAILURES", "100000"),
        ],
    );
    let target = Target {
        addr: server.addr,
        issuer,
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let round = Arc::new(AtomicU64::new(0));
    let workers = load::start(WORKERS, &fixture, &target, &ledger, &stop, &round);
    let acked = |l: &Mutex<Ledger>| {
        l.lock()
            .unwrap_or_else(|e| e.into_inner())
            .acked
            .values()
            .sum::<u64>()
    };
    assert!(
        load::wait_until(Duration::from_secs(30), || acked(&ledger) > 3).await,
        "the server takes the load"
    );
    let before = acked(&ledger);

    // Two loops of CLI writes at once, beside the server's writes.
    let loops: Vec<_> = (0..2)
        .map(|i| {
            let (d, url, org) = (d.clone(), url.clone(), fixture.org_slug.clone());
            tokio::task::spawn_blocking(move || {
                let email = format!("cli{i}@example.org");
                let mut failures = Vec::new();
                for n in 0..COMMANDS {
                    let role = format!("cli{i}-{n}");
                    let started = Instant::now();
                    let (ok, _, err) = nyckel(
                        &d,
                        &url,
                        &[
                            "org",
                            "add-member",
                            "--org",
                            &org,
                            "--email",
                            &email,
                            "--role",
                            &role,
                        ],
                        None,
                    );
                    if !ok {
                        failures.push(format!(
                            "{email} {role} after {} ms: {}",
                            started.elapsed().as_millis(),
                            err.trim()
                        ));
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures: Vec<String> = Vec::new();
    for l in loops {
        failures.extend(l.await.expect("CLI loop"));
    }
    let during = acked(&ledger) - before;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.expect("worker");
    }
    let output = server.output();
    drop(server);
    eprintln!(
        "{} CLI commands, {} failed; {during} server writes acknowledged meanwhile",
        2 * COMMANDS,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} CLI writes failed: {failures:#?}",
        failures.len(),
        2 * COMMANDS
    );
    assert!(during > 0, "the server wrote while the CLI did");
    let unexpected = std::mem::take(&mut ledger.lock().expect("ledger").unexpected);
    assert!(
        unexpected.is_empty(),
        "server requests failed: {unexpected:#?}\n{output}"
    );
    // Every role the CLI reported added is held.
    let pool = crate::helpers::integrity::open(&url).await;
    for i in 0..2 {
        let (roles,): (String,) = sqlx::query_as(
            "select m.roles from memberships m join users u on u.id = m.user_id where u.email = $1",
        )
        .bind(format!("cli{i}@example.org"))
        .fetch_one(&pool)
        .await
        .expect("membership");
        for n in 0..COMMANDS {
            assert!(roles.contains(&format!("\"cli{i}-{n}\"")), "{roles}");
        }
    }
}
