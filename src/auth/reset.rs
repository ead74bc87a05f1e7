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
//! their refresh tokens, tells them by mail, and does not log anyone in.

use std::net::IpAddr;

use serde_json::json;

use crate::auth::change;
use crate::auth::password::Password;
use crate::auth::policy::PolicyError;
use crate::crypto::{secret_token, sha256_b64};
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, audit::Event, login_keys::NewKey, users::User};

/// The `login_keys.purpose` of reset keys.
pub const PURPOSE: &str = "reset";

/// The path of reset links; the key follows.
pub const PATH: &str = "/reset/";

/// Creates a reset key for `user` (only the newest works) and mails the link to them.
/// `org_name` says which organisation's administrator asked, for the message.
pub async fn send_reset_key(state: &AppState, user: &User, org_name: Option<&str>) -> Result<()> {
    let now = state.now();
    let ttl = state.config.admin.reset_ttl;
    let key = secret_token();
    let replaced = store::login_keys::replace(
        &state.db,
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
    crate::mail::send_reset_link(state, user, org_name, &link, ttl).await?;
    store::audit::append(
        &state.db,
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
    Ok(Check::Usable(Target {
        user_id: user.id,
        email: user.email,
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
    /// The new password breaks the policy: nothing changed, the key still works.
    Refused(PolicyError),
}

/// Sets a new password with a reset key.
pub async fn reset(
    state: &AppState,
    key: &str,
    binding: Option<&str>,
    password: &Password,
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
    let hash = state.hasher.hash(password).await?;
    let now = state.now();
    let used = store::login_keys::consume(&state.db, &sha256_b64(key), PURPOSE, now).await?;
    let Some(used) = used.filter(|k| k.user_id.as_deref() == Some(user.id.as_str())) else {
        return Ok(ResetOutcome::InvalidKey);
    };
    let ended = change::install(state, &user.id, &hash, None).await?;
    let ip = ip.to_string();
    store::audit::append(
        &state.db,
        &Event {
            kind: "password.reset",
            user_id: Some(&user.id),
            ip: Some(&ip),
            detail: json!({ "method": "reset_key", "channel": used.channel, "sessions_ended": ended }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(user_id = %user.id, sessions_ended = ended, "password reset with a reset key");
    // Tell the person on every channel they have, so that a reset through one channel (a
    // taken-over mailbox, a swapped SIM) shows up on the other.
    if let Err(e) = crate::mail::send_password_changed(state, &user, true).await {
        tracing::error!(user_id = %user.id, error = %e, "queueing the password-changed notice failed");
    }
    if let Some(phone) = user.verified_phone() {
        if let Err(e) = crate::sms::texts::send_password_changed(state, &user, phone).await {
            tracing::error!(user_id = %user.id, error = %e, "queueing the password-changed SMS failed");
        }
    }
    Ok(ResetOutcome::Done)
}
