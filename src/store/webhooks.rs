//! `webhook_endpoints` and `webhook_messages` (issue 18): where an organisation (or the
//! installation) wants events sent, and each event queued for each endpoint with its
//! delivery history. Secrets and bodies arrive sealed (`webhooks::endpoints`,
//! `webhooks::events`); this module only stores and moves rows. The outbox row that carries
//! a message through the delivery loop has the message's id (`store::outbox`).

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db, Tx};

/// An endpoint as stored.
#[derive(Debug, Clone, FromRow)]
pub struct EndpointRow {
    pub id: String,
    /// `None`: the installation's (superadmins).
    pub organisation_id: Option<String>,
    pub url: String,
    pub description: String,
    /// JSON list of event types; `[]` is every event.
    pub events: String,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const ENDPOINT_COLUMNS: &str = "id, organisation_id, url, description, events, secret_sealed, previous_secret_sealed, previous_secret_until, enabled, created_at, updated_at";

/// Stores a new endpoint.
pub async fn insert(db: impl Into<Conn<'_>>, e: &EndpointRow) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into webhook_endpoints ({ENDPOINT_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let binds = (
        e.id.as_str(),
        e.organisation_id.as_deref(),
        e.url.as_str(),
        e.description.as_str(),
        e.events.as_str(),
        e.secret_sealed.as_str(),
        e.previous_secret_sealed.as_deref(),
        e.previous_secret_until,
        e.enabled,
        e.created_at,
        e.updated_at,
    );
    exec(db, &sql, binds).await
}

/// One endpoint.
pub async fn find(db: &Db, id: &str) -> Result<Option<EndpointRow>, sqlx::Error> {
    let sql = format!("select {ENDPOINT_COLUMNS} from webhook_endpoints where id = $1");
    optional(db.pool(), &sql, (id,)).await
}

/// The endpoints of an organisation (or of the installation, `None`), oldest first.
pub async fn list(db: &Db, organisation_id: Option<&str>) -> Result<Vec<EndpointRow>, sqlx::Error> {
    let sql = format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoints
         where ($1 = '' and organisation_id is null) or organisation_id = $1
         order by created_at, id"
    );
    all(db.pool(), &sql, (organisation_id.unwrap_or(""),)).await
}

/// The enabled endpoints that hear of an event in `organisation_id` (its own and the
/// installation's), read inside the changing transaction.
pub async fn listening(
    tx: &mut Tx<'_>,
    organisation_id: Option<&str>,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    let sql = format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoints
         where enabled = 1 and (organisation_id is null or organisation_id = $1)
         order by id"
    );
    all(&mut **tx, &sql, (organisation_id.unwrap_or(""),)).await
}

/// Changes an endpoint's URL, description, events and whether it is enabled.
pub async fn update(db: impl Into<Conn<'_>>, e: &EndpointRow) -> Result<bool, sqlx::Error> {
    let sql = "update webhook_endpoints set url = $1, description = $2, events = $3, enabled = $4,
         updated_at = $5 where id = $6";
    let binds = (
        e.url.as_str(),
        e.description.as_str(),
        e.events.as_str(),
        e.enabled,
        e.updated_at,
        e.id.as_str(),
    );
    Ok(run(db, sql, binds).await? > 0)
}

/// Replaces the secret; the old one stays valid (and signs) until `previous_until`.
pub async fn rotate_secret(
    db: impl Into<Conn<'_>>,
    id: &str,
    (new_sealed, previous_sealed): (&str, &str),
    previous_until: UnixTime,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let sql = "update webhook_endpoints set secret_sealed = $1, previous_secret_sealed = $2,
         previous_secret_until = $3, updated_at = $4 where id = $5";
    let binds = (new_sealed, previous_sealed, previous_until, now, id);
    Ok(run(db, sql, binds).await? > 0)
}

/// Deletes an endpoint (its messages go with it).
pub async fn delete(db: impl Into<Conn<'_>>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(run(db, "delete from webhook_endpoints where id = $1", (id,)).await? > 0)
}

/// A message ready to be queued (built by `webhooks::events`).
#[derive(Debug, Clone)]
pub struct Queued {
    /// The `webhook-id`, and the outbox row's id.
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    /// Who it is about: one subject's messages go to an endpoint in `ordinal` order.
    pub subject: String,
    pub ordinal: i64,
    /// The sealed body.
    pub payload: String,
}

/// The outbox channel of webhook messages; the row's recipient is the endpoint id and its
/// payload is empty (the body is sealed in `webhook_messages`).
pub const CHANNEL: &str = "webhook";

/// Stores a pending message and the outbox row that delivers it.
pub async fn queue(tx: &mut Tx<'_>, m: &Queued, now: UnixTime) -> Result<(), sqlx::Error> {
    let sql = "insert into webhook_messages (id, endpoint_id, event_type, subject, ordinal, payload, created_at, state)
         values ($1, $2, $3, $4, $5, $6, $7, 'pending')";
    let binds = (
        m.id.as_str(),
        m.endpoint_id.as_str(),
        m.event_type.as_str(),
        m.subject.as_str(),
        m.ordinal,
        m.payload.as_str(),
        now,
    );
    exec(&mut *tx, sql, binds).await?;
    let row = crate::store::outbox::NewMessage {
        id: &m.id,
        channel: CHANNEL,
        recipient: &m.endpoint_id,
        payload: "",
    };
    crate::store::outbox::insert(&mut *tx, &row, now).await
}

