//! `POST /account/apps/revoke`: the person withdraws an app's access; its refresh and access
//! tokens for them stop working, and the app must ask for consent again.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::own;
use crate::http::authorize::texts_for;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::password_form::posted;
use crate::http::session::MaybeSession;
use crate::state::AppState;

use super::{csrf_ok, done, signed_in};

/// The "Revoke" form of one app.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub client_id: String,
}

/// `POST /account/apps/revoke`.
pub async fn post_revoke(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
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
    match own::revoke_app(&state, &session, form.client_id.trim(), ip).await {
        Ok(true) => done("app"),
        Ok(false) => {
            PageError::new(StatusCode::NOT_FOUND, "account.apps.not_found", t).into_response()
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}
