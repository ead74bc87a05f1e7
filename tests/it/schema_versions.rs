//! Schema versions across a rolling upgrade: `nyckel migrate --dry-run` shows what would run
//! and changes nothing; a database with newer *expand* migrations (a newer node migrated)
//! still starts and serves; one with a newer *contract* migration is refused with
//! instructions.

use crate::cli::nyckel;
use crate::helpers::db;

async fn pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.expect("database")
}

async fn applied(url: &str) -> i64 {
    let p = pool(url).await;
    let (n,): (i64,) = sqlx::query_as("select count(*) from _sqlx_migrations")
        .fetch_one(&p)
        .await
        .expect("count");
    p.close().await;
    n
}

async fn add_newer(url: &str, version: i64, description: &str) {
    let p = pool(url).await;
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values ($1, $2, true, $3, 1)",
    )
    .bind(version)
    .bind(description)
    .bind(vec![0u8; 48])
    .execute(&p)
    .await
    .expect("a newer migration row");
    p.close().await;
}

#[tokio::test]
async fn dry_run_shows_pending_migrations_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    let (ok, out, err) = nyckel(d, &url, &["migrate", "--dry-run"], None);
    assert!(ok, "{err}");
    assert!(out.contains("up to date"), "{out}");

    let before = applied(&url).await;
    let p = pool(&url).await;
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(&p)
    .await
    .expect("forget the newest migration");
    p.close().await;
    let (ok, out, err) = nyckel(d, &url, &["migrate", "--dry-run", "--json"], None);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["pending"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(applied(&url).await, before - 1, "a dry run changes nothing");
}

#[tokio::test]
async fn newer_expand_migrations_are_tolerated_and_contract_ones_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    add_newer(&url, 99_990_101, "add a column for the next version").await;

    // This binary still migrates (nothing to do) and starts against the newer schema.
    let (ok, out, err) = nyckel(d, &url, &["migrate", "--dry-run"], None);
    assert!(ok, "{err}");
    assert!(out.contains("expand: this binary keeps working"), "{out}");
    let (ok, _, err) = nyckel(d, &url, &["migrate"], None);
    assert!(
        ok,
        "an older binary refused an expand-only newer schema: {err}"
    );
    let (ok, _, err) = nyckel(
        d,
        &url,
        &["user", "create", "--email", "anna@example.org"],
        None,
    );
    assert!(ok, "{err}");

    add_newer(&url, 99_990_102, "contract drop old columns").await;
    let (ok, out, _) = nyckel(d, &url, &["migrate", "--dry-run"], None);
    assert!(ok);
    assert!(
        out.contains("contract: this binary cannot run on it"),
        "{out}"
    );
    let (ok, _, err) = nyckel(d, &url, &["migrate"], None);
    assert!(!ok, "a contract migration must stop an older binary");
    assert!(err.contains("no longer compatible"), "{err}");
    assert!(err.contains("newest nyckel release"), "{err}");
}
