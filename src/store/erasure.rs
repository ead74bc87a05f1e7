//! Erasing a person (GDPR art. 17) and the tombstones that keep them erased:
//! `erasure_tombstones` lists the `sub` of everyone erased. [`erase_person`] removes what
//! belongs to one person (sessions, grants with their codes and refresh tokens, consents,
//! memberships, login keys, messages waiting for them, invitations they accepted, the account
//! row) and pseudonymises the audit rows about them or by them; a restore calls
//! [`apply_tombstones`] so people erased after a backup was taken stay erased.

use crate::clock::UnixTime;
use crate::store::Db;

/// One erased person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tombstone {
    /// The erased person's `sub` (users.id).
    pub sub: String,
    pub erased_at: UnixTime,
}

/// Erases one person in one transaction and records the tombstone. Returns whether an
/// account row existed (false: nothing but leftovers to remove; the tombstone is still
/// recorded).
pub async fn erase_person(db: &Db, sub: &str, now: UnixTime) -> Result<bool, sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    let contact: Option<(String, Option<String>)> =
        sqlx::query_as("select email, phone from users where id = $1")
            .bind(sub)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((email, phone)) = &contact {
        // Messages still waiting for them carry their address in clear.
        sqlx::query(
            "delete from outbox where sent_at is null and (recipient = $1 or recipient = $2)",
        )
        .bind(email)
        .bind(phone.as_deref().unwrap_or(email))
        .execute(&mut *tx)
        .await?;
        sqlx::query("delete from invitations where email_normalized = $1")
            .bind(email.trim().to_lowercase())
            .execute(&mut *tx)
            .await?;
    }
    for sql in [
        "delete from auth_codes where grant_id in (select id from grants where user_id = $1)",
        "delete from refresh_tokens where grant_id in (select id from grants where user_id = $1)",
        "delete from grants where user_id = $1",
        "delete from sessions where user_id = $1",
        "delete from consents where user_id = $1",
        "delete from memberships where user_id = $1",
        "delete from login_keys where user_id = $1",
        "delete from invitations where accepted_by = $1",
    ] {
        sqlx::query(sql).bind(sub).execute(&mut *tx).await?;
    }
    // The audit trail keeps what happened, not to whom: one random pseudonym per erasure,
    // recorded nowhere, and details (which may name an address, masked or not) dropped.
    let pseudonym = format!("erased:{}", crate::crypto::random_id());
    sqlx::query(
        "update audit_events set user_id = $2, detail = '{\"pseudonymised\":true}', ip = null where user_id = $1",
    )
    .bind(sub)
    .bind(&pseudonym)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update audit_events set actor_id = $2 where actor_id = $1")
        .bind(sub)
        .bind(&pseudonym)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update memberships set invited_by = null where invited_by = $1")
        .bind(sub)
        .execute(&mut *tx)
        .await?;
    let existed = sqlx::query("delete from users where id = $1")
        .bind(sub)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    sqlx::query(
        "insert into erasure_tombstones (user_id, erased_at) values ($1, $2) on conflict (user_id) do nothing",
    )
    .bind(sub)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(existed)
}

/// Every tombstone, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Tombstone>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select user_id, erased_at from erasure_tombstones order by erased_at, user_id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(sub, erased_at)| Tombstone { sub, erased_at })
        .collect())
}

/// Erases (again) everyone in `tombstones` whose data is present, and records every
/// tombstone. Returns how many accounts were removed.
pub async fn apply_tombstones(db: &Db, tombstones: &[Tombstone]) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    for t in tombstones {
        if erase_person(db, &t.sub, t.erased_at).await? {
            removed += 1;
        }
    }
    Ok(removed)
}
