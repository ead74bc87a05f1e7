//! `grants`: one row per authorization (a login at a client). Authorization codes, refresh
//! tokens and access tokens refer to their grant; revoking the grant revokes all of them
//! (code reuse, refresh-token reuse, logout).

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db, Tx};

/// An authorization granted to a client for a person.
#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub sid: Option<String>,
    pub scope: String,
    pub organisation_id: Option<String>,
    pub auth_time: Option<i64>,
    pub amr: String,
    pub acr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl GrantRow {
    /// Whether tokens of this grant are still good at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

const COLUMNS: &str = "id, client_id, user_id, sid, scope, organisation_id, auth_time, amr, acr, created_at, expires_at, revoked_at";

/// Inserts a grant.
pub async fn insert(tx: &mut Tx<'_>, g: &GrantRow) -> Result<(), sqlx::Error> {
    let sql = "insert into grants (id, client_id, user_id, sid, scope, organisation_id, auth_time, amr, acr, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    let binds = (
        &g.id,
        &g.client_id,
        &g.user_id,
        &g.sid,
        &g.scope,
        &g.organisation_id,
        g.auth_time,
        &g.amr,
        &g.acr,
        g.created_at,
        g.expires_at,
    );
    exec(tx, sql, binds).await
}

/// Finds a grant.
pub async fn find(db: &Db, id: &str) -> Result<Option<GrantRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from grants where id = $1");
    optional(db.pool(), &sql, (id,)).await
}

/// Finds a grant inside a transaction.
pub async fn find_in(tx: &mut Tx<'_>, id: &str) -> Result<Option<GrantRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from grants where id = $1");
    optional(&mut **tx, &sql, (id,)).await
}

/// Revokes a grant (and so every token issued under it).
pub async fn revoke(db: impl Into<Conn<'_>>, id: &str, now: UnixTime) -> Result<(), sqlx::Error> {
    let sql = "update grants set revoked_at = $1 where id = $2 and revoked_at is null";
    exec(db, sql, (now, id)).await
}

/// Revokes every grant made in a session (logout).
pub async fn revoke_by_sid(
    db: impl Into<Conn<'_>>,
    sid: &str,
    now: UnixTime,
) -> Result<u64, sqlx::Error> {
    let sql = "update grants set revoked_at = $1 where sid = $2 and revoked_at is null";
    run(db, sql, (now, sid)).await
}

/// The clients that had tokens in the session `sid` and want to be told when it ends (they
/// registered a back-channel logout URI), each once, with the person: `(client_id,
/// user_id)`. Revoked grants count too: the app may still hold its own session.
pub async fn clients_to_tell(
    db: impl Into<Conn<'_>>,
    sid: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let sql = "select distinct g.client_id, g.user_id from grants g
         join clients c on c.id = g.client_id
         where g.sid = $1 and g.user_id is not null and c.backchannel_logout_uri is not null
         order by g.client_id";
    let mut conn = db.into().get().await?;
    all(&mut *conn, sql, (sid,)).await
}

/// The front-channel logout URIs of the clients that had tokens in the session `sid`, each
/// client once, by client id.
pub async fn front_channels(
    db: impl Into<Conn<'_>>,
    sid: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = "select distinct c.id, c.frontchannel_logout_uri
         from grants g join clients c on c.id = g.client_id
         where g.sid = $1 and c.frontchannel_logout_uri is not null
         order by c.id";
    let mut conn = db.into().get().await?;
    let rows: Vec<(String, String)> = all(&mut *conn, sql, (sid,)).await?;
    Ok(rows.into_iter().map(|(_, uri)| uri).collect())
}

/// Removes grants whose refresh family ended more than a day ago (their codes and refresh
/// tokens go with them; access tokens they issued have long expired).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from grants where expires_at <= $1",
        (now - 86400,),
    )
    .await
}

/// Revokes every live grant of a person (their refresh and access tokens stop working),
/// except those made in the session `keep_sid` (if any).
pub async fn revoke_for_user(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    keep_sid: Option<&str>,
    now: UnixTime,
) -> Result<u64, sqlx::Error> {
    let sql = "update grants set revoked_at = $1
         where user_id = $2 and revoked_at is null and ($3 = '' or coalesce(sid, '') <> $3)";
    run(db, sql, (now, user_id, keep_sid.unwrap_or(""))).await
}

/// Revokes every live grant a person gave one client (its refresh and access tokens stop
/// working), inside a transaction; returns how many.
pub async fn revoke_for_client_in(
    tx: &mut Tx<'_>,
    user_id: &str,
    client_id: &str,
    now: UnixTime,
) -> Result<u64, sqlx::Error> {
    let sql = "update grants set revoked_at = $1
         where user_id = $2 and client_id = $3 and revoked_at is null";
    run(tx, sql, (now, user_id, client_id)).await
}
