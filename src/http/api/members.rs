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
use crate::state::AppState;
use crate::store::page::{self, Page};

/// `GET /orgs/{org}/members?q=&limit=&cursor=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberQuery {
    /// Part of a name or email.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// `PUT /orgs/{org}/members/{user}/roles`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    pub roles: Vec<String>,
}

/// The answer to `POST .../reset`: that the key went to the member, nothing more.
#[derive(Debug, Serialize)]
pub struct ResetSent {
    pub status: &'static str,
}

/// Members by email, optionally matching `q`.
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
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(members::get(&state, &caller, &org, &user).await?))
}

/// Removes a member from the organisation.
pub async fn remove(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    members::remove(&state, &caller, &org, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a member's roles in the organisation.
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
pub async fn send_reset(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<ResetSent>)> {
    members::send_reset(&state, &caller, &org, &user).await?;
    Ok((StatusCode::ACCEPTED, Json(ResetSent { status: "sent" })))
}

/// The member's live sessions, newest first.
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
pub async fn end_session(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, user, sid)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    sessions::end(&state, &caller, &org, &user, &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
