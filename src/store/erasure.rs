//! Erasing a person (GDPR art. 17) and the tombstones that keep them erased:
//! `erasure_tombstones` lists the `sub` of everyone erased. [`erase_account`] removes every row that
//! belongs to one person and pseudonymises the audit rows about them or by them; a restore
//! calls [`apply_tombstones`] so people erased after a backup was taken stay erased.
//!
//! What belongs to the person is found from the LIVE schema (`store::export::reach`): the
//! account row, every row that refers to it by a foreign key (transitively: codes and refresh
//! tokens through grants), and the references without a key declared in
//! `store::export::LOOSE` (messages to their address or number, invitations to their
//! address). A table added later with `user_id references users (id)` is covered without a
//! change here. Rows in other people's or organisations' data that merely name them lose the
//! name ([`NULLED`]; foreign keys declared `on delete set null` are nulled by the database).
//!
//! The audit trail keeps what happened, not to whom: every event about or by them gets one
//! random pseudonym (recorded nowhere), its details and IP address dropped; details elsewhere
//! that name their id, address or number are dropped too. Before the account goes, each
//! organisation they belonged to gets a `member.erased` event under the same pseudonym.

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::export::{self, Person, bind_person, quote};
use crate::store::outbox::NewMessage;
use crate::store::sql::{all, exec, optional};
use crate::store::webhooks::Queued;

/// The id prefix of the goodbye message to an erased person: the delivery loop deletes such
/// an outbox row as soon as it is sent ([`forget_sent`]), so their address does not outlive
/// the message.
pub const FAREWELL_PREFIX: &str = "farewell-";

/// Columns that name a person (by `sub`) in rows that are not theirs: set to null.
pub const NULLED: &[(&str, &str)] = &[("memberships", "invited_by"), ("invitations", "invited_by")];

/// One erased person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tombstone {
    /// The erased person's `sub` (users.id).
    pub sub: String,
    pub erased_at: UnixTime,
}

/// What an erasure did.
#[derive(Debug, Clone)]
pub struct Erased {
    /// Whether an account row existed.
    pub existed: bool,
    /// The pseudonym their audit events carry now.
    pub pseudonym: String,
    /// The organisations they belonged to (each got a `member.erased` event).
    pub organisations: Vec<String>,
}

/// Who asked for an erasure, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasedBy<'a> {
    /// The person themself (the audit actor is their pseudonym).
    Themself,
    /// An operator or a restore (`cli`, `restore`, ...).
    Other(&'a str),
}

/// Rows keyed by values derived from the person's address (hashes the caller can compute,
/// e.g. the login throttle's account key): `(table, column, value)`, deleted when present.
pub type Derived<'a> = &'a [(&'a str, &'a str, String)];

