//! Verified channels: a person changes their own email address or mobile number, confirmed by
//! a key sent to the NEW address or number. No axum types.
//!
//! - Only in a fresh login ([`fresh`]: at most `login.fresh_login` seconds since the
//!   session's `auth_time`); the functions that start a change take a [`Fresh`] session, so
//!   a stale one cannot reach them.
//! - The key is bound to the signed-in session that asked (`binding_hash` = the session's
//!   `id_hash`) and to the person: it works in no other browser or session, and a refusal
//!   there does not burn it (SECURITY.md P2). Only the newest key of each kind works.
//! - Email: a 256-bit link key (stored as SHA-256) and a code (stored as a keyed hash), valid
//!   `login.verify_ttl`. Looking at the link ([`check_email_link`]) changes nothing (P1);
//!   using it ([`confirm_email_link`]) or the code ([`confirm_email_code`], capped guesses)
//!   consumes the key in one statement and sets the address. When another account took the
//!   address meanwhile nothing changes ([`Confirmed::Taken`]). Whether an address belongs to
//!   another account is never told before its mailbox proved possession.
//! - Phone: a code by SMS, valid `login.code_ttl`, only to numbers in `sms.allowed_countries`;
//!   the verified number is stored when the code is typed ([`confirm_phone_code`]). SMS login
//!   and recovery codes only ever go to verified numbers.
//! - Every message passes the send limits (`sms::limits`, purpose verify-channel: a budget
//!   of its own, counted per person and per recipient, so a signed-in member cannot pump SMS
//!   and spends nothing that second factors need). A refused confirmation is told to the
//!   person with when to try again ([`PhoneAsked::Refused`]): they are signed in (or proved
//!   their first factor) and typed the number or address themselves, so the answer says
//!   nothing about anyone else's account (P4, P6).
//! - Afterwards the old address is told by mail, the account's address about a new or
//!   removed number, and an old verified number by SMS (a fixed text); login and recovery
//!   keys still out to the old address or number stop working; the audit log records the
//!   change with masked values.

use serde_json::json;

use crate::admin::users::valid_email;
use crate::auth::keys::login::mask_email;
use crate::auth::keys::secret::{code_hash, code_matches, random_code, typed_code};
use crate::auth::session::Session;
use crate::auth::{audit_person as audit, audit_person_in as audit_in};
use crate::crypto::{constant_time_eq, random_id, secret_token, sha256_b64};
use crate::error::{Error, Result};
use crate::i18n::Texts;
use crate::mail::compose::{fill, locale_for};
use crate::mail::compose_channels;
use crate::mail::letter::Letter;
use crate::sms::limits::{self, Channel, Purpose, Refused};
use crate::sms::{SmsMessage, phone};
use crate::state::AppState;
use crate::store::{
    self, Tx,
    login_keys::{LoginKey, NewKey},
    users::{EMAIL_UNIQUE, User, normalize_email},
};

/// The `login_keys.purpose` of a new email address's confirmation.
pub const VERIFY_EMAIL: &str = "verify_email";

/// The `login_keys.purpose` of a new phone number's confirmation.
pub const VERIFY_PHONE: &str = "verify_phone";

/// The path of confirmation links; the key follows.
pub const EMAIL_LINK_PATH: &str = "/verify/email/";

/// A session whose login is recent enough to change the email address or phone number.
#[derive(Debug, Clone, Copy)]
pub struct Fresh<'a>(&'a Session);

impl Fresh<'_> {
    /// The session.
    pub fn session(&self) -> &Session {
        self.0
    }
}

/// The session as [`Fresh`] when it logged in at most `login.fresh_login` seconds ago.
pub fn fresh<'a>(state: &AppState, session: &'a Session) -> Option<Fresh<'a>> {
    (state.now() - session.auth_time <= state.config.login.fresh_login).then_some(Fresh(session))
}

/// The answer to a new email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailAsked {
    /// A confirmation went to the address.
    Sent { email: String },
    /// The send limits held it back: why, and when to try again.
    Refused { email: String, refused: Refused },
    /// Not an email address.
    Invalid,
    /// It is the account's address already.
    Unchanged,
}

