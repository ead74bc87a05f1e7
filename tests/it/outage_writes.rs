//! Admin API writes while the database is unavailable (issue 15, defect 7; SECURITY.md 5.3
//! R8; docs/resilience.md): a write in flight when its connection is closed, and a new write
//! while the database cannot be reached, answer 503 with `Retry-After` in the API's error
//! shape, never 500; and service returns on its own.
//!
//! On PostgreSQL the server talks to the database through a TCP proxy
//! (`helpers::tcp_proxy`), so connections are cut without stopping the shared server: a
//! write waits for a table lock held by the test, and then its connection is ended the way
//! `pg_ctl stop -m fast` ends it (`pg_terminate_backend`: SQLSTATE 57P01, "terminating
//! connection due to administrator command"), or reset by the proxy ("database stopped").
//! On SQLite a write that waited for the write lock beyond the busy timeout (another process
//! held it) answers 503 the same way.

use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::helpers::TestApp;
use crate::helpers::admin::World;
use crate::helpers::api_fixtures::{Api, Reply};
use crate::helpers::db;
use crate::helpers::ops::skip_unless_sqlite;
use crate::helpers::tcp_proxy::{Mode, TcpProxy};
use nyckel::http::api::table::Method;
use serde_json::json;

/// Asserts an answer of the unavailable database: 503, `Retry-After`, the API's shape.
#[track_caller]
fn unavailable(what: &str, reply: &Reply) {
    assert_eq!(reply.status, 503, "{what}: {}", reply.text);
    assert!(
        !reply.header("retry-after").is_empty(),
        "{what}: no Retry-After"
    );
    assert_eq!(
        reply.code(),
        "temporarily_unavailable",
        "{what}: {}",
        reply.text
    );
}