fn schema_error(e: crate::store::dump::DumpError) -> sqlx::Error {
    match e {
        crate::store::dump::DumpError::Db(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// `%value%` for `like ... escape '\'`, lower case.
fn contains_pattern(value: &str) -> String {
    crate::paging::like_pattern(value)
}

/// Erases one person in one transaction and records the tombstone. Returns whether an
/// account row existed (false: nothing but leftovers to remove; the tombstone is still
/// recorded).
pub async fn erase_person(db: &Db, sub: &str, now: UnixTime) -> Result<bool, sqlx::Error> {
    let reach = export::reach(db).await.map_err(schema_error)?;
    let by = ErasedBy::Other("restore");
    let erased = erase_within(db, &reach, sub, now, by, &[], None).await?;
    Ok(erased.existed)
}

/// What an erasure owes others, queued in its transaction: outbox messages (logout tokens
/// for the person's apps) and webhook messages (`person.erased` to their organisations).
#[derive(Debug, Clone, Copy)]
pub struct Owed<'a> {
    pub messages: &'a [NewMessage<'a>],
    pub webhooks: &'a [Queued],
}

/// Erases the account of a person who asked (or whom the operator erases) in one transaction
/// (see the module documentation), with the installation-wide `account.erased` event.
pub async fn erase_account(
    db: &Db,
    sub: &str,
    now: UnixTime,
    by: ErasedBy<'_>,
    derived: Derived<'_>,
    owed: Owed<'_>,
) -> Result<Erased, sqlx::Error> {
    let reach = export::reach(db).await.map_err(schema_error)?;
    erase_within(db, &reach, sub, now, by, derived, Some(owed)).await
}

/// An erasure with the schema already read (many erasures in a row); with `record`, the
/// `account.erased` event and the messages owed go into the same transaction (after the
/// person's own rows are gone: the `person.erased` webhook messages name them).
async fn erase_within(
    db: &Db,
    reach: &export::Reach,
    sub: &str,
    now: UnixTime,
    by: ErasedBy<'_>,
    derived: Derived<'_>,
    record: Option<Owed<'_>>,
) -> Result<Erased, sqlx::Error> {
    // With the account gone already (a restore re-applying a tombstone to leftovers), only
    // the `sub` can be matched; the other values match nothing.
    let person = export::person(db, sub).await?.unwrap_or(Person {
        sub: sub.to_string(),
        email: export::NOTHING.into(),
        email_normalized: export::NOTHING.into(),
        phone: None,
    });
    let pseudonym = format!("erased:{}", crate::crypto::random_id());
    let mut tx = db.begin().await?;
    let organisations: Vec<String> = if reach.has("memberships", "organisation_id") {
        sqlx::query_as::<_, (String,)>(
            "select organisation_id from memberships where user_id = $1 order by organisation_id",
        )
        .bind(sub)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(o,)| o)
        .collect()
    } else {
        Vec::new()
    };

    // The audit trail: pseudonymised, never deleted.
    sqlx::query(
        "update audit_events set user_id = $2, detail = '{\"pseudonymised\":true}', ip = null where user_id = $1",
    )
    .bind(sub)
    .bind(&pseudonym)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update audit_events set actor_id = $2, ip = null where actor_id = $1")
        .bind(sub)
        .bind(&pseudonym)
        .execute(&mut *tx)
        .await?;
    let mut named = vec![sub.to_string()];
    if person.email_normalized != export::NOTHING {
        named.push(person.email_normalized.clone());
    }
    if let Some(phone) = &person.phone {
        named.push(phone.clone());
    }
    for value in named {
        sqlx::query(
            "update audit_events set detail = '{\"pseudonymised\":true}' where lower(detail) like $1 escape '\\'",
        )
        .bind(contains_pattern(&value))
        .execute(&mut *tx)
        .await?;
    }

    // Their rows: first the references without a key (depth 0; some look through their
    // login keys for a pending new address), then the rows hanging off the account, deepest
    // first (rows hanging off a row go before it), the account last.
    let mut selections: Vec<_> = reach
        .selections
        .iter()
        .filter(|s| !s.mention_only && s.table.name != "users" && s.table.name != "audit_events")
        .collect();
    selections.sort_by_key(|s| (s.depth != 0, std::cmp::Reverse(s.depth)));
    for s in selections {
        let sql = format!("delete from {} where {}", quote(&s.table.name), s.condition);
        bind_person(sqlx::query(&sql), &person)
            .execute(&mut *tx)
            .await?;
    }
    for (table, column) in NULLED {
        if reach.has(table, column) {
            let sql = format!(
                "update {t} set {c} = null where {c} = $1",
                t = quote(table),
                c = quote(column)
            );
            sqlx::query(&sql).bind(sub).execute(&mut *tx).await?;
        }
    }
    for (table, column, value) in derived {
        if reach.has(table, column) {
            let sql = format!("delete from {} where {} = $1", quote(table), quote(column));
            sqlx::query(&sql).bind(value).execute(&mut *tx).await?;
        }
    }
    let existed = sqlx::query("delete from users where id = $1")
        .bind(sub)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;

    // The organisations hear of it through their audit log: no name, no address.
    let actor = match by {
        ErasedBy::Themself => pseudonym.as_str(),
        ErasedBy::Other(who) => who,
    };
    for org in &organisations {
        sqlx::query(
            "insert into audit_events (id, at, kind, user_id, client_id, ip, detail, actor_id, organisation_id)
             values ($1, $2, 'member.erased', $3, null, null, '{\"pseudonymised\":true}', $4, $5)",
        )
        .bind(crate::crypto::random_id())
        .bind(now)
        .bind(&pseudonym)
        .bind(actor)
        .bind(org)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(owed) = record {
        for m in owed.messages {
            crate::store::outbox::insert_once(&mut tx, m, now).await?;
        }
        for m in owed.webhooks {
            crate::store::webhooks::queue(&mut tx, m, now).await?;
        }
        crate::store::audit::append(
            &mut tx,
            &crate::store::audit::Event {
                kind: "account.erased",
                user_id: Some(&pseudonym),
                actor_id: Some(actor),
                detail: serde_json::json!({ "organisations": organisations.len() }),
                ..Default::default()
            },
            now,
        )
        .await?;
    }
    sqlx::query(
        "insert into erasure_tombstones (user_id, erased_at) values ($1, $2) on conflict (user_id) do nothing",
    )
    .bind(sub)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Erased {
        existed,
        pseudonym,
        organisations,
    })
}

/// Deletes a sent goodbye message (ids starting with [`FAREWELL_PREFIX`]); other rows are
/// left alone. The delivery loop calls this right after a message is sent.
pub async fn forget_sent(db: &Db, outbox_id: &str) -> Result<(), sqlx::Error> {
    if !outbox_id.starts_with(FAREWELL_PREFIX) {
        return Ok(());
    }
    let sql = "delete from outbox where id = $1 and sent_at is not null";
    exec(db, sql, (outbox_id,)).await
}

/// Whether `sub` was erased.
pub async fn is_erased(db: &Db, sub: &str) -> Result<bool, sqlx::Error> {
    let sql = "select user_id from erasure_tombstones where user_id = $1";
    let row: Option<(String,)> = optional(db.pool(), sql, (sub,)).await?;
    Ok(row.is_some())
}

/// Every tombstone, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Tombstone>, sqlx::Error> {
    let sql = "select user_id, erased_at from erasure_tombstones order by erased_at, user_id";
    let rows: Vec<(String, i64)> = all(db.pool(), sql, ()).await?;
    Ok(rows
        .into_iter()
        .map(|(sub, erased_at)| Tombstone { sub, erased_at })
        .collect())
}

/// Erases (again) everyone in `tombstones` whose data is present, and records every
/// tombstone. Returns how many accounts were removed.
pub async fn apply_tombstones(db: &Db, tombstones: &[Tombstone]) -> Result<u64, sqlx::Error> {
    let reach = export::reach(db).await.map_err(schema_error)?;
    let mut removed = 0;
    for t in tombstones {
        let erased = erase_within(
            db,
            &reach,
            &t.sub,
            t.erased_at,
            ErasedBy::Other("restore"),
            &[],
            None,
        )
        .await?;
        if erased.existed {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A_b%c"), "%a\\_b\\%c%");
    }
}
