//! The password-reset pages: `GET /reset/{key}` shows the new-password form and changes
//! nothing (mail scanners fetch links; HEAD is the same), `POST /reset` (the key in a hidden
//! field) sets the password through `auth::reset` and shows "password changed, sign in"
//! without logging anyone in. An unusable key (unknown, used, replaced, expired) gets the
//! same page, 410, whatever the reason.
//!
//! When both factors are needed (`login.recovery_needs_both`, docs/recovery.md) and the key
//! proves only the mailbox, `GET /reset/{key}` shows a button instead of the password
//! fields: `POST /reset/sms` (CSRF-checked, in the key's browser) sends a code to the
//! person's verified phone and shows the code field with the password fields; `POST /reset`
//! then needs the code as well.
//!
//! CSRF: the key itself is the bearer secret of the form; the form also carries the
//! double-submit token of the login page (`__Host-nyckel_csrf`, checked by
//! [`crate::http::csrf`]). The global headers middleware adds `Cache-Control: no-store` and
//! `Referrer-Policy: no-referrer`.
//!
//! The form helpers here (policy messages) are shared by the setup and password-change
//! pages; the steps around the form are in [`crate::http::password_form`].

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::keys::recovery::SmsSent;
use crate::auth::password::Password;
use crate::auth::policy::PolicyError;
use crate::auth::reset::{self, ResetOutcome};
use crate::crypto::secret_token;
use crate::http::cookies;
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::extract::texts_for;
use crate::http::login::looks_like_token;
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::{Early, mismatch, rules, usable};
use crate::http::send_refused;
use crate::i18n::Texts;
use crate::mail::compose::{duration, fill};
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reset/{key}", get(get_reset))
        .route("/reset", post(post_reset))
        .route("/reset/sms", post(post_reset_sms))
}

/// Seconds the binding cookie set by `POST /reset/sms` lives (as on the login-key pages).
const BINDING_MAX_AGE: i64 = 3600;

/// The new-password form.
#[derive(Template)]
#[template(path = "pages/reset.html")]
pub struct ResetPage {
    pub t: Texts,
    pub key: String,
    pub csrf: String,
    pub email: String,
    pub min_length: usize,
    pub hint: String,
    pub error: Option<String>,
    /// Both factors needed, no code sent yet: the label of the "send a code to +46•••67"
    /// button shown instead of the password fields.
    pub send_label: Option<String>,
    /// Both factors needed, a code asked for: show the code field (and "send a new code").
    pub code_field: bool,
    /// What happened to the SMS ("we sent a code ...").
    pub notice: Option<String>,
}

/// The stage of the form when both factors are needed.
enum Stage {
    /// One factor is enough, or the key proves both: the password fields.
    Password,
    /// Ask for the SMS code first (the masked number).
    SendCode(String),
    /// The code field with the password fields, and a note on the SMS.
    Code(Option<String>),
}

/// `POST /reset/sms` form. Not `Debug`: it holds the key.
#[derive(Deserialize)]
pub struct SmsForm {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub csrf: String,
}

/// "Your password has been changed; sign in."
#[derive(Template)]
#[template(path = "pages/reset_done.html")]
pub struct ResetDonePage {
    pub t: Texts,
}

/// "This link no longer works."
#[derive(Template)]
#[template(path = "pages/reset_invalid.html")]
pub struct ResetInvalidPage {
    pub t: Texts,
}

/// `POST /reset` form. Not `Debug`: it holds the key and the password.
#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
    /// The SMS code, when both factors are needed.
    #[serde(default)]
    pub code: String,
}

/// `GET /reset/{key}`: the form, or the invalid-link page. Changes nothing.
async fn get_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, Early> {
    let t = texts_for(&headers, None);
    let target = usable(lookup(&state, &key, &headers).await?, t, invalid)?;
    let (csrf, new_cookie) = csrf::page_token(&headers);
    let stage = match &target.needs_sms {
        Some(phone) => Stage::SendCode(masked(phone)),
        None => Stage::Password,
    };
    let page = form_page(&state, t, key, csrf, target.email, stage, None);
    Ok(csrf::with_cookie(
        render_status(StatusCode::OK, &page),
        &page.csrf,
        new_cookie,
    ))
}

/// `POST /reset`.
async fn post_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<ResetForm>,
) -> Result<Response, Early> {
    let t = texts_for(&headers, None);
    csrf::double_submit(&headers, &form.csrf, t)?;
    let target = usable(lookup(&state, &form.key, &headers).await?, t, invalid)?;
    let page_at = |stage: Stage, message: String| {
        let page = form_page(
            &state,
            t,
            form.key.clone(),
            form.csrf.clone(),
            target.email.clone(),
            stage,
            Some(message),
        );
        render_status(StatusCode::BAD_REQUEST, &page)
    };
    let again = |message: String| {
        let stage = match target.needs_sms {
            Some(_) => Stage::Code(None),
            None => Stage::Password,
        };
        page_at(stage, message)
    };
    if let Some(message) = mismatch(t, &form.password, &form.confirm) {
        return Ok(again(message));
    }
    let password = Password::new(form.password);
    let binding = cookies::get(&headers, crate::http::login_keys::BINDING_COOKIE);
    Ok(
        match reset::reset(&state, &form.key, binding, &password, Some(&form.code), ip).await {
            Ok(ResetOutcome::Done) => render_status(StatusCode::OK, &ResetDonePage { t }),
            Ok(ResetOutcome::InvalidKey) => invalid(t),
            Ok(ResetOutcome::WrongBrowser) => crate::http::login_keys::wrong_browser(t),
            Ok(ResetOutcome::Refused(e)) => again(policy_message(t, &e)),
            Ok(ResetOutcome::NeedsSms) => page_at(
                Stage::SendCode(masked(target.needs_sms.as_deref().unwrap_or(""))),
                t.t("recovery.code_needed").to_string(),
            ),
            Ok(ResetOutcome::WrongCode) => again(t.t("recovery.wrong_code").to_string()),
            Err(e) => PageError::from_internal(e, t).into_response(),
        },
    )
}