/// Waits until a query of the database `watcher` is connected to waits for a lock (the
/// request `pending` sent it). `watcher` is not in a transaction: PostgreSQL shows a
/// transaction one snapshot of `pg_stat_activity`.
async fn until_waiting(
    watcher: &mut sqlx::AnyConnection,
    pending: &mut tokio::task::JoinHandle<Reply>,
) {
    let started = Instant::now();
    loop {
        if pending.is_finished() {
            let reply = pending.await.expect("answer");
            panic!(
                "the write was answered before it waited for the lock: {} {}",
                reply.status, reply.text
            );
        }
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&mut *watcher)
        .await
        .expect("pg_stat_activity");
        if n > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the write never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `PUT /orgs/club-a/roles/{role}`.
async fn put_role(api: &Api, role: &str) -> Reply {
    let path = format!("/orgs/club-a/roles/{role}");
    api.call(Method::Put, &path, Some(&json!({ "description": "d" })))
        .await
}

/// Starts [`put_role`] in the background.
fn start_put_role(api: &Api, role: &str) -> tokio::task::JoinHandle<Reply> {
    let (api, role) = (api.with_token(api.token.as_deref()), role.to_string());
    tokio::spawn(async move { put_role(&api, &role).await })
}

/// Runs `sql` (no result) on `conn`; `what` names it when it fails.
async fn run(conn: &mut sqlx::AnyConnection, sql: &str, what: &str) {
    sqlx::raw_sql(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

const LOCK_ROLES: &str = "begin; lock table organisation_roles in access exclusive mode";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_writes_answer_503_when_postgresql_closes_or_refuses_connections() {
    let Some(base) = db::postgres_url() else {
        crate::helpers::skip::skip(
            "needs PostgreSQL (NYCKEL_TEST_POSTGRES_URL): a connection to close or refuse",
        );
        return;
    };
    let (proxy, _) = TcpProxy::in_front_of(&base).await;
    let mut direct = String::new();
    let app = TestApp::spawn_with(|c| {
        direct = c.database.url.clone().expect("the test database");
        let mut via = url::Url::parse(&direct).expect("url");
        via.set_host(Some("127.0.0.1")).expect("host");
        via.set_port(Some(proxy.addr.port())).expect("port");
        c.database.url = Some(via.to_string());
        c.database.acquire_timeout = 2;
        c.request_timeout = 10;
    })
    .await;
    let w = World::with(app).await;
    let token = w.token_2fa(&w.superadmin).await;
    let api = Api::new(&w.app, Some(&token));
    put_role(&api, "before").await.expect(200);
    let mut locker = sqlx::AnyConnection::connect(&direct)
        .await
        .expect("connect");
    let mut watcher = sqlx::AnyConnection::connect(&direct)
        .await
        .expect("connect");
    let (watcher_pid,): (i32,) = sqlx::query_as("select pg_backend_pid()")
        .fetch_one(&mut watcher)
        .await
        .expect("pid");

    // A write in flight whose connection the server ends (what a fast shutdown does).
    run(&mut locker, LOCK_ROLES, "lock").await;
    let mut pending = start_put_role(&api, "terminated");
    until_waiting(&mut watcher, &mut pending).await;
    sqlx::query(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and pid <> $1",
    )
    .bind(watcher_pid)
    .execute(&mut locker)
    .await
    .expect("terminate the server's connections");
    run(&mut locker, "rollback", "unlock").await;
    unavailable(
        "a write whose connection was terminated",
        &pending.await.expect("answer"),
    );

    // A write in flight whose connection is reset (the database host went away).
    put_role(&api, "again").await.expect(200);
    run(&mut locker, LOCK_ROLES, "lock").await;
    let mut pending = start_put_role(&api, "reset");
    until_waiting(&mut watcher, &mut pending).await;
    proxy.set(Mode::Refuse);
    unavailable(
        "a write whose connection was reset",
        &pending.await.expect("answer"),
    );
    run(&mut locker, "rollback", "unlock").await;

    // New writes while no connection can be opened.
    for (method, path, body) in [
        (
            Method::Put,
            "/orgs/club-a/roles/refused",
            Some(json!({ "description": "d" })),
        ),
        (
            Method::Post,
            "/orgs",
            Some(json!({ "name": "New", "slug": "new-org" })),
        ),
        (Method::Delete, "/orgs/club-a/roles/before", None),
    ] {
        let started = Instant::now();
        let reply = api.call(method, path, body.as_ref()).await;
        unavailable(&format!("{method:?} {path} while refused"), &reply);
        assert!(started.elapsed() < Duration::from_secs(10), "no hang");
    }

    // The database back: service returns without a restart.
    proxy.set(Mode::Pass);
    let started = Instant::now();
    loop {
        let reply = put_role(&api, "after").await;
        if reply.status == 200 {
            break;
        }
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "service did not return"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nothing of the refused writes stayed.
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from organisation_roles where name in ('terminated', 'reset', 'refused')",
    )
    .fetch_one(&mut locker)
    .await
    .expect("roles");
    assert_eq!(n, 0);
    let _ = locker.close().await;
    let _ = watcher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_api_write_that_waited_out_the_sqlite_busy_timeout_answers_503() {
    let why = "SQLite pass only: the SQLite write lock (PostgreSQL waits for row locks instead)";
    if skip_unless_sqlite(why) {
        return;
    }
    let w = World::new().await;
    let token = w.token_2fa(&w.superadmin).await;
    let api = Api::new(&w.app, Some(&token));
    // Another process holds the write lock for longer than the busy timeout (5 s).
    let url = w.app.state.config.database_url();
    let mut other = sqlx::AnyConnection::connect(&url).await.expect("connect");
    run(&mut other, "begin immediate", "lock").await;
    let started = Instant::now();
    let reply = put_role(&api, "waited").await;
    let waited = started.elapsed();
    run(&mut other, "rollback", "unlock").await;
    unavailable("a write that waited out the busy timeout", &reply);
    assert!(waited >= Duration::from_secs(4), "it waited: {waited:?}");
    put_role(&api, "waited").await.expect(200);
}
