//! `login_steps`: a login that passed its first factor and waits for the second (or a live
//! session being stepped up). Keyed by the SHA-256 of the `__Host-nyckel_step` cookie; short
//! lived; dies after capped wrong codes. [`consume`] is one atomic statement, so a step ends
//! in at most one session however many requests (or nodes) race.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{exec, optional, run};
use crate::store::{Conn, Db};

/// A stored step. Its `Debug` leaves out the key.
#[derive(Clone, FromRow)]
pub struct StepRow {
    pub id_hash: String,
    pub user_id: String,
    /// The first factor's methods (JSON list).
    pub first_amr: String,
    pub request_id: Option<String>,
    pub next: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The cookie hash of the session this login replaces.
    pub replaces: Option<String>,
    pub step_up: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub failures: i64,
}

crate::redact::debug_showing!(StepRow {
    user_id,
    first_amr,
    request_id,
    step_up,
    expires_at,
    failures
});

const COLUMNS: &str = "id_hash, user_id, first_amr, request_id, next, ip, user_agent, replaces, step_up, created_at, expires_at, failures";

/// Inserts a step.
pub async fn insert(db: &Db, s: &StepRow) -> Result<(), sqlx::Error> {
    let sql = "insert into login_steps (id_hash, user_id, first_amr, request_id, next, ip, user_agent, replaces, step_up, created_at, expires_at, failures)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)";
    let binds = (
        &s.id_hash,
        &s.user_id,
        &s.first_amr,
        &s.request_id,
        &s.next,
        &s.ip,
        &s.user_agent,
        &s.replaces,
        s.step_up,
        s.created_at,
        s.expires_at,
    );
    exec(db, sql, binds).await
}

/// The live step with this hash: unused, not expired, failures under `max_failures`.
pub async fn find_live(
    db: &Db,
    id_hash: &str,
    now: UnixTime,
    max_failures: i64,
) -> Result<Option<StepRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from login_steps
         where id_hash = $1 and used_at is null and expires_at > $2 and failures < $3"
    );
    optional(db.pool(), &sql, (id_hash, now, max_failures)).await
}

/// Counts a wrong second factor; returns the failures so far (`None`: the step is gone).
pub async fn fail(db: &Db, id_hash: &str) -> Result<Option<i64>, sqlx::Error> {
    let sql = "update login_steps set failures = failures + 1
         where id_hash = $1 and used_at is null returning failures";
    let row: Option<(i64,)> = optional(db.writer(), sql, (id_hash,)).await?;
    Ok(row.map(|(n,)| n))
}

/// Ends a step with its second factor, in one statement: only a live step (unused, not
/// expired, failures under `max_failures`) is returned, once.
pub async fn consume(
    db: &Db,
    id_hash: &str,
    now: UnixTime,
    max_failures: i64,
) -> Result<Option<StepRow>, sqlx::Error> {
    let sql = format!(
        "update login_steps set used_at = $1
         where id_hash = $2 and used_at is null and expires_at > $1 and failures < $3
         returning {COLUMNS}"
    );
    optional(db.writer(), &sql, (now, id_hash, max_failures)).await
}

/// Removes a step (abandoned by the person).
pub async fn delete(db: &Db, id_hash: &str) -> Result<(), sqlx::Error> {
    exec(db, "delete from login_steps where id_hash = $1", (id_hash,)).await
}

/// Removes expired steps (used or not).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(db, "delete from login_steps where expires_at <= $1", (now,)).await
}

/// Removes every step of a person (their factors were reset).
pub async fn delete_for_user(db: impl Into<Conn<'_>>, user_id: &str) -> Result<u64, sqlx::Error> {
    run(db, "delete from login_steps where user_id = $1", (user_id,)).await
}
