//! `revoked_access_tokens`: JWT access tokens revoked before their expiry (RFC 7009), by `jti`.

use crate::clock::UnixTime;
use crate::store::Db;

/// Records a revoked access token until it would have expired anyway.
pub async fn insert(db: &Db, jti: &str, expires_at: UnixTime) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into revoked_access_tokens (jti, expires_at) values ($1, $2) on conflict (jti) do nothing",
    )
    .bind(jti)
    .bind(expires_at)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Whether an access token was revoked.
pub async fn contains(db: &Db, jti: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("select jti from revoked_access_tokens where jti = $1")
            .bind(jti)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.is_some())
}

/// Forgets revocations of tokens that have expired.
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from revoked_access_tokens where expires_at <= $1")
            .bind(now)
            .execute(db.writer())
            .await?
            .rows_affected(),
    )
}
