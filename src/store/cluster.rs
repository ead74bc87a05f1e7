//! `node_versions` and `installation_settings`: which version each node runs (a heartbeat
//! every node writes) and which version the installation's last upgrade was finished to.
//! The rules built on them are `crate::upgrade`'s; this file only reads and writes rows.

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{all, exec, optional, run};

/// The setting naming the version the last upgrade was finished to.
const FINISHED_VERSION: &str = "finished_version";

/// A node's last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct NodeRow {
    pub node: String,
    pub version: String,
    pub started_at: i64,
    pub last_seen_at: i64,
}

/// Records that `node` runs `version` and is alive at `now`.
pub async fn heartbeat(
    db: &Db,
    node: &str,
    version: &str,
    started_at: UnixTime,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into node_versions (node, version, started_at, last_seen_at) values ($1, $2, $3, $4)
         on conflict (node) do update set version = $2, started_at = $3, last_seen_at = $4";
    exec(db, sql, (node, version, started_at, now)).await
}

/// Nodes seen since `since`, by name.
pub async fn seen_since(db: &Db, since: UnixTime) -> Result<Vec<NodeRow>, sqlx::Error> {
    let sql = "select node, version, started_at, last_seen_at from node_versions
         where last_seen_at >= $1 order by node";
    all(db.pool(), sql, (since,)).await
}

/// Forgets nodes not seen since `before`.
pub async fn forget_nodes(db: &Db, before: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from node_versions where last_seen_at < $1",
        (before,),
    )
    .await
}

/// The version the last upgrade was finished to (`None`: never recorded, i.e. the
/// installation was made by a version older than this mechanism and not finished since).
pub async fn finished_version(db: &Db) -> Result<Option<String>, sqlx::Error> {
    let sql = "select value from installation_settings where name = $1";
    let row: Option<(String,)> = optional(db.pool(), sql, (FINISHED_VERSION,)).await?;
    Ok(row.map(|(v,)| v))
}

/// Records `version` as the finished version.
pub async fn set_finished_version(
    db: &Db,
    version: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into installation_settings (name, value, updated_at) values ($1, $2, $3)
         on conflict (name) do update set value = $2, updated_at = $3";
    exec(db, sql, (FINISHED_VERSION, version, now)).await
}
