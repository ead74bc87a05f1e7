//! `signing_keys`: JWS signing keys, private parts encrypted with the master key.

use sqlx::FromRow;

use crate::store::sql::{all, exec, one, run};
use crate::store::{Backend, Conn, Db, Tx};

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

/// Inserts a key on `conn` (the write pool or a transaction).
async fn insert_on(conn: impl Into<Conn<'_>>, k: &KeyRow) -> Result<u64, sqlx::Error> {
    let sql =
        "insert into signing_keys (id, alg, private_key, public_jwk, created_at, activates_at)
         values ($1, $2, $3, $4, $5, $6)";
    let binds = (
        &k.id,
        &k.alg,
        &k.private_key,
        &k.public_jwk,
        k.created_at,
        k.activates_at,
    );
    run(conn, sql, binds).await
}

/// Inserts a key.
pub async fn insert(db: &Db, k: &KeyRow) -> Result<(), sqlx::Error> {
    insert_on(db, k).await?;
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
        run(
            &mut tx,
            "lock table signing_keys in share row exclusive mode",
            (),
        )
        .await?;
    }
    let sql = "select count(*) from signing_keys where alg = $1";
    let (n,): (i64,) = one(&mut *tx, sql, (&k.alg,)).await?;
    if n > 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_on(&mut tx, k).await?;
    tx.commit().await?;
    Ok(true)
}

/// Every key, oldest activation first.
pub async fn list(db: &Db) -> Result<Vec<KeyRow>, sqlx::Error> {
    let sql = "select id, alg, private_key, public_jwk, created_at, activates_at from signing_keys
         order by activates_at, id";
    all(db.pool(), sql, ()).await
}

/// Deletes keys by id (keys past their retention).
pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    exec(db, "delete from signing_keys where id = $1", (id,)).await
}

/// Replaces a key's sealed private part (master-key rotation) inside `tx`, only if it is still
/// `old`; returns whether it changed.
pub async fn reseal(tx: &mut Tx<'_>, id: &str, old: &str, new: &str) -> Result<bool, sqlx::Error> {
    let sql = "update signing_keys set private_key = $1 where id = $2 and private_key = $3";
    Ok(run(tx, sql, (new, id, old)).await? == 1)
}