/// `POST /reset/sms`: sends the SMS code the form needs when both factors are needed, then
/// shows the code field with the password fields.
async fn post_reset_sms(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<SmsForm>,
) -> Result<Response, Early> {
    let t = texts_for(&headers, None);
    csrf::double_submit(&headers, &form.csrf, t)?;
    let target = usable(lookup(&state, &form.key, &headers).await?, t, invalid)?;
    // The code is bound to this browser: the key's own binding cookie, or (an
    // administrator's key, which is bound to no browser) a new one.
    let (binding, new_binding) =
        match cookies::get(&headers, crate::http::login_keys::BINDING_COOKIE)
            .filter(|v| looks_like_token(v))
        {
            Some(v) => (v.to_string(), false),
            None => (secret_token(), true),
        };
    let stage = match reset::send_sms_code(&state, &form.key, &binding, ip).await {
        Ok(reset::SmsStep::Asked { phone, sent }) => {
            let note = match sent {
                SmsSent::Sent => fill(
                    t.t("recovery.code_sent"),
                    &[
                        ("phone", &masked(&phone)),
                        ("duration", &duration(t, state.config.login.code_ttl)),
                    ],
                ),
                SmsSent::Refused(Some(refused)) => send_refused::explain(t, &refused),
                SmsSent::Refused(None) => t.t("recovery.code_not_sent").to_string(),
            };
            Stage::Code(Some(note))
        }
        Ok(reset::SmsStep::NotNeeded) => Stage::Password,
        Ok(reset::SmsStep::InvalidKey) => return Ok(invalid(t)),
        Ok(reset::SmsStep::WrongBrowser) => {
            return Ok(crate::http::login_keys::wrong_browser(t));
        }
        Err(e) => return Ok(PageError::from_internal(e, t).into_response()),
    };
    let page = form_page(&state, t, form.key, form.csrf, target.email, stage, None);
    let mut res = render_status(StatusCode::OK, &page);
    if new_binding {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(
                crate::http::login_keys::BINDING_COOKIE,
                &binding,
                Some(BINDING_MAX_AGE),
            ),
        );
    }
    Ok(res)
}

/// `+46•••••••67`.
fn masked(phone: &str) -> String {
    crate::sms::phone::masked(phone)
}

/// The key's target, when the key has the right shape and is usable in this browser. A key
/// bound to another browser gets its own page ([`Early`]) and is not burnt.
async fn lookup(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
) -> Result<crate::error::Result<Option<reset::Target>>, Early> {
    if !looks_like_token(key) {
        return Ok(Ok(None));
    }
    let binding = cookies::get(headers, crate::http::login_keys::BINDING_COOKIE);
    Ok(match reset::check(state, key, binding).await {
        Ok(reset::Check::Usable(target)) => Ok(Some(target)),
        Ok(reset::Check::Invalid) => Ok(None),
        Ok(reset::Check::WrongBrowser) => {
            return Err(Early::from(crate::http::login_keys::wrong_browser(
                texts_for(headers, None),
            )));
        }
        Err(e) => Err(e),
    })
}

fn form_page(
    state: &AppState,
    t: Texts,
    key: String,
    csrf: String,
    email: String,
    stage: Stage,
    error: Option<String>,
) -> ResetPage {
    let (min_length, hint) = rules(state, t);
    let (send_label, code_field, notice) = match stage {
        Stage::Password => (None, false, None),
        Stage::SendCode(phone) => (
            Some(fill(t.t("recovery.send_code"), &[("phone", &phone)])),
            false,
            None,
        ),
        Stage::Code(notice) => (None, true, notice),
    };
    ResetPage {
        t,
        key,
        csrf,
        email,
        min_length,
        hint,
        error,
        send_label,
        code_field,
        notice,
    }
}

fn invalid(t: Texts) -> Response {
    render_status(StatusCode::GONE, &ResetInvalidPage { t })
}

/// "At least 15 characters ..." under a new-password field.
pub(crate) fn password_hint(t: Texts, min_length: usize) -> String {
    fill(t.t("reset.hint"), &[("n", &min_length.to_string())])
}

/// Why a new password was refused, in the person's language.
pub(crate) fn policy_message(t: Texts, e: &PolicyError) -> String {
    match e {
        PolicyError::TooShort(n) => fill(t.t("reset.too_short"), &[("n", &n.to_string())]),
        PolicyError::TooLong(n) => fill(t.t("reset.too_long"), &[("n", &n.to_string())]),
        PolicyError::Common => t.t("reset.common").to_string(),
        PolicyError::Context => t.t("reset.context").to_string(),
    }
}