/// The answer to a new phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneAsked {
    /// A code went to the number, E.164.
    Sent { phone: String },
    /// The send limits held it back (E.164): why, and when to try again.
    Refused { phone: String, refused: Refused },
    /// Not a phone number.
    Invalid,
    /// Numbers of its country may not be used (`sms.allowed_countries`).
    CountryNotAllowed,
    /// It is the account's verified number already.
    Unchanged,
}

/// What a confirmation link looks like before it is used (changes nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Usable in this session; the address it confirms.
    Usable { email: String },
    /// It belongs to another session (or none is signed in); it still works there.
    WrongSession,
    /// Unknown, used, replaced or expired.
    Invalid,
}

/// The outcome of a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Stored; the new address or number.
    Changed(String),
    /// The link belongs to another session; it is not used up.
    WrongSession,
    /// Unknown, used, replaced or expired key, or a wrong code.
    Invalid,
    /// Another account has the address now; nothing changed (the key is used up).
    Taken,
}

/// What a confirmation key is bound to: a signed-in session, or a login waiting for its
/// second factor (`auth::factors`, enrolling a phone). The key works only there.
#[derive(Debug, Clone, Copy)]
pub struct Binder<'a> {
    /// The session's (or login step's) cookie hash.
    pub binding_hash: &'a str,
    pub user_id: &'a str,
    /// The session's public id, for the audit record (none for a login step).
    pub sid: Option<&'a str>,
}

impl<'a> From<&'a Session> for Binder<'a> {
    fn from(s: &'a Session) -> Self {
        Self {
            binding_hash: &s.id_hash,
            user_id: &s.user_id,
            sid: Some(&s.sid),
        }
    }
}

/// The person of a live session (or login step).
async fn account(state: &AppState, binder: Binder<'_>) -> Result<User> {
    store::users::find(&state.db, binder.user_id)
        .await?
        .ok_or_else(|| Error::Corrupt("a session without its account".into()))
}

/// Queues a notice to `to` in the change's transaction: a person must hear about a change
/// to their account, so the notice commits with it. Notices are not held back by the send
/// limits: they are few (one per confirmed change).
async fn notify(tx: &mut Tx<'_>, state: &AppState, to: &str, letter: &Letter) -> Result<()> {
    crate::mail::enqueue_in(tx, state, &letter.to_message(to)?).await?;
    Ok(())
}

/// Starts a change of the email address: a confirmation link and code to the new address.
#[tracing::instrument(skip_all)]
pub async fn ask_email(
    state: &AppState,
    fresh: Fresh<'_>,
    typed: &str,
    ip: &str,
) -> Result<EmailAsked> {
    let session = fresh.session();
    let email = typed.trim();
    if !valid_email(email) {
        return Ok(EmailAsked::Invalid);
    }
    let user = account(state, session.into()).await?;
    if normalize_email(email) == normalize_email(&user.email) {
        return Ok(EmailAsked::Unchanged);
    }
    let sent = EmailAsked::Sent {
        email: email.to_string(),
    };
    let asked = (Purpose::VerifyChannel, Channel::Email);
    let recipient = normalize_email(email);
    let id = match limits::admit_person(state, asked, &recipient, &user.id, ip).await? {
        Ok(id) => id,
        Err(refused) => {
            // The newest key sent before stays the one that works.
            let detail = json!({ "channel": "email", "reason": refused.reason.as_str() });
            audit(state, "email.verify_refused", &user.id, ip, detail).await?;
            return Ok(EmailAsked::Refused {
                email: email.to_string(),
                refused,
            });
        }
    };
    let now = state.now();
    let ttl = state.config.login.verify_ttl;
    let key = secret_token();
    let key_hash = sha256_b64(&key);
    let to = CodeTo::Email(email);
    let (code, replaced) = replace_code_key(
        state,
        &key_hash,
        (VERIFY_EMAIL, &user.id),
        to,
        &session.id_hash,
        (now, now + ttl),
    )
    .await?;
    let t = Texts::new(locale_for(&state.db, &user, None).await);
    let link = state.url(&format!("{EMAIL_LINK_PATH}{key}"));
    let letter = compose_channels::verify_email(t, &user, &link, &code, ttl);
    crate::mail::enqueue_as(state, &id, &letter.to_message(email)?).await?;
    let detail = json!({ "to": mask_email(email), "replaced": replaced, "expires_at": now + ttl });
    audit(state, "email.verify_sent", &user.id, ip, detail).await?;
    Ok(sent)
}

