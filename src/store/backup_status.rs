//! `backup_status`: the last result of scheduled backup runs, overall (the row named
//! [`OVERALL`]) and per destination, with run counts. Written by the node that ran the job,
//! read by every node's metrics.

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{self, optional, run};

/// The row of the run as a whole (not a valid destination name).
pub const OVERALL: &str = "*";

/// One row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Status {
    pub destination: String,
    pub last_run_at: i64,
    /// 1 when the last run succeeded there, else 0.
    pub last_ok: i64,
    pub last_success_at: Option<i64>,
    pub last_backup: Option<String>,
    pub runs_ok: i64,
    pub runs_failed: i64,
}

/// Records one run's result for `destination` (or [`OVERALL`]); `backup` is the id written
/// there when it succeeded.
pub async fn record(
    db: &Db,
    destination: &str,
    now: UnixTime,
    ok: bool,
    backup: Option<&str>,
) -> Result<(), sqlx::Error> {
    let success_at = ok.then_some(now);
    let sql = "insert into backup_status
             (destination, last_run_at, last_ok, last_success_at, last_backup, runs_ok, runs_failed)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (destination) do update set
             last_run_at = excluded.last_run_at,
             last_ok = excluded.last_ok,
             last_success_at = coalesce(excluded.last_success_at, backup_status.last_success_at),
             last_backup = coalesce(excluded.last_backup, backup_status.last_backup),
             runs_ok = backup_status.runs_ok + excluded.runs_ok,
             runs_failed = backup_status.runs_failed + excluded.runs_failed";
    let (last_ok, failed, backup) = (
        i64::from(ok),
        i64::from(!ok),
        if ok { backup } else { None },
    );
    run(
        db,
        sql,
        (
            destination,
            now,
            last_ok,
            success_at,
            backup,
            last_ok,
            failed,
        ),
    )
    .await?;
    Ok(())
}

/// Every row, by name.
pub async fn all(db: &Db) -> Result<Vec<Status>, sqlx::Error> {
    let select = "select destination, last_run_at, last_ok, last_success_at, last_backup, runs_ok, runs_failed
         from backup_status order by destination";
    sql::all(db.pool(), select, ()).await
}

/// When the scheduled run last finished (any result), if ever.
pub async fn last_run_at(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    let sql = "select last_run_at from backup_status where destination = $1";
    let row: Option<(i64,)> = optional(db.pool(), sql, (OVERALL,)).await?;
    Ok(row.map(|r| r.0))
}
