//! `POST /account/sessions/end` and `POST /account/sessions/end-others`: the person ends
//! their own sessions elsewhere; the grants made in them are revoked, as at logout.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::own::{self, Ended};
use crate::http::authorize::texts_for;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::password_form::posted;
use crate::http::session::MaybeSession;
use crate::state::AppState;

use super::{csrf_ok, done, signed_in};

/// The "End" form of one session.
#[derive(Debug, Deserialize)]
pub struct EndForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub sid: String,
}

/// The "End all other sessions" form.
#[derive(Debug, Deserialize)]
pub struct EndOthersForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /account/sessions/end`.
pub async fn post_end(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<EndForm>, FormRejection>,
) -> Response {
    let browser = texts_for(&headers, None);
    let (session, _, t) = match signed_in(&state, session, &headers, browser).await {
        Ok(found) => found,
        Err(early) => return early.into_response(),
    };
    let form = match posted(form, t) {
        Ok(form) => form,
        Err(early) => return early.into_response(),
    };
    if let Err(early) = csrf_ok(&session, &form.csrf, t) {
        return early.into_response();
    }
    match own::end_session(&state, &session, form.sid.trim(), ip).await {
        Ok(Ended::Ended) => done("session"),
        Ok(Ended::NotFound) => {
            PageError::new(StatusCode::NOT_FOUND, "account.sessions.not_found", t).into_response()
        }
        Ok(Ended::Current) => {
            PageError::bad_request("account.sessions.is_current", t).into_response()
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// `POST /account/sessions/end-others`.
pub async fn post_end_others(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<EndOthersForm>, FormRejection>,
) -> Response {
    let browser = texts_for(&headers, None);
    let (session, _, t) = match signed_in(&state, session, &headers, browser).await {
        Ok(found) => found,
        Err(early) => return early.into_response(),
    };
    let form = match posted(form, t) {
        Ok(form) => form,
        Err(early) => return early.into_response(),
    };
    if let Err(early) = csrf_ok(&session, &form.csrf, t) {
        return early.into_response();
    }
    match own::end_other_sessions(&state, &session, ip).await {
        Ok(0) => done("no_sessions"),
        Ok(_) => done("sessions"),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}
