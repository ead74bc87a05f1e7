//! `auth_requests`: validated authorization requests waiting for the person to log in,
//! consent or pick an organisation. Bound to the browser that started them by the hash of a
//! cookie value, and carrying a CSRF token for the forms that continue them.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{exec, optional, run};

/// A pending authorization request. `params` is JSON (see `oidc::authorize::AuthParams`).
#[derive(Clone, FromRow)]
pub struct AuthRequestRow {
    pub id: String,
    pub binding_hash: String,
    pub csrf: String,
    pub client_id: String,
    pub params: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Inserts a pending request.
pub async fn insert(db: &Db, r: &AuthRequestRow) -> Result<(), sqlx::Error> {
    let sql = "insert into auth_requests (id, binding_hash, csrf, client_id, params, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)";
    let binds = (
        &r.id,
        &r.binding_hash,
        &r.csrf,
        &r.client_id,
        &r.params,
        r.created_at,
        r.expires_at,
    );
    exec(db, sql, binds).await
}

/// Finds an unexpired pending request.
pub async fn find(db: &Db, id: &str, now: UnixTime) -> Result<Option<AuthRequestRow>, sqlx::Error> {
    let sql = "select id, binding_hash, csrf, client_id, params, created_at, expires_at
         from auth_requests where id = $1 and expires_at > $2";
    optional(db.pool(), sql, (id, now)).await
}

/// Consumes a pending request (once): true when this call removed it.
pub async fn take(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    Ok(run(db, "delete from auth_requests where id = $1", (id,)).await? == 1)
}

/// Removes expired requests.
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from auth_requests where expires_at <= $1",
        (now,),
    )
    .await
}
