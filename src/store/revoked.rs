//! `revoked_access_tokens`: JWT access tokens revoked before their expiry (RFC 7009), by `jti`.

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{exec, optional, run};

/// Records a revoked access token until it would have expired anyway.
pub async fn insert(db: &Db, jti: &str, expires_at: UnixTime) -> Result<(), sqlx::Error> {
    let sql = "insert into revoked_access_tokens (jti, expires_at) values ($1, $2) on conflict (jti) do nothing";
    exec(db, sql, (jti, expires_at)).await
}

/// Whether an access token was revoked.
pub async fn contains(db: &Db, jti: &str) -> Result<bool, sqlx::Error> {
    let sql = "select jti from revoked_access_tokens where jti = $1";
    let row: Option<(String,)> = optional(db.pool(), sql, (jti,)).await?;
    Ok(row.is_some())
}

/// Forgets revocations of tokens that have expired.
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from revoked_access_tokens where expires_at <= $1",
        (now,),
    )
    .await
}
