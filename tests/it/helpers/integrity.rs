//! Checks a test database from outside the server, straight through sqlx: the engine's own
//! integrity check (SQLite `integrity_check` and `foreign_key_check`; PostgreSQL `amcheck` on
//! every B-tree index of our tables plus a query per foreign key for orphans) and the OAuth
//! tables' half-states (a used code without the refresh token of its grant, a refresh family
//! without exactly one live token). Each returns the problems found; empty means clean.

use sqlx::Row;
use sqlx::any::AnyPoolOptions;

/// Opens a small pool on `url` (a test database; the server may be running or not).
pub async fn open(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(2)
        // No maintenance task (sqlx 0.8.6 issue #3645: see `store::Db::connect_url`).
        .idle_timeout(None)
        .max_lifetime(None)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("open the test database: {e}"))
}

/// The engine's integrity check.
pub async fn engine(url: &str) -> Vec<String> {
    let pool = open(url).await;
    let problems = if url.starts_with("sqlite:") {
        sqlite(&pool).await
    } else {
        postgres(&pool).await
    };
    pool.close().await;
    problems
}

async fn sqlite(pool: &sqlx::AnyPool) -> Vec<String> {
    let mut problems = Vec::new();
    let rows = sqlx::query("pragma integrity_check")
        .fetch_all(pool)
        .await
        .expect("integrity_check");
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
        .collect();
    if lines != ["ok"] {
        problems.push(format!("integrity_check: {lines:?}"));
    }
    let orphans = sqlx::query("pragma foreign_key_check")
        .fetch_all(pool)
        .await
        .expect("foreign_key_check");
    if !orphans.is_empty() {
        problems.push(format!("foreign_key_check: {} rows", orphans.len()));
    }
    problems
}

async fn postgres(pool: &sqlx::AnyPool) -> Vec<String> {
    let mut problems = Vec::new();
    sqlx::raw_sql("create extension if not exists amcheck")
        .execute(pool)
        .await
        .expect("amcheck extension (postgresql contrib)");
    // bt_index_check raises an error on a damaged index; `true` also checks that every heap
    // tuple has its index entry.
    let indexes: Vec<(String,)> = sqlx::query_as(
        "select c.relname::text from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_am a on a.oid = c.relam
         join pg_namespace n on n.oid = c.relnamespace
         where a.amname = 'btree' and n.nspname = 'public'",
    )
    .fetch_all(pool)
    .await
    .expect("list indexes");
    assert!(!indexes.is_empty(), "our tables have indexes");
    for (index,) in &indexes {
        let check =
            format!("do $$ begin perform bt_index_check('public.{index}'::regclass, true); end $$");
        if let Err(e) = sqlx::raw_sql(&check).execute(pool).await {
            problems.push(format!("amcheck {index}: {e}"));
        }
    }
    let fks: Vec<(String, String, String, String)> = sqlx::query_as(
        "select c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text, af.attname::text
         from pg_constraint c
         join pg_namespace n on n.oid = c.connamespace
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
         join pg_attribute af on af.attrelid = c.confrelid and af.attnum = c.confkey[1]
         where c.contype = 'f' and n.nspname = 'public' and array_length(c.conkey, 1) = 1",
    )
    .fetch_all(pool)
    .await
    .expect("list foreign keys");
    assert!(!fks.is_empty(), "our tables have foreign keys");
    for (child, col, parent, pcol) in &fks {
        let sql = format!(
            "select count(*) from {child} c where c.{col} is not null
             and not exists (select 1 from {parent} p where p.{pcol} = c.{col})"
        );
        let (n,): (i64,) = sqlx::query_as(&sql)
            .fetch_one(pool)
            .await
            .expect("orphan query");
        if n != 0 {
            problems.push(format!("{n} rows of {child}.{col} point to no {parent}"));
        }
    }
    problems
}

/// Half-states of the code and refresh-token tables. Valid only for a load that presents
/// each refresh token at most once and never revokes.
pub async fn oauth_half_states(url: &str) -> Vec<String> {
    let pool = open(url).await;
    let mut problems = Vec::new();
    for (what, sql) in [
        (
            "used codes whose grant has no refresh token",
            "select count(*) from auth_codes c where c.used_at is not null
             and not exists (select 1 from refresh_tokens r where r.grant_id = c.grant_id)",
        ),
        (
            "refresh tokens of a grant whose code is unused",
            "select count(*) from refresh_tokens r join auth_codes c on c.grant_id = r.grant_id
             where c.used_at is null",
        ),
        (
            "refresh families without exactly one live token",
            "select count(*) from (select grant_id from refresh_tokens group by grant_id
             having sum(case when used_at is null then 1 else 0 end) <> 1) x",
        ),
    ] {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&pool)
            .await
            .expect("half-state query");
        if n != 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    pool.close().await;
    problems
}
