//! Recovery by a code, and the second factor of recovery when `login.recovery_needs_both` is
//! on (docs/recovery.md).
//!
//! A correct recovery code (typed into the browser that asked) is traded for a short-lived
//! reset key bound to the same browser, which opens the new-password form (`auth::reset`).
//! The code is used up by the trade; the password is set by the form.
//!
//! When both factors are needed (the option is on and the account has a verified phone as
//! well as its email), what a reset key proves is in its `channel`:
//! - `email`: the mailbox (an emailed link, a traded emailed code, an administrator's link).
//!   The form then asks for an SMS code first ([`send_sms_code`], checked by
//!   [`check_sms_code`]); the password is set only with both.
//! - [`BOTH`]: the mailbox *and* the phone: a link mailed after a correct SMS code.
//! - `sms`: the phone only. Such a key is never made while both are needed: a correct SMS
//!   code is answered by mailing a [`BOTH`] link ([`Traded::Mailed`]) instead of opening the
//!   form.

use serde_json::json;

use super::login::{self, Browser};
use super::secret;
use crate::auth::audit_person as audit;
use crate::auth::reset;
use crate::crypto::{secret_token, sha256_b64};
use crate::error::Result;
use crate::i18n::Texts;
use crate::sms::SmsMessage;
use crate::sms::limits::{self, Channel, Purpose, Refused};
use crate::state::AppState;
use crate::store::{self, login_keys::NewKey, users::User};

/// Seconds the traded reset key stays valid.
pub const TRADED_TTL: i64 = 600;

/// The `login_keys.purpose` of the SMS codes the reset form sends when both factors are
/// needed.
pub const SMS_PURPOSE: &str = "reset_sms";

/// The `login_keys.channel` of a reset key mailed after a correct SMS code: it proves both.
pub const BOTH: &str = "email+sms";

/// Whether recovering `user`'s password needs both an email link and an SMS code.
pub fn needs_both(state: &AppState, user: &User) -> bool {
    state.config.login.recovery_needs_both && user.verified_phone().is_some()
}

/// What a correct recovery code led to.
pub enum Traded {
    /// A reset key for the new-password form (`/reset/{key}`).
    Form(String),
    /// Both factors are needed and the code came by SMS: a link (and code) went to the
    /// person's email; the form opens only from there.
    Mailed,
}

impl std::fmt::Debug for Traded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Traded::Form(_) => "Form",
            Traded::Mailed => "Mailed",
        })
    }
}

