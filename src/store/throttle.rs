//! `login_throttle`: failure counters per account key and per IP address, shared by every node
//! (so several nodes do not multiply the limit).

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{exec, one, optional};

/// Consecutive failures and when the last one happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    pub failures: i64,
    pub last_failure_at: UnixTime,
}

/// Reads a counter (zero when absent).
pub async fn get(db: &Db, key: &str) -> Result<Counter, sqlx::Error> {
    let sql = "select failures, last_failure_at from login_throttle where key = $1";
    let row: Option<(i64, i64)> = optional(db.pool(), sql, (key,)).await?;
    Ok(row
        .map(|(failures, last_failure_at)| Counter {
            failures,
            last_failure_at,
        })
        .unwrap_or_default())
}

/// Counts one more failure atomically; a counter whose last failure is older than
/// `reset_after` seconds starts again from one. Returns the new count.
pub async fn record_failure(
    db: &Db,
    key: &str,
    now: UnixTime,
    reset_after: i64,
) -> Result<i64, sqlx::Error> {
    let sql = "insert into login_throttle (key, failures, last_failure_at) values ($1, 1, $2)
         on conflict (key) do update set
           failures = case when login_throttle.last_failure_at < $3 then 1 else login_throttle.failures + 1 end,
           last_failure_at = $2
         returning failures";
    let (failures,): (i64,) = one(db.writer(), sql, (key, now, now - reset_after)).await?;
    Ok(failures)
}

/// Clears a counter (after a successful login).
pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    exec(db, "delete from login_throttle where key = $1", (key,)).await
}

/// Takes back one counted failure (an attempt counted in advance that succeeded); the
/// time of the last failure stays.
pub async fn forgive(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    let sql = "update login_throttle set failures = failures - 1 where key = $1 and failures > 0";
    exec(db, sql, (key,)).await
}
