//! The database: one `sqlx::Any` pool for SQLite (embedded default) or PostgreSQL (HA), the
//! migrations of both dialects, and one file per table group. This module tree is the only
//! place with SQL. Every statement uses `$1..$n` placeholders and portable column types
//! (ARCHITECTURE.md section 3); consume-once operations are single atomic statements.
//! Functions that change data take `impl Into<Conn>`: the [`Db`] (their own statements) or
//! the caller's open transaction, so that a change, its audit event and the messages it
//! sends commit together; every transaction that writes starts with [`Db::begin`].

pub mod audit;
pub mod auth_requests;
pub mod backup_status;
pub mod clients;
pub mod cluster;
pub mod codes;
pub mod consents;
pub mod dump;
pub mod erasure;
pub mod export;
pub mod factors;
pub mod grants;
pub mod imports;
pub mod invitations;
pub mod keys;
pub mod leases;
pub mod login_keys;
pub mod login_steps;
pub mod message_sends;
pub mod migrate;
pub mod orgs;
pub mod outbox;
pub mod passkeys;
pub mod refresh_tokens;
pub mod revoked;
pub mod schema;
pub mod scim;
pub mod sessions;
// Private: statements are run through it only inside `store` (no SQL elsewhere).
mod sql;
pub mod throttle;
pub mod users;
pub mod webauthn_challenges;
pub mod webhooks;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

use crate::config::Config;
use crate::error::Result;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pools and the engine they talk to.
///
/// On SQLite, writes go through a separate pool of ONE connection: SQLite has a single
/// writer, and writers that collide inside SQLite wait in its busy handler, which sleeps in
/// growing steps (up to 100 ms). Queueing for the one write connection in the pool instead
/// is fair and wakes the next writer at once. Reads use the other pool in parallel (WAL).
/// On PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    writer: AnyPool,
    backend: Backend,
    /// `database.acquire_timeout`: also bounds health checks of connections.
    timeout: Duration,
}

/// How long database work outside any request (background jobs, the metrics scrape) may
/// take; see [`bounded`].
pub const BACKGROUND_BOUND: Duration = Duration::from_secs(60);

/// Runs `work`, database work that no request deadline covers, within [`BACKGROUND_BOUND`].
/// Past it the work is dropped and answers `PoolTimedOut`: its connection goes back to the
/// pool, which discards it when it does not answer (see [`Db::connect_url`]), so a job
/// waiting on a connection that went silent (a network partition) cannot hold a pool slot
/// for good.
pub async fn bounded<T, E: From<sqlx::Error>>(
    work: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    match tokio::time::timeout(BACKGROUND_BOUND, work).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
    }
}

/// A transaction on [`Db`].
pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Where a store function that changes data runs: on its own, on the write pool (`&Db`), or
/// inside the caller's open transaction (`&mut Tx`), so that a change and its audit event
/// commit together (one transaction per change). Store functions take
/// `impl Into<Conn<'_>>`, so callers pass either.
#[derive(Debug)]
pub enum Conn<'a> {
    /// Its own statements on the write pool (a function of several statements opens its own
    /// transaction with [`Db::begin`]).
    Db(&'a Db),
    /// Inside an open transaction (a function of several statements uses a savepoint).
    Tx(&'a mut sqlx::AnyConnection),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Conn::Db(db)
    }
}

impl<'a> From<&'a mut Tx<'_>> for Conn<'a> {
    fn from(tx: &'a mut Tx<'_>) -> Self {
        Conn::Tx(&mut *tx)
    }
}

/// A connection to run statements on, from [`Conn::get`].
#[derive(Debug)]
pub enum Held<'a> {
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
    Borrowed(&'a mut sqlx::AnyConnection),
}

impl std::ops::Deref for Held<'_> {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        match self {
            Held::Pooled(c) => c,
            Held::Borrowed(c) => c,
        }
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            Held::Pooled(c) => c,
            Held::Borrowed(c) => c,
        }
    }
}

impl<'a> Conn<'a> {
    /// The connection: one of the write pool, or the transaction's.
    pub async fn get(self) -> std::result::Result<Held<'a>, sqlx::Error> {
        match self {
            Conn::Db(db) => Ok(Held::Pooled(db.writer.acquire().await?)),
            Conn::Tx(conn) => Ok(Held::Borrowed(conn)),
        }
    }

    /// A transaction for several statements: a new one ([`Db::begin`]), or a savepoint in
    /// the open one (its statements then commit with the caller's transaction).
    pub async fn begin(self) -> std::result::Result<Tx<'a>, sqlx::Error> {
        match self {
            Conn::Db(db) => db.begin().await,
            Conn::Tx(conn) => Connection::begin(conn).await,
        }
    }
}

