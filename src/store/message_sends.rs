//! `message_sends`: one row per message with a key a person asked for (sent, or refused by
//! the send limits), which the limits count (`sms::limits`). Recipients are keyed hashes.
//! Rows older than two days are purged.

use crate::clock::UnixTime;
use crate::store::Db;

/// A decision to record.
#[derive(Debug)]
pub struct NewSend<'a> {
    /// The id of the request (recording it again changes nothing).
    pub id: &'a str,
    /// `email` or `sms`.
    pub channel: &'a str,
    pub recipient_hash: &'a str,
    pub ip: Option<&'a str>,
    pub organisation_id: Option<&'a str>,
    /// Country calling code (SMS only).
    pub country: Option<&'a str>,
    pub sent: bool,
}

/// Records a decision once; returns the decision already recorded for `id`, if any.
pub async fn record(db: &Db, s: &NewSend<'_>, now: UnixTime) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "insert into message_sends (id, channel, recipient_hash, ip, organisation_id, country, created_at, sent)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (id) do nothing",
    )
    .bind(s.id)
    .bind(s.channel)
    .bind(s.recipient_hash)
    .bind(s.ip)
    .bind(s.organisation_id)
    .bind(s.country)
    .bind(now)
    .bind(crate::store::flag(s.sent))
    .execute(db.writer())
    .await?;
    let (sent,): (i64,) = sqlx::query_as("select sent from message_sends where id = $1")
        .bind(s.id)
        .fetch_one(db.writer())
        .await?;
    Ok(sent != 0)
}

/// The decision recorded for `id`, if any.
pub async fn decided(db: &Db, id: &str) -> Result<Option<bool>, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("select sent from message_sends where id = $1")
        .bind(id)
        .fetch_optional(db.writer())
        .await?;
    Ok(row.map(|(s,)| s != 0))
}

/// What is counted against one limit.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Recipient(&'a str),
    Ip(&'a str),
    Organisation(&'a str),
    Country(&'a str),
    All,
}

/// Messages sent on `channel` within `scope` since `since`.
pub async fn count_sent(
    db: &Db,
    channel: &str,
    scope: Scope<'_>,
    since: UnixTime,
) -> Result<i64, sqlx::Error> {
    let (column, value) = match scope {
        Scope::Recipient(v) => ("recipient_hash", Some(v)),
        Scope::Ip(v) => ("ip", Some(v)),
        Scope::Organisation(v) => ("organisation_id", Some(v)),
        Scope::Country(v) => ("country", Some(v)),
        Scope::All => ("channel", None),
    };
    let sql = format!(
        "select count(*) from message_sends where channel = $1 and sent = 1 and created_at > $2 and {column} = $3"
    );
    let (n,): (i64,) = sqlx::query_as(&sql)
        .bind(channel)
        .bind(since)
        .bind(value.unwrap_or(channel))
        .fetch_one(db.writer())
        .await?;
    Ok(n)
}

/// When the last message to a recipient was sent, if any.
pub async fn last_sent_to(
    db: &Db,
    channel: &str,
    recipient_hash: &str,
) -> Result<Option<UnixTime>, sqlx::Error> {
    let row: Option<(Option<i64>,)> = sqlx::query_as(
        "select max(created_at) from message_sends where channel = $1 and recipient_hash = $2 and sent = 1",
    )
    .bind(channel)
    .bind(recipient_hash)
    .fetch_optional(db.writer())
    .await?;
    Ok(row.and_then(|(t,)| t))
}

/// Removes rows older than `before`.
pub async fn delete_before(db: &Db, before: UnixTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from message_sends where created_at < $1")
            .bind(before)
            .execute(db.writer())
            .await?
            .rows_affected(),
    )
}
