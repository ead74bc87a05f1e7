//! `consents`: what a person has allowed a client, remembered so they are asked once.

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db, Tx};

/// The scopes a person has granted a client, space-separated.
pub async fn find(db: &Db, user_id: &str, client_id: &str) -> Result<Option<String>, sqlx::Error> {
    let sql = "select scope from consents where user_id = $1 and client_id = $2";
    let row: Option<(String,)> = optional(db.pool(), sql, (user_id, client_id)).await?;
    Ok(row.map(|(s,)| s))
}

/// Records (or widens) a consent.
pub async fn upsert(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into consents (user_id, client_id, scope, created_at) values ($1, $2, $3, $4)
         on conflict (user_id, client_id) do update set scope = excluded.scope, created_at = excluded.created_at";
    exec(db, sql, (user_id, client_id, scope, now)).await
}

/// A consent as the person sees it on their account page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentView {
    pub client_id: String,
    /// The client's display name.
    pub client_name: String,
    /// Space-separated scopes.
    pub scope: String,
    /// When it was given (or last widened).
    pub created_at: i64,
}

/// The clients a person has consented to, most recent first.
pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<ConsentView>, sqlx::Error> {
    let sql = "select c.client_id, cl.name as client_name, c.scope, c.created_at
         from consents c join clients cl on cl.id = c.client_id
         where c.user_id = $1 order by c.created_at desc, cl.name, c.client_id";
    all(db.pool(), sql, (user_id,)).await
}

/// Withdraws a person's consent to a client inside a transaction; returns whether there was
/// one.
pub async fn delete_in(
    tx: &mut Tx<'_>,
    user_id: &str,
    client_id: &str,
) -> Result<bool, sqlx::Error> {
    let sql = "delete from consents where user_id = $1 and client_id = $2";
    Ok(run(tx, sql, (user_id, client_id)).await? > 0)
}