impl Db {
    /// Connects (creating the SQLite file and its folder when needed) without migrating.
    pub async fn connect(config: &Config) -> Result<Self> {
        Self::connect_url(
            &config.database_url(),
            config.database.max_connections,
            Duration::from_secs(config.database.acquire_timeout),
            &config.database.sqlite_synchronous,
        )
        .await
    }

    /// Connects to `url`; see [`Db::connect`].
    pub async fn connect_url(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        sqlite_synchronous: &str,
    ) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options: AnyConnectOptions = url.parse()?;
        let synchronous = if sqlite_synchronous == "normal" {
            "normal"
        } else {
            "full"
        };
        let open = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .min_connections(0)
                // No idle timeout and no lifetime limit: either starts sqlx 0.8's pool
                // maintenance task, whose reaping loop runs `0..num_idle()` without yielding;
                // a race in sqlx 0.8.6 can wrap `num_idle` to usize::MAX and the task then
                // spins a core for good and can wedge the runtime (sqlx issue #3645, fixed
                // upstream after 0.8.6 in PR #4289; seen here in the kill -9 test). Broken
                // connections are still found: sqlx tests each before use, and
                // `after_release` pings it.
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(acquire_timeout)
                // A connection comes back to the pool after every use, and sqlx then checks it
                // with a ping that has no time limit. A connection whose query was cut off by
                // the request deadline (database unreachable without a reset: a partition or
                // a hung server) would hang in that ping for good and keep its pool slot, so
                // the pool could never reconnect. This bounded ping discards it instead, and
                // drops its socket here: sqlx's own close of a failed connection (and its
                // graceful close) still talks to the socket without a time limit, and over TLS
                // that waits for the silent server for good, keeping the pool slot.
                .after_release(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            return Ok(true);
                        }
                        let error = match tokio::time::timeout(acquire_timeout, conn.ping()).await {
                            Ok(Ok(())) => return Ok(true),
                            Ok(Err(e)) => e,
                            Err(_) => sqlx::Error::Io(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "the database did not answer a ping",
                            )),
                        };
                        discard(conn).await;
                        Err(error)
                    })
                })
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // Set explicitly (ARCHITECTURE.md section 3): sqlx leaves journal_mode
                            // alone, and synchronous=FULL is what keeps acknowledged writes.
                            conn.execute("pragma journal_mode = wal").await?;
                            let sync = if synchronous == "normal" {
                                "pragma synchronous = normal"
                            } else {
                                "pragma synchronous = full"
                            };
                            conn.execute(sync).await?;
                            conn.execute("pragma busy_timeout = 5000").await?;
                            conn.execute("pragma foreign_keys = on").await?;
                        }
                        Ok(())
                    })
                })
                .connect_lazy_with(options.clone())
        };
        let pool = open(max_connections.max(1));
        let writer = match backend {
            Backend::Sqlite => open(1),
            Backend::Postgres => pool.clone(),
        };
        // Connect now, so a wrong URL or an unreachable server fails at start.
        sqlx::query("select 1").execute(&writer).await?;
        Ok(Self {
            pool,
            writer,
            backend,
            timeout: acquire_timeout,
        })
    }

    /// Whether every migration this binary knows has been applied (readiness).
    pub async fn migrations_current(&self) -> bool {
        tokio::time::timeout(self.timeout, schema::status(self))
            .await
            .is_ok_and(|s| s.is_ok_and(|s| s.pending.is_empty()))
    }

    /// Applies pending migrations (PostgreSQL takes an advisory lock, so concurrent starts
    /// migrate once). Migrations newer than this binary are tolerated when they are all
    /// expand migrations (rolling upgrade), and refused with instructions otherwise
    /// (`schema`).
    /// Returns whether the database was empty before (this binary created it).
    pub async fn migrate(&self) -> Result<bool> {
        self.migrate_with(schema::embedded(self.backend)).await
    }

    /// [`Db::migrate`] with the migration set `known` instead of the embedded one: what a
    /// binary carrying `known` does at start. The shipped binary always uses its embedded
    /// set; this exists so that tests can run a node of the "next version" (the embedded
    /// migrations plus new ones) beside one of this version (tests/it/rolling_upgrade.rs).
    pub async fn migrate_with(&self, known: &sqlx::migrate::Migrator) -> Result<bool> {
        // Checked before and after running: a contract migration a newer node applied while
        // this one waited for the migration lock also stops this node.
        let before = self.refuse_contracted(known, false).await?;
        let fresh = before.newer.is_empty() && before.pending.len() == known.iter().count();
        migrate::run(self, &schema::tolerant(known)).await?;
        self.refuse_contracted(known, true).await?;
        Ok(fresh)
    }

    /// Fails when the database has a contract migration `known` lacks; with `warn`, logs
    /// newer expand migrations.
    async fn refuse_contracted(
        &self,
        known: &sqlx::migrate::Migrator,
        warn: bool,
    ) -> Result<schema::Status> {
        let status = schema::status_against(self, known).await?;
        if status.newer.is_empty() {
            return Ok(status);
        }
        let list: Vec<String> = status
            .newer
            .iter()
            .map(|s| format!("{} {}", s.version, s.description))
            .collect();
        if status.newer.iter().any(schema::Step::is_contract) {
            return Err(crate::error::Error::Corrupt(format!(
                "the database schema is newer than this binary (nyckel {}) and no longer compatible with it (migrations {}); run the newest nyckel release on this node",
                env!("CARGO_PKG_VERSION"),
                list.join(", ")
            )));
        }
        if warn {
            tracing::warn!(
            newer = %list.join(", "),
            "the database has migrations this binary does not know (a newer version migrated); they only add, so this node keeps serving: upgrade it soon"
            );
        }
        Ok(status)
    }

    /// The pool for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for writes: single statements that change data. Transactions start with
    /// [`Db::begin`], never with `begin` on this pool.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction for a change, on the write pool. Every transaction that writes
    /// starts here, never with a plain `begin` on a pool.
    ///
    /// On SQLite it starts as `begin immediate`: it takes the write lock at once, waiting in
    /// the busy handler (`busy_timeout`) while another process (the CLI, a second node's
    /// pool) writes. A deferred `begin` would take the lock only at its first write, and a
    /// transaction that read before it wrote then fails at once with "database is locked"
    /// (`SQLITE_BUSY`, or `SQLITE_BUSY_SNAPSHOT` when the other writer committed since the
    /// read), without waiting: SQLite cannot let it wait, as its snapshot is already taken.
    /// Within one process writers queue for the pool's one write connection anyway.
    /// PostgreSQL starts a plain transaction (row locks and the isolation level decide there).
    pub async fn begin(&self) -> std::result::Result<Tx<'static>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("begin immediate").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Answers whether the database accepts a trivial query within `database.acquire_timeout`
    /// (a database that accepts connections but never answers is not ready).
    pub async fn ping(&self) -> bool {
        let query = sqlx::query("select 1").execute(&self.pool);
        matches!(tokio::time::timeout(self.timeout, query).await, Ok(Ok(_)))
    }

    /// `database.acquire_timeout`: how long waiting for the database may take before it counts
    /// as unavailable.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Drops the socket of a pooled connection that failed its check, without any I/O on it,
