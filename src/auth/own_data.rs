//! A person's own data (GDPR): "download my data" ([`download`], [`document`]) and "delete my
//! account" ([`delete_account`], [`erase_account`]). No axum types; the HTTP pages and the
//! operator CLI call in here.
//!
//! - The export is one JSON document: every row of every table that refers to the person
//!   (found from the live schema, `store::export`), table by table with column names as
//!   keys, never a secret (`store::export::DENIED` plus the secret-looking-name check), with
//!   `generated_at` and the schema version. Asking for it needs a fresh login and is
//!   audited (`data.exported`).
//! - Deletion needs a fresh login and the account's email address typed again. The erasure
//!   and its `account.erased` event (`store::erasure::erase_account`) are one transaction;
//!   afterwards a goodbye message goes to the address (composed from the account row before
//!   it is gone, queued after the erasure committed, so a failed erasure never says
//!   goodbye). Its outbox row is deleted as soon as it is sent
//!   (`store::erasure::FAREWELL_PREFIX`).

use serde_json::json;

use crate::auth::channels::Fresh;
use crate::error::{Error, Result};
use crate::i18n::Texts;
use crate::mail::compose::{base, locale_for};
use crate::mail::letter::Letter;
use crate::state::AppState;
use crate::store::{
    self, Db,
    erasure::{Erased, ErasedBy, FAREWELL_PREFIX},
    users::{User, normalize_email},
};

/// The `format` of the export document.
pub const FORMAT: &str = "nyckel-personal-data/1";

/// The export document of `sub` at `now`, or `None` when there is no such account.
#[tracing::instrument(skip_all)]
pub async fn document(db: &Db, sub: &str, now: i64) -> Result<Option<serde_json::Value>> {
    let Some(person) = store::export::person(db, sub).await? else {
        return Ok(None);
    };
    let reach = store::export::reach(db).await.map_err(dump_error)?;
    let unclassified = store::export::unclassified(&reach);
    if !unclassified.is_empty() {
        // Withheld, not leaked; a test fails on this until the columns are classified.
        tracing::error!(columns = ?unclassified, "columns that look secret are not classified for the data export; withheld");
    }
    let tables = store::export::rows_about(db, &reach, &person)
        .await
        .map_err(dump_error)?;
    let version = store::export::schema_version(db).await?;
    let mut rows = serde_json::Map::new();
    let mut withheld = serde_json::Map::new();
    for (name, t) in tables {
        if !t.withheld.is_empty() {
            withheld.insert(name.clone(), json!(t.withheld));
        }
        rows.insert(name, json!(t.rows));
    }
    Ok(Some(json!({
        "format": FORMAT,
        "schema_version": version,
        "generated_at": now,
        "generated_at_utc": utc(now),
        "sub": sub,
        "tables": rows,
        "withheld_columns": withheld,
    })))
}

fn dump_error(e: store::dump::DumpError) -> Error {
    match e {
        store::dump::DumpError::Db(e) => Error::Db(e),
        other => Error::Corrupt(other.to_string()),
    }
}

/// `YYYY-MM-DD` of a unix time.
pub fn date(unix: i64) -> String {
    crate::clock::utc_date(unix).to_string()
}

fn utc(unix: i64) -> String {
    crate::clock::instant(unix)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The signed-in person's export ("download my data"); records `data.exported`.
#[tracing::instrument(skip_all)]
pub async fn download(state: &AppState, fresh: Fresh<'_>, ip: &str) -> Result<serde_json::Value> {
    let sub = fresh.session().user_id.clone();
    let now = state.now();
    let doc = document(&state.db, &sub, now)
        .await?
        .ok_or_else(|| Error::Corrupt("a session without its account".into()))?;
    crate::auth::audit_person(state, "data.exported", &sub, ip, json!({})).await?;
    Ok(doc)
}

/// The answer to "delete my account".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// Erased; the goodbye message is queued.
    Erased,
    /// The typed address is not the account's: nothing changed.
    NotConfirmed,
    /// The installation's superadmin cannot delete their own account here (another
    /// superadmin or the operator must take over first): nothing changed.
    Superadmin,
}

/// Deletes the signed-in person's account when `confirmation` is its email address.
#[tracing::instrument(skip_all)]
pub async fn delete_account(
    state: &AppState,
    fresh: Fresh<'_>,
    confirmation: &str,
) -> Result<Deletion> {
    let Some(user) = store::users::find(&state.db, &fresh.session().user_id).await? else {
        // Erased meanwhile (a second click while the first was being answered).
        return Ok(Deletion::Erased);
    };
    let typed = confirmation.trim();
    if typed.is_empty() || normalize_email(typed) != normalize_email(&user.email) {
        return Ok(Deletion::NotConfirmed);
    }
    if user.superadmin != 0 {
        return Ok(Deletion::Superadmin);
    }
    erase_account(state, &user, ErasedBy::Themself).await?;
    Ok(Deletion::Erased)
}

/// Erases `user` (see the module documentation) and says goodbye by mail.
#[tracing::instrument(skip_all)]
pub async fn erase_account(state: &AppState, user: &User, by: ErasedBy<'_>) -> Result<Erased> {
    let locale = locale_for(&state.db, user, None).await;
    let message = farewell(Texts::new(locale), user).to_message(&user.email)?;
    let mut derived = vec![
        (
            "login_throttle",
            "key",
            crate::auth::throttle::account_key(&user.email),
        ),
        (
            "message_sends",
            "recipient_hash",
            crate::sms::limits::recipient_hash(state, &normalize_email(&user.email)),
        ),
    ];
    if let Some(phone) = &user.phone {
        derived.push((
            "message_sends",
            "recipient_hash",
            crate::sms::limits::recipient_hash(state, phone),
        ));
    }
    derived.push((
        "message_sends",
        "person_hash",
        crate::sms::limits::person_hash(state, &user.id),
    ));
    // The apps of the person's sessions are told: their logout tokens are sealed now, as
    // the erasure removes the grants that say which apps those are.
    let told = crate::oidc::backchannel::sealed_for_person(state, &user.id).await?;
    let messages: Vec<_> = told.iter().map(|m| m.message()).collect();
    // Their organisations' webhook endpoints are told, by id only.
    let webhooks = crate::webhooks::events::erased(state, &user.id).await?;
    // The erasure, its `account.erased` event, the logout tokens and the webhook messages:
    // one transaction.
    let owed = store::erasure::Owed {
        messages: &messages,
        webhooks: &webhooks,
    };
    let erased =
        store::erasure::erase_account(&state.db, &user.id, state.now(), by, &derived, owed).await?;
    crate::oidc::backchannel::wake(state, messages.len() + webhooks.len());
    let id = format!("{FAREWELL_PREFIX}{}", crate::crypto::random_id());
    if let Err(e) = crate::mail::enqueue_as(state, &id, &message).await {
        // The erasure stands; only the goodbye is lost.
        tracing::error!(error = %crate::error::Chain(&e), "queuing the goodbye message of an erased account failed");
    }
    Ok(erased)
}

/// The goodbye message: the account and everything in it are gone.
pub fn farewell(t: Texts, user: &User) -> Letter {
    let mut l = base(
        t,
        t.t("gdpr.mail_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(t.t("gdpr.mail_body").to_string());
    l.paragraphs.push(t.t("gdpr.mail_apps").to_string());
    l.notes.push(t.t("gdpr.mail_not_you").to_string());
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(utc(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
