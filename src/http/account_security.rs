//! `/account/security`: the person's own two-factor setting (`auth::factors::settings`).
//! Shows which second factors they have and which rules require one; turns "require a
//! second factor" on (only with a factor to use) or off (only in a two-factor session).
//! Like the email and phone pages: a fresh login (`login.fresh_login`, else to
//! `/login?next=/account/security` and back) and the session's CSRF token on the form.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::auth::channels;
use crate::auth::factors::settings::{self, SetOwn};
use crate::auth::factors::{self, Reason};
use crate::auth::session::Session;
use crate::http::authorize::see_other;
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::{ClientIp, Lang};
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::Early;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::mail::compose::fill;
use crate::state::AppState;

/// The page.
pub const PATH: &str = "/account/security";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(get_security).post(post_security))
}

/// The security page.
#[derive(Template)]
#[template(path = "pages/account_security.html")]
pub struct SecurityPage {
    pub t: Texts,
    pub csrf: String,
    pub own: bool,
    /// Why a second factor is required (beside the person's own choice).
    pub reasons: Vec<String>,
    pub sms: Option<String>,
    pub passkey: bool,
    /// Whether passkeys work on this installation (else no link to their page).
    pub passkeys_on: bool,
    /// A two-factor session.
    pub two_factor: bool,
    pub notice: Option<&'static str>,
    pub error: Option<&'static str>,
}

/// `POST /account/security`. Not `Debug`-sensitive, but kept small.
#[derive(Debug, Deserialize)]
pub struct SecurityForm {
    #[serde(default)]
    pub csrf: String,
    /// `on` or `off`.
    #[serde(default)]
    pub required: String,
}

fn login_again() -> Early {
    see_other(&format!("/login?next={PATH}")).into()
}

/// The session when signed in with a fresh login, else the way to the login page.
fn fresh_session(state: &AppState, session: Option<Session>) -> Result<Session, Early> {
    let session = session.ok_or_else(login_again)?;
    channels::fresh(state, &session).ok_or_else(login_again)?;
    Ok(session)
}

fn reason_text(t: Texts, r: &Reason) -> Option<String> {
    match r {
        Reason::Own | Reason::Requested => None,
        Reason::Organisation(org) => Some(fill(t.t("second_factor.reason_org"), &[("org", org)])),
        Reason::Admin(org) => Some(fill(t.t("second_factor.reason_admin"), &[("org", org)])),
        Reason::Superadmin => Some(t.t("second_factor.reason_superadmin").to_string()),
    }
}

async fn page(
    state: &AppState,
    t: Texts,
    session: &Session,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<Response, Early> {
    let o = settings::overview(state, &session.user_id)
        .await
        .map_err(|e| Early::from(PageError::from_internal(e, t)))?;
    let status = crate::http::page::form_status(&error);
    Ok(render_status(
        status,
        &SecurityPage {
            t,
            csrf: session.csrf.clone(),
            own: o.own,
            reasons: o.reasons.iter().filter_map(|r| reason_text(t, r)).collect(),
            sms: o.sms,
            passkey: o.passkey,
            passkeys_on: state.passkeys_on(),
            two_factor: factors::is_two_factor(session),
            notice: notice.map(|k| t.t(k)),
            error: error.map(|k| t.t(k)),
        },
    ))
}

/// `GET /account/security`.
async fn get_security(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
) -> Result<Response, Early> {
    let session = fresh_session(&state, session)?;
    page(&state, t, &session, None, None).await
}

/// `POST /account/security`.
async fn post_security(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<SecurityForm>,
) -> Result<Response, Early> {
    let session = fresh_session(&state, session)?;
    csrf::session_checked(&session, &form.csrf, t)?;
    let on = match form.required.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(PageError::bad_request("error.bad_request", t).into()),
    };
    let done = settings::set_own(&state, &session, on, &ip.to_string())
        .await
        .map_err(|e| Early::from(PageError::from_internal(e, t)))?;
    match done {
        SetOwn::Done => page(&state, t, &session, Some("account_security.saved"), None).await,
        SetOwn::NoFactor => {
            page(
                &state,
                t,
                &session,
                None,
                Some("account_security.no_factor_error"),
            )
            .await
        }
        SetOwn::NeedsTwoFactors => {
            page(
                &state,
                t,
                &session,
                None,
                Some("account_security.needs_two_factors"),
            )
            .await
        }
    }
}
