//! `consents`: what a person has allowed a client, remembered so they are asked once.

use crate::clock::UnixTime;
use crate::store::Db;

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
    db: &Db,
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
    .execute(db.writer())
    .await?;
    Ok(())
}
