//! `consents`: what a person has allowed a client, remembered so they are asked once.

use crate::clock::UnixTime;
use crate::store::{Conn, Db};

/// The scopes a person has granted a client, space-separated.
pub async fn find(db: &Db, user_id: &str, client_id: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("select scope from consents where user_id = $1 and client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(db.pool())
            .await?;
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
    sqlx::query(
        "insert into consents (user_id, client_id, scope, created_at) values ($1, $2, $3, $4)
         on conflict (user_id, client_id) do update set scope = excluded.scope, created_at = excluded.created_at",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(scope)
    .bind(now)
    .execute(&mut *db.into().get().await?)
    .await?;
    Ok(())
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
    sqlx::query_as::<_, ConsentView>(
        "select c.client_id, cl.name as client_name, c.scope, c.created_at
         from consents c join clients cl on cl.id = c.client_id
         where c.user_id = $1 order by c.created_at desc, cl.name, c.client_id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await
}

/// Withdraws a person's consent to a client inside a transaction; returns whether there was
/// one.
pub async fn delete_in(
    tx: &mut crate::store::Tx<'_>,
    user_id: &str,
    client_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("delete from consents where user_id = $1 and client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            > 0,
    )
}
