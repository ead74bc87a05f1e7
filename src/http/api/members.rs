//! `/orgs/{org}/members`: members as their organisation sees them, their roles, a reset
//! key sent to them (the answer says only that it was sent), and their login sessions.
//! Nothing here changes a person's email, phone, password or passkeys: there is no field
//! for them, and unknown fields are refused.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::admin::members::{self, MemberView};
use crate::admin::sessions::{self, SessionView};
use crate::http::api::error::{ApiError, ApiResult};
use crate::http::api::extract::{ApiCaller, ApiJson, ApiPath, ApiQuery};
use crate::http::api::paging::{self, PageQuery, check_limit};
use crate::paging::{self as page, Page};
use crate::state::AppState;

/// `GET /orgs/{org}/members?q=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Part of a name or email.
    pub q: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `PUT /orgs/{org}/members/{user}/roles`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    pub roles: Vec<String>,
}

/// The answer to `POST .../reset`: that the key went to the member, nothing more.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetSent {
    #[schema(schema_with = crate::http::api::doc::sent)]
    pub status: &'static str,
}

/// Members by email, optionally matching `q`.
#[utoipa::path(
    get,
    path = "/orgs/{org}/members",
    operation_id = "listMembers",
    tag = "members",
    summary = "Members by email, optionally those whose name or email contains `q`.",
    description = "Permission: `MemberList` (org admin).",
    params(MemberQuery),
    responses(
        (status = 200, description = "A page of members.", body = crate::http::api::doc::MemberPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn list(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<MemberQuery>,
) -> ApiResult<Json<Page<MemberView>>> {
    let limit = check_limit(q.limit)?;
    let page = members::list(
        &state,
        &caller,
        &org,
        q.q.as_deref(),
        q.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(page))
}

/// One member.
#[utoipa::path(
    get,
    path = "/orgs/{org}/members/{user}",
    operation_id = "getMember",
    tag = "members",
    summary = "One member.",
    description = "Permission: `MemberRead` (org admin). A person who is not a member of the organisation is not found.",
    responses(
        (status = 200, description = "The member.", body = MemberView),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(members::get(&state, &caller, &org, &user).await?))
}

/// Removes a member from the organisation.
#[utoipa::path(
    delete,
    path = "/orgs/{org}/members/{user}",
    operation_id = "removeMember",
    tag = "members",
    summary = "Remove a member from the organisation.",
    description = "Permission: `MemberRemove` (org admin). Their refresh tokens for this organisation stop working at once. The organisation's last admin can only be removed by a superadmin (409). The person is notified.",
    responses(
        (status = 204, description = "Removed."),
        crate::http::api::doc::Missing, crate::http::api::doc::Conflicting, crate::http::api::doc::Refused,
    ),
)]
pub async fn remove(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    members::remove(&state, &caller, &org, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a member's roles in the organisation.
#[utoipa::path(
    put,
    path = "/orgs/{org}/members/{user}/roles",
    operation_id = "setMemberRoles",
    tag = "members",
    summary = "Replace a member's roles in the organisation.",
    description = "Permission: `MemberUpdateRoles` (org admin). Roles must be on the organisation's list. Takes effect at the member's next token refresh. The person is notified.",
    request_body = RolesBody,
    responses(
        (status = 200, description = "The member as they are now.", body = MemberView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Conflicting, crate::http::api::doc::Refused,
    ),
)]
pub async fn set_roles(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RolesBody>,
) -> ApiResult<Json<MemberView>> {
    let m = members::set_roles(&state, &caller, &org, &user, &body.roles).await?;
    Ok(Json(m))
}

/// Sends the member a password-reset key (to the member only).
#[utoipa::path(
    post,
    path = "/orgs/{org}/members/{user}/reset",
    operation_id = "sendReset",
    tag = "members",
    summary = "Send the member a temporary key for a password reset.",
    description = "Permission: `MemberSendReset` (org admin). The key goes to the member only; the answer says only that it was sent.",
    responses(
        (status = 202, description = "Sent to the member.", body = ResetSent),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn send_reset(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<ResetSent>)> {
    members::send_reset(&state, &caller, &org, &user).await?;
    Ok((StatusCode::ACCEPTED, Json(ResetSent { status: "sent" })))
}

/// The member's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{org}/members/{user}/sessions",
    operation_id = "listSessions",
    tag = "sessions",
    summary = "The member's live login sessions, newest first.",
    description = "Permission: `SessionList` (org admin). Only a superadmin sees the address and browser a session was started from.",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of sessions.", body = crate::http::api::doc::SessionPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn list_sessions(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<SessionView>>> {
    q.limit()?;
    let bad_cursor = q
        .cursor()
        .is_some_and(|c| page::decode_cursor(c, 2).is_none_or(|k| k[0].parse::<i64>().is_err()));
    if bad_cursor {
        return Err(ApiError::invalid("the cursor is not valid"));
    }
    let all = sessions::list(&state, &caller, &org, &user).await?;
    // The use-case orders by `created_at` descending, then `sid`.
    let page = paging::in_memory(
        all,
        &q,
        |s| vec![s.created_at.to_string(), s.sid.clone()],
        |s, k| {
            let at: i64 = k[0].parse().unwrap_or(i64::MIN);
            s.created_at < at || (s.created_at == at && s.sid.as_str() > k[1].as_str())
        },
        2,
    )?;
    Ok(Json(page))
}

/// Ends one of the member's sessions (and the tokens issued in it).
#[utoipa::path(
    delete,
    path = "/orgs/{org}/members/{user}/sessions/{sid}",
    operation_id = "endSession",
    tag = "sessions",
    summary = "End one of the member's sessions and revoke the tokens issued in it.",
    description = "Permission: `SessionEnd` (org admin). The person is notified.",
    responses(
        (status = 204, description = "Ended."),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn end_session(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user, sid)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    sessions::end(&state, &caller, &org, &user, &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
