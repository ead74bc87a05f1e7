//! `passkeys`: a person's WebAuthn credentials. `credential` holds the webauthn-rs `Passkey`
//! as JSON (public key, signature counter, backup state: nothing secret); `credential_id` is
//! the credential id in base64url, unique across all accounts.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, one, optional, run};
use crate::store::{Conn, Db};

/// The unique constraint on `credential_id`.
pub const CREDENTIAL_UNIQUE: &str = "passkeys_credential_id_key";

/// A stored passkey.
#[derive(Debug, Clone, FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub credential_id: String,
    pub name: String,
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, credential_id, name, credential, created_at, last_used_at";

/// Stores a new passkey. A credential id registered before (to anyone) is a unique
/// violation of [`CREDENTIAL_UNIQUE`].
pub async fn insert(db: impl Into<Conn<'_>>, row: &PasskeyRow) -> Result<(), sqlx::Error> {
    let sql = "insert into passkeys (id, user_id, credential_id, name, credential, created_at, last_used_at)
         values ($1, $2, $3, $4, $5, $6, $7)";
    let r = row;
    let binds = (
        &r.id,
        &r.user_id,
        &r.credential_id,
        &r.name,
        &r.credential,
        r.created_at,
        r.last_used_at,
    );
    exec(db, sql, binds).await
}

/// A person's passkeys, oldest first.
pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<PasskeyRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from passkeys where user_id = $1 order by created_at, id");
    all(db.pool(), &sql, (user_id,)).await
}

/// The passkey with this credential id (base64url), whoever it belongs to.
pub async fn find_by_credential(
    db: &Db,
    credential_id: &str,
) -> Result<Option<PasskeyRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from passkeys where credential_id = $1");
    optional(db.writer(), &sql, (credential_id,)).await
}

/// The passkey `id` when it belongs to `user_id`.
pub async fn find_for_user(
    db: &Db,
    user_id: &str,
    id: &str,
) -> Result<Option<PasskeyRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from passkeys where id = $1 and user_id = $2");
    optional(db.pool(), &sql, (id, user_id)).await
}

/// Records a use: the updated credential (counter, backup state) and `last_used_at`.
pub async fn record_use(
    db: impl Into<Conn<'_>>,
    id: &str,
    credential: &str,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let sql = "update passkeys set credential = $1, last_used_at = $2 where id = $3";
    Ok(run(db, sql, (credential, now, id)).await? == 1)
}

/// Renames the passkey `id` of `user_id`; false when there is none.
pub async fn rename(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    id: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let sql = "update passkeys set name = $1 where id = $2 and user_id = $3";
    Ok(run(db, sql, (name, id, user_id)).await? == 1)
}

/// Deletes the passkey `id` of `user_id` and returns it; `None` when there is none.
pub async fn delete(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    id: &str,
) -> Result<Option<PasskeyRow>, sqlx::Error> {
    let sql = format!("delete from passkeys where id = $1 and user_id = $2 returning {COLUMNS}");
    let mut conn = db.into().get().await?;
    optional(&mut *conn, &sql, (id, user_id)).await
}

/// How many passkeys `user_id` has.
pub async fn count_for_user(db: &Db, user_id: &str) -> Result<i64, sqlx::Error> {
    let sql = "select count(*) from passkeys where user_id = $1";
    let (n,): (i64,) = one(db.pool(), sql, (user_id,)).await?;
    Ok(n)
}

/// Deletes every passkey of `user_id` (the operator's recovery); how many there were.
pub async fn delete_for_user(db: impl Into<Conn<'_>>, user_id: &str) -> Result<u64, sqlx::Error> {
    run(db, "delete from passkeys where user_id = $1", (user_id,)).await
}
