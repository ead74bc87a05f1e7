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
use crate::paging::Page;
use crate::state::AppState;

/// `POST /orgs/{org}/invitations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    #[schema(format = Email)]
    pub email: String,
    /// Roles from the organisation's list.
    pub roles: Vec<String>,
}

/// The organisation's invitations, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{org}/invitations",
    operation_id = "listInvitations",
    tag = "invitations",
    summary = "The organisation's invitations, newest first.",
    description = "Permission: `InvitationList` (org admin).",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of invitations.", body = crate::http::api::doc::InvitationPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
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
#[utoipa::path(
    post,
    path = "/orgs/{org}/invitations",
    operation_id = "createInvitation",
    tag = "invitations",
    summary = "Invite a person by email with roles.",
    description = "Permission: `InvitationCreate` (org admin). The link is mailed to the address and never appears in an answer. Accepting adds the membership to the account with that email, or creates the account.",
    request_body = NewInvitation,
    responses(
        (status = 201, description = "The invitation.", body = InvitationView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/orgs/{org}/invitations/{invitation}",
    operation_id = "revokeInvitation",
    tag = "invitations",
    summary = "Revoke an open invitation.",
    description = "Permission: `InvitationRevoke` (org admin).",
    responses(
        (status = 204, description = "Revoked."),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn revoke(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    invitations::revoke(&state, &caller, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
