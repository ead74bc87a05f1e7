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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorsBody {
    pub require_two_factors: bool,
}

/// The organisation's requirement.
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<Json<OrgTwoFactors>> {
    Ok(Json(settings::get_org(&state, &caller, &org).await?))
}

/// Sets the organisation's requirement.
pub async fn set(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<TwoFactorsBody>,
) -> ApiResult<Json<OrgTwoFactors>> {
    let done = settings::set_org(&state, &caller, &org, body.require_two_factors).await?;
    Ok(Json(done))
}
