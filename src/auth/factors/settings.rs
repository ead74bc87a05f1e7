//! Changing who must use two factors, and the operator's recovery of a lost factor.
//!
//! - [`set_own`]: the person's own "require a second factor". Turning it on needs a second
//!   factor to use (else the next login could not finish); turning it off needs a session of
//!   two factors (so a stolen password alone cannot lower the bar).
//! - [`set_org`]: an organisation's requirement (superadmin or the organisation's admin).
//! - [`reset`]: the operator removes a person's second factors after proofing their identity
//!   out of band (docs/two-factor.md); audited, and the person is told by mail.

use serde::Serialize;
use serde_json::json;

use super::{Reason, available, is_two_factor, requirement};
use crate::admin::{AdminError, Caller, load_org, record};
use crate::auth::session::Session;
use crate::error::Result;
use crate::i18n::Texts;
use crate::mail::compose::{base, locale_for};
use crate::orgs::permissions::{Action, Standing};
use crate::sms::phone;
use crate::state::AppState;
use crate::store;

/// The answer to a change of the person's own setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOwn {
    /// Stored (or already so).
    Done,
    /// Turning on needs a second factor to use; add one first.
    NoFactor,
    /// Turning off needs a session of two factors; log in with both first.
    NeedsTwoFactors,
}

/// Sets the person's own requirement. `session` must be a fresh login (the HTTP layer
/// checks `auth::channels::fresh`).
pub async fn set_own(state: &AppState, session: &Session, on: bool, ip: &str) -> Result<SetOwn> {
    let user_id = &session.user_id;
    let current = store::factors::user_requires(&state.db, user_id).await?;
    if current == on {
        return Ok(SetOwn::Done);
    }
    if on {
        let has = available(state, user_id, &[]).await?;
        if !has.any() {
            return Ok(SetOwn::NoFactor);
        }
    } else if !is_two_factor(session) {
        return Ok(SetOwn::NeedsTwoFactors);
    }
    let mut tx = state.db.begin().await?;
    store::factors::set_user_requires(&mut tx, user_id, on, state.now()).await?;
    let detail = json!({ "required": on, "sid": session.sid });
    crate::auth::audit_person_in(
        &mut tx,
        state,
        "second_factor.own_setting",
        user_id,
        ip,
        detail,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, required = on, "own second-factor setting changed");
    Ok(SetOwn::Done)
}

/// What the person's security page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Their own setting.
    pub own: bool,
    /// Every reason a second factor is required of them (their own included).
    pub reasons: Vec<Reason>,
    /// Their verified number, masked, when it serves as a second factor.
    pub sms: Option<String>,
    /// Whether they have passkeys.
    pub passkey: bool,
}

/// The person's second-factor settings and factors.
pub async fn overview(state: &AppState, user_id: &str) -> Result<Overview> {
    let own = store::factors::user_requires(&state.db, user_id).await?;
    let reasons = requirement(&state.db, &state.config, user_id)
        .await?
        .reasons;
    let has = available(state, user_id, &[]).await?;
    Ok(Overview {
        own,
        reasons,
        sms: has.sms.as_deref().map(phone::masked),
        passkey: has.passkey,
    })
}

/// An organisation's requirement as the admin surface shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = TwoFactors)]
pub struct OrgTwoFactors {
    pub organisation_id: String,
    pub require_two_factors: bool,
}

/// An organisation's requirement (anyone who may read the organisation).
pub async fn get_org(
    state: &AppState,
    caller: &Caller,
    key: &str,
) -> Result<OrgTwoFactors, AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::OrgRead, &org.id, "organisation")?;
    Ok(OrgTwoFactors {
        require_two_factors: store::factors::org_requires(&state.db, &org.id).await?,
        organisation_id: org.id,
    })
}

/// Sets an organisation's requirement: its admins or a superadmin (the matrix's
/// `RoleWrite` standing: an organisation's own settings), audited.
pub async fn set_org(
    state: &AppState,
    caller: &Caller,
    key: &str,
    on: bool,
) -> Result<OrgTwoFactors, AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::RoleWrite, &org.id, "organisation")?;
    debug_assert!(caller.principal.standing(&org.id) >= Standing::Admin);
    let before = store::factors::org_requires(&state.db, &org.id).await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::factors::set_org_requires(&mut tx, &org.id, on, now).await?;
    // Every accepted request is recorded, whether or not it changed the setting.
    record(
        &mut tx,
        caller,
        now,
        "admin.org_two_factors",
        Some(&org.id),
        None,
        json!({ "require_two_factors": on, "changed": before != on }),
    )
    .await?;
    tx.commit().await?;
    Ok(OrgTwoFactors {
        organisation_id: org.id,
        require_two_factors: on,
    })
}

/// What [`reset`] removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reset {
    pub user_id: String,
    /// The verified number removed, masked.
    pub phone: Option<String>,
    /// Passkeys removed.
    pub passkeys: u64,
    /// Sessions ended (they may have been made with the lost factor).
    pub sessions_ended: usize,
}

/// The operator's recovery of a lost factor (CLI only): removes the person's verified
/// number and their passkeys, ends their sessions and pending login steps, audits it and
/// mails the person. `None`: no such account.
pub async fn reset(state: &AppState, email: &str) -> Result<Option<Reset>> {
    let Some(user) = store::users::find_by_email(&state.db, email).await? else {
        return Ok(None);
    };
    let now = state.now();
    let phone = if user.phone_verified != 0 {
        user.phone.as_deref().map(phone::masked)
    } else {
        None
    };
    let t = Texts::new(locale_for(&state.db, &user, None).await);
    let mut letter = base(
        t,
        t.t("second_factor.reset_subject").to_string(),
        user.name.as_deref(),
    );
    letter
        .paragraphs
        .push(t.t("second_factor.reset_body").to_string());
    letter.notes.push(t.t("mail_channels.not_you").to_string());
    let message = letter.to_message(&user.email)?;
    // The removals, the audit event and the mail to the person: one transaction.
    let mut tx = state.db.begin().await?;
    if phone.is_some() {
        store::users::set_phone(&mut tx, &user.id, None, false, now).await?;
        store::login_keys::delete_unused_sent_by(&mut tx, &user.id, "sms").await?;
        let event = crate::webhooks::events::Event::PersonUpdated {
            user_id: &user.id,
            changed: &["phone"],
        };
        crate::webhooks::events::emit(&mut tx, state, event).await?;
    }
    let passkeys = store::passkeys::delete_for_user(&mut tx, &user.id).await?;
    store::login_steps::delete_for_user(&mut tx, &user.id).await?;
    let ended = store::sessions::delete_for_user(&mut tx, &user.id, None).await?;
    for sid in &ended {
        store::grants::revoke_by_sid(&mut tx, sid, now).await?;
    }
    let told = crate::oidc::backchannel::queue(&mut tx, state, &ended).await?;
    store::audit::append(
        &mut tx,
        &store::audit::Event {
            kind: "second_factor.reset",
            user_id: Some(&user.id),
            actor_id: Some("cli"),
            detail: json!({
                "phone": phone,
                "passkeys": passkeys,
                "sessions_ended": ended.len(),
            }),
            ..Default::default()
        },
        now,
    )
    .await?;
    crate::mail::enqueue_in(&mut tx, state, &message).await?;
    tx.commit().await?;
    state.mailer.wake();
    crate::oidc::backchannel::wake(state, told);
    tracing::info!(user_id = %user.id, "second factors reset by the operator");
    Ok(Some(Reset {
        user_id: user.id,
        phone,
        passkeys,
        sessions_ended: ended.len(),
    }))
}
