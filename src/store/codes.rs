//! `auth_codes`: authorization codes, stored as SHA-256 hashes and consumed exactly once by a
//! single `update ... where used_at is null ... returning` (safe across nodes).

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::{Db, Tx};

/// A code row (the hash, never the code).
#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum Taken {
    /// The code was live and is now used.
    Fresh(CodeRow),
    /// The code had been used already: its grant must be revoked when the client it was
    /// issued to presents it again (another client's presentation proves nothing).
    Reused { grant_id: String, client_id: String },
    /// Unknown or expired.
    Invalid,
}

/// Inserts a code.
pub async fn insert(tx: &mut Tx<'_>, c: &CodeRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into auth_codes (code_hash, grant_id, client_id, redirect_uri, nonce, code_challenge, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.code_hash)
    .bind(&c.grant_id)
    .bind(&c.client_id)
    .bind(&c.redirect_uri)
    .bind(&c.nonce)
    .bind(&c.code_challenge)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Consumes a code in one atomic statement.
pub async fn take(tx: &mut Tx<'_>, code_hash: &str, now: UnixTime) -> Result<Taken, sqlx::Error> {
    let fresh = sqlx::query_as::<_, CodeRow>(
        "update auth_codes set used_at = $1
         where code_hash = $2 and used_at is null and expires_at > $1
         returning code_hash, grant_id, client_id, redirect_uri, nonce, code_challenge, created_at, expires_at",
    )
    .bind(now)
    .bind(code_hash)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = fresh {
        return Ok(Taken::Fresh(row));
    }
    let used: Option<(String, String, Option<i64>)> =
        sqlx::query_as("select grant_id, client_id, used_at from auth_codes where code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(match used {
        Some((grant_id, client_id, Some(_))) => Taken::Reused {
            grant_id,
            client_id,
        },
        _ => Taken::Invalid,
    })
}

/// Removes codes that expired more than a day ago (used ones are kept that long so reuse is
/// still detected).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from auth_codes where expires_at <= $1")
        .bind(now - 86400)
        .execute(db.writer())
        .await?
        .rows_affected())
}
