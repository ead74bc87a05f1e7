//! A rolling upgrade under load (SECURITY.md 5.3 R7, issue 7 point 4). The previous
//! version is the real `nyckel serve` binary (its embedded migrations); the next version is
//! this code carrying extra test migrations (`Db::migrate_with`), started in process. Both
//! share one database while browsers run complete password logins whose every request goes
//! to the next node in rotation: no login may fail, and sessions, codes and tokens issued by
//! either version are accepted by the other.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::ops::{Install, skip_unless_postgres};
use crate::helpers::process::{ServerProcess, free_port};
use crate::upgrade_load::{
    Balancer, CONTRACT, EXPAND, Load, Node, Pair, WebClient, backend_of, bind_node, migration_rows,
    next_version, pool, ready,
};

const BROWSERS: usize = 4;
const LIMIT: Duration = Duration::from_secs(180);

/// An installation with accounts and the web client, made with the CLI as an operator would.
async fn installed() -> (Install, Vec<String>, WebClient) {
    let install = Install::new().await;
    let emails: Vec<String> = (0..BROWSERS)
        .map(|i| format!("rolling{i}@example.org"))
        .collect();
    for email in &emails {
        install.person(email);
    }
    let (id, secret) = install.web_client("Rolling app", &[]);
    (install, emails, WebClient { id, secret })
}