/// Trades a recovery code; `None` when the code is wrong, dead or absent.
pub async fn trade_code(
    state: &AppState,
    typed: &str,
    browser: Browser<'_>,
) -> Result<Option<Traded>> {
    let Some(binding) = browser.binding else {
        return Ok(None);
    };
    let Some(used) = login::guess(state, reset::PURPOSE, typed, browser).await? else {
        return Ok(None);
    };
    let Some(user_id) = used.user_id.as_deref() else {
        return Ok(None);
    };
    let Some(user) = store::users::find(&state.db, user_id)
        .await?
        .filter(User::is_active)
    else {
        return Ok(None);
    };
    let binding_hash = sha256_b64(binding);
    if used.channel == "sms" && needs_both(state, &user) {
        mail_link_after_sms(state, &user, &binding_hash, browser.ip).await?;
        return Ok(Some(Traded::Mailed));
    }
    let key = secret_token();
    let now = state.now();
    store::login_keys::replace(
        &state.db,
        &NewKey {
            key_hash: &sha256_b64(&key),
            purpose: reset::PURPOSE,
            user_id: Some(user_id),
            email: used.email.as_deref(),
            phone: used.phone.as_deref(),
            channel: &used.channel,
            binding_hash: Some(&binding_hash),
            expires_at: now + TRADED_TTL,
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(Some(Traded::Form(key)))
}

/// After a correct SMS recovery code when both factors are needed: mails a reset link and
/// code (channel [`BOTH`]) bound to the same browser. The mail passes the send limits like
/// any mail a person asks for; a refused one is recorded and not sent.
async fn mail_link_after_sms(
    state: &AppState,
    user: &User,
    binding_hash: &str,
    ip: &str,
) -> Result<()> {
    let now = state.now();
    let asked = (Purpose::RecoveryFactor, Channel::Email);
    let recipient = store::users::normalize_email(&user.email);
    let admitted = limits::admit_person(state, asked, &recipient, &user.id, ip).await?;
    let id = match admitted {
        Ok(id) => id,
        Err(refused) => {
            let reason = refused.reason.as_str();
            let detail = json!({ "purpose": reset::PURPOSE, "channel": "email", "reason": reason, "after": "sms" });
            audit(state, "login_key.refused", &user.id, ip, detail).await?;
            return Ok(());
        }
    };
    let ttl = state.config.admin.reset_ttl;
    let key = secret_token();
    let key_hash = sha256_b64(&key);
    let code = secret::random_code(state.config.login.code_digits);
    let code_hash = secret::code_hash(state, &key_hash, &code);
    let replaced = store::login_keys::replace(
        &state.db,
        &NewKey {
            key_hash: &key_hash,
            purpose: reset::PURPOSE,
            user_id: Some(&user.id),
            email: Some(&user.email),
            phone: user.verified_phone(),
            channel: BOTH,
            binding_hash: Some(binding_hash),
            code_hash: Some(&code_hash),
            expires_at: now + ttl,
            ..Default::default()
        },
        now,
    )
    .await?;
    let t = Texts::new(crate::mail::compose::locale_for(&state.db, user, None).await);
    let link = state.url(&format!("{}{key}", reset::PATH));
    let letter = crate::mail::compose_keys::self_reset(t, user, &link, &code, ttl);
    crate::mail::enqueue_as(state, &format!("{id}.m"), &letter.to_message(&user.email)?).await?;
    audit(
        state,
        "login_key.sent",
        &user.id,
        ip,
        json!({ "purpose": reset::PURPOSE, "channel": "email", "after": "sms", "replaced": replaced, "expires_at": now + ttl }),
    )
    .await?;
    tracing::info!(user_id = %user.id, "recovery: SMS code proven, reset link mailed");
    Ok(())
}

/// Whether an SMS code went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsSent {
    /// A new code is on its way; earlier ones no longer work.
    Sent,
    /// The send limits refused it (e.g. one was sent a moment ago: why and when to try
    /// again; `None`: there is no verified phone); the newest earlier code, if any, still
    /// works.
    Refused(Option<Refused>),
}

/// Sends the reset form's SMS code to `user`'s verified phone, bound to the browser whose
/// binding cookie hashes to `binding_hash`. Only the newest code works; it lives
/// `login.code_ttl` seconds and dies after `login.code_attempts` wrong guesses.
pub async fn send_sms_code(
    state: &AppState,
    user: &User,
    binding_hash: &str,
    ip: &str,
) -> Result<SmsSent> {
    let Some(phone) = user.verified_phone() else {
        return Ok(SmsSent::Refused(None));
    };
    let now = state.now();
    let asked = (Purpose::RecoveryFactor, Channel::Sms);
    let id = match limits::admit_person(state, asked, phone, &user.id, ip).await? {
        Ok(id) => id,
        Err(refused) => {
            let reason = refused.reason.as_str();
            let detail = json!({ "purpose": SMS_PURPOSE, "channel": "sms", "reason": reason });
            audit(state, "login_key.refused", &user.id, ip, detail).await?;
            return Ok(SmsSent::Refused(Some(refused)));
        }
    };
    let ttl = state.config.login.code_ttl;
    // The row's key is never sent: only the code is, and it is checked against this row.
    let key_hash = sha256_b64(&secret_token());
    let (code, replaced) = crate::auth::channels::replace_code_key(
        state,
        &key_hash,
        (SMS_PURPOSE, &user.id),
        crate::auth::channels::CodeTo::Phone(phone),
        binding_hash,
        (now, now + ttl),
    )
    .await?;
    let t = Texts::new(crate::sms::texts::locale(user));
    let body = crate::sms::texts::reset_code(t, state, &code, ttl);
    crate::sms::enqueue(state, &format!("{id}.m"), &SmsMessage::new(phone, body)?).await?;
    audit(
        state,
        "login_key.sent",
        &user.id,
        ip,
        json!({ "purpose": SMS_PURPOSE, "channel": "sms", "replaced": replaced, "expires_at": now + ttl }),
    )
    .await?;
    tracing::info!(user_id = %user.id, "recovery: SMS code sent from the reset form");
    Ok(SmsSent::Sent)
}

/// One guess at the reset form's SMS code for `user_id` in the browser with binding cookie
/// `binding`: counts the attempt and, on a match, uses the code. `false` when the code is
/// wrong, dead, absent, for another account, or the browser has no binding.
pub async fn check_sms_code(
    state: &AppState,
    user_id: &str,
    typed: &str,
    binding: Option<&str>,
    ip: &str,
) -> Result<bool> {
    let Some(binding) = binding else {
        return Ok(false);
    };
    let now = state.now();
    let max = state.config.login.code_attempts;
    let Some(found) =
        store::login_keys::guess(&state.db, &sha256_b64(binding), SMS_PURPOSE, now, max).await?
    else {
        return Ok(false);
    };
    let right_account = found.user_id.as_deref() == Some(user_id);
    let matches = secret::typed_code(typed, state.config.login.code_digits).is_some_and(|code| {
        secret::code_matches(
            state,
            &found.key_hash,
            found.code_hash.as_deref().unwrap_or(""),
            &code,
        )
    });
    if !(right_account && matches) {
        audit(
            state,
            "login.failure",
            found.user_id.as_deref().unwrap_or(user_id),
            ip,
            json!({ "method": super::AMR_SMS, "purpose": SMS_PURPOSE, "reason": "wrong_code", "attempts": found.attempts }),
        )
        .await?;
        return Ok(false);
    }
    Ok(
        store::login_keys::consume(&state.db, &found.key_hash, SMS_PURPOSE, now)
            .await?
            .is_some(),
    )
}
