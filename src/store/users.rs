//! `users`: one row per person. `id` is the stable, never reused `sub`.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional};
use crate::store::{Conn, Db, Tx, flag};

/// A person's account. `password_hash` is an argon2id PHC string, never a password.
#[derive(Clone, FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified: i64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub locale: Option<String>,
    pub disabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Installation authority (`superadmin`).
    pub superadmin: i64,
    /// Set when an admin set the password: the person must choose a new one at next login.
    pub must_change_password: i64,
    /// Whether `phone` was confirmed by a code sent to it (only verified numbers get login or
    /// recovery codes).
    pub phone_verified: i64,
}

crate::redact::debug_showing!(User { id, disabled });

impl User {
    /// Whether the account may log in.
    pub fn is_active(&self) -> bool {
        self.disabled == 0
    }

    /// The phone number, when it was verified.
    pub fn verified_phone(&self) -> Option<&str> {
        self.phone.as_deref().filter(|_| self.phone_verified != 0)
    }
}

/// The unique constraint on the normalised email.
pub const EMAIL_UNIQUE: &str = "users_email_normalized_key";

/// The form in which emails are compared: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

const COLUMNS: &str = "id, email, email_verified, name, phone, password_hash, locale, disabled, created_at, updated_at, superadmin, must_change_password, phone_verified";

/// New account fields.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

/// Inserts a person; fails with [`EMAIL_UNIQUE`] when the email is taken.
pub async fn insert(
    db: impl Into<Conn<'_>>,
    user: &NewUser<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into users (id, email, email_normalized, email_verified, name, phone, password_hash, disabled, created_at, updated_at)
         values ($1, $2, $3, 0, $4, $5, $6, 0, $7, $7)";
    let email = (user.email.trim(), normalize_email(user.email));
    let binds = (
        user.id,
        email.0,
        email.1,
        user.name,
        user.phone,
        user.password_hash,
        now,
    );
    exec(db, sql, binds).await
}

/// Finds a person by email (case-insensitive).
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from users where email_normalized = $1");
    optional(db.pool(), &sql, (normalize_email(email),)).await
}

/// [`find_by_email`] inside a transaction (sees its changes, and on SQLite reads under its
/// write lock).
pub async fn find_by_email_in(tx: &mut Tx<'_>, email: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from users where email_normalized = $1");
    optional(&mut **tx, &sql, (normalize_email(email),)).await
}

/// Finds a person by id (`sub`).
pub async fn find(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from users where id = $1");
    optional(db.pool(), &sql, (id,)).await
}

/// Sets a new password chosen by someone: `must_change` when an admin chose it, cleared when
/// the person did.
pub async fn set_password(
    db: impl Into<Conn<'_>>,
    id: &str,
    hash: &str,
    must_change: bool,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set password_hash = $1, must_change_password = $2, updated_at = $3 where id = $4";
    exec(db, sql, (hash, flag(must_change), now, id)).await
}

/// Grants or takes away installation authority.
pub async fn set_superadmin(
    db: impl Into<Conn<'_>>,
    id: &str,
    on: bool,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set superadmin = $1, updated_at = $2 where id = $3";
    exec(db, sql, (flag(on), now, id)).await
}

/// Marks the email as verified (a link sent there was used).
pub async fn set_email_verified(
    db: impl Into<Conn<'_>>,
    id: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set email_verified = 1, updated_at = $1 where id = $2";
    exec(db, sql, (now, id)).await
}

/// The active accounts whose verified phone number is `phone` (E.164).
pub async fn find_by_verified_phone(db: &Db, phone: &str) -> Result<Vec<User>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from users where phone = $1 and phone_verified = 1 and disabled = 0 order by id limit 5"
    );
    all(db.pool(), &sql, (phone,)).await
}

/// Sets (or clears) the phone number (E.164) and whether it is verified.
pub async fn set_phone(
    db: impl Into<Conn<'_>>,
    id: &str,
    phone: Option<&str>,
    verified: bool,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set phone = $1, phone_verified = $2, updated_at = $3 where id = $4";
    let verified = flag(verified && phone.is_some());
    exec(db, sql, (phone, verified, now, id)).await
}

/// Replaces the email with a verified one; fails with [`EMAIL_UNIQUE`] when another account
/// has it.
pub async fn set_email(
    db: impl Into<Conn<'_>>,
    id: &str,
    email: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set email = $1, email_normalized = $2, email_verified = 1, updated_at = $3 where id = $4";
    exec(db, sql, (email.trim(), normalize_email(email), now, id)).await
}

/// Whether any account exists.
pub async fn any(db: &Db) -> Result<bool, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("select id from users limit 1")
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// Whether any superadmin exists.
pub async fn any_superadmin(db: &Db) -> Result<bool, sqlx::Error> {
    let sql = "select id from users where superadmin = 1 limit 1";
    let row: Option<(String,)> = optional(db.pool(), sql, ()).await?;
    Ok(row.is_some())
}

/// Replaces the stored password hash (a re-hash with stronger parameters, or a new password).
pub async fn set_password_hash(
    db: impl Into<Conn<'_>>,
    id: &str,
    hash: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set password_hash = $1, updated_at = $2 where id = $3";
    exec(db, sql, (hash, now, id)).await
}

/// Finds a person by id inside a transaction (the token endpoint reads grant, person and
/// refresh token in one transaction).
pub async fn find_in(tx: &mut Tx<'_>, id: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from users where id = $1");
    optional(&mut **tx, &sql, (id,)).await
}

/// Sets the person's own profile: display name and preferred language (`sv`/`en`; `None`:
/// follow the browser).
pub async fn set_profile(
    db: impl Into<Conn<'_>>,
    id: &str,
    name: Option<&str>,
    locale: Option<&str>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set name = $1, locale = $2, updated_at = $3 where id = $4";
    exec(db, sql, (name, locale, now, id)).await
}
