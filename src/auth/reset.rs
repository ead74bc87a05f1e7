//! Password reset by a temporary key sent to the person (never to whoever asked for it).
//!
//! INTERFACE (issue 3): admins call [`send_reset_key`].
//!
//! The key is 256 random bits; only its SHA-256 is stored (`login_keys`, purpose `reset`),
//! valid `admin.reset_ttl` seconds, and a new key replaces the person's unused ones. The
//! link is built from the configured issuer, never from a request's Host header.
//! Looking at a key ([`check`]) changes nothing (mail scanners fetch links); [`reset`]
//! checks the new password first, so a refused password leaves the key usable, then uses
//! the key in one atomic statement. A reset ends every session of the person, revokes
//! their refresh tokens, tells them by mail (and by SMS when they have a verified phone), and
//! does not log anyone in.
//!
//! When `login.recovery_needs_both` is on and the person has a verified phone, a key that
//! proves only the mailbox (an emailed link or code, or an administrator's link) is not
//! enough: the form first sends an SMS code ([`send_sms_code`]) and the password is set only
//! with that code as well (`auth::keys::recovery`, docs/recovery.md).

use std::net::IpAddr;

use serde_json::json;

use crate::auth::change;
use crate::auth::keys::recovery::{self, SmsSent};
use crate::auth::password::Password;
use crate::auth::policy::PolicyError;
use crate::crypto::{secret_token, sha256_b64};
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, Tx, audit::Event, login_keys::NewKey, users::User};

/// The `login_keys.purpose` of reset keys.
pub const PURPOSE: &str = "reset";

/// The path of reset links; the key follows.
pub const PATH: &str = "/reset/";

