//! `outbox`: messages waiting to be delivered. The payload is sealed with the master key by
//! the caller (it may hold a link); this module only moves rows through their life:
//! enqueued -> claimed (for `claimed_until`) -> sent, or back to waiting with a later
//! `next_attempt_at` after a failure.
//!
//! Claiming is one statement that re-checks the claim conditions on the row it updates, so
//! two senders (threads or nodes) never claim the same row; a sender that dies mid-delivery
//! leaves a claim that lapses, and the row is tried again (the file backend writes under the
//! row id, so a retry overwrites rather than duplicates).

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Backend, Conn, Db, Tx};

/// A new message.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    /// `email`, `sms`, or `request` (a key request to process, `auth::keys`).
    pub channel: &'a str,
    pub recipient: &'a str,
    /// The sealed payload.
    pub payload: &'a str,
}

/// A claimed message.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub payload: String,
    pub created_at: i64,
    /// Attempts including this one.
    pub attempts: i64,
}

/// A row as operators (and tests) see it; no payload.
#[derive(Debug, Clone, FromRow)]
pub struct Status {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

const STATUS_COLUMNS: &str = "id, channel, recipient, created_at, attempts, next_attempt_at, claimed_until, sent_at, last_error";

/// Enqueues a message, due at once.
pub async fn insert(
    db: impl Into<Conn<'_>>,
    m: &NewMessage<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into outbox (id, channel, recipient, payload, created_at, attempts, next_attempt_at)
         values ($1, $2, $3, $4, $5, 0, $5)";
    exec(db, sql, (m.id, m.channel, m.recipient, m.payload, now)).await
}

/// Enqueues a message unless one with the same id exists (a request processed again after a
/// crash queues its message once). Returns whether it was inserted.
pub async fn insert_once(
    db: impl Into<Conn<'_>>,
    m: &NewMessage<'_>,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let sql = "insert into outbox (id, channel, recipient, payload, created_at, attempts, next_attempt_at)
         values ($1, $2, $3, $4, $5, 0, $5) on conflict (id) do nothing";
    Ok(run(db, sql, (m.id, m.channel, m.recipient, m.payload, now)).await? > 0)
}

/// Claims up to `limit` due messages until `now + lease`, counting the attempt. Due: not
/// sent, `next_attempt_at` reached, fewer than `max_attempts` attempts, no live claim.
pub async fn claim_due(
    db: &Db,
    now: UnixTime,
    lease: i64,
    max_attempts: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    // On PostgreSQL the inner select locks the rows it picks and skips those another claimer
    // holds, so concurrent claimers take different rows (without it, claimers that started
    // together all pick the same first rows, all but one come away empty and the rows after
    // them wait for the next pass). The outer conditions repeat the inner ones: a claimer
    // that meets a row updated meanwhile re-evaluates them against the new row and skips it.
    // SQLite has one writer at a time: there is nothing to skip.
    let lock = match db.backend() {
        Backend::Postgres => "for update skip locked",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "update outbox set claimed_until = $1, attempts = attempts + 1
         where id in (
             select id from outbox
             where sent_at is null and next_attempt_at <= $2 and attempts < $3
               and (claimed_until is null or claimed_until <= $2)
             order by next_attempt_at, id
             limit $4 {lock})
           and sent_at is null and attempts < $3
           and (claimed_until is null or claimed_until <= $2)
         returning id, channel, recipient, payload, created_at, attempts"
    );
    all(db.writer(), &sql, (now + lease, now, max_attempts, limit)).await
}

/// Makes `id` due at once with no attempts made, as a new row or by resetting the one
/// there (a redelivery asked for by an admin).
pub async fn requeue(
    db: impl Into<Conn<'_>>,
    id: &str,
    (channel, recipient): (&str, &str),
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into outbox (id, channel, recipient, payload, created_at, attempts, next_attempt_at)
         values ($1, $2, $3, '', $4, 0, $4)
         on conflict (id) do update set sent_at = null, attempts = 0, next_attempt_at = $4,
             claimed_until = null, last_error = null";
    exec(db, sql, (id, channel, recipient, now)).await
}

/// Puts a claimed row back without counting the attempt, due at `at` (a webhook message
/// waiting for an earlier one about the same person).
pub async fn defer(db: &Db, id: &str, at: UnixTime) -> Result<(), sqlx::Error> {
    let sql =
        "update outbox set claimed_until = null, attempts = attempts - 1, next_attempt_at = $1
         where id = $2 and sent_at is null";
    exec(db, sql, (at, id)).await
}

/// Records a delivery.
pub async fn mark_sent(db: &Db, id: &str, now: UnixTime) -> Result<(), sqlx::Error> {
    let sql =
        "update outbox set sent_at = $1, claimed_until = null, last_error = null where id = $2";
    exec(db, sql, (now, id)).await
}

/// Records a failed attempt; the message is due again at `next_attempt_at`. `error` must not
/// hold anything secret.
pub async fn mark_failed(
    db: &Db,
    id: &str,
    error: &str,
    next_attempt_at: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update outbox set claimed_until = null, last_error = $1, next_attempt_at = $2 where id = $3";
    exec(db, sql, (error, next_attempt_at, id)).await
}

/// One message's delivery state.
pub async fn status(db: &Db, id: &str) -> Result<Option<Status>, sqlx::Error> {
    let sql = format!("select {STATUS_COLUMNS} from outbox where id = $1");
    optional(db.pool(), &sql, (id,)).await
}

/// The newest `limit` rows of `channel` for `recipient`, newest first (sent rows stay for
/// a day, undeliverable ones for a month: see `mail::delivery`).
pub async fn recent_for(
    db: &Db,
    channel: &str,
    recipient: &str,
    limit: i64,
) -> Result<Vec<Status>, sqlx::Error> {
    let sql = format!(
        "select {STATUS_COLUMNS} from outbox where channel = $1 and recipient = $2
         order by created_at desc, id desc limit $3"
    );
    all(db.pool(), &sql, (channel, recipient, limit)).await
}

/// Messages not yet delivered, oldest first.
pub async fn pending(db: &Db) -> Result<Vec<Status>, sqlx::Error> {
    let sql = format!(
        "select {STATUS_COLUMNS} from outbox where sent_at is null order by created_at, id"
    );
    all(db.pool(), &sql, ()).await
}

/// Removes messages sent before `sent_before`, and undeliverable ones (out of attempts)
/// created before `dead_before` (SECURITY.md 14.2.7: their payloads hold expired links).
pub async fn delete_done(
    db: &Db,
    sent_before: UnixTime,
    dead_before: UnixTime,
    max_attempts: i64,
) -> Result<u64, sqlx::Error> {
    let sql = "delete from outbox
         where (sent_at is not null and sent_at < $1)
            or (sent_at is null and attempts >= $3 and created_at < $2)";
    run(db, sql, (sent_before, dead_before, max_attempts)).await
}

/// Messages not yet delivered (and not given up on), per channel.
pub async fn depth(db: &Db, max_attempts: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = "select channel, count(*) from outbox where sent_at is null and attempts < $1
         group by channel order by channel";
    all(db.pool(), sql, (max_attempts,)).await
}

/// Every row's id and sealed payload (master-key rotation).
pub async fn sealed_payloads(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    all(
        db.writer(),
        "select id, payload from outbox where payload <> '' order by id",
        (),
    )
    .await
}

/// Replaces a row's sealed payload inside `tx`, only if it is still `old` (master-key
/// rotation); returns whether it changed.
pub async fn reseal(tx: &mut Tx<'_>, id: &str, old: &str, new: &str) -> Result<bool, sqlx::Error> {
    let sql = "update outbox set payload = $1 where id = $2 and payload = $3";
    Ok(run(tx, sql, (new, id, old)).await? == 1)
}
