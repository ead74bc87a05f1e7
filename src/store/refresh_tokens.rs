//! `refresh_tokens`: rotated refresh tokens, stored as SHA-256 hashes. Each use consumes the
//! token in one atomic statement; presenting a used token is reuse and revokes the family
//! (the grant).

use crate::clock::UnixTime;
use crate::store::{Db, Tx};

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Taken {
    /// Live and now used; the grant it belongs to.
    Fresh { grant_id: String },
    /// Used before: the family must be revoked.
    Reused { grant_id: String },
    /// Unknown or expired.
    Invalid,
}

/// Inserts a refresh token hash.
pub async fn insert(
    tx: &mut Tx<'_>,
    token_hash: &str,
    grant_id: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into refresh_tokens (token_hash, grant_id, created_at, expires_at) values ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(grant_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Consumes a refresh token in one atomic statement.
pub async fn take(tx: &mut Tx<'_>, token_hash: &str, now: UnixTime) -> Result<Taken, sqlx::Error> {
    let fresh: Option<(String,)> = sqlx::query_as(
        "update refresh_tokens set used_at = $1
         where token_hash = $2 and used_at is null and expires_at > $1
         returning grant_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((grant_id,)) = fresh {
        return Ok(Taken::Fresh { grant_id });
    }
    let used: Option<(String, Option<i64>)> =
        sqlx::query_as("select grant_id, used_at from refresh_tokens where token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(match used {
        Some((grant_id, Some(_))) => Taken::Reused { grant_id },
        _ => Taken::Invalid,
    })
}

/// Looks a refresh token up without consuming it (introspection, revocation).
pub async fn find(
    db: &Db,
    token_hash: &str,
) -> Result<Option<(String, i64, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("select grant_id, expires_at, used_at from refresh_tokens where token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await
}

/// Removes refresh tokens past their expiry (used ones are kept until then, so reuse is
/// still detected while the token could have been valid).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from refresh_tokens where expires_at <= $1")
            .bind(now)
            .execute(db.writer())
            .await?
            .rows_affected(),
    )
}