/// Creates a reset key for `user` (only the newest works) and mails the link to them, in
/// one transaction with its audit event. `org_name` says which organisation's administrator
/// asked, for the message.
#[tracing::instrument(skip_all)]
pub async fn send_reset_key(state: &AppState, user: &User, org_name: Option<&str>) -> Result<()> {
    let mut tx = state.db.begin().await?;
    send_reset_key_in(&mut tx, state, user, org_name).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// [`send_reset_key`] inside `tx` (an administrator's action records its own event in the
/// same transaction); the caller wakes the mailer after the commit.
#[tracing::instrument(skip_all)]
pub async fn send_reset_key_in(
    tx: &mut Tx<'_>,
    state: &AppState,
    user: &User,
    org_name: Option<&str>,
) -> Result<()> {
    let now = state.now();
    let ttl = state.config.admin.reset_ttl;
    let key = secret_token();
    let replaced = store::login_keys::replace(
        &mut *tx,
        &NewKey {
            key_hash: &sha256_b64(&key),
            purpose: PURPOSE,
            user_id: Some(&user.id),
            email: Some(&user.email),
            channel: "email",
            expires_at: now + ttl,
            ..Default::default()
        },
        now,
    )
    .await?;
    let link = state.url(&format!("{PATH}{key}"));
    crate::mail::send_reset_link(tx, state, user, org_name, &link, ttl).await?;
    store::audit::append(
        &mut *tx,
        &Event {
            kind: "reset.key_sent",
            user_id: Some(&user.id),
            detail: json!({ "channel": "email", "replaced": replaced, "expires_at": now + ttl }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(user_id = %user.id, replaced, "reset key sent");
    Ok(())
}

/// Whose password a usable key resets (shown on the form).
#[derive(Debug, Clone)]
pub struct Target {
    pub user_id: String,
    pub email: String,
    /// When both factors are needed and the key proves only the mailbox: the verified
    /// number (E.164) the form sends a code to; the password is set only with that code.
    pub needs_sms: Option<String>,
}

/// What a reset key looks like (changes nothing).
#[derive(Debug, Clone)]
pub enum Check {
    /// Usable here: whose password it resets.
    Usable(Target),
    /// A key the person asked for in another browser: it works only there, and is not burnt.
    WrongBrowser,
    /// Unknown, used, replaced or expired (or a disabled account).
    Invalid,
}

/// Looks at a key for the browser with binding cookie `binding`. Keys an administrator had
/// sent are not bound to a browser; keys a person asked for are bound to theirs.
#[tracing::instrument(skip_all)]
pub async fn check(state: &AppState, key: &str, binding: Option<&str>) -> Result<Check> {
    let Some(found) =
        store::login_keys::find_usable(&state.db, &sha256_b64(key), PURPOSE, state.now()).await?
    else {
        return Ok(Check::Invalid);
    };
    if found.binding_hash.is_some() && !crate::auth::keys::login::bound_to(&found, binding) {
        return Ok(Check::WrongBrowser);
    }
    let Some(user_id) = found.user_id else {
        return Ok(Check::Invalid);
    };
    let Some(user) = store::users::find(&state.db, &user_id).await? else {
        return Ok(Check::Invalid);
    };
    if !user.is_active() {
        return Ok(Check::Invalid);
    }
    let needs_sms = if recovery::needs_both(state, &user) {
        match found.channel.as_str() {
            recovery::BOTH => None,
            "email" => user.verified_phone().map(str::to_string),
            // Proves the phone only (made before the option was turned on): never enough.
            _ => return Ok(Check::Invalid),
        }
    } else {
        None
    };
    Ok(Check::Usable(Target {
        user_id: user.id,
        email: user.email,
        needs_sms,
    }))
}

/// The outcome of a reset attempt.
#[derive(Debug)]
pub enum ResetOutcome {
    /// The password was changed; every session ended. Nobody is logged in.
    Done,
    /// Unknown, used, replaced or expired key (or a disabled account): nothing changed.
    InvalidKey,
    /// The key belongs to another browser: nothing changed, it still works there.
    WrongBrowser,
    /// The new password breaks the policy: nothing changed, the key (and an SMS code) still
    /// works.
    Refused(PolicyError),
    /// Both factors are needed and no SMS code came with the form: nothing changed.
    NeedsSms,
    /// Both factors are needed and the SMS code is wrong, dead or absent: the attempt was
    /// counted, the key still works.
    WrongCode,
}

/// What asking for the form's SMS code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsStep {
    /// Sent (or refused by the send limits) to this number (E.164).
    Asked { phone: String, sent: SmsSent },
    /// The key does not need an SMS code.
    NotNeeded,
    /// Unknown, used, replaced or expired key (or a disabled account).
    InvalidKey,
    /// The key belongs to another browser.
    WrongBrowser,
}

/// Sends the SMS code the reset form needs when both factors are needed, bound to the
/// browser with binding cookie `binding` (the key's own browser for keys the person asked
/// for; for an administrator's key, whichever browser opened it).
#[tracing::instrument(skip_all)]
pub async fn send_sms_code(
    state: &AppState,
    key: &str,
    binding: &str,
    ip: IpAddr,
) -> Result<SmsStep> {
    let target = match check(state, key, Some(binding)).await? {
        Check::Usable(target) => target,
        Check::WrongBrowser => return Ok(SmsStep::WrongBrowser),
        Check::Invalid => return Ok(SmsStep::InvalidKey),
    };
    let Some(phone) = target.needs_sms else {
        return Ok(SmsStep::NotNeeded);
    };
    let Some(user) = store::users::find(&state.db, &target.user_id).await? else {
        return Ok(SmsStep::InvalidKey);
    };
    let sent = recovery::send_sms_code(state, &user, &sha256_b64(binding), &ip.to_string()).await?;
    Ok(SmsStep::Asked { phone, sent })
}

/// Sets a new password with a reset key (and, when both factors are needed, the SMS code
/// the form sent).
#[tracing::instrument(skip_all)]
pub async fn reset(
    state: &AppState,
    key: &str,
    binding: Option<&str>,
    password: &Password,
    sms_code: Option<&str>,
    ip: IpAddr,
) -> Result<ResetOutcome> {
    let target = match check(state, key, binding).await? {
        Check::Usable(target) => target,
        Check::WrongBrowser => return Ok(ResetOutcome::WrongBrowser),
        Check::Invalid => return Ok(ResetOutcome::InvalidKey),
    };
    let Some(user) = store::users::find(&state.db, &target.user_id).await? else {
        return Ok(ResetOutcome::InvalidKey);
    };
    let sms_code = sms_code.map(str::trim).filter(|c| !c.is_empty());
    if target.needs_sms.is_some() && sms_code.is_none() {
        return Ok(ResetOutcome::NeedsSms);
    }
    // The policy first: a refused password must leave the key usable.
    if let Err(e) = change::check_policy(
        state,
        &user.email,
        user.name.as_deref(),
        Some(&user.id),
        password,
    )
    .await?
    {
        return Ok(ResetOutcome::Refused(e));
    }
    let ip = ip.to_string();
    let sms_checked = target.needs_sms.is_some();
    if sms_checked
        && !recovery::check_sms_code(state, &user.id, sms_code.unwrap_or(""), binding, &ip).await?
    {
        return Ok(ResetOutcome::WrongCode);
    }
    let hash = state.hasher.hash(password).await?;
    let now = state.now();
    // The key's use, the new password and its audit event: one transaction.
    let mut tx = state.db.begin().await?;
    let used = store::login_keys::consume(&mut tx, &sha256_b64(key), PURPOSE, now).await?;
    let Some(used) = used.filter(|k| k.user_id.as_deref() == Some(user.id.as_str())) else {
        return Ok(ResetOutcome::InvalidKey);
    };
    let ended = change::install(&mut tx, state, (&user.id, &hash), None, now).await?;
    store::audit::append(
        &mut tx,
        &Event {
            kind: "password.reset",
            user_id: Some(&user.id),
            ip: Some(&ip),
            detail: json!({
                "method": "reset_key",
                "channel": used.channel,
                "sms_code": sms_checked,
                "sessions_ended": ended.sessions,
            }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    ended.wake(state);
    tracing::info!(user_id = %user.id, sessions_ended = ended.sessions, "password reset with a reset key");
    // Tell the person on every channel they have, so that a reset through one channel (a
    // taken-over mailbox, a swapped SIM) shows up on the other.
    if let Err(e) = crate::mail::send_password_changed(state, &user, true).await {
        tracing::error!(user_id = %user.id, error = %crate::error::Chain(&e), "queueing the password-changed notice failed");
    }
    if let Some(phone) = user.verified_phone()
        && let Err(e) = crate::sms::texts::send_password_changed(state, &user, phone).await
    {
        tracing::error!(user_id = %user.id, error = %crate::error::Chain(&e), "queueing the password-changed SMS failed");
    }
    Ok(ResetOutcome::Done)
}
