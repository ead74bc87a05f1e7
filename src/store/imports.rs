//! `member_imports` (issue 18): the progress of member imports started in the admin UI, so
//! that any node can show it while the import runs on the node that took the file.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{all, exec, optional, run};

/// An import as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ImportRow {
    pub id: String,
    pub organisation_id: String,
    pub file_name: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    pub total: i64,
    pub done: i64,
    /// JSON counts (`crate::scim::import::Summary`).
    pub summary: String,
    /// JSON list of `{line, reason}`.
    pub refused: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, organisation_id, file_name, state, total, done, summary, refused, created_at, updated_at";

/// Stores a new import.
pub async fn insert(db: &Db, r: &ImportRow) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into member_imports ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    let binds = (
        r.id.as_str(),
        r.organisation_id.as_str(),
        r.file_name.as_str(),
        r.state.as_str(),
        r.total,
        r.done,
        r.summary.as_str(),
        r.refused.as_str(),
        r.created_at,
        r.updated_at,
    );
    exec(db, &sql, binds).await
}

/// Records progress.
pub async fn progress(db: &Db, id: &str, done: i64, now: UnixTime) -> Result<(), sqlx::Error> {
    let sql = "update member_imports set done = $1, updated_at = $2 where id = $3";
    run(db, sql, (done, now, id)).await.map(|_| ())
}

/// Records the end.
pub async fn finish(
    db: &Db,
    id: &str,
    state: &str,
    done: i64,
    summary: &str,
    refused: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update member_imports set state = $1, done = $2, summary = $3, refused = $4, updated_at = $5 where id = $6";
    run(db, sql, (state, done, summary, refused, now, id))
        .await
        .map(|_| ())
}

/// One import of the organisation.
pub async fn find(db: &Db, org: &str, id: &str) -> Result<Option<ImportRow>, sqlx::Error> {
    let sql =
        format!("select {COLUMNS} from member_imports where organisation_id = $1 and id = $2");
    optional(db.pool(), &sql, (org, id)).await
}

/// The organisation's newest imports.
pub async fn recent(db: &Db, org: &str, limit: i64) -> Result<Vec<ImportRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from member_imports where organisation_id = $1
         order by created_at desc, id desc limit $2"
    );
    all(db.pool(), &sql, (org, limit)).await
}
