//! The SMS code as a second factor, and enrolling a phone for it during a login.
//!
//! - [`send`]: a code by SMS to the person's verified number, through the send limits
//!   (`sms::limits`, purpose second factor: a budget strangers cannot spend; a refusal is
//!   told to the person, who proved their first factor), valid `login.code_ttl` (never beyond the step), stored as a keyed hash
//!   in `login_keys` (purpose `second_factor`) bound to the login step's hash: it works for
//!   that step only. Only the newest code works.
//! - [`check`]: one counted guess (the key's attempts are capped, and every wrong code also
//!   counts against the step, which dies after `login.code_attempts` wrong second factors);
//!   a right code finishes the step with `amr` `sms`.
//! - [`enrol`] / [`enrol_check`]: a person who must use two factors but has none confirms a
//!   mobile number with the same checks as the account page (`auth::channels`, bound to the
//!   step instead of a session). Typing its code proves possession of the phone: it is the
//!   second factor of this login, and the number becomes the account's verified number.

use serde_json::json;

use super::step::{self, Checked, Step};
use crate::auth::channels::{self, Binder, Confirmed, PhoneAsked};
use crate::auth::keys::AMR_SMS;
use crate::auth::keys::secret::{code_matches, typed_code};
use crate::crypto::{secret_token, sha256_b64};
use crate::error::Result;
use crate::i18n::Texts;
use crate::mail::compose::locale_for;
use crate::sms::limits::{self, Channel, Purpose, Refused};
use crate::sms::{SmsMessage, phone};
use crate::state::AppState;
use crate::store;

/// The `login_keys.purpose` of second-factor codes.
pub const PURPOSE: &str = "second_factor";

fn binder(step: &Step) -> Binder<'_> {
    Binder {
        binding_hash: &step.id_hash,
        user_id: &step.user_id,
        sid: None,
    }
}

/// What [`send`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A code went to the masked number.
    Sent { to: String },
    /// The send limits held it back: why and when to try again. The person proved their
    /// first factor, so they are told (it says nothing about anyone else). `code_out`: a
    /// code sent earlier in this step still works.
    Refused {
        to: String,
        refused: Refused,
        code_out: bool,
    },
}

/// Sends a code to the person's verified number, counted in the `own_channel` budget of the
/// send limits (never spent by anonymous requests naming the number). `None`: no SMS factor.
pub async fn send(state: &AppState, step: &Step, ip: &str) -> Result<Option<Sent>> {
    let available = super::available(state, &step.user_id, &step.first_amr).await?;
    let Some(number) = available.sms else {
        return Ok(None);
    };
    let Some(user) = store::users::find(&state.db, &step.user_id).await? else {
        return Ok(None);
    };
    let masked = phone::masked(&number);
    let asked = (Purpose::SecondFactor, Channel::Sms);
    let now = state.now();
    let id = match limits::admit_person(state, asked, &number, &user.id, ip).await? {
        Ok(id) => id,
        Err(refused) => {
            let detail =
                json!({ "purpose": PURPOSE, "channel": "sms", "reason": refused.reason.as_str() });
            crate::auth::audit_person(state, "login_key.refused", &user.id, ip, detail).await?;
            let max = state.config.login.code_attempts;
            let code_out =
                store::login_keys::has_usable_code(&state.db, &step.id_hash, PURPOSE, now, max)
                    .await?;
            return Ok(Some(Sent::Refused {
                to: masked,
                refused,
                code_out,
            }));
        }
    };
    let ttl = state
        .config
        .login
        .code_ttl
        .min(step.expires_at - now)
        .max(1);
    let key_hash = sha256_b64(&secret_token());
    let to = channels::CodeTo::Phone(&number);
    let (code, _) = channels::replace_code_key(
        state,
        &key_hash,
        (PURPOSE, &user.id),
        to,
        &step.id_hash,
        (now, now + ttl),
    )
    .await?;
    let t = Texts::new(locale_for(&state.db, &user, None).await);
    let body = crate::sms::texts::login_code(t, state, &code, ttl);
    crate::sms::enqueue(state, &id, &SmsMessage::new(&number, body)?).await?;
    let detail =
        json!({ "purpose": PURPOSE, "channel": "sms", "to": masked, "expires_at": now + ttl });
    crate::auth::audit_person(state, "login_key.sent", &user.id, ip, detail).await?;
    Ok(Some(Sent::Sent { to: masked }))
}

/// One guess at the newest code sent for this step.
pub async fn check(state: &AppState, step: &Step, typed: &str, ip: &str) -> Result<Checked> {
    let now = state.now();
    let found = store::login_keys::guess(
        &state.db,
        &step.id_hash,
        PURPOSE,
        now,
        state.config.login.code_attempts,
    )
    .await?;
    let right = found.as_ref().is_some_and(|k| {
        k.user_id.as_deref() == Some(step.user_id.as_str())
            && typed_code(typed, state.config.login.code_digits).is_some_and(|code| {
                code_matches(
                    state,
                    &k.key_hash,
                    k.code_hash.as_deref().unwrap_or(""),
                    &code,
                )
            })
    });
    let used = match (right, found) {
        (true, Some(k)) => store::login_keys::consume(&state.db, &k.key_hash, PURPOSE, now).await?,
        _ => None,
    };
    if used.is_none() {
        return step::wrong(state, step, AMR_SMS, ip).await;
    }
    step::done(state, step, AMR_SMS).await
}

/// Whether a phone may be enrolled in this step: not after an SMS-code login (a second
/// phone would be the same kind of factor as the first).
pub fn may_enrol(step: &Step) -> bool {
    !step.first_amr.iter().any(|m| m == AMR_SMS)
}

/// Enrolment: a code to a new mobile number, bound to the step (the checks of the account
/// page: number shape, allowed countries, send limits). `None`: not in this step
/// ([`may_enrol`]).
pub async fn enrol(
    state: &AppState,
    step: &Step,
    typed: &str,
    ip: &str,
) -> Result<Option<PhoneAsked>> {
    if !may_enrol(step) {
        return Ok(None);
    }
    Ok(Some(
        channels::ask_phone_for(state, binder(step), typed, ip).await?,
    ))
}

/// Enrolment: the code of the new number. Right: the number is verified and the step ends
/// in a two-factor session (possession of the phone is the second factor).
pub async fn enrol_check(state: &AppState, step: &Step, typed: &str, ip: &str) -> Result<Checked> {
    if !may_enrol(step) {
        return step::wrong(state, step, AMR_SMS, ip).await;
    }
    match channels::confirm_phone_code_for(state, typed, binder(step), ip).await? {
        Confirmed::Changed(_) => step::done(state, step, AMR_SMS).await,
        _ => step::wrong(state, step, AMR_SMS, ip).await,
    }
}
