//! `POST /account/sessions/end` and `POST /account/sessions/end-others`: the person ends
//! their own sessions elsewhere; the grants made in them are revoked, as at logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::own::{self, Ended};
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::page_form::{CsrfForm, with_csrf};
use crate::http::signed_in::SignedIn;
use crate::state::AppState;

use super::done;

/// The "End" form of one session.
#[derive(Debug, Deserialize)]
pub struct EndForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub sid: String,
}

with_csrf!(EndForm);

/// The "End all other sessions" form.
#[derive(Debug, Deserialize)]
pub struct EndOthersForm {
    #[serde(default)]
    pub csrf: String,
}

with_csrf!(EndOthersForm);

/// `POST /account/sessions/end`.
pub async fn post_end(
    State(state): State<AppState>,
    SignedIn {
        session, texts: t, ..
    }: SignedIn,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<EndForm>,
) -> Response {
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
    SignedIn {
        session, texts: t, ..
    }: SignedIn,
    ClientIp(ip): ClientIp,
    CsrfForm(_): CsrfForm<EndOthersForm>,
) -> Response {
    match own::end_other_sessions(&state, &session, ip).await {
        Ok(0) => done("no_sessions"),
        Ok(_) => done("sessions"),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}