/// Where a code goes.
pub(crate) enum CodeTo<'a> {
    Email(&'a str),
    /// A number in E.164.
    Phone(&'a str),
}

/// Stores a new key of `purpose` for `user_id` whose code goes `to` an address, bound to
/// `binding_hash` and named by `key_hash`, made `now` and valid until `expires_at`, in place
/// of the person's unused keys of that purpose: the code to send, and how many keys it
/// replaced.
pub(crate) async fn replace_code_key(
    state: &AppState,
    key_hash: &str,
    (purpose, user_id): (&str, &str),
    to: CodeTo<'_>,
    binding_hash: &str,
    (now, expires_at): (i64, i64),
) -> Result<(String, u64)> {
    let code = random_code(state.config.login.code_digits);
    let (email, phone, channel) = match to {
        CodeTo::Email(email) => (Some(email), None, "email"),
        CodeTo::Phone(number) => (None, Some(number), "sms"),
    };
    let key = NewKey {
        key_hash,
        purpose,
        user_id: Some(user_id),
        email,
        phone,
        channel,
        binding_hash: Some(binding_hash),
        code_hash: Some(&code_hash(state, key_hash, &code)),
        expires_at,
        ..Default::default()
    };
    let replaced = store::login_keys::replace(&state.db, &key, now).await?;
    Ok((code, replaced))
}

/// Whether `key` is bound to `session` (and its person).
fn bound_to(key: &LoginKey, session: Option<&Session>) -> bool {
    match (key.binding_hash.as_deref(), session) {
        (Some(stored), Some(s)) => {
            constant_time_eq(stored.as_bytes(), s.id_hash.as_bytes())
                && key.user_id.as_deref() == Some(s.user_id.as_str())
        }
        _ => false,
    }
}

/// Looks at a confirmation link. Changes nothing.
#[tracing::instrument(skip_all)]
pub async fn check_email_link(
    state: &AppState,
    key: &str,
    session: Option<&Session>,
) -> Result<LinkState> {
    let Some(found) =
        store::login_keys::find_usable(&state.db, &sha256_b64(key), VERIFY_EMAIL, state.now())
            .await?
    else {
        return Ok(LinkState::Invalid);
    };
    if !bound_to(&found, session) {
        return Ok(LinkState::WrongSession);
    }
    Ok(LinkState::Usable {
        email: found.email.unwrap_or_default(),
    })
}

/// Uses a confirmation link (POST from its page) in the session that asked.
#[tracing::instrument(skip_all)]
pub async fn confirm_email_link(
    state: &AppState,
    key: &str,
    session: &Session,
    ip: &str,
) -> Result<Confirmed> {
    let key_hash = sha256_b64(key);
    let now = state.now();
    let Some(found) =
        store::login_keys::find_usable(&state.db, &key_hash, VERIFY_EMAIL, now).await?
    else {
        return Ok(Confirmed::Invalid);
    };
    if !bound_to(&found, Some(session)) {
        // Recorded for the person the link belongs to, as login keys do.
        let owner = found.user_id.as_deref().unwrap_or(&session.user_id);
        let detail = json!({ "purpose": VERIFY_EMAIL, "reason": "wrong_session" });
        audit(state, "email.verify_failed", owner, ip, detail).await?;
        return Ok(Confirmed::WrongSession);
    }
    let tx = state.db.begin().await?;
    apply_email(tx, state, session, &key_hash, VERIFY_EMAIL, ip).await
}

/// Uses the code of the newest confirmation of this session.
#[tracing::instrument(skip_all)]
pub async fn confirm_email_code(
    state: &AppState,
    typed: &str,
    session: &Session,
    ip: &str,
) -> Result<Confirmed> {
    match guess(state, VERIFY_EMAIL, typed, session.into(), ip).await? {
        Some((tx, found)) => {
            apply_email(tx, state, session, &found.key_hash, VERIFY_EMAIL, ip).await
        }
        None => Ok(Confirmed::Invalid),
    }
}

/// One counted guess at the newest code of `purpose` bound to `binder`, in a transaction. A
/// wrong guess is counted and recorded (committed at once); a right one returns the open
/// transaction with the key, still to be used ([`store::login_keys::consume`]) with the
/// change it confirms: the count, the key's use, the change and its audit event commit
/// together. A code dies after `login.code_attempts` wrong guesses.
async fn guess(
    state: &AppState,
    purpose: &str,
    typed: &str,
    binder: Binder<'_>,
    ip: &str,
) -> Result<Option<(Tx<'static>, LoginKey)>> {
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let Some(found) = store::login_keys::guess(
        &mut tx,
        binder.binding_hash,
        purpose,
        now,
        state.config.login.code_attempts,
    )
    .await?
    else {
        return Ok(None);
    };
    let stored = found.code_hash.as_deref().unwrap_or("");
    let right = found.user_id.as_deref() == Some(binder.user_id)
        && typed_code(typed, state.config.login.code_digits)
            .is_some_and(|code| code_matches(state, &found.key_hash, stored, &code));
    if !right {
        let kind = if purpose == VERIFY_PHONE {
            "phone.verify_failed"
        } else {
            "email.verify_failed"
        };
        let detail =
            json!({ "purpose": purpose, "reason": "wrong_code", "attempts": found.attempts });
        audit_in(&mut tx, state, kind, binder.user_id, ip, detail).await?;
        tx.commit().await?;
        return Ok(None);
    }
    Ok(Some((tx, found)))
}

/// Uses the key `key_hash` of `purpose` and stores the address it confirms, records the
/// change and tells the old address, all in `tx`, which it commits.
async fn apply_email(
    mut tx: Tx<'static>,
    state: &AppState,
    session: &Session,
    key_hash: &str,
    purpose: &str,
    ip: &str,
) -> Result<Confirmed> {
    let user = account(state, session.into()).await?;
    let now = state.now();
    let Some(used) = store::login_keys::consume(&mut tx, key_hash, purpose, now).await? else {
        return Ok(Confirmed::Invalid);
    };
    let (Some(user_id), Some(new)) = (used.user_id.as_deref(), used.email.as_deref()) else {
        return Ok(Confirmed::Invalid);
    };
    if user_id != session.user_id {
        return Ok(Confirmed::Invalid);
    }
    // A savepoint: on PostgreSQL a failed statement would abort the whole transaction, and
    // a conflict still uses the key up and is recorded.
    let mut attempt = sqlx::Connection::begin(&mut *tx).await?;
    match store::users::set_email(&mut attempt, &user.id, new, now).await {
        Ok(()) => attempt.commit().await?,
        Err(e) if store::is_unique_violation(&e, EMAIL_UNIQUE) => {
            attempt.rollback().await?;
            let detail = json!({ "to": mask_email(new) });
            audit_in(
                &mut tx,
                state,
                "email.change_conflict",
                &user.id,
                ip,
                detail,
            )
            .await?;
            tx.commit().await?;
            return Ok(Confirmed::Taken);
        }
        Err(e) => return Err(e.into()),
    }
    let old = user.email.clone();
    let dropped = store::login_keys::delete_unused_sent_by(&mut tx, &user.id, "email").await?;
    let detail = json!({
        "from": mask_email(&old),
        "to": mask_email(new),
        "sid": session.sid,
        "keys_dropped": dropped,
    });
    audit_in(&mut tx, state, "email.changed", &user.id, ip, detail).await?;
    person_updated(&mut tx, state, &user.id, "email").await?;
    if normalize_email(&old) != normalize_email(new) {
        let t = Texts::new(locale_for(&state.db, &user, None).await);
        let letter = compose_channels::email_changed(t, &user, &mask_email(new));
        notify(&mut tx, state, &old, &letter).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "email address changed");
    Ok(Confirmed::Changed(new.trim().to_string()))
}

/// Starts a change of the phone number: a code by SMS to the new number.
#[tracing::instrument(skip_all)]
pub async fn ask_phone(
    state: &AppState,
    fresh: Fresh<'_>,
    typed: &str,
    ip: &str,
) -> Result<PhoneAsked> {
    ask_phone_for(state, fresh.session().into(), typed, ip).await
}

/// Starts a phone confirmation bound to `binder` (a fresh session, or a login step enrolling
/// its second factor): a code by SMS to the new number.
#[tracing::instrument(skip_all)]
pub async fn ask_phone_for(
    state: &AppState,
    binder: Binder<'_>,
    typed: &str,
    ip: &str,
) -> Result<PhoneAsked> {
    let Some(number) = phone::normalize(typed, &state.config.sms.default_country) else {
        return Ok(PhoneAsked::Invalid);
    };
    let allowed = phone::country_code(&number)
        .is_some_and(|c| state.config.sms.allowed_countries.iter().any(|a| a == c));
    if !allowed {
        return Ok(PhoneAsked::CountryNotAllowed);
    }
    let user = account(state, binder).await?;
    if user.verified_phone() == Some(number.as_str()) {
        return Ok(PhoneAsked::Unchanged);
    }
    let sent = PhoneAsked::Sent {
        phone: number.clone(),
    };
    let asked = (Purpose::VerifyChannel, Channel::Sms);
    let id = match limits::admit_person(state, asked, &number, &user.id, ip).await? {
        Ok(id) => id,
        Err(refused) => {
            let detail = json!({ "channel": "sms", "reason": refused.reason.as_str() });
            audit(state, "phone.verify_refused", &user.id, ip, detail).await?;
            return Ok(PhoneAsked::Refused {
                phone: number,
                refused,
            });
        }
    };
    let now = state.now();
    let ttl = state.config.login.code_ttl;
    // The key only names the row: the code is what travels.
    let key_hash = sha256_b64(&secret_token());
    let to = CodeTo::Phone(&number);
    let (code, replaced) = replace_code_key(
        state,
        &key_hash,
        (VERIFY_PHONE, &user.id),
        to,
        binder.binding_hash,
        (now, now + ttl),
    )
    .await?;
    let t = Texts::new(locale_for(&state.db, &user, None).await);
    let body = crate::sms::texts::verify_code(t, state, &code, ttl);
    crate::sms::enqueue(state, &id, &SmsMessage::new(&number, body)?).await?;
    let detail =
        json!({ "to": phone::masked(&number), "replaced": replaced, "expires_at": now + ttl });
    audit(state, "phone.verify_sent", &user.id, ip, detail).await?;
    Ok(sent)
}

/// Uses the code of the newest phone confirmation of this session: the number becomes the
/// account's verified number.
#[tracing::instrument(skip_all)]
pub async fn confirm_phone_code(
    state: &AppState,
    typed: &str,
    session: &Session,
    ip: &str,
) -> Result<Confirmed> {
    confirm_phone_code_for(state, typed, session.into(), ip).await
}

/// Uses the code of the newest phone confirmation bound to `binder`: the number becomes the
/// account's verified number.
#[tracing::instrument(skip_all)]
pub async fn confirm_phone_code_for(
    state: &AppState,
    typed: &str,
    binder: Binder<'_>,
    ip: &str,
) -> Result<Confirmed> {
    let Some((mut tx, found)) = guess(state, VERIFY_PHONE, typed, binder, ip).await? else {
        return Ok(Confirmed::Invalid);
    };
    // The code's use, the number, the audit event and the notices: one transaction.
    let user = account(state, binder).await?;
    let t = Texts::new(locale_for(&state.db, &user, None).await);
    let now = state.now();
    let Some(used) =
        store::login_keys::consume(&mut tx, &found.key_hash, VERIFY_PHONE, now).await?
    else {
        return Ok(Confirmed::Invalid);
    };
    let Some(number) = used.phone.as_deref() else {
        return Ok(Confirmed::Invalid);
    };
    let old = user.verified_phone().map(str::to_string);
    store::users::set_phone(&mut tx, &user.id, Some(number), true, now).await?;
    let dropped = store::login_keys::delete_unused_sent_by(&mut tx, &user.id, "sms").await?;
    let detail = json!({
        "from": old.as_deref().map(phone::masked),
        "to": phone::masked(number),
        "sid": binder.sid,
        "keys_dropped": dropped,
    });
    audit_in(&mut tx, state, "phone.changed", &user.id, ip, detail).await?;
    person_updated(&mut tx, state, &user.id, "phone").await?;
    let letter = compose_channels::phone_changed(t, &user, &phone::masked(number));
    notify(&mut tx, state, &user.email, &letter).await?;
    if let Some(old) = old.filter(|o| o != number) {
        let body = fill(
            t.t("sms_channels.phone_changed"),
            &[("host", &crate::sms::texts::host(state))],
        );
        let message = SmsMessage::new(&old, body)?;
        crate::sms::enqueue_in(&mut tx, state, &random_id(), &message).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "phone number verified");
    Ok(Confirmed::Changed(number.to_string()))
}

/// Removes the phone number; the removed number, or `None` when there was none.
#[tracing::instrument(skip_all)]
pub async fn remove_phone(state: &AppState, fresh: Fresh<'_>, ip: &str) -> Result<Option<String>> {
    let session = fresh.session();
    let user = account(state, session.into()).await?;
    let Some(old) = user.phone.clone() else {
        return Ok(None);
    };
    let t = Texts::new(locale_for(&state.db, &user, None).await);
    // The removal, the audit event and the notice: one transaction.
    let mut tx = state.db.begin().await?;
    store::users::set_phone(&mut tx, &user.id, None, false, state.now()).await?;
    let dropped = store::login_keys::delete_unused_sent_by(&mut tx, &user.id, "sms").await?;
    let detail = json!({
        "phone": phone::masked(&old),
        "was_verified": user.phone_verified != 0,
        "sid": session.sid,
        "keys_dropped": dropped,
    });
    audit_in(&mut tx, state, "phone.removed", &user.id, ip, detail).await?;
    person_updated(&mut tx, state, &user.id, "phone").await?;
    let letter = compose_channels::phone_removed(t, &user, &phone::masked(&old));
    notify(&mut tx, state, &user.email, &letter).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(Some(old))
}

/// Queues `person.updated` for the person's organisations inside `tx`; the caller wakes the
/// delivery loop after the commit (it does, for its notice).
async fn person_updated(
    tx: &mut store::Tx<'_>,
    state: &AppState,
    user_id: &str,
    field: &'static str,
) -> Result<()> {
    let event = crate::webhooks::events::Event::PersonUpdated {
        user_id,
        changed: &[field],
    };
    crate::webhooks::events::emit(tx, state, event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(binding: Option<&str>, user: Option<&str>) -> LoginKey {
        LoginKey {
            key_hash: "k".into(),
            purpose: VERIFY_EMAIL.into(),
            user_id: user.map(str::to_string),
            email: Some("ny@example.org".into()),
            phone: None,
            channel: "email".into(),
            binding_hash: binding.map(str::to_string),
            code_hash: None,
            next: None,
            attempts: 0,
            created_at: 0,
            expires_at: 1,
        }
    }

    fn session(id_hash: &str, user: &str) -> Session {
        Session {
            id_hash: id_hash.into(),
            sid: "sid".into(),
            user_id: user.into(),
            csrf: "csrf".into(),
            auth_time: 0,
            amr: vec!["pwd".into()],
            acr: "a".into(),
        }
    }

    #[test]
    fn keys_work_only_in_the_session_and_for_the_person_that_asked() {
        let s = session("h1", "u1");
        assert!(bound_to(&key(Some("h1"), Some("u1")), Some(&s)));
        assert!(!bound_to(&key(Some("h2"), Some("u1")), Some(&s)));
        assert!(!bound_to(&key(Some("h1"), Some("u2")), Some(&s)));
        assert!(!bound_to(&key(None, Some("u1")), Some(&s)));
        assert!(!bound_to(&key(Some("h1"), Some("u1")), None));
    }
}
