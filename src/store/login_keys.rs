//! `login_keys`: temporary keys sent to a person (login links and codes, password-reset links
//! and codes, confirmation of a new email or phone) or printed for the operator (the setup
//! link). Only the SHA-256 of a link key is stored, and a code only as a keyed hash
//! (`code_hash`, see `auth::keys`). A key is used at most once: [`consume`] is one atomic
//! statement, so two requests (or two nodes) presenting the same key cannot both succeed.
//! Reading a key ([`find_usable`]) changes nothing, so link scanners that fetch the page do
//! not burn it. A code guess ([`guess`]) counts the attempt in the same statement that finds
//! the code, so concurrent guesses cannot exceed the cap.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::{Conn, Db};

/// A stored key (its hash only; the key itself is never stored).
#[derive(Debug, Clone, FromRow)]
pub struct LoginKey {
    pub key_hash: String,
    pub purpose: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub channel: String,
    /// SHA-256 of the cookie of the browser (or session) the key is bound to, if bound.
    pub binding_hash: Option<String>,
    /// The keyed hash of the code sent with the key, if any.
    pub code_hash: Option<String>,
    /// Where to continue after the key is used (a local path).
    pub next: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A new key.
#[derive(Debug, Default)]
pub struct NewKey<'a> {
    pub key_hash: &'a str,
    /// `login`, `reset`, `setup`, `verify_email` or `verify_phone`.
    pub purpose: &'a str,
    pub user_id: Option<&'a str>,
    /// The address the key went to (or confirms).
    pub email: Option<&'a str>,
    /// The number the key went to (or confirms), E.164.
    pub phone: Option<&'a str>,
    /// `email`, `sms` (sent to the person) or `cli` (printed for the operator).
    pub channel: &'a str,
    pub binding_hash: Option<&'a str>,
    pub code_hash: Option<&'a str>,
    pub next: Option<&'a str>,
    pub expires_at: UnixTime,
}

const COLUMNS: &str = "key_hash, purpose, user_id, email, phone, channel, binding_hash, code_hash, next, attempts, created_at, expires_at";

const INSERT: &str = "insert into login_keys (key_hash, purpose, user_id, email, phone, channel, binding_hash, code_hash, next, created_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (key_hash) do nothing";

fn bind_new<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    key: &'q NewKey<'q>,
    now: UnixTime,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(key.key_hash)
        .bind(key.purpose)
        .bind(key.user_id)
        .bind(key.email)
        .bind(key.phone)
        .bind(key.channel)
        .bind(key.binding_hash)
        .bind(key.code_hash)
        .bind(key.next)
        .bind(now)
        .bind(key.expires_at)
}

/// Inserts a key (inserting the same key again changes nothing).
pub async fn insert(
    db: impl Into<Conn<'_>>,
    key: &NewKey<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    bind_new(sqlx::query(INSERT), key, now)
        .execute(&mut *db.into().get().await?)
        .await?;
    Ok(())
}

/// Inserts a key for a person after deleting their other unused keys of the same purpose, in
/// one transaction: only the newest key works. Replacing with the same key again (a request
/// processed twice) keeps it. Returns how many keys were dropped.
pub async fn replace(
    db: impl Into<Conn<'_>>,
    key: &NewKey<'_>,
    now: UnixTime,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.into().begin().await?;
    let dropped = sqlx::query(
        "delete from login_keys where user_id = $1 and purpose = $2 and used_at is null and key_hash <> $3",
    )
    .bind(key.user_id)
    .bind(key.purpose)
    .bind(key.key_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    bind_new(sqlx::query(INSERT), key, now)
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

/// Whether a usable key with a code is out for this binding and purpose, with guesses left
/// (the code sent earlier still works). Changes nothing.
pub async fn has_usable_code(
    db: &Db,
    binding_hash: &str,
    purpose: &str,
    now: UnixTime,
    max_attempts: i64,
) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "select 1 from login_keys
         where binding_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
           and code_hash is not null and attempts < $4
         limit 1",
    )
    .bind(binding_hash)
    .bind(purpose)
    .bind(now)
    .bind(max_attempts)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some())
}

/// Uses the key: marks it used and returns it, in one statement, only if it was unused and
/// not expired. `None` means unknown, used, expired or another purpose.
pub async fn consume(
    db: impl Into<Conn<'_>>,
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
    .fetch_optional(&mut *db.into().get().await?)
    .await
}

/// One code guess: counts an attempt on the newest usable key with a code for this browser
/// binding and purpose, and returns it (with the attempts including this one) for the caller
/// to compare the code. `None`: no such key, or its attempts are used up.
pub async fn guess(
    db: impl Into<Conn<'_>>,
    binding_hash: &str,
    purpose: &str,
    now: UnixTime,
    max_attempts: i64,
) -> Result<Option<LoginKey>, sqlx::Error> {
    sqlx::query_as::<_, LoginKey>(&format!(
        "update login_keys set attempts = attempts + 1
         where key_hash = (
             select key_hash from login_keys
             where binding_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
               and code_hash is not null
             order by created_at desc, key_hash desc limit 1)
           and used_at is null and expires_at > $3 and attempts < $4
         returning {COLUMNS}"
    ))
    .bind(binding_hash)
    .bind(purpose)
    .bind(now)
    .bind(max_attempts)
    .fetch_optional(&mut *db.into().get().await?)
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

/// Deletes a person's unused login and recovery keys sent by `channel` (`email` or `sms`):
/// after their address or number changed, keys sent to the old one stop working. Returns
/// how many were deleted.
pub async fn delete_unused_sent_by(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    channel: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from login_keys
         where user_id = $1 and channel = $2 and used_at is null and purpose in ('login', 'reset')",
    )
    .bind(user_id)
    .bind(channel)
    .execute(&mut *db.into().get().await?)
    .await?
    .rows_affected())
}
