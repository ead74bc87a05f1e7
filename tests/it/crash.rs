//! kill -9 under write load (SECURITY.md 5.3 R1, issue 7 done-when 2): a real `nyckel serve`
//! process takes logins, code exchanges, refresh rotations and admin API writes from several
//! workers; it is killed with SIGKILL at a random moment and started again on the same
//! database, 20 times. After every kill: each write the server acknowledged is in the
//! database, no code or refresh token is half-done, and the engine's integrity check passes
//! (SQLite `integrity_check`/`foreign_key_check`, PostgreSQL `amcheck` and orphan queries).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::db;
use crate::helpers::integrity;
use crate::helpers::load::{self, Fixture, Ledger, Rng, Target};
use crate::helpers::process::{ServerProcess, free_port};

const KILLS: usize = 20;
const WORKERS: usize = 4;

/// The server's environment in every start of this test.
const SERVER_ENV: &[(&str, &str)] = &[
    ("NYCKEL_LOG__FILTER", "warn"),
    // Every login is counted as a failure of its IP before it is checked and given back
    // after (src/auth/login.rs), so each kill leaves the logins in flight counted against
    // 127.0.0.1, the one address of all the workers. Twenty kills would reach the per-IP
    // allowance; this test is about durability, not throttling.
    ("NYCKEL_THROTTLE__IP_FREE_FAILURES", "100000"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_and_the_database_stays_intact() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    let fixture = Arc::new(Fixture::create(d, &url, WORKERS));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("https://localhost:{port}");
    let target = Target {
        addr: listen.parse().expect("addr"),
        issuer: issuer.clone(),
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let round = Arc::new(AtomicU64::new(0));
    let mut rng = Rng::new();
    let mut acked_at_kill = Vec::new();

    for kill in 0..KILLS {
        let server = ServerProcess::spawn(d, &url, &listen, &issuer, SERVER_ENV);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = load::start(WORKERS, &fixture, &target, &ledger, &stop, &round);
        // Kill at a random point once the load is running (some writes acknowledged).
        let before = total(&ledger);
        load::wait_until(Duration::from_secs(20), || total(&ledger) > before).await;
        tokio::time::sleep(Duration::from_millis(rng.between(0, 700))).await;
        let pid = server.pid();
        let output = server.output();
        // ServerProcess sends SIGKILL when dropped.
        drop(server);
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.await.expect("worker");
        }
        acked_at_kill.push(total(&ledger) - before);

        let unexpected = std::mem::take(&mut lock(&ledger).unexpected);
        assert!(
            unexpected.is_empty(),
            "kill {kill}: requests failed while the server was up: {unexpected:#?}\n{output}"
        );
        let problems = integrity::engine(&url).await;
        assert!(problems.is_empty(), "kill {kill} (pid {pid}): {problems:?}");
        let half = integrity::oauth_half_states(&url).await;
        assert!(half.is_empty(), "kill {kill}: half-done writes: {half:?}");
        let missing = {
            let snapshot = std::mem::take(&mut *lock(&ledger));
            let missing = snapshot.missing(&url, &fixture.org_slug).await;
            *lock(&ledger) = snapshot;
            missing
        };
        assert!(
            missing.is_empty(),
            "kill {kill}: acknowledged writes lost: {missing:#?}"
        );
    }

    // The database still serves after the last kill.
    let server = ServerProcess::spawn(d, &url, &listen, &issuer, SERVER_ENV);
    let stop = Arc::new(AtomicBool::new(false));
    let before = total(&ledger);
    let workers = load::start(1, &fixture, &target, &ledger, &stop, &round);
    assert!(
        load::wait_until(Duration::from_secs(20), || total(&ledger) > before + 3).await,
        "the restarted server serves"
    );
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.expect("worker");
    }
    drop(server);
    let l = lock(&ledger);
    assert!(l.unexpected.is_empty(), "{:#?}", l.unexpected);
    for kind in [
        "login",
        "code",
        "exchange",
        "rotate",
        "role",
        "member roles",
    ] {
        assert!(
            l.acked.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} was acknowledged: {:?}",
            l.acked
        );
    }
    eprintln!(
        "{KILLS} kills in {:.1} s; acknowledged {:?}; per life {acked_at_kill:?}",
        started.elapsed().as_secs_f64(),
        l.acked
    );
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

fn total(ledger: &Mutex<Ledger>) -> u64 {
    lock(ledger).acked.values().sum()
}
