//! `login_keys`: temporary keys sent to a person (a password-reset link) or printed for the
//! operator (the setup link). Only the SHA-256 of a key is stored. A key is used at most once:
//! [`consume`] is one atomic statement, so two requests (or two nodes) presenting the same key
//! cannot both succeed. Reading a key ([`find_usable`]) changes nothing, so link scanners that
//! fetch the page do not burn it.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::Db;

/// A stored key (its hash only; the key itself is never stored).
#[derive(Debug, Clone, FromRow)]
pub struct LoginKey {
    pub purpose: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub channel: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A new key.
#[derive(Debug)]
pub struct NewKey<'a> {
    pub key_hash: &'a str,
    /// `reset` or `setup`.
    pub purpose: &'a str,
    pub user_id: Option<&'a str>,
    pub email: Option<&'a str>,
    /// `email` (sent to the person) or `cli` (printed for the operator).
    pub channel: &'a str,
    pub expires_at: UnixTime,
}

const COLUMNS: &str = "purpose, user_id, email, channel, created_at, expires_at";

/// Inserts a key.
pub async fn insert(db: &Db, key: &NewKey<'_>, now: UnixTime) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into login_keys (key_hash, purpose, user_id, email, channel, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.key_hash)
    .bind(key.purpose)
    .bind(key.user_id)
    .bind(key.email)
    .bind(key.channel)
    .bind(now)
    .bind(key.expires_at)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Inserts a key for a person after deleting their unused keys of the same purpose, in one
/// transaction: only the newest key works.
pub async fn replace(db: &Db, key: &NewKey<'_>, now: UnixTime) -> Result<u64, sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    let dropped = sqlx::query(
        "delete from login_keys where user_id = $1 and purpose = $2 and used_at is null",
    )
    .bind(key.user_id)
    .bind(key.purpose)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "insert into login_keys (key_hash, purpose, user_id, email, channel, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.key_hash)
    .bind(key.purpose)
    .bind(key.user_id)
    .bind(key.email)
    .bind(key.channel)
    .bind(now)
    .bind(key.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(dropped)
}

/// The key with this hash and purpose if it is unused and not expired. Changes nothing.
pub async fn find_usable(
    db: &Db,
    key_hash: &str,
    purpose: &str,
    now: UnixTime,
) -> Result<Option<LoginKey>, sqlx::Error> {
    sqlx::query_as::<_, LoginKey>(&format!(
        "select {COLUMNS} from login_keys
         where key_hash = $1 and purpose = $2 and used_at is null and expires_at > $3"
    ))
    .bind(key_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Uses the key: marks it used and returns it, in one statement, only if it was unused and
/// not expired. `None` means unknown, used, expired or another purpose.
pub async fn consume(
    db: &Db,
    key_hash: &str,
    purpose: &str,
    now: UnixTime,
) -> Result<Option<LoginKey>, sqlx::Error> {
    sqlx::query_as::<_, LoginKey>(&format!(
        "update login_keys set used_at = $1
         where key_hash = $2 and purpose = $3 and used_at is null and expires_at > $1
         returning {COLUMNS}"
    ))
    .bind(now)
    .bind(key_hash)
    .bind(purpose)
    .fetch_optional(db.writer())
    .await
}

/// Removes expired keys (used or not) (SECURITY.md 14.2.7).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from login_keys where expires_at <= $1")
        .bind(now)
        .execute(db.writer())
        .await?
        .rows_affected())
}
