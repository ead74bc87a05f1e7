//! Running the migrations. On PostgreSQL during a rolling upgrade, the other nodes keep
//! serving while one node migrates, and a migration's DDL needs strong table locks. So each
//! statement of a migration waits at most [`LOCK_WAIT`] for a lock; a migration that waited
//! longer is rolled back whole (each runs in a transaction) and tried again a little later.
//! The alternative is a deadlock with a request: an `alter table users` holds `users` and
//! then waits for `sessions`, while a login's `insert into sessions` holds `sessions` and
//! waits for `users` to check the foreign key. PostgreSQL then aborts one of the two, which
//! can be the login, and the person gets an error page. `LOCK_WAIT` is shorter than
//! PostgreSQL's `deadlock_timeout` (1 s by default), so the migration gives way first. The
//! same retry covers waiting for another node's migrations (sqlx's advisory lock is also
//! subject to `lock_timeout`). SQLite has one writer at a time and needs none of this.

use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::migrate::{MigrateError, Migrator};

use super::{Backend, Db};
use crate::error::Result;

/// How long one statement of a migration waits for a lock before the migration gives way.
pub const LOCK_WAIT: Duration = Duration::from_millis(300);

/// How long a node keeps trying before it gives up with an error.
pub const PATIENCE: Duration = Duration::from_secs(30 * 60);

/// Runs `migrator`'s pending migrations on `db`.
pub async fn run(db: &Db, migrator: &Migrator) -> Result<()> {
    if db.backend() == Backend::Sqlite {
        migrator.run(db.writer()).await?;
        return Ok(());
    }
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        // A connection of its own (closed afterwards), so the session setting stays here.
        let mut conn = db.writer().acquire().await?.detach();
        let set = format!("set lock_timeout = '{}ms'", LOCK_WAIT.as_millis());
        sqlx::query(&set).execute(&mut conn).await?;
        // `run_direct`: `run` on a connection is not `Send` for every lifetime (sqlx).
        let result = migrator.run_direct(&mut conn).await;
        let _ = conn.close().await;
        match result {
            Ok(()) => return Ok(()),
            Err(e) if gave_way(&e) && started.elapsed() < PATIENCE => {
                attempt += 1;
                tracing::warn!(
                    attempt,
                    "a migration waited too long for a lock (tables in use, or another node is migrating); rolled back, trying again"
                );
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether a migration failed only because it did not get a lock in time (or lost a
/// deadlock): nothing of it stayed, and it may run again.
fn gave_way(e: &MigrateError) -> bool {
    let (MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _)) = e else {
        return false;
    };
    let sqlx::Error::Database(d) = err else {
        return false;
    };
    // lock_not_available, deadlock_detected
    matches!(d.code().as_deref(), Some("55P03" | "40P01"))
}

/// 100 ms more per attempt, at most 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(u64::from(attempt.min(20)) * 100)
}
