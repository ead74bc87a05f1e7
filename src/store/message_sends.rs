//! `message_sends`: one row per message with a key a person asked for (sent, or refused by
//! the send limits), which the limits count (`sms::limits`). Each row names the budget it
//! was counted in; recipients and the person who asked are keyed hashes. Rows older than
//! two days are purged.

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::{one, optional, run};

/// A decision to record.
#[derive(Debug)]
pub struct NewSend<'a> {
    /// The id of the request (recording it again changes nothing).
    pub id: &'a str,
    /// `email` or `sms`.
    pub channel: &'a str,
    /// The budget it is counted in (`sms::limits::Budget`).
    pub budget: &'a str,
    pub recipient_hash: &'a str,
    pub ip: Option<&'a str>,
    /// The keyed hash of the person who asked, when they proved a factor of their account.
    pub person_hash: Option<&'a str>,
    pub organisation_id: Option<&'a str>,
    /// Country calling code (SMS only).
    pub country: Option<&'a str>,
    pub sent: bool,
}

/// Records a decision once; returns the decision already recorded for `id`, if any.
pub async fn record(db: &Db, s: &NewSend<'_>, now: UnixTime) -> Result<bool, sqlx::Error> {
    let sql = "insert into message_sends
             (id, channel, budget, recipient_hash, ip, person_hash, organisation_id, country, created_at, sent)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict (id) do nothing";
    let binds = (
        s.id,
        s.channel,
        s.budget,
        s.recipient_hash,
        s.ip,
        s.person_hash,
        s.organisation_id,
        s.country,
        now,
        crate::store::flag(s.sent),
    );
    run(db, sql, binds).await?;
    let sql = "select sent from message_sends where id = $1";
    let (sent,): (i64,) = one(db.writer(), sql, (s.id,)).await?;
    Ok(sent != 0)
}

/// The decision recorded for `id`, if any.
pub async fn decided(db: &Db, id: &str) -> Result<Option<bool>, sqlx::Error> {
    let sql = "select sent from message_sends where id = $1";
    let row: Option<(i64,)> = optional(db.writer(), sql, (id,)).await?;
    Ok(row.map(|(s,)| s != 0))
}

/// What is counted against one limit.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Recipient(&'a str),
    Ip(&'a str),
    /// A person's keyed hash.
    Person(&'a str),
    Organisation(&'a str),
    Country(&'a str),
    All,
}

/// The messages sent within one scope since a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: i64,
    /// When the oldest of them was sent: the count falls when it is a day old.
    pub oldest: Option<UnixTime>,
}

/// Messages sent on `channel` within `scope` since `since`, counted in `budget` only, or in
/// every budget when `None`. Each scope's column leads an index (`created_at` second).
pub async fn window(
    db: &Db,
    channel: &str,
    budget: Option<&str>,
    scope: Scope<'_>,
    since: UnixTime,
) -> Result<Window, sqlx::Error> {
    let (column, value) = match scope {
        Scope::Recipient(v) => ("recipient_hash", v),
        Scope::Ip(v) => ("ip", v),
        Scope::Person(v) => ("person_hash", v),
        Scope::Organisation(v) => ("organisation_id", v),
        Scope::Country(v) => ("country", v),
        Scope::All => ("channel", channel),
    };
    // Only fixed column names are formatted in; every value is bound.
    let sql = format!(
        "select count(*), min(created_at) from message_sends
         where {column} = $3 and channel = $1 and sent = 1 and created_at > $2{}",
        if budget.is_some() {
            " and budget = $4"
        } else {
            ""
        }
    );
    let mut q = sqlx::query_as::<_, (i64, Option<i64>)>(&sql)
        .bind(channel)
        .bind(since)
        .bind(value);
    if let Some(b) = budget {
        q = q.bind(b);
    }
    let (count, oldest) = q.fetch_one(db.writer()).await?;
    Ok(Window { count, oldest })
}

/// Messages sent on `channel` within `scope` since `since`, in every budget.
pub async fn count_sent(
    db: &Db,
    channel: &str,
    scope: Scope<'_>,
    since: UnixTime,
) -> Result<i64, sqlx::Error> {
    Ok(window(db, channel, None, scope, since).await?.count)
}

/// When the last message of `budget` to a recipient was sent, if any.
pub async fn last_sent_to(
    db: &Db,
    channel: &str,
    budget: &str,
    recipient_hash: &str,
) -> Result<Option<UnixTime>, sqlx::Error> {
    let sql = "select max(created_at) from message_sends
         where recipient_hash = $2 and channel = $1 and budget = $3 and sent = 1";
    let binds = (channel, recipient_hash, budget);
    let row: Option<(Option<i64>,)> = optional(db.writer(), sql, binds).await?;
    Ok(row.and_then(|(t,)| t))
}

/// Removes rows older than `before`.
pub async fn delete_before(db: &Db, before: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from message_sends where created_at < $1",
        (before,),
    )
    .await
}
