//! `/orgs/{org}/invitations`: invite a person by email with roles (the link goes to the
//! person only and never appears in an answer), list and revoke invitations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::admin::invitations::{self, InvitationView};
use crate::http::api::error::ApiResult;
use crate::http::api::extract::{ApiCaller, ApiJson, ApiPath, ApiQuery};
use crate::http::api::paging::PageQuery;
use crate::state::AppState;
use crate::store::page::Page;

/// `POST /orgs/{org}/invitations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub email: String,
    /// Roles from the organisation's list.
    pub roles: Vec<String>,
}

/// The organisation's invitations, newest first.
pub async fn list(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<InvitationView>>> {
    let page = invitations::list(&state, &caller, &org, q.cursor(), q.limit()?).await?;
    Ok(Json(page))
}

/// Invites a person; the link is mailed to them.
pub async fn create(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let inv = invitations::create(&state, &caller, &org, &body.email, &body.roles).await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

/// Revokes an open invitation.
pub async fn revoke(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    invitations::revoke(&state, &caller, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
