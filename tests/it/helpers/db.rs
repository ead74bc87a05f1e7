//! A database per test. The first test builds a template (migrated, signing keys generated,
//! which takes a moment for RSA); every test then starts from a copy: a file copy on SQLite,
//! `create database ... template` on PostgreSQL.

use std::path::{Path, PathBuf};

use nyckel::config::Config;
use tokio::sync::OnceCell;

/// What a test needs to open its copy.
pub struct Prepared {
    pub url: String,
}

struct Template {
    /// SQLite: the template file. PostgreSQL: the template database name.
    source: String,
    master_key: Vec<u8>,
    _dir: tempfile::TempDir,
}

static TEMPLATE: OnceCell<Template> = OnceCell::const_new();

/// The PostgreSQL server URL when tests run against PostgreSQL.
pub fn postgres_url() -> Option<String> {
    std::env::var("NYCKEL_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("NYCKEL_TEST_POSTGRES_URL is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// Prepares a fresh database and keys folder for a test in `dir`.
pub async fn prepare(dir: &Path) -> Prepared {
    let template = TEMPLATE.get_or_init(build_template).await;
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    std::fs::write(keys.join("master.key"), &template.master_key).expect("master key");
    match postgres_url() {
        None => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data).expect("data dir");
            let file = data.join("nyckel.db");
            std::fs::copy(&template.source, &file).expect("copy template");
            Prepared {
                url: format!("sqlite://{}", file.display()),
            }
        }
        Some(base) => {
            // The process id first: a later run drops only databases of processes that
            // are gone, never those of a run still going.
            let name = format!(
                "nyckel_t_{}_{}",
                std::process::id(),
                nyckel::crypto::random_id().to_lowercase().replace('-', "_")
            );
            admin_execute(
                &base,
                &format!("create database {name} template {}", template.source),
            )
            .await;
            Prepared {
                url: with_database(&base, &name),
            }
        }
    }
}

/// An empty database (no schema, no keys) and an empty keys folder in `dir`: for a binary
/// that must create everything itself (the previous release in the upgrade test).
pub async fn empty(dir: &Path) -> Prepared {
    std::fs::create_dir_all(dir.join("keys")).expect("keys dir");
    match postgres_url() {
        None => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data).expect("data dir");
            Prepared {
                url: format!("sqlite://{}", data.join("nyckel.db").display()),
            }
        }
        Some(base) => {
            let name = format!(
                "nyckel_t_{}_{}",
                std::process::id(),
                nyckel::crypto::random_id().to_lowercase().replace('-', "_")
            );
            admin_execute(&base, &format!("create database {name}")).await;
            Prepared {
                url: with_database(&base, &name),
            }
        }
    }
}

async fn admin_execute(base: &str, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&with_database(base, "postgres"))
        .await
        .expect("connect to PostgreSQL (NYCKEL_TEST_POSTGRES_URL)");
    // Template copies fail while another session is connected to the template; retry.
    for attempt in 0..50 {
        match sqlx::raw_sql(sql).execute(&mut conn).await {
            Ok(_) => break,
            Err(e)
                if attempt < 49 && e.to_string().contains("is being accessed by other users") =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
    let _ = conn.close().await;
}

async fn build_template() -> Template {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        data_dir: dir.path().join("data"),
        keys_dir: dir.path().join("keys"),
        ..Config::default()
    };
    let source = match postgres_url() {
        None => {
            let file: PathBuf = dir.path().join("data").join("template.db");
            config.database.url = Some(format!("sqlite://{}", file.display()));
            file.display().to_string()
        }
        Some(base) => {
            // Test databases of earlier runs (whose process is gone) are dropped first.
            drop_old_databases(&base).await;
            let name = format!("nyckel_tpl_{}", std::process::id());
            admin_execute(&base, &format!("drop database if exists {name}")).await;
            admin_execute(&base, &format!("create database {name}")).await;
            config.database.url = Some(with_database(&base, &name));
            name
        }
    };
    let state = nyckel::state::AppState::build(config)
        .await
        .expect("template builds");
    if postgres_url().is_none() {
        sqlx::query("pragma wal_checkpoint(truncate)")
            .execute(state.db.pool())
            .await
            .expect("checkpoint");
    }
    state.db.close().await;
    drop(state);
    let master_key = std::fs::read(dir.path().join("keys").join("master.key")).expect("master key");
    Template {
        source,
        master_key,
        _dir: dir,
    }
}

async fn drop_old_databases(base: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&with_database(base, "postgres"))
        .await
        .expect("connect to PostgreSQL (NYCKEL_TEST_POSTGRES_URL)");
    let names: Vec<(String,)> = sqlx::query_as(
        "select datname from pg_database where datname like 'nyckel\\_t\\_%' or datname like 'nyckel\\_tpl\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for (name,) in names {
        let pid = name
            .trim_start_matches("nyckel_tpl_")
            .trim_start_matches("nyckel_t_")
            .split('_')
            .next()
            .unwrap_or_default()
            .to_string();
        if !pid.is_empty() && std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = sqlx::raw_sql(&format!("drop database if exists {name} with (force)"))
            .execute(&mut conn)
            .await;
    }
    let _ = conn.close().await;
}
