//! The person's own data (`auth::own_data`):
//! - `GET /account/data`: what the download holds, and a button; `POST /account/data` answers
//!   the JSON document as an attachment (`nyckel-data-<date>.json`, `Cache-Control: no-store`).
//! - `GET /account/delete`: what deletion does, and the confirmation form (the account's email
//!   address typed again); `POST /account/delete` erases the account, clears the session
//!   cookie and confirms on a page.
//!
//! Both POSTs need the session's CSRF token (403 without it) and a fresh login
//! (`login.fresh_login`; a stale session is sent to `/login?next=...` and comes back to the
//! page). A missing or wrong confirmation answers the page again with 400 and erases nothing.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::auth::channels;
use crate::auth::own_data::{self, Deletion};
use crate::auth::session::Session;
use crate::http::authorize::see_other;
use crate::http::cookies::{self, SESSION_COOKIE};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::{ClientIp, Lang};
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::Early;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::state::AppState;

/// The download page.
pub const DATA_PATH: &str = "/account/data";
/// The deletion page.
pub const DELETE_PATH: &str = "/account/delete";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(DATA_PATH, get(get_data).post(post_data))
        .route(DELETE_PATH, get(get_delete).post(post_delete))
}

/// "Download my data".
#[derive(Template)]
#[template(path = "pages/account_data.html")]
pub struct DataPage {
    pub t: Texts,
    pub csrf: String,
    /// The login is not fresh: downloading will ask for the password again.
    pub stale: bool,
}

/// "Delete my account".
#[derive(Template)]
#[template(path = "pages/account_delete.html")]
pub struct DeletePage {
    pub t: Texts,
    pub csrf: String,
    pub stale: bool,
    pub error: Option<&'static str>,
}

/// "Your account is deleted".
#[derive(Template)]
#[template(path = "pages/account_deleted.html")]
pub struct DeletedPage {
    pub t: Texts,
}

/// `POST /account/data`. Not `Debug`.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /account/delete`. Not `Debug`.
#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub csrf: String,
    /// The account's email address, typed again.
    #[serde(default)]
    pub confirm_email: String,
}

fn login_again(path: &str) -> Early {
    see_other(&format!("/login?next={path}")).into()
}

fn internal(e: impl std::fmt::Display + 'static, t: Texts) -> Early {
    PageError::from_internal(e, t).into()
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /account/data`.
async fn get_data(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
) -> Result<Response, Early> {
    let session = session.ok_or_else(|| login_again(DATA_PATH))?;
    let stale = channels::fresh(&state, &session).is_none();
    Ok(render_status(
        StatusCode::OK,
        &DataPage {
            t,
            csrf: session.csrf.clone(),
            stale,
        },
    ))
}

/// `POST /account/data`: the download.
async fn post_data(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, Early> {
    let session = csrf::signed_in_form(session, &form.csrf, t, || login_again(DATA_PATH))?;
    let fresh = channels::fresh(&state, &session).ok_or_else(|| login_again(DATA_PATH))?;
    let doc = own_data::download(&state, fresh, &ip.to_string())
        .await
        .map_err(|e| internal(e, t))?;
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| internal(e, t))?;
    let disposition = format!(
        "attachment; filename=\"nyckel-data-{}.json\"",
        own_data::date(state.now())
    );
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(no_store(res))
}

fn delete_page(t: Texts, session: &Session, stale: bool, error: Option<&'static str>) -> Response {
    render_status(
        crate::http::page::form_status(&error),
        &DeletePage {
            t,
            csrf: session.csrf.clone(),
            stale,
            error: error.map(|k| t.t(k)),
        },
    )
}

/// `GET /account/delete`.
async fn get_delete(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
) -> Result<Response, Early> {
    let session = session.ok_or_else(|| login_again(DELETE_PATH))?;
    let stale = channels::fresh(&state, &session).is_none();
    Ok(delete_page(t, &session, stale, None))
}

/// `POST /account/delete`.
async fn post_delete(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
    PageForm(form): PageForm<DeleteForm>,
) -> Result<Response, Early> {
    let session = csrf::signed_in_form(session, &form.csrf, t, || login_again(DELETE_PATH))?;
    let fresh = channels::fresh(&state, &session).ok_or_else(|| login_again(DELETE_PATH))?;
    if form.confirm_email.len() > 320 {
        return Ok(delete_page(t, &session, false, Some("gdpr.confirm_wrong")));
    }
    match own_data::delete_account(&state, fresh, &form.confirm_email).await {
        Ok(Deletion::Erased) => {
            let mut res = render_status(StatusCode::OK, &DeletedPage { t });
            res.headers_mut()
                .append(header::SET_COOKIE, cookies::clear(SESSION_COOKIE));
            Ok(no_store(res))
        }
        Ok(Deletion::NotConfirmed) => {
            let key = if form.confirm_email.trim().is_empty() {
                "gdpr.confirm_missing"
            } else {
                "gdpr.confirm_wrong"
            };
            Ok(delete_page(t, &session, false, Some(key)))
        }
        Ok(Deletion::Superadmin) => Ok(render_status(
            StatusCode::CONFLICT,
            &DeletePage {
                t,
                csrf: session.csrf.clone(),
                stale: false,
                error: Some(t.t("gdpr.superadmin")),
            },
        )),
        Err(e) => Err(internal(e, t)),
    }
}
