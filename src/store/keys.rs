//! `signing_keys`: JWS signing keys, private parts encrypted with the master key.

use sqlx::FromRow;

use crate::store::{Backend, Db};

/// A stored signing key. `private_key` is sealed with the master key (see `keys::master`).
#[derive(Clone, FromRow)]
pub struct KeyRow {
    pub id: String,
    pub alg: String,
    pub private_key: String,
    pub public_jwk: String,
    pub created_at: i64,
    pub activates_at: i64,
}

/// The insert of a key, bound (run on the pool or in a transaction).
fn insert_query(k: &KeyRow) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
        "insert into signing_keys (id, alg, private_key, public_jwk, created_at, activates_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&k.id)
    .bind(&k.alg)
    .bind(&k.private_key)
    .bind(&k.public_jwk)
    .bind(k.created_at)
    .bind(k.activates_at)
}

/// Inserts a key.
pub async fn insert(db: &Db, k: &KeyRow) -> Result<(), sqlx::Error> {
    insert_query(k).execute(db.writer()).await?;
    Ok(())
}

/// Inserts `k` as the first key of its algorithm unless one exists already (another node
/// starting at the same moment made it); returns whether it was inserted. The check and the
/// insert are one transaction; on PostgreSQL under a table lock that conflicts with itself
/// and with writes, not with reads, so nodes starting together make one first key each
/// algorithm.
pub async fn insert_first(db: &Db, k: &KeyRow) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("lock table signing_keys in share row exclusive mode")
            .execute(&mut *tx)
            .await?;
    }
    let (n,): (i64,) = sqlx::query_as("select count(*) from signing_keys where alg = $1")
        .bind(&k.alg)
        .fetch_one(&mut *tx)
        .await?;
    if n > 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_query(k).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Every key, oldest activation first.
pub async fn list(db: &Db) -> Result<Vec<KeyRow>, sqlx::Error> {
    sqlx::query_as::<_, KeyRow>(
        "select id, alg, private_key, public_jwk, created_at, activates_at from signing_keys
         order by activates_at, id",
    )
    .fetch_all(db.pool())
    .await
}

/// Deletes keys by id (keys past their retention).
pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from signing_keys where id = $1")
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Replaces a key's sealed private part (master-key rotation) inside `tx`, only if it is still
/// `old`; returns whether it changed.
pub async fn reseal(
    tx: &mut crate::store::Tx<'_>,
    id: &str,
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("update signing_keys set private_key = $1 where id = $2 and private_key = $3")
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1,
    )
}
