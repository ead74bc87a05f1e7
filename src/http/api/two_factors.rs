//! `/orgs/{org}/two-factors`: whether an organisation requires two factors of its members
//! (`auth::factors::settings`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::auth::factors::settings::{self, OrgTwoFactors};
use crate::http::api::error::ApiResult;
use crate::http::api::extract::{ApiCaller, ApiJson, ApiPath};
use crate::state::AppState;

/// `PUT /orgs/{org}/two-factors`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorsBody {
    pub require_two_factors: bool,
}

/// The organisation's requirement.
#[utoipa::path(
    get,
    path = "/orgs/{org}/two-factors",
    operation_id = "getTwoFactors",
    tag = "organisations",
    summary = "Whether the organisation requires two factors of its members.",
    description = "Permission: `OrgRead` (org admin). Admins of any organisation always use two factors (`login.admins_require_two_factors`).",
    responses(
        (status = 200, description = "The requirement.", body = OrgTwoFactors),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<Json<OrgTwoFactors>> {
    Ok(Json(settings::get_org(&state, &caller, &org).await?))
}

/// Sets the organisation's requirement.
#[utoipa::path(
    put,
    path = "/orgs/{org}/two-factors",
    operation_id = "setTwoFactors",
    tag = "organisations",
    summary = "Require two factors of the organisation's members, or stop requiring them.",
    description = "Permission: `RoleWrite` (org admin). Audited as `admin.org_two_factors`. Members' sessions of one factor are stepped up at their next authorization for this organisation.",
    request_body = TwoFactorsBody,
    responses(
        (status = 200, description = "The requirement as it is now.", body = OrgTwoFactors),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn set(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<TwoFactorsBody>,
) -> ApiResult<Json<OrgTwoFactors>> {
    let done = settings::set_org(&state, &caller, &org, body.require_two_factors).await?;
    Ok(Json(done))
}
