//! Accepting an invitation: `GET /invite/{key}` shows what the invitation is for (the
//! organisation, the roles, the email address) and a form; it never uses the key up, since
//! mail scanners open links. `POST /invite/{key}` accepts through
//! [`crate::admin::invitations::accept`]: a person who already has an account only
//! confirms; a new person chooses a name and a password (a refused password leaves the key
//! usable). Afterwards a page says which organisation they joined.
//!
//! The visitor may not be signed in, so CSRF uses the login form's double-submit cookie
//! (`__Host-nyckel_csrf`, SameSite=Lax): the form repeats its value; a mismatch is 403.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::admin::AdminError;
use crate::admin::invitations::{self, NewAccount, Preview};
use crate::auth::password::Password;
use crate::auth::policy::{PasswordPolicy, PolicyContext};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::login::looks_like_token;
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::reset::{password_hint, policy_message};
use crate::i18n::{Locale, Texts};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/invite/{key}", get(get_invite).post(post_invite))
}

/// The invitation with its form.
#[derive(Template)]
#[template(path = "pages/invite.html")]
pub struct InvitePage {
    pub t: Texts,
    pub org_name: String,
    pub email: String,
    pub roles: String,
    pub account_exists: bool,
    pub csrf: String,
    /// `/invite/<key>`.
    pub action: String,
    pub name: String,
    pub min_length: usize,
    /// How long a password must be, in words.
    pub hint: String,
    pub error: Option<String>,
}

/// After accepting.
#[derive(Template)]
#[template(path = "pages/invite_done.html")]
pub struct DonePage {
    pub t: Texts,
    pub org_name: String,
    pub roles: String,
    pub created: bool,
}

/// A link that cannot be used (404 unknown, 410 expired, used or revoked).
#[derive(Template)]
#[template(path = "pages/invite_gone.html")]
pub struct GonePage {
    pub t: Texts,
    pub message: &'static str,
}

/// `POST /invite/{key}` form. Not `Debug`: it holds the password.
#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
}

/// `GET /invite/{key}`: shows the invitation; changes nothing.
async fn get_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let preview = match open(&state, &headers, &key).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let (csrf, new_cookie) = csrf::page_token(&headers);
    let texts = texts(&headers, Some(preview.locale));
    let res = show(
        &state,
        texts,
        &key,
        preview,
        csrf.clone(),
        String::new(),
        None,
    );
    csrf::with_cookie(res, &csrf, new_cookie)
}

/// `POST /invite/{key}`: accepts the invitation.
async fn post_invite(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(key): Path<String>,
    PageForm(form): PageForm<AcceptForm>,
) -> Response {
    let fallback = texts(&headers, None);
    if !csrf::double_submit_ok(&headers, &form.csrf) {
        return csrf::refused(fallback).into_response();
    }
    let preview = match open(&state, &headers, &key).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let t = texts(&headers, Some(preview.locale));
    let name = form.name.trim().to_string();
    let new_account = if preview.account_exists {
        None
    } else {
        if let Some(problem) = check_new_account(&state, t, &preview, &name, &form.password) {
            return show(&state, t, &key, preview, form.csrf, name, Some(problem));
        }
        Some(NewAccount {
            name: name.clone(),
            password: Password::new(form.password),
        })
    };
    match invitations::accept(&state, &key, new_account, Some(&ip.to_string())).await {
        Ok(done) => render_status(
            StatusCode::OK,
            &DonePage {
                t,
                org_name: done.org_name,
                roles: done.roles.join(", "),
                created: done.created,
            },
        ),
        Err(AdminError::NotFound(_)) => gone(t, StatusCode::GONE, "invite.gone"),
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => {
            let status = if matches!(e, AdminError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            let mut res = show(
                &state,
                t,
                &key,
                preview,
                form.csrf,
                name,
                Some(e.to_string()),
            );
            *res.status_mut() = status;
            res
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// The open invitation behind `key`, or the page saying why it cannot be used: 404 for
/// something that is not one of our keys, 410 for a key that is not (or no longer) open.
/// Unknown and used-up keys look the same from here: only their hashes are stored.
async fn open(state: &AppState, headers: &HeaderMap, key: &str) -> Result<Preview, Response> {
    let t = texts(headers, None);
    if !looks_like_token(key) {
        return Err(gone(t, StatusCode::NOT_FOUND, "invite.unknown"));
    }
    match invitations::preview(state, key).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(gone(t, StatusCode::GONE, "invite.gone")),
        Err(e) => Err(PageError::from_internal(e, t).into_response()),
    }
}

/// The name and password of a new account, checked here so the reasons are in the
/// person's language (the use-case checks them again).
fn check_new_account(
    state: &AppState,
    t: Texts,
    preview: &Preview,
    name: &str,
    password: &str,
) -> Option<String> {
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Some(t.t("invite.name_required").to_string());
    }
    let policy = PasswordPolicy::from_config(&state.config.password);
    let ctx = PolicyContext {
        email: Some(&preview.email),
        name: Some(name),
        extra: std::slice::from_ref(&preview.org_name),
    };
    policy
        .check(password, &ctx)
        .err()
        .map(|e| policy_message(t, &e))
}

fn show(
    state: &AppState,
    t: Texts,
    key: &str,
    p: Preview,
    csrf: String,
    name: String,
    error: Option<String>,
) -> Response {
    render_status(
        crate::http::page::form_status(&error),
        &InvitePage {
            t,
            org_name: p.org_name,
            email: p.email,
            roles: p.roles.join(", "),
            account_exists: p.account_exists,
            csrf,
            action: format!("/invite/{key}"),
            name,
            min_length: state.config.password.min_length,
            hint: password_hint(t, state.config.password.min_length),
            error,
        },
    )
}

fn gone(t: Texts, status: StatusCode, key: &'static str) -> Response {
    render_status(
        status,
        &GonePage {
            t,
            message: t.t(key),
        },
    )
}

/// The browser's language when it asks for one we have, else the invitation's.
fn texts(headers: &HeaderMap, invitation: Option<Locale>) -> Texts {
    let asked = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .filter(|a| {
            a.split(',')
                .filter_map(|i| i.split(';').next())
                .any(|tag| Locale::from_tag(tag).is_some())
        });
    match (asked, invitation) {
        (None, Some(l)) => Texts::new(l),
        (asked, _) => Texts::new(Locale::negotiate(None, asked)),
    }
}
