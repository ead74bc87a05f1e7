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
use crate::store::sql::{optional, run};
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

/// Runs [`INSERT`] for `key` on `conn`.
async fn insert_on(
    conn: impl Into<Conn<'_>>,
    key: &NewKey<'_>,
    now: UnixTime,
) -> Result<u64, sqlx::Error> {
    let k = key;
    let binds = (
        k.key_hash,
        k.purpose,
        k.user_id,
        k.email,
        k.phone,
        k.channel,
        k.binding_hash,
        k.code_hash,
        k.next,
        now,
        k.expires_at,
    );
    run(conn, INSERT, binds).await
}

/// Inserts a key (inserting the same key again changes nothing).
pub async fn insert(
    db: impl Into<Conn<'_>>,
    key: &NewKey<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    insert_on(db, key, now).await?;
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
    let sql = "delete from login_keys where user_id = $1 and purpose = $2 and used_at is null and key_hash <> $3";
    let dropped = run(&mut tx, sql, (key.user_id, key.purpose, key.key_hash)).await?;
    insert_on(&mut tx, key, now).await?;
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
    let sql = format!(
        "select {COLUMNS} from login_keys
         where key_hash = $1 and purpose = $2 and used_at is null and expires_at > $3"
    );
    optional(db.pool(), &sql, (key_hash, purpose, now)).await
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
    let sql = "select 1 from login_keys
         where binding_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
           and code_hash is not null and attempts < $4
         limit 1";
    let binds = (binding_hash, purpose, now, max_attempts);
    let row: Option<(i64,)> = optional(db.pool(), sql, binds).await?;
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
    let sql = format!(
        "update login_keys set used_at = $1
         where key_hash = $2 and purpose = $3 and used_at is null and expires_at > $1
         returning {COLUMNS}"
    );
    let mut conn = db.into().get().await?;
    optional(&mut *conn, &sql, (now, key_hash, purpose)).await
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
    let sql = format!(
        "update login_keys set attempts = attempts + 1
         where key_hash = (
             select key_hash from login_keys
             where binding_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
               and code_hash is not null
             order by created_at desc, key_hash desc limit 1)
           and used_at is null and expires_at > $3 and attempts < $4
         returning {COLUMNS}"
    );
    let mut conn = db.into().get().await?;
    optional(&mut *conn, &sql, (binding_hash, purpose, now, max_attempts)).await
}

/// Removes expired keys (used or not) (SECURITY.md 14.2.7).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(db, "delete from login_keys where expires_at <= $1", (now,)).await
}

/// Deletes a person's unused login and recovery keys sent by `channel` (`email` or `sms`):
/// after their address or number changed, keys sent to the old one stop working. Returns
/// how many were deleted.
pub async fn delete_unused_sent_by(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    channel: &str,
) -> Result<u64, sqlx::Error> {
    let sql = "delete from login_keys
         where user_id = $1 and channel = $2 and used_at is null and purpose in ('login', 'reset')";
    run(db, sql, (user_id, channel)).await
}
