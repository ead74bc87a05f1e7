//! Schema versions across a rolling upgrade: `nyckel migrate --dry-run` shows what would run
//! and changes nothing; a database with newer *expand* migrations (a newer node migrated)
//! still starts and serves; one with a newer *contract* migration is refused with
//! instructions.

use crate::helpers::ops::Install;
use crate::upgrade_load::pool;

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
    let cli = Install::new().await;
    let url = cli.url();
    let out = cli.ok(&["migrate", "--dry-run"]);
    assert!(out.contains("up to date"), "{out}");

    let before = applied(url).await;
    let p = pool(url).await;
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(&p)
    .await
    .expect("forget the newest migration");
    p.close().await;
    let v = cli.json(&["migrate", "--dry-run"]);
    assert_eq!(v["pending"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(applied(url).await, before - 1, "a dry run changes nothing");
}

#[tokio::test]
async fn newer_expand_migrations_are_tolerated_and_contract_ones_refused() {
    let cli = Install::new().await;
    add_newer(cli.url(), 99_990_101, "add a column for the next version").await;

    // This binary still migrates (nothing to do) and starts against the newer schema.
    let out = cli.ok(&["migrate", "--dry-run"]);
    assert!(out.contains("expand: this binary keeps working"), "{out}");
    // An older binary accepts an expand-only newer schema.
    cli.ok(&["migrate"]);
    cli.ok(&["user", "create", "--email", "anna@example.org"]);

    add_newer(cli.url(), 99_990_102, "contract drop old columns").await;
    let out = cli.ok(&["migrate", "--dry-run"]);
    assert!(
        out.contains("contract: this binary cannot run on it"),
        "{out}"
    );
    let (ok, _, err) = cli.run(&["migrate"]);
    assert!(!ok, "a contract migration must stop an older binary");
    assert!(err.contains("no longer compatible"), "{err}");
    assert!(err.contains("newest nyckel release"), "{err}");
}