/// A message as stored.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub subject: String,
    pub ordinal: i64,
    pub payload: String,
    pub created_at: i64,
    /// `pending`, `delivered`, `failed` (given up) or `dropped`.
    pub state: String,
    pub attempts: i64,
    pub last_attempt_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

const MESSAGE_COLUMNS: &str = "id, endpoint_id, event_type, subject, ordinal, payload, created_at, state, attempts, last_attempt_at, last_status, last_error, delivered_at";

/// One message.
pub async fn message(db: &Db, id: &str) -> Result<Option<MessageRow>, sqlx::Error> {
    let sql = format!("select {MESSAGE_COLUMNS} from webhook_messages where id = $1");
    optional(db.pool(), &sql, (id,)).await
}

/// An endpoint's messages, newest first (by `ordinal`), before the cursor `before` (an
/// ordinal).
pub async fn messages(
    db: &Db,
    endpoint_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let sql = format!(
        "select {MESSAGE_COLUMNS} from webhook_messages
         where endpoint_id = $1 and ordinal < $2
         order by ordinal desc limit $3"
    );
    let before = before.unwrap_or(i64::MAX);
    all(db.pool(), &sql, (endpoint_id, before, limit + 1)).await
}

/// When an earlier message to the same endpoint about the same subject is still pending:
/// the soonest instant one of them is due (the later message waits for it); `None` when
/// none is.
pub async fn earlier_pending(db: &Db, m: &MessageRow) -> Result<Option<i64>, sqlx::Error> {
    let sql = "select min(o.next_attempt_at) from webhook_messages m join outbox o on o.id = m.id
         where m.endpoint_id = $1 and m.subject = $2 and m.ordinal < $3 and m.state = 'pending'
           and o.sent_at is null";
    let row: Option<(Option<i64>,)> = optional(
        db.pool(),
        sql,
        (m.endpoint_id.as_str(), m.subject.as_str(), m.ordinal),
    )
    .await?;
    Ok(row.and_then(|(at,)| at))
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt<'a> {
    Delivered {
        status: i64,
    },
    Failed {
        status: Option<i64>,
        error: &'a str,
        give_up: bool,
    },
    /// The endpoint is gone or disabled: nothing will be sent.
    Dropped,
}

/// Records an attempt on a message.
pub async fn record_attempt(
    db: &Db,
    id: &str,
    attempt: Attempt<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let (state, status, error, delivered_at) = match attempt {
        Attempt::Delivered { status } => ("delivered", Some(status), None, Some(now)),
        Attempt::Failed {
            status,
            error,
            give_up,
        } => (
            if give_up { "failed" } else { "pending" },
            status,
            Some(error),
            None,
        ),
        Attempt::Dropped => ("dropped", None, None, None),
    };
    let sql = "update webhook_messages set state = $1, attempts = attempts + 1, last_attempt_at = $2,
         last_status = $3, last_error = $4, delivered_at = coalesce($5, delivered_at) where id = $6";
    exec(db, sql, (state, now, status, error, delivered_at, id)).await
}

/// Makes a message pending again and due at once (a redelivery asked for by an admin),
/// under the same id: a receiver that has it already can tell.
pub async fn reopen(tx: &mut Tx<'_>, m: &MessageRow, now: UnixTime) -> Result<(), sqlx::Error> {
    let sql = "update webhook_messages set state = 'pending' where id = $1";
    exec(&mut *tx, sql, (m.id.as_str(),)).await?;
    crate::store::outbox::requeue(&mut *tx, &m.id, (CHANNEL, &m.endpoint_id), now).await
}

/// Deletes messages created before `cutoff`.
pub async fn delete_old(db: &Db, cutoff: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from webhook_messages where created_at < $1",
        (cutoff,),
    )
    .await
}

/// Every sealed value: `(id, column, sealed)` (master-key rotation).
pub async fn sealed_values(db: &Db) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let rows: Vec<(String, String, Option<String>)> = all(
        db.writer(),
        "select id, secret_sealed, previous_secret_sealed from webhook_endpoints order by id",
        (),
    )
    .await?;
    for (id, current, previous) in rows {
        out.push((id.clone(), "secret_sealed".into(), current));
        if let Some(p) = previous {
            out.push((id, "previous_secret_sealed".into(), p));
        }
    }
    let messages: Vec<(String, String)> = all(
        db.writer(),
        "select id, payload from webhook_messages order by id",
        (),
    )
    .await?;
    out.extend(
        messages
            .into_iter()
            .map(|(id, p)| (id, "payload".to_string(), p)),
    );
    Ok(out)
}

/// Replaces one sealed value inside `tx` if it is still `old`; `column` is one that
/// [`sealed_values`] names.
pub async fn reseal(
    tx: &mut Tx<'_>,
    (id, column): (&str, &str),
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let sql = match column {
        "secret_sealed" => {
            "update webhook_endpoints set secret_sealed = $1 where id = $2 and secret_sealed = $3"
        }
        "previous_secret_sealed" => {
            "update webhook_endpoints set previous_secret_sealed = $1 where id = $2 and previous_secret_sealed = $3"
        }
        _ => "update webhook_messages set payload = $1 where id = $2 and payload = $3",
    };
    Ok(run(tx, sql, (new, id, old)).await? == 1)
}
