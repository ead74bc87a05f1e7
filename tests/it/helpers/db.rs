//! A database per test. The first test builds a template (migrated, signing keys generated,
//! which takes a moment for RSA); every test then starts from a copy: a file copy on SQLite,
//! `create database ... template` on PostgreSQL.
//!
//! On PostgreSQL every database a test creates is dropped when its [`Prepared`] is dropped
//! (also when the test fails), and the template when the process exits. A run never drops a
//! database it did not create: the server may be shared by other machines' runs, and no
//! name or process id tells reliably whether a run elsewhere is still going. A run killed
//! before it could clean up leaves `nyckel_t_<pid>_*` / `nyckel_tpl_<pid>_*` behind; drop
//! those by hand.

use std::path::{Path, PathBuf};

use nyckel::config::Config;
use tokio::sync::OnceCell;

/// A test's database: the URL to open it with. On PostgreSQL the value owns the database it
/// created and drops it when it goes out of scope (also when the test panics), so keep it
/// alive for as long as the test uses the URL: `let db = db::prepare(d).await;` then
/// `&db.url`. (Moving `url` out of it does not compile, because it implements `Drop`.)
pub struct Prepared {
    pub url: String,
    /// The PostgreSQL database this process created for it.
    owned: Option<String>,
}

impl Prepared {
    /// A database this process does not drop (a SQLite file in a test's folder).
    pub fn unowned(url: String) -> Prepared {
        Prepared { url, owned: None }
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(name) = self.owned.take() {
            drop_databases(vec![name]);
        }
    }
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
    super::skip::report_at_exit();
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
                owned: None,
            }
        }
        Some(base) => create_database(&base, Some(&template.source)).await,
    }
}

/// An empty database (no schema, no keys) and an empty keys folder in `dir`: for a binary
/// that must create everything itself (the previous release in the upgrade test).
pub async fn empty(dir: &Path) -> Prepared {
    super::skip::report_at_exit();
    std::fs::create_dir_all(dir.join("keys")).expect("keys dir");
    match postgres_url() {
        None => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data).expect("data dir");
            Prepared {
                url: format!("sqlite://{}", data.join("nyckel.db").display()),
                owned: None,
            }
        }
        Some(base) => create_database(&base, None).await,
    }
}

/// A new, empty PostgreSQL database on the test server (for a test that needs a second
/// one, e.g. a restore target); dropped with the returned value.
pub async fn empty_postgres() -> Prepared {
    let base = postgres_url().expect("empty_postgres runs in the PostgreSQL pass only");
    create_database(&base, None).await
}

/// Databases this process created and has not dropped yet; whatever is left when the
/// process exits (the template; anything a test leaked) is dropped then. Nothing else is
/// ever dropped: the server may be shared with other machines' runs.
static OWNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A fresh name: `prefix`, this process's id (to tell whose run a leftover came from, e.g.
/// after a kill -9) and a random part (so no other run, on this machine or another, uses it).
fn fresh_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        nyckel::crypto::random_id().to_lowercase().replace('-', "_")
    )
}

/// Creates a database (a copy of `template` when given) and records it as this process's.
async fn create_database(base: &str, template: Option<&str>) -> Prepared {
    let name = fresh_name("nyckel_t");
    let sql = match template {
        Some(template) => format!("create database {name} template {template}"),
        None => format!("create database {name}"),
    };
    admin_execute(base, &sql).await;
    own(&name);
    Prepared {
        url: with_database(base, &name),
        owned: Some(name),
    }
}

fn own(name: &str) {
    super::skip::report_at_exit();
    OWNED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(name.to_string());
}

/// Drops every database this process still owns (at exit, see [`super::skip`]).
pub(crate) fn drop_remaining() {
    let names = std::mem::take(&mut *OWNED.lock().unwrap_or_else(|e| e.into_inner()));
    if !names.is_empty() {
        drop_databases(names);
    }
}

/// Drops `names` (databases this process created) and forgets them. Runs on its own thread
/// with its own runtime, so it works from `Drop` inside a test's runtime and at exit; it
/// reports failures instead of panicking (a panic in `Drop` while unwinding aborts).
fn drop_databases(names: Vec<String>) {
    let Some(base) = postgres_url() else {
        return;
    };
    let dropping = names.clone();
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&with_database(&base, "postgres"))
                .await
                .map_err(|e| e.to_string())?;
            for name in &dropping {
                sqlx::raw_sql(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("drop database {name}: {e}"))?;
            }
            let _ = conn.close().await;
            Ok::<(), String>(())
        })
    })
    .join();
    match done {
        Ok(Ok(())) => OWNED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| !names.contains(n)),
        Ok(Err(e)) => eprintln!("test databases {names:?} were not dropped: {e}"),
        Err(_) => eprintln!("test databases {names:?} were not dropped: the thread panicked"),
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
            let name = fresh_name("nyckel_tpl");
            admin_execute(&base, &format!("create database {name}")).await;
            own(&name);
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

/// What SQLite keeps on disk for the database at `url` (a `sqlite://` URL): the database
/// file, which must exist and be a SQLite database, and its write-ahead log when there is one
/// (SQLite deletes the log when the last connection closes, after copying its pages into the
/// file, so then the file holds everything). For "no secret on disk" checks: a missing or
/// wrong file fails instead of reading as empty.
pub fn sqlite_files(url: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let path = PathBuf::from(
        url.strip_prefix("sqlite://")
            .unwrap_or_else(|| panic!("not a SQLite URL: {url}"))
            .split('?')
            .next()
            .unwrap_or_default(),
    );
    let file = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("the database file {}: {e}", path.display()));
    assert!(
        file.starts_with(b"SQLite format 3\0"),
        "{} is not a SQLite database",
        path.display()
    );
    let mut files = vec![(path.clone(), file)];
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    match std::fs::read(&wal) {
        Ok(bytes) => files.push((wal, bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("{}: {e}", wal.display()),
    }
    files
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