/// A load balancer's deregistration delay: requests already sent to a node that left the
/// rotation reach it before it stops.
const DRAIN: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_upgrade_with_an_expand_migration_fails_no_login() {
    let (install, emails, web) = installed().await;
    let url = install.url();
    let next = next_version(backend_of(url), &[EXPAND]);
    let mut pair = Pair::new();
    let lb = pair.lb.clone();

    // Node A, the previous version, serves alone.
    let mut node_a = pair.start_a(&install).await;
    let (load, tasks) = Load::start(lb.clone(), web, emails);
    load.wait_for(2, LIMIT).await;

    // Node B, the next version, starts and applies its expand migration while A serves.
    let node_b = pair
        .start_b(&install, Some(&next), "the next version starts")
        .await;
    pair.both_serve(&load, 2 * BROWSERS, LIMIT).await;

    // A leaves the rotation, stops, and starts again on its old migrations: the newer,
    // expand-only schema is tolerated with a warning.
    lb.rotate(&[1]);
    tokio::time::sleep(DRAIN).await;
    assert!(node_a.terminate(), "node A stopped cleanly");
    load.wait_for(BROWSERS, LIMIT).await;
    let node_a = pair.restart_a(&install).await;
    let out = node_a.output();
    assert!(out.contains("a newer version migrated"), "{out}");
    assert!(out.contains("9001"), "{out}");
    lb.rotate(&[0, 1]);
    let mixed = load.mixed.load(std::sync::atomic::Ordering::SeqCst);
    pair.both_serve(&load, 2 * BROWSERS, LIMIT).await;
    load.stop(tasks).await;
    assert!(
        load.mixed.load(std::sync::atomic::Ordering::SeqCst) > mixed,
        "flows crossed between the old and the new version"
    );
    let failures = load.failures();
    if !failures.is_empty() {
        eprintln!(
            "--- node A (the previous version) printed:\n{}",
            node_a.output()
        );
    }
    assert!(failures.is_empty(), "failed logins: {failures:#?}");

    // The expand migration ran once; the old node wrote rows into the widened tables.
    let rows = migration_rows(url).await;
    assert_eq!(
        rows.iter().filter(|(v, _)| *v == 9001).count(),
        1,
        "{rows:?}"
    );
    assert!(rows.iter().all(|(_, n)| *n == 1), "{rows:?}");
    let p = pool(url).await;
    let (probed,): (i64,) =
        sqlx::query_as("select count(*) from users where upgrade_probe = 'next'")
            .fetch_one(&p)
            .await
            .expect("the new column exists");
    assert_eq!(probed as usize, BROWSERS);
    p.close().await;
    node_b.stop().await;
    drop(node_a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_migration_stops_the_old_version_while_the_new_one_serves() {
    let (install, emails, web) = installed().await;
    let (d, url) = (install.path(), install.url());
    let newest = next_version(backend_of(url), &[EXPAND, CONTRACT]);

    let (listener_b, base_b) = bind_node();
    let node_b = Node::start(d, "node-b", url, &base_b, listener_b, Some(&newest))
        .await
        .expect("the newest version starts");
    let lb = Arc::new(Balancer::new(&base_b, vec![base_b.clone()]));
    lb.rotate(&[0]);
    let (load, tasks) = Load::start(lb.clone(), web, emails);
    load.wait_for(2, LIMIT).await;

    // The previous version refuses to start, in process and as the real binary, saying what
    // to do; the new node keeps serving meanwhile.
    let (listener_a, _) = bind_node();
    let refused = Node::start(d, "node-a", url, &base_b, listener_a, None).await;
    let err = refused.err().expect("the old version refuses").to_string();
    assert!(err.contains("no longer compatible"), "{err}");
    assert!(err.contains("newest nyckel release"), "{err}");
    assert!(err.contains("9002"), "{err}");
    let (ok, err) = serve_exits(d, url);
    assert!(!ok, "nyckel serve started on a contracted schema");
    assert!(err.contains("newest nyckel release"), "{err}");

    load.wait_for(BROWSERS, LIMIT).await;
    load.stop(tasks).await;
    let failures = load.failures();
    assert!(failures.is_empty(), "failed logins: {failures:#?}");
    let rows = migration_rows(url).await;
    assert!(rows.iter().all(|(_, n)| *n == 1), "{rows:?}");
    assert!(rows.iter().any(|(v, _)| *v == 9002), "{rows:?}");
    node_b.stop().await;
}

/// Runs `nyckel serve` (this build's binary, i.e. the previous version here) and waits for
/// it to exit; returns whether it succeeded and what it printed. Killed after 60 s.
fn serve_exits(dir: &std::path::Path, url: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nyckel"))
        .current_dir(dir)
        .arg("serve")
        .env("NYCKEL_DATABASE__URL", url)
        .env("NYCKEL_LISTEN", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nyckel serve");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    // SQLite is one node on one host: sqlx takes no migration lock there
    // (docs/upgrades.md). The PostgreSQL run checks the advisory lock.
    if skip_unless_postgres("PostgreSQL only: SQLite takes no migration lock") {
        return;
    }
    let install = Install::new().await;
    let (d, url) = (install.path(), install.url());

    // Two next-version nodes apply the new migration at the same moment: once.
    let next = next_version(backend_of(url), &[EXPAND]);
    let connect = || nyckel::store::Db::connect_url(url, 2, Duration::from_secs(30), "full");
    let (one, two) = (connect().await.expect("db"), connect().await.expect("db"));
    let (r1, r2) = tokio::join!(one.migrate_with(&next), two.migrate_with(&next));
    r1.expect("first node migrates");
    r2.expect("second node migrates");
    one.close().await;
    two.close().await;
    let rows = migration_rows(url).await;
    assert!(rows.iter().all(|(_, n)| *n == 1), "{rows:?}");
    assert!(rows.iter().any(|(v, _)| *v == 9001), "{rows:?}");

    // Two real `nyckel serve` processes start together on an empty database: both come
    // up, and every migration was applied once.
    let fresh_db = crate::helpers::db::empty_postgres().await;
    let fresh_url = fresh_db.url.clone();
    let issuer = format!("https://localhost:{}", free_port());
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let (d, u, i) = (d.to_path_buf(), fresh_url.clone(), issuer.clone());
            std::thread::spawn(move || ServerProcess::spawn(&d, &u, "127.0.0.1:0", &i, &[]))
        })
        .collect();
    let nodes: Vec<ServerProcess> = starts
        .into_iter()
        .map(|t| t.join().expect("a node started"))
        .collect();
    for node in &nodes {
        ready(&node.base()).await;
    }
    let rows = migration_rows(&fresh_url).await;
    let embedded = nyckel::store::schema::embedded(nyckel::store::Backend::Postgres);
    assert_eq!(rows.len(), embedded.iter().count(), "{rows:?}");
    assert!(rows.iter().all(|(_, n)| *n == 1), "{rows:?}");
    drop(nodes);
}
