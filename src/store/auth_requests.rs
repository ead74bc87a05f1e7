//! `auth_requests`: validated authorization requests waiting for the person to log in,
//! consent or pick an organisation. Bound to the browser that started them by the hash of a
//! cookie value, and carrying a CSRF token for the forms that continue them.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::Db;

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
    sqlx::query(
        "insert into auth_requests (id, binding_hash, csrf, client_id, params, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(&r.binding_hash)
    .bind(&r.csrf)
    .bind(&r.client_id)
    .bind(&r.params)
    .bind(r.created_at)
    .bind(r.expires_at)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Finds an unexpired pending request.
pub async fn find(db: &Db, id: &str, now: UnixTime) -> Result<Option<AuthRequestRow>, sqlx::Error> {
    sqlx::query_as::<_, AuthRequestRow>(
        "select id, binding_hash, csrf, client_id, params, created_at, expires_at
         from auth_requests where id = $1 and expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// Consumes a pending request (once): true when this call removed it.
pub async fn take(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("delete from auth_requests where id = $1")
        .bind(id)
        .execute(db.writer())
        .await?
        .rows_affected()
        == 1)
}

/// Removes expired requests.
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from auth_requests where expires_at <= $1")
            .bind(now)
            .execute(db.writer())
            .await?
            .rows_affected(),
    )
}