/// by swapping in a throwaway in-memory SQLite connection (sqlx then closes that one, at
/// once). Dropping a connection closes its socket synchronously, so the pool slot is freed
/// however the server behaves.
async fn discard(conn: &mut sqlx::AnyConnection) {
    match sqlx::AnyConnection::connect("sqlite::memory:").await {
        Ok(placeholder) => drop(std::mem::replace(conn, placeholder)),
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "could not discard a failed database connection")
        }
    }
}

/// Makes sure the SQLite file's folder exists and the URL creates the file when missing.
fn sqlite_url(url: &str) -> Result<String> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    if !file.is_empty()
        && file != ":memory:"
        && let Some(parent) = std::path::Path::new(file).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(if url.contains('?') {
        url.to_string()
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Stored flags are integers on both engines (SQLite has no boolean the Any driver decodes).
pub fn flag(v: bool) -> i16 {
    i16::from(v)
}

/// JSON arrays of strings are stored as TEXT.
pub fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Reads a JSON list column; a damaged value reads as empty rather than failing a request.
pub fn from_json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Whether a database error means the database cannot be used right now, a passing
/// condition that a retry later can get past: every surface answers it with 503 and
/// `Retry-After` (pages, protocol endpoints as `temporarily_unavailable`, the admin API),
/// logged as a warning, never 500. This is the one place that decides it.
///
/// - No connection: the pool timed out waiting for one (`database.acquire_timeout`: the
///   server is down, unreachable or all connections are busy) or is closed; the
///   connection's I/O or TLS failed (reset, closed mid-query, refused); the protocol stream
///   ended; SQLite's worker thread is gone.
/// - PostgreSQL refused or ended the session: SQLSTATE class 08 (connection exception),
///   57P01/57P02 (terminated by an administrator or a crash of another backend, as
///   `pg_ctl stop -m fast` does), 57P03 (starting up or shutting down: cannot connect now),
///   53300 (too many connections), 25006 (a read-only transaction: the connection reached
///   a standby, as during a failover).
/// - SQLite stayed busy or locked beyond its busy timeout (another process holds the write
///   lock).
///
/// Errors of the request or of the code (a constraint, a syntax error, a missing row) are
/// not unavailability.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Protocol(message) => closed_stream(message),
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_busy_code(&code)
            } else {
                postgres_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLSTATEs of a session PostgreSQL refused or ended (see [`is_unavailable`]).
fn postgres_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "53300" | "25006")
}

