//! `auth_codes`: authorization codes, stored as SHA-256 hashes and consumed exactly once by a
//! single `update ... where used_at is null ... returning` (safe across nodes).

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{exec, optional, run};
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
    let sql = "insert into auth_codes (code_hash, grant_id, client_id, redirect_uri, nonce, code_challenge, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)";
    let binds = (
        &c.code_hash,
        &c.grant_id,
        &c.client_id,
        &c.redirect_uri,
        &c.nonce,
        &c.code_challenge,
        c.created_at,
        c.expires_at,
    );
    exec(tx, sql, binds).await
}

/// Consumes a code in one atomic statement.
pub async fn take(tx: &mut Tx<'_>, code_hash: &str, now: UnixTime) -> Result<Taken, sqlx::Error> {
    let sql = "update auth_codes set used_at = $1
         where code_hash = $2 and used_at is null and expires_at > $1
         returning code_hash, grant_id, client_id, redirect_uri, nonce, code_challenge, created_at, expires_at";
    if let Some(row) = optional(&mut **tx, sql, (now, code_hash)).await? {
        return Ok(Taken::Fresh(row));
    }
    let sql = "select grant_id, client_id, used_at from auth_codes where code_hash = $1";
    let used: Option<(String, String, Option<i64>)> =
        optional(&mut **tx, sql, (code_hash,)).await?;
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
    run(
        db,
        "delete from auth_codes where expires_at <= $1",
        (now - 86400,),
    )
    .await
}
