//! `audit_events`: an append-only record of security events (logins, failures, token reuse).
//! Details never hold secrets.

use crate::clock::UnixTime;
use crate::store::Db;

/// One event to record.
#[derive(Debug, Default)]
pub struct Event<'a> {
    pub kind: &'a str,
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Appends an event.
pub async fn append(db: &Db, e: &Event<'_>, now: UnixTime) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_events (id, at, kind, user_id, client_id, ip, detail) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::crypto::random_id())
    .bind(now)
    .bind(e.kind)
    .bind(e.user_id)
    .bind(e.client_id)
    .bind(e.ip)
    .bind(e.detail.to_string())
    .execute(db.writer())
    .await?;
    Ok(())
}