/// SQLite's `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6), with their extended codes (the
/// primary code is the low byte: 517 `SQLITE_BUSY_SNAPSHOT`, 261 `SQLITE_BUSY_RECOVERY`, ...).
fn sqlite_busy_code(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

/// A protocol error that says the stream ended (the connection closed under the driver).
fn closed_stream(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "connection closed",
        "closed connection",
        "unexpected eof",
        "end of stream",
        "at eof",
    ]
    .iter()
    .any(|s| m.contains(s))
}

/// Whether an error is the violation of the named unique constraint.
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.constraint() == Some(constraint)
                || (db.is_unique_violation() && db.message().contains(constraint))
                || (db.is_unique_violation() && constraint_columns_match(db.message(), constraint))
        }
        _ => false,
    }
}

/// SQLite names the columns, not the constraint: "UNIQUE constraint failed: users.email_normalized".
fn constraint_columns_match(message: &str, constraint: &str) -> bool {
    let Some(cols) = message.strip_prefix("UNIQUE constraint failed: ") else {
        return false;
    };
    // Constraint names follow `<table>_<column>_key`.
    cols.split(", ").all(|c| {
        let c = c.replace('.', "_");
        constraint.starts_with(&c) || constraint == format!("{c}_key")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::test_errors::{closed, sqlite_busy, sqlstate};

    #[test]
    fn connection_failures_and_postgresql_refusals_are_unavailability() {
        let unavailable = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            closed(),
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
            sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
            sqlx::Error::Tls("handshake failed".into()),
            sqlx::Error::Protocol("connection closed while reading a message".into()),
            sqlstate("08000"),
            sqlstate("08003"),
            sqlstate("08006"),
            sqlstate("08001"),
            sqlstate("08004"),
            sqlstate("08P01"),
            sqlstate("57P01"),
            sqlstate("57P02"),
            sqlstate("57P03"),
            sqlstate("53300"),
            sqlstate("25006"),
        ];
        for e in &unavailable {
            assert!(is_unavailable(e), "{e}");
        }
        assert!(crate::error::Error::Db(sqlstate("57P01")).is_unavailable());
        let not = [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
            sqlx::Error::Protocol("unknown message type".into()),
            sqlx::Error::Configuration("bad url".into()),
            sqlstate("23505"),
            sqlstate("23503"),
            sqlstate("42P01"),
            sqlstate("40001"),
            sqlstate("57014"),
            sqlstate("22P02"),
        ];
        for e in &not {
            assert!(!is_unavailable(e), "{e}");
        }
        assert!(!crate::error::Error::Corrupt("x".into()).is_unavailable());
        assert!(!crate::error::Error::Db(sqlstate("23505")).is_unavailable());
    }

    #[tokio::test]
    async fn sqlite_busy_is_unavailability_and_its_constraint_errors_are_not() {
        let busy = sqlite_busy().await;
        assert!(is_unavailable(&busy), "{busy}");
        assert!(sqlite_busy_code("5") && sqlite_busy_code("517") && sqlite_busy_code("262"));
        assert!(sqlite_busy_code("6") && sqlite_busy_code("261"));
        assert!(!sqlite_busy_code("2067") && !sqlite_busy_code("19") && !sqlite_busy_code("13"));

        use sqlx::{Connection, Executor};
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:")
            .await
            .expect("connect");
        conn.execute("create table t (x integer primary key)")
            .await
            .expect("table");
        conn.execute("insert into t values (1)").await.expect("row");
        let unique = conn
            .execute("insert into t values (1)")
            .await
            .expect_err("duplicate");
        assert!(!is_unavailable(&unique), "{unique}");
    }
}
