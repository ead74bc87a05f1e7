//! `sessions`: server-side login sessions. The cookie carries a 256-bit random value; only its
//! SHA-256 is stored. `sid` is the public session id placed in ID tokens.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db};

/// A session row.
#[derive(Clone, FromRow)]
pub struct SessionRow {
    pub id_hash: String,
    pub sid: String,
    pub user_id: String,
    pub csrf: String,
    pub auth_time: i64,
    pub amr: String,
    pub acr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

crate::redact::debug_showing!(SessionRow { sid, user_id });

/// Where a session was started from (shown to the person and to superadmins).
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Inserts a session.
pub async fn insert(
    db: impl Into<Conn<'_>>,
    s: &SessionRow,
    origin: Origin<'_>,
) -> Result<(), sqlx::Error> {
    let sql = "insert into sessions (id_hash, sid, user_id, csrf, auth_time, amr, acr, created_at, last_seen_at, expires_at, ip, user_agent)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    let binds = (
        &s.id_hash,
        &s.sid,
        &s.user_id,
        &s.csrf,
        s.auth_time,
        &s.amr,
        &s.acr,
        s.created_at,
        s.last_seen_at,
        s.expires_at,
        origin.ip,
        origin.user_agent,
    );
    exec(db, sql, binds).await
}

/// Finds a session by the hash of its cookie value, if not past its absolute expiry.
pub async fn find(
    db: &Db,
    id_hash: &str,
    now: UnixTime,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = "select id_hash, sid, user_id, csrf, auth_time, amr, acr, created_at, last_seen_at, expires_at
         from sessions where id_hash = $1 and expires_at > $2";
    optional(db.pool(), sql, (id_hash, now)).await
}

/// Records activity (called at most once a minute per session).
pub async fn touch(db: &Db, id_hash: &str, now: UnixTime) -> Result<(), sqlx::Error> {
    let sql = "update sessions set last_seen_at = $1 where id_hash = $2";
    exec(db, sql, (now, id_hash)).await
}

/// Ends a session by cookie hash.
pub async fn delete(db: impl Into<Conn<'_>>, id_hash: &str) -> Result<(), sqlx::Error> {
    exec(db, "delete from sessions where id_hash = $1", (id_hash,)).await
}

/// Ends a session by cookie hash; true when this call ended it (not a concurrent one).
pub async fn take(db: impl Into<Conn<'_>>, id_hash: &str) -> Result<bool, sqlx::Error> {
    Ok(run(db, "delete from sessions where id_hash = $1", (id_hash,)).await? > 0)
}

/// Ends a session by its public id.
pub async fn delete_by_sid(db: impl Into<Conn<'_>>, sid: &str) -> Result<(), sqlx::Error> {
    exec(db, "delete from sessions where sid = $1", (sid,)).await
}

/// Removes sessions past their absolute expiry.
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(db, "delete from sessions where expires_at <= $1", (now,)).await
}

/// A session as administrators and the person see it (no cookie hash, no CSRF token).
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct SessionInfo {
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A person's live sessions, newest first.
pub async fn list_for_user(
    db: &Db,
    user_id: &str,
    now: UnixTime,
) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let sql =
        "select sid, user_id, auth_time, amr, created_at, last_seen_at, expires_at, ip, user_agent
         from sessions where user_id = $1 and expires_at > $2 order by created_at desc, sid";
    all(db.pool(), sql, (user_id, now)).await
}

/// Finds a session by its public id.
pub async fn find_by_sid(db: &Db, sid: &str) -> Result<Option<SessionInfo>, sqlx::Error> {
    let sql =
        "select sid, user_id, auth_time, amr, created_at, last_seen_at, expires_at, ip, user_agent
         from sessions where sid = $1";
    optional(db.pool(), sql, (sid,)).await
}

/// Ends every session of a person except the one whose cookie hash is `keep` (if any);
/// returns the public ids of the ended sessions.
pub async fn delete_for_user(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    keep: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = "delete from sessions where user_id = $1 and id_hash <> $2 returning sid";
    let mut conn = db.into().get().await?;
    let rows: Vec<(String,)> = all(&mut *conn, sql, (user_id, keep.unwrap_or(""))).await?;
    Ok(rows.into_iter().map(|(sid,)| sid).collect())
}

/// Ends the session `sid` only if it belongs to `user_id` (the person ending one of their
/// own sessions); returns whether one ended. Someone else's `sid` changes nothing.
pub async fn delete_own(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    sid: &str,
) -> Result<bool, sqlx::Error> {
    let sql = "delete from sessions where sid = $1 and user_id = $2";
    Ok(run(db, sql, (sid, user_id)).await? > 0)
}
