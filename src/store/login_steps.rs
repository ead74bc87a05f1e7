//! `login_steps`: a login that passed its first factor and waits for the second (or a live
//! session being stepped up). Keyed by the SHA-256 of the `__Host-nyckel_step` cookie; short
//! lived; dies after capped wrong codes. [`consume`] is one atomic statement, so a step ends
//! in at most one session however many requests (or nodes) race.

use sqlx::FromRow;

use crate::clock::UnixTime;
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

impl std::fmt::Debug for StepRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepRow")
            .field("user_id", &self.user_id)
            .field("first_amr", &self.first_amr)
            .field("request_id", &self.request_id)
            .field("step_up", &self.step_up)
            .field("expires_at", &self.expires_at)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id_hash, user_id, first_amr, request_id, next, ip, user_agent, replaces, step_up, created_at, expires_at, failures";

/// Inserts a step.
pub async fn insert(db: &Db, s: &StepRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into login_steps (id_hash, user_id, first_amr, request_id, next, ip, user_agent, replaces, step_up, created_at, expires_at, failures)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)",
    )
    .bind(&s.id_hash)
    .bind(&s.user_id)
    .bind(&s.first_amr)
    .bind(&s.request_id)
    .bind(&s.next)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .bind(&s.replaces)
    .bind(s.step_up)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The live step with this hash: unused, not expired, failures under `max_failures`.
pub async fn find_live(
    db: &Db,
    id_hash: &str,
    now: UnixTime,
    max_failures: i64,
) -> Result<Option<StepRow>, sqlx::Error> {
    sqlx::query_as::<_, StepRow>(&format!(
        "select {COLUMNS} from login_steps
         where id_hash = $1 and used_at is null and expires_at > $2 and failures < $3"
    ))
    .bind(id_hash)
    .bind(now)
    .bind(max_failures)
    .fetch_optional(db.pool())
    .await
}

/// Counts a wrong second factor; returns the failures so far (`None`: the step is gone).
pub async fn fail(db: &Db, id_hash: &str) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "update login_steps set failures = failures + 1
         where id_hash = $1 and used_at is null returning failures",
    )
    .bind(id_hash)
    .fetch_optional(db.writer())
    .await?;
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
    sqlx::query_as::<_, StepRow>(&format!(
        "update login_steps set used_at = $1
         where id_hash = $2 and used_at is null and expires_at > $1 and failures < $3
         returning {COLUMNS}"
    ))
    .bind(now)
    .bind(id_hash)
    .bind(max_failures)
    .fetch_optional(db.writer())
    .await
}

/// Removes a step (abandoned by the person).
pub async fn delete(db: &Db, id_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from login_steps where id_hash = $1")
        .bind(id_hash)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Removes expired steps (used or not).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from login_steps where expires_at <= $1")
            .bind(now)
            .execute(db.writer())
            .await?
            .rows_affected(),
    )
}

/// Removes every step of a person (their factors were reset).
pub async fn delete_for_user(db: impl Into<Conn<'_>>, user_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from login_steps where user_id = $1")
        .bind(user_id)
        .execute(&mut *db.into().get().await?)
        .await?
        .rows_affected())
}
