//! `audit_events`: an append-only record of who did what to whom, when and from where
//! (logins, failures, token reuse, admin actions, role changes, resets, client changes, key
//! rotations). There is no update or delete here except the retention purge; details never
//! hold secrets.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec};
use crate::store::{Conn, Db};

/// One event to record.
#[derive(Debug, Default)]
pub struct Event<'a> {
    pub kind: &'a str,
    /// The person the event is about.
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
    /// Who did it: a person's id, `client:<id>` or `cli` (absent: the person themself).
    pub actor_id: Option<&'a str>,
    /// The organisation whose admins may see the event.
    pub organisation_id: Option<&'a str>,
}

/// Appends an event. The event of a change goes into the change's transaction (pass the
/// `&mut Tx`), so that the change and its record commit together or not at all; events that
/// record no change (a failed login, a refusal) may stand alone (pass the `&Db`).
pub async fn append(
    db: impl Into<Conn<'_>>,
    e: &Event<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into audit_events (id, at, kind, user_id, client_id, ip, detail, actor_id, organisation_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let (id, detail) = (crate::crypto::random_id(), e.detail.to_string());
    let binds = (
        id,
        now,
        e.kind,
        e.user_id,
        e.client_id,
        e.ip,
        detail,
        e.actor_id,
        e.organisation_id,
    );
    exec(db, sql, binds).await
}

/// A recorded event.
#[derive(Debug, Clone, FromRow)]
pub struct Row {
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
}

const COLUMNS: &str = "id, at, kind, user_id, client_id, ip, detail, actor_id, organisation_id";

/// Which events to read.
#[derive(Debug, Default, Clone)]
pub struct Filter<'a> {
    /// Only this organisation's events (`None`: all, for superadmins).
    pub organisation_id: Option<&'a str>,
    /// Only events about this person.
    pub user_id: Option<&'a str>,
    /// Only this kind.
    pub kind: Option<&'a str>,
    /// Only events at or after this instant.
    pub since: Option<i64>,
}

/// Events, newest first, before the cursor `(at, id)`.
pub async fn list(
    db: &Db,
    f: &Filter<'_>,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let (before_at, before_id) = before.unwrap_or((i64::MAX, ""));
    let sql = format!(
        "select {COLUMNS} from audit_events
         where ($1 = '' or organisation_id = $1)
           and ($2 = '' or user_id = $2)
           and ($3 = '' or kind = $3)
           and at >= $4
           and (at < $5 or (at = $5 and id < $6))
         order by at desc, id desc limit $7"
    );
    let binds = (
        f.organisation_id.unwrap_or(""),
        f.user_id.unwrap_or(""),
        f.kind.unwrap_or(""),
        f.since.unwrap_or(0),
        before_at,
        before_id,
        limit + 1,
    );
    all(db.pool(), &sql, binds).await
}

/// The newest `limit` events about a person (`user_id`), newest first: their own account
/// page's "recent security events".
pub async fn recent_for_user(db: &Db, user_id: &str, limit: i64) -> Result<Vec<Row>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from audit_events where user_id = $1
         order by at desc, id desc limit $2"
    );
    all(db.pool(), &sql, (user_id, limit)).await
}
