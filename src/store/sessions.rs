//! `sessions`: server-side login sessions. The cookie carries a 256-bit random value; only its
//! SHA-256 is stored. `sid` is the public session id placed in ID tokens.

use sqlx::FromRow;

use crate::clock::UnixTime;
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

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("sid", &self.sid)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

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
    sqlx::query(
        "insert into sessions (id_hash, sid, user_id, csrf, auth_time, amr, acr, created_at, last_seen_at, expires_at, ip, user_agent)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&s.id_hash)
    .bind(&s.sid)
    .bind(&s.user_id)
    .bind(&s.csrf)
    .bind(s.auth_time)
    .bind(&s.amr)
    .bind(&s.acr)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(origin.ip)
    .bind(origin.user_agent)
    .execute(&mut *db.into().get().await?)
    .await?;
    Ok(())
}

/// Finds a session by the hash of its cookie value, if not past its absolute expiry.
pub async fn find(
    db: &Db,
    id_hash: &str,
    now: UnixTime,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as::<_, SessionRow>(
        "select id_hash, sid, user_id, csrf, auth_time, amr, acr, created_at, last_seen_at, expires_at
         from sessions where id_hash = $1 and expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Records activity (called at most once a minute per session).
pub async fn touch(db: &Db, id_hash: &str, now: UnixTime) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set last_seen_at = $1 where id_hash = $2")
        .bind(now)
        .bind(id_hash)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Ends a session by cookie hash.
pub async fn delete(db: impl Into<Conn<'_>>, id_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where id_hash = $1")
        .bind(id_hash)
        .execute(&mut *db.into().get().await?)
        .await?;
    Ok(())
}

/// Ends a session by its public id.
pub async fn delete_by_sid(db: impl Into<Conn<'_>>, sid: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where sid = $1")
        .bind(sid)
        .execute(&mut *db.into().get().await?)
        .await?;
    Ok(())
}

/// Removes sessions past their absolute expiry.
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from sessions where expires_at <= $1")
        .bind(now)
        .execute(db.writer())
        .await?
        .rows_affected())
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
    sqlx::query_as::<_, SessionInfo>(
        "select sid, user_id, auth_time, amr, created_at, last_seen_at, expires_at, ip, user_agent
         from sessions where user_id = $1 and expires_at > $2 order by created_at desc, sid",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db.pool())
    .await
}

/// Finds a session by its public id.
pub async fn find_by_sid(db: &Db, sid: &str) -> Result<Option<SessionInfo>, sqlx::Error> {
    sqlx::query_as::<_, SessionInfo>(
        "select sid, user_id, auth_time, amr, created_at, last_seen_at, expires_at, ip, user_agent
         from sessions where sid = $1",
    )
    .bind(sid)
    .fetch_optional(db.pool())
    .await
}

/// Ends every session of a person except the one whose cookie hash is `keep` (if any);
/// returns the public ids of the ended sessions.
pub async fn delete_for_user(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    keep: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> =
        sqlx::query_as("delete from sessions where user_id = $1 and id_hash <> $2 returning sid")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .fetch_all(&mut *db.into().get().await?)
            .await?;
    Ok(rows.into_iter().map(|(sid,)| sid).collect())
}

/// Ends the session `sid` only if it belongs to `user_id` (the person ending one of their
/// own sessions); returns whether one ended. Someone else's `sid` changes nothing.
pub async fn delete_own(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    sid: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("delete from sessions where sid = $1 and user_id = $2")
            .bind(sid)
            .bind(user_id)
            .execute(&mut *db.into().get().await?)
            .await?
            .rows_affected()
            > 0,
    )
}
