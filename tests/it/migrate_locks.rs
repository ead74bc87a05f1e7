//! A migration never kills a request (PostgreSQL; issue 7's online upgrades): an expand
//! migration that alters `users` and then `sessions` meets a login whose
//! `insert into sessions` holds `sessions` and then needs `users` for its foreign key. That
//! is a deadlock, and PostgreSQL aborts one side. The migration waits at most
//! `store::migrate::LOCK_WAIT` for each lock, so it gives way: it rolls back, and it runs
//! again once the login has committed. The login goes through. SQLite has a single writer
//! and is not affected; there the test checks nothing.

use std::time::Duration;

use nyckel::store::{Backend, Db, users};

use crate::helpers::ops::Install;
use crate::upgrade_load::next_version;

/// An expand migration like a real one, with a pause between its two statements so that the
/// login starts waiting first (the side PostgreSQL would abort in a deadlock).
const EXPAND: (i64, &str, &str) = (
    9101,
    "add lock probe columns",
    "alter table users add column lock_probe text;
     select pg_sleep(0.3);
     alter table sessions add column lock_probe text;",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expand_migration_gives_way_to_a_login_instead_of_deadlocking() {
    let why = "PostgreSQL only (NYCKEL_TEST_POSTGRES_URL): SQLite takes no migration lock";
    let Some(install) = Install::postgres_only(why).await else {
        return;
    };
    let app_db = Db::connect_url(install.url(), 4, Duration::from_secs(5), "full")
        .await
        .expect("connect");
    assert_eq!(app_db.backend(), Backend::Postgres);
    let user = users::NewUser {
        id: "u-migrate-locks",
        email: "locks@example.org",
        name: None,
        phone: None,
        password_hash: None,
    };
    users::insert(&app_db, &user, 1_000).await.expect("user");

    // The login's transaction holds `sessions` (as its insert does) ...
    let mut login = app_db.begin().await.expect("begin");
    sqlx::query("lock table sessions in row exclusive mode")
        .execute(&mut *login)
        .await
        .expect("lock");

    // ... while the next version migrates: `alter table users` gets its lock; 0.3 s later
    // the migration asks for `sessions`.
    let url_next = install.url().to_string();
    let migration = tokio::spawn(async move {
        let url = url_next;
        let db = Db::connect_url(&url, 2, Duration::from_secs(5), "full")
            .await
            .expect("connect");
        let next = next_version(Backend::Postgres, &[EXPAND]);
        let result = db.migrate_with(&next).await;
        db.close().await;
        result
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The login's insert needs `users` for its foreign key and waits for the migration, which
    // then waits for the login: a deadlock. PostgreSQL would abort the side that waited
    // longest at `deadlock_timeout`, the login; the migration gives way before that.
    sqlx::query(
        "insert into sessions (id_hash, sid, user_id, csrf, auth_time, amr, acr, created_at, last_seen_at, expires_at, ip, user_agent)
         values ('h-locks', 'sid-locks', $1, 'c', 1000, '[\"pwd\"]', 'urn:nyckel:acr:1fa', 1000, 1000, 999999, null, null)",
    )
    .bind(user.id)
    .execute(&mut *login)
    .await
    .expect("the login's insert goes through");
    login.commit().await.expect("the login commits");

    // The migration ran once the login was done.
    migration
        .await
        .expect("task")
        .expect("the migration succeeds after giving way");
    let (n,): (i64,) = sqlx::query_as("select count(*) from _sqlx_migrations where version = $1")
        .bind(EXPAND.0)
        .fetch_one(app_db.pool())
        .await
        .expect("query");
    assert_eq!(n, 1);
    let (kept,): (i64,) = sqlx::query_as("select count(*) from sessions where sid = 'sid-locks'")
        .fetch_one(app_db.pool())
        .await
        .expect("query");
    assert_eq!(kept, 1);
    app_db.close().await;
}
