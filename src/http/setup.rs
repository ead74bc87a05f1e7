//! The setup-link pages (`nyckel admin setup-link`): `GET /setup/{key}` shows the form
//! (email prefilled and fixed when the operator gave one, name, new password twice) and
//! changes nothing; `POST /setup` (the key in a hidden field) runs `auth::setup::complete`
//! and shows a page that links to the login. An unusable key gets one helpful page, 410.
//! CSRF as on the reset page (the key is the bearer secret, plus the double-submit token).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::password::Password;
use crate::auth::setup::{self, SetupForm, SetupKey, SetupOutcome};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::extract::texts_for;
use crate::http::login::looks_like_token;
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::{Early, mismatch, rules, usable};
use crate::http::reset::policy_message;
use crate::i18n::Texts;
use crate::state::AppState;

/// Where the done page sends the new administrator.
pub const LOGIN_NEXT: &str = "/login?next=/admin";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup/{key}", get(get_setup))
        .route("/setup", post(post_setup))
}

/// The setup form.
#[derive(Template)]
#[template(path = "pages/setup.html")]
pub struct SetupPage {
    pub t: Texts,
    pub key: String,
    pub csrf: String,
    pub email: String,
    /// The operator fixed the email: shown read-only.
    pub email_fixed: bool,
    pub name: String,
    pub min_length: usize,
    pub hint: String,
    pub error: Option<String>,
}

/// "You are now an administrator; sign in."
#[derive(Template)]
#[template(path = "pages/setup_done.html")]
pub struct SetupDonePage {
    pub t: Texts,
    pub login: &'static str,
}

/// "This setup link no longer works."
#[derive(Template)]
#[template(path = "pages/setup_invalid.html")]
pub struct SetupInvalidPage {
    pub t: Texts,
}

/// `POST /setup` form. Not `Debug`: it holds the key and the password.
#[derive(Deserialize)]
pub struct SetupFormBody {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
}

/// `GET /setup/{key}`.
async fn get_setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, Early> {
    let t = texts_for(&headers, None);
    let found = usable(lookup(&state, &key).await, t, invalid)?;
    let (csrf, new_cookie) = csrf::page_token(&headers);
    let page = form_page(&state, t, &found, key, csrf.clone(), ("", ""), None);
    Ok(csrf::with_cookie(
        render_status(StatusCode::OK, &page),
        &csrf,
        new_cookie,
    ))
}

/// `POST /setup`.
async fn post_setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<SetupFormBody>,
) -> Result<Response, Early> {
    let t = texts_for(&headers, None);
    csrf::double_submit(&headers, &form.csrf, t)?;
    let found = usable(lookup(&state, &form.key).await, t, invalid)?;
    let again = |message: String| {
        let page = form_page(
            &state,
            t,
            &found,
            form.key.clone(),
            form.csrf.clone(),
            (&form.email, &form.name),
            Some(message),
        );
        render_status(StatusCode::BAD_REQUEST, &page)
    };
    if let Some(message) = mismatch(t, &form.password, &form.confirm) {
        return Ok(again(message));
    }
    let password = Password::new(form.password.clone());
    let filled = SetupForm {
        email: &form.email,
        name: &form.name,
        password: &password,
    };
    Ok(match setup::complete(&state, &form.key, filled, ip).await {
        Ok(SetupOutcome::Done { .. }) => render_status(
            StatusCode::OK,
            &SetupDonePage {
                t,
                login: LOGIN_NEXT,
            },
        ),
        Ok(SetupOutcome::InvalidKey) => invalid(t),
        Ok(SetupOutcome::BadEmail) => again(t.t("setup.bad_email").to_string()),
        Ok(SetupOutcome::EmailTaken) => again(t.t("setup.email_taken").to_string()),
        Ok(SetupOutcome::BadName) => again(t.t("setup.bad_name").to_string()),
        Ok(SetupOutcome::Refused(e)) => again(policy_message(t, &e)),
        Err(e) => PageError::from_internal(e, t).into_response(),
    })
}

async fn lookup(state: &AppState, key: &str) -> crate::error::Result<Option<SetupKey>> {
    if !looks_like_token(key) {
        return Ok(None);
    }
    setup::check(&state.db, key, state.now()).await
}

/// The form; `typed` is the email and name as typed before a refusal.
fn form_page(
    state: &AppState,
    t: Texts,
    found: &SetupKey,
    key: String,
    csrf: String,
    typed: (&str, &str),
    error: Option<String>,
) -> SetupPage {
    let (email, name) = typed;
    let (min_length, hint) = rules(state, t);
    SetupPage {
        t,
        key,
        csrf,
        email: found.email.clone().unwrap_or_else(|| email.to_string()),
        email_fixed: found.email.is_some(),
        name: name.to_string(),
        min_length,
        hint,
        error,
    }
}

fn invalid(t: Texts) -> Response {
    render_status(StatusCode::GONE, &SetupInvalidPage { t })
}
