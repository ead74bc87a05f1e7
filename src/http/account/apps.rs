//! `POST /account/apps/revoke`: the person withdraws an app's access; its refresh and access
//! tokens for them stop working, and the app must ask for consent again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::own;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::page_form::{CsrfForm, with_csrf};
use crate::http::signed_in::SignedIn;
use crate::state::AppState;

use super::done;

/// The "Revoke" form of one app.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub client_id: String,
}

with_csrf!(RevokeForm);

/// `POST /account/apps/revoke`.
pub async fn post_revoke(
    State(state): State<AppState>,
    SignedIn {
        session, texts: t, ..
    }: SignedIn,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> Response {
    match own::revoke_app(&state, &session, form.client_id.trim(), ip).await {
        Ok(true) => done("app"),
        Ok(false) => {
            PageError::new(StatusCode::NOT_FOUND, "account.apps.not_found", t).into_response()
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}
